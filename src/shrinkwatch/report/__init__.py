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

from shrinkwatch.report.findings import key_findings
from shrinkwatch.report.outputs import csv_text, inert_cells, output_set, write_atomically, write_csv
from shrinkwatch.report.page import render_html
from shrinkwatch.report.pdf import write_pdf
from shrinkwatch.report.summary import summary
from shrinkwatch.report.writer import write_report
from shrinkwatch.report.xlsx import write_xlsx

__all__ = ["key_findings", "render_html", "summary", "write_report", "write_xlsx", "output_set", "inert_cells",
           "csv_text", "write_csv", "write_atomically", "write_pdf"]
