"""Plausibility of what a user's file says: years and values a city-level panel can hold.

The alias table (``resources/aliases.toml``) holds each indicator's *valid* range (a
population is never negative, a share never above 100). This module holds the
*plausible* range for a city-level unit (a prefecture, county, city or urban
agglomeration), which rejects values that are possible numbers but not possible
cities: a population of 10^19, or 100 million people in one unit (Chongqing, the
largest city-level unit, has 32 million; the largest urban agglomeration, Tokyo,
37 million). A value outside it rejects its row, with the value and the bound in the
reason (:func:`implausible_values`). Money has no upper bound: currencies differ by
orders of magnitude and some hyperinflate.

Years (:func:`year_problems`): a city series starts at the earliest in
:data:`FIRST_YEAR` = 1790 (the first US census; the CESTA US city file in the shared
data runs 1790-2010), so 1800 is kept. A year after the current year is rejected unless
the user says the file holds projections from some year on (``--projected-from YEAR``,
which also sets ``PanelMeta.projected_from`` so that rules read observed years only);
projections end at :data:`LAST_PROJECTED_YEAR` = 2100, the horizon of the UN World
Population Prospects.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shrinkwatch.core.messages import message, messages

__all__ = ["Bound", "FIRST_YEAR", "LAST_PROJECTED_YEAR", "PLAUSIBLE", "current_year", "implausible_values",
           "isolated_years", "year_problems"]

#: The earliest year of any city series: the first US census (1790).
FIRST_YEAR = 1790
#: The last year of published population projections (UN World Population Prospects run to 2100).
LAST_PROJECTED_YEAR = 2100
#: A first or last year of a panel further than this from the panel's other years is worth a look.
ISOLATED_GAP = 20


@dataclass(frozen=True)
class Bound:
    """A plausible range ``[low, high]`` in the indicator's canonical unit, and why."""

    low: float
    high: float
    why: str


# the reasons are the catalogues' [ingest.why] (stored in English, said in the reader's language on display)
_PERSONS = Bound(0.0, 1e8, message("ingest.why.persons", "en"))
_PERSONS_FLOW = Bound(-1e8, 1e8, message("ingest.why.persons_flow", "en"))
_BUILT = Bound(0.0, 1e5, message("ingest.why.built", "en"))

#: Plausible ranges for a city-level unit, by canonical indicator (indicators not listed: the
#: alias table's valid range only).
PLAUSIBLE: Mapping[str, Bound] = {
    **{indicator: _PERSONS for indicator in (
        "pop_resident", "pop_registered", "pop_urban", "pop_urban_district", "pop_registered_district",
        "pop_resident_district", "employment", "births", "deaths")},
    "net_migration": _PERSONS_FLOW,
    "builtup_km2": _BUILT,
    "urban_construction_land_km2": _BUILT,
    "birth_rate": Bound(0.0, 100.0, message("ingest.why.birth_rate", "en")),
    "gdp_real_growth": Bound(-100.0, 100.0, message("ingest.why.gdp_real_growth", "en")),
}


def current_year() -> int:
    """This year (the latest year an observed value can belong to)."""
    return datetime.date.today().year


def _numbers(values: np.ndarray) -> pd.Series:
    """Values as short text for reasons (``1e+19``, ``123,456,789``)."""
    return pd.Series([f"{v:,.0f}" if abs(v) < 1e15 else f"{v:g}" for v in values], dtype=object)


