"""Standards (TOML, validated) and the identification engine.

A :class:`Standard` names a *rule* (a vectorised function of a panel) and its
parameters. :func:`identify` resolves the parameters (defaults, then user
overrides), runs the rule over all units at once, and assembles an
:class:`~shrinkwatch.core.Identification` with one explained row per unit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import DataError, OptionError, UnknownIdError
from .core import Identification, Panel

__all__ = [
    "Parameter",
    "Criterion",
    "Standard",
    "RuleResult",
    "RULES",
    "rule",
    "list_standards",
    "load_standard",
    "parse_settings",
    "identify",
    "severity",
    "SEVERITY_BANDS",
]


class Parameter(BaseModel):
    """One tunable parameter of a standard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["float", "int", "str", "bool"]
    default: float | int | str | bool
    description: str = ""
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None

    def coerce(self, key: str, value: Any) -> float | int | str | bool:
        """Convert ``value`` (possibly text from the command line) and check bounds."""
        try:
            if self.type == "float":
                result: float | int | str | bool = float(value)
            elif self.type == "int":
                as_float = float(value)
                if as_float != int(as_float):
                    raise ValueError
                result = int(as_float)
            elif self.type == "bool":
                if isinstance(value, bool):
                    result = value
                elif str(value).lower() in ("true", "1", "yes"):
                    result = True
                elif str(value).lower() in ("false", "0", "no"):
                    result = False
                else:
                    raise ValueError
            else:
                result = str(value)
        except (TypeError, ValueError):
            raise OptionError(f"parameter {key!r}: expected {self.type}, got {value!r}") from None
        if self.type in ("float", "int"):
            number = float(result)  # type: ignore[arg-type]
            if np.isnan(number):
                raise OptionError(f"parameter {key!r}: expected a number, got NaN")
            if self.min is not None and number < self.min:
                raise OptionError(f"parameter {key!r}: {value!r} is below the minimum {self.min}")
            if self.max is not None and number > self.max:
                raise OptionError(f"parameter {key!r}: {value!r} is above the maximum {self.max}")
        if self.choices is not None and str(result) not in self.choices:
            raise OptionError(f"parameter {key!r}: {value!r} is not one of {', '.join(self.choices)}")
        return result


