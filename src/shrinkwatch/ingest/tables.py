"""Read users' own panels: yearbook exports in CSV, TSV, Excel, Parquet and Stata.

:func:`ingest` turns one or more files into a :class:`~shrinkwatch.core.Panel`
and a :class:`Ledger` that accounts for every data row read.

Formats and layouts
-------------------
- ``.csv``, ``.tsv``, ``.txt`` (UTF-8, UTF-8 with BOM, GBK/GB18030: ``utf-8-sig`` is
  tried first, then ``gb18030``; the ledger names the one used), ``.xlsx``/``.xlsm``
  (openpyxl), ``.xls`` (xlrd), ``.parquet`` and Stata ``.dta``.
- **two-row headers**: merged yearbook headers such as 年末总人口(万人) over 全市 | 市辖区 (the
  districts-only column becomes ``pop_registered_district``, ``gdp_district``...);
- **wide by indicator and year**: headers that carry both (``pop2015``, ``gdp_2016`` as in Stata wide
  exports, ``常住人口2017年(万人)``, ``2018年地区生产总值(亿元)``);
- **wide by year**: a unit column and year columns (``2015``, ``2015年``, ``2015 年``);
  the indicator comes from an indicator column (``指标``, with an optional ``单位``
  column), else from the sheet name, else from the file name (``常住人口(万人).csv``).
- **long**: unit, year and one column per indicator.
- **one sheet (or file) per year**: the year is taken from the sheet name
  (``2015``, ``2015年``) or, for CSV files, from the file name.

The header row is the first of the first 30 rows with at least two recognised
headers, one of them a unit, year or indicator key and one a value or year column
(rows above it, such as a table title, are not data). Every row below the header is
a data row, except blank rows, which are counted separately (``sources.blank_rows``).
A sheet without such a header (a notes sheet) is skipped with a warning. Columns
that match nothing are listed in ``Ledger.ignored_columns``, never dropped silently.
Not handled: two-row headers (a unit row under the header row) and province subtotal
rows without a total label; their rows are accepted or rejected as they read.

Headers are matched through the alias table ``resources/aliases.toml`` (Chinese and
English yearbook headers to the canonical indicators of ARCHITECTURE.md), after
NFKC normalisation; a unit in brackets (``年末户籍人口(万人)``, ``地区生产总值（亿元）``)
or a trailing ``%``/``‰`` is parsed and converted to the canonical unit (persons,
km2, local currency, percent 0-100; ``birth_rate`` stays per mille). A header without
a unit is taken to be in the canonical unit, recorded as such in the ledger (with
a warning when a population median below 5,000 suggests 万人, or when every share is
at most 1, as Excel percentage cells store fractions).

Cells
-----
Thousands separators (``1,234``), full-width digits and punctuation (``１，２３４``),
and a ``%`` (``‰``) sign in a percent (per-mille) column are cleaned. Empty cells and
the markers ``—``, ``…``, ``-``, ``--``, ``/``, ``NA``, ``N/A``, ``nan``, ``null``
(any cell made only of dashes, dots, slashes or ellipses) are *missing*: recorded as
missing in the ledger, never a rejection.

Rows
----
A data row is rejected, with file, sheet, row and column in the ledger, when it has
no unit id and no name, an unparseable year, an unparseable number (``abc``), a value
outside the indicator's range (a negative population, a share above 100), is a total
(``合计``, ``总计``, ``全国``, ``Total``) or a note (``注：``, ``资料来源``), names an
indicator the alias table does not know (in an indicator column), or is a conflicting
duplicate. Rows are numbered as a spreadsheet or text editor shows them
(the header of a plain CSV is row 1); in Parquet and Stata files row *n* is the *n*-th
observation.

Duplicates: two rows giving the same unit, year and indicator *different* values are
**both rejected** (reason ``duplicate with different values``): the ledger cannot know
which is right, so neither is kept. Equal values are collapsed and counted in the
ledger. A row giving a value where another left the cell missing simply fills it in
(this is how several files with different indicators merge).

Units without a code get ``unit_id`` = the name as written (NFKC, spaces between
Chinese characters removed: ``北  京`` -> ``北京``), or ``province/name``
when the table has a province column (so that 朝阳区 in Beijing and in Changchun stay
apart). Harmonisation to codes of one vintage is :mod:`shrinkwatch.harmonize`'s job
(``vintage=``).

Panel files
-----------
:func:`write_panel` writes one Parquet file, readable by any Parquet reader:
a long table with one row per ``(unit_id, year)`` of ``Panel.values`` and the
columns ``unit_id`` (string), ``year`` (int32), every column of ``Panel.units``
(repeated on each of the unit's rows; ``geometry`` as WKB) and one float64 column
per indicator. Units without any value get one row with a null ``year``. The
schema's key-value metadata holds ``shrinkwatch`` = JSON
``{"format": "shrinkwatch-panel", "version": 1, "unit_columns": [...],
"indicators": [...], "unit_order": [...] or null, "meta_frames": [...], "geometry_crs": ...,
"meta": Panel.meta.to_dict()}``. DataFrames among the fields of ``meta`` (such as
``boundary_breaks``) are stored as pandas "table" JSON strings and listed in
``meta_frames``; other values must be JSON types (NumPy scalars are converted).
:func:`read_panel` restores the Panel: units (order included), values, meta.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core import Panel, PanelMeta

__all__ = [
    "CANONICAL_INDICATORS",
    "KEY_COLUMNS",
    "PANEL_FORMAT",
    "SUPPORTED_SUFFIXES",
    "IngestError",
    "IngestResult",
    "Ledger",
    "aliases",
    "ingest",
    "parse_assignments",
    "read_panel",
    "write_panel",
]

#: Roles of non-indicator columns (``--map COLUMN=ROLE`` accepts these too).
KEY_COLUMNS = ("unit_id", "name", "year", "parent_name", "parent_id", "indicator", "measure_unit")
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq", ".dta")
#: Value of ``format`` in the Parquet metadata written by :func:`write_panel`.
PANEL_FORMAT = "shrinkwatch-panel"
_META_KEY = b"shrinkwatch"
_HEADER_SEARCH_ROWS = 30
_YEAR_RE = re.compile(r"^((?:18|19|20|21)\d{2})(?:\.0+)?\s*年?(?:末|底|度)?$")
_SHEET_YEAR_RE = re.compile(r"^\D*((?:18|19|20|21)\d{2})\D*$")
# an indicator and a year in one header, as in Stata wide exports (pop2015, gdp_2016, 常住人口2017年, 2018年GDP)
_STEM_YEAR_RE = re.compile(r"^(?P<stem>.*?[^\d_\s.-])[_\s.-]*(?P<year>(?:18|19|20|21)\d{2})\s*年?$")
_YEAR_STEM_RE = re.compile(r"^(?P<year>(?:18|19|20|21)\d{2})\s*年?[_\s.-]*(?P<stem>[^\d_\s.-].*)$")
_MISSING_WORDS = ("", "na", "n/a", "n.a.", "nan", "null", "none", "#n/a", "nil", "missing", "无", "缺失", "空")
_MISSING_RE = r"^[-—–―‐_/\\.·…。、~]*$"
_AGGREGATES = ("合计", "总计", "全国", "全国合计", "全省", "全省合计", "总计", "total", "grandtotal", "sum", "all")
_NOTE_RE = r"^(注[:：]|注\d|资料来源|数据来源|说明[:：]|备注|note[s]?[:：]|source[s]?[:：]|\*)"
_THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"


class IngestError(DataError):
    """A strict ingest found rejected rows; ``ledger`` holds the full account."""

    def __init__(self, message: str, ledger: Ledger) -> None:
        super().__init__(message)
        self.ledger = ledger


# ====================================================================== alias table

def _norm_header(text: object) -> str:
    """Matching key of a header: NFKC, case-folded, without spaces, ``_``, ``-``, ``~``."""
    key = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-~]+", "", key)


def _norm_unit(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)).casefold())


@dataclass(frozen=True)
class _Aliases:
    roles: dict[str, str]          # header key -> key role
    indicators: dict[str, str]     # header key -> canonical indicator
    dimension: dict[str, str]      # indicator -> dimension
    bounds: dict[str, tuple[float, float]]
    units: dict[str, dict[str, float]]  # dimension -> unit key -> factor
    canonical_unit: dict[str, str]  # dimension -> label
    unit_labels: dict[str, dict[str, str]]  # dimension -> unit key -> label as written in the table


@lru_cache(maxsize=1)
def aliases() -> _Aliases:
    """The built-in alias table (``resources/aliases.toml``), parsed once.

    Examples
    --------
    >>> table = aliases()
    >>> table.indicators[_norm_header("年末户籍人口")]
    'pop_registered'
    >>> table.units["persons"][_norm_unit("万人")]
    10000.0
    """
    text = resources.files("shrinkwatch").joinpath("resources/aliases.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    roles = {_norm_header(alias): role for role, names in raw["columns"].items() for alias in [role, *names]}
    indicators: dict[str, str] = {}
    dimension: dict[str, str] = {}
    bounds: dict[str, tuple[float, float]] = {}
    for indicator, spec in raw["indicators"].items():
        dimension[indicator] = spec["dimension"]
        bounds[indicator] = (float(spec.get("min", -np.inf)), float(spec.get("max", np.inf)))
        for alias in [indicator, *spec["aliases"]]:
            indicators[_norm_header(alias)] = indicator
    units = {dim: {_norm_unit(k): float(v) for k, v in spec["factors"].items()} for dim, spec in raw["units"].items()}
    labels = {dim: {_norm_unit(k): k for k in spec["factors"]} for dim, spec in raw["units"].items()}
    canonical = {dim: spec["canonical"] for dim, spec in raw["units"].items()}
    return _Aliases(roles, indicators, dimension, bounds, units, canonical, labels)


#: Canonical indicators known to the alias table (ARCHITECTURE.md plus ``birth_rate``
#: and ``urban_construction_land_km2``).
CANONICAL_INDICATORS: tuple[str, ...] = tuple(aliases().dimension)

_BRACKET_RE = re.compile(r"^(?P<stem>.*?)\s*[\(\[【{](?P<inner>[^\(\)\[\]【】{}]*)[\)\]】}]\s*$")


def _split_unit(header: str) -> tuple[str, str | None]:
    """``"年末户籍人口(万人)"`` -> ``("年末户籍人口", "万人")``; qualifiers in earlier brackets are dropped."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    unit: str | None = None
    match = _BRACKET_RE.match(text)
    if match:
        text, unit = match["stem"], match["inner"].strip()
    elif text.endswith(("%", "‰")) and len(text) > 1:
        text, unit = text[:-1].rstrip(), text[-1]
    while (inner := _BRACKET_RE.match(text)) is not None:  # "地区生产总值(当年价格)(亿元)"
        text = inner["stem"]
    return text.strip(), unit


