"""``results.xlsx``: the verdicts, a README sheet (the data dictionary), the counts, the standard, the analyses'
per-unit tables and the rejected rows; ready for Excel and Stata (frozen headers, filters, units in the names).

Written straight with xlsxwriter in its ``constant_memory`` mode, row by row with one typed writer per
column (number, text, TRUE/FALSE), not cell by cell through ``DataFrame.to_excel``. A sheet longer than
:data:`XLSX_ROW_LIMIT` rows (a per-unit table of a large panel) holds its first rows only, says so in a
line under the table and in the README sheet, and its full table is beside the workbook: ``results.parquet``
and ``results.csv`` for ``results``, ``<sheet>.parquet`` for any other sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Ledger
from shrinkwatch.core.messages import message
from shrinkwatch.report.columns import NUMBER_FORMATS, Column, column_spec, sheet_description, with_name
from shrinkwatch.report.outputs import inert_cells, write_atomically, write_parquet

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["write_xlsx", "analysis_tables", "XLSX_ROW_LIMIT"]

#: Rows a sheet of ``results.xlsx`` holds at most; a longer table keeps its first rows there and is written
#: in full beside the workbook (``results.parquet``/``results.csv``, ``<sheet>.parquet``).
XLSX_ROW_LIMIT = 20_000
#: Sheets always written whole: the data dictionary and the standard's parameters.
_NEVER_CAPPED = frozenset({"README", "standard"})


def analysis_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """The analyses' per-unit tables by sheet name, in the report's order (empty tables left out)."""
    tables: dict[str, pd.DataFrame | None] = {}
    if analysis.sensitivity is not None:
        tables["sensitivity_counts"] = analysis.sensitivity.counts
        tables["sensitivity_units"] = analysis.sensitivity.units
    tables["lisa_clusters"] = analysis.lisa.table if analysis.lisa is not None else None
    tables["tapio"] = analysis.paradox.table
    tables["types"] = analysis.typology.table if analysis.typology is not None else None
    tables["recommendations"] = analysis.recommendations.rows if analysis.recommendations is not None else None
    return {name: frame for name, frame in tables.items() if frame is not None and len(frame)}


def _sheet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry, turn nullable booleans and lists into cells Excel can hold, and make text inert
    (:func:`~shrinkwatch.report.outputs.inert_cells`: no cell can become a formula)."""
    out = frame.drop(columns=["geometry"], errors="ignore").copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.BooleanDtype):
            out[column] = out[column].astype(object)
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return inert_cells(out)


@dataclass(frozen=True)
class _Sheet:
    """A sheet as written: its table (index as columns, names with their units, values in those units)
    and each column's :class:`~shrinkwatch.report.columns.Column`."""

    frame: pd.DataFrame
    specs: tuple[Column, ...]
    #: the table before its text was made inert (what ``<sheet>.parquet`` holds when the sheet is capped): all its
    #: rows, where ``frame`` may hold only the rows the sheet shows
    data: pd.DataFrame | None = None

    @property
    def rows(self) -> int:
        """The table's rows (those of ``data`` where there is one: ``frame`` may be cut to the sheet's limit)."""
        return len(self.data) if self.data is not None else len(self.frame)


def _as_text(values: pd.Series) -> pd.Series:
    """Ids as text cells (``01001`` keeps its zero; ``110100.0`` from a float column becomes ``110100``)."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.notna() & values.eq(values.round())
        text = values.astype(object).where(values.isna(), values.astype("string"))
        text[whole] = values[whole].astype("int64").astype(str)
        return text.astype(object).where(values.notna(), None)
    return values.astype("string").astype(object).where(values.notna(), None)


def _prepare(name: str, frame: pd.DataFrame, index: bool, units_of: Mapping[str, str],
             parameters: frozenset[str], limit: int | None = None) -> _Sheet:
    """``frame`` ready for sheet ``name``: the index as columns, each column renamed to carry its unit
    (:mod:`~shrinkwatch.report.columns`), scaled to that unit, ids as text. With ``limit``, only the first
    ``limit`` rows are made ready for the sheet (``data`` keeps them all)."""
    data = frame.drop(columns=["geometry"], errors="ignore")
    data = data.reset_index() if index else data.reset_index(drop=True)
    specs: list[Column] = []
    columns: dict[str, pd.Series] = {}
    for column in data.columns:
        spec = with_name(column_spec(name, str(column), units_of, parameters), str(column))
        values = data[column]
        if spec.kind == "id":
            values = _as_text(values)
        elif spec.scale != 1.0 and pd.api.types.is_numeric_dtype(values.dtype):
            values = values * spec.scale
        columns[spec.name or str(column)] = values
        specs.append(spec)
    table = pd.DataFrame(columns, index=data.index)
    shown = table if limit is None or len(table) <= limit else table.iloc[:limit]
    return _Sheet(_sheet_ready(shown), tuple(specs), table)


def _parameters(parameters: Mapping[str, Any]) -> pd.DataFrame:
    """The standard's parameters with typed values: numbers as numbers, a list as text."""
    kinds = {bool: "true/false", int: "integer", float: "number", str: "text"}
    values: list[Any] = []
    types: list[str] = []
    for value in parameters.values():
        if isinstance(value, (list, tuple, set)):
            values.append("; ".join(map(str, value)))
            types.append("list")
        else:
            values.append(value.item() if hasattr(value, "item") else value)
            types.append(kinds.get(type(values[-1]), "text"))
            if types[-1] == "text":
                values[-1] = str(values[-1])
    return pd.DataFrame({"parameter": list(parameters), "value": pd.Series(values, dtype=object), "type": types})


