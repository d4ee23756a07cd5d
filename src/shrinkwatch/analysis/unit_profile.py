"""One unit's full profile, for ``shrinkwatch explain``: verdict, criteria, types, cluster, drivers, recommendations."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.analysis.drivers import drivers as driver_models
from shrinkwatch.analysis.knowledge import KnowledgeBase, field_label, path_label, priority_label, value_label
from shrinkwatch.analysis.recommend import analysis_columns, profile_table, recommend
from shrinkwatch.analysis.typology import Typology, classify, type_label
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import ShrinkWatchError, UnknownIdError
from shrinkwatch.core.messages import check_language, message
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.schema import Standard

__all__ = ["UnitProfile", "profile", "predictor_label"]


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
        The language of the recommendation texts, cluster label, notes and drivers note.
    criterion_labels
        Each criterion's label in ``lang`` (from the standard), by criterion key.
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
    criterion_labels: dict[str, str] = field(default_factory=dict)

    def to_text(self, lang: str | None = None) -> str:
        """The profile as plain text (what ``shrinkwatch explain`` prints) in the catalogue's ``explain`` words;
        default: the profile's language. The values that came from the analysis (reason, recommendation texts,
        cluster label, notes, drivers note) are in the language the profile was made in."""
        lang = check_language(lang or self.lang, "lang")

        def say(key: str, **fields: Any) -> str:
            return message(f"explain.{key}", lang, **fields)

        lines = [say("header_parent", name=self.name, unit_id=self.unit_id, parent=self.parent_name)
                 if self.parent_name else say("header", name=self.name, unit_id=self.unit_id)]
        lines.append(say("verdict", status=value_label("status", self.status, lang) if lang != "en" else self.status,
                         standard=self.standard_id))
        lines.append(f"  {self.reason}")
        if self.criteria:
            lines.append(say("criteria"))
            for name, value, passed in self.criteria:
                shown = say("missing") if value is None else f"{value:.6g}"
                mark = say("missing") if passed is None else say("pass" if passed else "fail")
                label = self.criterion_labels.get(name, name)
                lines.append(say("criterion", name=label, value=shown, result=mark))
        rate = say("missing") if self.annual_rate is None else say("rate", rate=self.annual_rate)
        lines.append(say("annual_rate", rate=rate))
        lines.append(say("severity", severity=value_label("severity", self.severity, lang) if self.severity
                         else say("missing")))
        if self.pattern is not None:
            lines.append(say("pattern", pattern=value_label("pattern", self.pattern, lang)))
        if self.tapio_state is not None:
            lines.append(say("tapio", state=value_label("tapio_state", self.tapio_state, lang)))
        lines.append(say("types"))
        if self.types:
            for name, trigger in self.types:
                lines.append(say("item", name=type_label(name, lang), value=trigger))
        else:
            lines.append(say("no_types"))
        if self.cluster is not None:
            lines.append(say("cluster", cluster=self.cluster, label=self.cluster_label))
        elif self.status == "shrinking":
            lines.append(say("not_clustered"))
        if self.features:
            shown = say("list_separator").join(say("feature", name=field_label(k, lang), value=v)
                                               for k, v in self.features.items())
            lines.append(say("profile", values=shown))
        lines.append(say("drivers_heading"))
        if self.drivers is not None and len(self.drivers):
            for row in self.drivers.itertuples(index=False):
                lines.append(say("item", name=predictor_label(str(row[0]), lang),
                                 value=say("contribution", value=row[1])))
            lines.append(say("drivers_note", note=self.drivers_note))
        else:
            lines.append(f"  {self.drivers_note}")
        lines.append(say("recommendations"))
        if len(self.recommendations):
            for row in self.recommendations.itertuples(index=False):
                lines.append(say("recommendation", priority=priority_label(row.priority, lang), title=row.title,
                                 id=row.recommendation_id, path=path_label(row.path, lang)))
                lines.append(f"      {row.text}")
                lines.append(say("triggered", what=row.triggered_by))
        else:
            lines.append(say("none"))
        for note in self.notes:
            lines.append(say("note", text=note))
        return "\n".join(lines)


def predictor_label(name: str, lang: str) -> str:
    """A driver model's predictor in ``lang``: ``region_northeast`` -> ``地区=东北``, a start-of-period feature
    (``share_65plus_start``) by its feature's words; English keeps the column name."""
    if lang == "en":
        return name
    if name.startswith("region_"):
        region = name.removeprefix("region_").replace("_", " ").title()
        return f"{field_label('region', lang)}={value_label('region', region, lang)}"
    earlier = re.fullmatch(r"annual_rate_(\d{4})_(\d{4})", name)
    if earlier:
        return f"{earlier[1]}-{earlier[2]} {field_label('annual_rate', lang)}"
    key = name.removesuffix("_start")
    if key.startswith("log10_"):
        return f"log10 {field_label(key.removeprefix('log10_'), lang)}"
    return field_label(key, lang)


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


