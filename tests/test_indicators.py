"""Indicators: hand-computed values, edge cases (ties, gaps, series start and end, NaN)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification.indicators import (
    TAPIO_STATES,
    Tri,
    annual_rate,
    benchmark_growth,
    classify,
    consecutive_decline,
    decline_flags,
    decline_runs,
    declines_within,
    elasticity,
    entropy_weights,
    normalise,
    pattern_of,
    peak_loss,
    run_lengths,
    severity,
    tapio_state,
    tri_and,
    tri_or,
    window_growth,
    year_grid,
)

NAN = np.nan


def _panel(rows: dict[str, list[float]], years: list[int]) -> Panel:
    """A one-indicator panel (``pop``) of hand-made series."""
    return Panel.from_series(rows, years, indicator="pop", id="hand")


# ---------------------------------------------------------------- grid

def test_year_grid_fills_missing_calendar_years_and_keeps_unit_order():
    panel = _panel({"b": [1.0, 2.0, 3.0], "a": [4.0, NAN, 6.0]}, [2010, 2012, 2015])
    grid = year_grid(panel, "pop")
    assert grid.years.tolist() == list(range(2010, 2016))
    assert grid.in_panel.tolist() == [True, False, True, False, False, True]
    assert grid.values[0, [0, 2, 5]].tolist() == [1.0, 2.0, 3.0]
    assert np.isnan(grid.values[1, 2]) and grid.values[1, 5] == 6.0
    assert np.isnan(grid.values[:, 1]).all()
    with pytest.raises(OptionError, match="'year': year 2011 is not in the panel"):
        grid.column(2011)
    with pytest.raises(DataError, match="'gdp' is not in panel"):
        year_grid(panel, "gdp")


def test_year_grid_with_units_missing_from_values():
    units = pd.DataFrame({"name": ["x", "y"]}, index=pd.Index(["x", "y"], name="unit_id"))
    grid = year_grid(Panel.from_series({"y": [5.0, 4.0]}, [2000, 2001], indicator="pop", units=units), "pop")
    assert np.isnan(grid.values[0]).all() and grid.values[1].tolist() == [5.0, 4.0]


# ---------------------------------------------------------------- rates and declines

def test_annual_rate_formula_and_undefined_cases():
    assert annual_rate(100.0, 121.0, 2) == pytest.approx(0.1)
    assert annual_rate(200.0, 100.0, 10) == pytest.approx(0.5 ** 0.1 - 1)
    rates = annual_rate(np.array([0.0, NAN, 100.0, 100.0]), np.array([10.0, 10.0, NAN, 100.0]), 5)
    assert np.isnan(rates[:3]).all() and rates[3] == 0.0


def test_decline_flags_ties_nan_and_threshold():
    values = np.array([[100.0, 99.0, 99.0, NAN, 98.0, 97.0]])
    flags = decline_flags(values)
    assert flags.yes[0].tolist() == [False, True, False, False, False, True]
    assert flags.no[0].tolist() == [False, False, True, False, False, False]  # equal is a known non-decline
    # NaN is never a decline, and never a known non-decline either
    assert not flags.yes[0, 3] and not flags.no[0, 3] and not flags.yes[0, 4] and not flags.no[0, 4]
    strict = decline_flags(np.array([[100.0, 99.5, 98.0]]), min_loss=0.01)
    assert strict.yes[0].tolist() == [False, False, True]


def test_run_lengths_and_decline_runs():
    values = np.array([
        [10.0, 9, 8, 9, 8, 7, 6],     # runs 2 then 3 (latest, longest ending 2016)
        [10.0, 9, 8, 7, 8, 9, 10],    # longest 3 ending 2013, latest 0
        [10.0, 9, NAN, 8, 7, 6, 5],   # a missing year breaks the run
        [5.0, 5, 5, 5, 5, 5, 5],      # flat: no declines
        [NAN] * 7,
    ])
    years = np.arange(2010, 2017)
    flags = decline_flags(values)
    assert run_lengths(flags.yes)[0].tolist() == [0, 1, 2, 0, 1, 2, 3]
    runs = decline_runs(flags, years, 6)
    assert runs.longest.tolist() == [3, 3, 3, 0, 0]
    assert runs.latest.tolist() == [3, 0, 3, 0, 0]
    assert runs.longest_end[:3].tolist() == [2016.0, 2013.0, 2016.0]
    assert np.isnan(runs.longest_end[3:]).all()
    # evaluated earlier: only the columns up to the evaluation year count
    early = decline_runs(flags, years, 3)
    assert early.longest.tolist() == [2, 3, 1, 0, 0] and early.latest.tolist() == [0, 3, 0, 0, 0]


def test_tied_longest_runs_report_the_latest_end():
    flags = decline_flags(np.array([[10.0, 9, 8, 9, 8, 7]]))
    assert decline_runs(flags, np.arange(2000, 2006), 5).longest_end.tolist() == [2005.0]


def test_consecutive_decline_three_valued():
    values = np.array([
        [10.0, 9, 8, 7],      # yes
        [10.0, 9, 9, 8],      # tie in the window: known no
        [10.0, NAN, 8, 7],    # gap, no known rise: unknown
        [NAN, 9, 10, 9],      # a known rise decides it despite the gap: no
        [10.0, 9, 8, NAN],    # missing at the evaluation year: unknown
    ])
    tri = consecutive_decline(decline_flags(values), 3, 3)
    assert tri.yes.tolist() == [True, False, False, False, False]
    assert tri.no.tolist() == [False, True, False, True, False]
    # a window reaching before the series start can never be a certain yes
    short = consecutive_decline(decline_flags(values[:1]), 3, 4)
    assert not short.yes[0] and not short.no[0]


def test_declines_within_window():
    values = np.array([
        [10.0, 9, 8, 7, 8, 9, 10, 11],   # 3 declines 2001-2003, outside the last 5 years (2003-2007)
        [10.0, 11, 12, 13, 12, 11, 10, 11],  # 3 declines 2004-2006: inside
        [10.0, 11, 12, 13, NAN, 11, 10, 9],  # 2 known declines and a gap: undecided
    ])
    tri = declines_within(decline_flags(values), 7, 3, 5)
    assert tri.yes.tolist() == [False, True, False]
    assert tri.no.tolist() == [True, False, False]
    with pytest.raises(OptionError):
        declines_within(decline_flags(values), 7, 6, 5)


def test_peak_loss_window_and_completeness():
    panel = _panel({"a": [100.0, 90, 80, 79], "b": [50.0, NAN, 60, 55], "c": [NAN, NAN, NAN, 10]},
                   [2000, 2001, 2002, 2003])
    grid = year_grid(panel, "pop")
    result = peak_loss(grid, 3, 30)
    assert result.ratio[0] == pytest.approx(0.79) and result.peak_year[0] == 2000
    assert result.complete.tolist() == [True, False, False]
    assert result.ratio[1] == pytest.approx(55 / 60) and result.ratio[2] == pytest.approx(1.0)
    # a 2-year window sees only 2002-2003
    assert peak_loss(grid, 3, 2).ratio[0] == pytest.approx(79 / 80)


def test_window_growth_and_benchmarks():
    panel = _panel({"a": [100.0, 110.0], "b": [100.0, 130.0], "c": [NAN, 1000.0]}, [2010, 2011])
    grid = year_grid(panel, "pop")
    assert window_growth(grid, 0, 1)[:2] == pytest.approx([0.1, 0.3])
    assert np.isnan(window_growth(grid, 0, 1)[2])
    # the aggregate uses only units observed at both ends
    assert benchmark_growth(grid, 0, 1) == pytest.approx(0.2)
    assert benchmark_growth(grid, 0, 1, {2010: 50.0, 2011: 55.0}) == pytest.approx(0.1)
    with pytest.raises(DataError, match="2011"):
        benchmark_growth(grid, 0, 1, {2010: 50.0})


# ---------------------------------------------------------------- Tapio, severity

def test_tapio_every_state_of_the_table():
    dp = np.array([0.1, 0.1, 0.1, 0.1, -0.1, -0.1, -0.1, -0.1, 0.0, NAN, 0.1])
    dl = np.array([0.05, 0.1, 0.2, -0.05, 0.05, -0.2, -0.1, -0.05, 0.1, 0.1, 0.0])
    states = tapio_state(dp, dl).tolist()
    assert states[:8] == list(TAPIO_STATES)
    assert states[8:] == ["", "", ""]
    e = elasticity(dl, dp)
    assert e[:3] == pytest.approx([0.5, 1.0, 2.0]) and np.isnan(e[8])
    # coupling bands are inclusive at 0.8 and 1.2
    assert tapio_state(np.array([0.1, 0.1]), np.array([0.08, 0.12])).tolist() == ["expansive coupling"] * 2


def test_severity_bands_boundaries():
    rates = np.array([0.0, -0.0001, -0.5, -0.5001, -1.0, -1.0001, NAN, 2.0])
    assert severity(rates).tolist() == ["none", "mild", "mild", "moderate", "moderate", "severe", "", "none"]


# ---------------------------------------------------------------- pattern

@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([10, 9, 8, 7], "continuous"),
        ([10, 11, 12, 11], "new"),
        ([10, 11, 10, 9], "new"),
        ([10, 9, 10, 9], "episodic"),
        ([10, 9, 9, 9], "episodic"),
        ([10, 9, 10, 11], "recovering"),
        ([10, 11, 12, 12], "none"),
        ([10, 9, NAN, 8], "single period"),  # the gap leaves one known period (10 -> 9)
        ([10, 9, 8, NAN, 7], "continuous"),
        ([10, 11, NAN, 10], "single period"),  # gaps are not bridged: only 10 -> 11 is a known period
        ([NAN, NAN, NAN, 8], ""),
        ([10, 9], "single period"),  # a single (census) period: no pattern through time
        ([10, 11], "single period"),
        ([10, 9, 8], "continuous"),  # two periods, both declines
    ],
)
def test_pattern_definitions(series, expected):
    assert pattern_of(np.array([series], dtype=float)).tolist() == [expected]


def test_pattern_of_single_year_is_empty():
    assert pattern_of(np.array([[5.0], [6.0]])).tolist() == ["", ""]


# ---------------------------------------------------------------- three-valued logic

def test_kleene_and_or():
    yes = Tri(np.array([True, False, False]), np.array([False, True, False]))
    unknown = Tri.unknown(3)
    both = tri_and(yes, unknown)
    assert both.yes.tolist() == [False] * 3 and both.no.tolist() == [False, True, False]
    either = tri_or(yes, unknown)
    assert either.yes.tolist() == [True, False, False] and either.no.tolist() == [False] * 3
    assert np.isnan(Tri.of(np.array([True]), np.array([False])).as_float()[0])


# ---------------------------------------------------------------- composite helpers

def test_entropy_weights_match_the_formula():
    x = np.array([[0.2, 0.9, 0.5], [0.4, 0.1, 0.5], [1.0, 0.5, 0.5], [0.0, 0.3, 0.5]])
    n = len(x)
    p = x / x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=0) / np.log(n)
    expected = (1 - e) / (1 - e).sum()
    assert entropy_weights(x) == pytest.approx(expected)
    assert entropy_weights(x)[2] == pytest.approx(0.0)  # a constant column carries no information
    with pytest.raises(DataError):
        entropy_weights(-x)


def test_normalise_and_classify():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, NAN]])
    minmax = normalise(x, "minmax")
    assert minmax[:, 0].tolist() == [0.0, 1.0, 0.5] and minmax[:2, 1].tolist() == [0.0, 0.0]
    assert np.isnan(minmax[2, 1])
    z = normalise(x, "z")
    assert np.nanmean(z[:, 0]) == pytest.approx(0.0)
    with pytest.raises(OptionError):
        normalise(x, "rank")
    scores = np.arange(10, dtype=float)
    assert classify(scores, 5).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    breaks = classify(np.array([1.0, 1.1, 1.2, 5.0, 5.1, 9.0, NAN]), 3, "natural_breaks", seed=1)
    assert breaks.tolist() == [0, 0, 0, 1, 1, 2, -1]


# ---------------------------------------------------------------- properties

@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 9)),
                  elements=st.one_of(st.just(np.nan), st.floats(1, 1e6))))
def test_runs_never_exceed_known_declines_and_nan_breaks_them(values):
    flags = decline_flags(values)
    runs = run_lengths(flags.yes)
    assert (runs <= np.arange(values.shape[1])).all()
    assert not (flags.yes & flags.no).any()
    # a NaN at column j means no run covers j or j+1
    nan = np.isnan(values)
    assert (runs[nan] == 0).all()
    assert (runs[:, 1:][nan[:, :-1]] == 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1, 1e6), min_size=2, max_size=12, unique=True))
def test_strictly_increasing_series_has_no_decline_and_pattern_none(values):
    series = np.sort(np.array(values))[None, :]
    flags = decline_flags(series)
    assert not flags.yes.any()
    assert pattern_of(series).tolist() == ["none" if series.shape[1] > 2 else "single period"]


def test_loss_ranks_equal_decline_flags_at_every_threshold():
    """The rank of a change among the thresholds is exact, also for thresholds a rounding step away from the
    change's own loss (issue 15: the sweep reads every threshold's declines from it)."""
    from shrinkwatch.identification.indicators import loss_ranks

    rng = np.random.default_rng(7)
    values = np.round(rng.lognormal(5, 1, (3000, 10)) * rng.choice([1.0, 0.99, 0.95, 1.01], (3000, 10)))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:10, 3] = 0.0
    values[10:20, 4] = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = (1 - values[:, 1:] / values[:, :-1]).ravel()
    losses = rng.choice(losses[np.isfinite(losses) & (losses > 0) & (losses < 1)], 20)
    thresholds = np.sort(np.concatenate([losses, np.nextafter(losses, 1), np.nextafter(losses, 0),
                                         rng.random(20) * 0.1, [0.0, 0.0, 0.01, 1.0]]))
    ranks = loss_ranks(values, thresholds, chunk_rows=777)
    for i, threshold in enumerate(thresholds):
        with np.errstate(invalid="ignore"):  # inf x 0 in decline_flags: not a decline
            assert np.array_equal(decline_flags(values, threshold).yes, ranks > i), threshold
