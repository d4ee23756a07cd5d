"""Status through time: a standard evaluated "as of" every year the panel allows.

:func:`timeline` asks, for every observed year ``t`` of a panel, what :func:`~shrinkwatch.identification.identify`
would have said with the standard's evaluation year set to ``t`` (``year`` for the window rules, ``end_year``
for census-decline; :attr:`~shrinkwatch.identification.kernel.RuleParameters.as_of_field`). Each verdict reads
no year after its own ``t`` (the kernels read columns up to it; tests change later data and check), so the
table is what a monitor run in each year would have published with today's data for the years before.

Which years are "as of" years:

- observed years only: projected years (``panel.meta.projected_from`` on) never are;
- up to the setting's own evaluation year (``--set year=2016`` ends the timeline in 2016; 0, the default,
  ends it at the latest observed year);
- from the first year whose verdict has every year it needs in the panel
  (:meth:`~shrinkwatch.identification.kernel.RuleParameters.first_year_needed`: the window of ``n`` years of
  consecutive-decline, the earlier census of census-decline); earlier verdicts would be another, shorter rule.

The verdicts of all years come from the rule's kernel in one call
(:meth:`~shrinkwatch.identification.kernel.Kernel.verdicts_as_of`: one pass over units and years for
consecutive-decline and census-decline, one vectorised pass over units per year for the others); boundary
changes and stable clusters are judged per year exactly as identify does
(:func:`~shrinkwatch.identification.engine.judge`).

Spells: a unit's spell is a run of as-of years in which it is shrinking. A year without a verdict
(insufficient data, boundary change) does not end it, since missing data is not a recovery: only a year
judged ``not_shrinking`` ends a spell (a recovery), so ``shrinking, insufficient_data, shrinking`` is one
spell of three as-of years. The shrinking lists of two consecutive as-of years differ by the units that
entered and exited (from and to ``not_shrinking``) and by those that gained or lost a verdict, counted apart
(:data:`CHANGES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core import STATUSES, Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.engine import StableGeography, judge, resolve_for_panel
from shrinkwatch.identification.indicators import Tri, panel_years
from shrinkwatch.identification.kernel import RuleParameters, evaluation_year
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard

__all__ = ["Timeline", "timeline", "as_of_years", "spells", "year_counts", "CHANGES"]

#: Status codes: positions in :data:`shrinkwatch.core.STATUSES`.
SHRINKING, NOT_SHRINKING, INSUFFICIENT, BOUNDARY = range(len(STATUSES))

#: The changes between two consecutive as-of years counted per year, and what each means.
CHANGES = {
    "entered": "not_shrinking the year before, shrinking now",
    "exited": "shrinking the year before, not_shrinking now (a recovery)",
    "entered_from_no_verdict": "no verdict the year before (insufficient data or boundary change), shrinking now",
    "exited_to_no_verdict": "shrinking the year before, no verdict now",
}


@dataclass(frozen=True)
class Timeline:
    """A standard's status of every unit as of every as-of year.

    Attributes
    ----------
    status
        Units x as-of years (``unit_id`` index in panel order, integer year columns), categorical with the
        categories :data:`shrinkwatch.core.STATUSES`.
    units
        One row per unit: ``name``, ``parent_name``, ``status`` (as of the last year), ``onset_year`` (first
        year of the current spell; <NA> when not shrinking in the last year), ``current_spell`` (as-of years
        from the onset to the last year, counted in as-of years: calendar years on an annual panel),
        ``first_shrinking_year``, ``years_shrinking``, ``n_spells``, ``n_recoveries`` (spells ended by a
        ``not_shrinking`` verdict) and ``via_stable_cluster`` (as-of years judged as a stable cluster).
    counts
        One row per as-of year: units per status, ``units_with_data``, and the changes since the previous
        as-of year (:data:`CHANGES`; <NA> in the first year).
    parameters
        The resolved parameters; the as-of field (``as_of_field``) holds the last as-of year.
    """

    standard_id: str
    parameters: dict[str, Any]
    as_of_field: str
    years: tuple[int, ...]
    status: pd.DataFrame
    units: pd.DataFrame
    counts: pd.DataFrame
    panel_id: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def codes(self) -> np.ndarray:
        """The status table as int8 codes (positions in :data:`~shrinkwatch.core.STATUSES`), units x years."""
        if not self.years:
            return np.zeros((len(self.status), 0), dtype=np.int8)
        return np.column_stack([self.status[year].cat.codes.to_numpy() for year in self.years]).astype(np.int8)

    def wide(self) -> pd.DataFrame:
        """The per-unit table followed by one status column per as-of year (named by the year): what
        ``shrinkwatch timeline -o FILE`` writes, one row per unit."""
        status = self.status.astype("string")
        status.columns = [str(year) for year in self.years]
        return pd.concat([self.units, status], axis=1)

    def changes(self, year: int | None = None) -> pd.DataFrame:
        """Units whose status changed from the as-of year before ``year`` (default: the last) to ``year``, into
        or out of the shrinking list: ``change`` (a key of :data:`CHANGES`), ``before`` and ``after``."""
        year = self.years[-1] if year is None else int(year)
        if year not in self.years:
            raise DataError(f"timeline: {year} is not an as-of year (as-of years: {list(self.years)})")
        position = self.years.index(year)
        columns = [c for c in ("name", "parent_name") if c in self.units.columns]
        if position == 0:
            return pd.DataFrame(columns=[*columns, "change", "before", "after"], index=self.status.index[:0])
        before = self.status[self.years[position - 1]].cat.codes.to_numpy()
        after = self.status[year].cat.codes.to_numpy()
        kinds = _changes(before, after)
        change = np.select(list(kinds.values()), np.array(list(kinds), dtype=object), default="")
        moved = change != ""
        table = self.units.loc[moved, columns].copy()
        table["change"] = change[moved]
        table["before"] = np.asarray(STATUSES, dtype=object)[before[moved]]
        table["after"] = np.asarray(STATUSES, dtype=object)[after[moved]]
        return table

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the standard, the as-of years, the counts per year and the current spells."""
        current = self.units["onset_year"].notna()
        counts = self.counts.reset_index().astype(object).where(self.counts.reset_index().notna(), None)
        return {
            "standard": self.standard_id,
            "as_of_field": self.as_of_field,
            "years": list(self.years),
            "counts": [{k: (int(v) if v is not None else None) for k, v in row.items()}
                       for row in counts.to_dict(orient="records")],
            "currently_shrinking": int(current.sum()),
            "onset_in_last_year": int((self.units["onset_year"] == self.years[-1]).sum()) if self.years else 0,
            "notes": list(self.notes),
        }


