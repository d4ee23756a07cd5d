"""PanelMeta: the typed Panel.meta (fields, conversion from dicts, no dict access)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pandas as pd
import pytest

from shrinkwatch.core import Basemap, Identification, Panel, PanelMeta
from shrinkwatch.core.errors import DataError


def _toy(meta=None) -> Panel:
    units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["a", "b"], name="unit_id"))
    index = pd.MultiIndex.from_product([["a", "b"], [2010, 2020]], names=["unit_id", "year"])
    values = pd.DataFrame({"pop_resident": [100.0, 90.0, 50.0, 60.0]}, index=index)
    return Panel(units, values) if meta is None else Panel(units, values, meta)


def test_a_panel_without_meta_gets_the_defaults():
    panel = _toy()
    assert isinstance(panel.meta, PanelMeta)
    assert panel.id == "panel" and panel.language == "en" and panel.meta.notes == ()
    assert panel.meta.boundary_breaks is None and panel.observed_years == [2010, 2020]


def test_a_dict_is_converted_and_unknown_keys_are_named():
    panel = _toy({"id": "toy", "projected_from": 2020, "notes": ["one"], "basemap": {"path": "x.json"}})
    assert panel.id == "toy" and panel.observed_years == [2010]
    assert panel.meta.notes == ("one",) and panel.meta.basemap == Basemap("x.json", None)
    with pytest.raises(DataError, match=r"unknown key\(s\) \['colour', 'size'\]"):
        _toy({"id": "toy", "colour": "red", "size": 3})


def test_keys_earlier_versions_wrote_are_dropped_on_read():
    meta = PanelMeta.from_dict({"id": "old", "encodings": {"a.csv": "utf-8"}, "unit_id_scheme": "UN city code"})
    assert meta.id == "old"


def test_meta_is_frozen_and_not_a_dict():
    meta = PanelMeta(id="toy")
    with pytest.raises(FrozenInstanceError):
        meta.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        meta["id"]  # type: ignore[index]
    assert not hasattr(meta, "get")
    assert replace(meta, vintage=2020).vintage == 2020 and meta.vintage is None


def test_boundary_breaks_records_become_a_table():
    records = [{"unit_id": "a", "year": 2015, "treatment": "merge"}]
    meta = PanelMeta(boundary_breaks=records)  # type: ignore[arg-type]
    assert isinstance(meta.boundary_breaks, pd.DataFrame) and meta.boundary_breaks["year"].tolist() == [2015]
    with pytest.raises(DataError, match="harmonization must be a DataFrame"):
        PanelMeta(harmonization="a table")  # type: ignore[arg-type]


def test_to_dict_and_from_dict_round_trip():
    meta = PanelMeta(id="toy", census_years=(2010, 2020), basemap=Basemap("x.json", "land"),
                     units_of={"pop_resident": "persons"})
    data = meta.to_dict()
    assert data["basemap"] == {"path": "x.json", "layer": "land", "lines": None} and set(data) == set(PanelMeta.field_names())
    back = PanelMeta.from_dict(data)
    assert back.census_years == (2010, 2020) and back.basemap == meta.basemap and back.units_of == meta.units_of


def test_identification_carries_the_panel_meta():
    table = pd.DataFrame({"status": ["shrinking"]}, index=pd.Index(["a"], name="unit_id"))
    identification = Identification(table, "toy", {}, {"id": "toy", "unit_label": "towns"})
    assert isinstance(identification.panel_meta, PanelMeta) and identification.panel_meta.unit_label == "towns"
