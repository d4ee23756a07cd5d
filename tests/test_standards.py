"""Standards: hand-made panels with known verdicts, properties, and real data."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkwatch import datasets
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification import KERNELS, identify, list_standards, load_standard
from shrinkwatch.identification.text import fixed, grouped, people

from conftest import TOY_VERDICTS, panel_of

NAN = np.nan
YEARS = list(range(2010, 2017))
STANDARD_IDS = ("census-decline", "consecutive-decline", "peak-loss", "scirn", "cn-2025", "composite-index")


def scaled(values: list[float]) -> list[float]:
    return [v * 1000 for v in values]


# 2010 .. 2016, in thousands
SERIES = {
    "dec": [100, 99, 98, 97, 96, 95, 94],
    "inc": [100, 101, 102, 103, 104, 105, 106],
    "tie": [100, 99, 98, 98, 97, 96, 95],
    "gap": [100, 99, NAN, 97, 96, 95, 94],
    "late_nan": [100, 99, 98, 97, 96, 95, NAN],
    "rise_fall": [100, 101, 102, 103, 102, 101, 100],
    "recover": [100, 99, 98, 97, 98, 99, 100],
    "episodic": [100, 99, 100, 99, 100, 99, 98],
    "crash": [100, 90, 80, 85, 79, 81, 78],
    "single": [NAN, NAN, NAN, NAN, NAN, NAN, 500],
    "small": [9, 8.9, 8.8, 8.7, 8.6, 8.5, 8.4],
    "empty": [NAN] * 7,
}


@pytest.fixture(scope="module")
def hand() -> Panel:
    return Panel.from_series({u: scaled(v) for u, v in SERIES.items()}, YEARS, id="hand")


def statuses(result) -> dict[str, str]:
    return result.table["status"].to_dict()


S, N, I = "shrinking", "not_shrinking", "insufficient_data"


# ---------------------------------------------------------------- loading and schema

def test_all_builtin_standards_load_and_have_kernels():
    ids = {s.id for s in list_standards()}
    assert set(STANDARD_IDS) <= ids
    for std in list_standards():
        assert std.rule in KERNELS
        assert std.criteria, std.id


def test_unknown_keys_are_rejected(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nname = "x"\nversion = "1"\nrule = "peak_loss"\nsummary = "s"\ncolour = "red"\n')
    with pytest.raises(OptionError, match="colour"):
        load_standard(bad)
    bad.write_text('id = "x"\nname = "x"\nversion = "1"\nrule = "composite_index"\nsummary = "s"\n'
                   '[[indicators]]\nname = "a"\ncolumn = "pop"\ndimension = "happiness"\n')
    with pytest.raises(OptionError, match="dimension"):
        load_standard(bad)
    with pytest.raises(OptionError, match="unknown parameter 'N'"):
        load_standard("consecutive-decline").resolve({"N": 3})
    with pytest.raises(OptionError, match="'combine'.*not one of all, population_plus_any"):
        load_standard("cn-2025").resolve({"combine": "any"})


HEAD = 'id = "x"\nname = "x"\nversion = "1"\nrule = "census_decline"\nsummary = "s"\n'
CENSUS_PARAMETERS = ('[parameters.min_loss]\ntype = "float"\ndefault = 0.05\n'
                     '[parameters.indicator]\ntype = "str"\ndefault = "pop_resident"\n'
                     '[parameters.start_year]\ntype = "int"\ndefault = 0\n'
                     '[parameters.end_year]\ntype = "int"\ndefault = 0\n')


def test_parameters_unknown_to_the_rule_are_refused_at_load(tmp_path):
    """Only [parameters.foo]: refused when loaded (not a KeyError in identify), naming file, rule and parameters."""
    path = tmp_path / "foo.toml"
    path.write_text(HEAD + '[parameters.foo]\ntype = "float"\ndefault = 1.0\n', encoding="utf-8")
    with pytest.raises(OptionError) as error:
        load_standard(path)
    message = str(error.value)
    assert message.startswith(f"standard file {path}: ")
    assert "rule 'census_decline' has no parameter 'foo' (its parameters: indicator, min_loss, start_year, end_year)" in message
    assert "rule 'census_decline' needs parameter 'indicator' (type = \"str\"), missing from [parameters]" in message
    assert "needs parameter 'min_loss' (type = \"float\")" in message


def test_a_standard_without_parameters_is_refused_at_load(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text(HEAD, encoding="utf-8")
    with pytest.raises(OptionError, match=r"bare\.toml: rule 'census_decline' needs parameter 'indicator'") as error:
        load_standard(path)
    for key in ("indicator", "min_loss", "start_year", "end_year"):
        assert f"needs parameter '{key}'" in str(error.value)
    # complete, it loads and identifies
    path.write_text(HEAD + CENSUS_PARAMETERS, encoding="utf-8")
    assert load_standard(path).resolve() == {"min_loss": 0.05, "indicator": "pop_resident", "start_year": 0, "end_year": 0}


def test_a_parameter_of_the_wrong_type_is_refused_at_load(tmp_path):
    path = tmp_path / "typed.toml"
    path.write_text(HEAD + CENSUS_PARAMETERS.replace('type = "float"\ndefault = 0.05', 'type = "str"\ndefault = "5%"'),
                    encoding="utf-8")
    with pytest.raises(OptionError) as error:
        load_standard(path)
    assert str(error.value) == (f"standard file {path}: parameter 'min_loss' of rule 'census_decline' "
                                'has type = "float", not "str"')
    # a value outside the rule's choices, in the default or the sensitivity grid
    cn = tmp_path / "cn.toml"
    text = open(load_standard("cn-2025").source, encoding="utf-8").read()
    cn.write_text(text.replace('choices = ["all", "population_plus_any"]\n', "")
                  .replace('default = "all"', 'default = "any"'), encoding="utf-8")
    with pytest.raises(OptionError, match="cn.toml: parameter 'combine' of rule 'cn_2025' is one of all, "
                                          "population_plus_any; not any"):
        load_standard(cn)


def test_kernels_read_typed_frozen_parameters():
    std = load_standard("peak-loss")
    kernel_type = KERNELS[std.rule]
    params = kernel_type.parameters.from_values(std.resolve({"peak_window": "20"}))
    assert params.peak_window == 20 and isinstance(params.peak_ratio, float)
    assert params.lookback == 20  # the years compared: max(peak_window, decline_window)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.peak_ratio = 0.5  # type: ignore[misc]


def test_user_standard_file_works_like_a_builtin(tmp_path, hand):
    path = tmp_path / "strict.toml"
    source = load_standard("consecutive-decline").source
    text = open(source, encoding="utf-8").read().replace('id = "consecutive-decline"', 'id = "my-strict"')
    path.write_text(text.replace("default = 3", "default = 5", 1), encoding="utf-8")
    result = identify(hand, str(path))
    assert result.standard_id == "my-strict" and result.parameters["n"] == 5
    assert statuses(result)["dec"] == S and statuses(result)["tie"] == N


# ---------------------------------------------------------------- hand-made panels, known verdicts

def test_consecutive_decline_known_verdicts(hand):
    result = identify(hand, "consecutive-decline")
    assert statuses(result) == {
        "dec": S, "inc": N, "tie": S, "gap": S, "late_nan": I, "rise_fall": S, "recover": N,
        "episodic": N, "crash": N, "single": I, "small": S, "empty": I,
    }
    table = result.table
    assert table.loc["dec", "longest_run"] == 6 and table.loc["dec", "longest_run_end"] == 2016
    assert table.loc["tie", "latest_run"] == 3 and table.loc["tie", "longest_run"] == 3
    assert table.loc["recover", "longest_run"] == 3 and table.loc["recover", "longest_run_end"] == 2013
    assert table.loc["recover", "latest_run"] == 0
    assert table.loc["dec", "decline_run_value"] == 6 and bool(table.loc["dec", "decline_run_pass"])
    assert pd.isna(table.loc["late_nan", "decline_run_pass"]) and pd.isna(table.loc["late_nan", "shrinking"])
    assert table.loc["dec", "pattern"] == "continuous" and table.loc["rise_fall", "pattern"] == "new"
    assert table.loc["recover", "pattern"] == "recovering" and table.loc["episodic", "pattern"] == "episodic"
    assert table.loc["inc", "pattern"] == "none"
    # -1.04 %/yr over 2013-2016: the ESPON "severe" band (below -1); "rise_fall" -0.98 %/yr is "moderate"
    assert table.loc["dec", "annual_rate"] == pytest.approx(((94 / 97) ** (1 / 3) - 1) * 100, abs=1e-4)
    assert table.loc["dec", "severity"] == "severe" and table.loc["inc", "severity"] == "none"
    assert table.loc["rise_fall", "severity"] == "moderate" and table.loc["late_nan", "severity"] == ""
    assert (table["reason"].str.len() > 20).all()
    assert table.loc["dec", "reason"].startswith("Resident population fell in each of the 3 years to 2016")
    assert table.loc["late_nan", "reason"].startswith("Insufficient data")


def test_consecutive_decline_parameters(hand):
    four = statuses(identify(hand, "consecutive-decline", {"n": 4}))
    assert four["tie"] == N and four["gap"] == I and four["dec"] == S and four["rise_fall"] == N
    # evaluation year is a parameter; 2013 for "recover" ends its 3-year run
    assert statuses(identify(hand, "consecutive-decline", {"year": 2013}))["recover"] == S
    # declines of at most 1% do not count when min_annual_loss is 1%
    strict = statuses(identify(hand, "consecutive-decline", {"min_annual_loss": 0.0105}))
    assert strict["dec"] == N and strict["crash"] == N
    with pytest.raises(OptionError, match="'year': year 2030 is not in the panel"):
        identify(hand, "consecutive-decline", {"year": 2030})


def test_the_shared_toy_panel_has_the_verdicts_conftest_documents(toy_panel):
    for standard, expected in TOY_VERDICTS.items():
        assert statuses(identify(toy_panel, standard)) == expected, standard


def test_census_decline_known_verdicts(hand):
    result = identify(hand, "census-decline")
    assert statuses(result) == {
        "dec": S, "inc": N, "tie": S, "gap": S, "late_nan": I, "rise_fall": N, "recover": N,
        "episodic": S, "crash": S, "single": I, "small": S, "empty": I,
    }
    assert result.table.loc["rise_fall", "decline_value"] == 0.0  # equal is not a decline
    assert "was unchanged" in result.table.loc["rise_fall", "reason"]
    loss = statuses(identify(hand, "census-decline", {"min_loss": 0.05}))
    assert loss["dec"] == S and loss["tie"] == N and loss["crash"] == S


def test_peak_loss_known_verdicts(hand):
    result = identify(hand, "peak-loss")
    # late_nan: 2016 is missing, but 3 consecutive declines (2012-2014) already lie in the last 5 years
    assert statuses(result) == {
        "dec": S, "inc": N, "tie": S, "gap": S, "late_nan": S, "rise_fall": S, "recover": N,
        "episodic": N, "crash": S, "single": I, "small": S, "empty": I,
    }
    table = result.table
    assert table.loc["crash", "peak_loss_value"] == pytest.approx(0.78)
    assert bool(table.loc["crash", "peak_loss_pass"]) and not bool(table.loc["crash", "recent_declines_pass"])
    assert table.loc["crash", "peak_year"] == 2010
    assert pd.isna(table.loc["late_nan", "peak_loss_pass"]) and bool(table.loc["late_nan", "recent_declines_pass"])
    # "recover" had 3 declines 2011-2013, but not within the last 5 years (2012-2016)
    assert not bool(table.loc["recover", "recent_declines_pass"])
    assert statuses(identify(hand, "peak-loss", {"decline_window": 6}))["recover"] == S
    with pytest.raises(OptionError, match="decline_years"):
        identify(hand, "peak-loss", {"decline_years": 6, "decline_window": 5})


def test_scirn_known_verdicts(hand):
    result = identify(hand, "scirn")
    assert statuses(result) == {
        "dec": S, "inc": N, "tie": S, "gap": S, "late_nan": I, "rise_fall": N, "recover": N,
        "episodic": S, "crash": S, "single": I, "small": N, "empty": I,
    }
    table = result.table
    assert table.loc["dec", "loss_value"] == 6 and table.loc["episodic", "loss_value"] == 4
    assert table.loc["small", "size_value"] == 9000 and not bool(table.loc["small", "size_pass"])
    assert statuses(identify(hand, "scirn", {"min_loss_years": 5}))["episodic"] == N


def test_scirn_employment_signal():
    years = [2010, 2011, 2012, 2013]
    pop = scaled([100, 99, 98, 97])
    panel = panel_of({
        "jobs_down": {"pop_resident": pop, "employment": [50, 49, 48, 47]},
        "jobs_up": {"pop_resident": pop, "employment": [50, 51, 52, 53]},
        "no_jobs": {"pop_resident": pop},
    }, years, id="hand")
    assert statuses(identify(panel, "scirn")) == {"jobs_down": S, "jobs_up": N, "no_jobs": S}
    assert statuses(identify(panel, "scirn", {"structural": "require"})) == {"jobs_down": S, "jobs_up": N, "no_jobs": I}
    assert statuses(identify(panel, "scirn", {"structural": "ignore"})) == {"jobs_down": S, "jobs_up": S, "no_jobs": S}


def test_scirn_counts_an_intercensal_decline_as_all_its_years():
    panel = Panel.from_series({"a": [20000, 15000], "b": [20000, 25000]}, [2010, 2020], id="hand")
    result = identify(panel, "scirn")
    assert statuses(result) == {"a": S, "b": N}
    assert result.table.loc["a", "loss_value"] == 10


@pytest.fixture(scope="module")
def cn_panel() -> Panel:
    years = [2012, 2013, 2014, 2015, 2016]
    falling = scaled([100, 99, 98, 97, 96])
    return panel_of({
        "u1": {"pop_resident": falling, "gdp_real": [90, 100, 101, 102, 103], "builtup_km2": [10, 10, 11, 12, 13]},
        "u2": {"pop_resident": falling, "gdp_real": [90, 100, 110, 130, 150], "builtup_km2": [10, 10, 11, 12, 13]},
        "u3": {"pop_resident": falling, "builtup_km2": [10, 10, 11, 12, 13]},
        "u4": {"pop_resident": scaled([100, 101, 102, 103, 104]), "gdp_real": [90, 100, 110, 120, 130]},
        "u5": {"pop_resident": falling},
        "u6": {"pop_resident": falling, "gdp_real": [90, 100, 101, 102, 103], "builtup_km2": [13, 13, 12, 11, 10]},
    }, years, id="hand")


def test_cn_2025_known_verdicts(cn_panel):
    result = identify(cn_panel, "cn-2025")
    assert statuses(result) == {"u1": S, "u2": N, "u3": I, "u4": N, "u5": I, "u6": N}
    table = result.table
    # aggregate benchmark over 2013-2016 (u1, u2, u4, u6 have GDP): (103 + 150 + 130 + 103) / 400, annualised
    bench = (486 / 400) ** (1 / 3) - 1
    assert table.loc["u1", "gdp_benchmark_rate"] == pytest.approx(bench)
    assert table.loc["u1", "gdp_value"] == pytest.approx((103 / 100) ** (1 / 3) - 1)
    assert table.loc["u1", "tapio_state"] == "strong negative decoupling"
    assert table.loc["u6", "tapio_state"] == "recessive decoupling" and not bool(table.loc["u6", "land_pass"])
    assert pd.isna(table.loc["u3", "gdp_pass"]) and bool(table.loc["u3", "land_pass"])
    assert table.loc["u4", "population_value"] == 0 and not bool(table.loc["u4", "population_pass"])
    for name in ("population", "gdp", "land"):
        assert f"{name}_value" in table and f"{name}_pass" in table
    plus = statuses(identify(cn_panel, "cn-2025", {"combine": "population_plus_any"}))
    assert plus == {"u1": S, "u2": S, "u3": S, "u4": N, "u5": I, "u6": S}
    # a given benchmark of 20 %/yr puts u2 below it
    assert statuses(identify(cn_panel, "cn-2025", {"gdp_benchmark": "20"}))["u2"] == S
    with pytest.raises(OptionError, match="gdp_benchmark"):
        identify(cn_panel, "cn-2025", {"gdp_benchmark": "national"})
    with pytest.raises(OptionError, match="gdp_benchmark"):
        identify(cn_panel, "cn-2025", {"gdp_benchmark": "median"})


def test_cn_2025_national_benchmark_from_the_panel(cn_panel):
    national = Panel(cn_panel.units, cn_panel.values,
                     replace(cn_panel.meta, benchmark={"gdp_real": {2013: 100.0, 2016: 102.0}}))
    result = identify(national, "cn-2025", {"gdp_benchmark": "national"})
    # national growth 2%/3 yr is below u1's 3%: u1 is no longer below the benchmark
    assert statuses(result)["u1"] == N
    assert identify(national, "cn-2025").table.loc["u1", "gdp_benchmark_rate"] == pytest.approx(1.02 ** (1 / 3) - 1)


def test_cn_2025_chinese_reasons(cn_panel):
    reasons = identify(cn_panel, "cn-2025", lang="zh").table["reason"]
    assert reasons["u1"].startswith("判定为收缩（三项均需满足）：常住人口截至2016年连续下降4年")
    assert reasons["u3"].startswith("数据不足，无法判定")
    assert reasons["u4"].startswith("未达到收缩标准")


def test_composite_index(hand):
    panel = panel_of({
        f"u{i}": {"pop_resident": scaled([100, 100 + i - 5]), "share_65plus": [10.0, 10.0 + i],
                  "share_0_14": [20.0, 20.0 - i / 2]}
        for i in range(10)
    } | {"gap": {"pop_resident": scaled([100, 90])}}, [2010, 2020], id="hand")
    result = identify(panel, "composite-index")
    table = result.table
    # the unit missing share_65plus cannot be scored
    assert table.loc["gap", "status"] == I
    assert result.parameters["weighting"] == "entropy"
    assert table["index_class"].max() == 5 and (table.loc["gap", "index_class"] == 0)
    assert (table["status"] == S).sum() == 2  # top quintile of 10 units
    equal = identify(panel, "composite-index", {"weighting": "equal"}).table
    scores = equal.drop(index="gap")["index_value"]
    assert scores.notna().all()
    user = identify(panel, "composite-index", {"weighting": "user", "classification": "natural_breaks",
                                               "classes": 3})
    assert set(user.table["status"]) == {S, N, I}
    with pytest.raises(DataError, match="net_migration"):
        identify(panel, "composite-index", {"missing_indicators": "error"})
    with pytest.raises(OptionError, match="shrinking_classes"):
        identify(panel, "composite-index", {"classes": 3, "shrinking_classes": 4})


def test_composite_index_single_indicator_orders_by_decline():
    panel = Panel.from_series({f"u{i}": scaled([100, 100 - i]) for i in range(10)}, [2010, 2020], id="hand")
    table = identify(panel, "composite-index").table
    assert set(table.index[table["status"] == S]) == {"u8", "u9"}
    assert table["index_value"].is_monotonic_increasing


def test_single_year_panel_is_insufficient_not_an_error():
    panel = Panel.from_series({"a": [100.0]}, [2020], id="hand")
    for standard in ("consecutive-decline", "peak-loss", "cn-2025"):
        if standard == "cn-2025":
            with pytest.raises(OptionError, match="'n'"):
                identify(panel, standard)
            continue
        result = identify(panel, standard)
        assert result.table["status"].tolist() in ([I], [N]), standard


def test_projected_years_are_excluded_by_default():
    years = [2016, 2017, 2018, 2019, 2020]
    panel = Panel.from_series({"a": scaled([100, 101, 102, 101, 100])}, years, id="hand", projected_from=2019)
    result = identify(panel, "consecutive-decline", {"n": 2})
    assert result.table.loc["a", "evaluation_year"] == 2018 and result.table.loc["a", "status"] == N
    assert identify(panel, "consecutive-decline", {"n": 2, "year": 2020}).table.loc["a", "status"] == S


def test_vectorised_number_formatting():
    assert grouped(np.array([0, 7, 999, 1000, 1005000, 1234567890, -4500, NAN])).tolist() == [
        "0", "7", "999", "1,000", "1,005,000", "1,234,567,890", "-4,500", "n/a"]
    assert fixed(np.array([1.005, -0.5, 0.0, 12.3456, NAN]), 2, signed=True).tolist() == [
        "+1.00", "-0.50", "+0.00", "+12.35", "n/a"]
    assert [f"{v:,.0f}" for v in (123456.4, 99.5)] == grouped(np.array([123456.4, 99.5])).tolist()


def test_number_formatting_edges():
    """The byte-matrix formatting (digits by lookup, trimmed as one Arrow array) at its edges: no numbers, the
    widest integers, every number of digits, a missing word wider than the numbers, the Chinese unit suffix."""
    assert grouped(np.array([])).tolist() == [] and fixed(np.array([]), 2).tolist() == []
    powers = np.array([10.0**k for k in range(16)])
    assert grouped(powers).tolist() == [f"{int(v):,}" for v in powers]
    assert grouped(powers - 1).tolist() == [f"{int(v) - 1:,}" for v in powers]
    assert fixed(-(powers - 1) / 100, 2).tolist() == ["0.00"] + [f"{-(int(v) - 1) / 100:.2f}" for v in powers[1:]]
    assert grouped(np.array([np.inf, 5.0, -np.inf]), "missing").tolist() == ["missing", "5", "missing"]
    assert fixed(np.array([0.04, NAN, 123.456]), 1, signed=True, missing="-").tolist() == ["+0.0", "-", "+123.5"]
    assert fixed(np.array([2.5, 7.0]), 0).tolist() == ["2", "7"]  # NumPy's rounding (half to even), as before
    assert fixed(np.array([0.00012]), 5).tolist() == ["0.00012"]
    assert fixed(np.array([NAN, 1.0]), 1, missing=" none").tolist() == [" none", "1.0"]  # kept, not trimmed
    assert people(np.array([12345.0, NAN, 0.0, 1e9]), "zh").tolist() == ["1.2万人", "缺失", "0.0万人", "100000.0万人"]
    assert people(np.array([12345.0, NAN]), "en").tolist() == ["12,345", "missing"]


# ---------------------------------------------------------------- properties

series_strategy = st.lists(st.one_of(st.just(NAN), st.floats(5e3, 1e6)), min_size=6, max_size=6)


def panel_from(values: list[list[float]], order: list[int] | None = None) -> Panel:
    ids = [f"u{i}" for i in range(len(values))]
    rows = {ids[i]: values[i] for i in (order or range(len(values)))}
    return Panel.from_series(rows, [2010, 2011, 2012, 2013, 2014, 2015], id="hand")


PROPERTY_STANDARDS = ("census-decline", "consecutive-decline", "peak-loss", "scirn", "cn-2025")


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(series_strategy, min_size=2, max_size=6), st.randoms(use_true_random=False))
def test_unit_order_does_not_matter(values, rng):
    order = list(range(len(values)))
    rng.shuffle(order)
    for standard in PROPERTY_STANDARDS:
        a = identify(panel_from(values), standard).table
        b = identify(panel_from(values, order), standard).table
        pd.testing.assert_series_equal(a["status"], b["status"].loc[a.index])
        pd.testing.assert_series_equal(a["reason"], b["reason"].loc[a.index])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(5e3, 1e6), min_size=6, max_size=6, unique=True))
def test_a_strictly_increasing_series_is_never_shrinking(values):
    rising = sorted(values)
    for standard in PROPERTY_STANDARDS:
        status = identify(panel_from([rising]), standard).table["status"].iloc[0]
        assert status == N, standard


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(series_strategy, min_size=1, max_size=5), st.data())
def test_missing_data_never_turns_into_a_verdict(values, data):
    """Removing data can only make a verdict undecided, never flip it (nor create one)."""
    masked = [list(row) for row in values]
    for row in masked:
        for j in range(len(row)):
            if data.draw(st.booleans()):
                row[j] = NAN
    for standard in PROPERTY_STANDARDS:
        full = identify(panel_from(values), standard).table["status"]
        partial = identify(panel_from(masked), standard).table["status"]
        changed = full != partial
        assert (partial[changed] == I).all(), standard


# ---------------------------------------------------------------- real data

def test_census_decline_on_the_china_census(census_panel):
    result = identify(census_panel, "census-decline")
    assert result.counts()["shrinking"] == 156 and result.counts()["units_with_data"] == 358
    heilongjiang = result.table[result.table.index.str.startswith("23")]
    assert len(heilongjiang) == 13 and (heilongjiang["status"] == S).all()
    assert heilongjiang["reason"].str.startswith("常住人口由2010年的").all()
    english = identify(census_panel, "census-decline", lang="en").table["reason"]
    assert english["230100"].startswith("Resident population fell from")


def test_every_standard_on_the_china_census(census_panel):
    census = identify(census_panel, "census-decline").table
    scirn = identify(census_panel, "scirn").table
    # every unit with data has >= 10,000 people and a 10-year intercensal period: SCIRN = census decline here
    assert (scirn["status"] == census["status"]).all()
    # annual standards cannot be decided from two censuses: insufficient data, never "not shrinking"
    for standard in ("consecutive-decline", "cn-2025"):
        table = identify(census_panel, standard).table
        assert (table["status"] == I).all(), standard
    peak = identify(census_panel, "peak-loss").table
    expected = (census["decline_value"] <= -0.2)
    assert set(peak.index[peak["status"] == S]) == set(census.index[expected])
    assert not (peak["status"] == N).any()


@pytest.fixture(scope="module")
def county_panel(data_dir) -> Panel:
    return datasets.load("us-county-est", data_dir)


@pytest.fixture(scope="module")
def county_wide(county_panel) -> pd.DataFrame:
    return county_panel.values["pop_resident"].unstack("year")


def test_consecutive_decline_on_us_counties(county_panel, county_wide):
    result = identify(county_panel, "consecutive-decline")
    wide = county_wide
    expected = (wide[2019] < wide[2018]) & (wide[2018] < wide[2017]) & (wide[2017] < wide[2016])
    table = result.table
    assert set(table.index[table["status"] == S]) == set(wide.index[expected])
    assert result.counts()["shrinking"] == int(expected.sum()) == 896
    assert result.counts()["insufficient_data"] == 0
    # the longest run of every county, recomputed with a plain loop over the years
    longest = np.zeros(len(wide), dtype=int)
    current = np.zeros(len(wide), dtype=int)
    for year in range(2011, 2020):
        current = np.where(wide[year] < wide[year - 1], current + 1, 0)
        longest = np.maximum(longest, current)
    assert (table.loc[wide.index, "longest_run"].to_numpy() == longest).all()


@pytest.mark.slow
def test_peak_loss_and_scirn_on_us_counties(county_panel, county_wide):
    wide = county_wide
    peak = identify(county_panel, "peak-loss").table
    falls = pd.DataFrame({y: wide[y] < wide[y - 1] for y in range(2011, 2020)})
    three_in_five = (falls[[2015, 2016, 2017]].all(axis=1) | falls[[2016, 2017, 2018]].all(axis=1)
                     | falls[[2017, 2018, 2019]].all(axis=1))
    expected = (wide[2019] <= 0.8 * wide.max(axis=1)) | three_in_five
    assert set(peak.index[peak["status"] == S]) == set(wide.index[expected])
    scirn = identify(county_panel, "scirn").table
    expected_scirn = (wide[2010] >= 10000) & (wide[2019] < wide[2010]) & (falls.sum(axis=1) >= 3)
    assert set(scirn.index[scirn["status"] == S]) == set(wide.index[expected_scirn])


@pytest.mark.slow
def test_cn_2025_and_composite_on_us_counties(county_panel):
    cn = identify(county_panel, "cn-2025").table
    # no GDP or built-up area: a county whose population did not fall 3 years is not shrinking,
    # every other county is undecided, never silently "not shrinking"
    consecutive = identify(county_panel, "consecutive-decline").table
    assert ((cn["status"] == I) == (consecutive["status"] == S)).all()
    assert not (cn["status"] == S).any()
    composite = identify(county_panel, "composite-index")
    assert composite.counts()["shrinking"] == pytest.approx(3142 / 5, abs=2)
    assert {"population_score"} <= set(composite.table.columns)


@pytest.mark.slow
def test_world_agglomerations_use_observed_years_only(data_dir):
    panel = datasets.load("world-wup2018", data_dir)
    result = identify(panel, "consecutive-decline")
    assert (result.table["evaluation_year"] == 2018).all()
    wide = panel.values["pop_resident"].unstack("year")
    expected = (wide[2018] < wide[2017]) & (wide[2017] < wide[2016]) & (wide[2016] < wide[2015])
    assert result.counts()["shrinking"] == int(expected.sum())
    projected = identify(panel, "consecutive-decline", {"year": 2035})
    assert (projected.table["evaluation_year"] == 2035).all()


# ---------------------------------------------------------------- command line

@pytest.mark.slow
@pytest.mark.parametrize("standard", STANDARD_IDS)
def test_cli_identify_every_standard(standard, tmp_path, data_dir, county_panel):
    from conftest import run_cli

    out = tmp_path / f"{standard}.csv"
    done = run_cli("identify", "--dataset", "us-county-est", "--standard", standard, "-o", str(out),
                   "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, dtype={"unit_id": str})
    assert len(table) == 3142
    expected = identify(county_panel, standard).counts()
    assert f"{expected['shrinking']} shrinking of {expected['units_with_data']} units with data" in done.stderr
    criteria = load_standard(standard).criteria
    for column in ["status", "severity", "pattern", "annual_rate", "reason"] + [
            f"{c}_{part}" for c in criteria for part in ("value", "pass")]:
        assert column in table.columns, column
    assert table["reason"].notna().all()


def test_cli_rejects_bad_settings(data_dir):
    from conftest import run_cli

    done = run_cli("identify", "--standard", "peak-loss", "--set", "peak_ratio=2", "--data-dir", str(data_dir))
    assert done.returncode != 0 and "'peak_ratio'" in done.stderr and "maximum" in done.stderr
    done = run_cli("identify", "--standard", "cn-2025", "--set", "combine=any", "--data-dir", str(data_dir))
    assert done.returncode != 0 and "population_plus_any" in done.stderr


def test_cn_2025_compounds_yearbook_growth_rates_when_there_is_no_real_gdp_series():
    """Yearbooks publish GDP增长率 (% per year), not a real GDP series: cn-2025 compounds the rates."""
    years = [2016, 2017, 2018, 2019, 2020]
    rows = {
        "a": ([100, 99, 98, 97, 96], [7.3, 6.4, 5.1, 4.0, -0.4], [10, 11, 12, 13, 14]),   # all three criteria
        "b": ([100, 99, 98, 97, 96], [6.0, 6.5, 7.0, 7.5, 8.0], [10, 11, 12, 13, 14]),    # growth above benchmark
        "c": ([100, 101, 102, 103, 104], [8.0, 8.1, 8.0, 7.8, 4.6], [10, 10, 10, 10, 10]),
    }
    panel = panel_of({unit: {"pop_resident": pop, "gdp_real_growth": growth, "builtup_km2": land}
                      for unit, (pop, growth, land) in rows.items()}, years, id="toy")
    table = identify(panel, "cn-2025", lang="en").table
    expected_a = (1.051 * 1.040 * 0.996) ** (1 / 3) - 1
    assert table.loc["a", "gdp_value"] == pytest.approx(expected_a)
    factors = [1.051 * 1.040 * 0.996, 1.070 * 1.075 * 1.080, 1.080 * 1.078 * 1.046]
    assert table.loc["a", "gdp_benchmark_rate"] == pytest.approx((sum(factors) / 3) ** (1 / 3) - 1)
    assert table["status"].to_dict() == {"a": "shrinking", "b": "not_shrinking", "c": "not_shrinking"}
    assert "mean of the units' real growth" in table.loc["a", "reason"]
    given = identify(panel, "cn-2025", {"gdp_benchmark": "8"}).table
    assert given.loc["b", "status"] == "shrinking"  # 7.5%/yr is below a given 8%/yr benchmark


# ---------------------------------------------------------------- a kernel of a year grid (no long panel)
DECADES = [1950, 1960, 1970, 1980, 1990, 2000, 2010]
CENSUS_SERIES = {"falls": [100, 120, 110, 90, 80, 70, 60], "rises": [10, 20, 30, 40, 50, 60, 70],
                 "gaps": [100, NAN, 90, 95, NAN, 80, 81], "zero": [0, 10, 0, 5, 4, 3, 2],
                 "late": [NAN, NAN, NAN, NAN, NAN, 7, 6], "empty": [NAN] * 7, "flat": [50] * 7}


def _judgements(kernel, values: dict, years: list[int]) -> list:
    """Each year's verdict (yes, no) of ``kernel`` with the resolved ``values``, or the error it raises."""
    out = []
    for year in years:
        try:
            verdict = kernel.verdict(kernel.parameters_of(values).as_of(year))
            out.append((verdict.yes.tolist(), verdict.no.tolist()))
        except (OptionError, DataError) as error:
            out.append(f"{type(error).__name__}: {error}")
    return out


