"""Tests of :mod:`shrinkwatch.core.panelfile`: the GeoParquet panel file, its round trip and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
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


# --- the streaming reader (issue 15): the same panel whatever the batch size and unit order ---------------

def _long_panel(unit_ids, years, cells, units_extra=None):
    """A panel with the ``{(unit, year): {indicator: value}}`` rows of ``cells`` (absent = no row)."""
    index = pd.MultiIndex.from_tuples(list(cells), names=["unit_id", "year"])
    values = pd.DataFrame(list(cells.values()), index=index, dtype=np.float64)
    units = pd.DataFrame({"name": [f"n{u}" for u in unit_ids]}, index=pd.Index(unit_ids, name="unit_id"))
    return Panel(units if units_extra is None else units.assign(**units_extra), values, {"id": "long"})


@pytest.mark.parametrize("batch_cells", [1, 7, 1 << 21])
def test_reader_known_rows_any_batch_size(tmp_path, monkeypatch, batch_cells):
    import shrinkwatch.core.panelfile as panelfile

    monkeypatch.setattr(panelfile, "_BATCH_CELLS", batch_cells)
    # units listed out of id order; u2 has no row at all; x: NaN in one cell, absent (null) in others;
    # (u3, 2012) has a row only for y, so x is NaN there
    cells = {("u3", 2010): {"x": 1.0, "y": 10.0}, ("u3", 2012): {"x": np.nan, "y": 12.0},
             ("u1", 2010): {"x": np.nan, "y": np.nan}, ("u1", 2011): {"x": 4.0, "y": np.nan},
             ("u1", 2012): {"x": 5.0, "y": 6.0}}
    panel = _long_panel(["u3", "u2", "u1"], [2010, 2011, 2012], cells)
    back = read_panel(write_panel(panel, tmp_path / "p.parquet"))
    assert back.values.index.tolist() == [("u3", 2010), ("u3", 2012), ("u1", 2010), ("u1", 2011), ("u1", 2012)]
    pd.testing.assert_frame_equal(back.values, panel.values)       # the written order (not sorted) is kept
    assert back.values.loc[("u3", 2012), "x"] != back.values.loc[("u3", 2012), "x"]   # NaN, row kept
    assert ("u2", 2010) not in back.values.index and list(back.units.index) == ["u3", "u2", "u1"]
    assert list(back.values.index.levels[0]) == ["u1", "u3"]        # levels as MultiIndex.from_arrays makes them
    # the same rows sorted: the reader regroups the units in id order and keeps the years ascending
    sorted_panel = Panel(panel.units, panel.values.sort_index(), {"id": "long"})
    back_sorted = read_panel(write_panel(sorted_panel, tmp_path / "s.parquet"))
    pd.testing.assert_frame_equal(back_sorted.values, sorted_panel.values)
    assert back_sorted.values.index.is_monotonic_increasing


@pytest.mark.parametrize("seed", range(6))
def test_reader_random_panels_round_trip(tmp_path, monkeypatch, seed):
    import shrinkwatch.core.panelfile as panelfile

    rng = np.random.default_rng(seed)
    monkeypatch.setattr(panelfile, "_BATCH_CELLS", int(rng.integers(1, 60)))
    n_units, years = int(rng.integers(1, 40)), sorted(rng.choice(np.arange(1990, 2030), 5, replace=False))
    ids = [f"{chr(97 + int(k) % 26)}{k}" for k in rng.permutation(n_units * 3)[:n_units]]
    n_indicators = int(rng.integers(1, 4))
    cells = {(u, int(y)): {f"i{k}": (np.nan if rng.random() < 0.2 else float(rng.normal())) for k in
                           range(n_indicators)} for u in ids for y in years if rng.random() < 0.7}
    if not cells:
        cells = {(ids[0], int(years[0])): {"i0": 1.0}}
    panel = _long_panel(ids, years, cells)
    if rng.random() < 0.5:
        panel = Panel(panel.units, panel.values.sort_index(), {"id": "long"})
    back = read_panel(write_panel(panel, tmp_path / "r.parquet"))
    if panel.values.index.is_monotonic_increasing:
        pd.testing.assert_frame_equal(back.values, panel.values)
    else:  # written unsorted: rows in the order of the units, years ascending within a unit
        order = {u: k for k, u in enumerate(ids)}
        expected = panel.values.sort_index(key=lambda level: level.map(order) if level.name == "unit_id" else level)
        pd.testing.assert_frame_equal(back.values, expected)
    assert list(back.units.index) == ids and back.values.index.levels[0].is_monotonic_increasing


def test_reader_empty_values_and_many_years(tmp_path):
    years = list(range(1800, 2001))  # more years than int8 year codes hold
    panel = Panel.from_series({"a": np.arange(len(years), dtype=float), "b": np.full(len(years), np.nan)}, years)
    back = read_panel(write_panel(panel, tmp_path / "y.parquet"))
    pd.testing.assert_frame_equal(back.values, panel.values)
    assert back.years == years
    empty = Panel(panel.units, panel.values.iloc[:0], {"id": "none"})
    back_empty = read_panel(write_panel(empty, tmp_path / "e.parquet"))
    assert back_empty.values.empty and list(back_empty.values.columns) == ["pop_resident"]
    assert list(back_empty.units.index) == ["a", "b"]


def test_reader_refuses_lists_of_the_wrong_length(tmp_path):
    path = write_panel(_toy_panel(), tmp_path / "p.parquet")
    table = pq.read_table(path)
    bad = pa.array([[1.0, 2.0], [1.0], [None, None]], pa.list_(pa.float64()))
    table = table.set_column(table.schema.get_field_index("gdp"), "gdp", bad)
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"p.parquet: column 'gdp': every unit's list must hold one element per "
                                        r"year \(2\)"):
        read_panel(path)


@pytest.mark.slow
def test_reader_memory_on_a_generated_panel(tmp_path):
    """100,000 units x 30 years in a fresh process: the peak stays a small multiple of the panel held."""
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from scale_panels import scale_panel

    panel = scale_panel(100_000, 30)
    path = write_panel(panel, tmp_path / "g.parquet")
    back = read_panel(path)
    pd.testing.assert_frame_equal(back.values, panel.values)
    assert back.units.geometry.equals(panel.units.geometry)
    code = ("import resource, sys; import geopandas, pyarrow.parquet; from shrinkwatch.core.panelfile import read_panel;"
            "floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; p = read_panel(sys.argv[1]);"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - floor) / 1024)")
    grown = float(subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True,
                                 text=True).stdout)
    assert grown < 280  # MiB above the imports: 183 measured; 390 before the streaming reader
