"""Hostile input gets one clear line and a documented exit code (issue 9): one regression test per finding."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification import load_standard
from shrinkwatch.identification.sensitivity import MAX_COMBINATIONS, check_size, parse_vary

from conftest import run_cli


def _no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


@pytest.mark.parametrize(("item", "fragment"), [
    ("min_loss=0:1:1e-9", "1,000,000,001 values"),
    ("min_loss=0:1:1e-300", r"1e\+300 values"),
    ("min_loss=0:1:nan", "finite numbers"),
    ("min_loss=0:inf:0.1", "finite numbers"),
    ("min_loss=-inf:0:0.1", "finite numbers"),
])
def test_sweeps_are_bounded_and_finite(item, fragment):
    with pytest.raises(OptionError, match=fragment):
        parse_vary([item])


def test_a_grid_of_too_many_combinations_is_refused_with_its_size():
    grid = {"a": list(range(1000)), "b": list(range(1000))}
    with pytest.raises(OptionError, match=f"1,000 a x 1,000 b = 1,000,000 settings; at most {MAX_COMBINATIONS:,}"):
        check_size(grid)
    assert check_size({"a": [1, 2, 3]}) == 3


def test_cli_sensitivity_refuses_a_huge_grid_before_reading_data(tmp_path):
    result = run_cli("sensitivity", "--vary", "min_loss=0:1:1e-9", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "at most 100,000 settings" in result.stderr  # not the missing-data error
    _no_traceback(result)


@pytest.mark.parametrize(("setting", "fragment"), [
    ("start_year=99999999999999999999", "expected int, got '99999999999999999999'"),
    ("start_year=2010.5", "expected int, got '2010.5'"),
    ("min_loss=nan", "expected a finite number"),
    ("min_loss=-inf", "expected a finite number"),
    ("min_loss=inf", "expected a finite number"),
])
def test_settings_are_exact_and_finite(setting, fragment, data_dir):
    result = run_cli("identify", "--set", setting, "--data-dir", str(data_dir))
    assert result.returncode == 2 and fragment in result.stderr
    _no_traceback(result)


def test_standard_files_that_are_not_text_or_do_not_fit_their_rule(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(OptionError, match="not a text file"):
        load_standard(binary)
    foreign = tmp_path / "foo.toml"
    foreign.write_text('id = "x"\nname = "x"\nversion = "1"\nrule = "census_decline"\nsummary = "s"\n'
                       '[parameters.foo]\ntype = "float"\ndefault = 1.0\n', encoding="utf-8")
    result = run_cli("standards", "show", str(foreign))
    assert result.returncode == 2 and "has no parameter 'foo'" in result.stderr
    assert "needs parameter 'min_loss'" in result.stderr
    _no_traceback(result)


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_an_ingest_that_accepts_nothing_is_a_failure(tmp_path):
    source = _csv(tmp_path / "junk.csv", "城市代码,城市,年份,常住人口(万人)\n110100,北京市,20x5,abc\n,合计,2020,1\n")
    result = run_cli("ingest", str(source), "-o", str(tmp_path / "p.parquet"))
    assert result.returncode == 5
    assert "0 of 2 rows accepted" in result.stderr and "most common reasons" in result.stderr
    assert not (tmp_path / "p.parquet").exists() and (tmp_path / "p.ledger.csv").is_file()
    _no_traceback(result)


def test_ingest_never_replaces_its_input(tmp_path):
    source = _csv(tmp_path / "pop.csv", "城市代码,城市,年份,常住人口(万人)\n110100,北京市,2015,2170\n")
    from shrinkwatch.ingest import ingest, write_panel

    panel_path = write_panel(ingest(source).panel, tmp_path / "panel.parquet")
    before = panel_path.read_bytes()
    result = run_cli("ingest", str(panel_path), "-o", str(panel_path))
    assert result.returncode == 6 and "would replace the input file" in result.stderr
    assert panel_path.read_bytes() == before
    _no_traceback(result)


def test_the_same_column_mapped_twice_is_an_error(tmp_path):
    source = _csv(tmp_path / "pop.csv", "code,name,year,pop\n110100,Beijing,2015,2170\n")
    result = run_cli("ingest", str(source), "-o", str(tmp_path / "p.parquet"),
                     "--map", "pop=pop_resident", "--map", "pop=pop_registered")
    assert result.returncode == 2 and "column 'pop' is given twice" in result.stderr
    _no_traceback(result)


# ---------------------------------------------------------------- fuzz: option values through the CLI, in process

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_VALUES = st.one_of(_TEXT, st.sampled_from(["0", "-1", "1e999", "nan", "inf", "0.05", "2010", "2020", "1:0:1",
                                            "0:1:0", "[/x]", "=1+1", "99999999999999999999", "0x10", ""]))
_KEYS = st.sampled_from(["min_loss", "start_year", "end_year", "indicator", "bogus", ""])


@pytest.fixture(scope="module")
def toy_panel_file(tmp_path_factory):
    from shrinkwatch import Panel, write_panel

    panel = Panel.from_series({"a": [100, 90], "b": [50, 60], "c": [10, float("nan")]}, years=[2010, 2020], id="fuzz")
    return write_panel(panel, tmp_path_factory.mktemp("fuzz") / "toy.parquet")


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SHRINKWATCH_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(key=_KEYS, value=_VALUES, vary_value=_VALUES)
def test_cli_option_values_succeed_or_fail_in_one_line(toy_panel_file, key, value, vary_value):
    """Any --set and --vary value: success, or exit 2 with one line naming the problem; never a traceback or an
    unexpected error."""
    for args in (["identify", "--dataset", str(toy_panel_file), "--set", f"{key}={value}"],
                 ["sensitivity", "--dataset", str(toy_panel_file), "--vary", f"{key}={vary_value}"]):
        result = run_cli(*args)
        assert result.returncode in (0, 2), (args, result.stderr)
        if result.returncode == 2:
            assert result.stderr.startswith(("error: ", "Usage: ")), (args, result.stderr)
        _no_traceback(result)
        assert "unexpected" not in result.stderr


def test_control_characters_never_reach_the_outputs(tmp_path):
    """A null byte and other control characters in a name are removed at ingest with a ledger note; a name that is
    a formula reaches results.csv and results.xlsx as inert text."""
    from shrinkwatch import run
    from shrinkwatch.ingest import ingest

    source = _csv(tmp_path / "names.csv", "城市代码,城市,年份,常住人口(万人)\n"
                                          "110100,北京\x00市\x07,2010,2000\n110100,北京\x00市\x07,2020,1900\n"
                                          '120100,"=HYPERLINK(""http://x"",""click"")",2010,1500\n'
                                          '120100,"=HYPERLINK(""http://x"",""click"")",2020,1400\n')
    panel = ingest(source).panel
    assert panel.units.loc["110100", "name"] == "北京市"
    actions = panel.ledger.cell_actions
    assert actions["action"].eq("control characters removed").sum() == 2 and set(actions["row"]) == {2, 3}
    out = run(panel, out_dir=tmp_path / "out", analysis=False)
    for name in ("results.csv", "report.html", "summary.json"):
        assert "\x00" not in out[name].read_text(encoding="utf-8") and "\x07" not in out[name].read_text("utf-8")
    assert "'=HYPERLINK(" in out["results.csv"].read_text(encoding="utf-8")


def test_a_workbook_whose_sheet_is_cut_in_half_is_one_line(tmp_path):
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["城市代码", "城市", "年份", "常住人口(万人)"])
    for year in range(2000, 2050):
        book.active.append(["110100", "北京市", year, 2000])
    book.save(tmp_path / "good.xlsx")
    with zipfile.ZipFile(tmp_path / "good.xlsx") as good, zipfile.ZipFile(tmp_path / "cut.xlsx", "w") as cut:
        for item in good.infolist():
            data = good.read(item.filename)
            cut.writestr(item, data[:len(data) // 2] if item.filename.startswith("xl/worksheets/") else data)
    result = run_cli("ingest", str(tmp_path / "cut.xlsx"), "-o", str(tmp_path / "p.parquet"))
    assert result.returncode == 2 and "sheet 'Sheet': the sheet is damaged" in result.stderr
    _no_traceback(result)


def test_an_output_path_with_brackets_prints_as_it_is(tmp_path, data_dir):
    out = tmp_path / "[final] data" / "r"
    result = run_cli("run", "--no-analysis", "--out", str(out), "--data-dir", str(data_dir))
    assert result.returncode == 0 and f"results.csv: {out / 'results.csv'}" in result.stdout
    assert (out / "results.csv").is_file()


def test_a_sweep_too_big_for_memory_is_refused_before_it_starts(census_panel):
    """The sweep estimates what it will hold (the year grid, per-unit counters and the state of each distinct
    value, up to its cache bound) and refuses past its budget."""
    from shrinkwatch.identification.sensitivity import check_memory, sweep_bytes

    grid = {"min_loss": [i / 1000 for i in range(1000)]}
    needed = sweep_bytes(census_panel, grid)
    assert needed == 369 * 11 * 8 + 369 * 11 * 6 * 1000 + 16 * 369  # 2010-2020 on the grid: 11 years
    with pytest.raises(OptionError, match=r"about 0\.0 GiB \(369 units x 2 years x 1,000 values\)"):
        check_memory(census_panel, grid, budget=needed - 1)
    assert check_memory(census_panel, grid, budget=needed) == needed
