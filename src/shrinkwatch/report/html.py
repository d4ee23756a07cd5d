"""The HTML building blocks of the report: the Jinja2 templates and the one HTML table writer.

Every page and section body is a template under ``report/templates``, loaded
once through :data:`TEMPLATES` with autoescaping on: names in the data are
untrusted input, so every value is HTML-escaped unless it is :class:`Markup`
built here (tables, SVG). Templates write tables with the ``table`` global,
which is :func:`frame_html`.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Iterable, Mapping

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.core.messages import check_language, message
from shrinkwatch.report.labels import column_label, format_number, status_label

__all__ = ["TEMPLATES", "TABLE_SCRIPT", "FOLD_ROWS", "frame_html", "render", "escape", "table_text"]

escape = html.escape


#: Tables longer than this fold into a ``<details>`` element that names their row count.
FOLD_ROWS = 25


Format = str | Callable[[Any], str]


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def frame_html(frame: pd.DataFrame, numeric: Iterable[str] = (), formats: Mapping[str, Format] | None = None,
               index: bool = True, floats: str | None = None, *, fold: int | None = FOLD_ROWS,
               lang: str = "en", caption: str = "") -> Markup:
    """An escaped, sortable HTML table; ``formats`` maps a column to a format spec such as ``'{:,.0f}'``
    or to a one-argument function.

    Headers are plain words (:func:`~shrinkwatch.report.labels.column_label`), statuses too
    (:func:`~shrinkwatch.report.labels.status_label`); numbers never show as ``-0.00``. Columns with a
    format are right-aligned (class ``num``), as are the ``numeric`` ones, and their cells carry the raw
    value in ``data-v`` so the page script sorts them as numbers; ``floats``, when given, formats every
    float column that has no format of its own. Missing values show as ``–``. A table of more than
    ``fold`` rows is folded into a ``<details>`` element that names its row count (``fold=None``: never).

    Examples
    --------
    >>> str(frame_html(pd.DataFrame({"a": [1.5, None]}), formats={"a": "{:.1f}"}, index=False))
    '<table class="sortable"><thead><tr><th class="num">a</th></tr></thead><tbody><tr><td class="num" data-v="1.5">1.5</td></tr><tr><td class="num">–</td></tr></tbody></table>'
    >>> str(frame_html(pd.DataFrame({"with_data": [-0.001]}, index=pd.Index(["<b>"], name="unit_id")), floats="{:.2f}"))
    '<table class="sortable"><thead><tr><th class="">ID</th><th class="num">with data</th></tr></thead><tbody><tr><td class="">&lt;b&gt;</td><td class="num" data-v="-0.001">0.00</td></tr></tbody></table>'
    """
    data = frame.reset_index() if index else frame
    specs: dict[str, Format] = dict(formats or {})
    if floats is not None:
        specs = {**{c: floats for c in data.columns if pd.api.types.is_float_dtype(data[c])}, **specs}
    numeric = set(numeric) | set(specs)
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(column_label(c, lang))}</th>'
                   for c in data.columns)
    rows = []
    columns = list(data.columns)
    for values in data.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, values):
            sort_key = ""
            if _is_missing(value):
                text = "–"
            elif column in specs:
                spec = specs[column]
                text = spec(value) if callable(spec) else format_number(value, spec)
                if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                    sort_key = f' data-v="{float(value):.10g}"'
            elif column in numeric and isinstance(value, (int, float, np.integer, np.floating)):
                text = str(value)
                sort_key = f' data-v="{float(value):.10g}"'
            elif isinstance(value, (bool, np.bool_)):
                text = message("report.value.yes" if value else "report.value.no", lang)
            else:
                text = status_label(value, lang) if isinstance(value, str) else str(value)
            cells.append(f'<td class="{"num" if column in numeric else ""}"{sort_key}>{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = f'<table class="sortable">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if fold is not None and len(data) > fold:
        summary = message("report.table.fold", lang, rows=len(data))
        return Markup(f'<details class="fold"><summary>{html.escape(summary)}</summary>'
                      f'<div class="scroll">{table}</div></details>')
    return Markup(table)


#: The page's one script: sort a table on a header click (numbers as numbers, by the raw ``data-v``
#: value where a cell has one) and filter its rows with a text box. No network, no library.
TABLE_SCRIPT = r"""
(function () {
  "use strict";
  function key(cell) {
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "") return parseFloat(v);
    var t = cell.textContent.trim();
    var n = t.replace(/[,\u00a0%]/g, "").replace(/^\+/, "");
    if (n !== "" && n !== "\u2013" && !isNaN(Number(n))) return Number(n);
    return t.toLowerCase();
  }
  function missing(k) { return k === "" || k === "\u2013"; }
  function compare(a, b) {
    var an = typeof a === "number", bn = typeof b === "number";
    if (an && bn) return a - b;
    if (an) return -1;
    if (bn) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function sortTable(table, column, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, i) { return [key(row.cells[column]), i, row]; });
    keyed.sort(function (x, y) {  // missing values last in either direction, ties in their first order
      var mx = missing(x[0]), my = missing(y[0]);
      if (mx || my) return mx && my ? x[1] - y[1] : (mx ? 1 : -1);
      var c = compare(x[0], y[0]);
      if (descending) c = -c;
      return c !== 0 ? c : x[1] - y[1];
    });
    keyed.forEach(function (k) { body.appendChild(k[2]); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("aria-sort", i === column ? (descending ? "descending" : "ascending") : "none");
    });
  }
  function filterTable(table, text, counter) {
    var needle = text.trim().toLowerCase();
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = !needle || rows[i].textContent.toLowerCase().indexOf(needle) >= 0;
      rows[i].style.display = hit ? "" : "none";
      if (hit) shown++;
    }
    if (counter) counter.textContent = counter.getAttribute("data-template")
      .replace("{shown}", shown.toLocaleString()).replace("{total}", rows.length.toLocaleString());
  }
  function setUp(table) {
    if (table.getAttribute("data-ready")) return;
    table.setAttribute("data-ready", "1");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("tabindex", "0");
      th.setAttribute("aria-sort", "none");
      function go() { sortTable(table, i, th.getAttribute("aria-sort") === "ascending"); }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
    if (table.tBodies[0].rows.length < 8) return;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "filter";
    box.placeholder = document.documentElement.getAttribute("data-filter") || "Filter rows";
    box.setAttribute("aria-label", box.placeholder);
    var counter = document.createElement("span");
    counter.className = "note";
    counter.setAttribute("data-template", document.documentElement.getAttribute("data-shown") || "{shown} of {total} rows");
    var bar = document.createElement("div");
    bar.className = "filterbar";
    bar.appendChild(box);
    bar.appendChild(counter);
    var anchor = table.parentNode.classList.contains("scroll") ? table.parentNode : table;
    anchor.parentNode.insertBefore(bar, anchor);
    box.addEventListener("input", function () { filterTable(table, box.value, counter); });
    filterTable(table, "", counter);
  }
  function init() { Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), setUp); }
  window.shrinkwatchTables = {sortTable: sortTable, filterTable: filterTable, init: init};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
"""


def table_text(lang: str = "en") -> dict[str, str]:
    """The words the table script shows (placeholder and row counter), for the page's data attributes."""
    return {key: message(f"report.table.{key}", lang) for key in ("filter", "shown")}


#: The report's templates, loaded once from the package; autoescaped, and an undefined name is an error.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("shrinkwatch.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.globals["table"] = frame_html
TEMPLATES.globals["table_script"] = Markup(TABLE_SCRIPT)


def render(template: str, lang: str = "en", **context: Any) -> Markup:
    """A template of ``report/templates`` rendered with ``context``, as safe HTML, in ``lang``: the template's
    ``t(key, **fields)`` is :func:`~shrinkwatch.core.messages.message` of ``report.<key>`` in ``lang`` and its
    ``table`` writes headers and statuses in ``lang``."""
    check_language(lang, "lang")

    def t(key: str, **fields: Any) -> str:
        return message(f"report.{key}", lang, **fields)

    def table(frame: pd.DataFrame, *args: Any, **kwargs: Any) -> Markup:
        return frame_html(frame, *args, lang=lang, **kwargs)

    return Markup(TEMPLATES.get_template(template).render(t=t, table=table, lang=lang, **context))
