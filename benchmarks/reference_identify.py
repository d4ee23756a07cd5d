"""Plain per-unit reference implementations of three standards (the benchmark's baseline).

Each function loops over units and works on that unit's pandas Series (years
as the index), the way one would write the rule without thinking about
vectorisation. The rules and the three-valued logic are those of
``shrinkwatch.identification.rules`` (DOMAIN.md): a missing year is unknown, equal is not
a decline, and a verdict the data cannot decide is ``insufficient_data``.

They return a Series of statuses indexed like ``panel.units``.
"""

from __future__ import annotations

import math

import pandas as pd

from shrinkwatch.core import Panel

__all__ = ["reference_census_decline", "reference_consecutive_decline", "reference_peak_loss", "unit_series"]

SHRINKING, NOT_SHRINKING, INSUFFICIENT = "shrinking", "not_shrinking", "insufficient_data"


def unit_series(panel: Panel, indicator: str = "pop_resident") -> dict[str, pd.Series]:
    """One Series per unit, indexed by year (every unit of ``panel.units``, possibly empty)."""
    grouped = {unit: series.droplevel("unit_id")
               for unit, series in panel.values[indicator].groupby(level="unit_id", sort=False)}
    empty = pd.Series(dtype=float)
    return {unit: grouped.get(unit, empty) for unit in panel.units.index}


def _value(series: pd.Series, year: int) -> float:
    value = series.get(year, math.nan)
    return float(value) if pd.notna(value) else math.nan


def _declined(series: pd.Series, year: int, min_loss: float = 0.0) -> bool | None:
    """True / False for a decline into ``year``; None if either year is missing."""
    before, after = _value(series, year - 1), _value(series, year)
    if math.isnan(before) or math.isnan(after):
        return None
    return after < before * (1.0 - min_loss)


def reference_census_decline(panel: Panel, start_year: int, end_year: int, min_loss: float = 0.0,
                             indicator: str = "pop_resident") -> pd.Series:
    statuses = {}
    for unit, series in unit_series(panel, indicator).items():
        before, after = _value(series, start_year), _value(series, end_year)
        if math.isnan(before) or math.isnan(after) or before <= 0:
            statuses[unit] = INSUFFICIENT
        elif after < before * (1.0 - min_loss):
            statuses[unit] = SHRINKING
        else:
            statuses[unit] = NOT_SHRINKING
    return pd.Series(statuses).reindex(panel.units.index)


def reference_consecutive_decline(panel: Panel, year: int, n: int = 3, min_annual_loss: float = 0.0,
                                  indicator: str = "pop_resident") -> pd.Series:
    statuses = {}
    first_year = min(panel.years)
    for unit, series in unit_series(panel, indicator).items():
        flags = [_declined(series, y, min_annual_loss) if y > first_year else None
                 for y in range(year - n + 1, year + 1)]
        if all(flag is True for flag in flags):
            statuses[unit] = SHRINKING
        elif any(flag is False for flag in flags):
            statuses[unit] = NOT_SHRINKING
        else:
            statuses[unit] = INSUFFICIENT
    return pd.Series(statuses).reindex(panel.units.index)


def reference_peak_loss(panel: Panel, year: int, peak_ratio: float = 0.8, peak_window: int = 30,
                        decline_years: int = 3, decline_window: int = 5,
                        indicator: str = "pop_resident") -> pd.Series:
    statuses = {}
    panel_years = set(panel.years)
    first_year = min(panel.years)
    window_years = [y for y in range(year - peak_window + 1, year + 1) if y in panel_years]
    for unit, series in unit_series(panel, indicator).items():
        window = series.reindex(window_years)
        current = _value(series, year)
        peak = window.max()
        ratio = current / peak if pd.notna(peak) and peak > 0 and not math.isnan(current) else math.nan
        complete = not window.isna().any()
        if not math.isnan(ratio) and ratio <= peak_ratio:
            by_peak: bool | None = True
        elif not math.isnan(ratio) and complete:
            by_peak = False
        else:
            by_peak = None
        # decline_years consecutive declines ending in one of the last years of the recent window
        by_run: bool | None = False
        for end in range(year - (decline_window - decline_years), year + 1):
            if end < first_year:  # the recent window is clipped to the panel, like the peak window
                continue
            flags = [_declined(series, y) if y > first_year else None for y in range(end - decline_years + 1, end + 1)]
            if all(flag is True for flag in flags):
                by_run = True
                break
            if not any(flag is False for flag in flags):
                by_run = None
        if by_peak is True or by_run is True:
            statuses[unit] = SHRINKING
        elif by_peak is False and by_run is False:
            statuses[unit] = NOT_SHRINKING
        else:
            statuses[unit] = INSUFFICIENT
    return pd.Series(statuses).reindex(panel.units.index)