def implausible_values(indicator: pd.Series, value: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """Which values are outside :data:`PLAUSIBLE` for their indicator, and the reason for each.

    Returns ``(mask, reasons)``; ``reasons`` is aligned to ``value`` and empty outside the mask.

    Examples
    --------
    >>> mask, reasons = implausible_values(pd.Series(["pop_resident", "pop_resident", "gdp"]),
    ...                                    np.array([1e19, 5e6, 1e19]))
    >>> mask.tolist()
    [True, False, False]
    >>> reasons[0]
    'implausible value: pop_resident 1e+19 is above 100,000,000 (no city-level unit has 100 million people; Chongqing, the largest, has 32 million)'
    """
    codes, names = pd.factorize(indicator, use_na_sentinel=False)   # a few indicators over many cells
    bounds = [PLAUSIBLE.get(name) if isinstance(name, str) else None for name in names]
    low = np.array([b.low if b else -np.inf for b in bounds] or [-np.inf])[codes]
    high = np.array([b.high if b else np.inf for b in bounds] or [np.inf])[codes]
    value = np.asarray(value, dtype=float)
    below = np.isfinite(value) & (value < low)
    above = np.isfinite(value) & (value > high)
    mask = below | above
    reasons = pd.Series("", index=range(len(value)), dtype=object)
    if mask.any():
        hit = np.flatnonzero(mask)
        names = indicator.to_numpy(dtype=object)[hit]
        limit = _numbers(np.where(above[hit], high[hit], low[hit]))
        why = [PLAUSIBLE[name].why for name in names]
        fields = {"indicator": names, "value": _numbers(value[hit]), "limit": limit, "why": why}
        reasons.iloc[hit] = np.where(above[hit], messages("ingest.reason.implausible_above", "en", len(hit), **fields),
                                     messages("ingest.reason.implausible_below", "en", len(hit), **fields))
    return mask, reasons


def year_problems(years: np.ndarray, projected_from: int | None, today: int | None = None,
                  ) -> tuple[np.ndarray, pd.Series]:
    """Which years a row cannot have, and why: before :data:`FIRST_YEAR`, after the current year
    (unless at or after ``projected_from``), or after :data:`LAST_PROJECTED_YEAR`.

    NaN years (not parsed) are not judged here. Returns ``(mask, reasons)``.

    Examples
    --------
    >>> mask, reasons = year_problems(np.array([1789.0, 1800, 2020, 2031, 2199]), None, today=2026)
    >>> mask.tolist()
    [True, False, False, True, True]
    >>> reasons[3]
    'year after the current year: 2031 is after 2026 (if the file holds projections, say from which year with --projected-from YEAR)'
    >>> year_problems(np.array([2031.0]), 2030, today=2026)[0].tolist()
    [False]
    """
    today = current_year() if today is None else int(today)
    years = np.asarray(years, dtype=float)
    known = np.isfinite(years)
    early = known & (years < FIRST_YEAR)
    beyond = known & (years > LAST_PROJECTED_YEAR)
    projected = known & (years >= projected_from) if projected_from is not None else np.zeros(len(years), bool)
    future = known & (years > today) & ~projected & ~beyond
    mask = early | beyond | future
    reasons = pd.Series("", index=range(len(years)), dtype=object)
    if mask.any():
        for which, key, fields in ((early, "year_early", {"first": FIRST_YEAR}),
                                   (beyond, "year_beyond", {"last": LAST_PROJECTED_YEAR}),
                                   (future, "year_future", {"today": today})):
            if which.any():
                shown = years[which].astype(np.int64).astype(str)
                reasons.iloc[np.flatnonzero(which)] = messages(f"ingest.reason.{key}", "en", len(shown), year=shown,
                                                               **fields).to_numpy()
    return mask, reasons


def isolated_years(rows_per_year: pd.Series) -> list[str]:
    """Warnings for a first or last year far (more than :data:`ISOLATED_GAP` years) from the panel's other
    years and holding few rows: rules whose default window starts at the panel's first year (census-decline)
    or ends at its last would compare from or to that year.

    Examples
    --------
    >>> isolated_years(pd.Series({1800: 1, 2010: 300, 2020: 300}))[0][:45]
    'year 1800: 1 row(s), 210 years before the nex'
    >>> isolated_years(pd.Series({1790 + 10 * k: 500 for k in range(23)}))
    []
    """
    years = sorted(int(y) for y in rows_per_year.index)
    if len(years) < 2:
        return []
    total = int(rows_per_year.sum())
    warnings = []
    for year, other, where in ((years[0], years[1], "isolated_first"), (years[-1], years[-2], "isolated_last")):
        count = int(rows_per_year[year])
        if abs(year - other) > ISOLATED_GAP and count * 10 < total:
            warnings.append(message(f"ingest.warning.{where}", "en", year=year, count=count, gap=abs(year - other),
                                    other=other))
    return warnings
