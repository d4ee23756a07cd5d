"""Reading the county-level census workbooks (leiii/census) as published: headers, kinds, subtotal rows.

Used by :mod:`shrinkwatch.datasets.cn_county`, which matches the two censuses across the decade.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd

from shrinkwatch.core.errors import DataError
from shrinkwatch.core.messages import message

__all__ = ["COUNTY_KINDS", "county_kind", "read_census_sheet", "classify_rows"]

_INDICATORS = ("pop_resident", "pop_urban", "share_0_14", "share_65plus")

#: Kinds of county-level units (English label -> Chinese term).
COUNTY_KINDS: dict[str, str] = {
    "district": "市辖区", "county_level_city": "县级市", "county": "县", "autonomous_county": "自治县",
    "banner": "旗", "autonomous_banner": "自治旗", "forestry_district": "林区", "special_district": "特区",
    "city_without_districts": "不设区的地级市", "functional_zone": "功能区（统计用代码）",
}

# header (whitespace removed) -> role, per census year
_HEADERS: dict[int, dict[str, tuple[str, ...]]] = {
    2010: {"code": ("区划代码",), "name": ("地区",), "pop_resident": ("合计",), "pop_urban": ("城镇人口",),
           "share_0_14": ("0-14岁（%）",), "share_65plus": ("65岁及以上（%）",)},
    2020: {"code": ("区划代码",), "province": ("省",), "prefecture": ("市",), "name": ("区县",),
           "pop_resident": ("人口数_合计",), "pop_urban": ("城镇人口",), "share_0_14": ("人口比重_0-14岁",),
           "share_65plus": ("人口比重_65岁及以上",)},
}
_SUBTOTAL_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "全国"}


def read_census_sheet(path: Path, year: int) -> pd.DataFrame:
    """Read the first sheet of a census workbook (cached per file, size and modification time); see
    :func:`_read_census_sheet`. The returned frame is a copy."""
    stat = Path(path).stat()
    return _read_census_sheet(str(Path(path).resolve()), year, stat.st_size, stat.st_mtime_ns).copy()


@functools.lru_cache(maxsize=4)
def _read_census_sheet(path_text: str, year: int, size: int, mtime_ns: int) -> pd.DataFrame:
    """Read the first sheet of a census workbook as published; columns found by their Chinese headers.

    Returns a frame with ``row`` (Excel row number), the role columns of
    :data:`_HEADERS` (text for code and names, float for values) and nothing else.
    """
    path = Path(path_text)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise DataError(f"{path}: not a readable .xlsx workbook: {error}") from None
    try:
        sheet = workbook[workbook.sheetnames[0]]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        raise DataError(f"{path}: the first sheet is empty")
    header = ["".join(str(h).split()) if h is not None else "" for h in rows[0]]
    columns: dict[str, int] = {}
    for role, candidates in _HEADERS[year].items():
        found = [header.index(c) for c in candidates if c in header]
        if not found:
            raise DataError(f"{path}, row 1: no column for {role!r}; expected one of the headers {candidates}")
        columns[role] = found[0]
    body = pd.DataFrame(rows[1:], dtype=object)
    frame = pd.DataFrame({"row": np.arange(2, len(rows) + 1)})
    for role, position in columns.items():
        cells = body[position] if position in body.columns else pd.Series([None] * len(body))
        if role in _INDICATORS:
            numbers = pd.to_numeric(cells, errors="coerce")
            text = cells.astype("string").str.strip()
            bad = numbers.isna() & cells.notna() & ~text.isin(["", "NA", "—", "-", "…"])
            if bad.any():
                first = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{path}, row {first + 2}, column {header[position]!r}: expected a number, "
                                f"got {cells.iloc[first]!r}")
            frame[role] = numbers.astype(float).to_numpy()
        else:
            text = cells.map(lambda v: "" if v is None else (str(int(v)) if isinstance(v, float) and v == int(v)
                                                              else str(v)))
            frame[role] = text.str.replace(r"\s+", "", regex=True).str.replace("巿", "市").to_numpy()
    return frame


def county_kind(codes: pd.Series, names: pd.Series, statistical: pd.Series | np.ndarray | None = None) -> pd.Series:
    """Kind of county-level units from the 6-digit code and the Chinese name.

    Examples
    --------
    >>> import pandas as pd
    >>> county_kind(pd.Series(["110101", "130181", "130121", "130324", "150121", "150921", "429021", "520203",
    ...                        "441900"]),
    ...             pd.Series(["东城区", "辛集市", "井陉县", "青龙满族自治县", "土默特左旗", "察哈尔右翼前旗",
    ...                        "神农架林区", "六枝特区", "东莞市"])).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['district', 'county_level_city', 'county', 'autonomous_county', 'banner', 'banner',
     'forestry_district', 'special_district', 'city_without_districts']
    """
    codes = codes.astype(str)
    names = names.astype(str)
    flag = np.zeros(len(codes), dtype=bool) if statistical is None else np.asarray(statistical, dtype=bool)
    conditions = [
        flag,
        codes.str.endswith("00").to_numpy(),
        names.str.endswith("林区").to_numpy(),
        names.str.endswith("特区").to_numpy(),
        names.str.endswith("自治县").to_numpy(),
        names.str.endswith("自治旗").to_numpy(),
        names.str.endswith("旗").to_numpy(),
        names.str.endswith("县").to_numpy(),
        names.str.endswith("市").to_numpy(),
        names.str.endswith("区").to_numpy(),
    ]
    choices = ["functional_zone", "city_without_districts", "forestry_district", "special_district",
               "autonomous_county", "autonomous_banner", "banner", "county", "county_level_city", "district"]
    return pd.Series(np.select(conditions, choices, default="other"), index=codes.index, dtype=object)


def classify_rows(frame: pd.DataFrame, path: Path, year: int,
              known_names: set[str] | None = None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Split a census sheet into unit rows and rejected rows (with reasons)."""
    code = frame["code"]
    is_code = code.str.fullmatch(r"\d{6}")
    prefix4 = code.str[:4].where(is_code)
    aggregate = is_code & code.str.endswith("00")
    children = set(prefix4[is_code & ~code.str.endswith("00")].dropna())
    # a prefecture-level city without districts (东莞, 中山, 嘉峪关, 儋州) is itself a county-level unit
    city_unit = aggregate & ~code.str.endswith("0000") & ~prefix4.isin(children)
    has_pop = frame["pop_resident"].notna()
    blank = (frame["name"] == "") & ~is_code & ~has_pop
    subtotal = ~is_code & frame["name"].isin(_SUBTOTAL_NAMES)
    uncoded = ~is_code & ~blank & ~subtotal
    # a row without code and population is a data row only if it names a real unit (南沙群岛 2010)
    named_unit = frame["name"].isin(known_names) if known_names is not None else pd.Series(False, index=frame.index)
    # context: the prefecture each row sits under (rows are in hierarchical order)
    last_prefecture = code.where(aggregate & ~code.str.endswith("0000")).ffill().fillna("")
    frame = frame.assign(prefecture_code=np.where(aggregate, code, last_prefecture))
    reasons = np.select(
        [blank, subtotal, aggregate & ~city_unit & code.str.endswith("0000"), aggregate & ~city_unit,
         uncoded & ~has_pop & ~named_unit],
        [message(f"datasets.reason.{key}", "en") for key in ("blank", "subtotal", "province_total",
                                                              "prefecture_total", "no_code_no_population")],
        default="")
    rejected = [
        {"file": str(path), "row": int(r), "column": "区划代码", "value": c or n, "reason": reason}
        for r, c, n, reason in zip(frame["row"], code, frame["name"], reasons) if reason
    ]
    units = frame[reasons == ""].copy()
    units["coded"] = is_code[reasons == ""].to_numpy()
    units["year"] = year
    dup = units["coded"] & units["code"].duplicated(keep="first")
    if dup.any():
        first = units[dup].iloc[0]
        raise DataError(f"{path}, row {int(first['row'])}, column '区划代码': duplicate code {first['code']}")
    return units, rejected
