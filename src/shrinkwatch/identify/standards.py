"""Standards (TOML, validated) and the identification engine.

A :class:`Standard` names a *rule* and its parameters. Each rule is a
:class:`Kernel`: it precomputes per-panel state once (matrices on a
calendar-complete year axis, decline flags, run lengths) and evaluates a
parameter setting over all units at once. :func:`identify` resolves the
parameters (defaults, then user overrides), evaluates, and assembles an
:class:`~shrinkwatch.core.Identification` with one explained row per unit;
:mod:`shrinkwatch.identify.sensitivity` reuses the same kernels for fast sweeps.

Verdicts are three-valued (:class:`~shrinkwatch.identify.indicators.Tri`): missing
inputs make a unit ``insufficient_data``, never ``not_shrinking``; a unit is
``not_shrinking`` only when the data prove the rule fails.

Reasons are built with vectorised string operations (one pass over all units
per phrase), never with a Python loop per unit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shrinkwatch.core.errors import DataError, OptionError, UnknownIdError
from shrinkwatch.core import Identification, Panel
from shrinkwatch.identify.indicators import (
    SEVERITY_BANDS,
    PeakLoss,
    Tri,
    YearGrid,
    annual_rate,
    benchmark_growth,
    classify,
    cumulative_count,
    decline_flags,
    decline_runs,
    elasticity,
    entropy_weights,
    normalise,
    panel_years,
    pattern_of,
    peak_loss,
    run_lengths,
    severity,
    tapio_state,
    tri_and,
    tri_or,
    window_growth,
    year_grid,
)

__all__ = [
    "Parameter",
    "Criterion",
    "IndicatorSpec",
    "Standard",
    "RuleResult",
    "Evaluation",
    "Kernel",
    "RULES",
    "KERNELS",
    "rule",
    "list_standards",
    "load_standard",
    "parse_settings",
    "identify",
    "comparison_window",
    "boundary_change_mask",
    "evaluation_year",
    "severity",
    "annual_rate",
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
        except (TypeError, ValueError, OverflowError):
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

    def describe(self, params: dict[str, Any] | None = None, lang: str = "en") -> str:
        """The standard in words, with the parameter values in force."""
        params = params if params is not None else self.defaults()
        settings = ", ".join(f"{k} = {v}" for k, v in params.items())
        if lang == "zh" and self.summary_zh:
            return f"{self.summary_zh} 参数：{settings}。"
        return f"{self.summary} Parameters: {settings}."


@dataclass
class RuleResult:
    """What a rule returns, arrays aligned to ``panel.units.index``.

    ``evaluable`` False means insufficient data; ``shrinking`` is only read
    where ``evaluable``. ``criteria`` maps a criterion name to ``(value, passed)``
    where ``passed`` is a float array (1.0 pass, 0.0 fail, NaN not evaluable).
    ``reason`` is one sentence per unit; ``facts`` are extra columns;
    ``pattern`` the pattern of change (see :mod:`shrinkwatch.identify.indicators`).
    """

    shrinking: np.ndarray
    evaluable: np.ndarray
    annual_rate: np.ndarray
    criteria: dict[str, tuple[np.ndarray, np.ndarray]]
    reason: np.ndarray
    facts: dict[str, np.ndarray] = field(default_factory=dict)
    pattern: np.ndarray | None = None


@dataclass
class Evaluation:
    """A kernel's full evaluation of one parameter setting (no reasons yet)."""

    verdict: Tri
    annual_rate: np.ndarray
    criteria: dict[str, tuple[np.ndarray, Tri]]
    facts: dict[str, np.ndarray]
    pattern: np.ndarray
    context: dict[str, Any] = field(default_factory=dict)


RuleFunction = Callable[[Panel, dict[str, Any], str], RuleResult]
RULES: dict[str, RuleFunction] = {}
KERNELS: dict[str, type["Kernel"]] = {}


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


_STANDARD_CACHE: dict[tuple[str, int, int], Standard] = {}


def _read_standard(path: Path) -> Standard:
    """Parse and validate a standard file; cached by path, size and modification time."""
    try:
        stat = path.stat()
    except OSError:
        raise OptionError(f"standard file {path} cannot be read") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _STANDARD_CACHE:
        _STANDARD_CACHE[key] = _parse_standard(path)
    return _STANDARD_CACHE[key]


def _parse_standard(path: Path) -> Standard:
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
    for key, values in standard.sensitivity.items():
        if key not in standard.parameters:
            raise OptionError(f"standard file {path}: [sensitivity] names unknown parameter {key!r}")
        for value in values:
            standard.parameters[key].coerce(f"{standard.id}.sensitivity.{key}", value)
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


# ---------------------------------------------------------------- vectorised text

_NAMES = {
    "pop_resident": ("resident population", "常住人口"),
    "pop_urban": ("urban population", "城镇人口"),
    "pop_registered": ("registered population", "户籍人口"),
    "gdp_real": ("real GDP", "实际GDP"),
    "builtup_km2": ("built-up area", "建成区面积"),
    "employment": ("employment", "就业人数"),
}


def _name(indicator: str, lang: str) -> str:
    en, zh = _NAMES.get(indicator, (indicator, indicator))
    return zh if lang == "zh" else en


_TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


class _Text:
    """A column of text held as Arrow; ``+``, ``where`` and padding run as Arrow kernels.

    This is how reasons are written for 100,000 units without a Python loop:
    every phrase is one vectorised operation over all units. Concatenation is
    lazy: a chain ``a + "," + b + ...`` is joined in a single kernel call.
    """

    __slots__ = ("_parts", "_array")

    def __init__(self, array: pa.Array | None = None, parts: tuple[Any, ...] = ()) -> None:
        self._array = array
        self._parts = parts if array is None else (array,)

    @property
    def array(self) -> pa.Array:
        if self._array is None:
            self._array = pc.binary_join_element_wise(*self._parts, "")
            self._parts = (self._array,)
        return self._array

    @staticmethod
    def _part(value: "_Text | str") -> Any:
        return value.array if isinstance(value, _Text) else value

    def __add__(self, other: "_Text | str") -> "_Text":
        tail = other._parts if isinstance(other, _Text) else (other,)
        return _Text(parts=self._parts + tail)

    def __radd__(self, other: "_Text | str") -> "_Text":
        return _Text(parts=(other,) + self._parts)

    def where(self, condition: np.ndarray, other: "_Text | str") -> "_Text":
        """This text where ``condition``, else ``other``."""
        condition = np.asarray(condition, dtype=bool)
        if condition.all():
            return self
        return _Text(pc.if_else(pa.array(condition), self.array, _Text._part(other)))

    def zfill(self, width: int) -> "_Text":
        return _Text(pc.utf8_lpad(self.array, width, "0"))

    def to_pandas(self) -> pd.api.extensions.ExtensionArray:
        return pd.array(self.array, dtype=_TEXT_DTYPE)

    def tolist(self) -> list[str]:
        return list(self.array.to_pylist())


