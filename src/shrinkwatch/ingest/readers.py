"""Reading files as tables of raw cells: CSV/TSV/TXT (UTF-8, BOM or GBK/GB18030, decided line by line), Excel
(.xlsx/.xlsm with openpyxl, .xls with xlrd), Parquet and Stata .dta.

Every reader returns :class:`Table` objects (one per file or sheet) whose cells are
the text or objects as stored, with the spreadsheet row number of each line; nothing
is interpreted here.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message

__all__ = ["SUPPORTED_SUFFIXES", "LineRejection", "Table", "read_file"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq", ".dta")


@dataclass
class Table:
    """One sheet or file, cells as read (object), positional columns."""

    file: str
    sheet: str
    cells: pd.DataFrame
    row_numbers: np.ndarray     # spreadsheet row number of each line of ``cells``
    encoding: str = ""
    #: lines of a text file not valid in its encoding: left out (as blank lines), rejected with a reason
    rejected_lines: tuple[LineRejection, ...] = ()
    header: list[str] | None = None  # known header (Parquet, Stata); else searched
    labels: list[str] | None = None  # Stata variable labels, one per column ("" for none)
    #: Stata value labels: column position -> the label of each row's value (None where unlabelled)
    value_labels: dict[int, pd.Series] | None = None


_BOM = b"\xef\xbb\xbf"
_LINE_BREAKS = re.compile(rb"(\r\n|\r|\n)")


@dataclass(frozen=True)
class LineRejection:
    """A line of a text file that was not decoded: its line number, its bytes (escaped) and why."""

    row: int
    value: str
    reason: str


_TEXT_LINE_BREAKS = re.compile("(\r\n|\r|\n)")
_WIDE_CHARACTER = re.compile("[\u0800-\U0010ffff]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")   # a byte that is not valid UTF-8 (surrogateescape)


def _gb18030_valid(line: bytes) -> bool:
    try:
        line.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def _line_kinds(lines: list[bytes], utf8_lines: list[str], gb_valid: bool) -> list[str]:
    """What each line is: ``ascii``; ``utf-8`` (valid UTF-8 with a character of three or more bytes, as every
    CJK character is, or valid only as UTF-8); ``either`` (valid both ways, two-byte characters only:
    ambiguous); ``gb18030`` (valid only as GBK/GB18030); ``neither``.

    ``utf8_lines`` are the lines decoded as UTF-8 with ``surrogateescape`` (an invalid byte is a lone
    surrogate, found by a regular expression instead of an exception per line); ``gb_valid``: the whole
    file is valid GB18030, hence every line.
    """
    kinds = []
    for raw, text in zip(lines, utf8_lines):
        if raw.isascii():
            kinds.append("ascii")
        elif _ESCAPED_BYTE.search(text) is None:
            # GBK text is valid UTF-8 only by accident, and then almost never with a three-byte character
            wide = _WIDE_CHARACTER.search(text) is not None
            kinds.append("utf-8" if wide or not (gb_valid or _gb18030_valid(raw)) else "either")
        else:
            kinds.append("gb18030" if gb_valid or _gb18030_valid(raw) else "neither")
    return kinds


def _shown(line: bytes) -> str:
    """A line's bytes for the ledger: ASCII as it is, other bytes escaped (never decoded into garbled text)."""
    shown = line.decode("ascii", errors="backslashreplace")
    return shown if len(shown) <= 120 else shown[:117] + "..."


