"""Adapter: UN World Urbanization Prospects 2018, File 22 (annual agglomerations), read as published.

``WUP2018-F22-Cities_Over_300K_Annual.xlsx`` has a title block, the header on
row 17 of sheet ``Data`` (``Index, Country Code, Country or area, City Code,
Urban Agglomeration, Note, Latitude, Longitude, 1950 ... 2035``), populations
in thousands, and a ``NOTES`` sheet with the definitional footnotes. Years
1950-2018 are estimates, 2019-2035 projections.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from shrinkwatch.core import Basemap, Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import RowRejections
from shrinkwatch.datasets.registry import notes_in

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = ["load_wup_agglomerations", "M49_REGIONS", "m49_region", "FIRST_PROJECTED_YEAR", "WUP_YEARS"]

WUP_YEARS = tuple(range(1950, 2036))
FIRST_PROJECTED_YEAR = 2019
_DATA_SHEET = "Data"
_NOTES_SHEET = "NOTES"
_ID_COLUMNS = ("Index", "Country Code", "Country or area", "City Code", "Urban Agglomeration", "Note",
               "Latitude", "Longitude")

# UN M49 (https://unstats.un.org/unsd/methodology/m49/): (region, subregion) -> country codes.
# The region is the geographic region World Urbanization Prospects reports by: Africa, Asia,
# Europe, Latin America and the Caribbean, Northern America, Oceania.
_M49_GROUPS: dict[tuple[str, str], tuple[int, ...]] = {
    ("Africa", "Eastern Africa"): (86, 108, 174, 175, 231, 232, 260, 262, 404, 450, 454, 480, 508, 638, 646,
                                   690, 706, 716, 728, 800, 834, 894),
    ("Africa", "Middle Africa"): (24, 120, 140, 148, 178, 180, 226, 266, 678),
    ("Africa", "Northern Africa"): (12, 434, 504, 729, 732, 788, 818),
    ("Africa", "Southern Africa"): (72, 426, 516, 710, 748),
    ("Africa", "Western Africa"): (132, 204, 270, 288, 324, 384, 430, 466, 478, 562, 566, 624, 654, 686, 694,
                                   768, 854),
    ("Asia", "Central Asia"): (398, 417, 762, 795, 860),
    ("Asia", "Eastern Asia"): (156, 158, 344, 392, 408, 410, 446, 496),
    ("Asia", "South-Eastern Asia"): (96, 104, 116, 360, 418, 458, 608, 626, 702, 704, 764),
    ("Asia", "Southern Asia"): (4, 50, 64, 144, 356, 364, 462, 524, 586),
    ("Asia", "Western Asia"): (31, 48, 51, 196, 268, 275, 368, 376, 400, 414, 422, 512, 634, 682, 760, 784,
                               792, 887),
    ("Europe", "Eastern Europe"): (100, 112, 203, 348, 498, 616, 642, 643, 703, 804),
    ("Europe", "Northern Europe"): (208, 233, 234, 246, 248, 352, 372, 428, 440, 578, 744, 752, 826, 830, 831,
                                    832, 833),
    ("Europe", "Southern Europe"): (8, 20, 70, 191, 292, 300, 336, 380, 470, 499, 620, 674, 688, 705, 724, 807),
    ("Europe", "Western Europe"): (40, 56, 250, 276, 438, 442, 492, 528, 756),
    ("Latin America and the Caribbean", "Caribbean"): (28, 44, 52, 92, 136, 192, 212, 214, 308, 312, 332, 388,
                                                       474, 500, 531, 533, 534, 535, 630, 652, 659, 660, 662,
                                                       663, 670, 780, 796, 850),
    ("Latin America and the Caribbean", "Central America"): (84, 188, 222, 320, 340, 484, 558, 591),
    ("Latin America and the Caribbean", "South America"): (32, 68, 74, 76, 152, 170, 218, 238, 239, 254, 328,
                                                           600, 604, 740, 858, 862),
    ("Northern America", "Northern America"): (60, 124, 304, 666, 840),
    ("Oceania", "Australia and New Zealand"): (36, 162, 166, 334, 554, 574),
    ("Oceania", "Melanesia"): (90, 242, 540, 548, 598),
    ("Oceania", "Micronesia"): (296, 316, 520, 580, 581, 583, 584, 585),
    ("Oceania", "Polynesia"): (16, 184, 258, 570, 612, 772, 776, 798, 876, 882),
}

#: M49 numeric country code -> (region, subregion).
M49_REGIONS: dict[int, tuple[str, str]] = {
    code: group for group, codes in _M49_GROUPS.items() for code in codes
}

_UN_WUP_NOTE = re.compile(r"^\s*\((\d+)\)\s*(.*)$", re.S)


def m49_region(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Region and subregion of M49 country codes (missing where the code is unknown).

    Examples
    --------
    >>> region, subregion = m49_region(pd.Series([4, 840, 76]))
    >>> region.tolist(), subregion.tolist()
    (['Asia', 'Northern America', 'Latin America and the Caribbean'], ['Southern Asia', 'Northern America', 'South America'])
    """
    codes = pd.to_numeric(codes, errors="coerce")
    region = codes.map({c: r for c, (r, _) in M49_REGIONS.items()}).astype("string")
    subregion = codes.map({c: s for c, (_, s) in M49_REGIONS.items()}).astype("string")
    return region, subregion


