"""The standard file format: a named, versioned rule with typed parameters (validated TOML).

A standard file (``resources/standards/<id>.toml`` or a user's own) names a
``rule`` (a kernel of :mod:`shrinkwatch.identification.rules`), its ``[parameters]``
with types, defaults and bounds, the ``[criteria]`` reported per unit, the
indicators of a composite index and a default sensitivity grid. Reading a file
and checking it against its rule is :mod:`shrinkwatch.identification.catalogue`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import message

__all__ = ["Parameter", "Criterion", "IndicatorSpec", "Standard", "parse_settings"]


class Parameter(BaseModel):
    """One tunable parameter of a standard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["float", "int", "str", "bool"]
    default: float | int | str | bool
    description: str = ""
    description_zh: str = ""
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None

    def description_for(self, lang: str) -> str:
        """The description in ``lang`` (``"en"`` or ``"zh"``; the English one when a user's standard has no Chinese)."""
        return self.description_zh if lang == "zh" and self.description_zh else self.description

    def coerce(self, key: str, value: Any) -> float | int | str | bool:
        """Convert ``value`` (possibly text from the command line) and check bounds."""
        try:
            if self.type == "float":
                result: float | int | str | bool = float(value)
            elif self.type == "int":
                result = _exact_int(value)
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
        except (TypeError, ValueError, OverflowError):
            raise OptionError(f"parameter {key!r}: expected {self.type}, got {value!r}") from None
        if self.type in ("float", "int"):
            number = float(result)  # type: ignore[arg-type]
            if not np.isfinite(number):
                raise OptionError(f"parameter {key!r}: expected a finite number, got {value!r}")
            if self.min is not None and number < self.min:
                raise OptionError(f"parameter {key!r}: {value!r} is below the minimum {self.min}")
            if self.max is not None and number > self.max:
                raise OptionError(f"parameter {key!r}: {value!r} is above the maximum {self.max}")
        if self.choices is not None and str(result) not in self.choices:
            raise OptionError(f"parameter {key!r}: {value!r} is not one of {', '.join(self.choices)}")
        return result


def _exact_int(value: Any) -> int:
    """An integer from ``value`` without rounding: ``"2015"``, ``2015`` and ``2015.0`` are 2015; ``"2015.5"``,
    ``"1e20"`` read as a float that is not exact, and integers beyond 64 bits are refused (ValueError)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, np.integer)):
        number = int(value)
    else:
        text = str(value).strip()
        try:
            number = int(text)
        except ValueError:
            as_float = float(text)
            if not np.isfinite(as_float) or as_float != int(as_float) or abs(as_float) >= 2.0 ** 53:
                raise
            number = int(as_float)
    if abs(number) >= 2 ** 63:
        raise ValueError
    return number


class Criterion(BaseModel):
    """A criterion reported per unit as ``<name>_value`` and ``<name>_pass``; ``remedy`` says what to do when a
    panel lacks its data (shown where a report names it as not assessed, and by ``standards show``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    label_zh: str = ""
    remedy: str = ""
    remedy_zh: str = ""

    def label_for(self, lang: str) -> str:
        """The label in ``lang`` (``"en"`` or ``"zh"``; the English one when a user's standard has no Chinese)."""
        return self.label_zh if lang == "zh" and self.label_zh else self.label

    def remedy_for(self, lang: str) -> str:
        """What to do without the criterion's data, in ``lang``."""
        return self.remedy_zh if lang == "zh" and self.remedy_zh else self.remedy


class IndicatorSpec(BaseModel):
    """One indicator of a composite index (``[[indicators]]`` in the TOML).

    ``transform``: ``level`` (value in the evaluation year), ``change``
    (annual rate over the window), ``per_capita`` (sum over the window's
    years after its start, divided by the population at its start).
    ``orientation`` +1 when a higher value means more shrinkage, -1 otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    column: str
    transform: Literal["level", "change", "per_capita"] = "level"
    orientation: Literal[1, -1] = 1
    dimension: Literal["population", "economy", "space", "society"]
    weight: float | None = Field(default=None, ge=0)
    label: str = ""
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
    indicators: list[IndicatorSpec] = []
    #: Default sensitivity grid (parameter -> values) shown in every report.
    sensitivity: dict[str, list[float | int | str | bool]] = {}
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

    def name_for(self, lang: str) -> str:
        """The name in ``lang`` (``"en"`` or ``"zh"``; the English one when a user's standard has no Chinese)."""
        return self.name_zh if lang == "zh" and self.name_zh else self.name

    def summary_for(self, lang: str) -> str:
        """The rule in words in ``lang``."""
        return self.summary_zh if lang == "zh" and self.summary_zh else self.summary

    def describe(self, params: dict[str, Any] | None = None, lang: str = "en") -> str:
        """The standard in words, with the parameter values in force."""
        params = params if params is not None else self.defaults()
        settings = message("common.list_separator", lang).join(f"{k} = {v}" for k, v in params.items())
        if lang == "zh" and self.summary_zh:
            return f"{self.summary_zh} 参数：{settings}。"
        return f"{self.summary} Parameters: {settings}."


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
