"""Forecasts, intervals, status probabilities and the rolling-origin backtest (shrinkwatch.forecast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.forecast import backtest, forecast
from shrinkwatch.forecast.methods import damped_fit, linear_trend, loglinear_trend, random_walk
from shrinkwatch.forecast.metrics import brier, coverage, malpe, mape, mase, medape, precision_recall, shelf_life

from conftest import run_cli


def _synthetic(n: int = 60, years: range = range(2000, 2016), seed: int = 1) -> Panel:
    """Units with steady growth or decline plus noise: trends should forecast them well."""
    rng = np.random.default_rng(seed)
    rate = rng.normal(0.0, 0.02, n)
    start = rng.uniform(5e3, 5e5, n)
    t = np.arange(len(years))
    values = start[:, None] * np.exp(rate[:, None] * t[None, :] + rng.normal(0, 0.003, (n, len(years))))
    return Panel.from_series({f"u{i:03d}": v for i, v in enumerate(values)}, years=list(years), id="synthetic")


# -- methods: known answers
def test_linear_series_is_forecast_exactly_by_the_linear_trend():
    levels = np.array([[100.0, 110.0, 120.0, 130.0, 140.0]])
    out = np.exp(linear_trend(np.log(levels), 3, base=4))
    assert out.round(6).tolist() == [[150.0, 160.0, 170.0]]


def test_geometric_series_is_forecast_exactly_by_the_loglinear_trend():
    levels = 100.0 * 1.05 ** np.arange(6)[None, :]
    out = np.exp(loglinear_trend(np.log(levels), 2, base=5))
    np.testing.assert_allclose(out, [[100.0 * 1.05**6, 100.0 * 1.05**7]], rtol=1e-12)


def test_random_walk_is_the_last_value_and_trends_need_two_points():
    logs = np.log(np.array([[5.0, 7.0, 9.0], [np.nan, np.nan, 4.0], [1.0, 2.0, np.nan]]))
    assert np.exp(random_walk(logs, 2))[0].round(6).tolist() == [9.0, 9.0]
    trend = linear_trend(logs, 2, base=2)
    assert np.isnan(trend[1]).all() and np.isnan(trend[2]).all()  # one point; origin missing


def test_linear_trend_skips_gaps_in_the_base_period():
    levels = np.array([[100.0, np.nan, 120.0, 130.0]])
    assert np.exp(linear_trend(np.log(levels), 1, base=3)).round(6).tolist() == [[140.0]]


def test_damped_trend_matches_statsmodels_with_the_same_parameters():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(3)
    series = np.log(1e4 * np.exp(np.cumsum(rng.normal(0.01, 0.02, (5, 12)), axis=1)))
    fit = damped_fit(series)
    ours = fit.forecast(4)
    for i in range(5):
        model = ExponentialSmoothing(series[i], trend="add", damped_trend=True, initialization_method="known",
                                     initial_level=fit.initial_level[i], initial_trend=fit.initial_trend[i])
        theirs = model.fit(smoothing_level=fit.alpha[i], smoothing_trend=fit.beta[i], damping_trend=fit.phi[i],
                           optimized=False).forecast(4)
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-9)


# -- metrics: computed by hand
def test_metrics_by_hand():
    f, a = np.array([110.0, 95.0, 100.0, 120.0]), np.array([100.0, 100.0, 100.0, 100.0])
    # APE 10, 5, 0, 20
    assert mape(f, a) == pytest.approx(8.75)
    assert medape(f, a) == pytest.approx(7.5)
    assert malpe(f, a) == pytest.approx((10 - 5 + 0 + 20) / 4)
    assert mase(f, a, np.array([5.0, 5.0, 1.0, 0.0])) == pytest.approx((2 + 1 + 0) / 3)  # zero scale left out
    assert coverage(a, f - 15, f + 5) == pytest.approx(75.0)  # 100 in [95,115], [80,100], [85,105]; not [105,125]
    assert shelf_life(np.array([1, 2, 3]), np.array([90.0, 80.0, 70.0])) == 2
    assert shelf_life(np.array([5, 10]), np.array([70.0, 90.0])) == 0
    assert brier(np.array([1.0, 0.0, 0.5, 0.25]), np.array([1, 1, 0, 0])) == pytest.approx((0 + 1 + 0.25 + 0.0625) / 4)
    assert precision_recall(np.array([True, True, True, False]), np.array([True, False, False, True])) == (1 / 3, 0.5)


# -- no leakage
def test_backtest_at_an_origin_reads_nothing_after_it():
    panel = _synthetic()
    first = backtest(panel, "census-decline", origins=[2008], max_horizon=3)
    values = panel.values.copy()
    later = values.index.get_level_values("year") > 2011  # after the origin + the scored horizons
    values.loc[later, "pop_resident"] *= 3.0
    changed = Panel(panel.units, values, panel.meta)
    second = backtest(changed, "census-decline", origins=[2008], max_horizon=3)
    pd.testing.assert_frame_equal(first.accuracy, second.accuracy)
    pd.testing.assert_frame_equal(first.status, second.status)
    # and data after the origin do change what is scored beyond it
    values.loc[values.index.get_level_values("year") == 2010, "pop_resident"] *= 2.0
    third = backtest(Panel(panel.units, values, panel.meta), "census-decline", origins=[2008], max_horizon=3)
    assert not first.accuracy["mape"].equals(third.accuracy["mape"])


def test_forecast_made_at_an_origin_ignores_later_years():
    from shrinkwatch.forecast.engine import Forecaster
    from shrinkwatch.forecast.series import history_of

    panel = _synthetic()
    history = history_of(panel)
    spoiled = history.log_values.copy()
    spoiled[:, 9:] += 1.0
    from dataclasses import replace

    a = Forecaster(history, 3).at(8)
    b = Forecaster(replace(history, log_values=spoiled), 3).at(8)
    for method in a:
        np.testing.assert_allclose(a[method], b[method], rtol=1e-12)  # summation order: ulps


# -- forecasts, probabilities and the backtest on a hand-made panel
def test_forecast_probabilities_follow_the_trend():
    panel = _synthetic(n=80)
    result = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=50)
    rates = np.log(panel.matrix("pop_resident")[:, -1] / panel.matrix("pop_resident")[:, -6])
    probability = result.units["probability"].to_numpy()
    assert np.nanmean(probability[rates < -0.05]) > 0.8 > 0.2 > np.nanmean(probability[rates > 0.05])
    inside = (result.units["lower"] <= result.units["forecast_2018"]) & (result.units["forecast_2018"]
                                                                          <= result.units["upper"])
    assert inside.all()
    assert (result.watchlist["status_now"] == "not shrinking").all()
    assert result.watchlist["probability"].is_monotonic_decreasing
    assert set(result.paths.columns) >= {"random_walk", "linear", "loglinear", "damped", "boosted", "combined"}


def test_backtest_tables_have_the_baselines_beside_the_methods():
    result = backtest(_synthetic(), "census-decline", origins=[2009, 2010], max_horizon=4)
    assert set(result.accuracy["method"]) == {"random_walk", "linear", "loglinear", "damped", "boosted", "combined"}
    assert set(result.status["predictor"]) == {"forecast", "persistence", "base_rate"}
    h4 = result.comparison(4)
    assert h4["mape_linear"] < h4["mape_random_walk"]  # steady trends: the trend beats the random walk
    assert (result.coverage["nominal"] == 80.0).all()


def test_a_unit_with_missing_history_gets_no_probability():
    panel = _synthetic(n=40)
    values = panel.values.copy()
    values.loc[("u000", slice(None)), "pop_resident"] = np.nan
    result = forecast(Panel(panel.units, values, panel.meta), "census-decline", horizon=2, draws=20)
    assert np.isnan(result.units.loc["u000", "probability"])
    assert result.units.loc["u000", "status_now"] == "insufficient data"


# -- hostile cases
def test_hostile_inputs_are_refused_with_the_option_named():
    panel = _synthetic(n=30)
    with pytest.raises(OptionError, match="composite-index"):
        forecast(panel, "composite-index")
    with pytest.raises(OptionError, match="--horizon 0"):
        forecast(panel, "census-decline", horizon=0)
    with pytest.raises(OptionError, match="origin 1999"):
        backtest(panel, "census-decline", origins=[1999])
    with pytest.raises(OptionError, match="origin 2015"):
        backtest(panel, "census-decline", origins=[2015])
    short = Panel.from_series({"a": [1.0, 2.0]}, years=[2010, 2020])
    with pytest.raises(DataError, match="at least three observed years"):
        forecast(short, "census-decline")
    decennial = Panel.from_series({f"u{i}": [100.0 + i, 110.0, 120.0, 125.0, 130.0] for i in range(40)},
                                  years=[1970, 1980, 1990, 2000, 2010])
    with pytest.raises(OptionError, match="multiple of 10"):
        forecast(decennial, "census-decline", horizon=5)


def test_cli_hostile_options(tmp_path):
    result = run_cli("backtest", "--dataset", "us-county-est", "--standard", "census-decline", "-o",
                     str(tmp_path / "bt"), "--origins", "20x3")
    assert result.returncode == 2 and "--origins" in result.stderr
    result = run_cli("forecast", "--dataset", "us-county-est", "--standard", "no-such-standard")
    assert result.returncode == 2 and "no-such-standard" in result.stderr


# -- real data
@pytest.mark.slow
def test_us_counties_goal_at_five_years(data_dir, tmp_path):
    result = run_cli("backtest", "--dataset", "us-county-est", "--standard", "census-decline", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    accuracy = pd.read_csv(tmp_path / "accuracy.csv")
    status = pd.read_csv(tmp_path / "status.csv")
    cover = pd.read_csv(tmp_path / "coverage.csv")
    at5 = accuracy[accuracy["horizon"] == 5].set_index("method")
    assert at5.loc["random_walk", "n"] == 2 * 3142  # origins 2013 and 2014 reach 2018 and 2019
    # measured: combined MAPE 2.81 / MedAPE 1.89, random walk 3.60 / 2.70, linear 3.14 / 2.10
    for metric in ("mape", "medape"):
        assert at5.loc["combined", metric] < at5.loc["random_walk", metric]
        assert at5.loc["combined", metric] < at5.loc["linear", metric]
    brier5 = status[status["horizon"] == 5].set_index("predictor")["brier"]
    # measured: forecast 0.117, persistence 0.161, base rate 0.249
    assert brier5["forecast"] < brier5["persistence"] < brier5["base_rate"]
    assert (cover["coverage"] - cover["nominal"]).abs().max() <= 5.0  # measured 77.0-80.4 for 80%
    assert (tmp_path / "shelf_life.csv").exists()


@pytest.mark.slow
def test_us_cities_and_world_backtests_run(data_dir):
    from shrinkwatch.datasets import load

    cities = backtest(load("us-city-census"), "census-decline", origins=[1990], max_horizon=10)
    c10 = cities.comparison(10)
    # the status probabilities beat persistence on decennial cities (measured 0.21 vs 0.29 over 1950-1990)
    assert c10["brier_forecast"] < c10["brier_persistence"]
    world = backtest(load("world-wup2018"), "consecutive-decline", origins=[2008], max_horizon=3)
    w3 = world.comparison(3)
    assert world.accuracy["horizon"].max() == 3  # never past 2011 from 2008: estimates only
    # measured over origins 1998-2008 at 5 years: combined MAPE 3.57 vs random walk 12.10 and linear 5.00
    assert w3["mape_combined"] < w3["mape_random_walk"]


# -- one judgement of a year: the forecasts' status is the status timeline's
@pytest.mark.parametrize("standard, settings", [("consecutive-decline", {"n": 2}), ("census-decline", {}),
                                                ("peak-loss", {})])
def test_status_at_a_year_is_the_timelines(standard, settings):
    """StatusRule.status judges a year as the status timeline does (identification.engine.judge, no stable
    clusters): the same status in every as-of year, boundary_change (no verdict) across the 2013 merger."""
    from shrinkwatch.forecast.status import status_rule
    from shrinkwatch.identification.timeline import timeline

    years = list(range(2010, 2017))
    links = pd.DataFrame({"unit_id": ["B"], "other_id": ["A"], "year": [2013], "kind": ["partial_transfer"]})
    breaks = pd.DataFrame({"unit_id": ["A", "B", "C"], "year": [2013] * 3, "treatment": ["partial_transfer"] * 3})
    panel = Panel.from_series({"A": [100, 99, 98, 60, 59, 58, 57], "B": [50, 51, 52, 95, 96, 97, 98],
                               "C": [10, 9, 8, 7, 6, 5, 4], "D": [5, 6, 7, 8, 9, 10, 11],
                               "E": [5, np.nan, 7, 6, np.nan, 5, 4]},
                              years=years, territory_links=links, boundary_breaks=breaks)
    expected = timeline(panel, standard, settings, stable_clusters=False)
    rule = status_rule(panel, standard, settings)
    kernel = rule.kernel(panel)
    words = np.array(["shrinking", "not_shrinking", "no verdict"], dtype=object)
    for year in expected.years:
        verdict = rule.status(panel, year, kernel)
        mine = words[np.where(verdict.yes, 0, np.where(verdict.no, 1, 2))]
        theirs = expected.status[year].astype(str).replace({"insufficient_data": "no verdict",
                                                            "boundary_change": "no verdict"})
        assert mine.tolist() == theirs.tolist(), year
    assert (expected.status.loc["C"].astype(str) == "boundary_change").any()


# -- scale: samples above a size, identical results below it
def _naive_training_rows(history, origin, steps, base):
    """The boosted model's training rows stacked in full, as the model once built them (the reference)."""
    from shrinkwatch.forecast.boosted import FEATURE_STEPS, features_at

    rows_x, rows_y = [], []
    for column in range(max(1, origin - FEATURE_STEPS), origin):
        features = features_at(history, column, base)
        for k in range(1, min(origin - column, steps) + 1):
            target = (history.log_values[:, column + k] - history.log_values[:, column]) / (k * history.step)
            keep = np.isfinite(target) & np.isfinite(features[:, 3])
            rows_x.append(np.hstack([features[keep], np.full((int(keep.sum()), 1), float(k * history.step))]))
            rows_y.append(target[keep])
    return np.vstack(rows_x), np.concatenate(rows_y)


