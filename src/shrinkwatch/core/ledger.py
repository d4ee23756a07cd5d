"""The row ledger: every data row a source or an ingest reads ends up accepted or rejected with a reason.

One type, :class:`Ledger`, for every registered source and every ``shrinkwatch ingest``;
it travels on :attr:`shrinkwatch.core.Panel.ledger`, is written into the panel file, and
is what the report's counts, ``results.xlsx`` (sheet ``rejected_rows``) and
``summary.json`` show. Adapters that reject rows by masks build it with
:class:`RowRejections`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.messages import catalogue, message, translate, translate_all

__all__ = ["Ledger", "RowRejections", "LEDGER_TABLES"]

#: The tables of a ledger and their columns.
LEDGER_TABLES: dict[str, list[str]] = {
    "rejected": ["file", "sheet", "row", "column", "value", "reason"],
    "conversions": ["file", "sheet", "column", "indicator", "from_unit", "to_unit", "factor", "unit_from", "cells"],
    "duplicates": ["unit_id", "year", "indicator", "file", "sheet", "row", "value", "action"],
    "missing": ["file", "sheet", "column", "indicator", "cells", "markers"],
    "sources": ["file", "sheet", "layout", "encoding", "header_row", "year", "rows_read", "rows_accepted",
                "blank_rows"],
    "ignored_columns": ["file", "sheet", "column", "reason"],
    "columns": ["file", "sheet", "column", "role", "indicator", "unit", "evidence", "confidence"],
    "cell_actions": ["file", "sheet", "row", "column", "value", "action"],
}


def ledger_frame(table: str, records: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """One of the :data:`LEDGER_TABLES` from records; missing ``sheet`` cells are ``""``."""
    return _blank_sheets(pd.DataFrame(list(records), columns=LEDGER_TABLES[table]))


def _blank_sheets(frame: pd.DataFrame) -> pd.DataFrame:
    """``sheet`` is ``""`` for a file without sheets (never NaN)."""
    if "sheet" in frame.columns and len(frame):
        frame["sheet"] = frame["sheet"].astype(object).where(frame["sheet"].notna(), "")
    return frame


def _table(name: str) -> Any:
    return field(default_factory=lambda: ledger_frame(name))


@dataclass(frozen=True, eq=False, repr=False)
class Ledger:
    """The account of one source or ingest: every data row read is accepted or rejected.

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
        One line per file and sheet: layout, encoding, header row, rows read and accepted.
    ignored_columns
        Columns not mapped to any indicator or key, with the reason (for an
        ambiguous header, the ``--map`` that would take it).
    columns
        How every column read was understood: ``role`` (``unit_id``, ``name``,
        ``year``, ... or ``value``), ``indicator``, ``unit``, the ``evidence``
        (``header 'pop_registered' is an alias of ...``, ``Stata variable label
        '户籍人口(万人)'``, ``values: 9,678 of 9,678 are 6-digit GB/T codes``) and the
        ``confidence``: ``given`` (``--map``/``--unit``), ``header`` (the header is a
        known alias), ``label`` (a Stata variable or value label), ``content``
        (read from the values) or ``context`` (a generic header read by the
        table's country).
    cell_actions
        Single cells of accepted rows changed on reading, with the ``action``
        (``not a number: treated as missing``, ``garbled name repaired ...``).
    tallies
        Named counts a source adds to the row totals (``accepted as county (unit)``,
        ``zero read as missing``).
    warnings
        Messages that need a human look (e.g. a unit with two names).

    Examples
    --------
    >>> Ledger().summary()
    'rows read 0: accepted 0, rejected 0'
    >>> rejected = [{"file": "f.csv", "row": 3, "column": "code", "value": "x", "reason": "not a code"}]
    >>> ledger = Ledger.from_rejections(rows_read=4, rejected=rejected)
    >>> (ledger.rows_accepted, ledger.rows_rejected, ledger.rejected.loc[0, "sheet"])
    (3, 1, '')
    """

    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected: pd.DataFrame = _table("rejected")
    conversions: pd.DataFrame = _table("conversions")
    duplicates: pd.DataFrame = _table("duplicates")
    missing: pd.DataFrame = _table("missing")
    sources: pd.DataFrame = _table("sources")
    ignored_columns: pd.DataFrame = _table("ignored_columns")
    cell_actions: pd.DataFrame = _table("cell_actions")
    columns: pd.DataFrame = _table("columns")
    tallies: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.rows_accepted + self.rows_rejected != self.rows_read:
            raise AssertionError(  # a bug in the reader, never the data
                f"ledger does not balance: {self.rows_accepted} + {self.rows_rejected} != {self.rows_read}"
            )

    def __repr__(self) -> str:
        return (f"Ledger(rows_read={self.rows_read}, rows_accepted={self.rows_accepted}, "
                f"rows_rejected={self.rows_rejected})")

    @classmethod
    def from_rejections(cls, rows_read: int, rejected: Iterable[Mapping[str, Any]] | pd.DataFrame = (),
                        **tables: Any) -> Ledger:
        """A ledger whose accepted rows are the rows read minus the distinct rejected rows.

        ``tables`` are the other fields; a table may be given as records.
        """
        frame = rejected if isinstance(rejected, pd.DataFrame) else ledger_frame("rejected", rejected)
        frame = _blank_sheets(frame.reindex(columns=LEDGER_TABLES["rejected"]))
        n_rejected = int(frame[["file", "sheet", "row"]].drop_duplicates().shape[0])
        fields = {name: (value if not isinstance(value, (list, tuple)) or name not in LEDGER_TABLES
                         else ledger_frame(name, value)) for name, value in tables.items()}
        return cls(rows_read=int(rows_read), rows_accepted=int(rows_read) - n_rejected, rows_rejected=n_rejected,
                   rejected=frame, **fields)

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

    def counts(self) -> dict[str, int]:
        """The row totals: ``rows_read``, ``accepted``, ``rejected`` (what reports show)."""
        return {"rows_read": self.rows_read, "accepted": self.rows_accepted, "rejected": self.rows_rejected}

    def to_frame(self) -> pd.DataFrame:
        """Everything in one long table (written as ``PANEL.ledger.csv``).

        Columns: ``kind`` (``total``, ``tally``, ``source``, ``column``, ``rejected``, ``conversion``,
        ``duplicate``, ``missing``, ``ignored_column``, ``cell_action``, ``warning``),
        ``file``, ``sheet``, ``row``, ``column``, ``value``, ``detail``.
        """
        totals = {"rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                  "rows_rejected": self.rows_rejected, "duplicates_collapsed": self.duplicates_collapsed}
        parts = [pd.DataFrame([{"kind": "total", "column": k, "value": str(v)} for k, v in totals.items()]
                              + [{"kind": "tally", "column": k, "value": str(v)} for k, v in self.tallies.items()])]
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
        if not self.columns.empty:
            k = self.columns
            target = k["indicator"].astype(object).where(k["indicator"].notna() & (k["indicator"] != ""), k["role"])
            unit = k["unit"].astype(object).where(k["unit"].notna() & (k["unit"] != ""), None)
            parts.append(pd.DataFrame({
                "kind": "column", "file": k["file"], "sheet": k["sheet"], "column": k["column"],
                "value": target.astype(str) + unit.map(lambda u: f" ({u})" if u else "").astype(str),
                "detail": k["confidence"].astype(str) + ": " + k["evidence"].astype(str),
            }))
        if not self.cell_actions.empty:
            a = self.cell_actions
            parts.append(pd.DataFrame({"kind": "cell_action", "file": a["file"], "sheet": a["sheet"], "row": a["row"],
                                       "column": a["column"], "value": a["value"], "detail": a["action"]}))
        if self.warnings:
            parts.append(pd.DataFrame({"kind": "warning", "detail": list(self.warnings)}))
        table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        table = table.reindex(columns=["kind", "file", "sheet", "row", "column", "value", "detail"])
        table["row"] = table["row"].astype("Int64")
        return table

    def rejected_in(self, lang: str) -> pd.DataFrame:
        """:attr:`rejected` with each ``reason`` said in ``lang`` (the ledger stores the catalogues' English, the
        language-neutral form: see :func:`~shrinkwatch.core.messages.translate`): for the report, ``results.xlsx``
        and the console."""
        frame = self.rejected.copy()
        if len(frame):
            frame["reason"] = reasons_in(frame["reason"], lang).to_numpy()
        return frame

    def warnings_in(self, lang: str) -> list[str]:
        """:attr:`warnings` said in ``lang``."""
        return translate_all(list(self.warnings), WARNING_TABLES, lang).tolist() if self.warnings else []

    def rejected_by_reason(self, lang: str = "en") -> pd.Series:
        """Rejected rows by the kind of their (first) reason, said in ``lang``: the reason up to its first colon
        (``year after 2100``, ``implausible value``), most frequent first."""
        if self.rejected.empty:
            return pd.Series(dtype="int64")
        first = self.rejected.drop_duplicates(["file", "sheet", "row"])["reason"]
        return reasons_in(first, lang).str.replace(r"[:：].*$", "", regex=True).value_counts()

    def rejection_lines(self, limit: int, lang: str = "en") -> list[str]:
        """``file, sheet 'S', row R, column 'C': reason`` for the first ``limit`` rejections, in ``lang``."""
        shown = self.rejected.head(limit)
        reasons = reasons_in(shown["reason"], lang).tolist()
        colon = message("ledger.reason_separator", lang)
        return [_where(r.file, r.sheet, r.row, r.column, lang) + colon + reason
                for r, reason in zip(shown.itertuples(index=False), reasons)]

    def summary(self, max_lines: int = 10, lang: str = "en") -> str:
        """A short human-readable account (what ``shrinkwatch ingest`` prints) in ``lang``: the catalogues'
        ``ledger`` lines; the column readings' evidence, the rows' reasons, the ignored columns, the cell actions
        and the warnings through :func:`~shrinkwatch.core.messages.translate` (the ledger stores them in
        English); file names, headers and indicators as recorded."""
        def say(key: str, /, **fields: Any) -> str:
            return message(f"ledger.{key}", lang, **fields)

        def word(table: str, value: str) -> str:  # a code word (layout, confidence...) in lang, else as it is
            return catalogue(lang).get(f"ledger.{table}.{value}", value)

        separator = say("separator")
        lines = [say("rows", read=self.rows_read, accepted=self.rows_accepted, rejected=self.rows_rejected,
                     duplicates=say("duplicates", n=self.duplicates_collapsed) if self.duplicates_collapsed else "")]
        names = translate_all(list(self.tallies), TALLY_TABLES, lang).tolist() if self.tallies else []
        lines.extend(say("tally", name=name, count=count) for name, count in zip(names, self.tallies.values()))
        for s in self.sources.itertuples(index=False):
            where = s.file + (say("sheet", sheet=s.sheet) if isinstance(s.sheet, str) and s.sheet else "")
            detail = word("layout", s.layout) + (say("header_row", row=s.header_row) if s.header_row else "") \
                + (say("encoding", encoding=s.encoding) if s.encoding else "")
            blank = say("blank", n=s.blank_rows) if s.blank_rows else ""
            lines.append(say("source", where=where, rows=s.rows_read, detail=detail, blank=blank))
        if not self.columns.empty:
            shown = self.columns.drop_duplicates(["column", "role", "indicator", "unit", "evidence"])
            for k in shown.head(2 * max_lines).itertuples(index=False):
                target = k.indicator if isinstance(k.indicator, str) and k.indicator else k.role
                unit = say("unit", unit=k.unit) if isinstance(k.unit, str) and k.unit else ""
                lines.append(say("column", column=k.column, target=target, unit=unit,
                                 confidence=word("confidence", k.confidence),
                                 evidence=translate(str(k.evidence), "ingest.evidence", lang)))
            if len(shown) > 2 * max_lines:
                lines.append(say("more_columns", n=len(shown) - 2 * max_lines))
        if not self.conversions.empty:
            shown = self.conversions.drop_duplicates(["column", "indicator", "from_unit", "factor"])
            for c in shown.head(max_lines).itertuples(index=False):
                lines.append(say("convert", column=c.column, indicator=c.indicator, unit=word("from_unit", c.from_unit),
                                 factor=c.factor, unit_from=translate(str(c.unit_from), "ledger.unit_from", lang)))
            if len(shown) > max_lines:
                lines.append(say("more_conversions", n=len(shown) - max_lines))
        if self.rows_rejected:
            reasons = self.rejected_by_reason(lang)
            lines.append(say("rejected", reasons=separator.join(say("count", what=k, n=v) for k, v in reasons.items())))
            lines.extend("    " + line for line in self.rejection_lines(max_lines, lang))
            if len(self.rejected) > max_lines:
                lines.append(say("more_rejected", n=len(self.rejected) - max_lines))
        if not self.missing.empty:
            lines.append(say("missing", n=int(self.missing["cells"].sum())))
        if not self.cell_actions.empty:
            actions = translate_all(self.cell_actions["action"], ACTION_TABLES, lang).value_counts()
            lines.append(say("cells_changed", actions=separator.join(say("count", what=k, n=v)
                                                                     for k, v in actions.items())))
        if not self.ignored_columns.empty:
            hinted = self.ignored_columns[self.ignored_columns["reason"].str.contains("--map", regex=False)
                                          & self.ignored_columns["reason"].str.startswith("ambiguous")]
            for g in hinted.drop_duplicates(["column"]).head(max_lines).itertuples(index=False):
                lines.append(say("not_read", column=g.column, reason=translate(str(g.reason), "ingest.ignored", lang)))
            rest = self.ignored_columns[~self.ignored_columns.index.isin(hinted.index)]
            names = say("list_separator").join(map(str, rest["column"].drop_duplicates().head(max_lines)))
            if names:
                lines.append(say("ignored", names=names))
        lines.extend(say("warning", warning=w) for w in self.warnings_in(lang))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the counts, each table as records, tallies and warnings (see :meth:`from_dict`)."""
        out: dict[str, Any] = {"rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                               "rows_rejected": self.rows_rejected}
        for name in LEDGER_TABLES:
            out[name] = json.loads(getattr(self, name).to_json(orient="records", force_ascii=False))
        out["tallies"] = {str(k): int(v) for k, v in self.tallies.items()}
        out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ledger:
        """The ledger :meth:`to_dict` wrote.

        Examples
        --------
        >>> ledger = Ledger.from_rejections(2, [{"file": "f", "row": 2, "column": "c", "value": "", "reason": "r"}],
        ...                                 tallies={"zero read as missing": 1})
        >>> Ledger.from_dict(ledger.to_dict()).to_frame().equals(ledger.to_frame())
        True
        """
        tables = {name: ledger_frame(name, data.get(name) or []) for name in LEDGER_TABLES}
        return cls(rows_read=int(data.get("rows_read", 0)), rows_accepted=int(data.get("rows_accepted", 0)),
                   rows_rejected=int(data.get("rows_rejected", 0)), tallies=dict(data.get("tallies") or {}),
                   warnings=tuple(data.get("warnings") or ()), **tables)


def _where(file: object, sheet: object, row: object, column: object, lang: str = "en") -> str:
    sheet_part = message("ledger.at_sheet", lang, sheet=repr(sheet)) if isinstance(sheet, str) and sheet else ""
    return message("ledger.at", lang, file=file, sheet=sheet_part, row=row, column=repr(column))


#: The catalogue tables a stored rejection reason may come from: ingest's, the registered sources', the grid
#: stage's (zones read by ``grid zonal|builtup``).
REASON_TABLES = ("ingest.reason", "datasets.reason", "grid.reason")
#: The catalogue tables a stored warning may come from: ingest's, harmonize's (``ingest --vintage``), the grid's.
WARNING_TABLES = ("ingest.warning", "harmonize.warning", "grid.warning")
#: The catalogue tables a stored cell action may come from: ingest's, the grid's (a repaired polygon).
ACTION_TABLES = ("ingest.action", "grid.action")
#: The catalogue tables a stored tally name may come from (the zonal ledger's); other tallies are shown as written.
TALLY_TABLES = ("grid.tally",)


def reasons_in(reasons: Iterable[Any], lang: str) -> pd.Series:
    """Stored rejection reasons (English, from the catalogues) said in ``lang``, each distinct reason once."""
    return translate_all(list(reasons), REASON_TABLES, lang)


class RowRejections:
    """Rejects rows of ``table`` by masks, keeping the first reason that applies to each row.

    The builder of an adapter's :class:`Ledger`: :meth:`take` rejects, :meth:`ledger`
    accounts for every row of ``table``.

    Examples
    --------
    >>> table = pd.DataFrame({"code": ["1", "x", "1"]})
    >>> rows = RowRejections("f.csv", table, row_numbers=np.array([2, 3, 4]))
    >>> rows.take(~table["code"].str.isdigit(), "code", "not a number")
    >>> rows.take(table["code"].duplicated(), "code", "duplicate")
    >>> rows.remaining.tolist(), [r["row"] for r in rows.rejected]
    ([True, False, False], [3, 4])
    >>> ledger = rows.ledger()
    >>> (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected)
    (3, 1, 2)
    """

    def __init__(self, path: str | Path, table: pd.DataFrame, row_numbers: np.ndarray) -> None:
        self.path = str(path)
        self.table = table
        self.row_numbers = np.asarray(row_numbers)
        self.remaining = np.ones(len(table), dtype=bool)
        self.rejected: list[dict[str, Any]] = []

    def take(self, mask: pd.Series | np.ndarray, column: str, reason: str) -> None:
        """Reject the rows in ``mask`` not rejected before, naming ``column`` and ``reason``."""
        hit = np.asarray(mask, dtype=bool) & self.remaining
        self.rejected.extend(
            {"file": self.path, "sheet": "", "row": int(r), "column": column, "value": str(v), "reason": reason}
            for r, v in zip(self.row_numbers[hit], self.table.loc[hit, column])
        )
        self.remaining &= ~hit

    def ledger(self, **tables: Any) -> Ledger:
        """The ledger of ``table``: every row read, the rejected ones with reasons; ``tables`` as in
        :meth:`Ledger.from_rejections` (``cell_actions``, ``tallies``, ...)."""
        return Ledger.from_rejections(len(self.table), self.rejected, **tables)
