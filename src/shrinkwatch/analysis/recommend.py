"""Recommendations: a knowledge base of transformation paths, matched to unit profiles.

The knowledge base (``resources/knowledge.toml``, or a user's file) is data: a
list of rules, each with a *scope* (the status it applies to), *conditions*
on the columns of a profile table (severity, pattern, Tapio state, rule-based
types, annual rate, age structure...), a recommendation in English and
Chinese, a priority, a rationale and references to international practice.
It is validated on load; an unknown key, an unknown field or an operator that
does not fit its field is an error naming the rule.

Matching is vectorised: each rule is one boolean mask over the profile table.
Three guarantees follow from the scope:

* a shrinking unit gets the rules whose conditions it meets;
* a unit that is not shrinking gets monitoring-only rules (``scope =
  "not_shrinking"``; the built-in ones watch near-zero growth and recoveries)
  or nothing;
* a unit with insufficient data gets "collect data" guidance and never a
  shrinkage measure.

A condition on a column the profile table lacks (no ``pattern`` column, no
``tapio_state`` without built-up data, no ``resource_type`` without a
resource table) is false.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from importlib import resources as _resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shrinkwatch.analysis.drivers import drivers as driver_models
from shrinkwatch.analysis.paradox import ParadoxResult, expansion_paradox
from shrinkwatch.analysis.typology import TYPE_NAMES, Typology, classify
from shrinkwatch.core import STATUSES, Identification, Panel
from shrinkwatch.core.errors import (
    DataError,
    OptionError,
    ShrinkWatchError,
    UnknownIdError,
)

__all__ = [
    "FIELDS",
    "PATHS",
    "PRIORITIES",
    "TAPIO_STATES",
    "Condition",
    "Reference",
    "Rule",
    "KnowledgeBase",
    "load_knowledge_base",
    "profile_table",
    "analysis_columns",
    "recommend",
    "UnitProfile",
    "profile",
    "RecommendationResult",
    "recommendations_for",
]

#: The eight Tapio decoupling states (DOMAIN.md).
TAPIO_STATES = (
    "weak decoupling", "expansive coupling", "expansive negative decoupling", "strong decoupling",
    "strong negative decoupling", "recessive decoupling", "recessive coupling", "weak negative decoupling",
)

#: Fields a condition may test: kind ("category", "number" or "set"), allowed values, unit for display.
FIELDS: dict[str, dict[str, Any]] = {
    "severity": {"kind": "category", "choices": ("mild", "moderate", "severe", "none")},
    "pattern": {"kind": "category", "choices": ("continuous", "episodic", "new", "recovering")},
    "tapio_state": {"kind": "category", "choices": TAPIO_STATES},
    "region": {"kind": "category"},
    "kind": {"kind": "category"},
    "country": {"kind": "category"},
    "resource_type": {"kind": "category", "choices": ("growing", "mature", "declining", "regenerating")},
    "cluster_label": {"kind": "category"},
    "annual_rate": {"kind": "number", "format": "{:.2f}%/yr"},
    "share_65plus": {"kind": "number", "format": "{:.1f}%"},
    "share_65plus_change": {"kind": "number", "format": "{:+.1f} pp"},
    "share_0_14": {"kind": "number", "format": "{:.1f}%"},
    "urban_share": {"kind": "number", "format": "{:.1f}%"},
    "distance_to_capital_km": {"kind": "number", "format": "{:,.0f} km"},
    "core_annual_rate": {"kind": "number", "format": "{:.2f}%/yr"},
    "exhausted_batch": {"kind": "number", "format": "{:.0f}"},
    "types": {"kind": "set", "choices": tuple(TYPE_NAMES)},
}

OPERATORS: dict[str, tuple[str, ...]] = {
    "category": ("==", "!=", "in", "not in"),
    "number": ("<", "<=", ">", ">=", "==", "!="),
    "set": ("contains", "not contains"),
}

#: Transformation paths a rule may name.
PATHS = (
    "monitoring", "smart shrinkage", "right-sizing", "successor industries", "culture and tourism",
    "ecological functions", "metropolitan integration", "regional collaboration", "targeted support",
    "data collection",
)

#: Priorities, highest first.
PRIORITIES = ("high", "medium", "low")


# ---------------------------------------------------------------- the knowledge base

class Condition(BaseModel):
    """One test on one column of the profile table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: str
    value: str | float | int | list[str] | list[float]

    @model_validator(mode="after")
    def _check(self) -> "Condition":
        spec = FIELDS.get(self.field)
        if spec is None:
            raise ValueError(f"unknown field {self.field!r}; known fields: {', '.join(FIELDS)}")
        allowed = OPERATORS[spec["kind"]]
        if self.op not in allowed:
            raise ValueError(f"operator {self.op!r} does not apply to {spec['kind']} field {self.field!r}; "
                             f"use one of {', '.join(allowed)}")
        is_list = isinstance(self.value, list)
        if self.op in ("in", "not in") and not is_list:
            raise ValueError(f"{self.field} {self.op}: value must be a list, got {self.value!r}")
        if self.op not in ("in", "not in") and is_list:
            raise ValueError(f"{self.field} {self.op}: value must be a single value, got a list")
        if spec["kind"] == "number" and (isinstance(self.value, (str, bool)) or is_list):
            raise ValueError(f"{self.field} {self.op}: value must be a number, got {self.value!r}")
        if spec["kind"] in ("category", "set"):
            values = self.value if is_list else [self.value]
            if any(not isinstance(v, str) for v in values):  # type: ignore[union-attr]
                raise ValueError(f"{self.field} {self.op}: values must be text, got {self.value!r}")
            choices = spec.get("choices")
            bad = [v for v in values if choices is not None and v not in choices]  # type: ignore[union-attr]
            if bad:
                raise ValueError(f"{self.field}: {', '.join(map(repr, bad))} not one of {', '.join(choices or [])}")
        return self


