"""Sensitivity sweeps: counts per combination agree with identify; robustness classes; CLI."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from shrinkwatch import datasets
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification import identify, kernel_class
from shrinkwatch.identification.sensitivity import parse_vary, sweep, sweep_bytes
from shrinkwatch.report.charts import sensitivity_chart

from conftest import run_cli


def test_parse_vary_lists_and_ranges():
    assert parse_vary(["n=1,2, 3"]) == {"n": ["1", "2", "3"]}
    assert parse_vary(["r=0.7:0.8:0.05"]) == {"r": ["0.7", "0.75", "0.8"]}
    for bad in (["n"], ["n="], ["r=1:0:0.1"], ["r=a:b:c"]):
        with pytest.raises(OptionError, match="--vary"):
            parse_vary(bad)
    with pytest.raises(OptionError, match="twice"):
        parse_vary(["n=1", "n=2"])


def test_sweep_matches_identify_for_every_combination(toy_panel):
    panel = toy_panel
    vary = {"n": [1, 2, 3, 4, 5], "min_annual_loss": [0.0, 0.005, 0.02]}
    result = sweep(panel, "consecutive-decline", vary)
    assert result.combinations == 15
    for row in result.counts.itertuples():
        counts = identify(panel, "consecutive-decline", {"n": row.n, "min_annual_loss": row.min_annual_loss}).counts()
        assert (row.shrinking, row.not_shrinking, row.insufficient_data) == (
            counts["shrinking"], counts["not_shrinking"], counts["insufficient_data"])
    units = result.units
    assert units.loc["steady_fall", "robustness"] == "borderline"  # 1 %/yr falls fail the 2 % threshold
    assert units.loc["rise", "robustness"] == "never" and units.loc["rise", "share"] == 0
    assert units.loc["missing", "robustness"] == "insufficient_data" and np.isnan(units.loc["missing", "share"])
    assert units.loc["missing", "evaluable"] == 0
    assert result.summary() == units["robustness"].value_counts().reindex(
        ["robust", "borderline", "never", "insufficient_data", "boundary_change"], fill_value=0).to_dict()


def test_robust_unit_and_base_settings(toy_panel):
    panel = toy_panel
    result = sweep(panel, "consecutive-decline", {"n": [1, 2, 3]}, {"min_annual_loss": "0.005"})
    assert result.units.loc["steady_fall", "robustness"] == "robust"
    assert result.units.loc["slow_fall", "robustness"] == "never"  # 0.1 %/yr falls are below 0.5 %
    assert result.base["min_annual_loss"] == 0.005


def test_sweep_errors_name_the_parameter(toy_panel):
    panel = toy_panel
    with pytest.raises(OptionError, match="unknown parameter 'N'"):
        sweep(panel, "consecutive-decline", {"N": [1]})
    with pytest.raises(OptionError, match="'n'"):
        sweep(panel, "consecutive-decline", {"n": ["x"]})
    with pytest.raises(OptionError, match="at least one"):
        sweep(panel, "consecutive-decline", {})


def test_chart_is_an_svg_with_one_panel_per_parameter(toy_panel):
    result = sweep(toy_panel, "peak-loss", {"peak_ratio": [0.8, 0.9, 1.0], "decline_years": [1, 2, 3]})
    svg = sensitivity_chart(result).svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("peak ratio") >= 1 and svg.count("years of decline") >= 1  # plain names, as text
    assert "peak_ratio" not in svg


@pytest.fixture(scope="module")
def county_panel(data_dir) -> Panel:
    return datasets.load("us-county-est", data_dir)


@pytest.mark.slow
def test_thousand_combination_sweep_on_us_counties(county_panel):
    vary = {"n": list(range(1, 11)), "min_annual_loss": [round(x, 5) for x in np.linspace(0, 0.0099, 100)]}
    start = time.perf_counter()
    result = sweep(county_panel, "consecutive-decline", vary)
    elapsed = time.perf_counter() - start
    assert result.combinations == 1000
    assert elapsed < 2.0  # the benchmark's goal is 0.5 s; a loose bound here against regressions
    base = result.counts.set_index(["n", "min_annual_loss"]).loc[(3, 0.0)]
    assert base["shrinking"] == identify(county_panel, "consecutive-decline").counts()["shrinking"] == 896
    # counts can only fall as n or the loss threshold rises
    table = result.counts.pivot(index="n", columns="min_annual_loss", values="shrinking")
    assert (np.diff(table.to_numpy(), axis=0) <= 0).all() and (np.diff(table.to_numpy(), axis=1) <= 0).all()
    # n = 1 with no threshold: shrinking in 2019 alone; robust units fell in every one of 2010-2019's 9 changes
    assert result.units["robustness"].eq("insufficient_data").sum() == 0
    wide = county_panel.values["pop_resident"].unstack("year")
    assert table.loc[1, 0.0] == int((wide[2019] < wide[2018]).sum())
    robust = set(result.units.index[result.units["robustness"] == "robust"])
    big_falls = (wide.diff(axis=1).iloc[:, 1:].div(wide.iloc[:, :-1].to_numpy()) < -0.0099).all(axis=1)
    assert robust == set(wide.index[big_falls])


def test_cli_sensitivity_writes_csv(tmp_path, data_dir):
    out, units = tmp_path / "counts.csv", tmp_path / "units.csv"
    done = run_cli("sensitivity", "--dataset", "us-county-est", "--standard", "peak-loss",
                   "--vary", "peak_ratio=0.7:0.9:0.1", "--vary", "decline_years=2,3", "-o", str(out),
                   "--units-output", str(units), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    counts = pd.read_csv(out)
    assert list(counts.columns[:2]) == ["peak_ratio", "decline_years"] and len(counts) == 6
    assert counts.loc[(counts.peak_ratio == 0.8) & (counts.decline_years == 3), "shrinking"].item() == 1176
    assert "6 combinations" in done.stderr
    assert len(pd.read_csv(units, dtype={"unit_id": str})) == 3142
    bad = run_cli("sensitivity", "--dataset", "us-county-est", "--standard", "peak-loss", "--vary", "ratio=1,2",
                  "--data-dir", str(data_dir))
    assert bad.returncode != 0 and "unknown parameter 'ratio'" in bad.stderr


SMALL_SWEEPS = {
    "census-decline": {"min_loss": [0.0, 0.05]},
    "consecutive-decline": {"n": [2, 3], "year": [2018, 2019]},
    "peak-loss": {"peak_ratio": [0.9, 0.95], "decline_window": [5, 8]},
    "scirn": {"min_population": [10000, 50000], "structural": ["ignore", "if_available", "require"]},
    "cn-2025": {"combine": ["all", "population_plus_any"]},
    "composite-index": {"classes": [4, 5], "classification": ["quantile", "natural_breaks"],
                        "weighting": ["entropy", "equal"]},
}


@pytest.mark.slow
@pytest.mark.parametrize("standard", list(SMALL_SWEEPS))
def test_every_standard_sweeps_like_identify(standard, county_panel):
    result = sweep(county_panel, standard, SMALL_SWEEPS[standard])
    keys = list(SMALL_SWEEPS[standard])
    for row in result.counts.to_dict("records"):
        counts = identify(county_panel, standard, {k: row[k] for k in keys}).counts()
        assert (row["shrinking"], row["not_shrinking"], row["insufficient_data"]) == (
            counts["shrinking"], counts["not_shrinking"], counts["insufficient_data"]), row


# ---------------------------------------------------------------- one pass over thresholds, bounded memory (issue 15)

def generated_panel(n_units: int = 2000, n_years: int = 25, seed: int = 15) -> Panel:
    """Seeded random walks (whole persons, so many ties and equal years), 2 % of values missing, some zeros."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(-0.002, 0.01, size=(n_units, n_years))
    steps[:, 0] = 0.0
    values = np.round(rng.lognormal(8.0, 1.5, size=n_units)[:, None] * np.exp(np.cumsum(steps, axis=1)))
    values[rng.random(values.shape) < 0.02] = np.nan
    values[:5, 3:6] = 0.0
    return Panel.from_series({f"u{i:05d}": row for i, row in enumerate(values)}, list(range(1995, 1995 + n_years)),
                             id="generated")