def _find_header(sheet: pd.DataFrame, path: Path) -> int:
    first = sheet.iloc[:60, 0].astype("string").str.strip()
    hits = np.flatnonzero((first == "Index").fillna(False).to_numpy())
    for position in hits:
        header = sheet.iloc[position].astype("string").str.strip().tolist()
        if all(column in header for column in _ID_COLUMNS):
            return int(position)
    raise DataError(f"{path}: sheet {_DATA_SHEET!r}: no header row with columns {list(_ID_COLUMNS)} "
                    "in the first 60 rows (expected on row 17)")


#: The notes of every WUP panel (keys of the catalogues' ``datasets.notes``, with their fields).
_WUP_NOTES: tuple[str | tuple[str, dict[str, Any]], ...] = (
    ("un_wup.projections", {"first": WUP_YEARS[0], "last_estimate": FIRST_PROJECTED_YEAR - 1,
                            "projected": FIRST_PROJECTED_YEAR, "last": WUP_YEARS[-1]}),
    "un_wup.concept", "un_wup.survivorship", "un_wup.regions")


def _read_notes(path: Path) -> dict[int, str]:
    try:
        notes = pd.read_excel(path, sheet_name=_NOTES_SHEET, header=None, dtype=str)
    except ValueError:  # no NOTES sheet: footnote numbers stay unexplained
        return {}
    texts = notes.iloc[:, 0].dropna().astype(str)
    parsed = texts.str.extract(_UN_WUP_NOTE).dropna()
    return {int(number): text.strip() for number, text in zip(parsed[0], parsed[1])}