def test_boosted_training_rows_are_all_rows_below_the_cap_and_a_seeded_sample_above(monkeypatch):
    from shrinkwatch.forecast import boosted as boosted_module
    from shrinkwatch.forecast.series import history_of

    panel = _synthetic(n=40)
    values = panel.values.copy()
    values.iloc[::7, 0] = np.nan  # gaps: some feature years and targets have no row
    history = history_of(Panel(panel.units, values, panel.meta))
    full_x, full_y = _naive_training_rows(history, 12, 3, 5)
    x, y = boosted_module._training_rows(history, 12, 3, 5, seed=0)
    assert len(y) <= boosted_module.MAX_TRAINING_ROWS
    np.testing.assert_array_equal(x, full_x)  # below the cap: every row, in the same order
    np.testing.assert_array_equal(y, full_y)
    cap = len(full_y) // 3
    monkeypatch.setattr(boosted_module, "MAX_TRAINING_ROWS", cap)
    x1, y1 = boosted_module._training_rows(history, 12, 3, 5, seed=4)
    x2, y2 = boosted_module._training_rows(history, 12, 3, 5, seed=4)
    x3, _ = boosted_module._training_rows(history, 12, 3, 5, seed=5)
    assert len(y1) == cap
    np.testing.assert_array_equal(x1, x2)  # the same seed draws the same rows
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    pick = np.random.default_rng(4).choice(len(full_y), cap, replace=False)  # the rows drawn from the full stack
    np.testing.assert_array_equal(x1, full_x[pick])
    np.testing.assert_array_equal(y1, full_y[pick])


