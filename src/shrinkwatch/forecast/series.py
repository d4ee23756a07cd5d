"""A panel's population as regular-step log series, with the features the boosted model reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from math import gcd

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.identification.indicators import year_grid

__all__ = ["History", "history_of", "COMPONENTS"]

#: Components of change the boosted model reads as rates per person where a panel has them (US county
#: estimates have all of them).
COMPONENTS = ("births", "deaths", "natural_increase", "net_migration", "net_domestic_migration",
              "net_international_migration")


@dataclass(frozen=True)
class History:
    """Observed (never projected) population on regular steps.

    ``log_values`` is units x steps (NaN where a unit has no positive value), in ``unit_ids`` order (the
    panel's); ``years`` the year of each step, ``step`` the years between steps; ``components`` the rates
    per person of :data:`COMPONENTS` the panel has (same shape); ``region`` integer codes of the units'
    ``region`` (-1 where none); ``not_positive`` the count of zero or negative values left out.
    """

    unit_ids: pd.Index
    years: np.ndarray
    step: int
    log_values: np.ndarray
    components: dict[str, np.ndarray]
    region: np.ndarray
    indicator: str
    not_positive: int

    def column(self, year: int, option: str = "origin") -> int:
        """The step column of ``year``; a year off the steps is an OptionError naming ``option``."""
        where = np.flatnonzero(self.years == int(year))
        if not len(where):
            raise OptionError(f"{option} {year}: not an observed year on the panel's steps "
                              f"({int(self.years[0])}..{int(self.years[-1])} every {self.step})")
        return int(where[0])

    def subset(self, rows: np.ndarray) -> "History":
        """The history of the units at positions ``rows`` (same years; ``not_positive`` kept as the panel's)."""
        return replace(self, unit_ids=self.unit_ids[rows], log_values=self.log_values[rows],
                       components={name: rates[rows] for name, rates in self.components.items()},
                       region=self.region[rows])


def history_of(panel: Panel, indicator: str = "pop_resident", *, first_year: int | None = None) -> History:
    """The regular-step log series of ``indicator`` over the panel's observed years (from ``first_year``).

    The step is the greatest common divisor of the gaps between observed years (10 on a decennial census
    series, 1 on annual estimates); a year on the steps that the panel lacks is a column of NaN.
    Fewer than three steps is a DataError: no trend can be fitted and checked.

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 120, 0]}, years=[1990, 2000, 2010])
    >>> h = history_of(panel)
    >>> h.step, h.years.tolist(), np.exp(h.log_values).round(3).tolist(), h.not_positive
    (10, [1990, 2000, 2010], [[100.0, 120.0, nan]], 1)
    """
    observed = [y for y in panel.observed_years if first_year is None or y >= int(first_year)]
    if len(observed) < 3:
        raise DataError(message("forecast.unavailable.few_years", "en", panel=repr(panel.id), indicator=indicator,
                                n=len(observed), years=", ".join(map(str, observed))))
    step = reduce(gcd, np.diff(observed).tolist())
    years = np.arange(observed[0], observed[-1] + 1, step, dtype=np.int64)
    grid = year_grid(panel, indicator)
    columns = years - int(grid.years[0])
    level = grid.values[:, columns]
    positive = np.isfinite(level) & (level > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_values = np.where(positive, np.log(np.where(positive, level, 1.0)), np.nan)
        components = {
            name: np.where(positive, year_grid(panel, name).values[:, columns] / np.where(positive, level, 1.0), np.nan)
            for name in COMPONENTS if name in panel.values.columns
        }
    region = (pd.factorize(panel.units["region"].astype("string"))[0] if "region" in panel.units.columns
              else np.full(len(panel.units), -1))
    return History(unit_ids=panel.units.index, years=years, step=int(step), log_values=log_values,
                   components=components, region=np.asarray(region, dtype=np.int64), indicator=indicator,
                   not_positive=int(np.count_nonzero(np.isfinite(level) & (level <= 0))))