def _str(values: np.ndarray | list[Any]) -> _Text:
    """Integers or strings as text (NaN and None become empty text)."""
    array = np.asarray(values)
    if array.dtype.kind in "iub":
        return _Text(pa.array(array.astype(np.int64)).cast(pa.string()))
    return _Text(pc.fill_null(pa.array(array, type=pa.string(), from_pandas=True), ""))


def _fixed(values: np.ndarray, decimals: int = 2, signed: bool = False, missing: str = "n/a") -> _Text:
    """Numbers as fixed-point text (``+1.25``), vectorised."""
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    scale = 10**decimals
    scaled = np.round(np.abs(np.where(finite, x, 0.0)) * scale).astype(np.int64)
    text = _str(scaled // scale)
    if decimals:
        text = text + "." + _str(scaled % scale).zfill(decimals)
    negative = (x < 0) & (scaled > 0)
    return (_choose(negative, "-", "+" if signed else "") + text).where(finite, missing)


def _grouped(values: np.ndarray, missing: str = "n/a") -> _Text:
    """Whole numbers with thousands separators (``1,234,567``), vectorised.

    Every number is written as zero-padded groups of three digits joined by
    commas, then the leading zeros and commas are trimmed.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    whole = np.round(np.abs(np.where(finite, x, 0.0))).astype(np.int64)
    n_groups = max(1, (len(str(int(whole.max()))) + 2) // 3) if len(whole) else 1
    groups = [pc.ascii_lpad(pa.array((whole // 1000**k) % 1000).cast(pa.string()), 3, "0")
              for k in range(n_groups - 1, -1, -1)]
    padded = pc.binary_join_element_wise(*groups, ",") if n_groups > 1 else groups[0]
    text = pc.if_else(pa.array(whole == 0), "0", pc.ascii_ltrim(padded, "0,"))
    return (_choose((x < 0) & (whole > 0), "-", "") + _Text(text)).where(finite, missing)


def _people(values: np.ndarray, lang: str) -> _Text:
    values = np.asarray(values, dtype=float)
    if lang == "zh":
        return (_fixed(values / 1e4, 1) + "万人").where(np.isfinite(values), "缺失")
    return _grouped(values, "missing")


def _halves(text: _Text, n: int) -> tuple[_Text, _Text]:
    """Split a text column formatted for two stacked arrays of length ``n`` (zero-copy slices)."""
    array = text.array
    return _Text(array.slice(0, n)), _Text(array.slice(n))


def _const(n: int, text: str) -> _Text:
    return _Text(pc.fill_null(pa.nulls(n, pa.string()), text))


def _choose(condition: np.ndarray, yes: str, no: str) -> _Text | str:
    """``yes`` where ``condition``, else ``no`` (a plain string when it is the same for every unit)."""
    condition = np.asarray(condition, dtype=bool)
    if condition.all():
        return yes
    if not condition.any():
        return no
    return _Text(pc.if_else(pa.array(condition), yes, no))


def _pick(conditions: list[np.ndarray], choices: list[_Text | str], default: _Text | str) -> _Text:
    """The first matching choice per unit (``np.select`` over text)."""
    result = default if isinstance(default, _Text) else _const(len(conditions[0]), default)
    for condition, choice in zip(reversed(conditions), reversed(choices)):
        result = _Text(pc.if_else(pa.array(np.asarray(condition, dtype=bool)), _Text._part(choice), result.array))
    return result


def _mark(tri: Tri, lang: str) -> _Text:
    words = ("met", "not met", "undecided") if lang == "en" else ("满足", "不满足", "无法判定")
    return _pick([tri.yes, tri.no], [words[0], words[1]], words[2])


def _verdict_sentence(verdict: Tri, phrases: list[_Text | str], lang: str, note: str = "") -> _Text:
    """``Verdict (note): phrase; phrase; phrase.`` for every unit at once."""
    if lang == "zh":
        head = _pick([verdict.yes, verdict.no], ["判定为收缩", "未达到收缩标准"], "数据不足，无法判定")
        body = phrases[0]
        for phrase in phrases[1:]:
            body = body + "；" + phrase
        return head + (f"（{note}）" if note else "") + "：" + body + "。"
    head = _pick([verdict.yes, verdict.no], ["Shrinking", "Not shrinking"], "Insufficient data")
    body = phrases[0]
    for phrase in phrases[1:]:
        body = body + "; " + phrase
    return head + (f" ({note})" if note else "") + ": " + body + "."


# ---------------------------------------------------------------- kernels

def evaluation_year(panel: Panel, year: int, key: str = "year") -> int:
    """The evaluation year: ``year``, or the latest observed (not projected) year when 0."""
    if int(year) == 0:
        observed = panel_years(panel, observed=True)
        if not observed:
            raise DataError(f"panel {panel.id!r} has no observed (non-projected) year")
        return int(observed[-1])
    years = panel_years(panel)
    if int(year) not in years:
        raise OptionError(f"parameter {key!r}: year {year} is not in the panel (years: {years})")
    return int(year)


class Kernel:
    """Per-panel precomputed state of one rule; evaluates parameter settings over all units.

    Subclasses implement :meth:`evaluate`; :meth:`verdict` is the fast path
    used by sensitivity sweeps (only the three-valued verdict). Matrices,
    decline flags and run lengths are computed once per indicator and
    threshold and cached.
    """

    def __init__(self, panel: Panel, standard: Standard | None = None) -> None:
        self.panel = panel
        self.standard = standard
        self.n = len(panel.units)
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._years = panel_years(panel)
        first_projected = panel.meta.projected_from
        self._observed = [y for y in self._years if first_projected is None or y < int(first_projected)]

    # -- cached building blocks
    def cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = make()
            return value

    def grid(self, indicator: str, required: bool = True) -> YearGrid | None:
        """The indicator's year grid; ``None`` if absent and not ``required``."""
        if indicator not in self.panel.values.columns:
            if required:
                populations = [c for c in self.panel.indicators if c.startswith("pop_")]
                hint = (f"; choose one with --set indicator={populations[0]}" if populations else "")
                raise DataError(
                    f"indicator {indicator!r} is not in panel {self.panel.id!r}; "
                    f"it has: {', '.join(self.panel.indicators)}{hint}"
                )
            return None
        grid: YearGrid = self.cached(("grid", indicator), lambda: year_grid(self.panel, indicator, self._years))
        return grid

    def flags(self, indicator: str, min_loss: float = 0.0) -> Tri:
        """Year-on-year decline flags of the indicator's grid."""

        def make() -> Tri:
            grid = self.grid(indicator)
            assert grid is not None
            return decline_flags(grid.values, min_loss)

        result: Tri = self.cached(("flags", indicator, float(min_loss)), make)
        return result

    def declines(self, indicator: str, min_loss: float = 0.0) -> tuple[Tri, np.ndarray, np.ndarray]:
        """Decline flags, run lengths ending at each column, cumulative count of known rises."""

        def make() -> tuple[Tri, np.ndarray, np.ndarray]:
            flags = self.flags(indicator, min_loss)
            return flags, run_lengths(flags.yes), cumulative_count(flags.no)

        result: tuple[Tri, np.ndarray, np.ndarray] = self.cached(("declines", indicator, float(min_loss)), make)
        return result

    def consecutive(self, indicator: str, column: int, n: int, min_loss: float = 0.0) -> Tri:
        """Declines in each of the ``n`` years ending at ``column`` (a known rise in them is a no)."""
        _, runs, no_count = self.declines(indicator, min_loss)
        return Tri(runs[:, column] >= n, no_count[:, column + 1] - no_count[:, max(column - n + 1, 0)] > 0)

    def column(self, grid: YearGrid, year: int, key: str = "year") -> tuple[int, int]:
        """(evaluation year, its column): ``year``, or the latest observed year when 0."""
        year = int(year)
        if year == 0:
            if not self._observed:
                raise DataError(f"panel {self.panel.id!r} has no observed (non-projected) year")
            year = self._observed[-1]
        elif year not in self._years:
            raise OptionError(f"parameter {key!r}: year {year} is not in the panel (years: {self._years})")
        return year, grid.column(year, key)

    def pattern(self, indicator: str, column: int) -> np.ndarray:
        def make() -> np.ndarray:
            grid = self.grid(indicator)
            assert grid is not None
            if grid.in_panel[: column + 1].all():  # annual: the periods are the grid's, flags are cached
                flags = self.flags(indicator)
                return pattern_of(grid.values[:, : column + 1],
                                  Tri(flags.yes[:, : column + 1], flags.no[:, : column + 1]))
            keep = grid.in_panel.copy()
            keep[column + 1 :] = False
            return pattern_of(grid.values[:, keep])

        result: np.ndarray = self.cached(("pattern", indicator, column), make)
        return result

    @staticmethod
    def rate_start(grid: YearGrid, start: int, end: int) -> int:
        """``start``, or if it is not a panel year the latest panel year before it (else the
        first one after it, before ``end``), so that census panels get a rate."""
        if grid.in_panel[start]:
            return start
        before = np.flatnonzero(grid.in_panel[:start])
        after = np.flatnonzero(grid.in_panel[start:end]) + start
        return int(before[-1]) if len(before) else int(after[0]) if len(after) else end

    def rate(self, grid: YearGrid, start: int, end: int) -> np.ndarray:
        """Annual rate from ``start`` (see :meth:`rate_start`) to ``end``."""
        start = self.rate_start(grid, start, end)
        if start >= end:
            return np.full(self.n, np.nan)
        return annual_rate(grid.values[:, start], grid.values[:, end], int(grid.years[end] - grid.years[start]))

    # -- the rule
    def evaluate(self, params: dict[str, Any]) -> Evaluation:  # pragma: no cover - abstract
        raise NotImplementedError

    def verdict(self, params: dict[str, Any]) -> Tri:
        """Only the verdict (sensitivity sweeps); default: the full evaluation's."""
        return self.evaluate(params).verdict

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:  # pragma: no cover
        raise NotImplementedError


def _kernel_rule(name: str) -> Callable[[type[Kernel]], type[Kernel]]:
    """Register a kernel class and the matching rule function."""

    def decorate(kernel_class: type[Kernel]) -> type[Kernel]:
        KERNELS[name] = kernel_class

        def run(panel: Panel, params: dict[str, Any], lang: str, standard: Standard | None = None) -> RuleResult:
            kernel = kernel_class(panel, standard)
            evaluation = kernel.evaluate(params)
            return RuleResult(
                shrinking=evaluation.verdict.yes,
                evaluable=evaluation.verdict.known,
                annual_rate=evaluation.annual_rate,
                criteria={k: (value, tri.as_float()) for k, (value, tri) in evaluation.criteria.items()},
                reason=kernel.reasons(evaluation, params, lang).to_pandas(),
                facts=evaluation.facts,
                pattern=evaluation.pattern,
            )

        run.__name__ = f"_{name}"
        run.__doc__ = kernel_class.__doc__
        RULES[name] = run  # type: ignore[assignment]
        return kernel_class

    return decorate


# ---------------------------------------------------------------- census-decline

@_kernel_rule("census_decline")
class CensusDecline(Kernel):
    """P(t2) < P(t1) * (1 - min_loss) between two (census) years."""

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        indicator = str(params["indicator"])
        grid = self.grid(indicator)
        assert grid is not None
        t2 = int(params["end_year"]) or int(self._observed[-1])
        t1 = int(params["start_year"]) or default_start_year(self.panel, t2)
        c1, c2 = grid.column(t1, "start_year"), grid.column(t2, "end_year")
        if t2 <= t1:
            raise OptionError(f"parameters start_year={t1} and end_year={t2}: end_year must be after start_year")
        before, after = grid.values[:, c1], grid.values[:, c2]
        evaluable = np.isfinite(before) & np.isfinite(after) & (before > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(evaluable, after / np.where(before > 0, before, 1.0) - 1.0, np.nan)
        verdict = Tri.of(after < before * (1.0 - float(params["min_loss"])), evaluable)
        return Evaluation(
            verdict=verdict,
            annual_rate=annual_rate(before, after, t2 - t1),
            criteria={"decline": (change, verdict)},
            facts={f"{indicator}_{t1}": before, f"{indicator}_{t2}": after,
                   "start_year": np.full(self.n, t1), "end_year": np.full(self.n, t2)},
            pattern=self.pattern(indicator, c2),
            context={"t1": t1, "t2": t2, "before": before, "after": after, "change": change},
        )

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        t1, t2, before, after = ctx["t1"], ctx["t2"], ctx["before"], ctx["after"]
        indicator, min_loss = str(params["indicator"]), float(params["min_loss"])
        what = _name(indicator, lang)
        # one formatting pass over both columns (Arrow call overhead dominates at county scale)
        b, a = _halves(_people(np.concatenate([before, after]), lang), len(before))
        pct, rate = _halves(_fixed(np.concatenate([ctx["change"], evaluation.annual_rate]) * 100, 2, signed=True),
                            len(before))
        missing_1 = ~(np.isfinite(before) & (before > 0))
        missing_2 = ~np.isfinite(after)
        shrinking, known = evaluation.verdict.yes, evaluation.verdict.known
        if lang == "zh":
            missing = _pick([missing_1 & missing_2, missing_1], [f"{t1}、{t2}", str(t1)], str(t2))
            verb = _pick([after < before, after > before], ["降至", "增至"], "持平于")
            verdict = _pick([shrinking], ["判定为收缩"], "未达到收缩标准")
            text = (f"{what}由{t1}年的" + b + verb + f"{t2}年的" + a + "（" + pct + "%，年均" + rate + "%），"
                    + verdict + "。")
            insufficient = f"{what}缺少" + missing + "年数据，无法判定。"
        else:
            missing = _pick([missing_1 & missing_2, missing_1], [f"{t1} and {t2}", str(t1)], str(t2))
            verb = _pick([after < before, after > before], ["fell", "rose"], "was unchanged")
            threshold = f"the {min_loss:.1%} threshold"
            verdict = _pick([shrinking], [f"a loss beyond {threshold}: shrinking"],
                            f"not a loss beyond {threshold}: not shrinking")
            text = (f"{what.capitalize()} " + verb + " from " + b + f" ({t1}) to " + a + f" ({t2}), " + pct
                    + "% (" + rate + "%/yr); " + verdict + ".")
            insufficient = f"Insufficient data: {what} not available for " + missing + "."
        return text.where(known, insufficient)


# ---------------------------------------------------------------- consecutive-decline

@_kernel_rule("consecutive_decline")
class ConsecutiveDecline(Kernel):
    """Shrinking in year t if P fell in each of the n years ending at t."""

    def verdict(self, params: dict[str, Any]) -> Tri:
        indicator = str(params["indicator"])
        grid = self.grid(indicator)
        assert grid is not None
        _, column = self.column(grid, int(params["year"]))
        return self.consecutive(indicator, column, int(params["n"]), float(params["min_annual_loss"]))

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        indicator = str(params["indicator"])
        grid = self.grid(indicator)
        assert grid is not None
        year, column = self.column(grid, int(params["year"]))
        n = int(params["n"])
        flags, runs, _ = self.declines(indicator, float(params["min_annual_loss"]))
        verdict = self.verdict(params)
        summary = decline_runs(flags, grid.years, column, runs)
        longest, longest_end = summary.longest, summary.longest_end
        latest = summary.latest.astype(float)
        start = max(column - n, 0)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"decline_run": (latest, verdict)},
            facts={"evaluation_year": np.full(self.n, year), "latest_run": runs[:, column],
                   "longest_run": longest, "longest_run_end": longest_end},
            pattern=self.pattern(indicator, column),
            context={"year": year, "first": int(grid.years[max(column - n + 1, 0)]), "longest": longest,
                     "longest_end": longest_end, "latest": runs[:, column]},
        )

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        year, first, n = ctx["year"], ctx["first"], int(params["n"])
        what = _name(str(params["indicator"]), lang)
        latest, longest = _str(ctx["latest"]), _str(ctx["longest"])
        end = _fixed(ctx["longest_end"], 0, missing="-")
        rate = _fixed(evaluation.annual_rate * 100, 2, signed=True)
        verdict = evaluation.verdict
        if lang == "zh":
            detail = "（当前连续下降" + latest + "年，最长" + longest + "年，止于" + end + "年；年均" + rate + "%）"
            known = (f"{what}在截至{year}年的{n}年中" + _choose(verdict.yes, "逐年下降", "并非逐年下降") + detail
                     + _choose(verdict.yes, "，判定为收缩。", "，未达到收缩标准。"))
            unknown = f"{what}缺少{first - 1}–{year}年中部分年份的数据，无法判定是否连续{n}年下降（已知连续下降" + latest + "年）。"
        else:
            detail = (" (latest run of declines " + latest + " yr, longest " + longest + " yr ending " + end
                      + "; " + rate + "%/yr over the window)")
            known = (what.capitalize() + _choose(verdict.yes, " fell", " did not fall")
                     + f" in each of the {n} years to {year}" + detail
                     + _choose(verdict.yes, ": shrinking.", ": not shrinking."))
            unknown = (f"Insufficient data: {what} is missing for some of the years {first - 1}-{year} needed to "
                       f"count {n} consecutive declines (known run: " + latest + " yr).")
        return known.where(verdict.known, unknown)