def test_forecast_calibrates_on_a_seeded_sample_above_the_cap_and_on_all_units_below(monkeypatch):
    from shrinkwatch.forecast import engine

    panel = _synthetic(n=60)
    whole = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    monkeypatch.setattr(engine, "CALIBRATION_UNITS", 60)  # at the cap: still every unit
    at_cap = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    pd.testing.assert_frame_equal(at_cap.units, whole.units)
    pd.testing.assert_frame_equal(at_cap.skill, whole.skill)
    assert at_cap.notes == whole.notes
    monkeypatch.setattr(engine, "CALIBRATION_UNITS", 25)
    first = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    again = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    pd.testing.assert_frame_equal(first.units, again.units)  # deterministic for the seed
    pd.testing.assert_frame_equal(first.skill, again.skill)
    assert len(first.units) == 60 and first.units["probability"].notna().all()  # every unit is forecast
    # the forecasts at the origin do not depend on the sample; the intervals' calibration does
    np.testing.assert_array_equal(first.paths["combined"], whole.paths["combined"])
    assert not first.units["lower"].equals(whole.units["lower"])
    scored = first.skill["n"].iloc[0]
    assert 0 < scored <= 3 * 25 < whole.skill["n"].iloc[0]  # three origins x the sample's units, not x 60
    assert "seeded sample of 25 of the 60 units" in first.notes[-1]


