"""Assembly: rows and cells of every table into one :class:`~shrinkwatch.core.Panel` and its
:class:`~shrinkwatch.core.ledger.Ledger`; :func:`ingest`, the entry point.

Rows are rejected (with file, sheet, row, column and reason) for no unit id, a code in
scientific notation, an unparseable or implausible year, an unparseable number, a value
out of range or implausible (:mod:`~shrinkwatch.ingest.plausibility`), a total or note
row, an unknown indicator label, a conflicting duplicate, or a line of a text file not
valid in the file's encoding; see :mod:`shrinkwatch.ingest`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import DataError, NothingUsableError, OptionError
from shrinkwatch.core.ledger import Ledger, ledger_frame
from shrinkwatch.core.messages import message, messages
from shrinkwatch.datasets.china import PROVINCES
from shrinkwatch.datasets.cn_pinyin import romanize
from shrinkwatch.ingest.cells import clean_key, pad_codes, parse_cells, scientific_codes
from shrinkwatch.ingest.headers import (
    CANONICAL_INDICATORS,
    YEAR_RE,
    aliases,
    build_options,
    norm_header,
)
from shrinkwatch.ingest.layouts import Parts, layout_table
from shrinkwatch.ingest.plausibility import (
    FIRST_YEAR,
    LAST_PROJECTED_YEAR,
    implausible_values,
    isolated_years,
    year_problems,
)
from shrinkwatch.ingest.readers import Table, read_file

__all__ = ["IngestError", "IngestResult", "ingest"]

_AGGREGATES = ("合计", "总计", "全国", "全国合计", "全省", "全省合计", "总计", "total", "grandtotal", "sum", "all")
_NOTE_RE = r"^(注[:：]|注\d|资料来源|数据来源|说明[:：]|备注|note[s]?[:：]|source[s]?[:：]|\*)"
_ROW_KEYED_REJECTIONS = ["row_key", "file", "sheet", "row", "column", "value", "reason"]


class IngestError(DataError):
    """A strict ingest found rejected rows; ``ledger`` holds the full account."""

    def __init__(self, message: str, ledger: Ledger) -> None:
        super().__init__(message)
        self.ledger = ledger


class NothingAcceptedError(IngestError, NothingUsableError):
    """Every row was rejected: there is no panel to write (exit code 5); ``ledger`` says why."""


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` returns: the panel, which carries the ledger that accounts for it."""

    panel: Panel

    @property
    def ledger(self) -> Ledger:
        """The ledger of the ingest (``panel.ledger``)."""
        return self.panel.ledger


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
    strict: bool = False,
    projected_from: int | None = None,
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
    strict
        Raise :class:`IngestError` (a :class:`~shrinkwatch.core.errors.DataError`)
        if any row is rejected.
    projected_from
        The first year whose values are projections (``--projected-from``): years from it
        on may lie after the current year (up to 2100), and the panel's
        ``meta.projected_from`` is set so that rules judge observed years only. Without
        it a year after the current year rejects its row (or, as a column header, its column).

    Returns
    -------
    IngestResult
        ``panel`` (indicators in canonical units, ``meta.units_of`` naming
        them, ``panel.ledger`` the account of every row) and ``ledger`` (the same).
        Codes are as written: :func:`shrinkwatch.harmonize.to_vintage` re-bases
        them to one administrative vintage.

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
    if projected_from is not None and not FIRST_YEAR <= int(projected_from) <= LAST_PROJECTED_YEAR:
        raise OptionError(f"--projected-from {projected_from}: expected the first projected year, "
                          f"from {FIRST_YEAR} to {LAST_PROJECTED_YEAR}")
    options = build_options(mapping, units)
    tables = [table for path in files for table in read_file(path, sheet)]
    parts = Parts()
    undecoded: list[tuple[Table, dict]] = []
    for table in tables:
        first_source = len(parts.sources)
        layout_table(table, options, parts)
        if table.rejected_lines:
            undecoded.append((table, parts.sources[first_source]))
    unused = [k for k in options.mapping if k not in options.used_map] + \
             [k for k in options.units if k not in options.used_unit]
    if unused:
        given = {**{norm_header(c): f"--map {c}" for c in (mapping or {})},
                 **{norm_header(c): f"--unit {c}" for c in (units or {})}}
        raise OptionError(
            f"{', '.join(given[k] for k in unused)}: no column, sheet or file of that name in "
            f"{', '.join(map(str, files))}"
        )
    if not parts.rows:
        # a header line in the other encoding is why a table has no header: say so
        not_decoded = [f"{table.file}, line {line.row}: {line.reason}"
                       for table, _ in undecoded for line in table.rejected_lines[:3]]
        raise DataError(f"no table with data found in {', '.join(map(str, files))}: "
                        + "; ".join(parts.warnings + not_decoded))
    if not any(len(rows) for rows in parts.rows) and not undecoded:
        raise DataError(f"no data rows below the header in {', '.join(map(str, files))}")
    panel = _assemble(parts, files, undecoded, projected_from)
    ledger = panel.ledger
    if ledger.rows_accepted == 0:
        reasons = ledger.rejected["reason"].value_counts().head(3) if len(ledger.rejected) else pd.Series(dtype=int)
        top = "; ".join(f"{reason} ({count})" for reason, count in reasons.items()) or "no rows"
        raise NothingAcceptedError(f"nothing usable in {', '.join(map(str, files))}: 0 of {ledger.rows_read} rows "
                                   f"accepted; most common reasons: {top}", ledger)
    if strict and ledger.rows_rejected:
        first = ledger.rejected.head(5)
        listing = "; ".join(ledger.rejection_lines(5))
        more = f" (and {ledger.rows_rejected - len(first.drop_duplicates(['file', 'sheet', 'row']))} more rows)" \
            if ledger.rows_rejected > len(first.drop_duplicates(["file", "sheet", "row"])) else ""
        raise IngestError(f"--strict: {ledger.rows_rejected} of {ledger.rows_read} rows rejected: {listing}{more}",
                          ledger)
    return IngestResult(panel)


