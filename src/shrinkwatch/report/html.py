"""The HTML building blocks of the report: the Jinja2 templates and the one HTML table writer.

Every page and section body is a template under ``report/templates``, loaded
once through :data:`TEMPLATES` with autoescaping on: names in the data are
untrusted input, so every value is HTML-escaped unless it is :class:`Markup`
built here (tables, SVG). Templates write tables with the ``table`` global,
which is :func:`frame_html`.
"""

from __future__ import annotations

import html
from typing import Any, Iterable

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

__all__ = ["TEMPLATES", "frame_html", "render", "escape"]

escape = html.escape


def frame_html(frame: pd.DataFrame, numeric: Iterable[str] = (), formats: dict[str, str] | None = None,
               index: bool = True, floats: str | None = None) -> Markup:
    """An escaped HTML table; ``formats`` maps a column to a format spec such as ``'{:,.0f}'``.

    Columns with a format are right-aligned (class ``num``), as are the ``numeric``
    ones; ``floats``, when given, formats every float column that has no format
    of its own. Missing values show as ``–``.

    Examples
    --------
    >>> str(frame_html(pd.DataFrame({"a": [1.5, None]}), formats={"a": "{:.1f}"}, index=False))
    '<table><thead><tr><th class="num">a</th></tr></thead><tbody><tr><td class="num">1.5</td></tr><tr><td class="num">–</td></tr></tbody></table>'
    >>> str(frame_html(pd.DataFrame({"x": [0.12345]}, index=pd.Index(["<b>"], name="k")), floats="{:.2f}"))
    '<table><thead><tr><th class="">k</th><th class="num">x</th></tr></thead><tbody><tr><td class="">&lt;b&gt;</td><td class="num">0.12</td></tr></tbody></table>'
    """
    data = frame.reset_index() if index else frame
    formats = dict(formats or {})
    if floats is not None:
        formats = {**{c: floats for c in data.columns if pd.api.types.is_float_dtype(data[c])}, **formats}
    numeric = set(numeric) | set(formats)
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>' for c in data.columns)
    rows = []
    columns = list(data.columns)
    for values in data.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, values):
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                text = "–"
            elif column in formats:
                text = formats[column].format(value)
            else:
                text = str(value)
            cells.append(f'<td class="{"num" if column in numeric else ""}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


#: The report's templates, loaded once from the package; autoescaped, and an undefined name is an error.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("shrinkwatch.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.globals["table"] = frame_html


def render(template: str, **context: Any) -> Markup:
    """A template of ``report/templates`` rendered with ``context``, as safe HTML."""
    return Markup(TEMPLATES.get_template(template).render(**context))