class Reference(BaseModel):
    """International or national practice cited as evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    note: str
    url: str = ""


class Rule(BaseModel):
    """A recommendation and the conditions under which it applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    scope: Literal["shrinking", "not_shrinking", "insufficient_data"] = "shrinking"
    path: str
    priority: Literal["high", "medium", "low"]
    title: str
    title_zh: str
    text: str
    text_zh: str
    rationale: str
    references: list[str] = []
    conditions: list[Condition] = []

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        if self.path not in PATHS:
            raise ValueError(f"path {self.path!r} is not one of {', '.join(PATHS)}")
        if self.scope != "shrinking" and self.path not in ("monitoring", "data collection"):
            raise ValueError(f"scope {self.scope!r} allows only the monitoring or data collection paths, "
                             f"got {self.path!r}")
        return self


class KnowledgeBase(BaseModel):
    """The validated knowledge base."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    references: list[Reference] = []
    rules: list[Rule]
    source: str = ""

    @model_validator(mode="after")
    def _check(self) -> "KnowledgeBase":
        for kind, items in (("rule", self.rules), ("reference", self.references)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"duplicate {kind} id {item.id!r}")
                seen.add(item.id)
        known = {r.id for r in self.references}
        for rule in self.rules:
            missing = [r for r in rule.references if r not in known]
            if missing:
                raise ValueError(f"rule {rule.id!r} cites unknown reference(s) {', '.join(missing)}")
        return self

    def reference(self, reference_id: str) -> Reference:
        """A reference by id."""
        for item in self.references:
            if item.id == reference_id:
                return item
        raise UnknownIdError(f"unknown reference {reference_id!r}")


_DEFAULT_KB: KnowledgeBase | None = None


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read and validate a knowledge base (default: the built-in ``knowledge.toml``).

    Parameters
    ----------
    path
        A TOML file with ``version``, ``[[references]]`` and ``[[rules]]``.

    Returns
    -------
    KnowledgeBase

    Raises
    ------
    DataError
        The file is missing, not TOML, or breaks the schema; the message names
        the file, the rule (by id and position) and the key.

    Examples
    --------
    >>> kb = load_knowledge_base()
    >>> "metropolitan-integration" in [rule.id for rule in kb.rules]
    True
    """
    global _DEFAULT_KB
    if path is None and _DEFAULT_KB is not None:
        return _DEFAULT_KB
    if path is None:
        source = _resources.files("shrinkwatch") / "resources" / "knowledge.toml"
        text, where = source.read_text(encoding="utf-8"), "knowledge base shrinkwatch/resources/knowledge.toml"
    else:
        file = Path(path)
        if not file.is_file():
            raise DataError(f"knowledge base {file}: no such file")
        text, where = file.read_text(encoding="utf-8"), f"knowledge base {file}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DataError(f"{where}: not valid TOML: {error}") from None
    try:
        kb = KnowledgeBase(**data, source=where)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            location = list(problem["loc"])
            if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
                rules = data.get("rules", [])
                rid = rules[location[1]].get("id", "?") if location[1] < len(rules) else "?"
                location[1] = f"{location[1]} (id {rid!r})"
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{'.'.join(str(x) for x in location) or '(top level)'}: {message}")
        raise DataError(f"{where}: {'; '.join(problems)}") from None
    if path is None:
        _DEFAULT_KB = kb
    return kb