def _changes(before: np.ndarray, after: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of each change in :data:`CHANGES` between two columns (or matrices) of codes."""
    no_verdict_before = before >= INSUFFICIENT
    return {
        "entered": (after == SHRINKING) & (before == NOT_SHRINKING),
        "exited": (after == NOT_SHRINKING) & (before == SHRINKING),
        "entered_from_no_verdict": (after == SHRINKING) & no_verdict_before,
        "exited_to_no_verdict": (after >= INSUFFICIENT) & (before == SHRINKING),
    }


def as_of_years(panel: Panel, params: RuleParameters) -> tuple[list[int], tuple[str, ...]]:
    """The as-of years of ``params`` on ``panel`` (see the module) and notes on the years left out.

    Examples
    --------
    >>> from shrinkwatch.identification.rules import ConsecutiveDeclineParameters
    >>> panel = Panel.from_series({"a": [5, 4, 3, 2, 1]}, years=[2010, 2011, 2012, 2013, 2014])
    >>> params = ConsecutiveDeclineParameters(indicator="pop_resident", year=0, n=3, min_annual_loss=0.0)
    >>> as_of_years(panel, params)[0]
    [2013, 2014]
    """
    years = panel_years(panel)
    projected = panel.meta.projected_from
    observed = [y for y in years if projected is None or y < int(projected)]
    field_name = params.as_of_field
    last = evaluation_year(panel, int(getattr(params, field_name)), field_name)
    notes: list[str] = []
    if observed and last > observed[-1]:
        notes.append(f"as-of years end in {observed[-1]}, the last observed year: {last} and the years after it "
                     f"are projections (from {panel.meta.projected_from}), never an as-of year")
        last = observed[-1]
    chosen: list[int] = []
    too_early: list[int] = []
    for year in observed:  # a few dozen years at most; each test is one subtraction
        if year > last:
            break
        needed = params.as_of(year).first_year_needed(panel, years)
        (chosen if years[0] <= needed < year else too_early).append(year)
    if not chosen:
        raise DataError(
            f"panel {panel.id!r} has no year the standard can be evaluated as of: a verdict as of a year needs "
            f"the years from {_needed_text(panel, params, last)}, and the panel's observed years are "
            f"{observed[0] if observed else '-'}-{last}; a shorter window (--set) or a longer panel is needed")
    if len(too_early) > 1 and too_early[1] < chosen[0]:  # (the first year never has a year before it)
        notes.append(f"as-of years start in {chosen[0]}: a verdict as of an earlier year would need years "
                     f"before the panel's first year {years[0]}")
    return chosen, tuple(notes)


def _needed_text(panel: Panel, params: RuleParameters, year: int) -> str:
    needed = params.as_of(year).first_year_needed(panel, panel_years(panel))
    return f"{needed} for {year} ({year - needed} years before it)" if needed < year else f"an earlier year than {year}"


def spells(codes: np.ndarray, years: Sequence[int]) -> dict[str, np.ndarray | pd.api.extensions.ExtensionArray]:
    """Per unit, from a units x years matrix of status codes: the current spell, spells and recoveries.

    One pass over the years, each over all units at once, carrying whether the last verdict so far was
    shrinking (a year without a verdict leaves it as it was: it bridges a spell, see the module).

    Examples
    --------
    >>> s, n, i = SHRINKING, NOT_SHRINKING, INSUFFICIENT
    >>> out = spells(np.array([[s, n, s, i, s], [n, s, n, n, n]]), [2011, 2012, 2013, 2014, 2015])
    >>> out["onset_year"].tolist(), out["current_spell"].tolist(), out["n_spells"].tolist(), out["n_recoveries"].tolist()
    ([2013, <NA>], [3, <NA>], [2, 1], [1, 1])
    """
    codes = np.asarray(codes)
    n, width = codes.shape
    was_shrinking = np.zeros(n, dtype=bool)  # the last verdict so far
    n_spells = np.zeros(n, dtype=np.int32)
    n_recoveries = np.zeros(n, dtype=np.int32)
    years_shrinking = np.zeros(n, dtype=np.int32)
    onset = np.full(n, -1, dtype=np.int32)
    first = np.full(n, -1, dtype=np.int32)
    shrinking = np.zeros(n, dtype=bool)
    for column in range(width):  # a few dozen years; every step is over all units
        status = codes[:, column]
        shrinking = status == SHRINKING
        start = shrinking & ~was_shrinking
        n_spells += start
        n_recoveries += (status == NOT_SHRINKING) & was_shrinking
        years_shrinking += shrinking
        onset[start] = column
        first[shrinking & (first < 0)] = column
        was_shrinking = np.where(status <= NOT_SHRINKING, shrinking, was_shrinking)
    year_array = np.asarray(years, dtype=np.int64)

    def year_of(column: np.ndarray, present: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return pd.arrays.IntegerArray(np.where(present, year_array[np.maximum(column, 0)] if width else 0, 0)
                                      .astype(np.int64), ~present)

    current = shrinking  # shrinking in the last as-of year
    return {
        "onset_year": year_of(onset, current),
        "current_spell": pd.arrays.IntegerArray(np.where(current, width - onset, 0).astype(np.int64), ~current),
        "first_shrinking_year": year_of(first, first >= 0),
        "years_shrinking": years_shrinking,
        "n_spells": n_spells,
        "n_recoveries": n_recoveries,
    }


def year_counts(codes: np.ndarray, years: Sequence[int]) -> pd.DataFrame:
    """Per as-of year: units per status, ``units_with_data`` and the changes since the year before
    (:data:`CHANGES`, <NA> in the first year).

    Examples
    --------
    >>> s, n = SHRINKING, NOT_SHRINKING
    >>> year_counts(np.array([[n, s], [s, s]]), [2011, 2012])[["shrinking", "entered", "exited"]].to_dict("list")
    {'shrinking': [1, 2], 'entered': [None, 1], 'exited': [None, 0]}
    """
    codes = np.asarray(codes, dtype=np.int64)
    width = codes.shape[1]
    k = len(STATUSES)
    tally = np.bincount((codes + k * np.arange(width)).ravel(), minlength=k * width).reshape(width, k)
    table = pd.DataFrame(tally, columns=list(STATUSES), index=pd.Index(list(years), name="year"))
    table["units_with_data"] = table["shrinking"] + table["not_shrinking"]
    for name, mask in _changes(codes[:, :-1], codes[:, 1:]).items():
        counted = np.concatenate([[0], mask.sum(axis=0)]).astype(np.int64)
        table[name] = pd.arrays.IntegerArray(counted, np.arange(width) == 0)
    return table


def timeline(
    panel: Panel,
    standard: str | Path | Standard = "census-decline",
    settings: dict[str, Any] | None = None,
    *,
    stable_clusters: bool = True,
) -> Timeline:
    """The status of every unit of ``panel`` under ``standard`` as of every as-of year (see the module).

    ``settings`` are the standard's parameter overrides, as for :func:`~shrinkwatch.identification.identify`;
    the evaluation year among them (``year``, or ``end_year`` for census-decline) is the last as-of year.
    ``stable_clusters`` as for identify.

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 95, 90, 92], "b": [50, 52, 54, 56]}, years=[2010, 2011, 2012, 2013])
    >>> result = timeline(panel, "census-decline")
    >>> result.status.astype(str).to_dict("list")
    {2011: ['shrinking', 'not_shrinking'], 2012: ['shrinking', 'not_shrinking'], 2013: ['shrinking', 'not_shrinking']}
    >>> result.units["onset_year"].tolist()
    [2011, <NA>]
    """
    std = load_standard(standard)
    values, notes = resolve_for_panel(std, panel, settings)
    kernel = kernel_class(std.rule)(panel, std)
    params = kernel.parameters_of(values)
    years, year_notes = as_of_years(panel, params)
    verdicts = kernel.verdicts_as_of(params, years)
    codes = np.where(verdicts.yes, SHRINKING, np.where(verdicts.no, NOT_SHRINKING, INSUFFICIENT)).astype(np.int8)
    via = np.zeros(len(panel.units), dtype=np.int32)
    breaks = panel.meta.boundary_breaks
    if breaks is not None and len(breaks):  # per year: the compared years, and so the breaks, differ
        geography = StableGeography(panel, std) if stable_clusters else None
        for column, year in enumerate(years):
            judged = judge(panel, params.as_of(year), Tri(verdicts.yes[:, column], verdicts.no[:, column]), geography)
            if judged.broken is None:
                continue
            yes, no = judged.verdict
            codes[:, column] = np.where(judged.broken, BOUNDARY,
                                        np.where(yes, SHRINKING, np.where(no, NOT_SHRINKING, INSUFFICIENT)))
            if judged.via is not None:
                via += judged.via
    units = panel.units
    status = pd.DataFrame({year: pd.Categorical.from_codes(codes[:, j], categories=list(STATUSES))
                           for j, year in enumerate(years)}, index=units.index)
    status.columns.name = "as_of"
    per_unit: dict[str, Any] = {c: units[c] for c in ("name", "parent_name") if c in units.columns}
    per_unit["status"] = status[years[-1]]
    per_unit.update(spells(codes, years))
    per_unit["via_stable_cluster"] = via
    resolved = {**values, params.as_of_field: years[-1]}
    return Timeline(
        standard_id=std.id, parameters=resolved, as_of_field=params.as_of_field, years=tuple(years),
        status=status, units=pd.DataFrame(per_unit, index=units.index), counts=year_counts(codes, years),
        panel_id=panel.id, notes=(*notes, *year_notes),
    )