@pytest.mark.parametrize("standard, settings", [
    ("census-decline", {}), ("census-decline", {"min_loss": 0.05}), ("consecutive-decline", {"n": 2}),
    ("consecutive-decline", {"min_annual_loss": 0.01}), ("peak-loss", {}), ("peak-loss", {"peak_window": 3}),
    ("scirn", {"min_population": 0, "window": 3}), ("scirn", {})])
@pytest.mark.parametrize("which", ["annual", "census"])
def test_a_kernel_of_a_year_grid_judges_as_the_kernel_of_its_long_panel(standard, settings, which, hand):
    """Kernel.of_grid, given a panel's year grid, gives every verdict (and every error: a year not in the
    panel) that the kernel of the long panel gives, for each forecastable rule, on annual and decennial census
    panels with gaps, zeros and units without values; the census years in its meta choose the compared years."""
    from shrinkwatch.forecast.status import status_rule
    from shrinkwatch.identification.indicators import year_grid
    from shrinkwatch.identification.rules import kernel_class

    panel = hand if which == "annual" else Panel.from_series(CENSUS_SERIES, DECADES, id="decades",
                                                             census_years=DECADES[:-1])
    rule = status_rule(panel, standard, settings)
    std = load_standard(standard)
    long = kernel_class(std.rule)(panel, std)
    grid = year_grid(panel, rule.indicator)
    assert not grid.in_panel.all() if which == "census" else grid.in_panel.all()
    made = kernel_class(std.rule).of_grid(grid, rule.indicator, std, meta=panel.meta)
    assert made.n == len(panel.units) and made.panel.values.empty  # no long frame behind it
    years = list(range(panel.years[0] - 1, panel.years[-1] + 2))  # years off the panel too: the same errors
    assert _judgements(made, rule.values, years) == _judgements(long, rule.values, years)
    for year in panel.years[1:]:  # the start year written out as the forecasts do
        try:
            expected = long.verdict(rule.parameters_at(long, year))
        except OptionError as error:
            with pytest.raises(OptionError, match=str(error).replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
                made.verdict(rule.parameters_at(made, year))
            continue
        mine = made.verdict(rule.parameters_at(made, year))
        np.testing.assert_array_equal(mine.yes, expected.yes)
        np.testing.assert_array_equal(mine.no, expected.no)


def test_a_kernel_of_a_year_grid_judges_real_panels_as_their_long_kernels(data_dir):
    from shrinkwatch.forecast.status import FORECASTABLE_RULES, status_rule
    from shrinkwatch.identification.indicators import year_grid
    from shrinkwatch.identification.rules import kernel_class

    assert set(FORECASTABLE_RULES) == {"census_decline", "consecutive_decline", "peak_loss", "scirn"}
    for dataset in ("us-county-est", "us-city-census"):
        panel = datasets.load(dataset)
        shrinking = []
        for standard in ("census-decline", "consecutive-decline", "peak-loss", "scirn"):
            rule = status_rule(panel, standard, None)
            std = rule.standard
            long = kernel_class(std.rule)(panel, std)
            made = kernel_class(std.rule).of_grid(year_grid(panel, rule.indicator), rule.indicator, std,
                                                  meta=panel.meta)
            judged = _judgements(made, rule.values, panel.years)
            assert judged == _judgements(long, rule.values, panel.years), (dataset, standard)
            shrinking.append(sum(sum(j[0]) for j in judged if not isinstance(j, str)))
        # units shrink under every rule but consecutive declines, which decennial censuses cannot show
        assert all(shrinking) if dataset == "us-county-est" else shrinking[1] == 0 and all(shrinking[::2] + shrinking[3:])


def test_a_kernel_of_a_year_grid_refuses_a_grid_no_panel_has():
    from shrinkwatch.identification.indicators import YearGrid
    from shrinkwatch.identification.rules import kernel_class

    kernel = kernel_class("census_decline")
    years, in_panel = np.arange(2000, 2004), np.array([True, False, True, True])
    good = np.array([[1.0, NAN, 2.0, 3.0]])
    assert kernel.of_grid(YearGrid(good, years, in_panel), "pop_resident").n == 1
    cases = [
        (YearGrid(np.array([[1, 0, 2, 3]]), years, in_panel), "float64 units x years"),  # integers
        (YearGrid(np.array([1.0, NAN, 2.0, 3.0]), years, in_panel), "float64 units x years"),  # one dimension
        (YearGrid(good, years[:3], in_panel[:3]), "4 columns, 3 years"),
        (YearGrid(good[:, :0], years[:0], in_panel[:0]), "at least one"),
        (YearGrid(good, np.array([2000, 2001, 2003, 2004]), in_panel), "consecutive"),
        (YearGrid(good, years, np.array([False, True, True, True])), "consecutive"),  # starts before the panel
        (YearGrid(np.array([[1.0, 5.0, 2.0, 3.0]]), years, in_panel), r"values in years not in the panel \(\[2001\]\)"),
    ]
    for grid, expected in cases:
        with pytest.raises(DataError, match=expected):
            kernel.of_grid(grid, "pop_resident")
    # of_grid starts a kernel without its __init__: no rule's kernel may keep state set up there
    from shrinkwatch.identification import Kernel
    assert all(rule.__init__ is Kernel.__init__ for rule in KERNELS.values())