# ====================================================================== ledger

_REJECT_COLUMNS = ["file", "sheet", "row", "column", "value", "reason"]
_CONVERSION_COLUMNS = ["file", "sheet", "column", "indicator", "from_unit", "to_unit", "factor", "unit_from", "cells"]
_DUPLICATE_COLUMNS = ["unit_id", "year", "indicator", "file", "sheet", "row", "value", "action"]
_MISSING_COLUMNS = ["file", "sheet", "column", "indicator", "cells", "markers"]
_SOURCE_COLUMNS = ["file", "sheet", "layout", "encoding", "header_row", "year", "rows_read", "blank_rows"]
_IGNORED_COLUMNS = ["file", "sheet", "column", "reason"]


def _frame(columns: list[str], records: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=columns)


@dataclass(frozen=True, eq=False)
class Ledger:
    """The account of one ingest: every data row read is accepted or rejected.

    Attributes
    ----------
    rows_read, rows_accepted, rows_rejected
        Data rows (blank rows excluded; see ``sources``). Always
        ``rows_accepted + rows_rejected == rows_read``.
    rejected
        One line per problem: ``file``, ``sheet``, ``row`` (1-based, as a
        spreadsheet shows it), ``column``, ``value``, ``reason``. A row with
        several problems has several lines; it counts once in ``rows_rejected``.
    conversions
        Units applied per source column: ``from_unit``, ``to_unit``, ``factor``,
        ``unit_from`` (``header``, ``--unit``, ``unit column``, ``indicator label``,
        or ``assumed canonical``) and the number of ``cells`` converted.
    duplicates
        Every row giving a value for a ``(unit_id, year, indicator)`` given by
        another row too, with ``action``: ``kept`` (the first of identical
        values), ``collapsed (identical)`` (a later row with the same value),
        ``rejected (different values)``, or ``rejected with its row`` (the row was
        rejected for a conflict in another indicator).
    missing
        Missing cells per source column, with the markers seen (``—: 3, empty: 2``).
    sources
        One line per file and sheet: layout, encoding, header row, rows read.
    ignored_columns
        Columns not mapped to any indicator or key, with the reason.
    warnings
        Messages that need a human look (e.g. a unit with two names).
    """

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected: pd.DataFrame = field(default_factory=lambda: _frame(_REJECT_COLUMNS))
    conversions: pd.DataFrame = field(default_factory=lambda: _frame(_CONVERSION_COLUMNS))
    duplicates: pd.DataFrame = field(default_factory=lambda: _frame(_DUPLICATE_COLUMNS))
    missing: pd.DataFrame = field(default_factory=lambda: _frame(_MISSING_COLUMNS))
    sources: pd.DataFrame = field(default_factory=lambda: _frame(_SOURCE_COLUMNS))
    ignored_columns: pd.DataFrame = field(default_factory=lambda: _frame(_IGNORED_COLUMNS))
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.rows_accepted + self.rows_rejected != self.rows_read:  # pragma: no cover - invariant
            raise AssertionError(
                f"ledger does not balance: {self.rows_accepted} + {self.rows_rejected} != {self.rows_read}"
            )

    @property
    def balanced(self) -> bool:
        """``rows_accepted + rows_rejected == rows_read`` (always true)."""
        return self.rows_accepted + self.rows_rejected == self.rows_read

    @property
    def duplicates_collapsed(self) -> int:
        """Rows whose values duplicated another row's exactly (collapsed, counted)."""
        if self.duplicates.empty:
            return 0
        collapsed = self.duplicates[self.duplicates["action"] == "collapsed (identical)"]
        return int(collapsed[["file", "sheet", "row"]].drop_duplicates().shape[0])

    @property
    def duplicates_rejected(self) -> int:
        """Rows rejected because another row gave a different value."""
        if self.rejected.empty:
            return 0
        conflict = self.rejected[self.rejected["reason"].str.startswith("duplicate with different values")]
        return int(conflict[["file", "sheet", "row"]].drop_duplicates().shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Everything in one long table (written as ``PANEL.ledger.csv``).

        Columns: ``kind`` (``total``, ``source``, ``rejected``, ``conversion``,
        ``duplicate``, ``missing``, ``ignored_column``, ``warning``), ``file``,
        ``sheet``, ``row``, ``column``, ``value``, ``detail``.
        """
        parts = [pd.DataFrame([
            {"kind": "total", "column": "rows_read", "value": str(self.rows_read)},
            {"kind": "total", "column": "rows_accepted", "value": str(self.rows_accepted)},
            {"kind": "total", "column": "rows_rejected", "value": str(self.rows_rejected)},
            {"kind": "total", "column": "duplicates_collapsed", "value": str(self.duplicates_collapsed)},
        ])]
        if not self.sources.empty:
            s = self.sources
            parts.append(pd.DataFrame({
                "kind": "source", "file": s["file"], "sheet": s["sheet"], "row": s["header_row"],
                "column": s["layout"], "value": s["rows_read"].astype(str),
                "detail": "encoding=" + s["encoding"].astype(str) + "; year=" + s["year"].astype(str)
                + "; blank rows=" + s["blank_rows"].astype(str),
            }))
        if not self.rejected.empty:
            r = self.rejected
            parts.append(pd.DataFrame({"kind": "rejected", "file": r["file"], "sheet": r["sheet"], "row": r["row"],
                                       "column": r["column"], "value": r["value"], "detail": r["reason"]}))
        if not self.conversions.empty:
            c = self.conversions
            parts.append(pd.DataFrame({
                "kind": "conversion", "file": c["file"], "sheet": c["sheet"], "column": c["column"],
                "value": c["cells"].astype(str),
                "detail": c["indicator"] + ": " + c["from_unit"].astype(str) + " -> " + c["to_unit"]
                + " x" + c["factor"].map(lambda f: f"{f:g}") + " (unit from " + c["unit_from"] + ")",
            }))
        if not self.duplicates.empty:
            d = self.duplicates
            parts.append(pd.DataFrame({
                "kind": "duplicate", "file": d["file"], "sheet": d["sheet"], "row": d["row"], "column": d["indicator"],
                "value": d["value"].astype(str),
                "detail": d["action"] + " unit " + d["unit_id"].astype(str) + " year " + d["year"].astype(str),
            }))
        if not self.missing.empty:
            m = self.missing
            parts.append(pd.DataFrame({"kind": "missing", "file": m["file"], "sheet": m["sheet"], "column": m["column"],
                                       "value": m["cells"].astype(str), "detail": m["indicator"] + ": " + m["markers"]}))
        if not self.ignored_columns.empty:
            g = self.ignored_columns
            parts.append(pd.DataFrame({"kind": "ignored_column", "file": g["file"], "sheet": g["sheet"],
                                       "column": g["column"], "detail": g["reason"]}))
        if self.warnings:
            parts.append(pd.DataFrame({"kind": "warning", "detail": list(self.warnings)}))
        table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        table = table.reindex(columns=["kind", "file", "sheet", "row", "column", "value", "detail"])
        table["row"] = table["row"].astype("Int64")
        return table

    def summary(self, max_lines: int = 10) -> str:
        """A short human-readable account (what ``shrinkwatch ingest`` prints)."""
        lines = [
            f"rows read {self.rows_read}: accepted {self.rows_accepted}, rejected {self.rows_rejected}"
            + (f" (duplicates collapsed: {self.duplicates_collapsed})" if self.duplicates_collapsed else ""),
        ]
        for s in self.sources.itertuples(index=False):
            where = s.file + (f" [{s.sheet}]" if isinstance(s.sheet, str) and s.sheet else "")
            detail = s.layout + (f", header row {s.header_row}" if s.header_row else "") \
                + (f", encoding {s.encoding}" if s.encoding else "")
            blank = f", {s.blank_rows} blank rows skipped" if s.blank_rows else ""
            lines.append(f"  read {where}: {s.rows_read} rows ({detail}{blank})")
        if not self.conversions.empty:
            shown = self.conversions.drop_duplicates(["column", "indicator", "from_unit", "factor"])
            for c in shown.head(max_lines).itertuples(index=False):
                lines.append(f"  convert {c.column!s} -> {c.indicator}: {c.from_unit} x{c.factor:g} ({c.unit_from})")
            if len(shown) > max_lines:
                lines.append(f"  ... {len(shown) - max_lines} more conversions in the ledger")
        if self.rows_rejected:
            reasons = self.rejected.drop_duplicates(["file", "sheet", "row"])["reason"].str.replace(
                r":.*$", "", regex=True).value_counts()
            lines.append("  rejected rows by reason: " + "; ".join(f"{k} ({v})" for k, v in reasons.items()))
            for r in self.rejected.head(max_lines).itertuples(index=False):
                lines.append("    " + _where(r.file, r.sheet, r.row, r.column) + f": {r.reason}")
            if len(self.rejected) > max_lines:
                lines.append(f"    ... {len(self.rejected) - max_lines} more in the ledger")
        if not self.missing.empty:
            lines.append(f"  missing cells: {int(self.missing['cells'].sum())} (recorded as missing, not rejected)")
        if not self.ignored_columns.empty:
            names = ", ".join(map(str, self.ignored_columns["column"].drop_duplicates().head(max_lines)))
            lines.append(f"  ignored columns: {names}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _where(file: object, sheet: object, row: object, column: object) -> str:
    sheet_part = f", sheet {sheet!r}" if isinstance(sheet, str) and sheet else ""
    return f"{file}{sheet_part}, row {row}, column {column!r}"


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` returns: the panel and the ledger that accounts for it."""

    panel: Panel
    ledger: Ledger


# ====================================================================== reading

@dataclass
class _Table:
    """One sheet or file, cells as read (object), positional columns."""

    file: str
    sheet: str
    cells: pd.DataFrame
    row_numbers: np.ndarray     # spreadsheet row number of each line of ``cells``
    encoding: str = ""
    header: list[str] | None = None  # known header (Parquet, Stata); else searched


def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: cannot decode as UTF-8, UTF-8 with BOM or GBK/GB18030 "
            f"(byte {error.start}: {data[error.start:error.start + 4]!r}); save it as UTF-8"
        ) from None


