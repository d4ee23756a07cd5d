"""Real-data tests: US county estimates (Vintage 2019) and UN WUP 2018 File 22.

Facts are recomputed from the raw files with the ``csv`` module and openpyxl,
independently of the adapters, and compared with the Panels.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from shrinkwatch import datasets, identify
from shrinkwatch.core.errors import DataError
from shrinkwatch.datasets.un_wup import M49_REGIONS
from shrinkwatch.datasets.us_county import load_county_estimates, repair_mojibake

from conftest import run_cli

COUNTY_CSV = "us/county_estimates/co-est2019-alldata.csv"
WUP_XLSX = "world/un_wup2018/WUP2018-F22-Cities_Over_300K_Annual.xlsx"
COUNTIES_TOPOJSON = "us/boundaries/counties-10m.json"
NATURAL_EARTH = "world/boundaries/naturalearth_lowres/naturalearth_lowres.shp"
YEARS = list(range(2010, 2020))


# ---------------------------------------------------------------- fixtures (one load per module)

@pytest.fixture(scope="module")
def county_rows(data_dir) -> list[dict[str, str]]:
    with open(data_dir / COUNTY_CSV, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def us(data_dir):
    return datasets.load("us-county-est", data_dir)


@pytest.fixture(scope="module")
def wup_rows(data_dir) -> list[tuple]:
    book = openpyxl.load_workbook(data_dir / WUP_XLSX, read_only=True, data_only=True)
    rows = list(book["Data"].iter_rows(min_row=17, values_only=True))
    book.close()
    return rows  # rows[0] is the header (row 17)


@pytest.fixture(scope="module")
def wup(data_dir):
    return datasets.load("world-wup2018", data_dir)


def _fips(row: dict[str, str]) -> str:
    return row["STATE"].zfill(2) + row["COUNTY"].zfill(3)


# ---------------------------------------------------------------- US counties

@pytest.mark.slow
def test_us_counts_ids_and_years(us, county_rows):
    counties = [r for r in county_rows if int(r["SUMLEV"]) == 50]
    assert len(counties) == 3142
    assert len(us.units) == 3142
    assert us.units.index.str.fullmatch(r"\d{5}").all()
    assert set(us.units.index) == {_fips(r) for r in counties}
    assert us.years == YEARS and us.observed_years == YEARS
    assert us.values.shape == (3142 * 10, 8)
    assert set(us.indicators) == {"pop_resident", "births", "deaths", "natural_increase", "net_migration",
                                  "net_international_migration", "net_domestic_migration", "residual"}
    # state rows are parents, never units
    assert not us.units.index.str.endswith("000").any()
    assert us.meta.language == "en" and us.meta.country == "United States"
    assert us.meta.encoding == "utf-8-sig"  # the shared copy carries a BOM


@pytest.mark.slow
def test_us_ledger_balances(us, county_rows):
    ledger = us.ledger
    assert ledger.rows_read == len(county_rows) == 3193
    assert ledger.rows_accepted + len(ledger.rejected) == ledger.rows_read
    assert dict(ledger.tallies) == {"accepted as county (unit)": 3142, "accepted as state (parent and benchmark)": 51}
    assert ledger.rejected.empty


@pytest.mark.slow
def test_us_values_are_popestimate_and_shrinking_count(us, county_rows):
    counties = {_fips(r): r for r in county_rows if int(r["SUMLEV"]) == 50}
    shrinking_raw = sum(int(r["POPESTIMATE2019"]) < int(r["POPESTIMATE2010"]) for r in counties.values())
    wide = us.wide("pop_resident")
    assert shrinking_raw == int((wide[2019] < wide[2010]).sum()) == 1686
    # POPESTIMATE, not CENSUS2010POP or ESTIMATESBASE2010
    la = counties["06037"]
    assert wide.loc["06037", 2010] == float(la["POPESTIMATE2010"]) != float(la["CENSUS2010POP"])
    assert wide.loc["06037", 2019] == float(la["POPESTIMATE2019"]) == 10039107
    assert us.units.loc["06037", "census2010_pop"] == float(la["CENSUS2010POP"])
    for stem, indicator in (("BIRTHS", "births"), ("DOMESTICMIG", "net_domestic_migration"), ("RESIDUAL", "residual")):
        raw = np.array([[float(counties[u][f"{stem}{y}"]) for y in YEARS] for u in us.units.index])
        assert np.array_equal(us.matrix(indicator), raw), indicator


@pytest.mark.slow
def test_us_components_identity(us):
    """P(t) - P(t-1) = births - deaths + international + domestic + residual, exactly.

    For 2010 the component year runs April 1 - July 1, 2010, so P(t-1) is the
    April 1, 2010 estimates base, not a July 1, 2009 estimate.
    """
    pop = us.matrix("pop_resident")
    previous = np.column_stack([us.units["estimates_base_2010"].to_numpy(dtype=float), pop[:, :-1]])
    components = (us.matrix("births") - us.matrix("deaths") + us.matrix("net_international_migration")
                  + us.matrix("net_domestic_migration") + us.matrix("residual"))
    assert np.array_equal(pop - previous, components)
    assert np.array_equal(us.matrix("natural_increase"), us.matrix("births") - us.matrix("deaths"))
    assert np.array_equal(us.matrix("net_migration"),
                          us.matrix("net_international_migration") + us.matrix("net_domestic_migration"))
    # the partial 2010 year is small: births in 2010 are about a quarter of 2011's
    births = us.wide("births").sum()
    assert 0.2 < births[2010] / births[2011] < 0.3
    assert set(us.meta.components_identity["failures"].values()) == {0}


@pytest.mark.slow
def test_us_parents_regions_divisions(us, county_rows):
    states = {r["STATE"].zfill(2): r for r in county_rows if int(r["SUMLEV"]) == 40}
    assert len(states) == 51
    assert us.units["parent_id"].nunique() == 51
    assert (us.units["parent_name"] == us.units["parent_id"].map(lambda s: states[s]["STNAME"])).all()
    regions = Counter(r["REGION"] for r in county_rows if int(r["SUMLEV"]) == 50)
    assert us.units["region"].value_counts().to_dict() == {
        "South": regions["3"], "Midwest": regions["2"], "West": regions["4"], "Northeast": regions["1"]}
    assert us.units["division"].nunique() == 9
    assert us.units.loc["36061", ["region", "division"]].tolist() == ["Northeast", "Middle Atlantic"]
    # the state benchmark equals the sum of the state rows, and the sum of the counties
    for year in YEARS:
        state_total = sum(int(r[f"POPESTIMATE{year}"]) for r in states.values())
        assert us.meta.benchmark["pop_resident"][year] == state_total == us.wide("pop_resident")[year].sum()
    assert us.meta.parent_totals["pop_resident"]["26"][2019] == float(states["26"]["POPESTIMATE2019"])


@pytest.mark.slow
def test_us_kinds(us, county_rows):
    names = [r["CTYNAME"] for r in county_rows if int(r["SUMLEV"]) == 50]
    assert int((us.units["kind"] == "county").sum()) == sum(n.endswith(" County") for n in names) == 3007
    detail = us.units["kind_detail"].value_counts().to_dict()
    assert detail["parish"] == 64 and (us.units.loc[us.units["kind_detail"] == "parish", "parent_id"] == "22").all()
    assert detail["independent city"] == 41  # 38 in Virginia, Baltimore, St. Louis, Carson City
    assert detail["city and borough"] == 4 and detail["federal district"] == 1
    assert us.units.loc["51760", "kind_detail"] == "independent city"  # Richmond city, VA


@pytest.mark.slow
def test_us_garbled_name_repaired_by_fips(us, county_rows):
    raw = {_fips(r): r["CTYNAME"] for r in county_rows if int(r["SUMLEV"]) == 50}
    assert raw["35013"] == "DoÒa Ana County"  # the published damage
    assert us.units.loc["35013", "name"] == "Doña Ana County"
    actions = us.ledger.cell_actions
    assert list(zip(actions["row"], actions["column"], actions["value"])) == [(1836, "CTYNAME", "DoÒa Ana County")]
    assert repair_mojibake(pd.Series(["Autauga County", "Añasco"])).tolist() == ["Autauga County", "Añasco"]


@pytest.mark.slow
def test_us_geometry_coverage(us, data_dir):
    assert isinstance(us.units, gpd.GeoDataFrame) and us.units.crs.to_epsg() == 4326
    # Falls Church city, VA (5 km2) collapses to a there-and-back line in the 1:10m TopoJSON
    topology = json.loads((data_dir / COUNTIES_TOPOJSON).read_text())
    falls_church = next(g for g in topology["objects"]["counties"]["geometries"] if g.get("id") == "51610")
    arcs = [np.cumsum(np.array(topology["arcs"][a]), axis=0) for a in falls_church["arcs"][0]]
    assert shapely.Polygon(np.vstack(arcs)).area == 0
    assert list(us.meta.geometry_missing) == [
        {"unit_id": "51610", "name": "Falls Church city", "reason": "zero-area (collapsed) polygon in the 1:10m TopoJSON"}]
    has_geometry = us.units.geometry.notna()
    assert has_geometry.sum() == 3141 and not has_geometry["51610"]
    assert us.units.geometry[has_geometry].is_valid.all() and not us.units.geometry[has_geometry].is_empty.any()
    boundaries = us.meta.boundaries
    assert boundaries["features"] == 3231 and boundaries["matched"] == 3142 and boundaries["with_geometry"] == 3141
    # features without an estimate are the territories: AS, GU, MP, PR, VI
    assert {u[:2] for u in boundaries["unmatched_features"]} == {"60", "66", "69", "72", "78"}
    # Cook County IL lies around Chicago
    centroid = us.units.loc["17031"].geometry.centroid
    assert -88.3 < centroid.x < -87.5 and 41.4 < centroid.y < 42.2
    files = datasets.get_dataset("us-county-est").files
    assert [f.path for f in files] == [COUNTY_CSV, COUNTIES_TOPOJSON]


@pytest.mark.slow
def test_us_latin1_publication_reads_the_same(us, data_dir, tmp_path):
    """The Census Bureau publishes this file in Latin-1 with zero-padded codes (SUMLEV 050, STATE 01,
    COUNTY 001); that reads to the same panel as the shared UTF-8 copy with unpadded codes."""
    frame = pd.read_csv(data_dir / COUNTY_CSV, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for column, width in (("SUMLEV", 3), ("STATE", 2), ("COUNTY", 3)):
        frame[column] = frame[column].str.zfill(width)
    frame["CTYNAME"] = frame["CTYNAME"].str.replace("DoÒa Ana", "Doña Ana")
    latin1 = tmp_path / "co-est2019-alldata.csv"
    latin1.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    assert b"\n050,3,6,01,001," in latin1.read_bytes()
    panel = load_county_estimates([latin1], datasets.get_dataset("us-county-est"))
    assert panel.meta.encoding == "cp1252"
    assert panel.units.loc["35013", "name"] == "Doña Ana County"
    assert panel.ledger.cell_actions.empty
    pd.testing.assert_frame_equal(panel.values, us.values)
    assert "geometry" not in panel.units.columns and panel.meta.geometry_missing == ()


def test_us_bad_rows_are_rejected_with_reasons(data_dir, tmp_path):
    lines = (data_dir / COUNTY_CSV).read_text(encoding="utf-8-sig").splitlines()
    bad_county = lines[2].split(",")
    bad_county[4] = "1x"
    duplicate = lines[3]
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines[:5] + [",".join(bad_county), duplicate]) + "\n", encoding="utf-8")
    panel = load_county_estimates([small], datasets.get_dataset("us-county-est"))
    ledger = panel.ledger
    assert ledger.rows_read == 6 and ledger.rows_accepted == 4
    assert list(zip(ledger.rejected["row"], ledger.rejected["column"], ledger.rejected["reason"])) == [
        (6, "COUNTY", "not a 3-digit county FIPS code"),
        (7, "COUNTY", "duplicate STATE+COUNTY code (first occurrence kept)"),
    ]
    assert len(panel.units) == 3


def test_us_missing_column_is_a_data_error(data_dir, tmp_path):
    frame = pd.read_csv(data_dir / COUNTY_CSV, encoding="utf-8-sig", dtype=str, nrows=3)
    broken = tmp_path / "broken.csv"
    frame.drop(columns=["POPESTIMATE2015"]).to_csv(broken, index=False)
    with pytest.raises(DataError, match=r"broken\.csv.*POPESTIMATE2015"):
        load_county_estimates([broken], datasets.get_dataset("us-county-est"))


@pytest.mark.slow
def test_us_identify(us):
    result = identify(us, "census-decline")
    assert result.counts() == {"units_total": 3142, "units_with_data": 3142, "shrinking": 1686,
                               "not_shrinking": 1456, "insufficient_data": 0, "boundary_change": 0}
    by_region = result.counts_by("region")
    assert by_region["units"].sum() == 3142 and set(by_region.index) == {"Northeast", "Midwest", "South", "West"}


# ---------------------------------------------------------------- UN WUP 2018

@pytest.mark.slow
def test_wup_counts_ids_and_years(wup, wup_rows):
    header, body = wup_rows[0], [r for r in wup_rows[1:] if any(v is not None for v in r)]
    assert header[:5] == ("Index", "Country Code", "Country or area", "City Code", "Urban Agglomeration")
    assert len(body) == 1860 == len(wup.units)
    codes = [str(r[3]) for r in body]
    assert len(set(codes)) == 1860  # city codes are unique: they are the unit ids
    assert set(wup.units.index) == set(codes)
    assert wup.units["parent_id"].nunique() == len({r[1] for r in body}) == 154
    assert wup.years == list(range(1950, 2036))
    assert (wup.units["kind"] == "urban agglomeration").all()


@pytest.mark.slow
def test_wup_ledger_balances(wup):
    ledger = wup.ledger
    assert ledger.rows_read == 1860
    assert ledger.rows_accepted + len(ledger.rejected) == ledger.rows_read
    assert ledger.rejected.empty and ledger.cell_actions.empty


@pytest.mark.slow
def test_wup_projections_are_marked(wup):
    assert wup.meta.projected_from == 2019
    assert wup.observed_years == list(range(1950, 2019))
    assert any("projection" in note for note in wup.meta.notes)


@pytest.mark.slow
def test_wup_thousands_become_persons(wup, wup_rows):
    header = list(wup_rows[0])
    body = [r for r in wup_rows[1:] if r[0] is not None]
    column = {int(h) if isinstance(h, (int, float)) else h: i for i, h in enumerate(header)}
    tokyo = next(r for r in body if r[4] == "Tokyo")
    assert wup.wide("pop_resident").loc[str(tokyo[3]), 2018] == round(tokyo[column[2018]] * 1000) == 37468302
    # agglomerations smaller in 2018 than in 2000, counted from the raw sheet
    declined = sum(r[column[2018]] < r[column[2000]] for r in body)
    wide = wup.wide("pop_resident")
    assert declined == int((wide[2018] < wide[2000]).sum())
    assert declined > 0


@pytest.mark.slow
def test_wup_regions_from_m49_agree_with_natural_earth(wup, data_dir):
    assert set(wup.units["parent_id"].astype(int)) <= set(M49_REGIONS)
    assert wup.units["region"].notna().all()
    continents = gpd.read_file(data_dir / NATURAL_EARTH)[["continent", "geometry"]]
    joined = gpd.sjoin(wup.units[["region", "geometry"]], continents, how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()]
    allowed = {"Africa": {"Africa"}, "Asia": {"Asia"}, "Europe": {"Europe"}, "Oceania": {"Oceania"},
               "Northern America": {"North America"},
               "Latin America and the Caribbean": {"North America", "South America"}}
    agree = [continent in allowed[region] for region, continent in zip(joined["region"], joined["continent"])]
    assert len(joined) > 1700 and all(agree)


@pytest.mark.slow
def test_wup_geometry_and_notes(wup, wup_rows):
    assert wup.units.crs.to_epsg() == 4326 and wup.units.geometry.notna().all()
    assert (wup.units.geometry.x == wup.units["longitude"]).all()
    with_note = [r for r in wup_rows[1:] if r[0] is not None and r[5] is not None]
    assert int(wup.units["note"].notna().sum()) == len(with_note) == 694
    assert wup.units.loc["20006", "name"] == "El Djazaïr  (Algiers)"  # as published, double space and all
    assert wup.units.loc["20006", "note"] == "Refers to the Governorate of Grand Algiers."


@pytest.mark.slow
def test_wup_identify_uses_observed_years_only(wup):
    result = identify(wup, "census-decline")
    assert set(result.table["end_year"]) == {2018} and set(result.table["start_year"]) == {1950}
    assert result.counts()["units_total"] == 1860
    assert "Leipzig" in set(result.shrinking["name"])


# ---------------------------------------------------------------- the command line

@pytest.mark.slow
@pytest.mark.parametrize("dataset_id, expected", [("us-county-est", 3142), ("world-wup2018", 1860)])
def test_cli_identify(dataset_id, expected, tmp_path):
    out = tmp_path / "identify.csv"
    done = run_cli("identify", "--dataset", dataset_id, "--output", str(out))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, dtype={"unit_id": str})
    assert len(table) == expected and table["unit_id"].is_unique


# ---------------------------------------------------------------- US historical city census (CESTA)

CITY_CSV = "us/city_census/1790-2010_MASTER.csv"
CENSUS_YEARS = list(range(1790, 2011, 10))


@pytest.fixture(scope="module")
def city_rows(data_dir) -> list[dict[str, str]]:
    with open(data_dir / CITY_CSV, encoding="utf-8", newline="") as handle:  # csv copes with bare CR
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def cities(data_dir):
    return datasets.load("us-city-census", data_dir)


def test_city_file_is_cr_only(data_dir):
    raw = (data_dir / CITY_CSV).read_bytes()
    assert b"\n" not in raw and raw.count(b"\r") == 8915


@pytest.mark.slow
def test_city_counts_and_ledger(cities, city_rows):
    assert len(city_rows) == 8915
    no_figure = [r["ID"] for r in city_rows if all(r[str(y)].strip() in ("", "0") for y in CENSUS_YEARS)]
    assert len(no_figure) == 9
    ledger = cities.ledger
    assert ledger.rows_read == 8915 and ledger.rows_accepted == 8906 == len(cities.units)
    assert ledger.rows_accepted + len(ledger.rejected) == ledger.rows_read
    assert sorted(ledger.rejected["value"]) == sorted(no_figure)
    assert cities.meta.line_endings == "CR"
    assert cities.years == CENSUS_YEARS and cities.observed_years == CENSUS_YEARS


@pytest.mark.slow
def test_city_zero_means_no_figure(cities, city_rows):
    kept = [r for r in city_rows if r["ID"] in cities.units.index]
    zeros = sum(r[str(y)].strip() == "0" for r in kept for y in CENSUS_YEARS)
    figures = sum(r[str(y)].strip() not in ("", "0") for r in kept for y in CENSUS_YEARS)
    pop = cities.values["pop_resident"]
    assert not (pop == 0).any()
    assert int(pop.notna().sum()) == figures
    assert cities.ledger.tallies["zero read as missing"] == zeros
    # Anchorage had no figure before 1920: NaN, not a town of zero people
    anchorage = cities.wide("pop_resident").loc["1"]
    assert anchorage.loc[:1910].isna().all() and anchorage[1920] == 1900 and anchorage[2010] == 291826
    nyc = next(r for r in city_rows if r["CityST"] == "New York City, NY")
    assert cities.wide("pop_resident").loc[nyc["ID"], 2010] == float(nyc["2010"]) == 8175133


@pytest.mark.slow
def test_city_decline_2000_2010(cities, city_rows):
    both = [r for r in city_rows if r["2000"].strip() not in ("", "0") and r["2010"].strip() not in ("", "0")]
    declined = sum(int(r["2010"]) < int(r["2000"]) for r in both)
    result = identify(cities, "census-decline", {"start_year": 2000, "end_year": 2010})
    counts = result.counts()
    assert counts["units_with_data"] == len(both) == 6475
    assert counts["shrinking"] == declined == 2170
    assert counts["insufficient_data"] == 8906 - 6475


@pytest.mark.slow
def test_city_states_and_regions(cities, county_rows):
    from shrinkwatch.datasets.us_city import US_STATES

    # the state table agrees with the Census Bureau's own state rows
    census = {r["STATE"].zfill(2): (r["STNAME"], int(r["REGION"]), int(r["DIVISION"]))
              for r in county_rows if int(r["SUMLEV"]) == 40}
    assert {fips: (name, region, division) for fips, name, region, division in US_STATES.values()} == census
    assert cities.units["parent_id"].nunique() == 51
    indian_territory = cities.units[cities.units["state_as_recorded"] == "IT"]
    assert len(indian_territory) == 6 and (indian_territory["parent_name"] == "Oklahoma").all()


@pytest.mark.slow
def test_city_geocoding_errors_dropped(cities, city_rows):
    raw = {r["ID"]: r for r in city_rows}
    # Bing placed West Damascus, CA in Ontario
    assert float(raw["9485"]["LAT_BING"]) > 43 and float(raw["9485"]["LON_BING"]) > -81
    assert cities.units.loc["9485", "geometry"] is None
    missing = {m["unit_id"]: m for m in cities.meta.geometry_missing}
    assert "9485" in missing and missing["9485"]["degrees_outside_state"] > 30
    assert len(missing) == int(cities.units.geometry.isna().sum()) == 72
    placed = cities.units[cities.units.geometry.notna()]
    assert placed.crs.to_epsg() == 4326
    assert placed.geometry.y.between(18, 72).all() and placed.geometry.x.between(-180, -66).all()
    # the unreadable coordinate is reported, not guessed
    actions = cities.ledger.cell_actions
    assert list(zip(actions["column"], actions["value"])) == [("LAT_BING", "36.36.960974")]


@pytest.mark.slow
def test_wup_projections_only_when_asked_and_marked(wup):
    from shrinkwatch import identify

    default = identify(wup, "census-decline")
    assert default.parameters["end_year"] == 2018 and not default.table["uses_projection"].any()
    asked = identify(wup, "census-decline", {"start_year": 2018, "end_year": 2030})
    assert asked.table["uses_projection"].all()
    assert asked.table["reason"].str.contains("projected values").all()


@pytest.mark.slow
def test_city_census_compares_the_last_two_censuses_by_default(data_dir):
    """On a decennial series census-decline compares 2000 with 2010, not 1790 with 2010."""
    from shrinkwatch import identify, load

    panel = load("us-city-census", data_dir)
    result = identify(panel, "census-decline")
    assert (result.parameters["start_year"], result.parameters["end_year"]) == (2000, 2010)
    wide = panel.wide("pop_resident", [2000, 2010])
    both = wide.notna().all(axis=1)
    assert result.counts()["units_with_data"] == int(both.sum())
    assert result.counts()["shrinking"] == int((wide.loc[both, 2010] < wide.loc[both, 2000]).sum())