def test_simulated_paths_judged_in_blocks_are_judged_as_all_at_once(monkeypatch):
    from shrinkwatch.forecast import engine, status

    panel = _synthetic(n=30)
    whole = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    monkeypatch.setattr(status, "SIMULATED_PER_BLOCK", 50)  # 2 units a block inside simulated
    monkeypatch.setattr(engine, "SIMULATED_PER_BLOCK", 140)  # 7 units a block in the engine
    blocks = forecast(panel, "consecutive-decline", {"n": 3}, horizon=3, draws=20)
    pd.testing.assert_frame_equal(blocks.paths, whole.paths)
    pd.testing.assert_frame_equal(blocks.skill, whole.skill)


def test_damped_fits_from_one_pass_are_the_fits_of_the_cut_series():
    from shrinkwatch.forecast.methods import damped_fits, damped_trend

    rng = np.random.default_rng(3)
    values = np.log(rng.uniform(1e3, 1e5, (50, 12)))
    values[rng.random(values.shape) < 0.15] = np.nan  # gaps
    values[:5, :6] = np.nan  # late starters: no fit until their second value
    values[5:8, :-1] = np.nan  # one value only, at the end
    fits = damped_fits(values, range(values.shape[1]))
    for column in range(values.shape[1]):
        cut = values[:, : column + 1]
        one_pass = np.where(np.isfinite(cut[:, -1:]), fits[column].forecast(4), np.nan)
        np.testing.assert_array_equal(one_pass, damped_trend(cut, 4))  # bit for bit, NaN where the cut has none
    assert np.isnan(fits[5].level[:5]).all() and np.isfinite(fits[11].level[:5]).all()


