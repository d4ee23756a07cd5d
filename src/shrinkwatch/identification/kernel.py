"""The kernel framework: typed rule parameters, one rule's evaluation, the panel-year helpers.

Each rule of a standard is a :class:`Kernel` (see :mod:`shrinkwatch.identification.rules`).
A kernel declares its parameters as a frozen dataclass (a :class:`RuleParameters`);
a standard file's ``[parameters]`` must declare exactly those parameters, with
those types (checked when the file is loaded), and the engine builds the
parameter object from the standard's resolved values
(:meth:`Kernel.parameters_of`). The kernel precomputes per-panel state once
(matrices on a calendar-complete year axis, decline flags, run lengths) and
evaluates a parameter setting over all units at once: :meth:`Kernel.evaluate`
for the full evaluation with criteria and facts, :meth:`Kernel.verdict` for
only the verdict (the fast path of sensitivity sweeps), :meth:`Kernel.reasons`
for one sentence per unit, from the evaluation and its typed ``context`` (a
frozen dataclass per rule: what the sentences need besides criteria and facts).

Verdicts are three-valued (:class:`~shrinkwatch.identification.indicators.Tri`): missing
inputs make a unit ``insufficient_data``, never ``not_shrinking``; a unit is
``not_shrinking`` only when the data prove the rule fails.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Generic, Literal, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification.indicators import (
    Tri,
    YearGrid,
    annual_rate,
    cumulative_count,
    decline_flags,
    loss_ranks,
    panel_years,
    pattern_codes,
    run_lengths,
    year_grid,
)
from shrinkwatch.identification.schema import Parameter, Standard
from shrinkwatch.identification.text import Text

__all__ = [
    "RuleParameters",
    "WindowParameters",
    "Evaluation",
    "Levels",
    "Kernel",
    "state_bytes",
    "evaluation_year",
    "default_start_year",
]

#: The ``type`` of a standard file's parameter for each Python type of a parameter field.
_TOML_TYPES: dict[Any, str] = {float: "float", int: "int", str: "str", bool: "bool"}


_DECLARED: dict[type, dict[str, tuple[str, tuple[str, ...] | None]]] = {}


def _declared_fields(parameters: type[RuleParameters]) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    """Field name -> (its ``type`` in a standard file, its allowed values for a ``Literal`` or None); cached."""
    if parameters in _DECLARED:
        return _DECLARED[parameters]
    hints = typing.get_type_hints(parameters)
    declared: dict[str, tuple[str, tuple[str, ...] | None]] = {}
    for item in dataclasses.fields(parameters):
        hint = hints[item.name]
        if typing.get_origin(hint) is Literal:
            declared[item.name] = ("str", tuple(str(v) for v in typing.get_args(hint)))
        else:
            declared[item.name] = (_TOML_TYPES[hint], None)
    _DECLARED[parameters] = declared
    return declared


@dataclass(frozen=True)
class RuleParameters:
    """The parameters of a rule, typed and frozen (a subclass per rule).

    The fields are the parameters a standard file of the rule declares in
    ``[parameters]``: a field typed ``float``, ``int``, ``str`` or ``bool``
    is declared with that ``type``; a field typed ``Literal["a", "b"]`` is a
    ``str`` whose values must be among those.
    """

    indicator: str

    @classmethod
    def problems(cls, rule: str, parameters: Mapping[str, Parameter],
                 sensitivity: Mapping[str, list[Any]] | None = None) -> list[str]:
        """What is wrong with a standard file's ``[parameters]`` for this rule (empty when nothing).

        Examples
        --------
        >>> @dataclass(frozen=True)
        ... class Example(RuleParameters):
        ...     min_loss: float
        >>> for problem in Example.problems("example", {"foo": Parameter(type="int", default=1)}):
        ...     print(problem)
        rule 'example' has no parameter 'foo' (its parameters: indicator, min_loss)
        rule 'example' needs parameter 'indicator' (type = "str"), missing from [parameters]
        rule 'example' needs parameter 'min_loss' (type = "float"), missing from [parameters]
        """
        declared = _declared_fields(cls)
        problems = [f"rule {rule!r} has no parameter {key!r} (its parameters: {', '.join(declared)})"
                    for key in parameters if key not in declared]
        for key, (toml_type, allowed) in declared.items():
            spec = parameters.get(key)
            if spec is None:
                problems.append(f"rule {rule!r} needs parameter {key!r} (type = \"{toml_type}\"), "
                                "missing from [parameters]")
            elif spec.type != toml_type:
                problems.append(f"parameter {key!r} of rule {rule!r} has type = \"{toml_type}\", "
                                f"not \"{spec.type}\"")
            elif allowed is not None:
                values = [spec.default, *(spec.choices or []), *((sensitivity or {}).get(key) or [])]
                wrong = sorted({str(v) for v in values} - set(allowed))
                if wrong:
                    problems.append(f"parameter {key!r} of rule {rule!r} is one of {', '.join(allowed)}; "
                                    f"not {', '.join(wrong)}")
        return problems

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> typing.Self:
        """The parameter object of resolved values (:meth:`Standard.resolve`); a value outside a
        ``Literal`` field's values is an OptionError."""
        declared = _declared_fields(cls)
        if set(values) != set(declared):
            raise OptionError(f"parameters {', '.join(sorted(values))} do not match the rule's parameters "
                              f"{', '.join(sorted(declared))}")
        typed: dict[str, Any] = {}
        for key, (toml_type, allowed) in declared.items():
            value = values[key]
            if allowed is not None and str(value) not in allowed:
                raise OptionError(f"parameter {key!r}: {value!r} is not one of {', '.join(allowed)}")
            typed[key] = float(value) if toml_type == "float" else int(value) if toml_type == "int" else value
        return cls(**typed)

    def comparison_window(self, panel: Panel) -> tuple[int, int]:  # pragma: no cover - abstract
        """The years a setting compares: a boundary break inside them voids the verdict."""
        raise NotImplementedError

    #: The field holding the year a setting is evaluated in (0: the latest observed year); a status
    #: timeline (:mod:`shrinkwatch.identification.timeline`) sets it to each "as of" year in turn.
    as_of_field: ClassVar[str] = ""

    def as_of(self, year: int) -> typing.Self:
        """This setting evaluated as of ``year`` (:attr:`as_of_field` set to it)."""
        if not self.as_of_field:  # pragma: no cover - every rule declares one
            raise OptionError(f"{type(self).__name__} has no evaluation year to set")
        changes: dict[str, Any] = {self.as_of_field: int(year)}
        return dataclasses.replace(self, **changes)

    def first_year_needed(self, panel: Panel, years: Sequence[int] | None = None) -> int:
        """The earliest year a verdict of this setting needs (the start of its compared years, not clipped to
        the panel): a status timeline starts at the first year whose verdict has all of it in the panel.
        ``years``: the panel's years, if already known."""
        return self.comparison_window(panel)[0]