def _undecoded_rows(undecoded: list[tuple[Table, dict]]) -> tuple[pd.DataFrame, list[str]]:
    """Rejections for the lines of text files that were not valid in the file's encoding (negative row keys, so
    they list first, in file order), counted into their source's rows; lines at or above the header are warnings."""
    records: list[dict[str, object]] = []
    warnings: list[str] = []
    for table, source in undecoded:
        header_row = int(source["header_row"] or 0)
        read = source["layout"] not in ("empty", "skipped")
        below = [line for line in table.rejected_lines if read and line.row > header_row]
        warnings.extend(message("ingest.warning.above_header", "en", file=table.file, line=line.row, reason=line.reason)
                        for line in table.rejected_lines if not (read and line.row > header_row))
        records.extend({"file": table.file, "sheet": table.sheet, "row": line.row, "column": "(whole row)",
                        "value": line.value, "reason": line.reason} for line in below)
        # the lines were left out as blank lines: count them as rows read instead
        source["rows_read"] = int(source["rows_read"]) + len(below)
        source["blank_rows"] = int(source["blank_rows"]) - len(below)
    frame = pd.DataFrame(records, columns=_ROW_KEYED_REJECTIONS[1:])
    frame.insert(0, "row_key", np.arange(len(frame), dtype=np.int64) - len(frame))   # negative, in file order
    return frame, warnings


def _code_headers(rows: pd.DataFrame) -> pd.Series:
    """The header of each row's code column (``id_column`` is ``CODE / NAME`` when the table has both)."""
    codes, pairs = pd.factorize(rows["id_column"].astype(str) + "\x1f" + rows["name_column"].astype(str))
    headers = []
    for pair in pairs:
        id_column, name_column = str(pair).split("\x1f", 1)
        suffix = " / " + name_column
        headers.append(id_column[: -len(suffix)] if id_column != name_column and id_column.endswith(suffix)
                       else id_column)
    return pd.Series(np.asarray(headers, dtype=object)[codes], index=rows.index, dtype=object)


