"""The dataset registry, data-directory lookup, fetch, and the China prefecture census adapter."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shrinkwatch import datasets
from shrinkwatch.core.errors import (
    ChecksumError,
    DataDirectoryNotFoundError,
    UnknownIdError,
)

CENSUS = "china/census/census_city_2010_2020.csv"


def _raw_rows(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / CENSUS, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_registry_checksums_match_the_shared_mirror(data_dir):
    sums = {}
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.removeprefix("./")] = digest
    for ds in datasets.list_datasets():
        for f in ds.files:
            if f.pinned or not ds.raster:  # global rasters: unverified until their first fetch (test_grid.py)
                assert sums[f.path] == f.sha256, f"{ds.id}: {f.path}"
            assert f.url.startswith("https://")
        assert ds.licence and ds.citation and ds.publisher_url


def test_data_dir_order(tmp_path, monkeypatch, data_dir):
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    monkeypatch.setenv("SHRINKWATCH_DATA", str(env_dir))
    assert datasets.resolve_data_dir(explicit) == explicit.resolve()
    assert datasets.resolve_data_dir() == env_dir.resolve()
    monkeypatch.delenv("SHRINKWATCH_DATA")
    work = tmp_path / "project"
    (work / "data").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert datasets.resolve_data_dir() == (work / "data").resolve()
    shutil.rmtree(work / "data")
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    assert datasets.resolve_data_dir() == shared.resolve()


def test_missing_data_dir_names_every_place(tmp_path, monkeypatch):
    monkeypatch.delenv("SHRINKWATCH_DATA", raising=False)
    work = tmp_path / "a" / "project"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    with pytest.raises(DataDirectoryNotFoundError) as info:
        datasets.resolve_data_dir()
    message = str(info.value)
    assert str(work / "data") in message
    assert str(work.parent / "shared" / "data") in message
    assert "shrinkwatch data fetch" in message


def test_unknown_dataset_lists_valid_ids():
    with pytest.raises(UnknownIdError) as info:
        datasets.get_dataset("cn-nope")
    assert "cn-prefecture-census" in str(info.value)


def test_fetch_from_mirror_verifies_and_rejects_damage(tmp_path, data_dir):
    target = tmp_path / "data"
    written = datasets.fetch(["cn-prefecture-census"], target, data_dir)
    assert written == [target / CENSUS]
    assert datasets.sha256_of(target / CENSUS) == datasets.get_dataset("cn-prefecture-census").files[0].sha256
    # a damaged mirror is refused, and the damaged file is not kept
    mirror = tmp_path / "mirror"
    (mirror / CENSUS).parent.mkdir(parents=True)
    content = (data_dir / CENSUS).read_bytes()
    (mirror / CENSUS).write_bytes(content.replace(b"21893095", b"21893096", 1))
    fresh = tmp_path / "fresh"
    with pytest.raises(ChecksumError) as info:
        datasets.fetch(["cn-prefecture-census"], fresh, mirror)
    assert CENSUS in str(info.value)
    assert not (fresh / CENSUS).exists()


def test_load_refuses_a_damaged_file(tmp_path, data_dir):
    (tmp_path / CENSUS).parent.mkdir(parents=True)
    content = (data_dir / CENSUS).read_bytes()
    (tmp_path / CENSUS).write_bytes(content.replace(b"21893095", b"21893096", 1))
    with pytest.raises(ChecksumError) as info:
        datasets.load("cn-prefecture-census", tmp_path)
    assert str(tmp_path / CENSUS) in str(info.value)


def test_census_panel_matches_the_raw_file(census_panel, data_dir):
    rows = _raw_rows(data_dir)
    units = census_panel.units
    assert len(units) == len(rows) == 369
    assert units.index.tolist() == [r["city_code"] for r in rows]
    assert census_panel.years == [2010, 2020]
    ledger = census_panel.ledger
    assert ledger.rows_read == 369 and not hasattr(census_panel.meta, "ledger")
    assert ledger.rows_accepted + len(ledger.rejected) == ledger.rows_read
    for row in rows:
        for year in (2010, 2020):
            raw = row[f"popu_{year}"]
            value = census_panel.values.loc[(row["city_code"], year), "pop_resident"]
            if raw == "":
                assert np.isnan(value)
            else:
                assert value == float(raw)
    assert units.geometry.notna().all()
    assert units.crs.to_epsg() == 4326
    # every geometry lies in or near China
    minx, miny, maxx, maxy = units.total_bounds
    assert 73 < minx and maxx < 136 and 3 < miny and maxy < 54


def test_unit_kinds_and_regions(census_panel):
    units = census_panel.units
    kinds = Counter(units["kind"])
    assert kinds == {"prefecture_city": 293, "autonomous_prefecture": 30, "province_county": 30,
                     "prefecture": 7, "municipality": 4, "league": 3, "sar": 2}
    assert units.loc["230100", "kind"] == "prefecture_city"
    assert units.loc["232700", "kind"] == "prefecture"  # Daxing'anling
    assert units.loc["500100", "kind"] == "municipality"
    assert units.loc["469002", "kind"] == "province_county"
    heilongjiang = units[units["parent_id"] == "230000"]
    assert len(heilongjiang) == 13 and set(heilongjiang["region"]) == {"Northeast"}
    assert set(units.loc[units["parent_name"] == "广东省", "region"]) == {"East"}
    assert set(units.loc[units["parent_name"] == "四川省", "region"]) == {"West"}
    assert set(units.loc[units["parent_name"] == "河南省", "region"]) == {"Central"}


def test_panel_does_not_modify_the_callers_tables():
    import pandas as pd

    from shrinkwatch import Panel

    units = pd.DataFrame({"name": ["A"]}, index=pd.Index(["a"], name="unit_id"))
    values = pd.DataFrame({"pop_resident": [1.0]},
                          index=pd.MultiIndex.from_tuples([("a", 2010)], names=["unit_id", "year"]))
    panel = Panel(units, values)
    assert list(units.columns) == ["name"]
    assert {"parent_name", "kind", "region", "country"} <= set(panel.units.columns)