def test_damped_fits_in_blocks_are_the_fits_of_all_series_at_once(monkeypatch):
    from shrinkwatch.forecast import methods

    rng = np.random.default_rng(5)
    values = np.log(rng.uniform(1e3, 1e5, (103, 15)))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:4, :9] = np.nan  # late starters
    values[4:6] = np.nan  # no value at all
    whole = methods.damped_fits(values, [3, 9, 14])  # one block: 103 series <= DAMPED_BLOCK
    monkeypatch.setattr(methods, "DAMPED_BLOCK", 10)  # 11 blocks, the last of 3 series
    blocks = methods.damped_fits(values, [14, 3, 9])
    assert list(blocks) == [3, 9, 14] and list(whole) == [3, 9, 14]
    for column, fit in whole.items():
        for name in ("alpha", "beta", "phi", "level", "trend", "initial_level", "initial_trend", "first"):
            np.testing.assert_array_equal(getattr(blocks[column], name), getattr(fit, name))  # bit for bit
    assert np.isfinite(whole[14].level).sum() == 103 - 2


def _judged_on_a_long_panel(rule, history_years, history_levels, target_years, paths):
    """The reference: simulated paths as the units of a long (unit, year) panel judged by the rule's kernel of that
    panel (as StatusRule.simulated judged them before Kernel.of_grid)."""
    from shrinkwatch.core.meta import PanelMeta

    n_units, draws, n_targets = paths.shape
    years = [int(y) for y in history_years] + [int(y) for y in target_years]
    levels = np.concatenate([np.repeat(history_levels[:, None, :], draws, axis=1), paths], axis=2)
    ids = pd.RangeIndex(n_units * draws, name="unit_id")
    index = pd.MultiIndex.from_product([ids, years], names=["unit_id", "year"])
    values = pd.DataFrame({rule.indicator: levels.reshape(-1)}, index=index)
    units = pd.DataFrame({"name": np.zeros(len(ids), dtype=np.int8)}, index=ids)
    simulated = Panel(units, values, PanelMeta(id="simulated", census_years=rule.census_years))
    kernel = rule.kernel(simulated)
    yes = np.zeros((n_units, draws, n_targets), dtype=bool)
    known = np.zeros_like(yes)
    for j, year in enumerate(target_years):
        verdict = kernel.verdict(rule.parameters_at(kernel, year))
        yes[:, :, j] = verdict.yes.reshape(n_units, draws)
        known[:, :, j] = verdict.known.reshape(n_units, draws)
    return yes, known