# ---------------------------------------------------------------- peak-loss

@_kernel_rule("peak_loss")
class PeakLossRule(Kernel):
    """P(t) <= ratio * max P over the last W years, OR k consecutive declines within the last w years."""

    def _peak(self, indicator: str, column: int, window: int) -> PeakLoss:
        grid = self.grid(indicator)
        assert grid is not None
        result: PeakLoss = self.cached(("peak", indicator, column, window), lambda: peak_loss(grid, column, window))
        return result

    def _recent(self, indicator: str, column: int, k: int, window: int) -> tuple[Tri, np.ndarray]:
        if k > window:
            raise OptionError(f"parameter 'decline_years': {k} consecutive declines cannot fit in "
                              f"decline_window = {window} years")

        def make() -> tuple[Tri, np.ndarray]:
            _, runs, no_count = self.declines(indicator)
            ends = np.arange(column - (window - k), column + 1)
            ends = ends[ends >= 0]
            longest = runs[:, ends].max(axis=1) if len(ends) else np.zeros(self.n, dtype=np.int32)
            # runs counted only inside the window: cap at the years since the window opened
            capped = np.minimum(runs[:, ends], (ends - (column - window + 1) + 1)[None, :]).max(axis=1) if len(
                ends) else longest
            yes = longest >= k
            starts = np.maximum(ends - k + 1, 0)
            blocked = no_count[:, ends + 1] - no_count[:, starts] > 0
            no = blocked.all(axis=1) & ~yes
            return Tri(yes, no), capped.astype(float)

        result: tuple[Tri, np.ndarray] = self.cached(("recent", indicator, column, k, window), make)
        return result

    def verdict(self, params: dict[str, Any]) -> Tri:
        return self._parts(params)[0]

    def _parts(self, params: dict[str, Any]) -> tuple[Tri, Tri, Tri, np.ndarray, np.ndarray, int, int]:
        indicator = str(params["indicator"])
        grid = self.grid(indicator)
        assert grid is not None
        year, column = self.column(grid, int(params["year"]))
        loss = self._peak(indicator, column, int(params["peak_window"]))
        ratio = loss.ratio
        over = ratio <= float(params["peak_ratio"])
        peak = Tri(over, ~over & loss.complete & np.isfinite(ratio))
        recent, run_in_window = self._recent(indicator, column, int(params["decline_years"]),
                                             int(params["decline_window"]))
        return tri_or(peak, recent), peak, recent, ratio, run_in_window, year, column

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        indicator = str(params["indicator"])
        verdict, peak, recent, ratio, run_in_window, year, column = self._parts(params)
        grid = self.grid(indicator)
        assert grid is not None
        loss = self._peak(indicator, column, int(params["peak_window"]))
        peak_value, peak_year = loss.peak, loss.peak_year
        start = max(column - int(params["decline_window"]), 0)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"peak_loss": (ratio, peak), "recent_declines": (run_in_window, recent)},
            facts={"evaluation_year": np.full(self.n, year), "peak": peak_value, "peak_year": peak_year},
            pattern=self.pattern(indicator, column),
            context={"year": year, "peak_year": peak_year},
        )

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        year = ctx["year"]
        ratio, peak = evaluation.criteria["peak_loss"]
        run, recent = evaluation.criteria["recent_declines"]
        what = _name(str(params["indicator"]), lang)
        share, when = _fixed(ratio * 100, 1), _fixed(ctx["peak_year"], 0, missing="-")
        thr = f"{float(params['peak_ratio']) * 100:.0f}"
        k, w, big_w = int(params["decline_years"]), int(params["decline_window"]), int(params["peak_window"])
        runs = _fixed(run, 0)
        if lang == "zh":
            first = (f"{year}年{what}为近{big_w}年峰值（" + when + "年）的" + share + f"%（阈值≤{thr}%，" + _mark(peak, lang) + "）")
            second = (f"近{w}年最长连续下降" + runs + f"年（需{k}年，" + _mark(recent, lang) + "）")
            return _verdict_sentence(evaluation.verdict, [first, second], lang, "任一条件")
        first = (f"{what} in {year} at " + share + f"% of its {big_w}-year peak (" + when + f"; threshold <= {thr}%: "
                 + _mark(peak, lang) + ")")
        second = f"longest run of declines in the last {w} years " + runs + f" yr ({k} needed: " + _mark(recent, lang) + ")"
        return _verdict_sentence(evaluation.verdict, [first, second], lang, "either criterion")


