"""One unit's full profile, for ``shrinkwatch explain``: verdict, criteria, types, cluster, drivers, recommendations."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.analysis.drivers import drivers as driver_models
from shrinkwatch.analysis.knowledge import KnowledgeBase
from shrinkwatch.analysis.recommend import analysis_columns, profile_table, recommend
from shrinkwatch.analysis.typology import TYPE_NAMES, Typology, classify
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import ShrinkWatchError, UnknownIdError

__all__ = ["UnitProfile", "profile"]


@dataclass(frozen=True)
class UnitProfile:
    """Everything known about one unit, for ``shrinkwatch explain`` and the report.

    Attributes
    ----------
    unit_id, name, parent_name
        The unit.
    standard_id, description
        The standard applied and its rule in words with the parameters in force.
    status, reason
        The verdict and its explanation.
    annual_rate, severity, pattern, tapio_state
        Headline indicators (None where absent).
    criteria
        ``(criterion, value, passed)`` for each criterion of the standard.
    types
        ``(type, triggering values)`` for each rule-based type.
    cluster, cluster_label
        The data-driven cluster (None when the unit was not clustered).
    features
        The clustering features' values for the unit.
    drivers
        Per-indicator contributions to the unit's annual rate when
        :mod:`shrinkwatch.analysis.analyse` exposes them, else None.
    drivers_note
        Where the contributions come from, or why there are none.
    recommendations
        The unit's rows of :func:`~shrinkwatch.analysis.recommend.recommend`.
    notes
        Typology notes (how capitals were chosen, what was not assessed).
    lang
        The language of the recommendation texts and cluster label.
    """

    unit_id: str
    name: str
    parent_name: str | None
    standard_id: str
    description: str
    status: str
    reason: str
    annual_rate: float | None
    severity: str | None
    pattern: str | None
    tapio_state: str | None
    criteria: tuple[tuple[str, float | None, bool | None], ...]
    types: tuple[tuple[str, str], ...]
    cluster: int | None
    cluster_label: str | None
    features: dict[str, float]
    drivers: pd.DataFrame | None
    drivers_note: str
    recommendations: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    lang: str = "en"

    def to_text(self, lang: str | None = None) -> str:
        """The profile as plain text (what ``shrinkwatch explain`` prints); default: the profile's language."""
        zh = (lang or self.lang) == "zh"
        lines = [f"{self.name} ({self.unit_id})" + (f", {self.parent_name}" if self.parent_name else "")]
        verdict = {"shrinking": "收缩", "not_shrinking": "未收缩", "insufficient_data": "数据不足"}
        lines.append(f"{'判定' if zh else 'Verdict'}: {verdict[self.status] if zh else self.status} "
                     f"({'标准' if zh else 'standard'} {self.standard_id})")
        lines.append(f"  {self.reason}")
        if self.criteria:
            lines.append("判定条件:" if zh else "Criteria:")
            for name, value, passed in self.criteria:
                shown = "NA" if value is None else f"{value:.6g}"
                mark = "NA" if passed is None else (("通过" if zh else "pass") if passed else ("未通过" if zh else "fail"))
                lines.append(f"  {name}: value={shown} -> {mark}")
        rate = "NA" if self.annual_rate is None else f"{self.annual_rate:+.2f}%/yr"
        lines.append(f"{'年均变化率' if zh else 'Annual rate'}: {rate}")
        lines.append(f"{'严重程度' if zh else 'Severity'}: {self.severity or 'NA'}")
        if self.pattern is not None:
            lines.append(f"{'模式' if zh else 'Pattern'}: {self.pattern}")
        if self.tapio_state is not None:
            lines.append(f"{'Tapio 脱钩状态' if zh else 'Tapio state'}: {self.tapio_state}")
        lines.append("类型:" if zh else "Types:")
        if self.types:
            for name, trigger in self.types:
                lines.append(f"  {TYPE_NAMES.get(name, name) if zh else name}: {trigger}")
        else:
            lines.append("  （无）" if zh else "  (none of the rule-based types)")
        if self.cluster is not None:
            lines.append(f"{'聚类' if zh else 'Cluster'}: {self.cluster} \"{self.cluster_label}\"")
        elif self.status == "shrinking":
            lines.append("聚类: 未参与（缺少特征值）" if zh else "Cluster: not clustered (a feature is missing)")
        if self.features:
            shown = ", ".join(f"{k}={v:.2f}" for k, v in self.features.items())
            lines.append(f"{'特征' if zh else 'Profile'}: {shown}")
        lines.append("驱动因素:" if zh else "Drivers:")
        if self.drivers is not None and len(self.drivers):
            for row in self.drivers.itertuples(index=False):
                lines.append(f"  {row[0]}: {row[1]:+.3f}%/yr")
            lines.append(f"  ({self.drivers_note})")
        else:
            lines.append(f"  {self.drivers_note}")
        lines.append("建议:" if zh else "Recommendations:")
        if len(self.recommendations):
            for row in self.recommendations.itertuples(index=False):
                lines.append(f"  [{row.priority}] {row.title} ({row.recommendation_id}; {row.path})")
                lines.append(f"      {row.text}")
                lines.append(f"      {'触发' if zh else 'triggered by'}: {row.triggered_by}")
        else:
            lines.append("  （无）" if zh else "  (none)")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