# ---------------------------------------------------------------- matching

def profile_table(
    identification: Identification,
    typology: Typology | None = None,
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per unit with every column the knowledge base may test.

    Parameters
    ----------
    identification
        Verdicts (status, severity, annual_rate, pattern where the standard
        reports it).
    typology
        Adds ``types``, the type triggers, ``cluster_label`` and the features
        (share_65plus, urban_share...).
    extra
        More columns by ``unit_id`` (``tapio_state``, ``pattern``...); they
        replace columns of the same name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``.
    """
    table = identification.table.drop(columns=["geometry"], errors="ignore").copy()
    if typology is not None:
        add = typology.table.drop(columns=[c for c in typology.table.columns if c in table.columns])
        table = table.join(add, how="left")
    if extra is not None:
        table = table.drop(columns=[c for c in extra.columns if c in table.columns]).join(extra, how="left")
    return table


def _mask(table: pd.DataFrame, condition: Condition) -> pd.Series:
    if condition.field not in table.columns:
        return pd.Series(False, index=table.index)
    column = table[condition.field]
    kind = FIELDS[condition.field]["kind"]
    value = condition.value
    if kind == "number":
        numbers = pd.to_numeric(column, errors="coerce").astype(float)
        ops = {"<": numbers.lt, "<=": numbers.le, ">": numbers.gt, ">=": numbers.ge, "==": numbers.eq,
               "!=": numbers.ne}
        result = ops[condition.op](float(value))  # type: ignore[arg-type]
        return result & numbers.notna()
    text = column.astype("string")
    if kind == "set":
        members = text.fillna("").str.split(";").explode().str.strip()
        hit = (members == value).groupby(level=0, sort=False).any().reindex(table.index, fill_value=False)
        hit = hit.astype(bool)
        return hit if condition.op == "contains" else ~hit
    values = value if isinstance(value, list) else [value]
    present = text.notna() & (text != "")
    inside = text.isin([str(v) for v in values]).fillna(False).astype(bool)
    if condition.op in ("==", "in"):
        return inside & present
    return ~inside & present


def _shown(table: pd.DataFrame, condition: Condition) -> pd.Series:
    """``field=value`` for the triggered_by column, with a type's own trigger where known."""
    column = table[condition.field]
    spec = FIELDS[condition.field]
    if spec["kind"] == "number":
        fmt = spec.get("format", "{}")
        return condition.field + "=" + pd.to_numeric(column, errors="coerce").map(
            lambda v: fmt.format(v) if pd.notna(v) else "NA")
    if spec["kind"] == "set":
        name = str(condition.value)
        detail_column = f"trigger_{name.replace(' ', '_').replace('-', '_')}"
        label = f"type={name}" if condition.op == "contains" else f"type not {name}"
        if condition.op == "contains" and detail_column in table.columns:
            detail = table[detail_column].astype("string").fillna("")
            return pd.Series(label, index=table.index).where(detail == "", label + " (" + detail + ")")
        return pd.Series(label, index=table.index)
    return condition.field + "=" + column.astype("string").fillna("NA")


def recommend(
    profiles: pd.DataFrame,
    knowledge: KnowledgeBase | str | Path | None = None,
    *,
    lang: str = "en",
) -> pd.DataFrame:
    """Match every unit of a profile table against the knowledge base.

    Parameters
    ----------
    profiles
        Indexed by ``unit_id`` with at least ``status``; usually from
        :func:`profile_table`. Columns a rule tests but the table lacks make
        that condition false.
    knowledge
        A :class:`KnowledgeBase`, a path to a TOML file, or None for the
        built-in one.
    lang
        ``"en"`` or ``"zh"`` for ``title`` and ``text``.

    Returns
    -------
    pandas.DataFrame
        One row per unit and recommendation, in the table's unit order then by
        priority (high first) and rule order: ``unit_id``, ``name``,
        ``status``, ``recommendation_id``, ``path``, ``priority``, ``title``,
        ``text``, ``rationale``, ``references``, ``triggered_by`` (the values
        that met each condition, ``"; "``-separated).

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"status": ["shrinking"], "severity": ["severe"], "annual_rate": [-1.83],
    ...                       "types": ["old industrial base"]}, index=pd.Index(["u1"], name="unit_id"))
    >>> rows = recommend(units)
    >>> rows.set_index("recommendation_id").loc["right-size-land-and-districts", "triggered_by"]
    'severity=severe'
    """
    if lang not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {lang!r}")
    if "status" not in profiles.columns:
        raise DataError("recommend: the profile table needs a 'status' column")
    bad = sorted(set(profiles["status"].dropna().astype(str)) - set(STATUSES))
    if bad:
        raise DataError(f"recommend: unknown status value(s) {', '.join(bad)}; expected {', '.join(STATUSES)}")
    kb = knowledge if isinstance(knowledge, KnowledgeBase) else load_knowledge_base(knowledge)
    # a comparison across a boundary change has no verdict: it gets the data guidance, like missing data
    status = profiles["status"].astype("string").replace({"boundary_change": "insufficient_data"})
    names = profiles["name"].astype("string") if "name" in profiles.columns else pd.Series(pd.NA, index=profiles.index)
    position = pd.Series(np.arange(len(profiles)), index=profiles.index)
    blocks = []
    for order, rule in enumerate(kb.rules):
        mask = (status == rule.scope).fillna(False).astype(bool)
        for condition in rule.conditions:
            mask &= _mask(profiles, condition)
        if not mask.any():
            continue
        chosen = profiles.index[mask.to_numpy()]
        if rule.conditions:
            parts = [_shown(profiles.loc[chosen], c) for c in rule.conditions]
            triggered = parts[0]
            for part in parts[1:]:
                triggered = triggered + "; " + part
        else:
            triggered = pd.Series(f"status={rule.scope}", index=chosen)
        blocks.append(pd.DataFrame({
            "unit_id": chosen.astype(str),
            "name": names.loc[chosen].to_numpy(),
            "status": rule.scope,
            "recommendation_id": rule.id,
            "path": rule.path,
            "priority": rule.priority,
            "title": rule.title_zh if lang == "zh" else rule.title,
            "text": rule.text_zh if lang == "zh" else rule.text,
            "rationale": rule.rationale,
            "references": "; ".join(rule.references),
            "triggered_by": triggered.to_numpy(),
            "_unit_order": position.loc[chosen].to_numpy(),
            "_priority_order": PRIORITIES.index(rule.priority),
            "_rule_order": order,
        }))
    columns = ["unit_id", "name", "status", "recommendation_id", "path", "priority", "title", "text", "rationale",
               "references", "triggered_by"]
    if not blocks:
        return pd.DataFrame(columns=columns)
    out = pd.concat(blocks, ignore_index=True)
    out = out.sort_values(["_unit_order", "_priority_order", "_rule_order"], kind="mergesort")
    return out[columns].reset_index(drop=True)


# ---------------------------------------------------------------- one unit's profile

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
        The unit's rows of :func:`recommend`.
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


def analysis_columns(panel: Panel, identification: Identification,
                     paradox: ParadoxResult | None = None) -> pd.DataFrame | None:
    """``tapio_state`` per unit from :func:`shrinkwatch.analysis.paradox.expansion_paradox`, where built-up data exist.

    ``paradox`` is that result when the caller has it already (else it is computed).
    Returns None when the panel has no built-up data.
    """
    if paradox is None:
        paradox = expansion_paradox(identification, panel)
    table = paradox.table
    if not paradox.builtup_present or table is None or "tapio_state" not in table.columns:
        return None
    states = table[["tapio_state"]].copy()
    states["tapio_state"] = states["tapio_state"].astype("string").replace("", pd.NA)
    return states


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
        :func:`~shrinkwatch.analysis.typology.read_resource_table`).
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
    recs = recommend(profiles.loc[[unit_id]], knowledge, lang=lang)
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