def assert_same_sweep(panel: Panel, standard: str, vary: dict, **options) -> None:
    """The one-pass sweep gives what evaluating every setting by itself gives, count by count and unit by unit."""
    fast = sweep(panel, standard, vary, **options)
    slow = sweep(panel, standard, vary, one_pass=False, **options)
    pd.testing.assert_frame_equal(fast.counts, slow.counts)
    pd.testing.assert_frame_equal(fast.units, slow.units)


THRESHOLD_SWEEPS = {
    "consecutive-decline": {"n": [1, 2, 3, 5, 30], "min_annual_loss": [0.0, 0.004, 0.001, 0.001, 0.0105, 0.5, 1.0]},
    "census-decline": {"min_loss": [0.0, 0.02, 0.005, 0.2, 0.02, 1.0]},
    "peak-loss": {"peak_ratio": [0.95, 0.8, 1.0, 0.99, 0.8], "decline_years": [1, 3]},
}


@pytest.mark.parametrize("standard", list(THRESHOLD_SWEEPS))
def test_one_pass_sweep_equals_every_setting_on_a_generated_panel(standard):
    panel = generated_panel()
    vary = THRESHOLD_SWEEPS[standard]
    assert_same_sweep(panel, standard, vary)
    assert_same_sweep(panel, standard, vary, cache_bytes=64 * 1024)  # a cache too small for one threshold
    result = sweep(panel, standard, vary)
    # a higher loss threshold or a lower peak ratio never adds a shrinking unit
    key = next(iter(set(vary) & {"min_annual_loss", "min_loss", "peak_ratio"}))
    others = [k for k in vary if k != key]
    ascending = key != "peak_ratio"
    for _, group in (result.counts.groupby(others) if others else [((), result.counts)]):
        ordered = group.sort_values(key, ascending=ascending)["shrinking"].to_numpy()
        assert (np.diff(ordered) <= 0).all()


