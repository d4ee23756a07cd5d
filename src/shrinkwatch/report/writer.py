"""Write the report's files: ``report.html``, ``results.csv`` (and the same table as ``results.parquet``),
``results.xlsx``, ``summary.json`` and the figures of the page in ``figures/`` (SVG, PNG and a caption each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shrinkwatch.core import Identification, Panel
from shrinkwatch.report.charts import write_figures
from shrinkwatch.report.outputs import write_csv, write_parquet
from shrinkwatch.report.page import render_report
from shrinkwatch.report.summary import summary
from shrinkwatch.report.xlsx import write_xlsx

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["write_report"]


def write_report(identification: Identification, panel: Panel, out_dir: Path,
                 analysis: Analysis | None = None, *, lang: str = "en") -> dict[str, Path]:
    """Write ``report.html``, ``results.csv``, ``results.parquet``, ``results.xlsx``, ``summary.json`` and
    ``figures/`` into ``out_dir``.

    ``figures/`` holds every chart of the page as ``<name>.svg``, ``<name>.png`` (200 dpi) and ``<name>.txt``
    (its caption, the source and the standard); the returned mapping names them ``figures/<file>``.

    ``out_dir`` is written as it is; :func:`shrinkwatch.pipeline.run` hands in the staging folder of an
    :func:`~shrinkwatch.report.outputs.output_set`, so the files land as one set. Text cells of the CSV
    and the workbook cannot become formulas (:func:`~shrinkwatch.report.outputs.inert_cells`).

    ``analysis`` (from :func:`shrinkwatch.analysis.analyse.analyse`, with the sweep, typology and
    recommendations added) gives the page its analysis sections, the workbook their per-unit
    tables and ``summary.json`` their numbers. ``lang`` (``"en"`` or ``"zh"``) is the language of the page and
    the figures; the CSV, the workbook and ``summary.json`` keep their column names and keys (a schema), and say
    the ledger's rejection reasons and warnings in ``lang``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("report.html", "results.csv", "results.parquet", "results.xlsx",
                                                "summary.json")}
    page = render_report(identification, panel, analysis, lang=lang)
    paths["report.html"].write_text(page.html, encoding="utf-8")
    for path in write_figures(page.charts, out_dir / "figures", note=page.figure_note):
        paths[f"figures/{path.name}"] = path
    results = identification.table.drop(columns=["geometry"], errors="ignore")
    write_csv(results, paths["results.csv"])
    write_parquet(results, paths["results.parquet"])  # the same table, typed: the full table at any size
    write_xlsx(identification, paths["results.xlsx"], analysis, ledger=panel.ledger, lang=lang)
    paths["summary.json"].write_text(json.dumps(summary(identification, analysis, ledger=panel.ledger, lang=lang),
                                                ensure_ascii=False, indent=2), encoding="utf-8")
    return paths
