"""Everything a reader sees: the HTML page and its sections, maps, charts, tables, XLSX and JSON.

The report renders typed results (an :class:`~shrinkwatch.core.Identification`, its
:class:`~shrinkwatch.core.Panel` and an :class:`~shrinkwatch.analysis.analyse.Analysis`);
nothing below this layer builds HTML or figures.

- :mod:`~shrinkwatch.report.page`: ``report.html`` (template ``templates/report.html.j2``)
- :mod:`~shrinkwatch.report.sections`: the analysis sections (templates ``templates/section-*.html.j2``)
- :mod:`~shrinkwatch.report.findings`: the key findings
- :mod:`~shrinkwatch.report.charts`, :mod:`~shrinkwatch.report.maps`: SVG charts and maps
- :mod:`~shrinkwatch.report.html`: the Jinja2 templates and the one HTML table writer
- :mod:`~shrinkwatch.report.labels`: unit and place names as the report shows them
- :mod:`~shrinkwatch.report.xlsx`, :mod:`~shrinkwatch.report.summary`: ``results.xlsx`` and ``summary.json``
- :mod:`~shrinkwatch.report.writer`: all four files
- :mod:`~shrinkwatch.report.pdf`: ``report.pdf``, the page printed by headless Chromium (``run --pdf``)
- :mod:`~shrinkwatch.report.columns`: the data dictionary of ``results.xlsx`` (its README sheet)
- :mod:`~shrinkwatch.report.outputs`: a run's files as one set with its manifest, atomic single files,
  cells that cannot become formulas
"""

# The names below load on first use (module ``__getattr__``): a command that only writes a CSV (``identify``)
# does not load the page, the maps (pyogrio, pyproj) or the workbook writer. ``summary`` is imported at once: as
# a name of this package it is the function, not its module.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shrinkwatch.report.summary import summary

if TYPE_CHECKING:
    from shrinkwatch.report.findings import key_findings
    from shrinkwatch.report.outputs import csv_text, inert_cells, output_set, write_atomically, write_csv
    from shrinkwatch.report.page import render_html
    from shrinkwatch.report.pdf import write_pdf
    from shrinkwatch.report.writer import write_report
    from shrinkwatch.report.xlsx import write_xlsx

# public name -> module
_PUBLIC = {
    "key_findings": "shrinkwatch.report.findings", "csv_text": "shrinkwatch.report.outputs",
    "inert_cells": "shrinkwatch.report.outputs", "output_set": "shrinkwatch.report.outputs",
    "write_atomically": "shrinkwatch.report.outputs", "write_csv": "shrinkwatch.report.outputs",
    "render_html": "shrinkwatch.report.page", "write_pdf": "shrinkwatch.report.pdf",
    "write_report": "shrinkwatch.report.writer",
    "write_xlsx": "shrinkwatch.report.xlsx",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shrinkwatch.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["key_findings", "render_html", "summary", "write_report", "write_xlsx", "output_set", "inert_cells",
           "csv_text", "write_csv", "write_atomically", "write_pdf"]
