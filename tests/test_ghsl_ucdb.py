"""GHS-UCDB adapter: the real one-centre example, and the expansion paradox measured on the UCDB schema."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from shrinkwatch import identify, load
from shrinkwatch.analysis.analyse import expansion_paradox
from shrinkwatch.core.errors import DataError
from shrinkwatch.datasets.ghsl_ucdb import read_ucdb
from test_output_formats import check_summary, check_workbook

from conftest import run_cli

UCDB = "grids/ghsl_ucdb_example/Las_Palmas_GHS_STAT_UCDB2015MT_GLOBE_R2019A_V1_2.gpkg"


@pytest.fixture(scope="module")
def raw(data_dir):
    return gpd.read_file(data_dir / UCDB)


def test_example_reads_as_published(raw, data_dir):
    panel = load("ghsl-ucdb-example", data_dir)
    assert panel.years == [1975, 1990, 2000, 2015]
    assert panel.units.loc["1494", "name"] == "Las Palmas de Gran Canaria"
    assert panel.units.loc["1494", "parent_name"] == "Spain" and panel.units.loc["1494", "region"] == "Europe"
    for suffix, year in (("75", 1975), ("90", 1990), ("00", 2000), ("15", 2015)):
        assert panel.values.loc[("1494", year), "pop_resident"] == pytest.approx(float(raw[f"P{suffix}"].iloc[0]))
        assert panel.values.loc[("1494", year), "builtup_km2"] == pytest.approx(float(raw[f"B{suffix}"].iloc[0]))
    ledger = panel.ledger
    assert ledger.rows_read == 1 and ledger.rows_accepted + len(ledger.rejected) == 1


def test_tapio_state_of_the_real_centre(data_dir, raw):
    panel = load("ghsl-ucdb-example", data_dir)
    result = expansion_paradox(identify(panel, "census-decline"), panel)
    row = result.table.loc["1494"]
    population = float(raw["P15"].iloc[0]) / float(raw["P75"].iloc[0]) - 1
    land = float(raw["B15"].iloc[0]) / float(raw["B75"].iloc[0]) - 1
    assert row["elasticity"] == pytest.approx(land / population)
    assert 0 < land / population < 0.8 and row["tapio_state"] == "weak decoupling"
    assert result.denominator == 0 and result.share is None  # nothing shrinks: no denominator, no share


def test_paradox_on_a_shrinking_centre(tmp_path, raw):
    """A centre that lost people while its built-up area grew is the paradox: 1 of 1."""
    frame = raw.copy()
    frame["P15"] = frame["P75"] * 0.9  # written by the test: population down 10% 1975-2015
    path = tmp_path / "shrinking.gpkg"
    frame.to_file(path, driver="GPKG")
    panel = read_ucdb(path)
    verdict = identify(panel, "census-decline")
    assert verdict.table.loc["1494", "status"] == "shrinking"
    result = expansion_paradox(verdict, panel)
    assert (result.n_grew, result.denominator, result.share) == (1, 1, 1.0)
    assert result.table.loc["1494", "tapio_state"] == "strong negative decoupling"


def test_run_on_a_ucdb_file_and_bad_schema(tmp_path, raw, data_dir):
    out = tmp_path / "out"
    done = run_cli("run", "--dataset", str(data_dir / UCDB), "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["expansion_paradox"]["builtup_present"] is True
    check_summary(out / "summary.json")  # the paradox with built-up data: numbers, Tapio states as records
    check_workbook(out / "results.xlsx")  # the tapio sheet documented
    assert "weak decoupling" in (out / "report.html").read_text(encoding="utf-8")
    broken = raw.drop(columns=["B15"])
    path = tmp_path / "broken.gpkg"
    broken.to_file(path, driver="GPKG")
    with pytest.raises(DataError, match="B15"):
        read_ucdb(path)