# ---------------------------------------------------------------- cn-2025

@_kernel_rule("cn_2025")
class China2025(Kernel):
    """The seed article's three criteria over the n years ending at the evaluation year."""

    def _benchmark(self, grid: YearGrid, start: int, end: int, setting: str, indicator: str) -> tuple[float, str]:
        """Benchmark annual growth rate over the window and where it came from."""
        start = self.rate_start(grid, start, end)
        span = int(grid.years[end] - grid.years[start])
        if span <= 0:
            return float("nan"), "missing"
        national = self.panel.meta.benchmark.get(indicator)
        if setting in ("auto", "national"):
            if national is not None:
                try:
                    growth = benchmark_growth(grid, start, end, national)
                except DataError as error:
                    raise OptionError(f"parameter 'gdp_benchmark': national series: {error}") from None
                return float((1 + growth) ** (1 / span) - 1), "national"
            if setting == "national":
                raise OptionError(f"parameter 'gdp_benchmark': panel {self.panel.id!r} has no national "
                                  f"{indicator} series; use 'aggregate' or a rate in %/yr")
        if setting in ("auto", "aggregate"):
            growth = benchmark_growth(grid, start, end)
            return float((1 + growth) ** (1 / span) - 1) if np.isfinite(growth) else float("nan"), "aggregate"
        try:
            return float(setting) / 100.0, "given"
        except ValueError:
            raise OptionError(f"parameter 'gdp_benchmark': expected auto, national, aggregate or a growth "
                              f"rate in %/yr, got {setting!r}") from None

    def _growth_rates(self, growth: YearGrid, first: int, last: int, setting: str) -> tuple[np.ndarray, float, str]:
        """Annual real growth over (first, last] compounded from yearly rates in %, and its benchmark.

        A year without a rate leaves the unit undecided. Without a given rate
        or a national series, the benchmark is the aggregate of the units:
        weighted by nominal GDP (``gdp``) at ``first`` where the panel has it,
        else the plain mean of the units' compounded growth.
        """
        span = last - first
        inside = (growth.years > first) & (growth.years <= last)
        if span <= 0 or int(inside.sum()) != span:
            return np.full(self.n, np.nan), float("nan"), "missing"
        factor = np.prod(1.0 + growth.values[:, inside] / 100.0, axis=1)
        rate = factor ** (1.0 / span) - 1.0
        national = self.panel.meta.benchmark.get("gdp_real_growth")
        if setting not in ("auto", "national", "aggregate"):
            try:
                return rate, float(setting) / 100.0, "given"
            except ValueError:
                raise OptionError(f"parameter 'gdp_benchmark': expected auto, national, aggregate or a growth "
                                  f"rate in %/yr, got {setting!r}") from None
        if setting in ("auto", "national") and national is not None:
            series = pd.Series(national, dtype=float)
            years = [y for y in range(first + 1, last + 1)]
            if not set(years) <= set(int(y) for y in series.index):
                raise OptionError(f"parameter 'gdp_benchmark': the national growth series lacks years of {years}")
            compounded = float(np.prod([1.0 + series[y] / 100.0 for y in years]))
            return rate, compounded ** (1.0 / span) - 1.0, "national"
        if setting == "national":
            raise OptionError(f"parameter 'gdp_benchmark': panel {self.panel.id!r} has no national "
                              "gdp_real_growth series; use 'aggregate' or a rate in %/yr")
        known = np.isfinite(factor)
        weights_grid = self.grid("gdp", required=False)
        weights = np.ones(self.n)
        source = "aggregate (mean of the units' real growth)"
        if weights_grid is not None and first in weights_grid.years.tolist():
            level = weights_grid.values[:, int(first - weights_grid.years[0])]
            if np.isfinite(level[known]).all():
                weights, source = level, "aggregate (weighted by nominal GDP)"
        if not known.any():
            return rate, float("nan"), "missing"
        bench_factor = float(np.average(factor[known], weights=weights[known]))
        return rate, bench_factor ** (1.0 / span) - 1.0, source

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        indicator = str(params["indicator"])
        population = self.grid(indicator)
        assert population is not None
        year, column = self.column(population, int(params["year"]))
        n = int(params["n"])
        start = column - n
        if start < 0:
            raise OptionError(f"parameter 'n': a {n}-year window ending {year} starts before the panel's first "
                              f"year {int(population.years[0])}")
        # (a) population fell in each of the n years
        _, runs, _ = self.declines(indicator)
        decline = self.consecutive(indicator, column, n)
        # (b) real GDP annual growth below the benchmark
        gdp_grid = self.grid(str(params["gdp_indicator"]), required=False)
        growth_grid = self.grid("gdp_real_growth", required=False) if gdp_grid is None else None
        if gdp_grid is not None:
            gdp_rate = self.rate(gdp_grid, start, column)
            bench, bench_source = self._benchmark(gdp_grid, start, column, str(params["gdp_benchmark"]),
                                                  str(params["gdp_indicator"]))
            gdp = Tri.of(gdp_rate < bench, np.isfinite(gdp_rate) & np.isfinite(bench))
        elif growth_grid is not None:
            # yearbooks publish real growth (GDP增长率, %) rather than a real GDP series: compound it
            gdp_rate, bench, bench_source = self._growth_rates(growth_grid, int(population.years[start]), year,
                                                               str(params["gdp_benchmark"]))
            gdp = Tri.of(gdp_rate < bench, np.isfinite(gdp_rate) & np.isfinite(bench))
        else:
            gdp_rate, bench, bench_source = np.full(self.n, np.nan), float("nan"), "missing"
            gdp = Tri.unknown(self.n)
        # (c) land-population mismatch
        pop_change = window_growth(population, start, column)
        land_grid = self.grid(str(params["land_indicator"]), required=False)
        land_change = window_growth(land_grid, start, column) if land_grid is not None else np.full(self.n, np.nan)
        e = elasticity(land_change, pop_change)
        known = np.isfinite(pop_change) & np.isfinite(land_change)
        paradox = (land_change > 0) & (pop_change < 0)
        outpacing = (pop_change > 0) & (e > float(params["elasticity_threshold"]))
        land = Tri.of(paradox | outpacing, known)
        combine = str(params["combine"])
        verdict = tri_and(decline, gdp, land) if combine == "all" else tri_and(decline, tri_or(gdp, land))
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(population, start, column),
            criteria={"population": (runs[:, column].astype(float), decline), "gdp": (gdp_rate, gdp),
                      "land": (e, land)},
            facts={"evaluation_year": np.full(self.n, year), "window_start": np.full(self.n, int(population.years[start])),
                   "gdp_benchmark_rate": np.full(self.n, bench), "population_change": pop_change,
                   "land_change": land_change, "tapio_state": tapio_state(pop_change, land_change)},
            pattern=self.pattern(indicator, column),
            context={"year": year, "start_year": int(population.years[start]), "bench": bench,
                     "bench_source": bench_source, "pop_change": pop_change, "land_change": land_change,
                     "gdp_present": gdp_grid is not None or growth_grid is not None,
                     "land_present": land_grid is not None},
        )

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        n, year, start = int(params["n"]), ctx["year"], ctx["start_year"]
        run, decline = evaluation.criteria["population"]
        gdp_rate, gdp = evaluation.criteria["gdp"]
        e, land = evaluation.criteria["land"]
        pop_name = _name(str(params["indicator"]), lang)
        gdp_col, land_col = str(params["gdp_indicator"]), str(params["land_indicator"])
        bench = f"{ctx['bench'] * 100:+.2f}" if np.isfinite(ctx["bench"]) else "n/a"
        source = ctx["bench_source"]
        dp = _fixed(ctx["pop_change"] * 100, 1, signed=True)
        dl = _fixed(ctx["land_change"] * 100, 1, signed=True)
        state = _str(tapio_state(ctx["pop_change"], ctx["land_change"]))
        if lang == "zh":
            rule_note = "三项均需满足" if params["combine"] == "all" else "人口条件加任一其他条件"
            a = f"{pop_name}截至{year}年连续下降" + _fixed(run, 0) + f"年（需{n}年，" + _mark(decline, lang) + "）"
            b = (f"{start}–{year}年实际GDP年均增长" + _fixed(gdp_rate * 100, 2, signed=True)
                 + f"%，基准{bench}%（" + _mark(gdp, lang) + "）") if ctx["gdp_present"] else \
                f"数据集无{gdp_col}或gdp_real_growth（" + _mark(gdp, lang) + "）"
            c = ("建成区变化" + dl + "%、人口变化" + dp + "%，弹性" + _fixed(e, 2) + "（" + _mark(land, lang) + "）") \
                if ctx["land_present"] else f"数据集无{land_col}（" + _mark(land, lang) + "）"
            return _verdict_sentence(evaluation.verdict, [a, b, c], lang, rule_note)
        rule_note = "all three criteria" if params["combine"] == "all" else "population plus any other criterion"
        a = f"{pop_name} declined " + _fixed(run, 0) + f" consecutive yr to {year} ({n} needed: " + _mark(decline, lang) + ")"
        b = (f"real GDP {start}-{year} " + _fixed(gdp_rate * 100, 2, signed=True) + f"%/yr vs {source} benchmark "
             f"{bench}%/yr (" + _mark(gdp, lang) + ")") if ctx["gdp_present"] else \
            f"no {gdp_col} or gdp_real_growth in the dataset (" + _mark(gdp, lang) + ")"
        c = ("built-up area " + dl + "% vs population " + dp + "%, elasticity " + _fixed(e, 2) + ", " + state
             + " (" + _mark(land, lang) + ")") if ctx["land_present"] else \
            f"no {land_col} in the dataset (" + _mark(land, lang) + ")"
        return _verdict_sentence(evaluation.verdict, [a, b, c], lang, rule_note)