def _read_text(path: Path) -> list[_Table]:
    text, encoding = _decode(path)
    first = text.split("\n", 1)[0]
    sep = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first and first.count("\t") >= first.count(",")) else ","
    options: dict[str, Any] = {"sep": sep, "header": None, "dtype": object, "keep_default_na": False,
                                   "na_filter": False, "skip_blank_lines": False, "quoting": csv.QUOTE_MINIMAL}
    try:
        cells = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        cells = pd.DataFrame()
    except pd.errors.ParserError:
        # rows of different lengths (a title line above the header): size to the widest row
        width = max((len(r) for r in csv.reader(io.StringIO(text), delimiter=sep)), default=1)
        try:
            cells = pd.read_csv(io.StringIO(text), names=range(width), **options)
        except pd.errors.ParserError as error:
            raise DataError(f"{path}: not a readable {'TSV' if sep == chr(9) else 'CSV'} file: {error}") from None
    if "\r" in text or '"' in text:
        # quoted cells can span lines: number rows by the line each record starts on
        starts = [0]
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        try:
            for _ in reader:
                starts.append(reader.line_num)
        except csv.Error:
            starts = list(range(len(cells) + 1))
        row_numbers = np.asarray(starts[: len(cells)], dtype=np.int64) + 1
        if len(row_numbers) < len(cells):
            row_numbers = np.arange(1, len(cells) + 1)
    else:
        row_numbers = np.arange(1, len(cells) + 1)
    cells = cells.where(cells != "", None) if len(cells) else cells
    return [_Table(str(path), "", cells, row_numbers, encoding)]


def _read_xlsx(path: Path, sheet: str | None) -> list[_Table]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises zipfile, KeyError, InvalidFileException...
        raise DataError(f"{path}: not a readable .xlsx workbook: {error}") from None
    try:
        names = _pick_sheets(path, book.sheetnames, sheet)
        tables = []
        for name in names:
            worksheet = book[name]
            worksheet.reset_dimensions()
            rows = list(worksheet.iter_rows(values_only=True))
            cells = _rows_to_frame(rows)
            tables.append(_Table(str(path), name, cells, np.arange(1, len(cells) + 1)))
        return tables
    finally:
        book.close()


def _read_xls(path: Path, sheet: str | None) -> list[_Table]:
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as error:  # noqa: BLE001 - xlrd raises XLRDError, CompDocError, struct.error...
        raise DataError(f"{path}: not a readable .xls workbook: {error}") from None
    names = _pick_sheets(path, book.sheet_names(), sheet)
    tables = []
    for name in names:
        sh = book.sheet_by_name(name)
        cells = _rows_to_frame([sh.row_values(i) for i in range(sh.nrows)])
        if len(cells):
            types = _rows_to_frame([sh.row_types(i) for i in range(sh.nrows)])
            empty = types.isna() | types.isin([xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK])
            cells = cells.mask(empty.reindex_like(cells).fillna(True).astype(bool))
        tables.append(_Table(str(path), name, cells, np.arange(1, len(cells) + 1)))
    return tables


def _rows_to_frame(rows: list[Sequence[Any]]) -> pd.DataFrame:
    """Rows of different lengths (as openpyxl and xlrd give them) as one object frame."""
    if not rows:
        return pd.DataFrame()
    width = max(len(row) for row in rows)
    padded = [tuple(row) + (None,) * (width - len(row)) for row in rows]
    cells = np.empty((len(padded), width), dtype=object)
    cells[:] = padded if width else cells
    return pd.DataFrame(cells, dtype=object)


def _pick_sheets(path: Path, names: list[str], sheet: str | None) -> list[str]:
    if sheet is None:
        return list(names)
    if sheet in names:
        return [sheet]
    raise OptionError(f"--sheet: {path} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")


def _read_typed(path: Path, frame: pd.DataFrame) -> list[_Table]:
    header = [str(c) for c in frame.columns]
    cells = frame.astype(object)
    cells.columns = range(cells.shape[1])
    cells = cells.where(cells.notna(), None)
    return [_Table(str(path), "", cells, np.arange(1, len(cells) + 1), header=header)]