@pytest.mark.parametrize("standard, settings", [("census-decline", {}), ("consecutive-decline", {"n": 2}),
                                                ("peak-loss", {}), ("scirn", {"min_population": 0})])
def test_simulated_paths_are_judged_as_the_units_of_a_long_panel(standard, settings):
    """StatusRule.simulated (a kernel of the paths' year grid) gives the verdicts of the kernel of the long panel
    whose units are the paths, for every forecastable rule: annual and decennial census histories with gaps,
    paths with NaN, zeros and crashes."""
    from shrinkwatch.forecast.status import status_rule

    rng = np.random.default_rng(7)
    cases = [(_synthetic(n=12, years=range(2000, 2012)), 1),
             (Panel.from_series({f"u{i}": rng.uniform(50, 150, 6) for i in range(9)}, years=[1960, 1970, 1980, 1990,
                                2000, 2010], census_years=[1960, 1970, 1980, 1990, 2000, 2010]), 10)]
    for panel, step in cases:
        rule = status_rule(panel, standard, settings)
        levels = panel.matrix(rule.indicator).copy()
        levels[1, -2] = np.nan  # a gap in a history
        levels[2, :] = np.nan  # a unit without values
        history_years = np.array(panel.years)
        targets = [panel.years[-1] + step * k for k in (1, 2, 3)]
        paths = levels[:, -1:, None] * np.exp(rng.normal(0, 0.1, (len(levels), 15, 3)))
        paths[0, :3, 1] = np.nan
        paths[3, :4, 0] = 0.0
        paths[4, :5, :] *= 0.5
        yes, known = rule.simulated(history_years, levels, targets, paths)
        expected = _judged_on_a_long_panel(rule, history_years, levels, targets, paths)
        np.testing.assert_array_equal(yes, expected[0])
        np.testing.assert_array_equal(known, expected[1])
        assert not known[2].any()  # no history: insufficient data on every path
        if (standard, step) == ("consecutive-decline", 10):
            assert not known.any()  # no annual decline is seen between censuses: insufficient data
        else:  # peak-loss's recent annual declines are never ruled out between censuses: no 'no' there
            assert yes.any() and ((known & ~yes).any() or (standard, step) == ("peak-loss", 10))
        with pytest.raises(OptionError, match="history and target years must be distinct"):
            rule.simulated(history_years, levels, [panel.years[-1]], paths[:, :, :1])


def test_boosted_models_fitted_ahead_two_at_a_time_are_the_models_fitted_alone():
    from shrinkwatch.forecast import engine
    from shrinkwatch.forecast.series import history_of

    history = history_of(_synthetic(n=80, years=range(2000, 2020)))
    alone, ahead = engine.Forecaster(history, 3), engine.Forecaster(history, 3)
    origins = (8, 12, 16, 18)
    with engine._fits_ahead([(ahead, c) for c in origins]):
        assert set(ahead._fitting) == set(origins)
        made = {c: ahead.at(c) for c in reversed(origins)}
    assert not ahead._fitting
    for c in origins:
        assert np.isfinite(made[c]["boosted"]).all()
        for method, values in alone.at(c).items():
            np.testing.assert_array_equal(made[c][method], values)
    assert engine.FIT_WORKERS >= 1


def test_a_fit_cancelled_before_it_started_is_made_when_asked():
    """Leaving :func:`_fits_ahead` cancels the fits not started; asked for later, they are made then (the same
    forecasts), not a CancelledError."""
    from concurrent.futures import Future

    from shrinkwatch.forecast import engine
    from shrinkwatch.forecast.series import history_of

    history = history_of(_synthetic(n=80, years=range(2000, 2020)))
    alone, ahead = engine.Forecaster(history, 3), engine.Forecaster(history, 3)
    cancelled: Future = Future()
    assert cancelled.cancel()
    ahead._fitting[12] = cancelled  # as a pool shut down before starting it leaves it
    np.testing.assert_array_equal(ahead.at(12)["boosted"], alone.at(12)["boosted"])
    assert not ahead._fitting
