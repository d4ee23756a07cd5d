"""``summary.json``: the headline numbers and the analysis results, in a versioned layout with a JSON Schema
(``resources/schemas/summary.schema.json``)."""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from shrinkwatch.core import Identification, Ledger
from shrinkwatch.core.messages import check_language, message, translate
from shrinkwatch.identification.schema import Standard
from shrinkwatch.report.labels import not_assessed, unit_label
from shrinkwatch.report.outputs import jsonable

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis
    from shrinkwatch.forecast import ForecastResult
    from shrinkwatch.identification.timeline import Timeline

__all__ = ["summary", "analysis_summary", "SCHEMA_VERSION", "SCHEMA_PATH", "summary_schema"]

#: Version of the layout of ``summary.json`` (``schema_version``); the JSON Schema is :data:`SCHEMA_PATH`.
#: A new field raises the minor number, a renamed or removed one the major.
#: 1.1.0: ``timeline`` (status over time) and ``early_warning`` (forecast watchlist and backtest skill).
#: 1.2.0: ``language``; ``ledger.rejected_by_reason`` and ``ledger.warnings`` (in that language).
SCHEMA_VERSION = "1.2.0"
#: The JSON Schema (draft 2020-12) that every ``summary.json`` validates against, shipped with the package.
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "resources" / "schemas" / "summary.schema.json"

#: LISA classes as field names (rate of the unit / of its neighbours: High or Low).
_LISA_KEYS = {"HH": "high_high", "LL": "low_low", "HL": "high_low", "LH": "low_high",
              "not significant": "not_significant", "excluded": "excluded"}
_COUNT_FIELDS = ("units", "with_data", "shrinking", "not_shrinking", "insufficient_data", "boundary_change")


def summary_schema() -> dict[str, Any]:
    """The JSON Schema of ``summary.json`` (:data:`SCHEMA_PATH`)."""
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _percent(fraction: Any, digits: int = 4) -> float | None:
    """A fraction as percent (None stays None: no denominator)."""
    return None if fraction is None or pd.isna(fraction) else round(float(fraction) * 100.0, digits)