def _assemble(parts: Parts, files: list[Path], undecoded: list[tuple[Table, dict]],
              projected_from: int | None) -> Panel:
    rows = pd.concat(parts.rows, ignore_index=True)
    cells = (pd.concat(parts.cells, ignore_index=True) if parts.cells else
             pd.DataFrame(columns=["row_key", "column", "indicator", "dimension", "factor", "year", "raw"]))
    undecoded_rows, undecoded_warnings = _undecoded_rows(undecoded)
    rows_read = len(rows) + len(undecoded_rows)
    rows = rows.set_index("row_key", drop=False)  # row_key is also the position: 0, 1, 2, ...
    rejects: list[pd.DataFrame] = [undecoded_rows]

    # ---- codes: in scientific notation (digits lost), or a leading zero lost to a number format
    code_header = _code_headers(rows)
    table_of_row = rows["file"] + "\x1f" + rows["sheet"]
    code_actions = []
    for key, header in (("code", code_header), ("parent_id", "(parent id column)")):
        scientific = scientific_codes(rows[key])
        rejects.append(_rejections(rows, scientific, header, rows[key].astype(object).fillna(""),
                                   message("ingest.reason.scientific", "en")))
        padded_codes, padded, standard = pad_codes(rows[key].where(~scientific), table_of_row)
        if padded.any():
            actions = rows.loc[padded, ["row_key", "file", "sheet", "row"]].copy()
            actions["column"] = header[padded].to_numpy() if isinstance(header, pd.Series) else header
            actions["value"] = (rows.loc[padded, key].astype(str) + " -> "
                                + padded_codes[padded].astype(str)).to_numpy()
            actions["action"] = message("ingest.action.zero_padded", "en", width=len(padded_codes[padded].iloc[0]),
                                        standard=standard)
            code_actions.append(actions)
            rows[key] = padded_codes.where(~scientific, rows[key])

    # ---- row keys: unit id, year, totals and notes
    has_parent = rows["parent_name"].notna()
    from_name = rows["name"].where(~has_parent, rows["parent_name"] + "/" + rows["name"])
    rows["unit_id"] = rows["code"].fillna(from_name)
    no_id = rows["unit_id"].isna().to_numpy()
    rejects.append(_rejections(rows, no_id, rows["id_column"], "", message("ingest.reason.no_id", "en")))
    aggregate = np.zeros(len(rows), dtype=bool)
    note = np.zeros(len(rows), dtype=bool)
    for key_column, header_column in (("name", "name_column"), ("code", "id_column")):
        label = rows[key_column].fillna("").str.replace(r"\s+", "", regex=True)
        is_aggregate = label.str.casefold().isin(_AGGREGATES).to_numpy(dtype=bool) & ~aggregate
        is_note = label.str.match(_NOTE_RE, case=False).fillna(False).to_numpy(dtype=bool) & ~note & ~is_aggregate
        rejects.append(_rejections(rows, is_aggregate, rows[header_column], rows[key_column],
                                   message("ingest.reason.aggregate", "en")))
        rejects.append(_rejections(rows, is_note, rows[header_column], rows[key_column],
                                   message("ingest.reason.note", "en")))
        aggregate |= is_aggregate
        note |= is_note
    year_text = clean_key(rows["year_raw"].reset_index(drop=True))
    year_match = year_text.str.extract(YEAR_RE.pattern, expand=False)
    rows["year"] = pd.to_numeric(year_match, errors="coerce").to_numpy()
    is_long = (rows["year_column"] != "").to_numpy() | rows["year_raw"].notna().to_numpy()
    no_year = is_long & rows["year"].isna().to_numpy()
    year_column = rows["year_column"].where(rows["year_column"] != "", "(sheet name)")
    year_shown = rows["year_raw"].astype(object).where(rows["year_raw"].notna(), "").astype(str)
    rejects.append(_rejections(rows, no_year, year_column, year_shown,
                               message("ingest.reason.year_unparseable", "en", example="2015年")))
    bad_year, year_reason = year_problems(rows["year"].to_numpy(dtype=float), projected_from)
    rejects.append(_rejections(rows, bad_year, year_column, year_shown, year_reason.set_axis(rows.index)))

    # ---- columns of wide tables whose header year is implausible: the column is ignored, not its rows
    header_year = cells["year"].to_numpy() >= 0
    bad_column, column_reason = year_problems(np.where(header_year, cells["year"].to_numpy(dtype=float), np.nan),
                                              projected_from)
    ignored_for_year: list[dict] = []
    if bad_column.any():
        dropped = cells[bad_column].assign(reason=column_reason[bad_column].to_numpy(),
                                           file=rows["file"].to_numpy()[cells.loc[bad_column, "row_key"]],
                                           sheet=rows["sheet"].to_numpy()[cells.loc[bad_column, "row_key"]],
                                           filled=cells.loc[bad_column, "raw"].notna().to_numpy())
        for (file, sheet, column, reason), group in dropped.groupby(["file", "sheet", "column", "reason"], sort=False):
            ignored_for_year.append({"file": file, "sheet": sheet, "column": column,
                                     "reason": message("ingest.ignored.year_column", "en", reason=reason,
                                                       n=int(group["filled"].sum()))})
        cells = cells[~bad_column].reset_index(drop=True)

    # ---- cells: numbers, missing, range
    cells["year"] = np.where(cells["year"].to_numpy() >= 0, cells["year"].to_numpy(),
                             rows["year"].reindex(cells["row_key"]).fillna(-1).to_numpy()).astype(np.int64)
    values, missing, bad, marker = parse_cells(cells["raw"], cells["dimension"].astype(str).to_numpy())
    cells["value"] = values * cells["factor"].to_numpy(dtype=np.float64)
    _read_fractions(cells, rows, parts)
    cells["missing"] = missing
    row_key = cells["row_key"].to_numpy(dtype=np.int64)
    raw_cells = cells["raw"]

    def cell_rejections(mask: np.ndarray, column: pd.Series, reason: str | pd.Series,
                        value: pd.Series | None = None) -> pd.DataFrame:
        """Rejections for the masked cells; text is built for those cells only."""
        if not mask.any():
            return pd.DataFrame(columns=_ROW_KEYED_REJECTIONS)
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
                                       message("ingest.reason.indicator_unknown", "en"),
                                       cells["indicator_label"].fillna("")))
    bad &= ~unknown_indicator
    rejects.append(cell_rejections(bad, cells["column"], message("ingest.reason.not_number", "en")))
    table_aliases = aliases()
    low = cells["indicator"].map({i: b[0] for i, b in table_aliases.bounds.items()}).to_numpy(dtype=float,
                                                                                               na_value=-np.inf)
    high = cells["indicator"].map({i: b[1] for i, b in table_aliases.bounds.items()}).to_numpy(dtype=float,
                                                                                                na_value=np.inf)
    value = cells["value"].to_numpy()
    below = ~np.isnan(value) & (value < low)
    above = ~np.isnan(value) & (value > high)
    if below.any():
        reason = messages("ingest.reason.negative", "en", len(cells),
                          indicator=cells["indicator"].where(below, "").astype(str))
        rejects.append(cell_rejections(below, cells["column"], reason))
    if above.any():
        reason = messages("ingest.reason.above_max", "en", len(cells), high=pd.Series(high).astype(str),
                          indicator=cells["indicator"].astype(str)).where(above, "")
        rejects.append(cell_rejections(above, cells["column"], reason))
    implausible, implausible_reason = implausible_values(cells["indicator"], value)
    implausible &= ~below & ~above
    if implausible.any():
        rejects.append(cell_rejections(implausible, cells["column"], implausible_reason))
    cells["unit_id"] = rows["unit_id"].to_numpy()[row_key]

    # ---- duplicates among rows not yet rejected
    rejects = [r for r in rejects if len(r)]
    rejected_keys = set(pd.concat(rejects)["row_key"].tolist()) if rejects else set()
    alive = ~cells["row_key"].isin(rejected_keys).to_numpy() & ~np.isnan(value)
    keyed = cells.loc[alive, ["row_key", "unit_id", "year", "indicator", "value", "column", "raw"]]
    group = keyed.groupby(["unit_id", "year", "indicator"], sort=False)["value"]
    size = group.transform("size")
    dup = keyed[size.to_numpy() > 1].copy()
    duplicates = ledger_frame("duplicates")
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
                "reason": messages("ingest.reason.duplicate", "en", len(c), unit=c["unit_id"].astype(str),
                                   year=c["year"].astype(str), indicator=c["indicator"], rows=others).to_numpy(),
            }))

    rejects = [r for r in rejects if len(r)]
    rejected = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame(columns=_ROW_KEYED_REJECTIONS)
    rejected["row_key"] = rejected["row_key"].astype(np.int64)
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
    missing_table = ledger_frame("missing")
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
    conversions = ledger_frame("conversions", parts.conversions)
    warnings = (list(parts.warnings) + undecoded_warnings + unit_warnings
                + _magnitude_warnings(values_frame, conversions) + _zero_warnings(values_frame)
                + isolated_years(values_frame.notna().any(axis=1).groupby(level="year").sum()))
    warnings += [message("ingest.warning.not_read", "en", column=repr(c["column"]), ignored=c["reason"],
                         where=message("ingest.where.sheet", "en", file=c["file"], sheet=repr(c["sheet"]))
                         if c["sheet"] else c["file"]) for c in ignored_for_year]
    code_frame = pd.concat(code_actions, ignore_index=True) if code_actions else None
    cell_actions = ledger_frame("cell_actions", parts.cell_actions)
    if code_frame is not None:
        kept = code_frame[~code_frame["row_key"].isin(rejected_keys)]
        cell_actions = pd.concat([cell_actions, kept[cell_actions.columns]], ignore_index=True)
    ledger = Ledger(
        rows_read=rows_read,
        rows_accepted=len(accepted_rows),
        rows_rejected=rows_rejected,
        rejected=rejected[_ROW_KEYED_REJECTIONS[1:]].reset_index(drop=True),
        conversions=conversions,
        duplicates=duplicates,
        missing=missing_table,
        sources=_sources(parts, accepted_rows),
        ignored_columns=ledger_frame("ignored_columns", [*parts.ignored, *ignored_for_year]).drop_duplicates(
            ignore_index=True),
        cell_actions=cell_actions,
        columns=ledger_frame("columns", parts.columns),
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
        projected_from=None if projected_from is None else int(projected_from),
        notes=(message("ingest.note.name_as_id", "en"),),
    )
    return Panel(units, values_frame, meta, ledger)