# ---------------------------------------------------------------- scirn

@_kernel_rule("scirn")
class Scirn(Kernel):
    """Population >= min_population and loss over more than two years (+ employment decline)."""

    def _window(self, params: dict[str, Any]) -> tuple[YearGrid, int, int, int]:
        indicator = str(params["indicator"])
        grid = self.grid(indicator)
        assert grid is not None
        year, column = self.column(grid, int(params["year"]))
        start = grid.start_column(year - int(params["window"]))
        while start < column and not grid.in_panel[start]:
            start += 1
        if start >= column:
            raise OptionError(f"parameter 'window': no panel year in the {int(params['window'])} years before {year}")
        return grid, year, column, start

    def _loss(self, indicator: str, start: int, column: int, k: int) -> tuple[np.ndarray, np.ndarray, Tri]:
        def make() -> tuple[np.ndarray, np.ndarray, Tri]:
            grid = self.grid(indicator)
            assert grid is not None
            keep = np.flatnonzero(grid.in_panel[start : column + 1]) + start
            values = grid.values[:, keep]
            lengths = np.diff(grid.years[keep]).astype(float)
            before, after = values[:, :-1], values[:, 1:]
            known = np.isfinite(before) & np.isfinite(after)
            falling = known & (after < before)
            loss_years = (falling * lengths).sum(axis=1)
            possible = ((falling | ~known) * lengths).sum(axis=1)
            first, last = values[:, 0], values[:, -1]
            net_known = np.isfinite(first) & np.isfinite(last)
            net_loss = last < first
            yes = net_known & net_loss & (loss_years >= k)
            no = (net_known & ~net_loss) | (possible < k)
            return loss_years, first, Tri(yes, no & ~yes)

        result: tuple[np.ndarray, np.ndarray, Tri] = self.cached(("loss", indicator, start, column, k), make)
        return result

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        indicator = str(params["indicator"])
        grid, year, column, start = self._window(params)
        loss_years, first, loss = self._loss(indicator, start, column, int(params["min_loss_years"]))
        size = Tri.of(first >= float(params["min_population"]), np.isfinite(first))
        mode = str(params["structural"])
        employment = self.grid(str(params["employment_indicator"]), required=False) if mode != "ignore" else None
        if employment is not None:
            jobs_change = window_growth(employment, start, column)
            structural = Tri.of(jobs_change < 0, np.isfinite(jobs_change))
        else:
            jobs_change = np.full(self.n, np.nan)
            structural = Tri.unknown(self.n)
        if mode == "require":
            verdict = tri_and(size, loss, structural)
        elif mode == "if_available":
            # the signal is applied where the unit has employment data, and waived where it has none
            waived = ~structural.known
            verdict = tri_and(size, loss, Tri(structural.yes | waived, structural.no))
        else:
            verdict = tri_and(size, loss)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"size": (first, size), "loss": (loss_years, loss), "structural": (jobs_change, structural)},
            facts={"evaluation_year": np.full(self.n, year), "window_start": np.full(self.n, int(grid.years[start]))},
            pattern=self.pattern(indicator, column),
            context={"year": year, "start_year": int(grid.years[start]), "present": employment is not None,
                     "net_change": window_growth(grid, start, column)},
        )

    def verdict(self, params: dict[str, Any]) -> Tri:
        if str(params["structural"]) == "ignore":
            indicator = str(params["indicator"])
            _, _, column, start = self._window(params)
            _, first, loss = self._loss(indicator, start, column, int(params["min_loss_years"]))
            return tri_and(Tri.of(first >= float(params["min_population"]), np.isfinite(first)), loss)
        return self.evaluate(params).verdict

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        year, start = ctx["year"], ctx["start_year"]
        first, size = evaluation.criteria["size"]
        loss_years, loss = evaluation.criteria["loss"]
        jobs, structural = evaluation.criteria["structural"]
        what = _name(str(params["indicator"]), lang)
        minimum = f"{float(params['min_population']):,.0f}"
        k = int(params["min_loss_years"])
        mode = str(params["structural"])
        net = _fixed(ctx["net_change"] * 100, 1, signed=True)
        if lang == "zh":
            a = f"{start}年{what}" + _people(first, lang) + f"（需≥{minimum}人，" + _mark(size, lang) + "）"
            b = (f"{start}–{year}年人口下降" + _fixed(loss_years, 0) + "年，净变化" + net + f"%（需净减少且下降≥{k}年，"
                 + _mark(loss, lang) + "）")
            c = ("就业变化" + _fixed(jobs * 100, 1, signed=True) + "%（" + _mark(structural, lang) + "）"
                 if ctx["present"] else "无就业数据（结构性信号" + ("未使用" if mode != "require" else "无法判定") + "）")
            return _verdict_sentence(evaluation.verdict, [a, b, c], lang)
        a = f"{what} {start} " + _people(first, lang) + f" (>= {minimum} needed: " + _mark(size, lang) + ")"
        b = (f"{start}-{year} population fell in " + _fixed(loss_years, 0) + " yr, net change " + net
             + f"% (a net loss and {k} yr of loss needed: " + _mark(loss, lang) + ")")
        c = ("employment " + _fixed(jobs * 100, 1, signed=True) + "% (structural signal: " + _mark(structural, lang) + ")"
             if ctx["present"] else
             ("no employment data (structural signal " + ("not applied" if mode != "require" else "undecided") + ")"))
        return _verdict_sentence(evaluation.verdict, [a, b, c], lang)