def _decode(path: Path) -> tuple[str, str, tuple[LineRejection, ...]]:
    """The text of a file, its encoding, and the lines that are not valid in that encoding.

    UTF-8 (with or without BOM) is tried on the whole file first. Otherwise each line is
    classified on its bytes and the file's encoding is the one most lines with non-ASCII
    bytes are valid in (UTF-8 on a tie; a BOM declares UTF-8). A line that is not valid in it
    is left out of the text (a blank line keeps the numbering) and returned as a
    :class:`LineRejection`: a UTF-8 line in a GBK/GB18030 file is rejected too, although
    its bytes would decode, because they would decode into garbled text.
    """
    data = path.read_bytes()
    bom = data.startswith(_BOM)
    body = data[3:] if bom else data
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8", ()
    except UnicodeDecodeError:
        pass
    # GB18030 never spans a line break (its trail bytes are not ASCII controls), so a file valid as a whole
    # is valid line by line; line breaks are ASCII in both encodings, so the lines of the bytes and of the
    # UTF-8 reading (invalid bytes escaped one by one) are the same lines
    gb_valid = _gb18030_valid(body)
    escaped = body.decode("utf-8", errors="surrogateescape")
    if b"\r" in body:
        pieces = _LINE_BREAKS.split(body)   # line, break, line, break, ..., line
        lines, breaks = pieces[0::2], pieces[1::2]
        utf8_lines = _TEXT_LINE_BREAKS.split(escaped)[0::2]
    else:  # the common case, at the speed of bytes.split
        lines, breaks = body.split(b"\n"), []
        utf8_lines = escaped.split("\n")
    if len(utf8_lines) != len(lines):  # never expected; the slow, exact way
        utf8_lines = [line.decode("utf-8", errors="surrogateescape") for line in lines]
    kinds = _line_kinds(lines, utf8_lines, gb_valid)
    votes_utf8, votes_gb = kinds.count("utf-8"), kinds.count("gb18030")
    neither = kinds.count("neither")
    if neither * 2 > len(lines) - kinds.count("ascii") and neither:
        first = kinds.index("neither")
        raise DataError(f"{path}: cannot decode as UTF-8, UTF-8 with BOM or GBK/GB18030 ({neither} of "
                        f"{len(lines)} lines, first at line {first + 1}: {_shown(lines[first])[:60]!r}); "
                        f"save it as UTF-8")
    encoding = "utf-8" if bom or votes_utf8 >= votes_gb else "gb18030"
    # the catalogues' [ingest.reason] (stored in English, said in the reader's language on display)
    if encoding == "utf-8":
        reasons = {"gb18030": message("ingest.reason.mixed_gb", "en"), "neither": message("ingest.reason.not_utf8", "en")}
    else:
        reasons = {"utf-8": message("ingest.reason.mixed_utf8", "en"), "neither": message("ingest.reason.not_gb", "en")}
    numbers = [number for number, kind in enumerate(kinds) if kind in reasons]
    rejected = tuple(LineRejection(number + 1, _shown(lines[number]), reasons[kinds[number]]) for number in numbers)
    for number in numbers:
        # the line becomes a blank row: its separators only (a first line left empty would read as no columns)
        lines[number] = bytes(b for b in lines[number] if b in b",\t") or b","
    if breaks:
        joined = b"".join(piece for pair in zip(lines, [*breaks, b""]) for piece in pair)
    else:
        joined = b"\n".join(lines)
    text = joined.decode("utf-8" if encoding == "utf-8" else "gb18030")
    return text, encoding + ("-sig" if bom else ""), rejected


def _read_text(path: Path) -> list[Table]:
    text, encoding, rejected_lines = _decode(path)
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
    return [Table(str(path), "", cells, row_numbers, encoding, rejected_lines=rejected_lines)]


def _read_xlsx(path: Path, sheet: str | None) -> list[Table]:
    import openpyxl  # only for workbooks: a CSV ingest does not pay for loading it

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
            try:  # the sheet's XML is read only now: a workbook that opened can still be cut or damaged inside
                rows = list(worksheet.iter_rows(values_only=True))
            except Exception as error:  # noqa: BLE001 - ParseError, zipfile.BadZipFile, ValueError...
                raise DataError(f"{path}, sheet {name!r}: the sheet is damaged and cannot be read "
                                f"({type(error).__name__}: {error}); save the workbook again and retry") from None
            cells = _rows_to_frame(rows)
            tables.append(Table(str(path), name, cells, np.arange(1, len(cells) + 1)))
        return tables
    finally:
        book.close()


def _read_xls(path: Path, sheet: str | None) -> list[Table]:
    try:
        import xlrd  # only for legacy .xls workbooks

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
        tables.append(Table(str(path), name, cells, np.arange(1, len(cells) + 1)))
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


def _read_typed(path: Path, frame: pd.DataFrame, labels: list[str] | None = None,
                value_labels: dict[int, pd.Series] | None = None) -> list[Table]:
    header = [str(c) for c in frame.columns]
    cells = frame.astype(object)
    cells.columns = range(cells.shape[1])
    cells = cells.where(cells.notna(), None)
    return [Table(str(path), "", cells, np.arange(1, len(cells) + 1), header=header, labels=labels,
                  value_labels=value_labels)]


def _read_stata(path: Path) -> list[Table]:
    """A Stata file with its variable labels and value labels.

    Values are read as stored (a labelled code column keeps its codes); the text
    of each value label is kept beside them in :attr:`Table.value_labels`, for
    layouts to use (the labels of a unit code column name the units).
    """
    try:
        with pd.read_stata(path, iterator=True) as reader:
            variable_labels = reader.variable_labels()
            label_sets = reader.value_labels()
        frame = pd.read_stata(path, convert_categoricals=False)
    except Exception as error:  # noqa: BLE001 - pandas raises ValueError, struct.error... on damaged files
        raise DataError(f"{path}: not a readable Stata .dta file: {error}") from None
    labels = [str(variable_labels.get(str(c), "") or "") for c in frame.columns]
    value_labels: dict[int, pd.Series] = {}
    if label_sets:
        try:
            labelled = pd.read_stata(path, convert_categoricals=True)
        except ValueError:  # labels that are not unique: pandas refuses to convert; the codes stay codes
            labelled = None
        if labelled is not None:
            for position, column in enumerate(frame.columns):
                if isinstance(labelled[column].dtype, pd.CategoricalDtype):
                    text = labelled[column].astype(object)
                    same = text.astype(str).to_numpy() == frame[column].astype(object).astype(str).to_numpy()
                    value_labels[position] = text.where(~same & text.notna(), None).reset_index(drop=True)
    return _read_typed(path, frame, labels, value_labels or None)


def read_file(path: Path, sheet: str | None) -> list[Table]:
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
        return _read_stata(path)
    raise DataError(f"{path}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
