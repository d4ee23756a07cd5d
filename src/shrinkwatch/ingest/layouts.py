"""Table layouts: long, wide by year, wide by indicator and year, one sheet per year.

:func:`layout_table` finds a table's header and layout and turns its data rows into
row and cell frames (one cell per value, with its indicator, year and unit factor),
collected in :class:`Parts` for :mod:`shrinkwatch.ingest.assemble`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError
from shrinkwatch.core.messages import message
from shrinkwatch.ingest.cells import blank_cells, clean_key, control_characters, unit_factor
from shrinkwatch.ingest.content import is_chinese, key_evidence
from shrinkwatch.ingest.headers import (
    CANONICAL_INDICATORS,
    HEADER_SEARCH_ROWS,
    KEY_COLUMNS,
    Column,
    Options,
    aliases,
    classify,
    find_header,
)
from shrinkwatch.ingest.readers import Table

__all__ = ["Parts", "layout_table"]

_SHEET_YEAR_RE = re.compile(r"^\D*((?:179\d|1[89]\d{2}|2[01]\d{2}))\D*$")


def _table_year(table: Table) -> int | None:
    for label in (table.sheet, Path(table.file).stem if not table.sheet else ""):
        if label:
            match = _SHEET_YEAR_RE.match(unicodedata.normalize("NFKC", label).strip())
            if match:
                return int(match.group(1))
    return None


def _table_indicator(table: Table, options: Options) -> Column | None:
    """The indicator of a wide single-indicator table, from its sheet name or file name."""
    for label in (table.sheet, Path(table.file).stem):
        if not label:
            continue
        column = classify(label, -1, options)
        if column.role == "value":
            if column.unit_from == "header":
                column.unit_from = "sheet name" if label == table.sheet else "file name"
            return column
    return None



@dataclass
class Parts:
    """Row and cell frames built from all tables, plus ledger pieces."""

    rows: list[pd.DataFrame] = field(default_factory=list)
    cells: list[pd.DataFrame] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    cell_actions: list[dict[str, Any]] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    next_row: int = 0


def _ignore(columns: list[Column], reason: str, by_role: dict[str, list[Column]]) -> None:
    """Mark ``columns`` as ignored with ``reason`` (they are listed in the ledger)."""
    for column in columns:
        column.role, column.reason = "ignored", reason
        by_role.setdefault("ignored", []).append(column)


def layout_table(table: Table, options: Options, parts: Parts) -> None:
    where_table = message("ingest.where.sheet", "en", file=table.file, sheet=repr(table.sheet)) if table.sheet \
        else table.file
    if table.cells.shape[0] == 0:
        parts.sources.append({"file": table.file, "sheet": table.sheet, "layout": "empty", "encoding": table.encoding,
                                  "header_row": 0, "year": None, "rows_read": 0, "blank_rows": 0})
        parts.warnings.append(message("ingest.warning.no_rows", "en", where=where_table))
        return
    found = find_header(table, options)
    if found is None:
        parts.sources.append({"file": table.file, "sheet": table.sheet, "layout": "skipped", "encoding": table.encoding,
                                  "header_row": 0, "year": None, "rows_read": 0, "blank_rows": 0})
        parts.warnings.append(message("ingest.warning.skipped", "en", where=where_table, n=HEADER_SEARCH_ROWS))
        return
    header_line, columns = found
    header_row = int(table.row_numbers[header_line]) if header_line >= 0 else 0
    data = table.cells.iloc[header_line + 1:]
    row_numbers = table.row_numbers[header_line + 1:]
    blank_cell = blank_cells(data)
    blank = blank_cell.all(axis=1) if data.shape[1] else np.ones(len(data), dtype=bool)
    named = {c.position for c in columns}
    for index, position in enumerate(data.columns):
        if position not in named and not blank_cell[:, index].all():
            parts.ignored.append({"file": table.file, "sheet": table.sheet, "column": f"(column {position + 1}, no header)",
                                      "reason": message("ingest.ignored.no_header", "en")})
    data = data[~blank]
    row_numbers = row_numbers[~blank]
    n_rows = len(data)
    blank_positions = blank.to_numpy() if isinstance(blank, pd.Series) else np.asarray(blank)
    data, columns = _read_by_content(table, data, columns, blank_positions)

    by_role: dict[str, list[Column]] = {}
    for column in columns:
        by_role.setdefault(column.role, []).append(column)
    for role in KEY_COLUMNS:
        extra = by_role.get(role, [])[1:]
        for column in extra:
            column.role, column.reason = "ignored", message("ingest.ignored.second_key", "en", role=role,
                                                            first=repr(by_role[role][0].header))
            by_role.setdefault("ignored", []).append(column)
        if extra:
            by_role[role] = by_role[role][:1]
    year_columns = by_role.get("by_year", [])
    value_columns = by_role.get("value", [])
    has_year_key = "year" in by_role
    table_year = _table_year(table)

    def key(role: str) -> pd.Series:
        if role in by_role:
            column = by_role[role][0]
            raw = data[column.position].reset_index(drop=True)
            dirty = control_characters(raw)
            parts.cell_actions.extend(
                {"file": table.file, "sheet": table.sheet, "row": int(row), "column": column.header,
                 "value": repr(str(value)), "action": message("ingest.action.control", "en")}
                for row, value in zip(row_numbers[dirty], raw[dirty]))
            return clean_key(raw)
        return pd.Series(pd.NA, index=range(n_rows), dtype="string")

    indicator_year_columns = by_role.get("value_year", [])
    if indicator_year_columns and (has_year_key or year_columns):
        _ignore(indicator_year_columns, message("ingest.ignored.indicator_year_with_year", "en"), by_role)
        indicator_year_columns = []
    if year_columns and has_year_key:
        _ignore(year_columns, message("ingest.ignored.year_in_long", "en"), by_role)
        year_columns = []
    if indicator_year_columns:
        layout = "wide (indicator and year in each header)"
        _ignore(value_columns, message("ingest.ignored.no_year_in_wide", "en"), by_role)
        value_columns = []
    elif year_columns:
        layout = "wide"
        _ignore(value_columns, message("ingest.ignored.indicator_in_wide", "en"), by_role)
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
    parts.columns.extend(
        {"file": table.file, "sheet": table.sheet, "column": c.header, "role": c.role if c.role in KEY_COLUMNS
         else "value", "indicator": c.indicator or "", "unit": c.unit or "", "evidence": c.evidence,
         "confidence": c.confidence}
        for c in columns if c.role not in ("ignored", "ambiguous"))

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



def _read_by_content(table: Table, data: pd.DataFrame, columns: list[Column],
                     blank: np.ndarray) -> tuple[pd.DataFrame, list[Column]]:
    """Columns read by what they hold: unit codes and names under headers no alias knows, the units
    named by a code column's Stata value labels, and the reading of a generic header (``pop``) by the
    table's country; an ambiguous header left unread gets the ``--map`` that would take it."""
    roles = {c.role for c in columns}
    if table.value_labels:
        kept = ~blank
        for source_role, label_role in (("unit_id", "name"), ("parent_id", "parent_name")):
            source = next((c for c in columns if c.role == source_role), None)
            if source is None or label_role in roles or source.position not in table.value_labels:
                continue
            position = int(max(data.columns)) + 1 if len(data.columns) else 0
            data = data.copy()
            data[position] = table.value_labels[source.position][kept].to_numpy()
            columns.append(Column(position, f"{source.header} (value labels)", label_role,
                                  evidence=message("ingest.evidence.value_labels", "en", header=source.header),
                                  confidence="label"))
            roles.add(label_role)
    for role in ("unit_id", "name"):
        if role in roles:
            continue
        found = [(c, key_evidence(data[c.position], c.header)) for c in columns
                 if c.role == "ignored" and c.confidence != "given" and c.position in data.columns]
        hits = [(c, evidence) for c, evidence in found if evidence is not None and evidence[0] == role]
        if hits:
            column, (_, evidence) = max(hits, key=lambda hit: data[hit[0].position].nunique())
            column.role, column.reason, column.evidence, column.confidence = role, "", evidence, "content"
            roles.add(role)
    ambiguous = [c for c in columns if c.role == "ambiguous"]
    if ambiguous:
        code = next((c for c in columns if c.role == "unit_id"), None)
        name = next((c for c in columns if c.role == "name"), None)
        chinese = is_chinese(data[code.position] if code else None, data[name.position] if name else None)
        for column in ambiguous:
            reading = column.outside_china
            if not chinese and reading is not None:
                column.role = "value" if column.year is None else "value_year"
                column.indicator, column.confidence = reading, "context"
                column.evidence = message("ingest.evidence.read_as", "en", evidence=column.evidence, reading=reading)
                continue
            column.role = "ignored"
            key = _quoted(column.map_key or column.header)
            takes = ""
            for reading in reversed(column.candidates):  # "--map pop=a or --map pop=b", the "or" from the catalogue
                option = f"--map {key}={reading}"
                takes = message("ingest.options.either", "en", option=option, options=takes) if takes else option
            per_10k = not column.unit and any(r.startswith("pop_") for r in column.candidates)
            column.reason = message("ingest.ignored.ambiguous_pop" if per_10k else "ingest.ignored.ambiguous", "en",
                                    why=column.why, options=takes, key=key, unit="万人")
    return data, columns


