"""Adapter: US Census Bureau county population estimates, Vintage 2019, read as published.

``co-est2019-alldata.csv`` holds one row per state (SUMLEV 40) and per county or
county equivalent (SUMLEV 50): July 1 population estimates 2010-2019 and the
components of change for each estimate year. Counties become the units (id =
5-digit STATE+COUNTY FIPS); states become their parents and a benchmark.
Boundaries come from the us-atlas TopoJSON (``counties-10m.json``).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shrinkwatch.core import Basemap, Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import RowRejections
from shrinkwatch.datasets.registry import notes_in

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = [
    "load_county_estimates",
    "read_text_robustly",
    "repair_mojibake",
    "county_kind",
    "ESTIMATE_YEARS",
    "COMPONENT_COLUMNS",
    "CENSUS_REGIONS",
    "CENSUS_DIVISIONS",
]

ESTIMATE_YEARS = tuple(range(2010, 2020))

# published column stem (followed by the year) -> canonical indicator
COMPONENT_COLUMNS: dict[str, str] = {
    "POPESTIMATE": "pop_resident",
    "BIRTHS": "births",
    "DEATHS": "deaths",
    "NATURALINC": "natural_increase",
    "INTERNATIONALMIG": "net_international_migration",
    "DOMESTICMIG": "net_domestic_migration",
    "NETMIG": "net_migration",
    "RESIDUAL": "residual",
}
_CHANGE_STEM = "NPOPCHG_"

#: Census Bureau regions (REGION code) and divisions (DIVISION code).
CENSUS_REGIONS: dict[int, str] = {1: "Northeast", 2: "Midwest", 3: "South", 4: "West"}
CENSUS_DIVISIONS: dict[int, str] = {
    1: "New England", 2: "Middle Atlantic", 3: "East North Central", 4: "West North Central",
    5: "South Atlantic", 6: "East South Central", 7: "West South Central", 8: "Mountain", 9: "Pacific",
}
SUMLEV_STATE = 40
SUMLEV_COUNTY = 50

_ID_COLUMNS = ("SUMLEV", "REGION", "DIVISION", "STATE", "COUNTY", "STNAME", "CTYNAME",
               "CENSUS2010POP", "ESTIMATESBASE2010")

# name ending -> county-equivalent type; names ending in "County" are plain counties
_EQUIVALENT_TYPES: tuple[tuple[str, str], ...] = (
    (r" City and Borough$", "city and borough"),
    (r" Parish$", "parish"),
    (r" Borough$", "borough"),
    (r" Census Area$", "census area"),
    (r" Municipality$", "municipality"),
    (r" city$", "independent city"),
    (r"^Carson City$", "independent city"),
    (r"^District of Columbia$", "federal district"),
)

_BOUNDARIES_LAYER = "counties"
_US_ATLAS = {
    "id": "us-atlas 3.0.1 (counties-10m.json)",
    "licence": "ISC (package); US Census Bureau cartographic boundary data (public domain)",
    "citation": "Bostock, M. us-atlas 3.0.1: TopoJSON of the Census Bureau's cartographic boundary "
                "shapefiles, 1:10,000,000.",
    "publisher_url": "https://github.com/topojson/us-atlas",
}

# A non-ASCII capital inside a lower-case word ("DoÒa") or the UTF-8-read-as-Latin-1
# lead bytes ("DoÃ±a") betray a name decoded with the wrong code page.
_SUSPICIOUS = re.compile(r"[a-z][\u00c0-\u00de]|[\u00c2\u00c3][\u0080-\u00bf]")


def read_text_robustly(path: Path) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252 / Latin-1.

    The Census Bureau has published this file both as Latin-1 and as UTF-8
    with a byte-order mark; both are accepted.

    Returns
    -------
    tuple of str
        The text and the encoding that decoded it.
    """
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: cannot be decoded as UTF-8 or Latin-1")  # pragma: no cover - latin-1 decodes anything


def repair_mojibake(names: pd.Series) -> pd.Series:
    """Undo code-page damage in names; unchanged names are returned as they are.

    Two kinds of damage are recognised: Latin-1 text read as Mac Roman and
    re-encoded ("DoÒa Ana" for "Doña Ana") and UTF-8 read as Latin-1 ("DoÃ±a").
    A repair is kept only when it removes the tell-tale pattern.

    Examples
    --------
    >>> repair_mojibake(pd.Series(["DoÒa Ana County", "DoÃ±a Ana County", "Autauga County"])).tolist()
    ['Doña Ana County', 'Doña Ana County', 'Autauga County']
    """
    names = names.astype("string")
    suspicious = names.str.contains(_SUSPICIOUS, na=False)
    repaired = names.copy()
    # only the handful of suspicious names are visited
    for index, name in names[suspicious].items():
        for source, target in (("mac_roman", "cp1252"), ("cp1252", "utf-8"), ("latin-1", "utf-8")):
            try:
                candidate = str(name).encode(source).decode(target)
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if not _SUSPICIOUS.search(candidate):
                repaired[index] = candidate
                break
    return repaired


