"""Write the report's four files: ``report.html``, ``results.csv``, ``results.xlsx`` and ``summary.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shrinkwatch.core import Identification, Panel
from shrinkwatch.report.outputs import write_csv
from shrinkwatch.report.page import render_html
from shrinkwatch.report.summary import summary
from shrinkwatch.report.xlsx import write_xlsx

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["write_report"]


def write_report(identification: Identification, panel: Panel, out_dir: Path,
                 analysis: Analysis | None = None) -> dict[str, Path]:
    """Write ``report.html``, ``results.csv``, ``results.xlsx`` and ``summary.json`` into ``out_dir``.

    ``out_dir`` is written as it is; :func:`shrinkwatch.pipeline.run` hands in the staging folder of an
    :func:`~shrinkwatch.report.outputs.output_set`, so the files land as one set. Text cells of the CSV
    and the workbook cannot become formulas (:func:`~shrinkwatch.report.outputs.inert_cells`).

    ``analysis`` (from :func:`shrinkwatch.analysis.analyse.analyse`, with the sweep, typology and
    recommendations added) gives the page its analysis sections, the workbook their per-unit
    tables and ``summary.json`` their numbers.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("report.html", "results.csv", "results.xlsx", "summary.json")}
    paths["report.html"].write_text(render_html(identification, panel, analysis), encoding="utf-8")
    write_csv(identification.table.drop(columns=["geometry"], errors="ignore"), paths["results.csv"])
    write_xlsx(identification, paths["results.xlsx"], analysis, ledger=panel.ledger)
    paths["summary.json"].write_text(json.dumps(summary(identification, analysis, ledger=panel.ledger),
                                                ensure_ascii=False, indent=2), encoding="utf-8")
    return paths
