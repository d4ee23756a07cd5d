"""``results.xlsx``: the verdicts, the counts, the standard, the analyses' per-unit tables and the rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shrinkwatch.core import Identification, Ledger
from shrinkwatch.report.outputs import inert_cells

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["write_xlsx", "analysis_tables"]


def analysis_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """The analyses' per-unit tables by sheet name, in the report's order (empty tables left out)."""
    tables: dict[str, pd.DataFrame | None] = {}
    if analysis.sensitivity is not None:
        tables["sensitivity_counts"] = analysis.sensitivity.counts
        tables["sensitivity_units"] = analysis.sensitivity.units
    tables["lisa_clusters"] = analysis.lisa.table if analysis.lisa is not None else None
    tables["tapio"] = analysis.paradox.table
    tables["types"] = analysis.typology.table if analysis.typology is not None else None
    tables["recommendations"] = analysis.recommendations.rows if analysis.recommendations is not None else None
    return {name: frame for name, frame in tables.items() if frame is not None and len(frame)}


def _sheet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry, turn nullable booleans and lists into cells Excel can hold, and make text inert
    (:func:`~shrinkwatch.report.outputs.inert_cells`: no cell can become a formula)."""
    out = frame.drop(columns=["geometry"], errors="ignore").copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.BooleanDtype):
            out[column] = out[column].astype(object)
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else v)
    return inert_cells(out)


def write_xlsx(identification: Identification, path: Path, analysis: Analysis | None = None,
               ledger: Ledger | None = None) -> Path:
    """An Excel workbook: results, counts by kind / parent / region, insufficient data, the units judged as
    stable clusters (``stable_clusters``, when any), the standard's parameters,
    the analyses' per-unit tables (:func:`analysis_tables`) and the rejected input rows of ``ledger`` (the
    panel's) with file, sheet, row, column, value and reason. Text is written as text, never as a formula or
    a link, whatever it starts with."""
    sheets: dict[str, tuple[pd.DataFrame, bool]] = {
        "results": (identification.table.reset_index(), False),
        "by_kind": (identification.counts_by("kind"), True),
        "by_parent": (identification.counts_by("parent_name"), True),
        "by_region": (identification.counts_by("region"), True),
        "insufficient_data": (identification.insufficient[["name", "parent_name", "reason"]], True),
    }
    table = identification.table
    if "via_stable_cluster" in table.columns and table["via_stable_cluster"].any():
        sheets["stable_clusters"] = (table.loc[table["via_stable_cluster"].astype(bool),
                                               ["name", "parent_name", "status", "stable_cluster", "reason"]], True)
    if len(identification.boundary_changes):
        sheets["boundary_change"] = (identification.boundary_changes[["name", "parent_name", "reason"]], True)
    sheets["standard"] = (pd.DataFrame({"parameter": list(identification.parameters),
                                        "value": [str(v) for v in identification.parameters.values()]}), False)
    for name, frame in (analysis_tables(analysis) if analysis is not None else {}).items():
        sheets[name[:31]] = (frame, not isinstance(frame.index, pd.RangeIndex))
    sheets["rejected_rows"] = ((ledger if ledger is not None else Ledger()).rejected, False)
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for name, (frame, index) in sheets.items():
            _sheet_ready(frame).to_excel(writer, sheet_name=name, index=index)
    return path
