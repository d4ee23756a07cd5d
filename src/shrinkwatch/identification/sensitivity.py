"""Sensitivity of an identification to its standard's parameters.

:func:`sweep` evaluates every combination of the varied parameters and reports
the count of shrinking units per combination and, per unit, the share of
combinations under which it is shrinking:

- ``robust``: shrinking under every combination where it can be evaluated;
- ``borderline``: shrinking under some, not all;
- ``never``: shrinking under none;
- ``insufficient_data``: evaluable under no combination (kept apart: it is
  not "never shrinking").

The sweep uses the rules' kernels (:class:`shrinkwatch.identification.kernel.Kernel`):
the per-panel state (year grids, decline flags, run lengths, peaks) is
computed once and cached, and each combination evaluates only the verdict
mask, without criteria tables or reasons.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.engine import StableGeography, judge, resolve_for_panel
from shrinkwatch.identification.indicators import Tri, panel_years
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard

__all__ = ["SensitivityResult", "sweep", "check_grid", "check_size", "check_memory", "sweep_bytes", "parse_vary",
           "ROBUSTNESS_CLASSES", "MAX_COMBINATIONS", "SWEEP_CACHE_BYTES"]

#: Per-unit robustness classes.
ROBUSTNESS_CLASSES = ("robust", "borderline", "never", "insufficient_data", "boundary_change")


@dataclass(frozen=True)
class SensitivityResult:
    """The outcome of a parameter sweep.

    Attributes
    ----------
    counts
        One row per combination: the varied parameters, then ``shrinking``,
        ``not_shrinking``, ``insufficient_data`` and ``units_with_data``.
    units
        One row per unit (``unit_id`` index): ``name``, ``combinations``,
        ``evaluable`` (combinations where it could be decided),
        ``shrinking`` (combinations where it is shrinking), ``share``
        (shrinking / evaluable, NaN when never evaluable), ``robustness`` and
        ``via_stable_cluster`` (combinations where it was judged as its stable cluster).
    """

    standard_id: str
    base: dict[str, Any]
    vary: dict[str, list[Any]]
    counts: pd.DataFrame
    units: pd.DataFrame
    panel_id: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def combinations(self) -> int:
        return len(self.counts)

    def summary(self) -> dict[str, int]:
        """Units per robustness class."""
        classes = self.units["robustness"].value_counts()
        return {name: int(classes.get(name, 0)) for name in ROBUSTNESS_CLASSES}

    @property
    def count_min(self) -> int:
        """The smallest count of shrinking units over the combinations."""
        return int(self.counts["shrinking"].min())

    @property
    def count_max(self) -> int:
        """The largest count of shrinking units over the combinations."""
        return int(self.counts["shrinking"].max())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the standard, the grid, the number of combinations, the count range and units per
        robustness class."""
        return {
            "standard": self.standard_id,
            "vary": {k: [v if isinstance(v, (int, float, str, bool)) else str(v) for v in values]
                     for k, values in self.vary.items()},
            "combinations": int(self.combinations),
            "count_min": self.count_min,
            "count_max": self.count_max,
            "robustness": self.summary(),
        }


def parse_vary(items: list[str] | None) -> dict[str, list[str]]:
    """``["key=v1,v2,...", "key=start:stop:step"]`` into ``{key: [values]}``.

    ``start:stop:step`` is an inclusive numeric range.

    Examples
    --------
    >>> parse_vary(["n=2,3,4", "min_loss=0:0.1:0.05"])
    {'n': ['2', '3', '4'], 'min_loss': ['0', '0.05', '0.1']}
    """
    vary: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise OptionError(f"--vary {item!r}: expected key=v1,v2,... or key=start:stop:step")
        if key in vary:
            raise OptionError(f"--vary {item!r}: parameter {key!r} is varied twice")
        if text.count(":") == 2 and "," not in text:
            try:
                start, stop, step = (float(x) for x in text.split(":"))
            except ValueError:
                raise OptionError(f"--vary {item!r}: start:stop:step must be numbers") from None
            if not all(np.isfinite([start, stop, step])):
                raise OptionError(f"--vary {item!r}: start, stop and step must be finite numbers")
            if step <= 0 or stop < start:
                raise OptionError(f"--vary {item!r}: expected start <= stop and step > 0")
            steps = (stop - start) / step  # counted before anything is built
            if not np.isfinite(steps) or steps + 1 > MAX_COMBINATIONS:
                raise OptionError(f"--vary {item!r}: {_count_text(steps + 1)} values; at most "
                                  f"{MAX_COMBINATIONS:,} settings are swept (use a larger step)")
            count = int(np.floor(steps + 1e-9)) + 1
            values = start + step * np.arange(count)
            vary[key] = [f"{v:.10g}" for v in values]
        else:
            vary[key] = [v.strip() for v in text.split(",") if v.strip()]
        if not vary[key]:
            raise OptionError(f"--vary {item!r}: no values")
    check_size(vary)
    return vary