def _read_file(path: Path, sheet: str | None) -> list[_Table]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_text(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix == ".xls":
        return _read_xls(path, sheet)
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError...
            raise DataError(f"{path}: not a readable Parquet file: {error}") from None
        return _read_typed(path, frame)
    if suffix == ".dta":
        try:
            frame = pd.read_stata(path, convert_categoricals=True)
        except Exception as error:  # noqa: BLE001 - pandas raises ValueError, struct.error... on damaged files
            raise DataError(f"{path}: not a readable Stata .dta file: {error}") from None
        return _read_typed(path, frame)
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")


# ====================================================================== header analysis

@dataclass
class _Column:
    position: int
    header: str
    role: str              # a key role, "value" (indicator column), "by_year" (2015, 2015年) or "ignored"
    indicator: str | None = None
    year: int | None = None
    unit: str | None = None
    unit_from: str = ""
    reason: str = ""


@dataclass
class _Options:
    mapping: dict[str, str]      # normalised header key -> indicator or role
    units: dict[str, str]        # normalised header key -> unit
    used_map: set[str] = field(default_factory=set)
    used_unit: set[str] = field(default_factory=set)


def _header_keys(header: str) -> tuple[str, str]:
    stem, _ = _split_unit(header)
    return _norm_header(header), _norm_header(stem)


def _classify(header: str, position: int, options: _Options) -> _Column:
    table = aliases()
    full_key, stem_key = _header_keys(header)
    stem, unit = _split_unit(header)
    override = options.mapping.get(full_key) or options.mapping.get(stem_key)
    unit_from = "header" if unit else ""
    declared = options.units.get(full_key) or options.units.get(stem_key)
    if declared is not None:
        options.used_unit.add(full_key if full_key in options.units else stem_key)
        unit, unit_from = declared, "--unit"
    if override is not None:
        options.used_map.add(full_key if full_key in options.mapping else stem_key)
        if override == "ignore":
            return _Column(position, header, "ignored", reason="--map COLUMN=ignore")
        if override in KEY_COLUMNS:
            return _Column(position, header, override)
        return _Column(position, header, "value", indicator=override, unit=unit, unit_from=unit_from)
    year = _YEAR_RE.match(stem)
    if year:
        return _Column(position, header, "by_year", year=int(year.group(1)), unit=unit, unit_from=unit_from)
    combined = _STEM_YEAR_RE.match(stem) or _YEAR_STEM_RE.match(stem)
    if combined:
        inner = _classify(combined.group("stem") + (f"({unit})" if unit and unit_from == "header" else ""),
                          position, options)
        if inner.role == "value":
            return _Column(position, header, "value_year", indicator=inner.indicator,
                           year=int(combined.group("year")), unit=unit or inner.unit,
                           unit_from=unit_from or inner.unit_from)
    if full_key in table.roles and not unit:
        return _Column(position, header, table.roles[full_key])
    indicator = table.indicators.get(full_key) or table.indicators.get(stem_key)
    if indicator is None and unit is None and stem_key in table.roles:
        return _Column(position, header, table.roles[stem_key])
    if indicator is not None:
        if full_key in table.indicators and unit_from == "header":
            unit, unit_from = None, ""  # the bracket was part of the alias itself
        return _Column(position, header, "value", indicator=indicator, unit=unit, unit_from=unit_from)
    if stem_key in table.roles:
        return _Column(position, header, table.roles[stem_key])
    return _Column(position, header, "ignored", reason="not a known indicator or key column (use --map COLUMN=indicator)")


def _is_blank_header(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _header_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _find_header(table: _Table, options: _Options) -> tuple[int, list[_Column]] | None:
    """Position of the header line in ``table.cells`` and its classified columns."""
    if table.header is not None:
        return -1, [_classify(h, i, options) for i, h in enumerate(table.header)]
    limit = min(len(table.cells), _HEADER_SEARCH_ROWS)
    probe = _Options(options.mapping, options.units)  # only the header found counts as using --map/--unit
    for line in range(limit):
        cells = [(i, _header_text(v)) for i, v in enumerate(table.cells.iloc[line].tolist()) if not _is_blank_header(v)]
        columns = [_classify(text, i, probe) for i, text in cells]
        recognised = [c for c in columns if c.role != "ignored"]
        has_key = any(c.role in ("unit_id", "name", "year", "indicator") for c in recognised)
        has_values = any(c.role in ("value", "by_year", "value_year") for c in recognised)
        if len(recognised) >= 2 and has_key and has_values:
            two_rows = _two_row_header(table, line, columns, probe)
            if two_rows is not None:
                return line + 1, [_classify(text, i, options) for i, text in two_rows]
            return line, [_classify(text, i, options) for i, text in cells]
    return None


#: Second header rows that name the territorial scope of the column above (merged header cells).
_WHOLE_CITY = ("全市", "全市域", "市域", "全地区", "全区域", "全市合计", "地区")
_DISTRICTS = ("市辖区", "城区", "市区")


def _two_row_header(table: _Table, line: int, columns: list[_Column], probe: _Options) -> list[tuple[int, str]] | None:
    """Headers of a two-row header (yearbook style: 年末总人口(万人) over 全市 | 市辖区), or None.

    The line below ``line`` is a second header row when it leaves the key
    columns empty and holds text, not numbers, under the value columns. The top
    row's merged cells are carried to the right; a scope of 全市 keeps the
    indicator, a scope of 市辖区 makes it the districts-only series
    (``pop_registered_district``...), anything else is appended to the top text.
    """
    if line + 1 >= len(table.cells):
        return None
    top = [_header_text(v) if not _is_blank_header(v) else "" for v in table.cells.iloc[line].tolist()]
    bottom = [_header_text(v) if not _is_blank_header(v) else "" for v in table.cells.iloc[line + 1].tolist()]
    key_positions = [c.position for c in columns if c.role in KEY_COLUMNS]
    if any(bottom[i] for i in key_positions if i < len(bottom)):
        return None
    texts = [b for b in bottom if b]
    if not texts or any(re.fullmatch(r"[-+]?[\d.,]+%?", b) for b in texts):
        return None
    combined: list[tuple[int, str]] = []
    carried = ""
    for i, (upper, lower) in enumerate(zip(top, bottom)):
        if upper:
            carried = upper
        above = upper or (carried if lower else "")
        if not lower:
            text = above
        elif lower in _WHOLE_CITY:
            text = above
        elif lower in _DISTRICTS:
            text = "市辖区" + above
        else:
            text = above + lower
        if text:
            combined.append((i, text))
    classified = [_classify(text, i, probe) for i, text in combined]
    if not any(c.role in ("value", "by_year", "value_year") for c in classified):
        return None
    return combined


# ====================================================================== cell parsing

def _parse_cells(raw: pd.Series, dimension: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
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


def _clean_key(series: pd.Series) -> pd.Series:
    """Codes and names as text: NFKC, stripped, ``110100.0`` -> ``110100``, ``北  京`` -> ``北京``; blank -> NA."""
    text = series.astype(object).where(series.notna(), None).astype("str")
    text = text.str.normalize("NFKC").str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    # yearbooks pad names for alignment ("北  京"): drop spaces between CJK characters, collapse the rest
    text = text.str.replace(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True)
    blank = text.isna() | (text == "") | text.str.casefold().isin(["nan", "none", "null", "<na>"])
    return text.where(~blank)


# ====================================================================== ingest

def parse_assignments(items: Sequence[str] | None, option: str) -> dict[str, str]:
    """``["COLUMN=VALUE", ...]`` -> ``{COLUMN: VALUE}``; a malformed item names ``option``.

    Examples
    --------
    >>> parse_assignments(["人口(万人)=pop_resident"], "--map")
    {'人口(万人)': 'pop_resident'}
    """
    result: dict[str, str] = {}
    for item in items or []:
        column, sep, value = item.rpartition("=")
        if not sep or not column.strip() or not value.strip():
            raise OptionError(f"{option}: expected COLUMN=VALUE, got {item!r}")
        result[column.strip()] = value.strip()
    return result


def _build_options(mapping: Mapping[str, str] | None, units: Mapping[str, str] | None) -> _Options:
    table = aliases()
    map_keys: dict[str, str] = {}
    for column, target in (mapping or {}).items():
        if target not in CANONICAL_INDICATORS and target not in KEY_COLUMNS and target != "ignore":
            raise OptionError(
                f"--map {column}={target}: {target!r} is not a canonical indicator or key column; "
                f"indicators: {', '.join(CANONICAL_INDICATORS)}; keys: {', '.join(KEY_COLUMNS)}; or 'ignore'"
            )
        map_keys[_norm_header(column)] = target
    unit_keys: dict[str, str] = {}
    known = sorted({label for labels in table.unit_labels.values() for label in labels.values()})
    for column, unit in (units or {}).items():
        if not any(_norm_unit(unit) in factors for factors in table.units.values()):
            raise OptionError(f"--unit {column}={unit}: unknown unit {unit!r}; known units: {', '.join(known)}")
        unit_keys[_norm_header(column)] = unit
    return _Options(map_keys, unit_keys)


def _table_year(table: _Table) -> int | None:
    for label in (table.sheet, Path(table.file).stem if not table.sheet else ""):
        if label:
            match = _SHEET_YEAR_RE.match(unicodedata.normalize("NFKC", label).strip())
            if match:
                return int(match.group(1))
    return None


def _table_indicator(table: _Table, options: _Options) -> _Column | None:
    """The indicator of a wide single-indicator table, from its sheet name or file name."""
    for label in (table.sheet, Path(table.file).stem):
        if not label:
            continue
        column = _classify(label, -1, options)
        if column.role == "value":
            if column.unit_from == "header":
                column.unit_from = "sheet name" if label == table.sheet else "file name"
            return column
    return None


def _unit_factor(indicator: str, unit: str | None, where: str) -> tuple[float, str]:
    table = aliases()
    if indicator not in table.dimension:
        raise OptionError(f"{where}: unknown indicator {indicator!r}")
    dimension = table.dimension[indicator]
    if unit is None:
        return 1.0, ""
    factors = table.units[dimension]
    key = _norm_unit(unit)
    if key not in factors:
        raise DataError(
            f"{where}: unit {unit!r} is not a unit of {table.canonical_unit[dimension]} for {indicator}; "
            f"expected one of: {', '.join(table.unit_labels[dimension].values())} "
            f"(declare the unit with --unit COLUMN=UNIT, or map the column with --map)"
        )
    return factors[key], table.unit_labels[dimension][key]


@dataclass
class _Parts:
    """Row and cell frames built from all tables, plus ledger pieces."""

    rows: list[pd.DataFrame] = field(default_factory=list)
    cells: list[pd.DataFrame] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    next_row: int = 0


def _ignore(columns: list[_Column], reason: str, by_role: dict[str, list[_Column]]) -> None:
    """Mark ``columns`` as ignored with ``reason`` (they are listed in the ledger)."""
    for column in columns:
        column.role, column.reason = "ignored", reason
        by_role.setdefault("ignored", []).append(column)


def _layout_table(table: _Table, options: _Options, parts: _Parts) -> None:
    where_table = table.file + (f", sheet {table.sheet!r}" if table.sheet else "")
    if table.cells.shape[0] == 0:
        parts.sources.append({"file": table.file, "sheet": table.sheet, "layout": "empty", "encoding": table.encoding,
                                  "header_row": 0, "year": None, "rows_read": 0, "blank_rows": 0})
        parts.warnings.append(f"{where_table}: no rows")
        return
    found = _find_header(table, options)
    if found is None:
        parts.sources.append({"file": table.file, "sheet": table.sheet, "layout": "skipped", "encoding": table.encoding,
                                  "header_row": 0, "year": None, "rows_read": 0, "blank_rows": 0})
        parts.warnings.append(
            f"{where_table}: skipped: no header row with a unit column (code or name) and an indicator or "
            f"year column in the first {_HEADER_SEARCH_ROWS} rows (use --map COLUMN=indicator)"
        )
        return
    header_line, columns = found
    header_row = int(table.row_numbers[header_line]) if header_line >= 0 else 0
    data = table.cells.iloc[header_line + 1:]
    row_numbers = table.row_numbers[header_line + 1:]
    blank_cells = _blank_cells(data)
    blank = blank_cells.all(axis=1) if data.shape[1] else np.ones(len(data), dtype=bool)
    named = {c.position for c in columns}
    for index, position in enumerate(data.columns):
        if position not in named and not blank_cells[:, index].all():
            parts.ignored.append({"file": table.file, "sheet": table.sheet, "column": f"(column {position + 1}, no header)",
                                      "reason": "data under an empty header cell"})
    data = data[~blank]
    row_numbers = row_numbers[~blank]
    n_rows = len(data)

    by_role: dict[str, list[_Column]] = {}
    for column in columns:
        by_role.setdefault(column.role, []).append(column)
    for role in KEY_COLUMNS:
        extra = by_role.get(role, [])[1:]
        for column in extra:
            column.role, column.reason = "ignored", f"second {role} column (first: {by_role[role][0].header!r})"
            by_role.setdefault("ignored", []).append(column)
        if extra:
            by_role[role] = by_role[role][:1]
    year_columns = by_role.get("by_year", [])
    value_columns = by_role.get("value", [])
    has_year_key = "year" in by_role
    table_year = _table_year(table)

    def key(role: str) -> pd.Series:
        if role in by_role:
            return _clean_key(data[by_role[role][0].position].reset_index(drop=True))
        return pd.Series(pd.NA, index=range(n_rows), dtype="string")

    indicator_year_columns = by_role.get("value_year", [])
    if indicator_year_columns and (has_year_key or year_columns):
        _ignore(indicator_year_columns,
                "an indicator-and-year column in a table that also has a year column or year columns", by_role)
        indicator_year_columns = []
    if year_columns and has_year_key:
        _ignore(year_columns, "a year column in a long table (it has a year column)", by_role)
        year_columns = []
    if indicator_year_columns:
        layout = "wide (indicator and year in each header)"
        _ignore(value_columns, "an indicator column without a year in a wide table", by_role)
        value_columns = []
    elif year_columns:
        layout = "wide"
        _ignore(value_columns, "an indicator column in a wide-by-year table", by_role)
        value_columns = []
    elif has_year_key:
        layout = "long"
    elif table_year is not None:
        layout = "long (year from sheet name)" if table.sheet else "long (year from file name)"
    else:
        raise DataError(
            f"{where_table}: no year: no year column (年份/year), no year columns (2015, 2015年) and no year "
            f"in the sheet or file name; headers found: {', '.join(c.header for c in columns)}"
        )
    for column in by_role.get("ignored", []):
        parts.ignored.append({"file": table.file, "sheet": table.sheet, "column": column.header, "reason": column.reason})

    row_keys = np.arange(parts.next_row, parts.next_row + n_rows)
    parts.next_row += n_rows
    rows = pd.DataFrame({
        "row_key": row_keys, "file": table.file, "sheet": table.sheet, "row": row_numbers.astype(np.int64),
        "code": key("unit_id"), "name": key("name"), "parent_name": key("parent_name"),
        "parent_id": key("parent_id"),
        "year_raw": (data[by_role["year"][0].position].reset_index(drop=True) if has_year_key
                     else pd.Series(table_year, index=range(n_rows), dtype=object)),
        "year_column": by_role["year"][0].header if has_year_key else "",
        "id_column": " / ".join(by_role[r][0].header for r in ("unit_id", "name") if r in by_role) or "(none)",
        "name_column": by_role["name"][0].header if "name" in by_role else
        (by_role["unit_id"][0].header if "unit_id" in by_role else "(none)"),
    })
    parts.rows.append(rows)
    parts.sources.append({"file": table.file, "sheet": table.sheet, "layout": layout, "encoding": table.encoding,
                              "header_row": header_row,
                              "year": table_year if not has_year_key and not layout.startswith("wide") else None,
                              "rows_read": n_rows, "blank_rows": int(blank.sum())})
    if n_rows == 0:
        return

    if layout == "wide":
        _wide_cells(table, data, by_role, year_columns, row_keys, options, parts, where_table)
    elif indicator_year_columns:
        _indicator_year_cells(table, data, indicator_year_columns, row_keys, parts, where_table)
    else:
        _long_cells(table, data, value_columns, row_keys, parts, where_table)


def _objects(values: np.ndarray) -> pd.Series:
    """An object Series (no conversion to Arrow strings: these columns are internal)."""
    return pd.Series(values, dtype=object)


def _blank_cells(data: pd.DataFrame) -> np.ndarray:
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


def _conversion(parts: _Parts, table: _Table, column: str, indicator: str, unit: str | None,
                unit_from: str, factor: float, cells: int) -> None:
    table_units = aliases()
    parts.conversions.append({
        "file": table.file, "sheet": table.sheet, "column": column, "indicator": indicator,
        "from_unit": unit if unit else table_units.canonical_unit[table_units.dimension[indicator]],
        "to_unit": table_units.canonical_unit[table_units.dimension[indicator]], "factor": factor,
        "unit_from": unit_from if unit else "assumed canonical (no unit given)", "cells": cells,
    })


def _long_cells(table: _Table, data: pd.DataFrame, value_columns: list[_Column], row_keys: np.ndarray,
                parts: _Parts, where_table: str) -> None:
    if not value_columns:
        raise DataError(
            f"{where_table}: no indicator columns recognised; map one with --map COLUMN=indicator "
            f"(indicators: {', '.join(CANONICAL_INDICATORS)})"
        )
    n_rows = len(row_keys)
    seen: dict[str, str] = {}
    for column in value_columns:
        if column.indicator in seen:
            raise DataError(f"{where_table}: columns {seen[column.indicator]!r} and {column.header!r} both map to "
                            f"{column.indicator}; map one elsewhere with --map COLUMN=indicator or COLUMN=ignore")
        seen[column.indicator] = column.header  # type: ignore[index]
    factors = []
    for column in value_columns:
        factor, label = _unit_factor(column.indicator, column.unit, f"{where_table}, column {column.header!r}")  # type: ignore[arg-type]
        factors.append(factor)
        _conversion(parts, table, column.header, column.indicator, label or None, column.unit_from, factor, n_rows)  # type: ignore[arg-type]
    dims = aliases().dimension
    k = len(value_columns)
    raw = data[[c.position for c in value_columns]].to_numpy(dtype=object).ravel(order="F")
    parts.cells.append(pd.DataFrame({
        "row_key": np.tile(row_keys, k),
        "column": _objects(np.repeat(np.array([c.header for c in value_columns], dtype=object), n_rows)),
        "indicator": _objects(np.repeat(np.array([c.indicator for c in value_columns], dtype=object), n_rows)),
        "dimension": _objects(np.repeat(np.array([dims[str(c.indicator)] for c in value_columns], dtype=object),
                                        n_rows)),
        "factor": np.repeat(factors, n_rows),
        "year": np.full(k * n_rows, -1, dtype=np.int64),
        "raw": _objects(raw),
    }))


def _wide_cells(table: _Table, data: pd.DataFrame, by_role: dict[str, list[_Column]],
                year_columns: list[_Column], row_keys: np.ndarray, options: _Options, parts: _Parts,
                where_table: str) -> None:
    n_rows = len(row_keys)
    dims = aliases().dimension
    if "indicator" in by_role:
        labels = data[by_role["indicator"][0].position].astype(object).where(
            data[by_role["indicator"][0].position].notna(), "").astype(str).str.strip().to_numpy()
        units_col = (data[by_role["measure_unit"][0].position].astype(object).where(
            data[by_role["measure_unit"][0].position].notna(), "").astype(str).str.strip().to_numpy()
            if "measure_unit" in by_role else np.full(n_rows, "", dtype=object))
        indicator = np.full(n_rows, None, dtype=object)
        factor = np.full(n_rows, np.nan)
        pairs = pd.DataFrame({"label": labels, "unit": units_col})
        for (label, unit), group in pairs.groupby(["label", "unit"], sort=False).groups.items():
            column = _classify(label, -1, options) if label else _Column(-1, "", "ignored")
            if column.role != "value":
                continue  # these rows are rejected below: indicator not recognised
            declared_unit = column.unit
            unit_from = f"indicator label {label!r}" if declared_unit else ""
            if unit:
                declared_unit, unit_from = unit, "unit column"
            f, unit_label = _unit_factor(column.indicator, declared_unit,  # type: ignore[arg-type]
                                         f"{where_table}, indicator {label!r}")
            indicator[np.asarray(group)] = column.indicator
            factor[np.asarray(group)] = f
            _conversion(parts, table, label, column.indicator, unit_label or None, unit_from, f,  # type: ignore[arg-type]
                        len(group) * len(year_columns))
        row_indicator, row_factor, row_label = indicator, factor, labels
        indicator_header = by_role["indicator"][0].header
    else:
        named = _table_indicator(table, options)
        if named is None:
            raise DataError(
                f"{where_table}: a wide-by-year table needs its indicator: an indicator column (指标/indicator), "
                f"or a sheet or file name that names one (e.g. 常住人口(万人)), or --map {Path(table.file).stem}=INDICATOR"
            )
        declared = named.unit
        units_of_years = {c.unit for c in year_columns if c.unit}
        if declared is None and len(units_of_years) == 1:
            declared, named.unit_from = units_of_years.pop(), "year header"
        f, unit_label = _unit_factor(named.indicator, declared, f"{where_table}, indicator {named.header!r}")  # type: ignore[arg-type]
        _conversion(parts, table, named.header, named.indicator, unit_label or None,  # type: ignore[arg-type]
                    named.unit_from or "sheet or file name", f, n_rows * len(year_columns))
        row_indicator = np.full(n_rows, named.indicator, dtype=object)
        row_factor = np.full(n_rows, f)
        row_label = np.full(n_rows, "", dtype=object)
        indicator_header = ""
    k = len(year_columns)
    raw = data[[c.position for c in year_columns]].to_numpy(dtype=object).ravel(order="F")
    indicator_tiled = np.tile(row_indicator, k)
    known = pd.notna(indicator_tiled)
    parts.cells.append(pd.DataFrame({
        "row_key": np.tile(row_keys, k),
        "column": _objects(np.repeat(np.array([c.header for c in year_columns], dtype=object), n_rows)),
        "indicator": _objects(indicator_tiled),
        "dimension": _objects(np.where(known, pd.Series(indicator_tiled, dtype=object).map(dims).to_numpy(), "")),
        "factor": np.tile(row_factor, k),
        "year": np.repeat([c.year for c in year_columns], n_rows).astype(np.int64),
        "raw": _objects(raw),
        "indicator_column": indicator_header,
        "indicator_label": _objects(np.tile(row_label, k)),
    }))


def _indicator_year_cells(table: _Table, data: pd.DataFrame, columns: list[_Column], row_keys: np.ndarray,
                          parts: _Parts, where_table: str) -> None:
    """Cells of a wide table whose headers carry both the indicator and the year (``pop2015``)."""
    n_rows = len(row_keys)
    dims = aliases().dimension
    factors = []
    for column in columns:
        factor, unit_label = _unit_factor(column.indicator, column.unit,  # type: ignore[arg-type]
                                          f"{where_table}, column {column.header!r}")
        factors.append(factor)
        _conversion(parts, table, column.header, column.indicator, unit_label or None,  # type: ignore[arg-type]
                    column.unit_from or "header", factor, n_rows)
    k = len(columns)
    indicators = np.repeat(np.array([c.indicator for c in columns], dtype=object), n_rows)
    parts.cells.append(pd.DataFrame({
        "row_key": np.tile(row_keys, k),
        "column": _objects(np.repeat(np.array([c.header for c in columns], dtype=object), n_rows)),
        "indicator": _objects(indicators),
        "dimension": _objects(pd.Series(indicators, dtype=object).map(dims).fillna("").to_numpy()),
        "factor": np.repeat(np.asarray(factors, dtype=float), n_rows),
        "year": np.repeat([c.year for c in columns], n_rows).astype(np.int64),
        "raw": _objects(data[[c.position for c in columns]].to_numpy(dtype=object).ravel(order="F")),
        "indicator_column": "",
        "indicator_label": _objects(np.full(n_rows * k, "", dtype=object)),
    }))


def _rejections(rows: pd.DataFrame, mask: np.ndarray, column: pd.Series | str, value: pd.Series | str,
                reason: pd.Series | str) -> pd.DataFrame:
    picked = rows.loc[mask, ["row_key", "file", "sheet", "row"]].copy()
    for name, item in (("column", column), ("value", value), ("reason", reason)):
        picked[name] = item[mask].to_numpy() if isinstance(item, pd.Series) else item
    return picked


def ingest(
    paths: str | Path | Sequence[str | Path],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    vintage: int | None = None,
    strict: bool = False,
    data_dir: str | Path | None = None,
) -> IngestResult:
    """Read yearbook-style files into one Panel, accounting for every row.

    Parameters
    ----------
    paths
        One file or several (CSV, TSV, Excel, Parquet, Stata); several files are
        merged on ``(unit_id, year)``.
    sheet
        Read only this sheet of each workbook (default: every sheet).
    mapping
        ``{column header: canonical indicator or key}`` overriding the alias table
        (``--map``); a key is one of :data:`KEY_COLUMNS`, or ``"ignore"``.
    units
        ``{column header: unit}`` for columns whose header has no unit (``--unit``).
    vintage
        Re-base codes to this administrative vintage with
        :func:`shrinkwatch.harmonize.harmonize_panel`.
    strict
        Raise :class:`IngestError` (a :class:`~shrinkwatch.core.errors.DataError`)
        if any row is rejected.
    data_dir
        Data directory holding the code history used by ``vintage`` (default:
        the usual lookup, see :func:`shrinkwatch.datasets.resolve_data_dir`).

    Returns
    -------
    IngestResult
        ``panel`` (indicators in canonical units, ``meta.units_of`` naming
        them, ``meta.ledger`` the counts) and ``ledger``.

    Raises
    ------
    DataError
        A file cannot be read, or a table has no unit, year or indicator columns.
    OptionError
        A malformed ``mapping``, ``units`` or ``sheet``, or one that names no column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "pop.csv").write_text(
    ...     "城市代码,城市,2015年,2016年\\n110100,北京市,\\"2,170.5\\",—\\n", encoding="utf-8")
    >>> result = ingest(folder / "pop.csv", mapping={"pop": "pop_resident"}, units={"pop": "万人"})
    >>> result.panel.wide("pop_resident").loc["110100"].tolist()
    [21705000.0, nan]
    >>> (result.ledger.rows_read, result.ledger.rows_accepted, result.ledger.rows_rejected)
    (1, 1, 0)
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise OptionError("ingest: no files given")
    if sheet is not None and not any(f.suffix.lower() in (".xlsx", ".xlsm", ".xls") for f in files):
        raise OptionError(f"--sheet {sheet}: only workbooks (.xlsx, .xls) have sheets")
    options = _build_options(mapping, units)
    tables = [table for path in files for table in _read_file(path, sheet)]
    parts = _Parts()
    for table in tables:
        _layout_table(table, options, parts)
    unused = [k for k in options.mapping if k not in options.used_map] + \
             [k for k in options.units if k not in options.used_unit]
    if unused:
        given = {**{_norm_header(c): f"--map {c}" for c in (mapping or {})},
                 **{_norm_header(c): f"--unit {c}" for c in (units or {})}}
        raise OptionError(
            f"{', '.join(given[k] for k in unused)}: no column, sheet or file of that name in "
            f"{', '.join(map(str, files))}"
        )
    if not parts.rows:
        raise DataError(f"no table with data found in {', '.join(map(str, files))}: "
                        + "; ".join(parts.warnings))
    if not any(len(rows) for rows in parts.rows):
        raise DataError(f"no data rows below the header in {', '.join(map(str, files))}")
    panel, ledger = _assemble(parts, files)
    if strict and ledger.rows_rejected:
        first = ledger.rejected.head(5)
        listing = "; ".join(_where(r.file, r.sheet, r.row, r.column) + f": {r.reason}"
                            for r in first.itertuples(index=False))
        more = f" (and {ledger.rows_rejected - len(first.drop_duplicates(['file', 'sheet', 'row']))} more rows)" \
            if ledger.rows_rejected > len(first.drop_duplicates(["file", "sheet", "row"])) else ""
        raise IngestError(f"--strict: {ledger.rows_rejected} of {ledger.rows_read} rows rejected: {listing}{more}",
                          ledger)
    if vintage is not None:
        panel = _harmonize(panel, vintage, data_dir)
    return IngestResult(panel, ledger)


def _harmonize(panel: Panel, vintage: int, data_dir: str | Path | None) -> Panel:
    from shrinkwatch.harmonize import harmonize_panel

    return _attach_prefecture_breaks(harmonize_panel(panel, vintage, data_dir=data_dir), vintage, data_dir)


def _attach_prefecture_breaks(panel: Panel, vintage: int, data_dir: str | Path | None) -> Panel:
    """Flag the prefecture crosswalk's boundary breaks on a prefecture-level panel.

    Yearbook values are published on the boundaries of their year, so a
    comparison across a territorial transfer or split compares different
    territories; identification then reports ``boundary_change``. A merge that
    harmonisation already resolved by summing the merged units is not a break.
    """
    from shrinkwatch import harmonize

    ids = pd.Series(panel.units.index.astype(str))
    prefecture_level = (ids.str.fullmatch(r"\d{4}00") & ~ids.str.fullmatch(r"\d{2}0000")).mean() >= 0.5
    if not prefecture_level or not panel.years:
        return panel
    breaks = harmonize.boundary_breaks("prefecture", start_year=min(panel.years), end_year=max(panel.years),
                                       vintage=vintage, data_dir=data_dir)
    mapping = panel.meta.harmonization
    if mapping is not None and len(mapping) and {"new_id", "action"} <= set(mapping.columns):
        summed = mapping.loc[mapping["action"].astype(str) == "merged_sum", "new_id"].astype(str)
        resolved = set(summed[summed.duplicated(keep=False)])
        breaks = breaks[~(breaks["treatment"].astype(str).str.startswith("merge")
                          & breaks["unit_id"].astype(str).isin(resolved))]
    breaks = breaks[breaks["unit_id"].astype(str).isin(set(ids))]
    if breaks.empty:
        return panel
    return harmonize.with_boundary_breaks(panel, breaks)


def _assemble(parts: _Parts, files: list[Path]) -> tuple[Panel, Ledger]:
    rows = pd.concat(parts.rows, ignore_index=True)
    cells = (pd.concat(parts.cells, ignore_index=True) if parts.cells else
             pd.DataFrame(columns=["row_key", "column", "indicator", "dimension", "factor", "year", "raw"]))
    rows_read = len(rows)
    rows = rows.set_index("row_key", drop=False)  # row_key is also the position: 0, 1, 2, ...
    rejects: list[pd.DataFrame] = []

    # ---- row keys: unit id, year, totals and notes
    has_parent = rows["parent_name"].notna()
    from_name = rows["name"].where(~has_parent, rows["parent_name"] + "/" + rows["name"])
    rows["unit_id"] = rows["code"].fillna(from_name)
    no_id = rows["unit_id"].isna().to_numpy()
    rejects.append(_rejections(rows, no_id, rows["id_column"], "", "no unit id: neither a code nor a name"))
    aggregate = np.zeros(len(rows), dtype=bool)
    note = np.zeros(len(rows), dtype=bool)
    for key_column, header_column in (("name", "name_column"), ("code", "id_column")):
        label = rows[key_column].fillna("").str.replace(r"\s+", "", regex=True)
        is_aggregate = label.str.casefold().isin(_AGGREGATES).to_numpy(dtype=bool) & ~aggregate
        is_note = label.str.match(_NOTE_RE, case=False).fillna(False).to_numpy(dtype=bool) & ~note & ~is_aggregate
        rejects.append(_rejections(rows, is_aggregate, rows[header_column], rows[key_column],
                                   "a total or aggregate row, not a unit"))
        rejects.append(_rejections(rows, is_note, rows[header_column], rows[key_column],
                                   "a note or source row, not a unit"))
        aggregate |= is_aggregate
        note |= is_note
    year_text = _clean_key(rows["year_raw"].reset_index(drop=True))
    year_match = year_text.str.extract(_YEAR_RE.pattern, expand=False)
    rows["year"] = pd.to_numeric(year_match, errors="coerce").to_numpy()
    is_long = (rows["year_column"] != "").to_numpy() | rows["year_raw"].notna().to_numpy()
    no_year = is_long & rows["year"].isna().to_numpy()
    rejects.append(_rejections(rows, no_year, rows["year_column"].where(rows["year_column"] != "", "(sheet name)"),
                               rows["year_raw"].astype(object).where(rows["year_raw"].notna(), "").astype(str),
                               "year not parseable (expected e.g. 2015 or 2015年)"))

    # ---- cells: numbers, missing, range
    cells["year"] = np.where(cells["year"].to_numpy() >= 0, cells["year"].to_numpy(),
                             rows["year"].reindex(cells["row_key"]).fillna(-1).to_numpy()).astype(np.int64)
    values, missing, bad, marker = _parse_cells(cells["raw"], cells["dimension"].astype(str).to_numpy())
    cells["value"] = values * cells["factor"].to_numpy(dtype=np.float64)
    cells["missing"] = missing
    row_key = cells["row_key"].to_numpy(dtype=np.int64)
    raw_cells = cells["raw"]

    def cell_rejections(mask: np.ndarray, column: pd.Series, reason: str | pd.Series,
                        value: pd.Series | None = None) -> pd.DataFrame:
        """Rejections for the masked cells; text is built for those cells only."""
        if not mask.any():
            return _frame(_REJECT_COLUMNS + ["row_key"])
        keys = row_key[mask]
        picked = rows.iloc[keys][["row_key", "file", "sheet", "row"]].reset_index(drop=True)
        picked["column"] = column[mask].to_numpy()
        shown = raw_cells[mask] if value is None else value[mask]
        picked["value"] = shown.astype(object).where(shown.notna(), "").astype(str).to_numpy()
        picked["reason"] = reason if isinstance(reason, str) else reason[mask].to_numpy()
        return picked

    unknown_indicator = cells["indicator"].isna().to_numpy()
    if unknown_indicator.any():
        first_unknown = unknown_indicator & ~cells["row_key"].duplicated().to_numpy()
        rejects.append(cell_rejections(first_unknown, cells["indicator_column"].fillna(""),
                                       "indicator not recognised (use --map LABEL=indicator)",
                                       cells["indicator_label"].fillna("")))
    bad &= ~unknown_indicator
    rejects.append(cell_rejections(bad, cells["column"], "not a number"))
    table_aliases = aliases()
    low = cells["indicator"].map({i: b[0] for i, b in table_aliases.bounds.items()}).to_numpy(dtype=float,
                                                                                               na_value=-np.inf)
    high = cells["indicator"].map({i: b[1] for i, b in table_aliases.bounds.items()}).to_numpy(dtype=float,
                                                                                                na_value=np.inf)
    value = cells["value"].to_numpy()
    below = ~np.isnan(value) & (value < low)
    above = ~np.isnan(value) & (value > high)
    if below.any():
        reason = "negative value for " + cells["indicator"].where(below, "").astype(str)
        rejects.append(cell_rejections(below, cells["column"], reason))
    if above.any():
        reason = ("value above the maximum (" + pd.Series(high).astype(str) + ") for "
                  + cells["indicator"].astype(str)).where(above, "")
        rejects.append(cell_rejections(above, cells["column"], reason))
    cells["unit_id"] = rows["unit_id"].to_numpy()[row_key]

    # ---- duplicates among rows not yet rejected
    rejects = [r for r in rejects if len(r)]
    rejected_keys = set(pd.concat(rejects)["row_key"].tolist()) if rejects else set()
    alive = ~cells["row_key"].isin(rejected_keys).to_numpy() & ~np.isnan(value)
    keyed = cells.loc[alive, ["row_key", "unit_id", "year", "indicator", "value", "column", "raw"]]
    group = keyed.groupby(["unit_id", "year", "indicator"], sort=False)["value"]
    size = group.transform("size")
    dup = keyed[size.to_numpy() > 1].copy()
    duplicates = _frame(_DUPLICATE_COLUMNS)
    if len(dup):
        g = dup.groupby(["unit_id", "year", "indicator"], sort=False)["value"]
        spread = (g.transform("max") - g.transform("min")).to_numpy()
        scale = np.maximum(np.abs(g.transform("max").to_numpy()), 1.0)
        conflict = spread > 1e-9 * scale
        dup_rows = rows.loc[dup["row_key"]].reset_index(drop=True)
        duplicates = pd.DataFrame({
            "unit_id": dup["unit_id"].to_numpy(), "year": dup["year"].to_numpy(), "indicator": dup["indicator"].to_numpy(),
            "file": dup_rows["file"].to_numpy(), "sheet": dup_rows["sheet"].to_numpy(), "row": dup_rows["row"].to_numpy(),
            "value": dup["value"].to_numpy(),
            "action": np.where(conflict, "rejected (different values)", "collapsed (identical)"),
        })
        conflict_keys = set(dup.loc[conflict, "row_key"].tolist())
        in_conflict_row = dup["row_key"].isin(conflict_keys).to_numpy() & ~conflict
        duplicates.loc[in_conflict_row, "action"] = "rejected with its row"
        survivors = ~dup["row_key"].isin(conflict_keys).to_numpy()
        first = ~dup[survivors].duplicated(["unit_id", "year", "indicator"]).to_numpy()
        survivor_positions = np.flatnonzero(survivors)
        duplicates.loc[survivor_positions[first], "action"] = "kept"
        if conflict.any():
            c = dup[conflict]
            described = (dup_rows["file"] + np.where(dup_rows["sheet"] != "", " [" + dup_rows["sheet"] + "]", "")
                         + ":" + dup_rows["row"].astype(str) + "=" + dup["raw"].astype(str).to_numpy())
            described = pd.Series(described.to_numpy()[conflict], index=c.index)
            others = described.groupby([c["unit_id"], c["year"], c["indicator"]]).transform(lambda s: ", ".join(s))
            conflict_rows = rows.loc[c["row_key"]].reset_index(drop=True)
            rejects.append(pd.DataFrame({
                "row_key": c["row_key"].to_numpy(), "file": conflict_rows["file"].to_numpy(),
                "sheet": conflict_rows["sheet"].to_numpy(), "row": conflict_rows["row"].to_numpy(),
                "column": c["column"].to_numpy(), "value": c["raw"].astype(str).to_numpy(),
                "reason": ("duplicate with different values: unit " + c["unit_id"].astype(str) + ", year "
                           + c["year"].astype(str) + ", " + c["indicator"] + " (" + others + ")").to_numpy(),
            }))

    rejects = [r for r in rejects if len(r)]
    rejected = pd.concat(rejects, ignore_index=True) if rejects else _frame(_REJECT_COLUMNS + ["row_key"])
    rejected = rejected.sort_values(["row_key"], kind="stable")
    rejected_keys = set(rejected["row_key"].tolist())
    accepted_rows = rows[~rows["row_key"].isin(rejected_keys)]
    rows_rejected = rows_read - len(accepted_rows)

    # ---- the panel
    good = cells[~cells["row_key"].isin(rejected_keys).to_numpy() & cells["indicator"].notna().to_numpy()]
    good = good[good["year"] >= 0]
    order = np.lexsort((good["value"].isna().to_numpy(), good["indicator"].to_numpy().astype(str)))
    good = good.iloc[order].drop_duplicates(["unit_id", "year", "indicator"], keep="first")
    good = good.assign(unit_id=good["unit_id"].astype(str))
    present = set(good["indicator"].unique())
    indicators = [i for i in CANONICAL_INDICATORS if i in present]
    if len(good):
        values_frame = good.set_index(["unit_id", "year", "indicator"])["value"].unstack("indicator")
        values_frame = values_frame.reindex(columns=indicators).astype(np.float64)
        values_frame.columns.name = None
        values_frame.index = values_frame.index.set_names(["unit_id", "year"])
        values_frame = values_frame.sort_index()
    else:
        values_frame = pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["unit_id", "year"]),
                                    columns=indicators, dtype=np.float64)
    units, unit_warnings = _units(accepted_rows)

    # ---- the ledger
    missing_cells = cells[cells["missing"].to_numpy() & ~cells["row_key"].isin(rejected_keys).to_numpy()]
    missing_table = _frame(_MISSING_COLUMNS)
    if len(missing_cells):
        missing_cells = missing_cells.assign(marker=marker[missing_cells.index].to_numpy(),
                                             file=rows.loc[missing_cells["row_key"], "file"].to_numpy(),
                                             sheet=rows.loc[missing_cells["row_key"], "sheet"].to_numpy(),
                                             indicator=missing_cells["indicator"].fillna(""))
        counts = missing_cells.groupby(["file", "sheet", "column", "indicator", "marker"], sort=False).size()
        counts = counts.rename("n").reset_index()
        counts["label"] = counts["marker"].astype(str) + ": " + counts["n"].astype(str)
        missing_table = counts.groupby(["file", "sheet", "column", "indicator"], sort=False).agg(
            cells=("n", "sum"), markers=("label", ", ".join)).reset_index()
    conversions = _frame(_CONVERSION_COLUMNS, parts.conversions)
    warnings = list(parts.warnings) + unit_warnings + _magnitude_warnings(values_frame, conversions)
    ledger = Ledger(
        rows_read=rows_read,
        rows_accepted=len(accepted_rows),
        rows_rejected=rows_rejected,
        rejected=rejected[_REJECT_COLUMNS].reset_index(drop=True),
        conversions=conversions,
        duplicates=duplicates,
        missing=missing_table,
        sources=_frame(_SOURCE_COLUMNS, parts.sources),
        ignored_columns=_frame(_IGNORED_COLUMNS, parts.ignored).drop_duplicates(ignore_index=True),
        warnings=tuple(warnings),
    )
    table_aliases = aliases()
    meta = PanelMeta(
        id=files[0].stem if len(files) == 1 else "ingested",
        title="Ingested panel: " + ", ".join(f.name for f in files),
        source_files=tuple(str(f) for f in files),
        units_of={i: table_aliases.canonical_unit[table_aliases.dimension[i]] for i in indicators},
        language="zh" if units["name"].astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True).any() else "en",
        vintage=None,
        ledger={"rows_read": ledger.rows_read, "rows_accepted": ledger.rows_accepted,
                "rows_rejected": ledger.rows_rejected, "duplicates_collapsed": ledger.duplicates_collapsed},
        notes=("ingested with shrinkwatch.ingest; units without a code use the name as unit_id",),
    )
    return Panel(units, values_frame, meta), ledger


def _units(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per unit: attributes from the row of the latest year that has them."""
    from shrinkwatch.datasets.china import PROVINCES

    ordered = rows.sort_values("year", kind="stable", na_position="first")
    attributes = ordered.groupby("unit_id", sort=True)[["name", "parent_name", "parent_id"]].last()
    warnings = []
    names = ordered.dropna(subset=["name"]).groupby("unit_id")["name"].nunique()
    several = names[names > 1]
    if len(several):
        examples = ordered[ordered["unit_id"].isin(several.index[:5])].groupby("unit_id")["name"].unique()
        listing = "; ".join(f"{k}: {' / '.join(v)}" for k, v in examples.items())
        warnings.append(f"{len(several)} unit(s) have different names in different rows (kept the latest "
                        f"year's name): {listing}")
    units = pd.DataFrame(index=pd.Index(attributes.index.astype(str), name="unit_id"))
    units["name"] = attributes["name"].fillna(pd.Series(attributes.index, index=attributes.index)).to_numpy()
    units["name_en"] = pd.NA
    units["parent_id"] = attributes["parent_id"].to_numpy()
    units["parent_name"] = attributes["parent_name"].to_numpy()
    units["kind"] = pd.NA
    codes = pd.Series(units.index, index=units.index)
    chinese = codes.str.fullmatch(r"\d{6}(\d{6})?") & codes.str[:2].isin(list(PROVINCES))
    units["region"] = codes.str[:2].map({prefix: info[1] for prefix, info in PROVINCES.items()}).where(chinese)
    units["country"] = pd.Series("China", index=units.index).where(chinese)
    units = units.astype(object).where(units.notna(), None)
    return units, warnings


def _magnitude_warnings(values: pd.DataFrame, conversions: pd.DataFrame) -> list[str]:
    """Flag columns whose magnitudes suggest a wrong unit.

    Population with no unit whose values look like 万人 (10,000 persons); shares
    and rates that look like fractions (an Excel cell formatted as a percentage
    stores 0.125 for 12.5%).
    """
    warnings: list[str] = []
    if conversions.empty:
        return warnings
    dimension = aliases().dimension
    for indicator in values.columns:
        if dimension.get(indicator) == "percent" and indicator != "gdp_real_growth":
            observed = values[indicator].dropna()
            if len(observed) and observed.abs().max() <= 1:
                warnings.append(f"{indicator}: every value is at most 1: if these are fractions (Excel percentage "
                                f"cells store 0.125 for 12.5%) multiply by 100 first; percent is 0-100")
    assumed = conversions[conversions["unit_from"].str.startswith("assumed")]
    for indicator in sorted(set(assumed["indicator"]) & {"pop_resident", "pop_registered", "pop_urban",
                                                         "pop_urban_district"}):
        if indicator in values.columns:
            median = values[indicator].median()
            if pd.notna(median) and 0 < median < 5000:
                warnings.append(f"{indicator}: no unit given and the median is {median:g} persons: if the file "
                                f"counts 万人 (10,000 persons) declare it with --unit COLUMN=万人")
    return warnings


# ====================================================================== panel files

def write_panel(panel: Panel, path: str | Path) -> Path:
    """Write ``panel`` to one Parquet file that :func:`read_panel` restores.

    See the module docstring for the layout. ``panel.meta`` must be JSON
    serialisable (NumPy scalars and paths are converted).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> units = pd.DataFrame({"name": ["A"]}, index=pd.Index(["a"], name="unit_id"))
    >>> idx = pd.MultiIndex.from_tuples([("a", 2010), ("a", 2020)], names=["unit_id", "year"])
    >>> panel = Panel(units, pd.DataFrame({"pop_resident": [1.0, 2.0]}, index=idx), {"id": "toy"})
    >>> path = write_panel(panel, pathlib.Path(tempfile.mkdtemp()) / "toy.parquet")
    >>> read_panel(path).values["pop_resident"].tolist()
    [1.0, 2.0]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    units = panel.units
    crs = None
    if "geometry" in units.columns:
        import shapely

        crs = units.crs.to_string() if getattr(units, "crs", None) is not None else None
        units = pd.DataFrame(units)
        units["geometry"] = shapely.to_wkb(np.asarray(units["geometry"], dtype=object))
    unit_columns = [str(c) for c in units.columns]
    indicators = [str(c) for c in panel.values.columns]
    clash = sorted(set(unit_columns) & (set(indicators) | {"unit_id", "year"}))
    if clash:
        raise DataError(f"cannot write {path}: unit column(s) {clash} clash with indicator or key names")
    values = panel.values.reset_index()
    values["unit_id"] = values["unit_id"].astype(str)
    bare = pd.DataFrame({"unit_id": units.index.astype(str).difference(values["unit_id"].unique())})
    long = pd.concat([values, bare], ignore_index=True) if len(bare) else values
    unit_table = pd.DataFrame(units).copy()
    unit_table.index = unit_table.index.astype(str)
    long = long.join(unit_table, on="unit_id")
    long["year"] = long["year"].astype("Int32")
    long = long[["unit_id", "year", *unit_columns, *indicators]]
    for column in indicators:
        long[column] = long[column].astype(np.float64)
    for column in unit_columns:
        if column != "geometry" and long[column].dtype == object:
            long[column] = long[column].astype("string")
    table = pa.Table.from_pandas(long, preserve_index=False)
    first_seen = pd.unique(long["unit_id"])
    unit_order = None if list(first_seen) == list(unit_table.index) else list(unit_table.index)
    fields = panel.meta.to_dict()
    frames = {key: value for key, value in fields.items() if isinstance(value, pd.DataFrame)}
    meta = {key: (value.to_json(orient="table", index=not isinstance(value.index, pd.RangeIndex))
                  if key in frames else value) for key, value in fields.items()}
    header = {"format": PANEL_FORMAT, "version": 1, "unit_columns": unit_columns, "indicators": indicators,
              "unit_order": unit_order, "meta_frames": sorted(frames),
              "unit_dtypes": {c: str(panel.units[c].dtype) for c in unit_columns if c != "geometry"},
              "geometry_crs": crs, "meta": meta}
    metadata = dict(table.schema.metadata or {})
    metadata[_META_KEY] = json.dumps(header, ensure_ascii=False, default=_json_default).encode("utf-8")
    table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, pd.DataFrame):  # nested below the top level of meta
        return json.loads(value.to_json(orient="records"))
    if isinstance(value, (pd.Timestamp, Path)):
        return str(value)
    return str(value)


def read_panel(path: str | Path) -> Panel:
    """Read a Panel written by :func:`write_panel` (``shrinkwatch ingest -o``).

    Raises
    ------
    DataError
        The file is missing, unreadable, or not a ShrinkWatch panel file.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: panel file not found")
    try:
        table = pq.read_table(path)
    except Exception as error:  # noqa: BLE001 - pyarrow: ArrowInvalid and friends
        raise DataError(
            f"{path}: not a ShrinkWatch panel file (not Parquet: {error}); "
            f"make one with `shrinkwatch ingest {path.name} -o PANEL.parquet`"
        ) from None
    raw_header = (table.schema.metadata or {}).get(_META_KEY)
    if raw_header is None:
        raise DataError(
            f"{path}: a Parquet file without ShrinkWatch panel metadata; make a panel from it with "
            f"`shrinkwatch ingest {path} -o PANEL.parquet`"
        )
    header = json.loads(raw_header)
    if header.get("format") != PANEL_FORMAT:
        raise DataError(f"{path}: unknown panel format {header.get('format')!r}")
    long = table.to_pandas()
    unit_columns: list[str] = header["unit_columns"]
    indicators: list[str] = header["indicators"]
    long["unit_id"] = long["unit_id"].astype(str)
    units = long.drop_duplicates("unit_id").set_index("unit_id")[unit_columns]
    if header.get("unit_order"):
        units = units.reindex(pd.Index(header["unit_order"], name="unit_id"))
    for column, dtype in header.get("unit_dtypes", {}).items():
        if dtype == "object":
            units[column] = units[column].astype(object).where(units[column].notna(), None)
    if "geometry" in unit_columns:
        import geopandas as gpd
        import shapely

        geometry = shapely.from_wkb(units["geometry"].to_numpy())
        units = gpd.GeoDataFrame(units.drop(columns="geometry"), geometry=geometry, crs=header.get("geometry_crs"))
        units = units[unit_columns]
    observed = long[long["year"].notna()]
    values = observed[["unit_id", "year", *indicators]].copy()
    values["year"] = values["year"].astype(np.int64)
    values = values.set_index(["unit_id", "year"])
    values = values.astype(np.float64) if indicators else values
    meta = header.get("meta", {})
    for key in header.get("meta_frames", []):
        meta[key] = pd.read_json(io.StringIO(meta[key]), orient="table")
    return Panel(units, values, PanelMeta.from_dict(meta))