def _read_fractions(cells: pd.DataFrame, rows: pd.DataFrame, parts: Parts) -> None:
    """Percent indicators (growth rates, shares) given without a unit whose values all lie within
    (-1, 1) are fractions (Stata and Excel store 0.075 for 7.5%): x100, with the ledger's conversion
    saying so. A unit given (``(%)`` in the header, ``--unit COLUMN=%``) is never second-guessed."""
    if "unit_given" not in cells.columns or cells.empty:
        return
    dims = cells["dimension"].astype(str).to_numpy()
    candidate = (dims == "percent") & ~cells["unit_given"].fillna(True).to_numpy(dtype=bool)
    if not candidate.any():
        return
    picked = cells.loc[candidate, ["row_key", "indicator", "value"]].copy()
    picked["file"] = rows["file"].to_numpy()[picked["row_key"].to_numpy()]
    picked["sheet"] = rows["sheet"].to_numpy()[picked["row_key"].to_numpy()]
    magnitude = picked["value"].abs()
    grouped = magnitude.groupby([picked["file"], picked["sheet"], picked["indicator"]], sort=False)
    stats = pd.DataFrame({"max": grouped.max(), "n": grouped.count()})
    fractions = stats[(stats["n"] > 0) & (stats["max"] < 1) & (stats["max"] > 0)]
    if fractions.empty:
        return
    keys = pd.MultiIndex.from_frame(picked[["file", "sheet", "indicator"]])
    hit = keys.isin(fractions.index)
    index = picked.index[hit]
    cells.loc[index, "value"] = cells.loc[index, "value"] * 100.0
    for (file, sheet, indicator), stat in fractions.iterrows():  # one ledger line per column read as fractions
        for record in parts.conversions:
            if (record["file"], record["sheet"] or "", record["indicator"]) == (file, sheet or "", indicator) \
                    and str(record["unit_from"]).startswith("assumed"):
                record.update(from_unit="fraction", factor=100.0 * float(record["factor"]),
                              unit_from=message("ledger.unit_from.fractions", "en", n=f"{int(stat['n']):,}",
                                                column=record["column"]))