# ---------------------------------------------------------------- composite-index

@_kernel_rule("composite_index")
class CompositeIndex(Kernel):
    """Oriented, normalised, weighted indicators; the top classes of the score are shrinking."""

    def _raw(self, params: dict[str, Any]) -> tuple[list[IndicatorSpec], np.ndarray, int, int, YearGrid]:
        population_name = str(params["indicator"])
        population = self.grid(population_name)
        assert population is not None
        year, column = self.column(population, int(params["year"]))
        start = population.start_column(year - int(params["window"]))
        specs = list(self.standard.indicators) if self.standard is not None else []
        present = [s for s in specs if s.column in self.panel.values.columns]
        absent = [s.column for s in specs if s.column not in self.panel.values.columns]
        if absent and str(params["missing_indicators"]) == "error":
            raise DataError(f"composite index: indicator(s) {absent} not in panel {self.panel.id!r} "
                            f"(use --set missing_indicators=drop to leave them out)")
        if not present:
            return [], np.empty((self.n, 0)), year, column, population

        def make() -> np.ndarray:
            columns = []
            for spec in present:  # a handful of indicators, each a whole-matrix operation
                grid = self.grid(spec.column)
                assert grid is not None
                if spec.transform == "level":
                    x = grid.values[:, column]
                elif spec.transform == "change":
                    x = annual_rate(grid.values[:, start], grid.values[:, column], column - start)
                else:
                    base = population.values[:, start]
                    flows = grid.values[:, start + 1 : column + 1]
                    total = np.where(np.isnan(flows[:, grid.in_panel[start + 1 : column + 1]]).any(axis=1), np.nan,
                                     np.nansum(flows, axis=1))
                    with np.errstate(divide="ignore", invalid="ignore"):
                        x = np.where(base > 0, total / np.where(base > 0, base, 1.0), np.nan)
                columns.append(spec.orientation * np.asarray(x, dtype=float))
            return np.column_stack(columns)

        raw: np.ndarray = self.cached(("raw", column, start, tuple(s.name for s in present)), make)
        return present, raw, year, column, population

    def _score(self, params: dict[str, Any]) -> tuple[list[IndicatorSpec], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        present, raw, _, _, _ = self._raw(params)
        if not present:
            return present, np.full(self.n, np.nan), np.zeros(self.n, dtype=bool), np.empty(0), raw
        complete = np.isfinite(raw).all(axis=1)
        key = ("score", id(raw), str(params["normalisation"]), str(params["weighting"]))

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            data = np.where(complete[:, None], raw, np.nan)
            scaled = normalise(data, str(params["normalisation"]))
            weighting = str(params["weighting"])
            if weighting == "entropy":
                weights = entropy_weights(normalise(data, "minmax")[complete])
            elif weighting == "equal":
                weights = np.full(len(present), 1.0 / len(present))
            else:
                missing = [s.name for s in present if s.weight is None]
                if missing:
                    raise OptionError(f"parameter 'weighting': 'user' needs a weight for every indicator; "
                                      f"missing for {missing}")
                given = np.array([float(s.weight or 0.0) for s in present])
                if given.sum() <= 0:
                    raise OptionError("parameter 'weighting': user weights sum to 0")
                weights = given / given.sum()
            score = np.where(complete, np.nansum(scaled * weights, axis=1), np.nan)
            return score, weights, scaled

        score, weights, scaled = self.cached(key, make)
        return present, score, complete, weights, scaled

    def evaluate(self, params: dict[str, Any]) -> Evaluation:
        present, score, complete, weights, scaled = self._score(params)
        _, _, year, column, population = self._raw(params)
        k = int(params["classes"])
        top = int(params["shrinking_classes"])
        if top > k:
            raise OptionError(f"parameter 'shrinking_classes': {top} is more than classes = {k}")
        classes = classify(score, k, str(params["classification"]), int(params["seed"]))
        verdict = Tri.of(classes >= k - top, complete)
        facts: dict[str, np.ndarray] = {"evaluation_year": np.full(self.n, year),
                                        "index_class": np.where(classes >= 0, classes + 1, 0)}
        for dimension in ("population", "economy", "space", "society"):
            members = [i for i, s in enumerate(present) if s.dimension == dimension]
            if members:
                facts[f"{dimension}_score"] = np.where(
                    complete, (scaled[:, members] * weights[members]).sum(axis=1), np.nan)
        start = population.start_column(year - int(params["window"]))
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(population, start, column),
            criteria={"index": (score, verdict)},
            facts=facts,
            pattern=self.pattern(str(params["indicator"]), column),
            context={"year": year, "classes": classes, "weights": weights, "present": present, "complete": complete},
        )

    def verdict(self, params: dict[str, Any]) -> Tri:
        _, score, complete, _, _ = self._score(params)
        k, top = int(params["classes"]), int(params["shrinking_classes"])
        classes = classify(score, k, str(params["classification"]), int(params["seed"]))
        return Tri.of(classes >= k - top, complete)

    def reasons(self, evaluation: Evaluation, params: dict[str, Any], lang: str) -> _Text:
        ctx = evaluation.context
        score, verdict = evaluation.criteria["index"]
        k, top = int(params["classes"]), int(params["shrinking_classes"])
        cls = _fixed(ctx["classes"] + 1.0, 0)
        names = ", ".join(s.name for s in ctx["present"]) or "none"
        if lang == "zh":
            text = ("综合收缩指数" + _fixed(score, 3) + f"，位于{k}类中的第" + cls + f"类（前{top}类计为收缩；指标：{names}）")
            unknown = f"指标（{names}）不全，无法计算综合指数"
            return _verdict_sentence(verdict, [_pick([verdict.known], [text], unknown)], lang)
        text = ("composite shrinkage index " + _fixed(score, 3) + ", class " + cls + f" of {k} (top {top} counted as "
                f"shrinking; indicators: {names})")
        unknown = f"an indicator of the index ({names}) is missing, so the index cannot be computed"
        return _verdict_sentence(verdict, [_pick([verdict.known], [text], unknown)], lang)