@dataclass(frozen=True)
class WindowParameters(RuleParameters):
    """Parameters of a rule evaluated in one year (``year``; 0 = the latest observed year),
    looking back over :attr:`lookback` years."""

    #: The fields whose largest value is the years the rule reads before ``year`` (none: the whole panel).
    lookback_fields: ClassVar[tuple[str, ...]] = ()
    #: The fields whose largest value is the years a verdict needs before ``year`` to be the rule's verdict as
    #: written (None: :attr:`lookback_fields`); a window read "up to" its length, such as peak-loss's peak
    #: window, is left out.
    needed_fields: ClassVar[tuple[str, ...] | None] = None
    as_of_field = "year"

    year: int

    @property
    def lookback(self) -> int | None:
        """The years before ``year`` that the rule reads (None: the whole panel before it)."""
        return max(int(getattr(self, name)) for name in self.lookback_fields) if self.lookback_fields else None

    def comparison_window(self, panel: Panel) -> tuple[int, int]:
        """From ``lookback`` years before the evaluation year (clipped to the panel) to it."""
        years = panel_years(panel)
        end = evaluation_year(panel, self.year)
        start = end - self.lookback if self.lookback is not None else int(years[0])
        return max(start, int(years[0])), end

    def first_year_needed(self, panel: Panel, years: Sequence[int] | None = None) -> int:
        """``year`` minus the largest of :attr:`needed_fields` (the first panel year without any)."""
        fields = self.lookback_fields if self.needed_fields is None else self.needed_fields
        end = int(self.year) or evaluation_year(panel, 0)
        if fields:
            return end - max(int(getattr(self, name)) for name in fields)
        return int((panel_years(panel) if years is None else years)[0])