def county_kind(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Kind (``county`` or ``county equivalent``) and equivalent type from county names.

    Examples
    --------
    >>> kind, kind_detail = county_kind(pd.Series(["Autauga County", "Orleans Parish", "Richmond city"]))
    >>> kind.tolist(), kind_detail.tolist()
    (['county', 'county equivalent', 'county equivalent'], ['county', 'parish', 'independent city'])
    """
    names = names.astype("string")
    detail = pd.Series("county", index=names.index, dtype="string")
    detail[~names.str.endswith(" County")] = "county equivalent"
    for pattern, label in _EQUIVALENT_TYPES:
        # the first matching pattern wins ("Juneau City and Borough" is not a plain borough)
        detail[names.str.contains(pattern, regex=True) & (detail == "county equivalent")] = label
    kind = pd.Series(np.where(detail == "county", "county", "county equivalent"), index=names.index, dtype="string")
    return kind, detail


def _read_boundaries(path: Path) -> gpd.GeoDataFrame:
    try:
        boundaries = gpd.read_file(path, layer=_BOUNDARIES_LAYER, engine="pyogrio")
    except Exception as error:  # GDAL without its TopoJSON driver, or a damaged file
        raise DataError(
            f"{path}: cannot read layer {_BOUNDARIES_LAYER!r} with GDAL's TopoJSON driver: {error}"
        ) from None
    if "id" not in boundaries.columns:
        raise DataError(f"{path}: layer {_BOUNDARIES_LAYER!r} has no 'id' column (5-digit county FIPS)")
    # us-atlas counties-10m is unprojected longitude/latitude (NAD83, within metres of WGS84)
    boundaries = boundaries.set_crs("EPSG:4326", allow_override=True)
    boundaries["id"] = boundaries["id"].astype("string").str.zfill(5)
    invalid = ~boundaries.geometry.is_valid
    if invalid.any():
        fixed = shapely.make_valid(boundaries.geometry[invalid].to_numpy(), method="structure", keep_collapsed=False)
        boundaries.loc[invalid, "geometry"] = gpd.GeoSeries(fixed, index=boundaries.index[invalid], crs=boundaries.crs)
    boundaries.attrs["repaired_ids"] = boundaries.loc[invalid, "id"].tolist()
    return boundaries


def load_county_estimates(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read ``co-est2019-alldata.csv`` (and the county TopoJSON) into a Panel.

    Parameters
    ----------
    paths
        The dataset's files: the estimates CSV first, then ``counties-10m.json``
        (optional: without it the units have no geometry).
    dataset
        The registry entry (licence, citation, ...).

    Returns
    -------
    Panel
        3,142 counties x 2010-2019 with ``pop_resident`` (July 1 estimates) and the
        components of change of each estimate year.
    """
    path = Path(paths[0])
    text, encoding = read_text_robustly(path)
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    expected = list(_ID_COLUMNS) + [f"{stem}{year}" for stem in (*COMPONENT_COLUMNS, _CHANGE_STEM)
                                    for year in ESTIMATE_YEARS]
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing[:8]}; expected the CO-EST2019-alldata layout")

    line = raw.index.to_numpy() + 2  # the header is line 1
    for column in ("SUMLEV", "REGION", "DIVISION", "STATE", "COUNTY"):
        raw[column] = raw[column].str.strip()
    sumlev = pd.to_numeric(raw["SUMLEV"], errors="coerce")
    state = raw["STATE"].str.zfill(2)
    county = raw["COUNTY"].str.zfill(3)
    region_code = pd.to_numeric(raw["REGION"], errors="coerce")
    division_code = pd.to_numeric(raw["DIVISION"], errors="coerce")

    rows = RowRejections(path, raw, line)
    take, remaining = rows.take, rows.remaining  # take() narrows remaining in place

    take(~sumlev.isin([SUMLEV_STATE, SUMLEV_COUNTY]), "SUMLEV",
         "summary level is neither 40 (state) nor 50 (county)")
    take(~state.str.fullmatch(r"\d{2}"), "STATE", "not a 2-digit state FIPS code")
    take(~county.str.fullmatch(r"\d{3}"), "COUNTY", "not a 3-digit county FIPS code")
    take((sumlev == SUMLEV_COUNTY) & (county == "000"), "COUNTY", "county row with county code 000")
    take((sumlev == SUMLEV_STATE) & (county != "000"), "COUNTY", "state row with a county code other than 000")
    take(~region_code.isin(list(CENSUS_REGIONS)), "REGION", "not a Census region code 1-4")
    take(~division_code.isin(list(CENSUS_DIVISIONS)), "DIVISION", "not a Census division code 1-9")
    fips = state + county
    duplicated = fips[remaining].duplicated(keep="first").reindex(fips.index, fill_value=False)
    take(duplicated, "COUNTY", "duplicate STATE+COUNTY code (first occurrence kept)")

    numeric_columns = ["CENSUS2010POP", "ESTIMATESBASE2010"] + [
        f"{stem}{year}" for stem in (*COMPONENT_COLUMNS, _CHANGE_STEM) for year in ESTIMATE_YEARS]
    numbers = raw[numeric_columns].apply(lambda column: pd.to_numeric(column.str.strip(), errors="coerce"))
    conversions: list[dict[str, Any]] = []
    unparsable = numbers.isna() & raw[numeric_columns].ne("")
    for row, column in zip(*np.nonzero(unparsable.to_numpy() & remaining[:, None])):
        conversions.append({"file": str(path), "row": int(line[row]), "column": numeric_columns[column],
                            "value": raw.iat[row, raw.columns.get_loc(numeric_columns[column])],
                            "action": "not a number: treated as missing"})
    numbers = numbers.astype(float)

    is_state = remaining & (sumlev == SUMLEV_STATE).to_numpy()
    is_county = remaining & (sumlev == SUMLEV_COUNTY).to_numpy()

    names = raw["CTYNAME"].str.strip()
    repaired = repair_mojibake(names)
    for row in np.flatnonzero((repaired != names).to_numpy() & remaining):
        conversions.append({"file": str(path), "row": int(line[row]), "column": "CTYNAME", "value": names.iat[row],
                            "action": f"garbled name repaired to {repaired.iat[row]!r} (wrong code page)"})
    state_names = repair_mojibake(raw["STNAME"].str.strip())

    # states: parents and benchmark
    state_table = pd.DataFrame({"name": state_names[is_state].to_numpy()},
                               index=pd.Index(state[is_state].to_numpy(), name="state_fips"))
    state_pop = numbers.loc[is_state, [f"POPESTIMATE{y}" for y in ESTIMATE_YEARS]]
    state_pop.index = state_table.index
    state_pop.columns = list(ESTIMATE_YEARS)

    counties = pd.DataFrame({
        "fips": fips[is_county].to_numpy(),
        "state": state[is_county].to_numpy(),
        "name": repaired[is_county].to_numpy(),
        "stname": state_names[is_county].to_numpy(),
        "region": region_code[is_county].astype(int).map(CENSUS_REGIONS).to_numpy(),
        "division": division_code[is_county].astype(int).map(CENSUS_DIVISIONS).to_numpy(),
    })
    parent_name = counties["state"].map(state_table["name"]).fillna(counties["stname"])
    kind, kind_detail = county_kind(counties["name"])
    units = pd.DataFrame(
        {
            "name": counties["name"].to_numpy(),
            "name_en": counties["name"].to_numpy(),
            "parent_id": counties["state"].to_numpy(),
            "parent_name": parent_name.to_numpy(),
            "kind": kind.to_numpy(),
            "kind_detail": kind_detail.to_numpy(),
            "region": counties["region"].to_numpy(),
            "division": counties["division"].to_numpy(),
            "country": "United States",
            "census2010_pop": numbers.loc[is_county, "CENSUS2010POP"].to_numpy(),
            "estimates_base_2010": numbers.loc[is_county, "ESTIMATESBASE2010"].to_numpy(),
        },
        index=pd.Index(counties["fips"].to_numpy(), name="unit_id"),
    )

    # values: (stem, year) columns stacked to (unit_id, year)
    wide = pd.concat(
        {canonical: numbers.loc[is_county, [f"{stem}{y}" for y in ESTIMATE_YEARS]].set_axis(list(ESTIMATE_YEARS), axis=1)
         for stem, canonical in COMPONENT_COLUMNS.items()},
        axis=1,
    )
    wide.index = units.index
    wide.columns.names = ["indicator", "year"]
    values = wide.stack("year", future_stack=True).astype(float)
    values.columns.name = None
    values.index = values.index.set_names(["unit_id", "year"])
    values = values.sort_index()

    identity = _check_components(units, wide, numbers.loc[is_county])

    # geometry
    geometry_missing: list[dict[str, str]] = []
    boundaries_meta: dict[str, Any] = {}
    if len(paths) > 1:
        boundaries = _read_boundaries(Path(paths[1]))
        by_id = boundaries.drop_duplicates("id").set_index("id")
        geometry = by_id.geometry.reindex(units.index)
        absent = geometry.isna().to_numpy()
        # a county smaller than the 1:10m simplification collapses to a zero-area ring (Falls Church, VA)
        collapsed = ~absent & geometry.is_empty.to_numpy()
        lacking = absent | collapsed
        geometry_missing = [
            {"unit_id": u, "name": n,
             "reason": "no feature with this id" if a else "zero-area (collapsed) polygon in the 1:10m TopoJSON"}
            for u, n, a in zip(units.index[lacking], units["name"][lacking], absent[lacking])
        ]
        geometry = geometry.where(~lacking, None)
        units = gpd.GeoDataFrame(units, geometry=geometry.to_numpy(), crs="EPSG:4326")
        boundaries_meta = {
            "file": str(paths[1]),
            "layer": _BOUNDARIES_LAYER,
            "features": int(len(boundaries)),
            "matched": int((~absent).sum()),
            "with_geometry": int((~lacking).sum()),
            "unmatched_features": sorted(set(boundaries["id"]) - set(units.index)),
            "repaired_invalid": [u for u in boundaries.attrs["repaired_ids"] if u in units.index],
        }

    national = state_pop.sum(axis=0)
    notes: list[str | tuple[str, dict[str, Any]]] = [
        *dataset.note_keys, "us_county.popestimate", "us_county.components", "us_county.identity",
        "us_county.states", "us_county.regions"]
    if repaired.ne(names).any():
        notes.append("us_county.garbled")
    meta = replace(
        dataset.source_meta(paths),
        encoding=encoding,
        extra_sources=(_US_ATLAS,) if len(paths) > 1 else (),
        # the state lines drawn over the counties on the report's maps
        basemap=Basemap(path=str(paths[1]), layer="states") if len(paths) > 1 else None,
        unit_label="counties",
        parent_label="state",
        vintage=2019,
        language="en",
        country="United States",
        units_of={canonical: "persons" for canonical in COMPONENT_COLUMNS.values()},
        components_identity=identity,
        benchmark={"pop_resident": {int(y): float(v) for y, v in national.items()}},
        parent_totals={"pop_resident": {sid: {int(y): float(v) for y, v in row.items()}
                                        for sid, row in state_pop.iterrows()}},
        geometry_missing=tuple(geometry_missing),
        boundaries=boundaries_meta,
        notes=tuple(dataset.notes) + notes_in("en", *notes),
        notes_zh=notes_in("zh", *notes),
    )
    ledger = rows.ledger(cell_actions=conversions, tallies={
        "accepted as county (unit)": int(is_county.sum()),
        "accepted as state (parent and benchmark)": int(is_state.sum()),
    })
    return Panel(units=units, values=values, meta=meta, ledger=ledger)