def _readme(sheets: Mapping[str, _Sheet], notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per sheet (``column`` empty: what the sheet holds, and where its full table is when the
    sheet holds only its first rows) and per column of it, with the definition and unit; then the naming
    conventions."""
    rows: list[tuple[str, str, str, str]] = []
    for name, sheet in sheets.items():
        note = (notes or {}).get(name)
        rows.append((name, "", sheet_description(name) + (f". {note}" if note else ""), ""))
        rows.extend((name, spec.name or "", spec.definition, spec.unit) for spec in sheet.specs)
    rows.extend(("(all sheets)", f"*{suffix}", meaning, unit) for suffix, meaning, unit in _CONVENTIONS)
    return pd.DataFrame(rows, columns=["sheet", "column", "definition", "unit"])


_CONVENTIONS = (
    ("_pct", "a percentage (0-100); for a rate, percent per year", "percent"),
    ("_pp", "a difference of two percentages", "percentage points"),
    ("_frac", "a fraction (0.05 = 5 %)", "fraction"),
    ("_km", "a distance", "km"),
    ("_id", "a code, stored as text so that leading zeros stay", ""),
)
_README_SPECS = (Column("sheet of this workbook", name="sheet"),
                 Column("column of the sheet (empty: the sheet itself)", name="column"),
                 Column("what it holds", name="definition"),
                 Column("its unit (empty: text, a code or TRUE/FALSE)", name="unit"))


def _widths(frame: pd.DataFrame) -> list[float]:
    """A width per column from its header and longest value (first 2,000 rows), 8 to 60 characters."""
    head = frame.head(2000)
    widths = []
    for column in frame.columns:
        values = head[column]
        longest = values.dropna().astype(str).str.len().max() if values.notna().any() else 0
        widths.append(float(min(max(len(str(column)) + 2, int(longest or 0) + 2, 8), 60)))
    return widths


def _format_sheet(book: Any, worksheet: Any, sheet: _Sheet, rows: int) -> None:
    """Frozen header, an autofilter over the table (``rows`` data rows), widths, and a number format per
    column by its kind."""
    columns = sheet.frame.shape[1]
    worksheet.freeze_panes(1, 0)
    if columns:
        worksheet.autofilter(0, 0, max(rows, 1), columns - 1)
    formats: dict[str, Any] = {}
    for position, (spec, width) in enumerate(zip(sheet.specs, _widths(sheet.frame))):
        number_format = NUMBER_FORMATS.get(spec.kind, "General")
        if number_format not in formats:
            formats[number_format] = book.add_format({"num_format": number_format})
        worksheet.set_column(position, position, width, formats[number_format])
    worksheet.ignore_errors({"number_stored_as_text": "A1:XFD1048576"})  # ids are text on purpose


def _cells(values: pd.Series) -> tuple[str, list[Any]]:
    """A column as the kind of its cells (``number``, ``boolean``, ``text`` or ``any``) and its values,
    None where a cell stays empty (a missing value is never 0 or FALSE)."""
    dtype = values.dtype
    present = values.notna().to_numpy(dtype=bool, copy=True)
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return "boolean", values.tolist()
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = values.astype("float64").to_numpy(na_value=np.nan)
        finite = np.isfinite(numbers)
        cells = pd.Series(numbers, dtype=object).where(finite, None)
        if (present & ~finite).any():  # +-inf: written as text, as before ("inf")
            cells[present & ~finite] = values[present & ~finite].astype(str).to_numpy()
            return "any", cells.tolist()
        return "number", cells.tolist()
    objects = values.to_numpy(dtype=object)  # an empty text is an empty cell, as before
    present &= ~np.fromiter((isinstance(v, str) and not v for v in objects), dtype=bool, count=len(objects))
    shown = objects.copy()
    shown[~present] = None
    if isinstance(dtype, pd.StringDtype) or all(isinstance(v, str) for v in objects[present]):
        return "text", shown.tolist()
    return "any", shown.tolist()


#: Rows of sheet XML built at a time by :func:`_write_rows` (bounds its memory on a sheet of a million rows).
_CHUNK_ROWS = 10_000
#: Excel's longest text cell; xlsxwriter cuts a longer string to it.
_MAX_TEXT = 32_767
#: Text that xlsxwriter's inline-string writer changes beyond escaping ``&<>``: control characters and
#: ``_xHHHH_`` (escaped as ``_xHHHH_``), U+FFFE/U+FFFF and leading or trailing whitespace (``xml:space``).
_SPECIAL_TEXT = r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]|^\s|\s$"


def _column_letters(position: int) -> str:
    """``A``, ..., ``Z``, ``AA``, ... for a 0-based column position."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text_tail(value: str, escape: Any) -> str:
    """What follows a text cell's ``<c r=".." s=".."``: an inline string, as xlsxwriter's constant_memory writer
    writes it (cut to :data:`_MAX_TEXT`, control characters as ``_xHHHH_``, whitespace kept, ``&<>`` escaped).
    Unlike xlsxwriter, text that looks like a rich string (``<r>...</r>``) is escaped too: text is never markup."""
    from xlsxwriter.utility import _preserve_whitespace  # deferred: as xlsxwriter in write_xlsx
    from xlsxwriter.xmlwriter import XMLwriter  # deferred: as above

    text = XMLwriter._escape_control_characters(value[:_MAX_TEXT])
    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f' t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _number_tails(numbers: np.ndarray) -> np.ndarray:
    """What follows a number cell's ``<c r=".." s=".."``, for finite floats: ``><v>{number:.16G}</v></c>`` as
    xlsxwriter writes it. Each distinct bit pattern is formatted once (``-0.0`` stays ``-0``)."""
    codes, distinct = pd.factorize(np.ascontiguousarray(numbers, dtype=np.float64).view(np.int64))
    shown = np.char.mod("%.16G", np.asarray(distinct).view(np.float64)).astype(object)
    return "><v>" + shown[codes] + "</v></c>"


def _tails(kind: str, values: np.ndarray, escape: Any) -> np.ndarray | None:
    """What follows ``<c r=".." s=".."`` for each present (not None) value of a column of ``kind``
    (:func:`_cells`), as xlsxwriter's typed writers would write it; None when a value is of a type those
    writers dispatch otherwise (the caller then writes the sheet cell by cell)."""
    if kind == "number":
        return _number_tails(values.astype(np.float64))
    if kind == "boolean":
        return np.where(values.astype(bool), ' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>').astype(object)
    if kind == "text":  # each distinct text once; xlsxwriter's own escapes where they change anything
        codes, distinct = pd.factorize(values.astype(object))
        text = pd.Series(distinct, dtype=object)
        special = (text.str.contains(_SPECIAL_TEXT, regex=True) | text.str.len().gt(_MAX_TEXT)).to_numpy(dtype=bool)
        plain = text[~special].str.replace("&", "&amp;", regex=False).str.replace(
            "<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)
        tails = np.empty(len(text), dtype=object)
        tails[~special] = ' t="inlineStr"><is><t>' + plain.to_numpy(dtype=object) + "</t></is></c>"
        tails[special] = text[special].map(lambda v: _text_tail(v, escape)).to_numpy(dtype=object)
        return tails[codes]
    # "any": numbers, TRUE/FALSE and text in one column; by type, as worksheet.write dispatches them
    kinds = pd.Series(values, dtype=object).map(type)
    tails = np.empty(len(values), dtype=object)
    is_text, is_bool = kinds.eq(str).to_numpy(), kinds.eq(bool).to_numpy()
    is_number = kinds.isin([float, int]).to_numpy()
    if not (is_text | is_bool | is_number).all():
        return None
    numbers = values[is_number].astype(np.float64)
    if not np.isfinite(numbers).all():
        return None
    tails[is_number] = _number_tails(numbers)
    tails[is_bool] = _tails("boolean", values[is_bool], escape)
    tails[is_text] = _tails("text", values[is_text], escape)
    return tails


def _write_cells(worksheet: Any, columns: list[tuple[int, Any, list[Any]]], rows: int) -> None:
    """Cell by cell through xlsxwriter's typed writers (constant_memory: row after row)."""
    for row in range(rows):
        for position, write, cells in columns:
            value = cells[row]
            if value is not None:
                write(row + 1, position, value)


def _write_rows(worksheet: Any, frame: pd.DataFrame, rows: int, header_format: Any) -> None:
    """Header and the first ``rows`` rows of ``frame``.

    The header goes through xlsxwriter; the data rows are written as sheet XML a column at a time
    (:data:`_CHUNK_ROWS` rows at once) into the constant_memory row file of the worksheet, exactly as
    xlsxwriter's typed writers (one per column: number, text, TRUE/FALSE) would write them cell by cell:
    the same ``<row>`` and ``<c>`` elements, column formats and escapes (xlsxwriter is pinned; the tests
    compare the sheet XML with the cell-by-cell writer's). A missing value is an empty cell; a row without
    cells is not written. The last row with cells goes through the typed writers: xlsxwriter writes it (and
    numbers the formats it is the first to use) only when the sheet is closed, after later sheets' rows. A
    column whose cells xlsxwriter would dispatch otherwise (a type other than text, a number or TRUE/FALSE)
    sends the whole sheet through the writers cell by cell."""
    for position, column in enumerate(frame.columns):
        worksheet.write_string(0, position, str(column), header_format)
    writers = {"number": worksheet.write_number, "boolean": worksheet.write_boolean,
               "text": worksheet.write_string, "any": worksheet.write}
    typed = [_cells(frame.iloc[:rows, k]) for k in range(frame.shape[1])]
    presence = [pd.notna(np.array(cells, dtype=object)) for _, cells in typed]
    occupied = np.logical_or.reduce(presence) if presence and rows else np.zeros(0, dtype=bool)
    if not occupied.any():
        return
    last = int(np.flatnonzero(occupied)[-1])
    worksheet._write_single_row(1)  # the header row, from xlsxwriter's table (its format gets its index first)
    # a data cell takes its column's format (set_column in _format_sheet); xlsxwriter numbers a format when it
    # first writes a cell of it, so the formats are numbered in the order of their first cells, row by row
    first = [int(np.argmax(present[:last])) if present[:last].any() else last for present in presence]
    styles = [""] * len(typed)
    for position in sorted(range(len(typed)), key=lambda k: (first[k], k)):
        column_format = worksheet.col_info.get(position, [None, None])[1]
        if column_format is not None and first[position] < last:
            styles[position] = f' s="{column_format._get_xf_index()}"'
    letters = [_column_letters(position) for position in range(len(typed))]
    parts: list[str] = []
    last_written = 1
    for start in range(0, last, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, last)
        numbers = np.arange(start + 2, stop + 2).astype(str).astype(object)  # the sheet's row numbers
        row_xml = np.full(stop - start, "", dtype=object)
        for (kind, cells), present_all, letter, style in zip(typed, presence, letters, styles):
            present = present_all[start:stop]
            if not present.any():
                continue
            tails = _tails(kind, np.array(cells[start:stop], dtype=object)[present], worksheet._escape_data)
            if tails is None:
                _write_cells(worksheet, [(position, writers[kind], cells) for position, (kind, cells)
                                         in enumerate(typed)], rows)
                return
            row_xml[present] += f'<c r="{letter}' + numbers[present] + f'"{style}' + tails
        written = row_xml != ""
        if written.any():
            parts.append("".join('<row r="' + numbers[written] + '">' + row_xml[written] + "</row>"))
            last_written = start + 1 + int(np.flatnonzero(written)[-1])
    worksheet.fh.write("".join(parts))
    worksheet._check_dimensions(last_written, 0)  # the sheet's extent, as the cell writers would have set it
    worksheet.previous_row = last_written
    for position, (kind, cells) in enumerate(typed):  # the last row with cells, kept for xlsxwriter to write
        if cells[last] is not None:
            writers[kind](last + 1, position, cells[last])


def _full_table(name: str, sheet: _Sheet, folder: Path) -> str:
    """Where the full table of a capped sheet is (written now for a sheet other than ``results``)."""
    if name == "results":
        return "results.parquet, results.csv"
    if sheet.data is not None:
        write_parquet(sheet.data.drop(columns=["geometry"], errors="ignore"), folder / f"{name}.parquet",
                      index=False)
    return f"{name}.parquet"


def write_xlsx(identification: Identification, path: Path, analysis: Analysis | None = None,
               ledger: Ledger | None = None, *, row_limit: int | None = None, lang: str = "en") -> Path:
    """An Excel workbook: results, a ``README`` sheet defining every column of every sheet with its unit, counts
    by kind / parent / region, insufficient data, the units judged as stable clusters (``stable_clusters``, when
    any), the standard's parameters (typed values), the analyses' per-unit tables (:func:`analysis_tables`) and
    the rejected input rows of ``ledger`` (the panel's) with file, sheet, row, column, value and reason (the
    reason said in ``lang``: the ledger stores the catalogues' English).

    Every sheet has a frozen header row, an autofilter, column widths and a number format per column
    (:data:`~shrinkwatch.report.columns.NUMBER_FORMATS`); a quantity has one unit, named in its column
    (``annual_rate_pct``, ``share_shrinking_pct``: :mod:`~shrinkwatch.report.columns`); codes are text. Text
    is written as text, never as a formula or a link, whatever it starts with.

    A sheet of more than ``row_limit`` rows (default :data:`XLSX_ROW_LIMIT`; the README and the parameters
    are always whole) holds its first ``row_limit`` rows; a line under the table and its README entry name the full table beside the workbook
    (``results.parquet``/``results.csv``, or ``<sheet>.parquet``, written here)."""
    import xlsxwriter  # deferred: only a run that writes the workbook needs it

    limit = XLSX_ROW_LIMIT if row_limit is None else int(row_limit)
    sheets: dict[str, tuple[pd.DataFrame, bool]] = {
        "results": (identification.table, True),
        "by_kind": (identification.counts_by("kind"), True),
        "by_parent": (identification.counts_by("parent_name"), True),
        "by_region": (identification.counts_by("region"), True),
        "insufficient_data": (identification.insufficient[["name", "parent_name", "reason"]], True),
    }
    table = identification.table
    if "via_stable_cluster" in table.columns and table["via_stable_cluster"].any():
        sheets["stable_clusters"] = (table.loc[table["via_stable_cluster"].astype(bool),
                                               ["name", "parent_name", "status", "stable_cluster", "reason"]], True)
    if len(identification.boundary_changes):
        sheets["boundary_change"] = (identification.boundary_changes[["name", "parent_name", "reason"]], True)
    sheets["standard"] = (_parameters(identification.parameters), False)
    for name, frame in (analysis_tables(analysis) if analysis is not None else {}).items():
        sheets[name[:31]] = (frame, not isinstance(frame.index, pd.RangeIndex))
    sheets["rejected_rows"] = ((ledger if ledger is not None else Ledger()).rejected_in(lang), False)
    units_of = identification.panel_meta.units_of
    parameters = frozenset(identification.parameters)
    prepared = {name: _prepare(name, frame, index, units_of, parameters, None if name in _NEVER_CAPPED else limit)
                for name, (frame, index) in sheets.items()}
    ordered = {"results": prepared.pop("results"), "README": _Sheet(pd.DataFrame(), _README_SPECS), **prepared}
    path = Path(path)
    notes = {name: message("report.scale.xlsx_capped", "en", shown=f"{limit:,}", rows=f"{sheet.rows:,}",
                           full=_full_table(name, sheet, path.parent))
             for name, sheet in ordered.items() if sheet.rows > limit and name not in _NEVER_CAPPED}
    ordered["README"] = _Sheet(_readme(ordered, notes), _README_SPECS)  # lists itself and every sheet in order

    def write(partial: Path) -> None:
        options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                   "strings_to_numbers": False}
        book = xlsxwriter.Workbook(str(partial), options)
        header = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
        try:
            for name, sheet in ordered.items():
                worksheet = book.add_worksheet(name)
                rows = min(len(sheet.frame), limit) if name in notes else len(sheet.frame)
                _format_sheet(book, worksheet, sheet, rows)
                _write_rows(worksheet, sheet.frame, rows, header)
                if name in notes:  # under the table, after a blank row: outside the filter and the data
                    worksheet.write_string(rows + 2, 0, notes[name])
        finally:
            book.close()

    return write_atomically(path, write)
