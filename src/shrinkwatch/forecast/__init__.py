"""Population forecasts, their rolling-origin backtest and the early-warning probabilities.

The stage sits above identification (a standard's kernel judges forecast populations) and below
analysis and the report. :func:`forecast` forecasts every unit from its last observed year;
:func:`backtest` scores the methods and the status probabilities by rolling origin.
"""

from shrinkwatch.forecast.engine import BacktestResult, ForecastResult, backtest, forecast
from shrinkwatch.forecast.methods import METHODS

__all__ = ["forecast", "backtest", "ForecastResult", "BacktestResult", "METHODS"]