def _drivers(panel: Panel, identification: Identification, unit_id: str, seed: int,
             lang: str = "en") -> tuple[pd.DataFrame | None, str]:
    """Per-unit driver contributions from :func:`shrinkwatch.analysis.drivers.drivers`, when available."""
    try:
        result = driver_models(identification, panel, seed=seed, lang=lang,  # result.message in lang
                               contributions_of=(unit_id,))  # in the contributions even if the models sample
    except ShrinkWatchError as error:  # a model that cannot run on this dataset must not block the profile
        return None, message("explain.drivers.not_available", lang, why=error)
    contributions = result.contributions
    if not result.available or contributions is None:
        return None, message("explain.drivers.not_available", lang,
                             why=result.message or message("explain.drivers.no_model", lang))
    if unit_id not in contributions.index:
        return None, message("explain.drivers.not_in_model", lang)
    row = pd.to_numeric(contributions.loc[unit_id], errors="coerce")
    baseline = float(row.get("expected_value", np.nan))
    row = row.drop(labels=["expected_value"], errors="ignore").dropna()
    frame = pd.DataFrame({"indicator": row.index.astype(str), "contribution": row.to_numpy()})
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False, kind="mergesort").index)
    fit = getattr(result, "gbm_cv", None)
    base = getattr(result, "baseline_cv", None)
    fit_text = (message("explain.drivers.fit", lang, r2=fit.r2, baseline=base.r2) if fit is not None and base is not None
                else "")
    note = message("explain.drivers.note", lang, mean=baseline, fit=fit_text)
    return frame.reset_index(drop=True), note


def _criterion_labels(identification: Identification, standard: Standard | None, lang: str) -> dict[str, str]:
    """Each criterion's label in ``lang``; English keeps the criterion keys (``decline``)."""
    if lang == "en":
        return {}
    if standard is None:
        try:
            standard = load_standard(identification.standard_id)
        except ShrinkWatchError:  # a user's standard file that is not at hand: the keys stand
            return {}
    return {key: standard.criteria[key].label_for(lang) for key in identification.criteria if key in standard.criteria}


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
    standard: Standard | None = None,
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
    standard
        The standard applied, for its criteria's labels in ``lang`` (default: the built-in one of that id, if any).
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
    check_language(lang, "lang")
    if typology is None:
        typology = classify(panel, identification, seed=seed, resources=resources, lang=lang)
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
    driver_frame, driver_note = (_drivers(panel, identification, unit_id, seed, lang) if drivers
                                 else (None, message("explain.drivers.not_requested", lang)))
    english = lang == "en" and _optional(row.get("name_en")) is not None
    parent_en = _optional(panel.units["parent_name_en"].get(unit_id)) if "parent_name_en" in panel.units else None
    rate = _optional(row.get("annual_rate"))
    return UnitProfile(
        unit_id=unit_id,
        name=str((_optional(row.get("name_en")) if english else None) or _optional(row.get("name")) or unit_id),
        parent_name=(parent_en if english and parent_en else _optional(row.get("parent_name"))),
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
        criterion_labels=_criterion_labels(identification, standard, lang),
    )