# ---------------------------------------------------------------- engine

def default_start_year(panel: Panel, end_year: int) -> int:
    """The earlier year of an intercensal comparison when none is given.

    A panel of census years (``meta.census_years``) compares the census
    before ``end_year`` with it (2000 and 2010 on a decennial series); any
    other panel compares its first year.
    """
    census = sorted(int(y) for y in panel.meta.census_years if int(y) < int(end_year))
    return census[-1] if census else int(panel_years(panel)[0])


def comparison_window(panel: Panel, standard: Standard, params: dict[str, Any]) -> tuple[int, int]:
    """The years a setting of a standard compares: a boundary break inside them voids the verdict.

    ``census_decline`` compares ``start_year`` and ``end_year``; the other rules
    look back from the evaluation year over their window (or, without one, over
    the whole panel before it).
    """
    years = panel_years(panel)
    if standard.rule == "census_decline":
        end = int(params.get("end_year", 0)) or evaluation_year(panel, 0)
        start = int(params.get("start_year", 0)) or default_start_year(panel, end)
        return start, end
    end = evaluation_year(panel, int(params.get("year", 0)))
    spans = [int(params[k]) for k in ("n", "window", "peak_window", "decline_window") if k in params]
    start = end - max(spans) if spans else int(years[0])
    return max(start, int(years[0])), end