class Criterion(BaseModel):
    """A criterion reported per unit as ``<name>_value`` and ``<name>_pass``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    label_zh: str = ""


class Standard(BaseModel):
    """A named, versioned, parameterised rule set (read from TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    name_zh: str = ""
    version: str
    rule: str
    summary: str
    summary_zh: str = ""
    references: list[str] = []
    parameters: dict[str, Parameter] = {}
    criteria: dict[str, Criterion] = {}
    source: str = ""

    def defaults(self) -> dict[str, Any]:
        return {key: spec.default for key, spec in self.parameters.items()}

    def resolve(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``overrides``; an unknown key or bad value is an OptionError."""
        params = self.defaults()
        for key, value in (overrides or {}).items():
            if key not in self.parameters:
                raise OptionError(
                    f"unknown parameter {key!r} for standard {self.id!r}; "
                    f"valid parameters: {', '.join(sorted(self.parameters)) or '(none)'}"
                )
            params[key] = self.parameters[key].coerce(key, value)
        return params

    def describe(self, params: dict[str, Any] | None = None, lang: str = "en") -> str:
        """The standard in words, with the parameter values in force."""
        params = params if params is not None else self.defaults()
        summary = self.summary_zh if lang == "zh" and self.summary_zh else self.summary
        settings = ", ".join(f"{k} = {v}" for k, v in params.items())
        return f"{summary} Parameters: {settings}."


@dataclass
class RuleResult:
    """What a rule returns, arrays aligned to ``panel.units.index``.

    ``evaluable`` False means insufficient data; ``shrinking`` is only read
    where ``evaluable``. ``criteria`` maps a criterion name to ``(value, passed)``
    where ``passed`` is a float array (1.0 pass, 0.0 fail, NaN not evaluable).
    ``reason`` is one sentence per unit; ``facts`` are extra columns.
    """

    shrinking: np.ndarray
    evaluable: np.ndarray
    annual_rate: np.ndarray
    criteria: dict[str, tuple[np.ndarray, np.ndarray]]
    reason: np.ndarray
    facts: dict[str, np.ndarray] = field(default_factory=dict)


RuleFunction = Callable[[Panel, dict[str, Any], str], RuleResult]
RULES: dict[str, RuleFunction] = {}


def rule(name: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under ``name`` (the ``rule`` key of a standard)."""

    def decorate(function: RuleFunction) -> RuleFunction:
        RULES[name] = function
        return function

    return decorate


# ---------------------------------------------------------------- loading

def _builtin_files() -> dict[str, Path]:
    folder = resources.files("shrinkwatch") / "resources" / "standards"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def _read_standard(path: Path) -> Standard:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise OptionError(f"standard file {path}: not valid TOML: {error}") from None
    try:
        standard = Standard(**data, source=str(path))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in error.errors())
        raise OptionError(f"standard file {path}: {problems}") from None
    if standard.rule not in RULES:
        raise OptionError(
            f"standard file {path}: unknown rule {standard.rule!r}; known rules: {', '.join(sorted(RULES))}"
        )
    for key, spec in standard.parameters.items():
        spec.coerce(f"{standard.id}.{key}", spec.default)
    return standard


def list_standards() -> list[Standard]:
    """All built-in standards, sorted by id."""
    return [_read_standard(path) for _, path in sorted(_builtin_files().items())]


def load_standard(standard: str | Path | Standard) -> Standard:
    """A built-in standard by id, or a user's TOML file by path."""
    if isinstance(standard, Standard):
        return standard
    text = str(standard)
    builtin = _builtin_files()
    if text in builtin:
        return _read_standard(builtin[text])
    path = Path(text)
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise OptionError(f"standard file {path} does not exist")
        return _read_standard(path)
    raise UnknownIdError(
        f"unknown standard {text!r}; valid ids: {', '.join(sorted(builtin))} (or a path to a .toml file)"
    )


def parse_settings(items: list[str] | None) -> dict[str, str]:
    """``["key=value", ...]`` from ``--set`` into a dict; a malformed item names itself."""
    settings: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise OptionError(f"--set {item!r}: expected key=value (for example --set min_loss=0.05)")
        settings[key] = value.strip()
    return settings


# ---------------------------------------------------------------- shared helpers

#: ESPON ESCAPE bands of the annual rate (percent per year).
SEVERITY_BANDS = (("mild", 0.0, -0.5), ("moderate", -0.5, -1.0), ("severe", -1.0, -np.inf))


def severity(annual_rate_percent: np.ndarray) -> np.ndarray:
    """ESPON bands: mild 0 to -0.5 %/yr, moderate -0.5 to -1, severe below -1; else 'none'."""
    rate = np.asarray(annual_rate_percent, dtype=float)
    out = np.full(rate.shape, "none", dtype=object)
    out[np.isnan(rate)] = ""
    out[(rate < 0) & (rate >= -0.5)] = "mild"
    out[(rate < -0.5) & (rate >= -1.0)] = "moderate"
    out[rate < -1.0] = "severe"
    return out


def annual_rate(start: np.ndarray, end: np.ndarray, years: float | np.ndarray) -> np.ndarray:
    """Average annual change rate r = (P(b)/P(a))^(1/(b-a)) - 1, NaN where undefined."""
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((start > 0) & (end >= 0), end / start, np.nan)
        return np.power(ratio, 1.0 / np.asarray(years, dtype=float)) - 1.0


def _fmt_pop(values: np.ndarray, lang: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if lang == "zh":
        return np.array([f"{v / 1e4:,.1f}万" if np.isfinite(v) else "缺失" for v in values], dtype=object)
    return np.array([f"{v:,.0f}" if np.isfinite(v) else "missing" for v in values], dtype=object)


# ---------------------------------------------------------------- rules

@rule("census_decline")
def _census_decline(panel: Panel, params: dict[str, Any], lang: str) -> RuleResult:
    years = panel.observed_years
    t1 = int(params["start_year"]) or years[0]
    t2 = int(params["end_year"]) or years[-1]
    for label, year in (("start_year", t1), ("end_year", t2)):
        if year not in panel.years:
            raise OptionError(f"parameter {label!r}: year {year} is not in the panel (years: {panel.years})")
    if t2 <= t1:
        raise OptionError(f"parameters start_year={t1} and end_year={t2}: end_year must be after start_year")
    indicator = str(params["indicator"])
    matrix = panel.matrix(indicator, [t1, t2])
    before, after = matrix[:, 0], matrix[:, 1]
    min_loss = float(params["min_loss"])
    evaluable = np.isfinite(before) & np.isfinite(after) & (before > 0)
    change = np.where(evaluable, after / np.where(before > 0, before, np.nan) - 1.0, np.nan)
    shrinking = evaluable & (after < before * (1.0 - min_loss))
    rate = annual_rate(before, after, t2 - t1)
    passed = np.where(evaluable, shrinking.astype(float), np.nan)

    b, a = _fmt_pop(before, lang), _fmt_pop(after, lang)
    pct = np.round(change * 100, 2)
    ratep = np.round(rate * 100, 2)
    what = {"pop_resident": ("Resident population", "常住人口"), "pop_urban": ("Urban population", "城镇人口"),
            "pop_registered": ("Registered population", "户籍人口")}.get(indicator, (indicator, indicator))
    reasons = []
    for i in range(len(before)):
        if not evaluable[i]:
            missing = [str(y) for y, v in ((t1, before[i]), (t2, after[i])) if not np.isfinite(v) or v <= 0]
            reasons.append(
                f"{what[1]}缺少{'、'.join(missing)}年数据，无法判定" if lang == "zh"
                else f"Insufficient data: {what[0].lower()} not available for {' and '.join(missing)}."
            )
        elif lang == "zh":
            verb = "降至" if after[i] < before[i] else "增至" if after[i] > before[i] else "持平于"
            verdict = "判定为收缩" if shrinking[i] else "未达到收缩标准"
            reasons.append(f"{what[1]}由{t1}年的{b[i]}人{verb}{t2}年的{a[i]}人（{pct[i]:+.2f}%，年均{ratep[i]:+.2f}%），{verdict}。")
        else:
            verb = "fell" if after[i] < before[i] else "rose" if after[i] > before[i] else "was unchanged"
            threshold = f"the {min_loss:.1%} threshold"
            verdict = (f"a loss beyond {threshold}: shrinking" if shrinking[i]
                       else f"not a loss beyond {threshold}: not shrinking")
            reasons.append(f"{what[0]} {verb} from {b[i]} ({t1}) to {a[i]} ({t2}), {pct[i]:+.2f}% "
                           f"({ratep[i]:+.2f}%/yr); {verdict}.")
    return RuleResult(
        shrinking=shrinking,
        evaluable=evaluable,
        annual_rate=rate,
        criteria={"decline": (change, passed)},
        reason=np.array(reasons, dtype=object),
        facts={f"{indicator}_{t1}": before, f"{indicator}_{t2}": after, "start_year": np.full(len(before), t1),
               "end_year": np.full(len(before), t2)},
    )


# ---------------------------------------------------------------- engine

def identify(
    panel: Panel,
    standard: str | Path | Standard = "census-decline",
    settings: dict[str, Any] | None = None,
    *,
    lang: str | None = None,
) -> Identification:
    """Apply a standard to every unit of a panel.

    Parameters
    ----------
    panel
        The units and their values.
    standard
        A built-in id, a path to a TOML file, or a :class:`Standard`.
    settings
        Parameter overrides (``{"min_loss": 0.05}``); unknown keys are an error.
    lang
        ``"en"`` or ``"zh"`` for the reasons; default: the panel's language.

    Returns
    -------
    Identification
        One row per unit of ``panel.units``, in the same order.
    """
    std = load_standard(standard)
    params = std.resolve(settings)
    language = lang or panel.language
    if language not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {language!r}")
    result = RULES[std.rule](panel, params, language)

    units = panel.units
    table = pd.DataFrame(index=units.index)
    for column in ("name", "name_en", "parent_id", "parent_name", "kind", "region", "country"):
        table[column] = units[column].to_numpy() if column in units.columns else pd.NA
    evaluable = np.asarray(result.evaluable, dtype=bool)
    shrinking = evaluable & np.asarray(result.shrinking, dtype=bool)
    status = np.where(~evaluable, "insufficient_data", np.where(shrinking, "shrinking", "not_shrinking"))
    table["status"] = status
    table["shrinking"] = pd.array(np.where(evaluable, shrinking, False), dtype="boolean")
    table.loc[~evaluable, "shrinking"] = pd.NA
    rate_percent = np.round(np.asarray(result.annual_rate, dtype=float) * 100.0, 4)
    table["annual_rate"] = rate_percent
    table["severity"] = np.where(shrinking, severity(rate_percent), np.where(evaluable, "none", ""))
    for name, (value, passed) in result.criteria.items():
        table[f"{name}_value"] = np.asarray(value, dtype=float)
        passed = np.asarray(passed, dtype=float)
        table[f"{name}_pass"] = pd.array(np.where(np.isnan(passed), False, passed > 0), dtype="boolean")
        table.loc[np.isnan(passed), f"{name}_pass"] = pd.NA
    for name, value in result.facts.items():
        table[name] = value
    table["reason"] = result.reason
    if panel.units.index.has_duplicates:  # pragma: no cover - Panel forbids it
        raise DataError("duplicate unit ids")
    return Identification(
        table=table,
        standard_id=std.id,
        parameters=params,
        panel_meta=dict(panel.meta),
        criteria=tuple(result.criteria),
        description=std.describe(params, language),
    )
