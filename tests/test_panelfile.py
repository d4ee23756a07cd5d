"""Tests of :mod:`shrinkwatch.core.panelfile`: the GeoParquet panel file, its round trip and its refusals."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from shrinkwatch.core import Ledger, Panel, PanelMeta
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.panelfile import (
    PANEL_FORMAT,
    PANEL_VERSION,
    read_panel,
    write_panel,
)


def _toy_panel(geometry: bool = False) -> Panel:
    units = pd.DataFrame({"name": ["甲", "乙", "丙"], "parent_name": ["P", None, "P"]},
                         index=pd.Index(["b2", "a1", "c3"], name="unit_id"))
    if geometry:
        units = gpd.GeoDataFrame(units, geometry=[shapely.box(0, 0, 1, 1), None, shapely.Point(3, 4)],
                                 crs="EPSG:4547")
    index = pd.MultiIndex.from_tuples([("b2", 2010), ("b2", 2020), ("a1", 2010)], names=["unit_id", "year"])
    values = pd.DataFrame({"pop_resident": [1.5, np.nan, 3.0], "gdp": [1e9, 2e9, np.nan]}, index=index)
    breaks = pd.DataFrame({"unit_id": ["b2"], "year": [2015], "treatment": ["merge_successor"]})
    meta = {"id": "toy", "vintage": 2020, "units_of": {"pop_resident": "persons"}, "boundary_breaks": breaks,
            "projected_from": np.int64(2019), "components_identity": {"frame": breaks, "years": (2010, 2020)}}
    ledger = Ledger.from_rejections(
        5, [{"file": "t.csv", "row": 4, "column": "pop", "value": "abc", "reason": "not a number"},
            {"file": "t.csv", "row": 6, "column": "year", "value": "20x5", "reason": "year not parseable"}],
        cell_actions=[{"file": "t.csv", "row": 2, "column": "lat", "value": "9..1", "action": "ignored"}],
        tallies={"zero read as missing": 2}, warnings=("look at 甲",))
    return Panel(units, values, meta, ledger)


def _assert_same_ledger(back: Ledger, ledger: Ledger) -> None:
    assert (back.rows_read, back.rows_accepted, back.rows_rejected) == \
        (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected)
    for table in ("rejected", "cell_actions", "sources", "conversions", "missing"):
        pd.testing.assert_frame_equal(getattr(back, table), getattr(ledger, table), check_dtype=False)
    assert dict(back.tallies) == dict(ledger.tallies) and back.warnings == ledger.warnings


def test_round_trip_units_values_meta_ledger(tmp_path):
    panel = _toy_panel()
    back = read_panel(write_panel(panel, tmp_path / "toy.parquet"))
    pd.testing.assert_frame_equal(back.values, panel.values)          # NaN kept, absent rows stay absent
    assert list(back.units.index) == ["b2", "a1", "c3"]                 # order kept, unit without values kept
    assert back.units.loc["a1", "name"] == "乙" and pd.isna(back.units.loc["a1", "parent_name"])
    assert "geometry" not in back.units.columns
    assert isinstance(back.meta, PanelMeta)  # typed again, not a dict
    pd.testing.assert_frame_equal(back.meta.boundary_breaks, panel.meta.boundary_breaks, check_dtype=False)
    pd.testing.assert_frame_equal(back.meta.components_identity["frame"], panel.meta.boundary_breaks,
                                  check_dtype=False)
    assert back.meta.projected_from == 2019 and back.meta.units_of == {"pop_resident": "persons"}
    assert back.meta.components_identity["years"] == [2010, 2020]
    _assert_same_ledger(back.ledger, panel.ledger)
    assert back.ledger.rows_accepted == 3 and not hasattr(back.meta, "ledger")


def test_round_trip_geometry_and_crs_stored_once_per_unit(tmp_path):
    panel = _toy_panel(geometry=True)
    path = write_panel(panel, tmp_path / "geo.parquet")
    back = read_panel(path)
    assert back.units.crs == panel.units.crs
    assert back.units.geometry.equals(panel.units.geometry)
    assert list(back.units.columns) == list(panel.units.columns)
    pd.testing.assert_frame_equal(back.values, panel.values)
    # valid GeoParquet: geopandas opens it as it is, one row per unit, values as per-unit lists
    opened = gpd.read_parquet(path)
    assert len(opened) == 3 and opened.crs == panel.units.crs and opened.geometry.equals(
        panel.units.geometry.reset_index(drop=True))
    assert opened["pop_resident"].iloc[0].tolist()[0] == 1.5
    metadata = pq.read_schema(path).metadata
    header = json.loads(metadata[b"shrinkwatch"])
    assert (header["format"], header["version"], header["years"]) == (PANEL_FORMAT, PANEL_VERSION, [2010, 2020])
    assert json.loads(metadata[b"geo"])["columns"]["geometry"]["encoding"] == "WKB"


def test_census_panel_round_trip(tmp_path, census_panel):
    back = read_panel(write_panel(census_panel, tmp_path / "census.parquet"))
    pd.testing.assert_frame_equal(back.values, census_panel.values)
    assert list(back.units.index) == list(census_panel.units.index)
    assert back.units.crs == census_panel.units.crs
    assert back.units.geometry.equals(census_panel.units.geometry)
    _assert_same_ledger(back.ledger, census_panel.ledger)
    assert back.ledger.rows_read == 369


def test_write_is_atomic(tmp_path, monkeypatch):
    path = write_panel(_toy_panel(), tmp_path / "p.parquet")
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_panel(_toy_panel(geometry=True), path)
    assert path.read_bytes() == before                                   # the old panel is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]        # and no temporary file is left


def test_refuses_other_files(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(DataError, match=r"plain.parquet: a Parquet file without ShrinkWatch panel metadata: "
                                        r"not a ShrinkWatch panel.*shrinkwatch ingest"):
        read_panel(tmp_path / "plain.parquet")
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)]).to_parquet(tmp_path / "plain_geo.parquet")
    with pytest.raises(DataError, match="a GeoParquet file without ShrinkWatch panel metadata"):
        read_panel(tmp_path / "plain_geo.parquet")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(DataError, match="not a ShrinkWatch panel file"):
        read_panel(tmp_path / "x.csv")
    with pytest.raises(DataError, match="panel file not found"):
        read_panel(tmp_path / "absent.parquet")


def test_refuses_truncated_file(tmp_path):
    path = write_panel(_toy_panel(geometry=True), tmp_path / "p.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"p.parquet: not a ShrinkWatch panel file: not readable as Parquet "
                                        r"\(truncated or damaged"):
        read_panel(path)


def _rewrite_header(path, **changes):
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata)
    header = json.loads(metadata[b"shrinkwatch"])
    header.update(changes)
    metadata[b"shrinkwatch"] = json.dumps(header).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"version": PANEL_VERSION + 1}, r"version 3, expected format 'shrinkwatch-panel' version 2: written by a newer"),
    ({"version": 1}, r"version 1, expected format 'shrinkwatch-panel' version 2: an older layout"),
    ({"format": "other-panel"}, r"a file of format 'other-panel', expected format 'shrinkwatch-panel' version 2"),
])
def test_refuses_other_format_or_version(tmp_path, changes, message):
    path = write_panel(_toy_panel(), tmp_path / "p.parquet")
    _rewrite_header(path, **changes)
    with pytest.raises(DataError, match=message) as raised:
        read_panel(path)
    assert str(path) in str(raised.value)


def test_panel_writes_refuse_what_they_cannot_store(tmp_path):
    panel = _toy_panel()
    clash = Panel(panel.units.assign(gdp=1.0), panel.values)
    with pytest.raises(DataError, match=r"unit column\(s\) \['gdp'\] clash"):
        write_panel(clash, tmp_path / "c.parquet")
    stray = Panel(panel.units.drop(index="a1"), panel.values)
    with pytest.raises(DataError, match=r"units not in Panel.units: \['a1'\]"):
        write_panel(stray, tmp_path / "s.parquet")


def test_reexported_from_ingest_and_package():
    import shrinkwatch
    from shrinkwatch import ingest

    assert ingest.read_panel is read_panel and shrinkwatch.write_panel is write_panel