#: The type of a rule's :attr:`Evaluation.context`.
C = TypeVar("C")


@dataclass
class Evaluation(Generic[C]):
    """A kernel's full evaluation of one parameter setting (no reasons yet).

    Arrays are aligned to ``panel.units.index``. ``criteria`` maps a criterion
    name to ``(value, verdict)``; ``facts`` are extra columns of the table;
    ``pattern`` the pattern of change, as positions in
    :data:`~shrinkwatch.identification.indicators.PATTERN_LABELS` (:meth:`Kernel.pattern`);
    ``context`` what the kernel's :meth:`Kernel.reasons` needs besides (the rule's
    own frozen dataclass, such as :class:`~shrinkwatch.identification.rules.peak_loss.PeakLossContext`).
    ``set_aside`` names the criteria the verdict was given without because the
    panel has none of their data (as the rule's parameters allow), each with the
    units whose verdict it would decide (the verdict differs between the
    criterion met and not met).
    """

    verdict: Tri
    annual_rate: np.ndarray
    criteria: dict[str, tuple[np.ndarray, Tri]]
    facts: dict[str, np.ndarray]
    pattern: np.ndarray
    context: C
    set_aside: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


P = TypeVar("P", bound=RuleParameters)


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



def default_start_year(panel: Panel, end_year: int, years: Sequence[int] | None = None) -> int:
    """The earlier year of an intercensal comparison when none is given.

    A panel of census years (``meta.census_years``) compares the census
    before ``end_year`` with it (2000 and 2010 on a decennial series); any
    other panel compares its first year (``years``: the panel's years, if already known).
    """
    census = sorted(int(y) for y in panel.meta.census_years if int(y) < int(end_year))
    return census[-1] if census else int((panel_years(panel) if years is None else years)[0])