#: The largest number of settings one sweep evaluates (each costs one pass over all units).
MAX_COMBINATIONS = 100_000


def _count_text(count: float) -> str:
    return f"{count:,.0f}" if count < 1e15 else f"{count:.3g}"


def _physical_memory() -> int:
    """Bytes of physical memory of this machine (0 where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 0


#: The most a sweep's kernel keeps of its derived state at once, in bytes (decline flags, run lengths and
#: ranks per threshold, peaks per window; :attr:`Kernel.cache_bytes`): 1 GiB, the state of about five
#: thresholds at 1,000,000 units x 30 years. The indicator's year grid (8 bytes per unit and year) and the
#: per-unit counters come on top (see :func:`sweep_bytes`).
SWEEP_CACHE_BYTES = 1 << 30


def sweep_bytes(panel: Panel, vary: dict[str, list[Any]], cache_bytes: int | None = SWEEP_CACHE_BYTES) -> int:
    """An upper estimate of the memory a sweep over ``vary`` holds at once.

    The year grid of each swept indicator (``units x years x 8`` bytes), four int32 counters per unit, and the
    kernel's cached state: per distinct value of a varied parameter at most unit x year decline flags (two
    boolean arrays) and run lengths and counts (two int16 arrays), ``units x years x 6`` bytes, never more
    than ``cache_bytes`` (the least recently used state is dropped beyond it; None: no bound).

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 90]}, years=[2010, 2020])
    >>> sweep_bytes(panel, {"min_loss": [0, 0.05]})  # 11 years x 8 + 2 x 11 x 6 + 16
    236
    """
    years = panel_years(panel)
    n_units, n_years = len(panel.units), (years[-1] - years[0] + 1 if years else 1)
    distinct = sum(len(set(map(str, values))) for values in vary.values())
    indicators = len(set(map(str, vary["indicator"]))) if "indicator" in vary else 1
    state = n_units * n_years * 6 * distinct
    state = state if cache_bytes is None else min(state, cache_bytes)
    return n_units * n_years * 8 * indicators + state + 16 * n_units


def check_memory(panel: Panel, vary: dict[str, list[Any]], budget: int | None = None,
                 cache_bytes: int | None = SWEEP_CACHE_BYTES) -> int:
    """Refuse a sweep whose :func:`sweep_bytes` estimate exceeds half the machine's memory (or ``budget``).

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 90]}, years=[2010, 2020])
    >>> check_memory(panel, {"min_loss": [0, 0.05]})
    236
    """
    needed = sweep_bytes(panel, vary, cache_bytes)
    limit = budget if budget is not None else _physical_memory() // 2
    if limit and needed > limit:
        raise OptionError(f"--vary: this sweep would hold about {needed / 2**30:,.1f} GiB ({len(panel.units):,} units x "
                          f"{len(panel.years)} years x {sum(len(v) for v in vary.values()):,} values), more than the "
                          f"{limit / 2**30:,.1f} GiB it may use; vary fewer values at once")
    return needed


def check_size(vary: dict[str, list[Any]]) -> int:
    """The number of settings in the grid ``vary``; more than :data:`MAX_COMBINATIONS` is refused with the number.

    Examples
    --------
    >>> check_size({"a": [1, 2], "b": [1, 2, 3]})
    6
    """
    combinations = float(np.prod([float(len(values)) for values in vary.values()])) if vary else 0.0
    if combinations > MAX_COMBINATIONS:
        sizes = " x ".join(f"{len(values):,} {key}" for key, values in vary.items())
        raise OptionError(f"--vary: {sizes} = {_count_text(combinations)} settings; at most {MAX_COMBINATIONS:,} "
                          "are swept (fewer values or a larger step)")
    return int(combinations)


def check_grid(standard: str | Path | Standard, vary: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``vary`` with every value converted and checked against the standard's parameters.

    An unknown key, an empty list or a bad value is an OptionError naming it, so
    callers can reject a grid before reading any data.
    """
    std = load_standard(standard)
    if not vary:
        raise OptionError("vary: give at least one parameter to vary (--vary key=v1,v2,...)")
    check_size(vary)
    checked: dict[str, list[Any]] = {}
    for key, values in vary.items():
        if key not in std.parameters:
            raise OptionError(
                f"--vary: unknown parameter {key!r} for standard {std.id!r}; "
                f"valid parameters: {', '.join(sorted(std.parameters))}"
            )
        if not list(values):
            raise OptionError(f"--vary {key}: no values")
        checked[key] = [std.parameters[key].coerce(key, v) for v in values]
    return checked


