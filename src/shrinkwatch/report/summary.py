"""``summary.json``: the headline numbers, and each analysis result's own ``as_dict()``."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from shrinkwatch.core import Identification, Ledger
from shrinkwatch.identification.schema import Standard
from shrinkwatch.report.labels import not_assessed, unit_label
from shrinkwatch.report.outputs import jsonable

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["summary", "analysis_summary"]


def _counts_dict(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(k): {"units": int(r.units), "with_data": int(r.with_data), "shrinking": int(r.shrinking),
                 "not_shrinking": int(r.not_shrinking), "insufficient_data": int(r.insufficient_data),
                 "boundary_change": int(r.boundary_change),
                 "share_shrinking": None if pd.isna(r.share_shrinking) else float(r.share_shrinking)}
        for k, r in table.iterrows()
    }


def analysis_summary(analysis: Analysis) -> dict[str, Any]:
    """Each analysis result's ``as_dict()`` under the id of its report section, in the report's order."""
    out: dict[str, Any] = {}
    if analysis.sensitivity is not None:
        out["sensitivity"] = analysis.sensitivity.as_dict()
    out["distribution"] = analysis.distribution.as_dict(groupings=("region",))  # by parent is in the headline
    if analysis.moran is not None and analysis.lisa is not None:
        out["spatial-clusters"] = {"available": True, "moran": analysis.moran.as_dict(),
                                   "lisa": analysis.lisa.as_dict()}
    else:
        out["spatial-clusters"] = {"available": False,
                                   "message": analysis.errors.get("spatial", "spatial statistics unavailable")}
    out["expansion-paradox"] = analysis.paradox.as_dict()
    out["drivers"] = analysis.drivers.as_dict()
    if analysis.decomposition is not None:
        out["drivers"]["decomposition"] = analysis.decomposition.as_dict()
    if analysis.typology is not None:
        out["types"] = analysis.typology.as_dict()
    if analysis.recommendations is not None:
        out["recommendations"] = analysis.recommendations.as_dict()
    return {key: jsonable(value) for key, value in out.items()}


def summary(identification: Identification, analysis: Analysis | None = None,
            ledger: Ledger | None = None, standard: Standard | None = None) -> dict[str, Any]:
    """The headline numbers as a JSON-ready dict (``summary.json``), with the analysis results where given;
    ``ledger`` is the panel's (:attr:`Panel.ledger <shrinkwatch.core.Panel.ledger>`), whose row counts it reports;
    ``standard`` (default: the identification's, loaded again) labels the criteria not assessed and gives their
    remedy."""
    meta = identification.panel_meta
    counts = identification.counts()
    out: dict[str, Any] = {
        "dataset": meta.id,
        "dataset_title": meta.title,
        "unit_label": unit_label(meta),
        "unit_definition": meta.unit_definition,
        "standard": {"id": identification.standard_id, "parameters": jsonable(identification.parameters),
                     "description": identification.description},
        "counts": counts,
        "share_shrinking": (counts["shrinking"] / counts["units_with_data"]) if counts["units_with_data"] else None,
        "by_kind": _counts_dict(identification.counts_by("kind")),
        "by_parent": _counts_dict(identification.counts_by("parent_name")),
        "by_region": _counts_dict(identification.counts_by("region")),
        "insufficient_data_units": identification.insufficient.index.astype(str).tolist(),
        "boundary_change_units": identification.boundary_changes.index.astype(str).tolist(),
        "via_stable_cluster": _via_stable_cluster(identification),
        "criteria_not_assessed": identification.criteria_not_assessed(),
        "notes": list(identification.notes),
        "criteria_not_assessed_detail": [item.as_dict() for item in not_assessed(identification, standard)],
        "ledger": _ledger_counts(ledger),
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if analysis is not None:
        out.update(analysis_summary(analysis))
    return out


def _via_stable_cluster(identification: Identification) -> int:
    """Units whose verdict is their stable cluster's (:func:`shrinkwatch.harmonize.stable_clusters`)."""
    table = identification.table
    return int(table["via_stable_cluster"].sum()) if "via_stable_cluster" in table.columns else 0


def _ledger_counts(ledger: Ledger | None) -> dict[str, int]:
    """``rows_read``, ``accepted``, ``rejected`` of the panel's ledger (zeros without one)."""
    return (ledger if ledger is not None else Ledger()).counts()