def _near_matches(table: pd.DataFrame, unit_id: str, limit: int = 5) -> list[str]:
    ids = table.index.astype(str)
    found = [i for i in ids if i.startswith(unit_id[: max(2, len(unit_id) - 2)])]
    if "name" in table.columns:
        names = table["name"].astype("string").fillna("")
        found += [str(i) for i, n in names.items() if unit_id and unit_id in n]
        found += [str(names.index[names == n][0]) for n in difflib.get_close_matches(unit_id, names.tolist(), n=3)]
    found += difflib.get_close_matches(unit_id, ids.tolist(), n=3)
    unique = list(dict.fromkeys(found))[:limit]
    if "name" in table.columns:
        return [f"{i} {table.at[i, 'name']}" for i in unique]
    return unique


def _drivers(panel: Panel, identification: Identification, unit_id: str, seed: int) -> tuple[pd.DataFrame | None, str]:
    """Per-unit driver contributions from :func:`shrinkwatch.analysis.drivers.drivers`, when available."""
    try:
        result = driver_models(identification, panel, seed=seed)
    except ShrinkWatchError as error:  # a model that cannot run on this dataset must not block the profile
        return None, f"driver contributions: not available ({error})"
    contributions = result.contributions
    if not result.available or contributions is None:
        return None, f"driver contributions: not available ({result.message or 'no model'})"
    if unit_id not in contributions.index:
        return None, "driver contributions: this unit was not in the driver model (a predictor is missing)"
    row = pd.to_numeric(contributions.loc[unit_id], errors="coerce")
    baseline = float(row.get("expected_value", np.nan))
    row = row.drop(labels=["expected_value"], errors="ignore").dropna()
    frame = pd.DataFrame({"indicator": row.index.astype(str), "contribution": row.to_numpy()})
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False, kind="mergesort").index)
    fit = getattr(result, "gbm_cv", None)
    base = getattr(result, "baseline_cv", None)
    fit_text = (f"; cross-validated R² {fit.r2:.2f} vs baseline {base.r2:.2f}" if fit is not None and base is not None
                else "")
    note = (f"LightGBM contributions (pred_contrib, %/yr) to the modelled annual rate, from "
            f"shrinkwatch.analysis.analyse.drivers; model mean {baseline:+.2f}%/yr{fit_text}; associations, not causes")
    return frame.reset_index(drop=True), note