def test_one_pass_sweep_keeps_the_order_of_a_negative_value():
    """A negative value breaks the thresholds' order (a decline at 5 % need not be one at 0 %): that unit's
    panel is swept setting by setting, with the same answers."""
    panel = generated_panel(200, 8)
    panel.values.iloc[10, 0] = -50.0
    vary = {"n": [1, 2], "min_annual_loss": [0.0, 0.05, 1.0]}
    assert_same_sweep(panel, "consecutive-decline", vary)
    kernel = kernel_class("consecutive_decline")(panel)
    assert kernel.loss_levels("pop_resident", [0.0, 0.05]) is None


def test_threshold_levels_of_a_hand_made_unit():
    """Falls of 10 % and 2 % then a rise: at 0 % and 1 % two consecutive declines end in the last fall year,
    at 5 % only one; the rise makes every threshold a 'no' for n = 1 in the last year."""
    panel = Panel.from_series({"a": [100.0, 90.0, 88.2, 95.0], "b": [100.0, np.nan, 90.0, 80.0]},
                              years=[2000, 2001, 2002, 2003])
    result = sweep(panel, "consecutive-decline", {"n": [1, 2], "min_annual_loss": [0.0, 0.01, 0.05]},
                   {"year": "2002"})
    table = result.counts.set_index(["n", "min_annual_loss"])
    assert table["shrinking"].to_dict() == {(1, 0.0): 1, (1, 0.01): 1, (1, 0.05): 0,
                                            (2, 0.0): 1, (2, 0.01): 1, (2, 0.05): 0}
    # b: 2001 is missing, so no change into 2002 is known: insufficient data everywhere
    assert table["insufficient_data"].tolist() == [1, 1, 1, 1, 1, 1]
    assert result.units.loc["a", "shrinking"] == 4 and result.units.loc["b", "evaluable"] == 0


def test_the_kernel_cache_stays_within_its_bound():
    panel = generated_panel(3000, 20)
    thresholds = [i / 1000 for i in range(12)]
    bound = 3 * 3000 * 20 * 8  # about three thresholds' flags, runs and counts
    bounded = kernel_class("consecutive_decline")(panel, cache_bytes=bound)
    unbounded = kernel_class("consecutive_decline")(panel)
    for threshold in thresholds:
        for n in (1, 3):
            params = bounded.parameters_of({"indicator": "pop_resident", "year": 0, "n": n,
                                            "min_annual_loss": threshold})
            got, expected = bounded.verdict(params), unbounded.verdict(params)
            assert np.array_equal(got.yes, expected.yes) and np.array_equal(got.no, expected.no)
    assert 0 < bounded.peak_bytes <= bound < unbounded.held_bytes
    assert bounded.held_bytes <= bound


def test_sweep_bytes_counts_the_grid_and_the_bounded_state():
    panel = generated_panel(1000, 10)
    few = sweep_bytes(panel, {"min_annual_loss": [0.0, 0.01]})
    assert few == 1000 * 10 * 8 + 1000 * 10 * 6 * 2 + 16 * 1000
    many = sweep_bytes(panel, {"min_annual_loss": [i / 1000 for i in range(1000)]}, cache_bytes=2**20)
    assert many == 1000 * 10 * 8 + 2**20 + 16 * 1000


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["us-county-est", "cn-prefecture-census", "cn-county-census"])
def test_one_pass_sweep_equals_every_setting_on_real_panels(dataset, data_dir):
    """US counties (annual), China prefectures and counties (two censuses; the counties' boundary changes
    are judged setting by setting, through stable clusters)."""
    panel = datasets.load(dataset, data_dir)
    for standard, vary in THRESHOLD_SWEEPS.items():
        assert_same_sweep(panel, standard, vary)
    if dataset == "us-county-est":
        vary = {"n": list(range(1, 10)), "min_annual_loss": [round(x, 6) for x in np.arange(0, 0.0112, 0.0001)]}
        assert_same_sweep(panel, "consecutive-decline", vary)
    if dataset == "cn-county-census":
        assert_same_sweep(panel, "census-decline", THRESHOLD_SWEEPS["census-decline"], stable_clusters=False)
