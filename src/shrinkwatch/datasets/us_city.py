"""Adapter: US historical city populations 1790-2010 (CESTA, Stanford), read as published.

``1790-2010_MASTER.csv`` has old-Mac CR line endings, one row per place, one
column per decennial census, and uses ``0`` for "no figure" (the place was not
counted, not incorporated, or below the source's threshold), never for an
empty town. Zeros and empty cells become NaN.
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
from shrinkwatch.datasets.us_county import (
    CENSUS_DIVISIONS,
    CENSUS_REGIONS,
    read_text_robustly,
)

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = ["load_city_census", "US_STATES", "CENSUS_YEARS", "MAX_DEGREES_OUTSIDE_STATE"]

CENSUS_YEARS = tuple(range(1790, 2011, 10))
#: Tolerance for points just off the 1:10m state outline (coasts, borders), in degrees.
MAX_DEGREES_OUTSIDE_STATE = 0.25

#: USPS code -> (2-digit FIPS, name, Census region code, Census division code).
US_STATES: dict[str, tuple[str, str, int, int]] = {
    "AL": ("01", "Alabama", 3, 6), "AK": ("02", "Alaska", 4, 9), "AZ": ("04", "Arizona", 4, 8),
    "AR": ("05", "Arkansas", 3, 7), "CA": ("06", "California", 4, 9), "CO": ("08", "Colorado", 4, 8),
    "CT": ("09", "Connecticut", 1, 1), "DE": ("10", "Delaware", 3, 5), "DC": ("11", "District of Columbia", 3, 5),
    "FL": ("12", "Florida", 3, 5), "GA": ("13", "Georgia", 3, 5), "HI": ("15", "Hawaii", 4, 9),
    "ID": ("16", "Idaho", 4, 8), "IL": ("17", "Illinois", 2, 3), "IN": ("18", "Indiana", 2, 3),
    "IA": ("19", "Iowa", 2, 4), "KS": ("20", "Kansas", 2, 4), "KY": ("21", "Kentucky", 3, 6),
    "LA": ("22", "Louisiana", 3, 7), "ME": ("23", "Maine", 1, 1), "MD": ("24", "Maryland", 3, 5),
    "MA": ("25", "Massachusetts", 1, 1), "MI": ("26", "Michigan", 2, 3), "MN": ("27", "Minnesota", 2, 4),
    "MS": ("28", "Mississippi", 3, 6), "MO": ("29", "Missouri", 2, 4), "MT": ("30", "Montana", 4, 8),
    "NE": ("31", "Nebraska", 2, 4), "NV": ("32", "Nevada", 4, 8), "NH": ("33", "New Hampshire", 1, 1),
    "NJ": ("34", "New Jersey", 1, 2), "NM": ("35", "New Mexico", 4, 8), "NY": ("36", "New York", 1, 2),
    "NC": ("37", "North Carolina", 3, 5), "ND": ("38", "North Dakota", 2, 4), "OH": ("39", "Ohio", 2, 3),
    "OK": ("40", "Oklahoma", 3, 7), "OR": ("41", "Oregon", 4, 9), "PA": ("42", "Pennsylvania", 1, 2),
    "RI": ("44", "Rhode Island", 1, 1), "SC": ("45", "South Carolina", 3, 5), "SD": ("46", "South Dakota", 2, 4),
    "TN": ("47", "Tennessee", 3, 6), "TX": ("48", "Texas", 3, 7), "UT": ("49", "Utah", 4, 8),
    "VT": ("50", "Vermont", 1, 1), "VA": ("51", "Virginia", 3, 5), "WA": ("53", "Washington", 4, 9),
    "WV": ("54", "West Virginia", 3, 5), "WI": ("55", "Wisconsin", 2, 3), "WY": ("56", "Wyoming", 4, 8),
}
# historical territories recorded under their own code -> today's state
_HISTORICAL_STATES = {"IT": "OK"}  # Indian Territory (1900), now Oklahoma

_PLACE_TYPES = {
    "Incorporated City": "incorporated place",
    "CDP": "census designated place",
    "MCD": "minor civil division",
    "Historical Community": "historical community",
    "Historical Place": "historical place",
    "Township": "township",
    "Charter Township": "charter township",
    "": "place (type not recorded)",
}
_ID_COLUMNS = ("ID", "ST", "City", "CityST", "STPLFIPS_2010", "Name_2010", "County", "LAT", "LON",
               "LAT_BING", "LON_BING", "City Source", "Population Source", "Place Type")
_LINE_BREAKS = re.compile(r"\r\n|\r")


def _coordinate(values: pd.Series, low: float, high: float) -> tuple[pd.Series, pd.Series]:
    """Numbers within [low, high]; 0 and empty mean "no coordinate". Also: which cells were unreadable."""
    text = values.str.strip()
    number = pd.to_numeric(text, errors="coerce")
    usable = number.between(low, high) & (number != 0)
    unreadable = ~usable & (text != "") & (number != 0)
    return number.where(usable), unreadable


def _states_layer(path: Path) -> gpd.GeoSeries:
    try:
        states = gpd.read_file(path, layer="states", engine="pyogrio")
    except Exception as error:  # GDAL without its TopoJSON driver, or a damaged file
        raise DataError(f"{path}: cannot read layer 'states' with GDAL's TopoJSON driver: {error}") from None
    if "id" not in states.columns:
        raise DataError(f"{path}: layer 'states' has no 'id' column (2-digit state FIPS)")
    states = states.set_crs("EPSG:4326", allow_override=True)
    return states.set_index(states["id"].astype("string").str.zfill(2)).geometry


def load_city_census(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read ``1790-2010_MASTER.csv`` into a Panel of places x decennial censuses.

    Parameters
    ----------
    paths
        The dataset's files; the first is the CESTA master table.
    dataset
        The registry entry (licence, citation, ...).

    Returns
    -------
    Panel
        One unit per CESTA record (``unit_id`` = its ``ID``) with a population figure
        in at least one census, ``pop_resident`` for 1790, 1800, ..., 2010 (NaN where the
        file has 0 or nothing), point geometry (EPSG:4326).
    """
    path = Path(paths[0])
    text, encoding = read_text_robustly(path)
    line_endings = "CR" if "\r" in text and "\n" not in text else "CRLF" if "\r\n" in text else "LF"
    raw = pd.read_csv(io.StringIO(_LINE_BREAKS.sub("\n", text)), dtype=str, keep_default_na=False)
    year_columns = [str(y) for y in CENSUS_YEARS]
    missing = [c for c in (*_ID_COLUMNS, *year_columns) if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected the CESTA 1790-2010_MASTER layout")

    line = raw.index.to_numpy() + 2  # the header is line 1
    rows = RowRejections(path, raw, line)
    take = rows.take

    record_id = raw["ID"].str.strip()
    take(~record_id.str.fullmatch(r"\d+"), "ID", "not a numeric CESTA record ID")
    duplicated = record_id[rows.remaining].duplicated(keep="first").reindex(record_id.index, fill_value=False)
    take(duplicated, "ID", "duplicate record ID (first occurrence kept)")
    state_code = raw["ST"].str.strip().replace(_HISTORICAL_STATES)
    take(~state_code.isin(list(US_STATES)), "ST", "not a US state or DC postal code")

    cells = raw[year_columns].apply(lambda column: column.str.strip())
    population = cells.apply(pd.to_numeric, errors="coerce")
    conversions: list[dict[str, Any]] = []
    unparsable = population.isna() & cells.ne("")
    negative = population < 0
    for row, column in zip(*np.nonzero((unparsable | negative).to_numpy() & rows.remaining[:, None])):
        conversions.append({"file": str(path), "row": int(line[row]), "column": year_columns[column],
                            "value": cells.iat[row, column],
                            "action": "not a population figure: treated as missing"})
    zero = population == 0
    empty = cells.eq("")
    population = population.where(~zero & ~negative).astype(float)
    take(population.notna().sum(axis=1).eq(0).to_numpy(), "ID",
         "no population figure in any census (every year 0 or empty: 0 means no figure)")

    keep = rows.remaining
    table = raw[keep]
    state_table = pd.DataFrame.from_dict(US_STATES, orient="index", columns=["fips", "name", "region", "division"])
    states = state_table.reindex(state_code[keep].to_numpy())
    coordinates = {column: _coordinate(table[column], *bounds) for column, bounds in (
        ("LAT", (-90, 90)), ("LON", (-180, 180)), ("LAT_BING", (-90, 90)), ("LON_BING", (-180, 180)))}
    for column, (_, unreadable) in coordinates.items():
        for row in np.flatnonzero(unreadable.to_numpy()):
            conversions.append({"file": str(path), "row": int(line[keep][row]), "column": column,
                                "value": table[column].iat[row], "action": "not a coordinate: ignored"})
    latitude, longitude = coordinates["LAT"][0], coordinates["LON"][0]
    census_point = latitude.notna() & longitude.notna()
    bing_latitude, bing_longitude = coordinates["LAT_BING"][0], coordinates["LON_BING"][0]
    latitude = latitude.where(census_point, bing_latitude)
    longitude = longitude.where(census_point, bing_longitude)
    has_point = latitude.notna() & longitude.notna()
    coordinate_source = np.where(census_point, "US Census Bureau gazetteer",
                                 np.where(has_point, "Bing geocoder", "none"))
    fips = table["STPLFIPS_2010"].str.strip()
    fips = fips.where(fips.str.fullmatch(r"\d{6,7}") & (fips.str.lstrip("0") != "")).str.zfill(7)
    place_type = table["Place Type"].str.strip()
    units = pd.DataFrame(
        {
            "name": table["City"].str.strip().to_numpy(),
            "name_en": table["City"].str.strip().to_numpy(),
            "parent_id": states["fips"].to_numpy(),
            "parent_name": states["name"].to_numpy(),
            "kind": place_type.map(_PLACE_TYPES).fillna(place_type.str.lower()).to_numpy(),
            "region": states["region"].map(CENSUS_REGIONS).to_numpy(),
            "division": states["division"].map(CENSUS_DIVISIONS).to_numpy(),
            "country": "United States",
            "state_as_recorded": table["ST"].str.strip().to_numpy(),
            "county": table["County_Name"].str.strip().replace("", None).to_numpy()
            if "County_Name" in table.columns else table["County"].str.strip().to_numpy(),
            "place_fips_2010": pd.array(fips.to_numpy(), dtype="string"),
            "name_2010": table["Name_2010"].str.strip().replace({"": None, "0": None}).to_numpy(),
            "city_source": table["City Source"].str.strip().to_numpy(),
            "population_source": table["Population Source"].str.strip().to_numpy(),
            "latitude": latitude.to_numpy(dtype=float),
            "longitude": longitude.to_numpy(dtype=float),
            "coordinate_source": coordinate_source,
        },
        index=pd.Index(record_id[keep].to_numpy(), name="unit_id"),
    )
    points = np.asarray(gpd.points_from_xy(units["longitude"], units["latitude"]), dtype=object)
    points[~has_point.to_numpy()] = None
    geometry_rejected: list[dict[str, Any]] = []
    if len(paths) > 1:
        # a point far outside its own state is a geocoding error ("CA" read as Canada), not a place
        state_shapes = _states_layer(Path(paths[1])).reindex(units["parent_id"]).to_numpy()
        distance = shapely.distance(points, state_shapes)
        misplaced = np.nan_to_num(distance, nan=0.0) > MAX_DEGREES_OUTSIDE_STATE
        geometry_rejected = [
            {"unit_id": u, "name": n, "state": st, "latitude": float(la), "longitude": float(lo),
             "coordinate_source": cs, "degrees_outside_state": round(float(dd), 3),
             "reason": "point lies outside its recorded state: geocoding error, no geometry"}
            for u, n, st, la, lo, cs, dd in zip(
                units.index[misplaced], units["name"][misplaced], units["state_as_recorded"][misplaced],
                units["latitude"][misplaced], units["longitude"][misplaced],
                units["coordinate_source"][misplaced], distance[misplaced])
        ]
        points[misplaced] = None
        units.loc[misplaced, "coordinate_source"] = units.loc[misplaced, "coordinate_source"] + " (rejected)"
    units = gpd.GeoDataFrame(units, geometry=gpd.GeoSeries(points, index=units.index, crs="EPSG:4326"))

    wide = pd.DataFrame(population[keep].to_numpy(), index=units.index,
                        columns=pd.Index(list(CENSUS_YEARS), name="year"))
    values = wide.stack(future_stack=True).rename("pop_resident").to_frame()
    values.index = values.index.set_names(["unit_id", "year"])
    values = values.sort_index()

    meta = replace(
        dataset.source_meta(paths),
        encoding=encoding,
        line_endings=line_endings,
        # state outlines drawn under the points of the report's maps (not analysed)
        basemap=Basemap(path=str(paths[1]), layer="states") if len(paths) > 1 else None,
        extra_sources=({
            "id": "us-atlas 3.0.1 (states-10m.json)",
            "licence": "ISC (package); US Census Bureau cartographic boundary data (public domain)",
            "citation": "Bostock, M. us-atlas 3.0.1 (used only to check coordinates).",
            "publisher_url": "https://github.com/topojson/us-atlas",
        },) if len(paths) > 1 else (),
        unit_label="places",
        parent_label="state",
        vintage=2010,
        language="en",
        country="United States",
        census_years=tuple(CENSUS_YEARS),
        units_of={"pop_resident": "persons"},
        geometry_missing=tuple([{"unit_id": u, "name": n, "reason": "no usable coordinate in the file"}
                                for u, n in zip(units.index[~has_point.to_numpy()], units["name"][~has_point.to_numpy()])]
                               + geometry_rejected),
        notes=tuple(dataset.notes) + (
            "0 in the published file means 'no figure' (not counted, not yet incorporated, or below the "
            "source's 2,500 threshold), never an empty town: it is read as missing, so a place that "
            "appears or disappears from the record is not counted as growing from or falling to zero.",
            "Before 1950 the Census Bureau listed places of 2,500+ regardless of incorporation; from 1950 "
            "incorporated places (and Hawaii's CDPs): a series can start or stop because the universe "
            "changed. Names are 2010 names; boundaries are each census's own (annexation is growth here).",
            "The default census-decline window runs from the first census (1790), when almost no place "
            "has a figure; set start_year (e.g. --set start_year=1950) for a meaningful comparison.",
            "Coordinates: the Census gazetteer point where given, else the Bing geocoder's "
            "(units['coordinate_source']). A point more than 0.25 degrees outside its recorded state's "
            "boundary (us-atlas states-10m) is a geocoding error (Bing read 'CA' as Canada for dozens of "
            "California places) and is dropped: meta.geometry_missing.",
            "Records of Indian Territory (ST 'IT', 1900) are placed in Oklahoma.",
        ),
    )
    ledger = rows.ledger(cell_actions=conversions, tallies={
        "zero read as missing": int(zero.to_numpy()[keep].sum()),
        "empty read as missing": int(empty.to_numpy()[keep].sum()),
    })
    return Panel(units=units, values=values, meta=meta, ledger=ledger)
