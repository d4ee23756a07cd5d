"""Outside panels in (issue 10): what a published panel needs from intake, one regression test per fault."""

from __future__ import annotations

import pytest

from shrinkwatch.identification import list_standards
from shrinkwatch.ingest import CANONICAL_INDICATORS, ingest

from conftest import run_cli


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("standard", list_standards(), ids=lambda s: s.id)
def test_every_default_indicator_of_a_built_in_standard_can_be_ingested(standard):
    wanted = [spec.default for key, spec in standard.parameters.items() if key == "indicator" or key.endswith("_indicator")]
    wanted += [spec.column for spec in standard.indicators or []]
    assert wanted and set(wanted) <= set(CANONICAL_INDICATORS), set(wanted) - set(CANONICAL_INDICATORS)


def test_real_gdp_is_a_canonical_indicator_files_can_supply(tmp_path):
    headed = ingest(_csv(tmp_path / "a.csv", "城市代码,城市,年份,实际GDP(亿元)\n140100,太原市,2015,2735\n")).panel
    assert headed.values.loc[("140100", 2015), "gdp_real"] == pytest.approx(2735e8)
    stata_named = ingest(_csv(tmp_path / "b.csv", "code,year,rgdp\n140100,2015,2735\n"), units={"rgdp": "亿元"}).panel
    assert stata_named.values.loc[("140100", 2015), "gdp_real"] == pytest.approx(2735e8)


def test_names_that_vary_across_years_or_are_missing(tmp_path):
    """太原 / 太原市 / empty across years: the unit keeps its latest non-empty name, the variants are kept, and a unit
    with no name at all is named by its code; nothing crashes (it raised TypeError in `_units`)."""
    source = _csv(tmp_path / "outside.csv", "prefid,year,prefecture,pop\n140100,2015,太原,360\n140100,2016,太原市,365\n"
                                            "140100,2017,,370\n140200,2015,,300\n140200,2016,,301\n")
    result = run_cli("ingest", str(source), "-o", str(tmp_path / "p.parquet"), "--map", "prefid=unit_id",
                     "--map", "prefecture=name", "--map", "pop=pop_registered", "--unit", "pop=万人")
    assert result.returncode == 0, result.stderr
    assert "140100: 太原 / 太原市" in result.stdout
    from shrinkwatch import read_panel

    units = read_panel(tmp_path / "p.parquet").units
    assert units.loc["140100", "name"] == "太原市" and units.loc["140100", "name_variants"] == "太原; 太原市"
    assert units.loc["140200", "name"] == "140200" and units.loc["140200", "name_variants"] is None


def test_a_criterion_no_unit_can_be_judged_on_is_named_in_the_headline(tmp_path):
    """The seed's standard on a panel without built-up area: the land criterion is named as not assessed in the
    headline, summary.json and the command's output, never left to a bare '0 shrinking'."""
    import json

    from shrinkwatch import Panel, run

    years = list(range(2014, 2021))
    falling, rising = [100 - i for i in range(7)], [100 + i for i in range(7)]
    population = Panel.from_series({"a": falling, "b": rising}, years=years)
    gdp = Panel.from_series({"a": [10 * 1.01 ** i for i in range(7)], "b": [10 * 1.08 ** i for i in range(7)]},
                            years=years, indicator="gdp_real")
    panel = Panel(population.units, population.values.join(gdp.values), {"id": "no-land"})
    out = run(panel, "cn-2025", {"gdp_benchmark": "5"}, out_dir=tmp_path / "out", analysis=False)
    summary = json.loads(out["summary.json"].read_text(encoding="utf-8"))
    assert summary["criteria_not_assessed"] == ["land"]
    html = out["report.html"].read_text(encoding="utf-8")
    assert "Not assessed for any unit: land (land-population elasticity" in html
    result = run_cli("run", "--dataset", str(_panel_file(panel, tmp_path)), "--standard", "cn-2025",
                     "--set", "gdp_benchmark=5", "--no-analysis", "--out", str(tmp_path / "cli"))
    assert result.returncode == 0 and "not assessed for any unit (the dataset lacks what they need): land" in result.stdout


def _panel_file(panel, tmp_path):
    from shrinkwatch import write_panel

    return write_panel(panel, tmp_path / "no-land.parquet")
