"""Shared, vectorised indicators of population change.

Every function works on whole ``units x years`` matrices at once: no Python
loop runs per unit or per year. Matrices are put on a *calendar-complete*
year axis (:func:`year_grid`): a year the panel does not have is a column of
NaN, so "the previous year" is always the previous column and a missing year
breaks a run by construction.

Verdicts that may be unknown are :class:`Tri` values (three-valued, Kleene
logic): ``yes`` where the condition certainly holds, ``no`` where it certainly
fails, neither where the data cannot tell. Missing data therefore never turns
into a "no".

Definitions
-----------
annual rate
    ``r(a, b) = (P(b) / P(a)) ** (1 / (b - a)) - 1``.
decline in year t
    ``P(t) < P(t-1) * (1 - min_loss)`` with both values observed. Equal values
    are not a decline; NaN is never a decline (it is unknown).
run
    The number of consecutive declines ending at a year; a missing year ends it.
peak loss
    ``P(t) / max P`` over the panel years in ``[t - W + 1, t]``.
pattern
    Over the panel's periods (consecutive panel years up to the evaluation
    year, e.g. 2010-2011, ... or the single 2010-2020 census period), with the
    periods whose ends are both observed ("known" periods). A pattern needs at
    least two known periods; one period (two censuses, say) says nothing about
    how change runs through time:

    - ``single period``: exactly one known period (a decline or not);
    - ``continuous``: every known period (two or more) is a decline;
    - ``new``: the latest known period is a decline, and the declines form one
      run that ends there, preceded by at least one period without decline;
    - ``recovering``: the latest known period is a growth and an earlier one
      was a decline;
    - ``episodic``: any other mix with at least one decline (several separate
      runs ending in a decline, or a flat latest period after declines);
    - ``none``: no decline in any known period; ``""``: no known period.

Examples
--------
>>> import numpy as np
>>> values = np.array([[100.0, 99.0, 98.0, 97.0], [100.0, 101.0, 99.0, 98.0]])
>>> flags = decline_flags(values)
>>> run_lengths(flags.yes)[:, -1].tolist()
[3, 2]
>>> pattern_of(values).tolist()
['continuous', 'new']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError

# the composite index's scores have their own module; importable from here as before
from shrinkwatch.identification.scoring import classify, entropy_weights, normalise

__all__ = [
    "Tri",
    "tri_and",
    "tri_or",
    "YearGrid",
    "year_grid",
    "panel_years",
    "annual_rate",
    "decline_flags",
    "run_lengths",
    "cumulative_count",
    "loss_ranks",
    "DeclineRuns",
    "decline_runs",
    "consecutive_decline",
    "declines_within",
    "PeakLoss",
    "peak_loss",
    "window_growth",
    "benchmark_growth",
    "elasticity",
    "tapio_state",
    "TAPIO_STATES",
    "SEVERITY_BANDS",
    "SEVERITY_LABELS",
    "severity",
    "severity_codes",
    "PATTERNS",
    "PATTERN_LABELS",
    "pattern_of",
    "pattern_codes",
    "normalise",
    "entropy_weights",
    "classify",
]


# ---------------------------------------------------------------- three-valued logic

class Tri(NamedTuple):
    """A three-valued verdict per unit: ``yes`` certain, ``no`` certain, else unknown."""

    yes: np.ndarray
    no: np.ndarray

    @property
    def known(self) -> np.ndarray:
        return self.yes | self.no

    def as_float(self) -> np.ndarray:
        """1.0 yes, 0.0 no, NaN unknown."""
        return np.where(self.yes, 1.0, np.where(self.no, 0.0, np.nan))

    @classmethod
    def unknown(cls, n: int) -> "Tri":
        return cls(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))

    @classmethod
    def of(cls, condition: np.ndarray, known: np.ndarray) -> "Tri":
        """``condition`` where ``known``, unknown elsewhere."""
        known = np.asarray(known, dtype=bool)
        condition = np.asarray(condition, dtype=bool)
        return cls(condition & known, ~condition & known)


def tri_and(*terms: Tri) -> Tri:
    """Kleene AND: no if any term is no, yes if all are yes."""
    yes, no = terms[0].yes.copy(), terms[0].no.copy()
    for term in terms[1:]:
        yes &= term.yes
        no |= term.no
    return Tri(yes, no)


def tri_or(*terms: Tri) -> Tri:
    """Kleene OR: yes if any term is yes, no if all are no."""
    yes, no = terms[0].yes.copy(), terms[0].no.copy()
    for term in terms[1:]:
        yes |= term.yes
        no &= term.no
    return Tri(yes, no)


# ---------------------------------------------------------------- the year grid

@dataclass(frozen=True)
class YearGrid:
    """One indicator as a ``units x years`` float matrix on consecutive calendar years.

    ``in_panel`` marks the years the panel has; the others are all-NaN columns.
    """

    values: np.ndarray
    years: np.ndarray
    in_panel: np.ndarray

    def column(self, year: int, key: str = "year") -> int:
        """The column of ``year``; a year outside the grid is an OptionError naming ``key``."""
        index = int(year) - int(self.years[0])
        if index < 0 or index >= len(self.years) or not self.in_panel[index]:
            panel_years = self.years[self.in_panel].tolist()
            raise OptionError(f"parameter {key!r}: year {year} is not in the panel (years: {panel_years})")
        return index

    def start_column(self, year: int) -> int:
        """The first column at or after ``year`` (clipped to the grid)."""
        return int(np.clip(int(year) - int(self.years[0]), 0, len(self.years) - 1))


def panel_years(panel: Panel, observed: bool = False) -> list[int]:
    """The panel's years (``observed``: without projected years), read from the index codes.

    Same as :attr:`Panel.years` / :attr:`Panel.observed_years` without materialising
    the year level of a long index.
    """
    index = panel.values.index
    if not len(index):
        return []
    level = np.asarray(index.levels[1], dtype=np.int64)
    codes = np.asarray(index.codes[1])
    if len(codes) % len(level) == 0 and (codes.reshape(-1, len(level)) == np.arange(len(level), dtype=codes.dtype)).all():
        present = level  # every unit at every year of the level, in order (the common layout): no count needed
    else:
        present = level[np.bincount(codes, minlength=len(level)) > 0]
    years = sorted(int(y) for y in present)
    first_projected = panel.meta.projected_from
    if observed and first_projected is not None:
        years = [y for y in years if y < int(first_projected)]
    return years


def year_grid(panel: Panel, indicator: str, years: list[int] | None = None) -> YearGrid:
    """``indicator`` of ``panel`` on a calendar-complete year axis, rows in ``panel.units`` order.

    Built by reshaping (values sorted by unit and year, complete) or scattering
    the long values into the matrix (no unstack), so it is linear in the number
    of observations. ``years``: the panel's years, if already known.

    Examples
    --------
    >>> grid = year_grid(Panel.from_series({"a": [5, 4]}, years=[2010, 2012], indicator="pop"), "pop")
    >>> grid.years.tolist(), grid.in_panel.tolist()
    ([2010, 2011, 2012], [True, False, True])
    """
    if indicator not in panel.values.columns:
        raise DataError(
            f"indicator {indicator!r} is not in panel {panel.id!r}; it has: {', '.join(panel.indicators)}"
        )
    index = panel.values.index
    unit_level = index.levels[0]
    same_units = unit_level.equals(panel.units.index)
    position = np.arange(len(unit_level)) if same_units else panel.units.index.get_indexer(unit_level)
    unit_codes = np.asarray(index.codes[0]) if same_units else position[index.codes[0]]
    year_level = np.asarray(index.levels[1], dtype=np.int64)
    years_present = np.asarray(panel_years(panel) if years is None else years, dtype=np.int64)
    if not len(years_present):
        years_present = np.array([0])
    first, last = int(years_present[0]), int(years_present[-1])
    axis_years = np.arange(first, last + 1, dtype=np.int64)
    matrix = np.full((len(panel.units), len(axis_years)), np.nan)
    data = panel.values[indicator].to_numpy(dtype=np.float64)
    n_units, n_years = len(panel.units), len(years_present)
    # the year codes are the panel-year positions when the year level holds exactly the panel's years
    year_positions = np.asarray(index.codes[1]) if np.array_equal(year_level, years_present) else None
    if (len(data) == n_units * n_years and year_positions is not None
            and (unit_codes.reshape(n_units, n_years) == np.arange(n_units, dtype=unit_codes.dtype)[:, None]).all()
            and (year_positions.reshape(n_units, n_years) == np.arange(n_years, dtype=year_positions.dtype)).all()):
        # the common layout, sorted by unit then year and complete: a reshape, no scatter
        columns = slice(None) if n_years == len(axis_years) else years_present - first
        matrix[:, columns] = data.reshape(n_units, n_years)
    else:
        year_columns = ((years_present - first)[year_positions] if year_positions is not None
                        else (year_level - first)[index.codes[1]])
        if (position >= 0).all():
            matrix[unit_codes, year_columns] = data
        else:
            keep = unit_codes >= 0
            matrix[unit_codes[keep], year_columns[keep]] = data[keep]
    in_panel = np.zeros(len(axis_years), dtype=bool)
    in_panel[years_present - first] = True
    return YearGrid(values=matrix, years=axis_years, in_panel=in_panel)


# ---------------------------------------------------------------- rates and declines

def annual_rate(start: np.ndarray, end: np.ndarray, years: float | np.ndarray) -> np.ndarray:
    """Average annual change rate ``r = (P(b)/P(a)) ** (1/(b-a)) - 1``; NaN where undefined.

    Examples
    --------
    >>> round(float(annual_rate(100.0, 121.0, 2)), 6)
    0.1
    """
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    span = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((start > 0) & (end >= 0), end / np.where(start > 0, start, 1.0), np.nan)
        return np.where(span > 0, np.power(ratio, 1.0 / np.where(span > 0, span, 1.0)) - 1.0, np.nan)


def decline_flags(values: np.ndarray, min_loss: float = 0.0) -> Tri:
    """Year-on-year declines, same shape as ``values`` (column 0 is always unknown).

    Column ``j`` is the change from column ``j-1`` to ``j``: yes where
    ``P(j) < P(j-1) * (1 - min_loss)``, no where both are observed and it is
    not, unknown where either is NaN. Equal values are not a decline.
    """
    values = np.asarray(values, dtype=float)
    yes = np.zeros(values.shape, dtype=bool)
    no = np.zeros(values.shape, dtype=bool)
    if values.shape[1] > 1:
        finite = np.isfinite(values)
        before, after = values[:, :-1], values[:, 1:]
        # a comparison with NaN is False, so "falling" is already False where a value is missing
        falling = after < (before if min_loss == 0 else before * (1.0 - min_loss))
        yes[:, 1:] = falling
        no[:, 1:] = ~falling & finite[:, :-1] & finite[:, 1:]
    return Tri(yes, no)


def run_lengths(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each column (0 where False).

    One step per column over all units (``run[j] = (run[j-1] + 1) * flag[j]``) on a years x units copy, so
    that every step reads contiguous memory; the result is its transpose (units x years, column-major, so a
    column is contiguous).
    """
    flags = np.asarray(flags, dtype=bool)
    # int16: years fit, and half the memory of int32 on 100,000-unit panels
    by_year = np.ascontiguousarray(flags.T)
    out = np.zeros(by_year.shape, dtype=np.int16 if flags.shape[1] < 32767 else np.int64)
    if len(out):
        out[0] = by_year[0]
    for column in range(1, len(out)):
        np.add(out[column - 1], 1, out=out[column])
        out[column] *= by_year[column]
    return out.T