def _optional(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


def profile(
    panel: Panel,
    identification: Identification,
    unit_id: str,
    *,
    typology: Typology | None = None,
    resources: str | Path | pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
    knowledge: KnowledgeBase | str | Path | None = None,
    seed: int = 0,
    lang: str = "en",
    drivers: bool = True,
    recommendations: pd.DataFrame | None = None,
) -> UnitProfile:
    """The full profile of one unit: verdict, criteria, types, cluster, drivers, recommendations.

    Parameters
    ----------
    panel, identification
        The data and the verdicts.
    unit_id
        The unit; an unknown id raises :class:`UnknownIdError` listing near matches.
    typology
        A :func:`~shrinkwatch.analysis.typology.classify` result; computed (with
        ``resources`` and ``seed``) when None.
    resources
        A resource-city table for the typology (see
        :func:`~shrinkwatch.analysis.resource_cities.read_resource_table`).
    extra
        Extra columns by ``unit_id`` (``tapio_state``, ``pattern``...).
    knowledge
        The knowledge base (default: built-in).
    seed
        Random state for clustering and driver models.
    lang
        ``"en"`` or ``"zh"``.
    drivers
        Ask :mod:`shrinkwatch.analysis.analyse` for per-unit driver contributions.
    recommendations
        :func:`~shrinkwatch.analysis.recommend.recommend` already run over every unit (in ``lang``): the unit's
        rows are taken from it (a server profiling many units of one identification matches the rules once).

    Returns
    -------
    UnitProfile
    """
    unit_id = str(unit_id)
    table = identification.table
    if unit_id not in table.index:
        near = _near_matches(table, unit_id)
        hint = f"; near matches: {', '.join(near)}" if near else ""
        raise UnknownIdError(f"unknown unit {unit_id!r} in dataset {panel.id!r}{hint}")
    if typology is None:
        typology = classify(panel, identification, seed=seed, resources=resources)
    if extra is None or "tapio_state" not in extra.columns:
        states = analysis_columns(panel, identification)
        if states is not None:
            extra = states if extra is None else extra.join(states, how="outer")
    profiles = profile_table(identification, typology, extra)
    row = profiles.loc[unit_id]
    recs = (recommend(profiles.loc[[unit_id]], knowledge, lang=lang) if recommendations is None
            else recommendations[recommendations["unit_id"] == unit_id].reset_index(drop=True))
    criteria = []
    for name in identification.criteria:
        value = _optional(row.get(f"{name}_value"))
        passed = _optional(row.get(f"{name}_pass"))
        criteria.append((name, None if value is None else float(value), None if passed is None else bool(passed)))
    types: list[tuple[str, str]] = []
    listed = [t.strip() for t in str(_optional(row.get("types")) or "").split(";") if t.strip()]
    for name in listed:
        trigger = _optional(row.get(f"trigger_{name.replace(' ', '_').replace('-', '_')}"))
        types.append((name, str(trigger or "")))
    cluster = _optional(row.get("cluster"))
    label_column = "cluster_label_zh" if lang == "zh" else "cluster_label"
    features = {f: float(row[f]) for f in typology.features if _optional(row.get(f)) is not None}
    driver_frame, driver_note = (_drivers(panel, identification, unit_id, seed) if drivers
                                 else (None, "driver contributions: not requested"))
    rate = _optional(row.get("annual_rate"))
    return UnitProfile(
        unit_id=unit_id,
        name=str(_optional(row.get("name")) or unit_id),
        parent_name=_optional(row.get("parent_name")),
        standard_id=identification.standard_id,
        description=identification.description,
        status=str(row["status"]),
        reason=str(_optional(row.get("reason")) or ""),
        annual_rate=None if rate is None else float(rate),
        severity=_optional(row.get("severity")),
        pattern=_optional(row.get("pattern")),
        tapio_state=_optional(row.get("tapio_state")),
        criteria=tuple(criteria),
        types=tuple(types),
        cluster=None if cluster is None else int(cluster),
        cluster_label=None if cluster is None else str(row.get(label_column)),
        features=features,
        drivers=driver_frame,
        drivers_note=driver_note,
        recommendations=recs,
        notes=typology.notes,
        lang=lang,
    )
