"""Cell parsing: numbers from yearbook cells, missing markers, unit factors, key cleaning.

Thousands separators (``1,234``), full-width digits and punctuation (``１，２３４``),
and a ``%`` (``‰``) sign in a percent (per-mille) column are cleaned. Empty cells and
the markers ``—``, ``…``, ``-``, ``--``, ``/``, ``NA``, ``N/A``, ``nan``, ``null``
(any cell made only of dashes, dots, slashes or ellipses) are *missing*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.ingest.headers import aliases, norm_unit

__all__ = ["PADDED_CODE_WIDTHS", "blank_cells", "clean_key", "pad_codes", "parse_cells", "scientific_codes",
           "unit_factor"]

_MISSING_WORDS = ("", "na", "n/a", "n.a.", "nan", "null", "none", "#n/a", "nil", "missing", "无", "缺失", "空")
_MISSING_RE = r"^[-—–―‐_/\\.·…。、~]*$"
_THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"


def parse_cells(raw: pd.Series, dimension: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """Numbers from raw cells, vectorised.

    Returns ``(values, missing, bad, marker)``: parsed floats (NaN if missing or
    bad), the missing mask, the unparseable mask, and the missing marker seen.
    """
    n = len(raw)
    raw = raw.reset_index(drop=True)
    try:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    except (TypeError, ValueError):
        values = np.full(n, np.nan)
    empty = raw.isna().to_numpy(copy=True)
    missing = empty.copy()
    bad = np.isinf(values)
    values[bad] = np.nan
    marker = pd.Series(np.where(empty, "empty", ""), dtype=object)
    todo = np.flatnonzero(np.isnan(values) & ~empty & ~bad)
    if len(todo):
        text = raw.iloc[todo].astype(str).str.normalize("NFKC").str.strip()
        compact = text.str.replace(r"\s+", "", regex=True)
        is_missing = (compact.str.casefold().isin(_MISSING_WORDS) | compact.str.match(_MISSING_RE)).to_numpy()
        dims = dimension[todo]
        number = compact.where(~((dims == "percent") & compact.str.endswith("%").to_numpy()), compact.str[:-1])
        number = number.where(~((dims == "permille") & number.str.endswith("‰").to_numpy()), number.str[:-1])
        grouped = number.str.fullmatch(_THOUSANDS_RE).to_numpy()
        number = number.where(~grouped, number.str.replace(",", "", regex=False))
        parsed = pd.to_numeric(number, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        parsed[np.isinf(parsed)] = np.nan
        values[todo] = np.where(is_missing, np.nan, parsed)
        missing[todo] = is_missing
        bad[todo] = ~is_missing & np.isnan(parsed)
        seen = text.to_numpy()[is_missing]
        marker.iloc[todo[is_missing]] = np.where(seen == "", "empty", seen)
    return values, missing, bad, marker


#: Control characters (C0 and C1, but tab, line feed and carriage return, which count as spaces) never
#: reach a unit's code or name: a null byte in a name would travel into every output.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def control_characters(series: pd.Series) -> np.ndarray:
    """Which cells of ``series`` hold control characters (:data:`CONTROL_CHARACTERS`)."""
    text = series.astype(object).where(series.notna(), None).astype("str")
    return text.str.contains(CONTROL_CHARACTERS, regex=True).fillna(False).to_numpy(dtype=bool)


def clean_key(series: pd.Series) -> pd.Series:
    """Codes and names as text: NFKC, control characters removed, stripped, ``110100.0`` -> ``110100``,
    ``北  京`` -> ``北京``; blank -> NA."""
    text = series.astype(object).where(series.notna(), None).astype("str")
    text = text.str.normalize("NFKC").str.replace(CONTROL_CHARACTERS, "", regex=True).str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    # yearbooks pad names for alignment ("北  京"): drop spaces between CJK characters, collapse the rest
    text = text.str.replace(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True)
    blank = text.isna() | (text == "") | text.str.casefold().isin(["nan", "none", "null", "<na>"])
    return text.where(~blank)



#: A code written in scientific notation (``2.307E+05``): a spreadsheet stored it as a number and
#: wrote it with fewer digits than it had.
_SCIENTIFIC_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$"

#: Code standards whose leading zero is lost when a code is stored as a number: digit count -> standard.
#: China's GB/T 2260 codes (6 or 12 digits) never start with 0, so they are never padded.
PADDED_CODE_WIDTHS: dict[int, str] = {width: message(f"ingest.code_standard.{name}", "en")
                                      for width, name in ((2, "state"), (5, "county"), (7, "place"), (11, "tract"))}


def scientific_codes(codes: pd.Series) -> np.ndarray:
    """Which codes (cleaned text) are written in scientific notation (``2.307E+05``): their digits are lost.

    >>> scientific_codes(pd.Series(["2.307E+05", "230700", None, "1e3"])).tolist()
    [True, False, False, True]
    """
    return codes.astype("string").str.fullmatch(_SCIENTIFIC_RE).fillna(False).to_numpy(dtype=bool)


def pad_codes(codes: pd.Series, tables: pd.Series) -> tuple[pd.Series, np.ndarray, str]:
    """Numeric codes that lost a leading zero, padded to their standard's width across every table.

    ``codes`` are cleaned codes (text or NA) and ``tables`` says which table (file and sheet)
    each comes from. A table's code column is numeric when all its codes are digits. The
    width is recognised when the digit counts of all numeric columns together are a
    standard's width and one less (:data:`PADDED_CODE_WIDTHS`), so that ``1001`` in one file
    and ``01001`` in another are one county. A file with only four-digit codes and no other
    file to compare with is left as it is, and so are codes of other widths.

    Returns ``(codes, padded, standard)``: the codes, which were padded, and the standard's name
    (``""`` when nothing was padded).

    >>> codes, padded, standard = pad_codes(pd.Series(["01001", "1001", "6037"]), pd.Series(["a", "b", "b"]))
    >>> codes.tolist(), padded.tolist(), standard
    (['01001', '01001', '06037'], [False, True, True], 'US county FIPS code (state + county) or ZIP code')
    >>> pad_codes(pd.Series(["110100", "11010"]), pd.Series(["a", "a"]))[1].tolist()
    [False, False]
    """
    text = codes.astype(object).where(codes.notna(), None).astype("string")
    present = text.notna().to_numpy()
    digits = text.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
    frame = pd.DataFrame({"table": tables.to_numpy(), "bad": present & ~digits})
    numeric = ~frame.groupby("table", sort=False)["bad"].transform("any").to_numpy(dtype=bool) & present & digits
    length = text.str.len().fillna(0).to_numpy(dtype=np.int64)
    lengths = set(np.unique(length[numeric]).tolist())
    width = max(lengths) if lengths else 0
    if width not in PADDED_CODE_WIDTHS or lengths != {width - 1, width}:
        return codes, np.zeros(len(codes), dtype=bool), ""
    padded = numeric & (length == width - 1)
    out = codes.copy()
    out[padded] = text[padded].str.zfill(width).to_numpy(dtype=object)
    return out, padded, PADDED_CODE_WIDTHS[width]


def unit_factor(indicator: str, unit: str | None, where: str) -> tuple[float, str]:
    table = aliases()
    if indicator not in table.dimension:
        raise OptionError(f"{where}: unknown indicator {indicator!r}")
    dimension = table.dimension[indicator]
    if unit is None:
        return 1.0, ""
    factors = table.units[dimension]
    key = norm_unit(unit)
    if key not in factors:
        raise DataError(
            f"{where}: unit {unit!r} is not a unit of {table.canonical_unit[dimension]} for {indicator}; "
            f"expected one of: {', '.join(table.unit_labels[dimension].values())} "
            f"(declare the unit with --unit COLUMN=UNIT, or map the column with --map)"
        )
    return factors[key], table.unit_labels[dimension][key]



def blank_cells(data: pd.DataFrame) -> np.ndarray:
    """Cells that are empty or only whitespace, as a boolean array.

    Only rows whose first filled cell is whitespace are checked cell by cell
    (vectorised); every other row has a real value and is not blank.
    """
    values = data.to_numpy(dtype=object)
    blank = pd.isna(values)
    if values.size == 0:
        return blank
    has_any = ~blank.all(axis=1)
    first = values[np.arange(len(values)), np.argmax(~blank, axis=1)]
    first_blank = pd.Series(first, dtype=object).astype(str).str.strip().eq("").to_numpy() & has_any
    suspects = np.flatnonzero(first_blank)
    if len(suspects):
        block = pd.DataFrame(values[suspects], dtype=object)
        text = block.apply(lambda column: column.astype(str).str.strip().eq("") | column.isna())
        blank[suspects] = text.to_numpy(dtype=bool)
    return blank