def _ambiguous_hints(parts: Parts, table: Table) -> str:
    """The columns left unread as ambiguous in ``table``, with the ``--map`` that takes each (for an error)."""
    hints = [f"{row['column']}: {row['reason']}" for row in parts.ignored
             if row["file"] == table.file and row["sheet"] == table.sheet and str(row["reason"]).startswith("ambiguous")]
    return "; " + "; ".join(hints) if hints else ""


def _quoted(header: str) -> str:
    return header if all(ch.isalnum() or ch in "_-." for ch in header) else f"'{header}'"


def _objects(values: np.ndarray) -> pd.Series:
    """An object Series (no conversion to Arrow strings: these columns are internal)."""
    return pd.Series(values, dtype=object)



def _conversion(parts: Parts, table: Table, column: str, indicator: str, unit: str | None,
                unit_from: str, factor: float, cells: int) -> None:
    table_units = aliases()
    parts.conversions.append({
        "file": table.file, "sheet": table.sheet, "column": column, "indicator": indicator,
        "from_unit": unit if unit else table_units.canonical_unit[table_units.dimension[indicator]],
        "to_unit": table_units.canonical_unit[table_units.dimension[indicator]], "factor": factor,
        "unit_from": unit_from if unit else message("ledger.unit_from.assumed", "en"), "cells": cells,
    })


