"""The knowledge base of transformation paths: its schema (pydantic models) and its loader.

The knowledge base (``resources/knowledge.toml``, or a user's file) is data: a
list of rules, each with a *scope* (the status it applies to), *conditions*
on the columns of a profile table (severity, pattern, Tapio state, rule-based
types, annual rate, age structure...), a recommendation, a priority, a rationale
and references to international practice, each text in English (``title``) and Chinese
(``title_zh``): the English holds no Chinese characters and no Chinese text is empty.
``Rule.title_for(lang)``, ``text_for``, ``rationale_for``, ``Reference.title_for``/``note_for``,
:func:`path_label` and :func:`priority_label` give them in one language.
It is validated on load; an unknown key, an unknown field or an operator that
does not fit its field is an error naming the rule. The rules are matched to
units by :func:`shrinkwatch.analysis.recommend.recommend`.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources as _resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shrinkwatch.analysis.resource_cities import RESOURCE_TYPES
from shrinkwatch.analysis.typology import TYPE_NAMES
from shrinkwatch.core.errors import DataError, UnknownIdError
from shrinkwatch.core.messages import check_language, message
from shrinkwatch.identification.indicators import PATTERNS

__all__ = [
    "FIELDS",
    "OPERATORS",
    "PATHS",
    "PRIORITIES",
    "TAPIO_STATES",
    "Condition",
    "Reference",
    "Rule",
    "path_label",
    "priority_label",
    "field_label",
    "value_label",
    "KnowledgeBase",
    "load_knowledge_base",
]

#: The eight Tapio decoupling states (DOMAIN.md).
TAPIO_STATES = (
    "weak decoupling", "expansive coupling", "expansive negative decoupling", "strong decoupling",
    "strong negative decoupling", "recessive decoupling", "recessive coupling", "weak negative decoupling",
)

#: Fields a condition may test: kind ("category", "number" or "set"), allowed values, unit for display.
FIELDS: dict[str, dict[str, Any]] = {
    "severity": {"kind": "category", "choices": ("mild", "moderate", "severe", "none")},
    "pattern": {"kind": "category", "choices": PATTERNS},
    "tapio_state": {"kind": "category", "choices": TAPIO_STATES},
    "region": {"kind": "category"},
    "kind": {"kind": "category"},
    "country": {"kind": "category"},
    "resource_type": {"kind": "category", "choices": RESOURCE_TYPES},
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


def _key(word: str) -> str:
    return word.replace(" ", "_").replace("-", "_")


#: Fields whose values have words in the catalogue, and the catalogue table holding them.
_VALUE_TABLES = {"status": "analysis.status", "severity": "analysis.severity", "pattern": "analysis.patterns",
                 "tapio_state": "analysis.tapio", "types": "analysis.types", "region": "analysis.regions",
                 "country": "analysis.countries"}


def field_label(field: str, lang: str) -> str:
    """A profile column (``severity``, ``share_65plus``...) in words in ``lang``; an unknown column keeps its name.

    English keeps the column names (``severity=severe`` in ``triggered_by``), Chinese has words (``严重程度``).
    """
    try:
        return message(f"analysis.fields.{field}", lang)
    except KeyError:
        return field


def value_label(field: str, value: object, lang: str) -> str:
    """A category value of a profile column in words in ``lang`` (``pattern`` ``single period`` -> ``单一时期``);
    a value the catalogue does not know (a user's region name, a cluster label) is returned as it is."""
    table = _VALUE_TABLES.get(field)
    text = str(value)
    if table is None:
        return text
    try:
        return message(f"{table}.{_key(text)}", lang)
    except KeyError:
        return text


def path_label(path: str, lang: str) -> str:
    """A transformation path (one of :data:`PATHS`) in words in ``lang`` (catalogue ``analysis.paths``)."""
    return message(f"analysis.paths.{_key(path)}", lang) if path in PATHS else path


def priority_label(priority: str, lang: str) -> str:
    """A priority (one of :data:`PRIORITIES`) in words in ``lang`` (catalogue ``analysis.priorities``)."""
    return message(f"analysis.priorities.{priority}", lang) if priority in PRIORITIES else priority


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


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _bilingual(model: BaseModel, fields: tuple[str, ...]) -> None:
    """Each field has its Chinese twin ``<field>_zh``: the English one holds no Chinese (or Japanese) characters,
    the Chinese one is not empty."""
    for name in fields:
        english, chinese = getattr(model, name), getattr(model, f"{name}_zh")
        if _CJK.search(english):
            raise ValueError(f"{name}: the English text holds Chinese characters ({english!r}); "
                             f"put the Chinese in {name}_zh")
        if not chinese.strip():
            raise ValueError(f"{name}_zh: empty; every text needs its Chinese")


class Reference(BaseModel):
    """International or national practice cited as evidence, in English and Chinese."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    title_zh: str
    note: str
    note_zh: str
    url: str = ""

    @model_validator(mode="after")
    def _check(self) -> "Reference":
        _bilingual(self, ("title", "note"))
        return self

    def title_for(self, lang: str) -> str:
        """The title in ``lang`` (``"en"`` or ``"zh"``)."""
        return self.title_zh if check_language(lang, "lang") == "zh" else self.title

    def note_for(self, lang: str) -> str:
        """The note in ``lang``."""
        return self.note_zh if check_language(lang, "lang") == "zh" else self.note


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
    rationale_zh: str
    references: list[str] = []
    conditions: list[Condition] = []

    def title_for(self, lang: str) -> str:
        """The title in ``lang`` (``"en"`` or ``"zh"``)."""
        return self.title_zh if check_language(lang, "lang") == "zh" else self.title

    def text_for(self, lang: str) -> str:
        """The recommendation in ``lang``."""
        return self.text_zh if check_language(lang, "lang") == "zh" else self.text

    def rationale_for(self, lang: str) -> str:
        """Why it applies, in ``lang``."""
        return self.rationale_zh if check_language(lang, "lang") == "zh" else self.rationale

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        _bilingual(self, ("title", "text", "rationale"))
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
