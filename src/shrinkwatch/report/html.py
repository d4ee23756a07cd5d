"""HTML and SVG fragments shared by every module that contributes to the report."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
from markupsafe import Markup

__all__ = ["Section", "frame_html", "figure_svg", "escape"]

escape = html.escape


@dataclass(frozen=True)
class Section:
    """One report section: an anchor id, a title, self-contained HTML, numbers for summary.json,
    and per-unit tables that ``results.xlsx`` gets as sheets (sheet name -> table)."""

    id: str
    title: str
    html: str
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict, repr=False)


def frame_html(frame: pd.DataFrame, numeric: Iterable[str] = (), formats: dict[str, str] | None = None,
               index: bool = True) -> Markup:
    """An escaped HTML table; ``formats`` maps a column to a format spec such as ``'{:,.0f}'``.

    Examples
    --------
    >>> str(frame_html(pd.DataFrame({"a": [1.5, None]}), formats={"a": "{:.1f}"}, index=False))
    '<table><thead><tr><th class="num">a</th></tr></thead><tbody><tr><td class="num">1.5</td></tr><tr><td class="num">–</td></tr></tbody></table>'
    """
    formats = formats or {}
    numeric = set(numeric) | set(formats)
    data = frame.reset_index() if index else frame
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


def figure_svg(figure: Any) -> str:
    """A matplotlib figure as an inline SVG string (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]