def _long_cells(table: Table, data: pd.DataFrame, value_columns: list[Column], row_keys: np.ndarray,
                parts: Parts, where_table: str) -> None:
    if not value_columns:
        raise DataError(
            f"{where_table}: no indicator columns recognised; map one with --map COLUMN=indicator "
            f"(indicators: {', '.join(CANONICAL_INDICATORS)})" + _ambiguous_hints(parts, table)
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
        factor, label = unit_factor(column.indicator, column.unit, f"{where_table}, column {column.header!r}")  # type: ignore[arg-type]
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
        "unit_given": np.repeat([c.unit is not None for c in value_columns], n_rows),
        "year": np.full(k * n_rows, -1, dtype=np.int64),
        "raw": _objects(raw),
    }))


def _wide_cells(table: Table, data: pd.DataFrame, by_role: dict[str, list[Column]],
                year_columns: list[Column], row_keys: np.ndarray, options: Options, parts: Parts,
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
        unit_given = np.zeros(n_rows, dtype=bool)
        pairs = pd.DataFrame({"label": labels, "unit": units_col})
        for (label, unit), group in pairs.groupby(["label", "unit"], sort=False).groups.items():
            column = classify(label, -1, options) if label else Column(-1, "", "ignored")
            if column.role != "value":
                continue  # these rows are rejected below: indicator not recognised
            declared_unit = column.unit
            unit_from = message("ledger.unit_from.indicator_label", "en", label=repr(label)) if declared_unit else ""
            if unit:
                declared_unit, unit_from = unit, "unit column"
            f, unit_label = unit_factor(column.indicator, declared_unit,  # type: ignore[arg-type]
                                         f"{where_table}, indicator {label!r}")
            indicator[np.asarray(group)] = column.indicator
            factor[np.asarray(group)] = f
            unit_given[np.asarray(group)] = declared_unit is not None
            _conversion(parts, table, label, column.indicator, unit_label or None, unit_from, f,  # type: ignore[arg-type]
                        len(group) * len(year_columns))
        row_indicator, row_factor, row_label, row_unit_given = indicator, factor, labels, unit_given
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
        f, unit_label = unit_factor(named.indicator, declared, f"{where_table}, indicator {named.header!r}")  # type: ignore[arg-type]
        _conversion(parts, table, named.header, named.indicator, unit_label or None,  # type: ignore[arg-type]
                    named.unit_from or "sheet or file name", f, n_rows * len(year_columns))
        row_indicator = np.full(n_rows, named.indicator, dtype=object)
        row_factor = np.full(n_rows, f)
        row_label = np.full(n_rows, "", dtype=object)
        row_unit_given = np.full(n_rows, declared is not None)
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
        "unit_given": np.tile(row_unit_given, k),
        "year": np.repeat([c.year for c in year_columns], n_rows).astype(np.int64),
        "raw": _objects(raw),
        "indicator_column": indicator_header,
        "indicator_label": _objects(np.tile(row_label, k)),
    }))


def _indicator_year_cells(table: Table, data: pd.DataFrame, columns: list[Column], row_keys: np.ndarray,
                          parts: Parts, where_table: str) -> None:
    """Cells of a wide table whose headers carry both the indicator and the year (``pop2015``)."""
    n_rows = len(row_keys)
    dims = aliases().dimension
    factors = []
    for column in columns:
        factor, unit_label = unit_factor(column.indicator, column.unit,  # type: ignore[arg-type]
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
        "unit_given": np.repeat([c.unit is not None for c in columns], n_rows),
        "year": np.repeat([c.year for c in columns], n_rows).astype(np.int64),
        "raw": _objects(data[[c.position for c in columns]].to_numpy(dtype=object).ravel(order="F")),
        "indicator_column": "",
        "indicator_label": _objects(np.full(n_rows * k, "", dtype=object)),
    }))