def sweep(
    panel: Panel,
    standard: str | Path | Standard,
    vary: dict[str, list[Any]],
    base_settings: dict[str, Any] | None = None,
    *,
    stable_clusters: bool = True,
    cache_bytes: int | None = SWEEP_CACHE_BYTES,
    one_pass: bool = True,
) -> SensitivityResult:
    """Evaluate ``standard`` on ``panel`` for every combination of ``vary``.

    Parameters
    ----------
    panel
        The units and their values.
    standard
        A built-in id, a TOML path or a :class:`~shrinkwatch.identification.schema.Standard`.
    vary
        Parameter name -> values to try (text or typed; each is validated
        like a ``--set`` value). The combinations are the Cartesian product.
    base_settings
        Overrides of the other parameters (as ``--set``).
    stable_clusters
        Judge units that exchanged territory as their stable clusters, as
        :func:`~shrinkwatch.identification.identify` does (the same clusters for
        the same compared years); ``units["via_stable_cluster"]`` counts the
        combinations in which a unit was judged so.
    cache_bytes
        The most the rule's kernel keeps of its derived state at once (:data:`SWEEP_CACHE_BYTES`; None: no
        bound; see :func:`sweep_bytes` for all the sweep holds). The parameters that select a units x years state
        (:attr:`Kernel.state_fields`, such as a loss threshold) are varied slowest, so each state is built
        once even when the bound keeps only one.
    one_pass
        Sweep a parameter that moves the verdict one way only (:attr:`Kernel.level_fields`: a loss
        threshold, a peak ratio) over all its values in one pass (:meth:`Kernel.levels`); False evaluates
        every setting by itself (the same answers, slower).

    Returns
    -------
    SensitivityResult

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 90], "b": [100, 99]}, years=[2010, 2020])
    >>> result = sweep(panel, "census-decline", {"min_loss": [0, 0.05]})
    >>> result.counts["shrinking"].tolist(), result.units["robustness"].tolist()
    ([2, 1], ['robust', 'borderline'])
    """
    std = load_standard(standard)
    base, _ = resolve_for_panel(std, panel, base_settings)
    checked = check_grid(std, vary)
    keys = list(checked)
    grids = [checked[key] for key in keys]
    check_memory(panel, checked, cache_bytes=cache_bytes)

    n_units = len(panel.units)
    shrinking_count = np.zeros(n_units, dtype=np.int32)
    not_count = np.zeros(n_units, dtype=np.int32)
    broken_count = np.zeros(n_units, dtype=np.int32)
    via_count = np.zeros(n_units, dtype=np.int32)
    kernel = kernel_class(std.rule)(panel, std, cache_bytes=cache_bytes)
    has_breaks = panel.meta.boundary_breaks is not None and len(panel.meta.boundary_breaks) > 0
    geography = StableGeography(panel, std) if stable_clusters and has_breaks else None
    # one row per combination, in itertools.product order over ``keys``: row = sum of index x stride
    strides = dict(zip(keys, np.cumprod([1] + [len(g) for g in grids[:0:-1]])[::-1].tolist()))
    tallies = np.zeros((int(np.prod([len(g) for g in grids])), 3), dtype=np.int64)

    def record(params: Any, verdict: Tri, row: int) -> None:
        nonlocal shrinking_count, not_count, broken_count, via_count
        yes, no = verdict.yes, verdict.no
        n_broken = 0
        if has_breaks:  # no verdict across a boundary break, a stable cluster's for its members (engine.identify)
            judged = judge(panel, params, verdict, geography)
            yes, no = judged.verdict.yes, judged.verdict.no
            if judged.via is not None:
                via_count += judged.via
            if judged.broken is not None:
                n_broken = int(np.count_nonzero(judged.broken))
                broken_count += judged.broken
        shrinking_count += yes
        not_count += no
        tallies[row] = (int(np.count_nonzero(yes)), int(np.count_nonzero(no)), n_broken)

    level_key = next((key for key in kernel.level_fields if key in checked and len(checked[key]) > 1), None)
    if not one_pass:
        level_key = None
    # the state-selecting parameters slowest, so that a bounded cache builds each state once
    outer = sorted((key for key in keys if key != level_key), key=lambda key: key not in kernel.state_fields)
    inner = [level_key] if level_key is not None else []
    for picked in itertools.product(*(range(len(checked[key])) for key in outer)):
        setting = {key: checked[key][i] for key, i in zip(outer, picked)}
        row = sum(i * strides[key] for key, i in zip(outer, picked))
        values: list[Any] = checked[level_key] if level_key is not None else []
        levels = (kernel.levels(kernel.parameters_of({**base, **setting, level_key: values[0]}), level_key, values)
                  if level_key is not None else None)
        if levels is None or level_key is None:  # every setting by itself
            for extra in itertools.product(*(range(len(checked[key])) for key in inner)):
                chosen = {**setting, **{key: checked[key][i] for key, i in zip(inner, extra)}}
                params = kernel.parameters_of({**base, **chosen})
                record(params, kernel.verdict(params), row + sum(i * strides[key] for key, i in zip(inner, extra)))
        elif has_breaks:  # each value's verdict, judged for boundary changes
            for position, index in enumerate(levels.order.tolist()):
                params = kernel.parameters_of({**base, **setting, level_key: values[index]})
                record(params, levels.at(position), row + index * strides[level_key])
        else:  # every value at once: a unit is shrinking at the first yes_upto values, not from no_from on
            count = len(values)
            yes_upto, no_from = levels.yes_upto, levels.no_from
            shrinking_count += yes_upto.astype(np.int32)
            not_count += (count - no_from.astype(np.int32))
            above = np.cumsum(np.bincount(yes_upto, minlength=count + 1)[::-1])[::-1]  # units with yes_upto >= p
            below = np.cumsum(np.bincount(no_from, minlength=count + 1))  # units with no_from <= p
            rows = row + levels.order * strides[level_key]
            tallies[rows, 0] = above[1:]
            tallies[rows, 1] = below[:count]

    combos = pd.DataFrame(list(itertools.product(*grids)), columns=keys)
    combos["shrinking"] = tallies[:, 0]
    combos["not_shrinking"] = tallies[:, 1]
    combos["units_with_data"] = tallies[:, :2].sum(axis=1)
    combos["insufficient_data"] = n_units - combos["units_with_data"] - tallies[:, 2]
    if tallies[:, 2].any():
        combos["boundary_change"] = tallies[:, 2]

    total = len(combos)
    evaluable_count = shrinking_count + not_count
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(evaluable_count > 0, shrinking_count / np.maximum(evaluable_count, 1), np.nan)
    robustness = np.select(
        [(evaluable_count == 0) & (broken_count > 0), evaluable_count == 0, shrinking_count == evaluable_count,
         shrinking_count == 0],
        np.array(["boundary_change", "insufficient_data", "robust", "never"], dtype=object),
        default="borderline",
    )
    units = pd.DataFrame(
        {
            "name": panel.units["name"].to_numpy() if "name" in panel.units.columns else pd.NA,
            "parent_name": panel.units["parent_name"].to_numpy() if "parent_name" in panel.units.columns else pd.NA,
            "combinations": total,
            "evaluable": evaluable_count,
            "shrinking": shrinking_count,
            "share": np.round(share, 6),
            "robustness": robustness,
            "via_stable_cluster": via_count,
        },
        index=panel.units.index,
    )
    return SensitivityResult(
        standard_id=std.id,
        base=base,
        vary={k: list(v) for k, v in zip(keys, grids)},
        counts=combos,
        units=units,
        panel_id=panel.id,
    )