def load_wup_agglomerations(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read WUP 2018 File 22 into a Panel of urban agglomerations, 1950-2035.

    Parameters
    ----------
    paths
        The dataset's files; the first is the File 22 workbook.
    dataset
        The registry entry (licence, citation, ...).

    Returns
    -------
    Panel
        One unit per agglomeration (``unit_id`` = UN city code), ``pop_resident`` in
        persons for every year 1950-2035, point geometry (EPSG:4326) and
        ``meta.projected_from = 2019``.
    """
    path = Path(paths[0])
    try:
        sheet = pd.read_excel(path, sheet_name=_DATA_SHEET, header=None, dtype=object)
    except ValueError as error:
        raise DataError(f"{path}: no sheet {_DATA_SHEET!r}: {error}") from None
    header_position = _find_header(sheet, path)
    header_row = header_position + 1  # Excel's 1-based row number
    columns: list[Any] = []
    for cell in sheet.iloc[header_position]:
        number = pd.to_numeric(pd.Series([cell]), errors="coerce").iloc[0]
        columns.append(int(number) if pd.notna(number) and float(number).is_integer() else str(cell).strip())
    table = sheet.iloc[header_position + 1:].copy()
    table.columns = columns
    table = table.dropna(how="all")
    year_columns = [c for c in columns if isinstance(c, int)]
    if list(year_columns) != list(WUP_YEARS):
        raise DataError(f"{path}: row {header_row}: year columns {year_columns[:3]}...{year_columns[-3:]}, "
                        f"expected {WUP_YEARS[0]}...{WUP_YEARS[-1]}")

    excel_row = table.index.to_numpy() + 1  # positional index 0 is Excel row 1
    rows = RowRejections(path, table, excel_row)
    take = rows.take

    city_code = pd.to_numeric(table["City Code"], errors="coerce")
    country_code = pd.to_numeric(table["Country Code"], errors="coerce")
    names = table["Urban Agglomeration"].astype("string").str.strip()
    take(~(city_code.notna() & (city_code % 1 == 0)), "City Code", "not an integer UN city code")
    take(~(country_code.notna() & (country_code % 1 == 0)), "Country Code", "not an integer M49 country code")
    take(names.isna() | (names == ""), "Urban Agglomeration", "no agglomeration name")

    city_text = city_code.astype("Int64").astype("string")
    country_text = country_code.astype("Int64").astype("string").str.zfill(3)
    unique_city_codes = not city_text[rows.remaining].duplicated().any()
    unit_id = city_text if unique_city_codes else country_text + "-" + city_text
    duplicated = unit_id[rows.remaining].duplicated(keep="first").reindex(unit_id.index, fill_value=False)
    take(duplicated, "City Code", "duplicate agglomeration code (first occurrence kept)")

    region, subregion = m49_region(country_code)
    take(region.isna(), "Country Code", "M49 code not in the M49 country table")

    conversions: list[dict[str, Any]] = []
    thousands = table[year_columns].apply(pd.to_numeric, errors="coerce")
    unparsable = thousands.isna() & table[year_columns].notna()
    for row, column in zip(*np.nonzero(unparsable.to_numpy() & rows.remaining[:, None])):
        conversions.append({"file": str(path), "row": int(excel_row[row]), "column": str(year_columns[column]),
                            "value": str(table.iat[row, table.columns.get_loc(year_columns[column])]),
                            "action": "not a number: treated as missing"})

    latitude = pd.to_numeric(table["Latitude"], errors="coerce")
    longitude = pd.to_numeric(table["Longitude"], errors="coerce")
    bad_point = ~(latitude.between(-90, 90) & longitude.between(-180, 180))
    for row in np.flatnonzero(bad_point.to_numpy() & rows.remaining):
        conversions.append({"file": str(path), "row": int(excel_row[row]), "column": "Latitude/Longitude",
                            "value": f"{table['Latitude'].iat[row]}, {table['Longitude'].iat[row]}",
                            "action": "not a valid coordinate: no geometry"})

    keep = rows.remaining
    footnotes = _read_notes(path)
    note_number = pd.to_numeric(table["Note"], errors="coerce")
    note_text = note_number.map(footnotes)
    units = pd.DataFrame(
        {
            "name": names[keep].to_numpy(),
            "name_en": names[keep].to_numpy(),
            "parent_id": country_text[keep].to_numpy(),
            "parent_name": table.loc[keep, "Country or area"].astype("string").str.strip().to_numpy(),
            "kind": "urban agglomeration",
            "region": region[keep].to_numpy(),
            "subregion": subregion[keep].to_numpy(),
            "country": table.loc[keep, "Country or area"].astype("string").str.strip().to_numpy(),
            "city_code": city_text[keep].to_numpy(),
            "note": pd.array(note_text[keep].to_numpy(), dtype="string"),
            "latitude": latitude[keep].to_numpy(dtype=float),
            "longitude": longitude[keep].to_numpy(dtype=float),
        },
        index=pd.Index(unit_id[keep].to_numpy(), name="unit_id"),
    )
    valid_point = ~bad_point[keep].to_numpy()
    geometry = gpd.points_from_xy(np.where(valid_point, units["longitude"], np.nan),
                                  np.where(valid_point, units["latitude"], np.nan), crs="EPSG:4326")
    geometry = [g if ok else None for g, ok in zip(geometry, valid_point)] if not valid_point.all() else geometry
    units = gpd.GeoDataFrame(units, geometry=geometry, crs="EPSG:4326")

    persons = (thousands.loc[keep].to_numpy(dtype=float) * 1000.0).round(0)
    wide = pd.DataFrame(persons, index=units.index, columns=pd.Index(year_columns, name="year"))
    values = wide.stack(future_stack=True).rename("pop_resident").to_frame()
    values.index = values.index.set_names(["unit_id", "year"])
    values = values.sort_index()

    meta = replace(
        dataset.source_meta(paths),
        # country outlines drawn under the points of the report's maps (not analysed)
        basemap=Basemap(path=str(paths[1]), layer="land") if len(paths) > 1 else None,
        unit_label="urban agglomerations",
        parent_label="country",
        vintage=2018,
        language="en",
        country="World",
        projected_from=FIRST_PROJECTED_YEAR,
        units_of={"pop_resident": "persons"},
        notes=tuple(dataset.notes) + notes_in("en", *_WUP_NOTES),
        notes_zh=notes_in("zh", *_WUP_NOTES),
    )
    return Panel(units=units, values=values, meta=meta, ledger=rows.ledger(cell_actions=conversions))