# ---------------------------------------------------------------- the result for the report

@dataclass(frozen=True)
class RecommendationResult:
    """The recommendations for every unit, with the profile table they were matched on.

    Attributes
    ----------
    rows
        The output of :func:`recommend` (one row per unit and recommendation).
    profiles
        The profile table (:func:`profile_table`) the rows were matched on; its
        ``status`` column gives the denominators.
    lang
        The language of the titles and texts.
    """

    rows: pd.DataFrame = field(repr=False)
    profiles: pd.DataFrame = field(repr=False)
    lang: str = "en"

    @property
    def denominators(self) -> dict[str, int]:
        """Units per status (every status of :data:`shrinkwatch.core.STATUSES`)."""
        statuses = self.profiles["status"].astype(str).value_counts()
        return {s: int(statuses.get(s, 0)) for s in STATUSES}

    def by_recommendation(self) -> pd.DataFrame:
        """One row per recommendation and status: ``recommendation_id``, ``title``, ``path``, ``priority``,
        ``status``, ``units``, ``of`` (units with that status), ``share`` and ``examples`` (up to five names);
        by status, then priority (high first), then most units."""
        head = ["recommendation_id", "title", "path", "priority", "status", "units", "of", "share", "examples"]
        if not len(self.rows):
            return pd.DataFrame(columns=head)
        grouped = self.rows.groupby(["recommendation_id", "status"], sort=False)
        table = grouped.agg(
            title=("title", "first"), path=("path", "first"), priority=("priority", "first"),
            units=("unit_id", "nunique"),
            examples=("name", lambda names: ", ".join(str(n) for n in names.head(5))),
        ).reset_index()
        table["of"] = table["status"].map(self.denominators)
        table["share"] = table["units"] / table["of"].where(table["of"] > 0)
        table["_status_order"] = table["status"].map({s: i for i, s in enumerate(STATUSES)})
        table["_priority_order"] = table["priority"].map({p: i for i, p in enumerate(PRIORITIES)})
        table = table.sort_values(["_status_order", "_priority_order", "units"], ascending=[True, True, False],
                                  kind="mergesort")
        return table[head]

    def as_dict(self) -> dict[str, Any]:
        """``by_recommendation`` (units per recommendation id), ``by_path``, ``by_priority`` (rows),
        ``units_with_recommendations`` and ``denominators`` (units per status)."""
        rows = self.rows
        if not len(rows):
            return {"by_recommendation": {}, "by_path": {}, "by_priority": {}, "units_with_recommendations": 0,
                    "denominators": self.denominators}
        return {
            "by_recommendation": {str(r): int(n) for r, n in
                                  rows.groupby("recommendation_id", sort=False)["unit_id"].nunique().items()},
            "by_path": {str(p): int(n) for p, n in rows.groupby("path", sort=False)["unit_id"].nunique().items()},
            "by_priority": {str(p): int(n) for p, n in rows["priority"].value_counts().items()},
            "units_with_recommendations": int(rows["unit_id"].nunique()),
            "denominators": self.denominators,
        }


def recommendations_for(
    panel: Panel,
    identification: Identification,
    typology: Typology,
    *,
    paradox: ParadoxResult | None = None,
    knowledge: KnowledgeBase | str | Path | None = None,
    lang: str = "en",
) -> RecommendationResult:
    """Match every unit against the knowledge base, with its types and (where built-up data exist) Tapio state.

    Parameters
    ----------
    panel, identification
        The data and the verdicts.
    typology
        The :func:`~shrinkwatch.analysis.typology.classify` result.
    paradox
        The :func:`~shrinkwatch.analysis.paradox.expansion_paradox` result, if already computed.
    knowledge
        The knowledge base (default: built-in).
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    RecommendationResult
    """
    if lang not in ("en", "zh"):
        raise OptionError(f"lang: expected 'en' or 'zh', got {lang!r}")
    profiles = profile_table(identification, typology, analysis_columns(panel, identification, paradox))
    return RecommendationResult(rows=recommend(profiles, knowledge, lang=lang), profiles=profiles, lang=lang)