def _groups(table: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    """Counts by group as records: ``{key: group, units, with_data, ..., share_shrinking_pct}``."""
    return [{key: str(group), **{field: int(getattr(row, field)) for field in _COUNT_FIELDS},
             "share_shrinking_pct": _percent(row.share_shrinking)}
            for group, row in zip(table.index, table.itertuples(index=False))]


def _records(counts: Mapping[Any, Any], key: str, value: str) -> list[dict[str, Any]]:
    """A mapping keyed by data (a type, a path, a predictor) as records ``{key: ..., value: ...}``."""
    return [{key: str(k), value: jsonable(v)} for k, v in counts.items()]


def _snake(label: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def _distribution(analysis: Analysis) -> dict[str, Any]:
    raw = analysis.distribution.as_dict(groupings=("region",))  # by parent is in the headline
    out: dict[str, Any] = {"totals": raw["totals"]}
    for key, rows in raw.items():
        if key.startswith("by_"):
            out[key] = [{("share_shrinking_pct" if k == "share_shrinking" else k):
                         (_percent(v) if k == "share_shrinking" else v) for k, v in row.items()} for row in rows]
    return out


def _spatial(analysis: Analysis) -> dict[str, Any]:
    if analysis.moran is None or analysis.lisa is None:
        return {"available": False, "message": analysis.errors.get("spatial", "spatial statistics unavailable"),
                "moran": None, "lisa": None}
    moran = analysis.moran.as_dict()
    renamed = {"I": "moran_i", "expected_I": "expected_moran_i"}
    lisa: dict[str, Any] = dict(analysis.lisa.as_dict())
    lisa["counts"] = {_LISA_KEYS.get(str(k), _snake(str(k))): int(v) for k, v in lisa["counts"].items()}
    for key in ("meanings", "shrinking_in"):
        lisa[key] = {_LISA_KEYS.get(str(k), _snake(str(k))): v for k, v in lisa[key].items()}
    lisa["mean_rate_pct"] = lisa.pop("mean")  # the annual rate is in percent per year
    return {"available": True, "message": None, "moran": {renamed.get(k, k): v for k, v in moran.items()},
            "lisa": lisa}


def _paradox(analysis: Analysis) -> dict[str, Any]:
    paradox = analysis.paradox
    on = paradox.available
    return {
        "available": bool(on), "builtup_present": bool(paradox.builtup_present), "message": paradox.message,
        "start_year": paradox.start_year if on else None, "end_year": paradox.end_year if on else None,
        "population_indicator": paradox.population_indicator if on else None,
        "paradox_share_pct": _percent(paradox.share, 2) if on else None,
        "numerator_builtup_grew": paradox.n_grew if on else None,
        "denominator_shrinking_with_builtup": paradox.denominator if on else None,
        "shrinking_units": paradox.n_shrinking if on else None,
        "shrinking_without_builtup": paradox.n_shrinking_without_builtup if on else None,
        "tapio_states_of_shrinking_units": _records(paradox.state_counts_shrinking, "state", "units") if on else [],
    }


def _drivers(analysis: Analysis) -> dict[str, Any]:
    raw: dict[str, Any] = dict(analysis.drivers.as_dict())
    fields = ("target", "n_used", "n_excluded", "predictors", "predictors_measured_in", "outcome_period", "n_folds",
              "seed", "ols_r2_in_sample")
    out: dict[str, Any] = {"available": bool(raw["available"]), "message": raw.get("message")}
    out.update({field: raw.get(field) for field in fields})
    models = raw.get("models")
    # the target is the annual rate (percent per year): its errors are in the same unit
    out["models"] = None if models is None else {
        name: {"model": m["model"], "cv_r2": m["cv_r2"], "cv_rmse_pct": m["cv_rmse"], "r2_folds": m["r2_folds"],
               "rmse_folds_pct": m["rmse_folds"]} for name, m in models.items()}
    importance = raw.get("importance_lightgbm")
    out["importance_lightgbm"] = None if importance is None else _records(importance, "predictor",
                                                                          "mean_abs_contribution_pct")
    decomposition = analysis.decomposition
    out["decomposition"] = None if decomposition is None else {
        "exact": bool(decomposition.exact), "migration_exact": bool(decomposition.migration_exact),
        "county_years_checked": int(decomposition.n_checked),
        "max_abs_gap_persons": float(decomposition.max_abs_gap)}
    return out


def _types(analysis: Analysis) -> dict[str, Any] | None:
    if analysis.typology is None:
        return None
    raw = analysis.typology.as_dict()
    return {
        "k": raw["k"], "silhouette": [{"k": int(k), "silhouette": v} for k, v in raw["silhouette"].items()],
        "criterion": raw["criterion"], "features": raw["features"],
        "clusters": _records(raw["clusters"], "cluster", "units"),
        "types": _records(raw["types"], "type", "units"),
        "types_all_units": _records(raw["types_all_units"], "type", "units"),
        "types_not_assessed": raw["types_not_assessed"], "shrinking_units": raw["shrinking_units"],
        "notes": raw["notes"],
    }


def _recommendations(analysis: Analysis) -> dict[str, Any] | None:
    if analysis.recommendations is None:
        return None
    raw = analysis.recommendations.as_dict()
    return {
        "by_recommendation": _records(raw["by_recommendation"], "recommendation_id", "units"),
        "by_path": _records(raw["by_path"], "path", "units"),
        "by_priority": _records(raw["by_priority"], "priority", "recommendations"),
        "units_with_recommendations": raw["units_with_recommendations"],
        "denominators": raw["denominators"],
    }


def _timeline(result: Timeline | None, error: str | None) -> dict[str, Any]:
    """Status over time: counts per as-of year with entries and exits, and when the current spells began."""
    if result is None:
        return {"available": False, "message": error or "no status timeline", "standard": None, "as_of_field": None,
                "years": [], "counts": [], "onset": None, "notes": []}
    raw = result.as_dict()
    onset = result.units["onset_year"].dropna().astype(int)
    spell = result.units["current_spell"].dropna().astype(int)
    by_year = onset.value_counts().sort_index()
    return {
        "available": True, "message": None, "standard": raw["standard"], "as_of_field": raw["as_of_field"],
        "years": raw["years"],
        "counts": [{"year": row["year"], **{k: v for k, v in row.items() if k != "year"}} for row in raw["counts"]],
        "onset": {
            "currently_shrinking": raw["currently_shrinking"],
            "onset_in_last_year": raw["onset_in_last_year"],
            "median_onset_year": int(onset.median()) if len(onset) else None,
            "median_current_spell_years": float(spell.median()) if len(spell) else None,
            "longest_current_spell_years": int(spell.max()) if len(spell) else None,
            "by_onset_year": [{"onset_year": int(year), "units": int(n)} for year, n in by_year.items()],
            "recovered_units": int((result.units["n_recoveries"] > 0).sum()),
        },
        "notes": raw["notes"],
    }


def _early_warning(result: ForecastResult | None, error: str | None, lang: str = "en") -> dict[str, Any]:
    """The watchlist with its probabilities and the backtest skill behind them; ``skill_verdict`` says whether
    the probabilities beat persistence and the base rate (``does_not_beat_baselines``, or ``untested`` when no
    earlier origin can be scored)."""
    if result is None:
        said = translate(error, "forecast.unavailable", lang) if error else message("forecast.unavailable.none", lang)
        return {"available": False, "message": said, "standard": None, "origin_year": None,
                "horizon_years": None, "forecast_year": None, "interval_level_pct": None, "draws": None,
                "units_with_probability": 0, "skill_verdict": None, "beats_baselines": False, "skill": [],
                "watchlist": [], "notes": []}
    tested = result.skill is not None and not result.skill.empty
    year = result.origin_year + result.horizon
    watch = result.watchlist
    return {
        "available": True, "message": None, "standard": result.standard_id, "origin_year": int(result.origin_year),
        "horizon_years": int(result.horizon), "forecast_year": int(year),
        "interval_level_pct": round(100.0 * float(result.level), 4), "draws": int(result.draws),
        "units_with_probability": int(result.units["probability"].notna().sum()),
        "skill_verdict": ("untested" if not tested else
                          "beats_baselines" if result.beats_baselines else "does_not_beat_baselines"),
        "beats_baselines": bool(result.beats_baselines),
        "skill": [] if result.skill is None else [
            {"horizon_years": int(row["horizon"]), "predictor": str(row["predictor"]), "n": int(row["n"]),
             "brier": row["brier"], "precision": row["precision"], "recall": row["recall"],
             "observed_share_frac": row["observed_share"]} for row in result.skill.to_dict(orient="records")],
        "watchlist": [
            {"rank": rank, "unit_id": str(unit), "name": None if pd.isna(row["name"]) else str(row["name"]),
             "parent_name": None if pd.isna(row["parent_name"]) else str(row["parent_name"]),
             "probability": row["probability"], "forecast_persons": row[f"forecast_{year}"],
             "lower_persons": row["lower"], "upper_persons": row["upper"]}
            for rank, (unit, row) in enumerate(watch.iterrows(), start=1)],
        "notes": list(result.notes),
    }


def analysis_summary(analysis: Analysis | None, lang: str = "en") -> dict[str, Any]:
    """Each analysis result under the id of its report section (snake_case), in the report's order; None for
    an analysis that was not run (``analysis`` None: all of them). Why there is no forecast is said in ``lang``."""
    if analysis is None:
        return {key: None for key in ("sensitivity", "timeline", "distribution", "spatial_clusters",
                                      "expansion_paradox", "drivers", "types", "recommendations", "early_warning")}
    out: dict[str, Any] = {
        "sensitivity": analysis.sensitivity.as_dict() if analysis.sensitivity is not None else None,
        "timeline": _timeline(analysis.timeline, analysis.errors.get("timeline")),
        "distribution": _distribution(analysis),
        "spatial_clusters": _spatial(analysis),
        "expansion_paradox": _paradox(analysis),
        "drivers": _drivers(analysis),
        "types": _types(analysis),
        "recommendations": _recommendations(analysis),
        "early_warning": _early_warning(analysis.early_warning, analysis.errors.get("early_warning"), lang),
    }
    return {key: jsonable(value) for key, value in out.items()}


def summary(identification: Identification, analysis: Analysis | None = None,
            ledger: Ledger | None = None, standard: Standard | None = None, lang: str = "en") -> dict[str, Any]:
    """The headline numbers as a JSON-ready dict (``summary.json``), with the analysis results where given;
    ``ledger`` is the panel's (:attr:`Panel.ledger <shrinkwatch.core.Panel.ledger>`), whose row counts it reports;
    ``standard`` (default: the identification's, loaded again) labels the criteria not assessed and gives their
    remedy. ``lang`` is the language of the texts the ledger and the forecast give (rejection reasons, warnings,
    why there is no forecast); keys never change with it.

    The layout is versioned (``schema_version``, :data:`SCHEMA_VERSION`) and described by the JSON Schema
    :data:`SCHEMA_PATH`: snake_case keys, one type per field (a number or null, never a word where a number
    belongs), units in the names (``share_shrinking_pct``); groups keyed by data (parents, types, paths) are
    lists of records.
    """
    meta = identification.panel_meta
    counts = identification.counts()
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "dataset": meta.id,
        "dataset_title": meta.title,
        "unit_label": unit_label(meta),
        "unit_definition": meta.unit_definition,
        "standard": {"id": identification.standard_id, "parameters": jsonable(identification.parameters),
                     "description": identification.description},
        "counts": counts,
        "share_shrinking_pct": _percent(counts["shrinking"] / counts["units_with_data"]
                                        if counts["units_with_data"] else None),
        "by_kind": _groups(identification.counts_by("kind"), "kind"),
        "by_parent": _groups(identification.counts_by("parent_name"), "parent_name"),
        "by_region": _groups(identification.counts_by("region"), "region"),
        "insufficient_data_units": identification.insufficient.index.astype(str).tolist(),
        "boundary_change_units": identification.boundary_changes.index.astype(str).tolist(),
        "via_stable_cluster": _via_stable_cluster(identification),
        "criteria_not_assessed": identification.criteria_not_assessed(),
        "notes": list(identification.notes),
        "criteria_not_assessed_detail": [item.as_dict() for item in not_assessed(identification, standard)],
        "language": check_language(lang),
        "ledger": {**_ledger_counts(ledger), **_ledger_texts(ledger, lang)},
        "analysis": analysis is not None,
    }
    out.update(analysis_summary(analysis, lang))
    return out


def _via_stable_cluster(identification: Identification) -> int:
    """Units whose verdict is their stable cluster's (:func:`shrinkwatch.harmonize.stable_clusters`)."""
    table = identification.table
    return int(table["via_stable_cluster"].sum()) if "via_stable_cluster" in table.columns else 0


def _ledger_counts(ledger: Ledger | None) -> dict[str, int]:
    """``rows_read``, ``accepted``, ``rejected`` of the panel's ledger (zeros without one)."""
    return (ledger if ledger is not None else Ledger()).counts()


def _ledger_texts(ledger: Ledger | None, lang: str) -> dict[str, Any]:
    """The rejected rows by the kind of their reason and the ledger's warnings, said in ``lang``."""
    ledger = ledger if ledger is not None else Ledger()
    return {"rejected_by_reason": [{"reason": str(reason), "rows": int(rows)}
                                   for reason, rows in ledger.rejected_by_reason(lang).items()],
            "warnings": ledger.warnings_in(lang)}