def _sources(parts: Parts, accepted_rows: pd.DataFrame) -> pd.DataFrame:
    """The ledger's sources table: one line per file and sheet, with its rows accepted."""
    sources = ledger_frame("sources", parts.sources)
    accepted = accepted_rows.groupby(["file", "sheet"]).size()
    keys = pd.MultiIndex.from_frame(sources[["file", "sheet"]].astype(str))
    sources["rows_accepted"] = accepted.reindex(keys, fill_value=0).to_numpy()
    return sources


def _units(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per unit: attributes from the row of the latest year that has them."""
    ordered = rows.sort_values("year", kind="stable", na_position="first")
    attributes = ordered.groupby("unit_id", sort=True)[["name", "parent_name", "parent_id"]].last()
    warnings = []
    named = ordered.dropna(subset=["name"]).astype({"name": str})
    variants = named.drop_duplicates(["unit_id", "name"]).groupby("unit_id")["name"].agg("; ".join)
    several = variants[variants.str.contains("; ", regex=False)]
    if len(several):
        listing = "; ".join(f"{k}: {v.replace('; ', ' / ')}" for k, v in several.head(5).items())
        warnings.append(message("ingest.warning.names", "en", n=len(several), listing=listing))
    units = pd.DataFrame(index=pd.Index(attributes.index.astype(str), name="unit_id"))
    units["name"] = attributes["name"].fillna(pd.Series(attributes.index, index=attributes.index)).to_numpy()
    units["name_en"] = romanize(units["name"], attributes["parent_name"]).to_numpy()
    units["parent_id"] = attributes["parent_id"].to_numpy()
    units["parent_name"] = attributes["parent_name"].to_numpy()
    units["kind"] = pd.NA
    units["name_variants"] = several.reindex(attributes.index).to_numpy()  # every name a unit had, oldest first
    codes = pd.Series(units.index, index=units.index)
    chinese = codes.str.fullmatch(r"\d{6}(\d{6})?") & codes.str[:2].isin(list(PROVINCES))
    units["region"] = codes.str[:2].map({prefix: info[1] for prefix, info in PROVINCES.items()}).where(chinese)
    units["country"] = pd.Series("China", index=units.index).where(chinese)
    units = units.astype(object).where(units.notna(), None)
    return units, warnings


def _zero_warnings(values: pd.DataFrame) -> list[str]:
    """Population values of 0: kept as 0 (a count of nobody, not a missing figure), and said so."""
    warnings = []
    for indicator in [c for c in values.columns if str(c).startswith("pop_")]:
        zero = values[indicator].to_numpy() == 0
        if zero.any():
            where = values.index[zero]
            listing = ", ".join(f"{unit} ({year})" for unit, year in where[:5])
            more = ", ..." if zero.sum() > 5 else ""
            warnings.append(message("ingest.warning.zero", "en", indicator=indicator, n=int(zero.sum()),
                                    listing=listing + more))
    return warnings


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
                warnings.append(message("ingest.warning.fractions", "en", indicator=indicator))
    assumed = conversions[conversions["unit_from"].str.startswith("assumed")]
    for indicator in sorted(set(assumed["indicator"]) & {"gdp", "gdp_real", "gdp_district", "fiscal_revenue"}):
        if indicator in values.columns:
            median = values[indicator].median()
            if pd.notna(median) and 0 < median < 1e7:
                column = assumed.loc[assumed["indicator"] == indicator, "column"].iloc[0]
                warnings.append(message("ingest.warning.gdp_small", "en", indicator=indicator, median=f"{median:,.6g}",
                                        yi="亿元", wan="万元", column=column))
    for indicator in sorted(set(assumed["indicator"]) & {"pop_resident", "pop_registered", "pop_urban",
                                                         "pop_urban_district"}):
        if indicator in values.columns:
            median = values[indicator].median()
            if pd.notna(median) and 0 < median < 5000:
                column = assumed.loc[assumed["indicator"] == indicator, "column"].iloc[0]
                warnings.append(message("ingest.warning.pop_small", "en", indicator=indicator, median=f"{median:g}",
                                        wan="万人", column=column))
    return warnings