def boundary_change_mask(panel: Panel, standard: Standard, params: dict[str, Any]) -> np.ndarray | None:
    """Units whose compared years straddle a boundary break (``panel.meta.boundary_breaks``), or None."""
    breaks = panel.meta.boundary_breaks
    if breaks is None or len(breaks) == 0:
        return None
    from shrinkwatch.harmonize import boundary_break_mask

    start, end = comparison_window(panel, standard, params)
    mask = boundary_break_mask(panel, start, end)
    return mask if mask.any() else None


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
        One row per unit of ``panel.units``, in the same order, with
        ``status``, ``<criterion>_value`` / ``<criterion>_pass``, ``severity``,
        ``pattern``, ``annual_rate`` (percent per year) and ``reason``.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["a", "b"], name="unit_id"))
    >>> idx = pd.MultiIndex.from_product([["a", "b"], [2010, 2020]], names=["unit_id", "year"])
    >>> values = pd.DataFrame({"pop_resident": [100.0, 90.0, 50.0, 60.0]}, index=idx)
    >>> identify(Panel(units, values), "census-decline").table["status"].tolist()
    ['shrinking', 'not_shrinking']
    """
    std = load_standard(standard)
    params = std.resolve(settings)
    language = lang or panel.language
    if language not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {language!r}")
    function = RULES[std.rule]
    if std.rule in KERNELS:
        result = function(panel, params, language, std)  # type: ignore[call-arg]
    else:
        result = function(panel, params, language)

    units = panel.units
    n = len(units)
    columns: dict[str, Any] = {}
    for column in ("name", "name_en", "parent_id", "parent_name", "kind", "region", "country"):
        # the units' own Series (same index): dtype kept, no re-inference of object columns
        columns[column] = units[column] if column in units.columns else pd.Series(pd.NA, index=units.index, dtype=object)
    evaluable = np.asarray(result.evaluable, dtype=bool)
    shrinking = evaluable & np.asarray(result.shrinking, dtype=bool)
    columns["status"] = _pick([~evaluable, shrinking], ["insufficient_data", "shrinking"], "not_shrinking").to_pandas()
    columns["shrinking"] = pd.arrays.BooleanArray(shrinking, ~evaluable)
    rate_percent = np.round(np.asarray(result.annual_rate, dtype=float) * 100.0, 4)
    columns["annual_rate"] = rate_percent
    columns["severity"] = _str(np.where(shrinking, severity(rate_percent), np.where(evaluable, "none", ""))).to_pandas()
    columns["pattern"] = _str(result.pattern if result.pattern is not None else np.full(n, "", dtype=object)).to_pandas()
    for name, (value, passed) in result.criteria.items():
        columns[f"{name}_value"] = np.asarray(value, dtype=float)
        passed = np.asarray(passed, dtype=float)
        columns[f"{name}_pass"] = pd.arrays.BooleanArray(passed > 0, np.isnan(passed))
    for name, value in result.facts.items():
        columns[name] = value
    columns["reason"] = result.reason
    table = pd.DataFrame(columns, index=units.index, copy=False)
    broken = boundary_change_mask(panel, std, params)
    if broken is not None:
        # the two compared years cover different territories: no verdict, and no rate
        from shrinkwatch.harmonize import boundary_break_reasons

        start, end = comparison_window(panel, std, params)
        table.loc[broken, "status"] = "boundary_change"
        table.loc[broken, "shrinking"] = pd.NA
        table.loc[broken, "annual_rate"] = np.nan
        table.loc[broken, "severity"] = ""
        for name in result.criteria:
            table.loc[broken, f"{name}_pass"] = pd.NA
        table.loc[broken, "reason"] = boundary_break_reasons(panel, start, end, language)[broken]
    first_projected = panel.meta.projected_from
    if first_projected is not None:
        # projected years enter only when asked for, and every row then says so
        uses_projection = comparison_window(panel, std, params)[1] >= int(first_projected)
        table["uses_projection"] = uses_projection
        if uses_projection:
            note = (f" 含{int(first_projected)}年起的预测值，非观测值。" if language == "zh"
                    else f" Uses projected values (years from {int(first_projected)} are projections, not observations).")
            table["reason"] = table["reason"].astype("string") + note
    # report the years actually used, not the "0 = default" placeholders
    resolved = dict(params)
    for key, fact in (("start_year", "start_year"), ("end_year", "end_year"), ("year", "evaluation_year")):
        if key in resolved and int(resolved[key]) == 0 and fact in result.facts and n:
            resolved[key] = int(np.asarray(result.facts[fact])[0])
    return Identification(
        table=table,
        standard_id=std.id,
        parameters=resolved,
        panel_meta=panel.meta,
        criteria=tuple(result.criteria),
        description=std.describe(resolved, language),
        standard_source=std.source,
    )