def _check_components(units: pd.DataFrame, wide: pd.DataFrame, numbers: pd.DataFrame) -> dict[str, Any]:
    """Which accounting identities hold, and for how many county-years they fail."""
    pop = wide["pop_resident"].to_numpy()
    previous = np.column_stack([units["estimates_base_2010"].to_numpy(), pop[:, :-1]])
    change = pop - previous
    published_change = numbers[[f"{_CHANGE_STEM}{y}" for y in ESTIMATE_YEARS]].to_numpy()
    births, deaths = wide["births"].to_numpy(), wide["deaths"].to_numpy()
    international = wide["net_international_migration"].to_numpy()
    domestic = wide["net_domestic_migration"].to_numpy()
    residual = wide["residual"].to_numpy()
    checks = {
        "population_change = births - deaths + net_international_migration + net_domestic_migration + residual":
            change - (births - deaths + international + domestic + residual),
        "population_change = NPOPCHG (published)": change - published_change,
        "natural_increase = births - deaths": wide["natural_increase"].to_numpy() - (births - deaths),
        "net_migration = net_international_migration + net_domestic_migration":
            wide["net_migration"].to_numpy() - (international + domestic),
    }
    return {
        "checked_county_years": int(pop.size),
        "failures": {name: int((np.abs(diff) > 0.5).sum()) for name, diff in checks.items()},
        "base_of_2010_change": "ESTIMATESBASE2010 (April 1, 2010)",
        "residual_nonzero_county_years": int((residual != 0).sum()),
    }
