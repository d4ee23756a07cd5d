"""census-decline on the real China census: the set of shrinking units is exactly what the file says."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from shrinkwatch import identify
from shrinkwatch.core.errors import OptionError, UnknownIdError
from shrinkwatch.identification import parse_settings

CENSUS = "china/census/census_city_2010_2020.csv"


@pytest.fixture(scope="module")
def raw(data_dir):
    with open(data_dir / CENSUS, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_shrinking_set_is_exactly_the_census(census_identification, raw):
    complete = [r for r in raw if r["popu_2010"] and r["popu_2020"]]
    expected = {r["city_code"] for r in complete if int(r["popu_2020"]) < int(r["popu_2010"])}
    table = census_identification.table
    assert set(table.index[table["status"] == "shrinking"]) == expected
    assert len(expected) == 156 and len(complete) == 358
    missing = {r["city_code"] for r in raw if not (r["popu_2010"] and r["popu_2020"])}
    assert set(table.index[table["status"] == "insufficient_data"]) == missing
    assert table.loc[list(missing), "shrinking"].isna().all()


def test_counts_agree_with_each_other_and_the_data(census_identification, raw):
    counts = census_identification.counts()
    assert counts == {"units_total": 369, "units_with_data": 358, "shrinking": 156, "not_shrinking": 202,
                      "insufficient_data": 11, "boundary_change": 0}
    for column in ("kind", "parent_name", "region"):
        table = census_identification.counts_by(column)
        assert table["units"].sum() == 369
        assert table["shrinking"].sum() == 156
        assert table["insufficient_data"].sum() == 11
        assert (table["with_data"] == table["shrinking"] + table["not_shrinking"]).all()
    by_province = census_identification.counts_by("parent_name")
    raw_province = Counter(r["province"] for r in raw if r["popu_2010"] and r["popu_2020"]
                           and int(r["popu_2020"]) < int(r["popu_2010"]))
    assert by_province.loc[by_province["shrinking"] > 0, "shrinking"].to_dict() == dict(raw_province)
    # 136 of 296 units named 市 (prefecture cities + municipalities) shrank, as DOMAIN.md states
    by_kind = census_identification.counts_by("kind")
    cities = by_kind.loc[["prefecture_city", "municipality"]]
    assert cities["with_data"].sum() == 296 and cities["shrinking"].sum() == 136


def test_every_heilongjiang_unit_is_shrinking(census_identification):
    table = census_identification.table
    heilongjiang = table[table["parent_id"] == "230000"]
    assert len(heilongjiang) == 13
    assert (heilongjiang["status"] == "shrinking").all()
    assert (heilongjiang["annual_rate"] < 0).all()
    northeast = census_identification.counts_by("region").loc["Northeast"]
    assert northeast["shrinking"] == 33 and northeast["with_data"] == 36


def test_rows_are_explained(census_identification):
    table = census_identification.table
    harbin = table.loc["230100"]
    assert harbin["status"] == "shrinking" and harbin["decline_pass"]
    assert harbin["pop_resident_2010"] == 10635971 and harbin["pop_resident_2020"] == 10009854
    assert harbin["annual_rate"] == pytest.approx(((10009854 / 10635971) ** 0.1 - 1) * 100, abs=1e-4)
    assert "2010" in harbin["reason"] and "2020" in harbin["reason"]
    assert table["reason"].str.len().gt(10).all()
    assert table.loc[table["status"] == "shrinking", "severity"].isin(["mild", "moderate", "severe"]).all()


def test_min_loss_and_english_reasons(census_panel):
    strict = identify(census_panel, "census-decline", {"min_loss": "0.1"}, lang="en")
    table = strict.table
    loss = 1 - table["pop_resident_2020"] / table["pop_resident_2010"]
    assert set(table.index[table["status"] == "shrinking"]) == set(table.index[loss > 0.1])
    assert strict.counts()["shrinking"] < 156
    assert table.loc["230100", "reason"].startswith("Resident population fell")


def test_urban_population_variant(census_panel):
    urban = identify(census_panel, "census-decline", {"indicator": "pop_urban"})
    # urbanisation: far fewer units lose urban population than total population
    assert 0 < urban.counts()["shrinking"] < 156


@pytest.mark.parametrize("settings, fragment", [
    ({"nope": "1"}, "'nope'"),
    ({"min_loss": "abc"}, "'min_loss'"),
    ({"min_loss": "2"}, "maximum"),
])
def test_bad_settings_name_the_key(census_panel, settings, fragment):
    with pytest.raises(OptionError) as info:
        identify(census_panel, "census-decline", settings)
    assert fragment in str(info.value)


def test_parse_settings_and_unknown_standard(census_panel):
    assert parse_settings(["min_loss=0.05", "indicator = pop_urban"]) == {"min_loss": "0.05", "indicator": "pop_urban"}
    with pytest.raises(OptionError, match="min_loss"):
        parse_settings(["min_loss"])
    with pytest.raises(UnknownIdError, match="census-decline"):
        identify(census_panel, "no-such-standard")
