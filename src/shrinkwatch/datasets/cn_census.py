"""Adapter: China prefecture-level census 2010/2020 (leiii/census), read as published."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import RowRejections
from shrinkwatch.core.messages import message
from shrinkwatch.datasets.china import china_basemap, prefecture_kind, province_table
from shrinkwatch.datasets.cn_pinyin import romanize
from shrinkwatch.datasets.registry import notes_in

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = ["load_prefecture_census", "PREFECTURE_CENSUS_COLUMNS"]

# published column stem -> canonical indicator (percent as 0-100)
PREFECTURE_CENSUS_COLUMNS: dict[str, str] = {
    "popu": "pop_resident",
    "popu_urban": "pop_urban",
    "popu_rural": "pop_rural",
    "household": "household_size",
    "male_female": "sex_ratio",
    "age_0_14": "share_0_14",
    "age_15_59": "share_15_59",
    "age_60": "share_60plus",
    "age_65": "share_65plus",
}
CENSUS_YEARS = (2010, 2020)
_ID_COLUMNS = ("city", "city_code", "province", "province_code", "coord")


def load_prefecture_census(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read ``census_city_2010_2020.csv`` into a Panel (one row per unit and census year)."""
    path = paths[0]
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    expected = list(_ID_COLUMNS) + [f"{stem}_{year}" for stem in PREFECTURE_CENSUS_COLUMNS for year in CENSUS_YEARS]
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected the leiii/census city table layout")

    codes = raw["city_code"].str.strip()
    rows = RowRejections(path, raw.assign(city_code=codes), raw.index.to_numpy() + 2)  # header is line 1
    bad_code = ~codes.str.fullmatch(r"\d{6}")
    rows.take(bad_code, "city_code", message("datasets.reason.not_gb_code", "en"))
    rows.take(codes.duplicated(keep="first") & ~bad_code, "city_code", message("datasets.reason.duplicate_code", "en"))
    keep = pd.Series(rows.remaining, index=raw.index)
    table = raw[keep.to_numpy()].copy()
    table["city_code"] = codes[keep]
    row_numbers = table.index.to_numpy() + 2  # header is line 1

    # numeric cells: empty means "not published"; anything else unparseable is reported
    conversions: list[dict[str, object]] = []
    numeric = {}
    for stem in PREFECTURE_CENSUS_COLUMNS:
        for year in CENSUS_YEARS:
            column = f"{stem}_{year}"
            text = table[column].str.strip()
            values = pd.to_numeric(text.replace("", None), errors="coerce")
            unparsable = values.isna() & text.ne("")
            for i in np.flatnonzero(unparsable.to_numpy()):
                conversions.append({"file": str(path), "row": int(row_numbers[i]), "column": column,
                                    "value": text.iloc[i], "action": "not a number: treated as missing"})
            numeric[column] = values.astype(float)

    prefix = table["city_code"].str[:2]
    units = pd.DataFrame(
        {
            "name": table["city"].str.strip().to_numpy(),
            "name_en": romanize(table["city"].str.strip()).to_numpy(),
            "parent_id": table["province_code"].str.strip().to_numpy(),
            "parent_name": table["province"].str.strip().to_numpy(),
            "parent_name_en": prefix.map(province_table()["province_en"]).fillna("").to_numpy(),
            "kind": prefecture_kind(table["city_code"], table["city"].str.strip()).to_numpy(),
            "region": prefix.map(province_table()["region"]).fillna("unknown").to_numpy(),
            "country": "China",
        },
        index=pd.Index(table["city_code"].to_numpy(), name="unit_id"),
    )
    wkt = table["coord"].str.strip().replace("", None).to_numpy()
    try:
        geometry = shapely.from_wkt(wkt, on_invalid="raise")
    except shapely.errors.GEOSException as error:
        raise DataError(f"{path}: column 'coord' holds invalid WKT: {error}") from None
    units = gpd.GeoDataFrame(units, geometry=geometry, crs="EPSG:4326")

    long_parts = []
    for year in CENSUS_YEARS:
        part = pd.DataFrame(
            {canonical: numeric[f"{stem}_{year}"].to_numpy() for stem, canonical in PREFECTURE_CENSUS_COLUMNS.items()},
            index=pd.MultiIndex.from_arrays([units.index, np.full(len(units), year)], names=["unit_id", "year"]),
        )
        long_parts.append(part)
    values = pd.concat(long_parts).sort_index()

    meta = replace(
        dataset.source_meta(paths),
        vintage=2020,
        language="zh",
        country="China",
        census_years=tuple(CENSUS_YEARS),
        basemap=china_basemap(Path(path).parents[2]),  # registered as china/census/<file> under the data directory
        units_of={c: ("persons" if c.startswith("pop_") else "percent" if c.startswith("share_")
                      else "persons per household" if c == "household_size" else "males per 100 females")
                  for c in PREFECTURE_CENSUS_COLUMNS.values()},
        notes=tuple(dataset.notes),
        notes_zh=notes_in("zh", *dataset.note_keys),
    )
    return Panel(units=units, values=values, meta=meta, ledger=rows.ledger(cell_actions=conversions))