def state_bytes(value: Any) -> int:
    """Bytes of the NumPy arrays a cached value holds (an array, or arrays inside tuples, lists, dicts and
    dataclasses); an array reached twice counts twice (an upper bound).

    Examples
    --------
    >>> state_bytes((np.zeros(10), Tri(np.zeros(4, dtype=bool), np.zeros(4, dtype=bool)), 3))
    88
    """
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(state_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(state_bytes(item) for item in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(state_bytes(getattr(value, item.name)) for item in dataclasses.fields(value))
    return 0


@dataclass(frozen=True)
class Levels:
    """The verdicts of one setting at every value of one swept parameter, as two numbers per unit.

    Some parameters move a verdict one way only: a higher loss threshold never makes a unit shrinking
    that was not, a higher peak ratio never takes shrinking away. Ordered that way (``order``: the
    positions in the swept values, strictest last), a unit is shrinking at the first ``yes_upto``
    values and not shrinking from value ``no_from`` on (unknown between), so that a sweep over all the
    values costs one pass over the units (:meth:`Kernel.levels`) instead of one per value.
    """

    order: np.ndarray
    yes_upto: np.ndarray
    no_from: np.ndarray

    def at(self, position: int) -> Tri:
        """The verdict at ``order[position]``."""
        return Tri(self.yes_upto > position, self.no_from <= position)


class Kernel(Generic[P, C]):
    """Per-panel precomputed state of one rule; evaluates parameter settings over all units.

    ``P`` is the rule's parameter object, ``C`` the context its evaluation hands
    to its reasons. Subclasses implement :meth:`evaluate` and :meth:`reasons`; :meth:`verdict` is the fast path
    used by sensitivity sweeps (only the three-valued verdict), and :meth:`levels` the faster one for a
    parameter that moves the verdict one way only. Matrices, decline flags and run lengths are computed once
    per indicator and threshold and cached; ``cache_bytes`` bounds what the cache holds besides the
    indicators' year grids (the least recently used state is dropped first; None: no bound).
    """

    #: The ``rule`` of the standards this kernel evaluates.
    rule: ClassVar[str] = ""
    #: The rule's parameter object.
    parameters: type[P]
    #: Parameters whose value selects a units x years state (decline flags per threshold): a sweep varies them
    #: slowest, so that a bounded cache builds each state once.
    state_fields: ClassVar[tuple[str, ...]] = ("indicator",)
    #: Parameters :meth:`levels` sweeps in one pass.
    level_fields: ClassVar[tuple[str, ...]] = ()
    #: Cache entries kept whatever the bound (the year grids: the panel's own values, once per indicator).
    _PINNED: ClassVar[frozenset[str]] = frozenset({"grid"})

    def __init__(self, panel: Panel, standard: Standard | None = None, *, cache_bytes: int | None = None) -> None:
        self._start(panel, standard, cache_bytes, len(panel.units), panel_years(panel))

    def _start(self, panel: Panel, standard: Standard | None, cache_bytes: int | None, n: int,
               years: list[int]) -> None:
        self.panel = panel
        self.standard = standard
        self.n = n
        self.cache_bytes = cache_bytes
        #: Bytes of cached state now (the grids not counted) and the most held at once.
        self.held_bytes = 0
        self.peak_bytes = 0
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._sizes: dict[tuple[Any, ...], int] = {}
        self._years = years
        first_projected = panel.meta.projected_from
        self._observed = [y for y in self._years if first_projected is None or y < int(first_projected)]
        #: Year grids given to :meth:`of_grid` (the panel has no long values to build them from).
        self._given: dict[str, YearGrid] = {}

    @classmethod
    def of_grid(cls, grid: YearGrid, indicator: str, standard: Standard | None = None, *,
                meta: PanelMeta | None = None) -> typing.Self:
        """The kernel of a panel of one indicator given as its year grid, without the long panel.

        ``grid`` holds ``indicator`` for every unit (rows) on a calendar-complete year axis; ``in_panel`` marks
        the panel's years, whose columns hold its values (NaN where missing) and whose other columns are all NaN,
        as :func:`~shrinkwatch.identification.indicators.year_grid` makes them. The kernel judges as the kernel of
        the panel whose long values hold every unit at every one of those years (same verdicts), for millions of
        units without the (unit, year) index: a forecast's simulated paths. ``meta``: that panel's (census and
        projected years; default: none). Its :attr:`panel` holds ``meta`` and the indicator's name but no unit
        and no value: the verdicts read only the grid. (The kernel is started without ``__init__``: a rule's
        kernel keeps its state in :meth:`cached`, never in an ``__init__`` of its own.)
        """
        values = np.asarray(grid.values)
        years = np.asarray(grid.years, dtype=np.int64)
        in_panel = np.asarray(grid.in_panel, dtype=bool)
        if values.ndim != 2 or values.dtype != np.float64:
            raise DataError(f"Kernel.of_grid: the grid of {indicator!r} must be a float64 units x years matrix, "
                            f"not {values.dtype} of shape {values.shape}")
        if not (len(years) == len(in_panel) == values.shape[1]) or not len(years):
            raise DataError(f"Kernel.of_grid: the grid of {indicator!r} has {values.shape[1]} columns, "
                            f"{len(years)} years and {len(in_panel)} in_panel flags (one each, at least one)")
        if not np.array_equal(years, np.arange(years[0], years[0] + len(years))) or not in_panel[[0, -1]].all():
            raise DataError(f"Kernel.of_grid: the years of the grid of {indicator!r} must be consecutive, from the "
                            f"panel's first year to its last ({years.tolist()})")
        if any(np.isfinite(values[:, column]).any() for column in np.flatnonzero(~in_panel)):  # no copy of them
            raise DataError(f"Kernel.of_grid: the grid of {indicator!r} has values in years not in the panel "
                            f"({years[~in_panel].tolist()}): they must be NaN")
        shell = Panel(pd.DataFrame(index=pd.RangeIndex(0, name="unit_id")),
                      pd.DataFrame({indicator: np.zeros(0)},
                                   index=pd.MultiIndex.from_arrays([[], []], names=["unit_id", "year"])),
                      meta if meta is not None else PanelMeta(id="grid"))
        kernel = cls.__new__(cls)
        kernel._start(shell, standard, None, values.shape[0], [int(y) for y in years[in_panel]])
        kernel._given[indicator] = YearGrid(values=values, years=years, in_panel=in_panel)
        return kernel

    # -- cached building blocks
    def cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """The value of ``key``, made once; within ``cache_bytes``, the least recently used state goes first
        (a value larger than the whole bound is returned without being kept)."""
        cache = self._cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        value = make()
        size = 0 if key[0] in self._PINNED else state_bytes(value)
        if self.cache_bytes is not None:
            if size > self.cache_bytes:
                return value
            for old in [k for k in cache if k[0] not in self._PINNED]:
                if self.held_bytes + size <= self.cache_bytes:
                    break
                del cache[old]
                self.held_bytes -= self._sizes.pop(old)
        cache[key] = value
        self._sizes[key] = size
        self.held_bytes += size
        self.peak_bytes = max(self.peak_bytes, self.held_bytes)
        return value

    def clear_cache(self) -> None:
        """Drop everything cached, the year grids too (an evaluation holds what its reasons need)."""
        self._cache.clear()
        self._sizes.clear()
        self.held_bytes = 0

    def grid(self, indicator: str) -> YearGrid:
        """The indicator's year grid; a DataError naming the panel's indicators if it has none."""
        grid = self.optional_grid(indicator)
        if grid is None:
            populations = [c for c in self.panel.indicators if c.startswith("pop_")]
            hint = (f"; choose one with --set indicator={populations[0]}" if populations else "")
            raise DataError(
                f"indicator {indicator!r} is not in panel {self.panel.id!r}; "
                f"it has: {', '.join(self.panel.indicators)}{hint}"
            )
        return grid

    def optional_grid(self, indicator: str) -> YearGrid | None:
        """The indicator's year grid, or ``None`` if the panel has no such indicator."""
        if indicator in self._given:
            return self._given[indicator]
        if indicator not in self.panel.values.columns:
            return None
        grid: YearGrid = self.cached(("grid", indicator), lambda: year_grid(self.panel, indicator, self._years))
        return grid

    def flags(self, indicator: str, min_loss: float = 0.0) -> Tri:
        """Year-on-year decline flags of the indicator's grid."""

        def make() -> Tri:
            grid = self.grid(indicator)
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

    def loss_levels(self, indicator: str, thresholds: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The year-on-year declines of the indicator at every one of ``thresholds`` at once: the order of the
        thresholds (ascending), and per unit and column how many of them, in that order, give a decline
        (:func:`~shrinkwatch.identification.indicators.loss_ranks`) and, where the change is known, the
        position from which it is no decline (where unknown: the number of thresholds). None when a value is
        negative (a decline at a threshold is then no longer a decline at every smaller one)."""
        ordered = np.asarray(thresholds, dtype=float)
        order = np.argsort(ordered, kind="stable")
        key = ("loss_levels", indicator, tuple(ordered[order].tolist()))

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
            values = self.grid(indicator).values
            if (values < 0).any():
                return None
            ranks = loss_ranks(values, ordered[order])
            finite = np.isfinite(values)
            unknown = np.ones(values.shape, dtype=bool)
            unknown[:, 1:] = ~(finite[:, :-1] & finite[:, 1:])
            no_ranks = ranks.copy()
            no_ranks[unknown] = min(len(order), np.iinfo(ranks.dtype).max)
            return order, ranks, no_ranks

        result: tuple[np.ndarray, np.ndarray, np.ndarray] | None = self.cached(key, make)
        return result

    def consecutive_levels(self, indicator: str, column: int, n: int, thresholds: Sequence[float]) -> Levels | None:
        """:meth:`consecutive` at every one of ``thresholds`` (as :meth:`levels`): declines in each of the ``n``
        years ending at ``column`` at the first ``yes_upto`` thresholds, a known change without one from
        ``no_from`` on."""
        found = self.loss_levels(indicator, thresholds)
        if found is None or n < 1:
            return None
        order, ranks, no_ranks = found
        first = column - n + 1
        yes_upto = (ranks[:, first : column + 1].min(axis=1) if first >= 0
                    else np.zeros(self.n, dtype=ranks.dtype))
        no_from = no_ranks[:, max(first, 0) : column + 1].min(axis=1)
        return Levels(order=order, yes_upto=yes_upto, no_from=no_from)

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
        """The pattern of change up to ``column``, as positions in
        :data:`~shrinkwatch.identification.indicators.PATTERN_LABELS` (:func:`pattern_codes`)."""
        def make() -> np.ndarray:
            grid = self.grid(indicator)
            if grid.in_panel[: column + 1].all():  # annual: the periods are the grid's
                # the rule's decline flags when it made them (not made for the pattern alone: it is quicker
                # from the values)
                flags: Tri | None = self._cache.get(("flags", indicator, 0.0))
                return pattern_codes(grid.values[:, : column + 1], None if flags is None else
                                     Tri(flags.yes[:, : column + 1], flags.no[:, : column + 1]))
            keep = grid.in_panel.copy()
            keep[column + 1 :] = False
            return pattern_codes(grid.values[:, keep])

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
    def parameters_of(self, values: Mapping[str, Any]) -> P:
        """The typed parameters of resolved values (:meth:`Standard.resolve`)."""
        return self.parameters.from_values(values)

    def evaluate(self, params: P) -> Evaluation[C]:  # pragma: no cover - abstract
        """The verdict, criteria, facts and pattern of every unit under ``params``."""
        raise NotImplementedError

    def verdict(self, params: P) -> Tri:
        """Only the verdict (sensitivity sweeps); default: the full evaluation's."""
        return self.evaluate(params).verdict

    def levels(self, params: P, key: str, values: Sequence[Any]) -> Levels | None:
        """The verdicts of ``params`` with ``key`` set to each of ``values``, in one pass (see :class:`Levels`);
        None when the rule cannot (``key`` not in :attr:`level_fields`, or data for which the verdict does not
        move one way only). Default: None."""
        return None

    def verdicts_as_of(self, params: P, years: Sequence[int]) -> Tri:
        """The verdicts of ``params`` as of each of ``years``: units x years, column ``j`` the verdict of
        ``params.as_of(years[j])``, which reads no year after ``years[j]``.

        Default: :meth:`verdict` once per year (each over all units at once); a rule whose state holds every
        year already (decline runs, two compared columns) overrides it with one pass over all years.
        """
        verdicts = [self.verdict(params.as_of(year)) for year in years]
        if not verdicts:
            return Tri(np.zeros((self.n, 0), dtype=bool), np.zeros((self.n, 0), dtype=bool))
        return Tri(np.column_stack([v.yes for v in verdicts]), np.column_stack([v.no for v in verdicts]))

    def reasons(self, evaluation: Evaluation[C], params: P, lang: str) -> Text:  # pragma: no cover - abstract
        """One sentence per unit explaining ``evaluation``."""
        raise NotImplementedError