def cumulative_count(flags: np.ndarray) -> np.ndarray:
    """Cumulative count with a leading zero column: count in [a, b] = c[:, b+1] - c[:, a].

    Built a column at a time over all units, as :func:`run_lengths` (column-major result)."""
    flags = np.asarray(flags, dtype=bool)
    by_year = np.ascontiguousarray(flags.T)
    out = np.zeros((flags.shape[1] + 1, flags.shape[0]), dtype=np.int16 if flags.shape[1] < 32767 else np.int64)
    for column in range(flags.shape[1]):
        np.add(out[column], by_year[column], out=out[column + 1])
    return out.T


#: Units per block of the loops that go a year at a time (a years x units copy of a block is a few MiB).
BLOCK_UNITS = 1 << 16


def unit_blocks(n_units: int) -> list[slice]:
    """Consecutive blocks of at most :data:`BLOCK_UNITS` units (a loop over blocks, never over units)."""
    return [slice(start, min(start + BLOCK_UNITS, n_units)) for start in range(0, n_units, BLOCK_UNITS)]


def loss_ranks(values: np.ndarray, thresholds: np.ndarray, chunk_rows: int = 1 << 15) -> np.ndarray:
    """For every column ``j`` of ``values``: how many of the ascending ``thresholds`` make the change from
    column ``j-1`` to ``j`` a decline (``P(j) < P(j-1) * (1 - t)``, compared exactly as :func:`decline_flags`
    does); 0 in column 0 and where a value is missing.

    Where ``P(j-1) >= 0`` a decline at a threshold is a decline at every smaller one, so the thresholds that
    give one are the first ``rank`` of them, and :func:`decline_flags` at ``thresholds[i]`` is ``rank > i``.
    The rank is first placed by the loss ``1 - P(j) / P(j-1)`` among the thresholds, then moved until the
    exact comparison holds at ``rank - 1`` and fails at ``rank`` (rounding moves it by a step at most, so
    this is a pass or two), in blocks of ``chunk_rows`` rows so that the temporaries stay small. A negative
    ``P(j-1)`` breaks the order: callers check for it.

    Examples
    --------
    >>> loss_ranks(np.array([[100.0, 98.0, 98.0, np.nan], [100.0, 90.0, 95.0, 80.0]]), np.array([0.0, 0.01, 0.05]))
    array([[0, 2, 0, 0],
           [0, 3, 0, 3]], dtype=uint8)
    """
    values = np.asarray(values, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    factors = 1.0 - thresholds
    count = len(factors)
    dtype = np.uint8 if count < 255 else np.uint16 if count < 65535 else np.int32
    out = np.zeros(values.shape, dtype=dtype)
    if values.shape[1] < 2 or count == 0:
        return out
    for start in range(0, values.shape[0], chunk_rows):
        before, after = values[start : start + chunk_rows, :-1], values[start : start + chunk_rows, 1:]

        def declines(rank: np.ndarray) -> np.ndarray:
            """The exact comparison at threshold ``rank`` (none beyond the last one)."""
            with np.errstate(invalid="ignore"):  # inf x 0: NaN, not a decline (as decline_flags)
                return (after < before * factors[np.minimum(rank, count - 1)]) & (rank < count)

        with np.errstate(divide="ignore", invalid="ignore"):
            loss = 1.0 - after / before
        rank = np.where(np.isnan(loss), 0, np.searchsorted(thresholds, loss, side="left")).astype(np.int32)
        while True:  # up while the threshold at rank still gives a decline
            up = declines(rank)
            if not up.any():
                break
            rank += up
        while True:  # down while the one below it does not
            down = (rank > 0) & ~declines(np.maximum(rank - 1, 0))
            if not down.any():
                break
            rank -= down
        out[start : start + chunk_rows, 1:] = rank
    return out


@dataclass(frozen=True)
class DeclineRuns:
    """Consecutive annual declines up to an evaluation year, per unit.

    ``longest`` and its ``longest_end`` year (the latest one on a tie; NaN when
    there is no decline), and ``latest``, the run ending at the evaluation year.
    """

    longest: np.ndarray
    longest_end: np.ndarray
    latest: np.ndarray


def decline_runs(flags: Tri, years: np.ndarray, column: int, runs: np.ndarray | None = None) -> DeclineRuns:
    """Longest and latest runs of ``flags.yes`` in columns ``0..column``.

    ``runs``: ``run_lengths(flags.yes)`` if already computed (runs only look back,
    so columns after ``column`` do not matter).
    """
    runs = run_lengths(flags.yes[:, : column + 1]) if runs is None else runs[:, : column + 1]
    longest = runs.max(axis=1)
    last_max = np.zeros(len(runs), dtype=np.intp)
    for year in range(runs.shape[1]):  # the latest column holding the longest run, a column at a time
        last_max[runs[:, year] == longest] = year
    end = np.where(longest > 0, np.asarray(years)[last_max].astype(float), np.nan)
    return DeclineRuns(longest=longest, longest_end=end, latest=runs[:, -1])


def consecutive_decline(flags: Tri, column: int, n: int) -> Tri:
    """Declines in each of the ``n`` years ending at ``column`` (Kleene: one known rise is a no)."""
    runs = run_lengths(flags.yes[:, : column + 1])[:, -1]
    first = max(column - n + 1, 0)
    any_no = flags.no[:, first : column + 1].any(axis=1)
    return Tri(np.asarray(runs >= n), np.asarray(any_no))


def declines_within(flags: Tri, column: int, n: int, window: int) -> Tri:
    """``n`` consecutive declines whose years all lie in the ``window`` years ending at ``column``."""
    if n > window:
        raise OptionError(f"parameters: {n} consecutive declines cannot fit in a window of {window} years")
    runs = run_lengths(flags.yes[:, : column + 1])
    ends = np.arange(column - (window - n), column + 1)
    ends = ends[ends >= 0]
    yes = (runs[:, ends] >= n).any(axis=1) if len(ends) else np.zeros(len(runs), dtype=bool)
    no_count = cumulative_count(flags.no[:, : column + 1])
    starts = np.maximum(ends - n + 1, 0)
    # a sub-window reaching before the grid is blocked only by a known rise inside the grid
    blocked = no_count[:, ends + 1] - no_count[:, starts] > 0
    no = blocked.all(axis=1) if len(ends) else np.ones(len(runs), dtype=bool)
    return Tri(np.asarray(yes), np.asarray(no & ~yes))


# ---------------------------------------------------------------- peak loss and window growth

@dataclass(frozen=True)
class PeakLoss:
    """``ratio`` = P(t) / ``peak`` over the window; ``complete`` = no missing panel year in it.

    The window is clipped to the panel's first year: the peak is the maximum
    over the data the panel holds.
    """

    ratio: np.ndarray
    peak: np.ndarray
    peak_year: np.ndarray
    complete: np.ndarray


def peak_loss(grid: YearGrid, column: int, window: int) -> PeakLoss:
    """Population at ``column`` relative to its maximum over the ``window`` years ending there."""
    first = max(column - window + 1, 0)
    in_panel = grid.in_panel[first : column + 1]
    n_units = grid.values.shape[0]
    peak = np.full(n_units, -np.inf)
    where_max = np.full(n_units, column - first, dtype=np.intp)
    complete = np.ones(n_units, dtype=bool)
    for rows in unit_blocks(n_units):
        # a year at a time over a block of units: the running maximum and its latest year (a missing value is
        # no peak)
        block_peak, block_where, block_complete = peak[rows], where_max[rows], complete[rows]
        for year, values in enumerate(np.ascontiguousarray(grid.values[rows, first : column + 1].T)):
            higher = values >= block_peak
            np.copyto(block_peak, values, where=higher)
            block_where[higher] = year
            if in_panel[year]:
                block_complete &= ~np.isnan(values)
    peak = np.where(np.isfinite(peak), peak, np.nan)
    current = grid.values[:, column]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(peak > 0, current / peak, np.nan)
    peak_year = np.where(np.isfinite(peak), grid.years[first:][where_max].astype(float), np.nan)
    return PeakLoss(ratio=ratio, peak=peak, peak_year=peak_year, complete=complete)


def window_growth(grid: YearGrid, start_column: int, end_column: int) -> np.ndarray:
    """Relative change ``X(end) / X(start) - 1`` per unit; NaN where undefined."""
    start = grid.values[:, start_column]
    end = grid.values[:, end_column]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(start > 0, end / start - 1.0, np.nan)


def benchmark_growth(
    grid: YearGrid,
    start_column: int,
    end_column: int,
    benchmark: Mapping[int, float] | pd.Series | None = None,
) -> float:
    """Benchmark relative change over the same window.

    A ``benchmark`` series (year -> value, national or user-supplied) is used
    when given; otherwise the aggregate of all units observed at both ends.
    """
    start_year, end_year = int(grid.years[start_column]), int(grid.years[end_column])
    if benchmark is not None:
        series = pd.Series(benchmark, dtype=float)
        series.index = series.index.astype(int)
        missing = [y for y in (start_year, end_year) if y not in series.index or not np.isfinite(series[y])]
        if missing:
            raise DataError(f"benchmark series has no value for {missing}")
        return float(series[end_year] / series[start_year] - 1.0)
    start = grid.values[:, start_column]
    end = grid.values[:, end_column]
    both = np.isfinite(start) & np.isfinite(end)
    total = start[both].sum()
    return float(end[both].sum() / total - 1.0) if total > 0 else float("nan")


# ---------------------------------------------------------------- land and population

#: Tapio decoupling states (DOMAIN.md), in table order.
TAPIO_STATES = (
    "weak decoupling",
    "expansive coupling",
    "expansive negative decoupling",
    "strong decoupling",
    "strong negative decoupling",
    "recessive decoupling",
    "recessive coupling",
    "weak negative decoupling",
)


def elasticity(land_change: np.ndarray, population_change: np.ndarray) -> np.ndarray:
    """Land-population elasticity ``e = (dL/L) / (dP/P)`` from relative changes; NaN where dP/P = 0."""
    land = np.asarray(land_change, dtype=float)
    population = np.asarray(population_change, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(population != 0, land / np.where(population != 0, population, 1.0), np.nan)


def tapio_state(population_change: np.ndarray, land_change: np.ndarray) -> np.ndarray:
    """Tapio state per DOMAIN.md from relative changes; ``""`` where a change is zero or missing.

    Coupling bands are inclusive: ``0.8 <= e <= 1.2``.

    Examples
    --------
    >>> tapio_state(np.array([-0.1, 0.1]), np.array([0.05, 0.05])).tolist()
    ['strong negative decoupling', 'weak decoupling']
    """
    dp = np.asarray(population_change, dtype=float)
    dl = np.asarray(land_change, dtype=float)
    # rounded so that band edges are not lost to floating point (0.08 / 0.1 is 0.7999...)
    e = np.round(elasticity(dl, dp), 9)
    grow_p, fall_p, grow_l, fall_l = dp > 0, dp < 0, dl > 0, dl < 0
    conditions = [
        grow_p & grow_l & (e < 0.8),
        grow_p & grow_l & (e >= 0.8) & (e <= 1.2),
        grow_p & grow_l & (e > 1.2),
        grow_p & fall_l,
        fall_p & grow_l,
        fall_p & fall_l & (e > 1.2),
        fall_p & fall_l & (e >= 0.8) & (e <= 1.2),
        fall_p & fall_l & (e < 0.8),
    ]
    return np.select(conditions, np.array(TAPIO_STATES, dtype=object), default="").astype(object)


# ---------------------------------------------------------------- severity and pattern

#: ESPON ESCAPE bands of the annual rate (percent per year): name, upper, lower.
SEVERITY_BANDS = (("mild", 0.0, -0.5), ("moderate", -0.5, -1.0), ("severe", -1.0, -np.inf))


#: The labels of :func:`severity_codes`: no rate, the three bands, no loss.
SEVERITY_LABELS = ("", "mild", "moderate", "severe", "none")


def severity_codes(annual_rate_percent: np.ndarray) -> np.ndarray:
    """:func:`severity` as int8 positions in :data:`SEVERITY_LABELS` (no Python string per unit)."""
    rate = np.asarray(annual_rate_percent, dtype=float)
    codes = np.full(rate.shape, 4, dtype=np.int8)
    codes[rate < 0] = 1
    codes[rate < -0.5] = 2
    codes[rate < -1.0] = 3
    codes[np.isnan(rate)] = 0
    return codes


def severity(annual_rate_percent: np.ndarray) -> np.ndarray:
    """ESPON bands: mild 0 to -0.5 %/yr, moderate -0.5 to -1, severe below -1; else ``none``.

    NaN gives ``""``.

    Examples
    --------
    >>> severity(np.array([-0.2, -0.7, -3.0, 1.0])).tolist()
    ['mild', 'moderate', 'severe', 'none']
    """
    return np.array(SEVERITY_LABELS, dtype=object)[severity_codes(annual_rate_percent)]


#: Pattern names (see the module docstring for the exact definitions).
PATTERNS = ("continuous", "episodic", "new", "recovering", "none", "single period")


#: The labels of :func:`pattern_codes` (``""``: no known period).
PATTERN_LABELS = ("", "single period", "none", "continuous", "new", "recovering", "episodic")


def pattern_of(periods: np.ndarray, flags: Tri | None = None) -> np.ndarray:
    """Pattern of change over the columns of ``periods`` (values at consecutive panel years).

    ``periods`` holds only the panel years to consider, in order (for a census
    panel: the two census years). ``flags``: :func:`decline_flags` of
    ``periods`` if already computed. See the module docstring: a unit with
    a single known period gets ``"single period"``, never ``"continuous"``.

    Examples
    --------
    >>> pattern_of(np.array([[100.0, 90.0, 80.0], [100.0, 90.0, np.nan]])).tolist()
    ['continuous', 'single period']
    """
    return np.array(PATTERN_LABELS, dtype=object)[pattern_codes(periods, flags)]


def pattern_codes(periods: np.ndarray, flags: Tri | None = None) -> np.ndarray:
    """:func:`pattern_of` as int8 positions in :data:`PATTERN_LABELS` (no Python string per unit).

    Up to 64 periods, each unit's periods are the bits of one integer (:func:`_period_bits`), and the pattern
    is a few bit operations per unit; more periods go a period at a time over blocks of units."""
    values = np.asarray(periods, dtype=float)
    n_units = values.shape[0]
    if values.shape[1] < 2:
        return np.zeros(n_units, dtype=np.int8)
    if values.shape[1] - 1 <= 64:
        return _pattern_of_bits(values, flags)
    flags = decline_flags(values) if flags is None else flags
    codes = np.empty(n_units, dtype=np.int8)
    for rows in unit_blocks(n_units):
        codes[rows] = _pattern_block(values[rows], flags.yes[rows, 1:], flags.no[rows, 1:])
    return codes


def _period_bits(n_units: int, n_periods: int, fill: Callable[[np.ndarray], object]) -> np.ndarray:
    """Per unit, a flag per period as the bits of one unsigned integer (period ``p``: bit ``width - 1 - p``, the
    first period the highest bit): ``fill`` writes the flags into a units x periods boolean view of rows padded
    to the width, which pack as one flat array (no per-row packing)."""
    width = next(w for w in (8, 16, 32, 64) if w >= n_periods)
    flags = np.zeros((n_units, width), dtype=bool)
    fill(flags[:, :n_periods])
    return np.packbits(flags.ravel()).view(f">u{width // 8}").astype(f"u{width // 8}")


def _pattern_of_bits(values: np.ndarray, flags: Tri | None) -> np.ndarray:
    """:func:`pattern_codes` with the periods as bits (at most 64 periods)."""
    n_units, n_periods = values.shape[0], values.shape[1] - 1
    before, after = values[:, :-1], values[:, 1:]
    if flags is None:
        down = _period_bits(n_units, n_periods, lambda out: np.less(after, before, out=out))
        finite = np.isfinite(values)
        both = _period_bits(n_units, n_periods, lambda out: np.logical_and(finite[:, :-1], finite[:, 1:], out=out))
        steady = both & ~down  # no decline, both ends known (decline_flags' "no")
    else:
        down = _period_bits(n_units, n_periods, lambda out: np.copyto(out, flags.yes[:, 1:]))
        steady = _period_bits(n_units, n_periods, lambda out: np.copyto(out, flags.no[:, 1:]))
    up = _period_bits(n_units, n_periods, lambda out: np.greater(after, before, out=out))
    one = down.dtype.type(1)
    known = down | steady
    n_known = np.bitwise_count(known)
    latest = known & (~known + one)  # the lowest bit: the latest known period
    last_down, last_up = (down & latest) != 0, (up & latest) != 0
    # a steady period after the first decline: a steady bit below the highest decline bit
    below_first_down = down >> one
    for shift in (1, 2, 4, 8, 16, 32)[: int(np.log2(8 * down.itemsize))]:
        below_first_down |= below_first_down >> down.dtype.type(shift)
    steady_after_down = (steady & below_first_down) != 0
    any_down, any_steady = down != 0, steady != 0
    # the first condition that holds, in PATTERN_LABELS order (episodic: none holds)
    conditions = (n_known == 0, n_known == 1, ~any_down, last_down & ~any_steady, last_down & ~steady_after_down,
                  last_up)
    codes = np.full(n_units, len(conditions), dtype=np.int8)
    for code in range(len(conditions) - 1, -1, -1):
        codes[conditions[code]] = code
    return codes


def _pattern_block(values: np.ndarray, down_flags: np.ndarray, steady_flags: np.ndarray) -> np.ndarray:
    """:func:`pattern_codes` of a block of units, one step per period on years x units copies."""
    n_units = len(values)
    down, steady = np.ascontiguousarray(down_flags.T), np.ascontiguousarray(steady_flags.T)
    by_year = np.ascontiguousarray(values.T)
    n_known = np.zeros(n_units, dtype=np.int32)
    any_down, any_steady = np.zeros(n_units, dtype=bool), np.zeros(n_units, dtype=bool)
    last_down, last_up = np.zeros(n_units, dtype=bool), np.zeros(n_units, dtype=bool)
    # the declines form one run at the end iff no steady period follows the first decline
    steady_after_down = np.zeros(n_units, dtype=bool)
    for period in range(len(down)):
        is_down, is_steady = down[period], steady[period]
        known = is_down | is_steady
        n_known += known
        steady_after_down |= is_steady & any_down
        any_down |= is_down
        any_steady |= is_steady
        # the latest known period: whether it is a decline, a rise
        np.copyto(last_down, is_down, where=known)
        np.copyto(last_up, by_year[period + 1] > by_year[period], where=known)
    any_known = n_known > 0
    # the first condition that holds, in PATTERN_LABELS order (episodic: none holds)
    conditions = (~any_known, n_known == 1, ~any_down, last_down & ~any_steady, last_down & ~steady_after_down,
                  last_up)
    codes = np.full(n_units, len(conditions), dtype=np.int8)
    for code in range(len(conditions) - 1, -1, -1):
        codes[conditions[code]] = code
    return codes
