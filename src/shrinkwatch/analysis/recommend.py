"""Recommendations: the rules of the knowledge base matched to the profiles of the units.

The knowledge base (:mod:`shrinkwatch.analysis.knowledge`) lists rules, each
with a scope, conditions on the columns of a profile table
(:func:`profile_table`) and a recommendation.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.analysis.knowledge import (
    FIELDS,
    PRIORITIES,
    Condition,
    KnowledgeBase,
    field_label,
    load_knowledge_base,
    value_label,
)
from shrinkwatch.analysis.paradox import ParadoxResult, expansion_paradox
from shrinkwatch.analysis.typology import Typology, row_messages
from shrinkwatch.core import STATUSES, Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message

__all__ = [
    "profile_table",
    "analysis_columns",
    "recommend",
    "RecommendationResult",
    "recommendations_for",
]


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


def _mask(table: pd.DataFrame, condition: Condition, members: dict[str, pd.Series] | None = None) -> pd.Series:
    """The rows of ``table`` that meet ``condition``; ``members`` keeps each set field's split members (one
    split per field for all the rules of a :func:`recommend` call)."""
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
        members = {} if members is None else members
        if condition.field not in members:
            members[condition.field] = text.fillna("").str.split(";").explode().str.strip()
        hit = (members[condition.field] == value).groupby(level=0, sort=False).any().reindex(table.index, fill_value=False)
        hit = hit.astype(bool)
        return hit if condition.op == "contains" else ~hit
    values = value if isinstance(value, list) else [value]
    present = text.notna() & (text != "")
    inside = text.isin([str(v) for v in values]).fillna(False).astype(bool)
    if condition.op in ("==", "in"):
        return inside & present
    return ~inside & present


def _shown(table: pd.DataFrame, condition: Condition, lang: str = "en") -> pd.Series:
    """``field=value`` for the triggered_by column in ``lang``, with a type's own trigger where known."""
    column = table[condition.field]
    spec = FIELDS[condition.field]
    field = field_label(condition.field, lang)
    if spec["kind"] == "number":
        key = {"{:.2f}%/yr": "rate", "{:.1f}%": "percent", "{:+.1f} pp": "points", "{:,.0f} km": "km"}.get(
            spec.get("format", ""), "number")
        numbers = pd.to_numeric(column, errors="coerce")
        known = numbers.notna().to_numpy()
        said = np.full(len(numbers), "NA", dtype=object)
        said[known] = row_messages(f"analysis.formats.{key}", lang, int(known.sum()), value=numbers[known])
        return field + "=" + pd.Series(said, index=table.index)
    if spec["kind"] == "set":
        name = str(condition.value)
        detail_column = f"trigger_{name.replace(' ', '_').replace('-', '_')}"
        shown = value_label("types", name, lang)
        label = (f"{field_label('type', lang)}={shown}" if condition.op == "contains"
                 else message("analysis.fields.type_not", lang, name=shown))
        if condition.op == "contains" and detail_column in table.columns:
            detail = table[detail_column].astype("string").fillna("")
            return pd.Series(label, index=table.index).where(detail == "", label + " (" + detail + ")")
        return pd.Series(label, index=table.index)
    values = column.astype("string")
    if lang != "en":
        words = {v: value_label(condition.field, v, lang) for v in values.dropna().unique()}
        values = values.map(words).astype("string")
    return field + "=" + values.fillna("NA")


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
        ``"en"`` or ``"zh"`` for ``title``, ``text``, ``rationale`` and ``triggered_by``.

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
    members: dict[str, pd.Series] = {}
    for order, rule in enumerate(kb.rules):
        mask = (status == rule.scope).fillna(False).astype(bool)
        for condition in rule.conditions:
            if not mask.any():  # no unit left for this rule: its other conditions cannot add one
                break
            mask &= _mask(profiles, condition, members)
        if not mask.any():
            continue
        chosen = profiles.index[mask.to_numpy()]
        if rule.conditions:
            parts = [_shown(profiles.loc[chosen], c, lang) for c in rule.conditions]
            triggered = parts[0]
            for part in parts[1:]:
                triggered = triggered + "; " + part
        else:
            triggered = pd.Series(f"{field_label('status', lang)}={value_label('status', rule.scope, lang)}",
                                  index=chosen)
        blocks.append(pd.DataFrame({
            "unit_id": chosen.astype(str),
            "name": names.loc[chosen].to_numpy(),
            "status": rule.scope,
            "recommendation_id": rule.id,
            "path": rule.path,
            "priority": rule.priority,
            "title": rule.title_for(lang),
            "text": rule.text_for(lang),
            "rationale": rule.rationale_for(lang),
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
