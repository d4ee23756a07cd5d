"""The evidence beside each unit in the report's lists: populations at the start and end of the compared
window and, on annual data, its runs of consecutive annual decline; and the annual series the trend
charts draw.

A run length is only stated where the data are annual over the compared window (every year present):
two censuses ten years apart say nothing about consecutive years. A standard that reports runs itself
(``latest_run``/``longest_run``, as ``consecutive-decline`` does) is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.identification.indicators import decline_flags, panel_years, run_lengths, year_grid

__all__ = ["UnitFacts", "unit_facts", "MIN_ANNUAL_YEARS"]

#: The fewest consecutive annual values that make a trend worth drawing and a run worth counting.
MIN_ANNUAL_YEARS = 5


@dataclass(frozen=True)
class UnitFacts:
    """Per unit (``table`` indexed by unit id): ``population_start``, ``population_end`` and, on annual data,
    ``longest_run`` and ``latest_run`` of consecutive annual declines within the window.

    ``series`` holds the annual values (units x years, the whole panel span) when the window is annual,
    else None; ``window`` is ``(start, end)``; ``projected_from`` the first projected year, if any.
    """

    table: pd.DataFrame
    window: tuple[int, int] | None
    series: pd.DataFrame | None
    projected_from: int | None
    indicator: str

    @property
    def annual(self) -> bool:
        """Whether the compared window has a value every year (trends and runs are shown)."""
        return self.series is not None


def _window(table: pd.DataFrame) -> tuple[int, int] | None:
    if not {"start_year", "end_year"} <= set(table.columns) or not len(table):
        return None
    start = pd.to_numeric(table["start_year"], errors="coerce").dropna()
    end = pd.to_numeric(table["end_year"], errors="coerce").dropna()
    if start.empty or end.empty:
        return None
    return int(start.mode().iloc[0]), int(end.mode().iloc[0])


def unit_facts(identification: Identification, panel: Panel) -> UnitFacts:
    """Populations at the start and end of the window and runs of decline on annual data, vectorised over units.

    Examples
    --------
    >>> from shrinkwatch.identification import identify
    >>> panel = Panel.from_series({"a": [100, 99, 98, 97, 99, 98], "b": [5, 6, 7, 8, 9, 10]},
    ...                           years=list(range(2010, 2016)), indicator="pop_resident")
    >>> facts = unit_facts(identify(panel, "census-decline"), panel)
    >>> facts.annual, facts.table.loc["a", ["longest_run", "latest_run"]].tolist()
    (True, [3.0, 1.0])
    """
    table = identification.table
    indicator = str(identification.parameters.get("indicator", "pop_resident"))
    window = _window(table)
    out = pd.DataFrame(index=table.index)
    if window is not None:
        for name, year in (("population_start", window[0]), ("population_end", window[1])):
            column = f"{indicator}_{year}"
            if column in table.columns:
                out[name] = pd.to_numeric(table[column], errors="coerce")
    series = None
    years = panel_years(panel)
    if window is not None and indicator in panel.values.columns:
        inside = [y for y in years if window[0] <= y <= window[1]]
        if len(inside) == window[1] - window[0] + 1 and len(inside) >= MIN_ANNUAL_YEARS:
            grid = year_grid(panel, indicator, years)
            if grid.in_panel.all():
                series = pd.DataFrame(grid.values, index=panel.units.index, columns=grid.years).reindex(table.index)
                first, last = window[0] - int(grid.years[0]), window[1] - int(grid.years[0])
                values = grid.values[:, first:last + 1]
                runs = run_lengths(decline_flags(values).yes)
                out["longest_run"] = pd.Series(runs.max(axis=1), index=panel.units.index).reindex(table.index)
                out["latest_run"] = pd.Series(runs[:, -1], index=panel.units.index).reindex(table.index)
                if "population_start" not in out.columns:
                    out["population_start"] = pd.Series(values[:, 0], index=panel.units.index).reindex(table.index)
                    out["population_end"] = pd.Series(values[:, -1], index=panel.units.index).reindex(table.index)
    for column in ("longest_run", "latest_run"):  # a standard's own runs win
        if column in table.columns:
            out[column] = pd.to_numeric(table[column], errors="coerce")
    unknown = table["status"].isin(["insufficient_data"]).to_numpy() if "status" in table.columns else None
    if unknown is not None:
        for column in ("longest_run", "latest_run"):
            if column in out.columns:
                out[column] = out[column].astype(float).where(~unknown, np.nan)
    projected = panel.meta.projected_from
    return UnitFacts(table=out, window=window, series=series,
                     projected_from=int(projected) if projected is not None else None, indicator=indicator)
