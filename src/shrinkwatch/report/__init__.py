"""Everything a reader sees: HTML report, maps, charts, tables, XLSX and JSON."""

from shrinkwatch.report.writer import key_findings, render_html, summary, write_report, write_xlsx

__all__ = ["key_findings", "render_html", "summary", "write_report", "write_xlsx"]
