"""A standard's status at any year, on the real panel and on simulated population paths.

"Shrinking at year t" is the standard with its evaluation year (the rule's
:attr:`~shrinkwatch.identification.kernel.RuleParameters.as_of_field`: ``year``, or ``end_year`` for the
intercensal rule) set to t and everything else as resolved for the panel, as the status timeline judges it
(:func:`shrinkwatch.identification.engine.judge`: no verdict across a boundary break); an intercensal comparison
whose earlier year is left to its default keeps the default the panel gives it (the census before t on
a census series, else the panel's first year), written out explicitly so that a simulated panel,
which holds only the years the rule reads, compares the same years.

Simulated paths are judged by the rule's own kernel: the units x draws paths become the units of one
panel, given to the kernel as its year grid (:meth:`~shrinkwatch.identification.kernel.Kernel.of_grid`),
and :meth:`~shrinkwatch.identification.kernel.Kernel.verdict` evaluates them all at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.core.meta import PanelMeta
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.engine import judge, resolve_for_panel
from shrinkwatch.identification.indicators import Tri, YearGrid
from shrinkwatch.identification.kernel import Kernel, RuleParameters, WindowParameters, default_start_year
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard

__all__ = ["StatusRule", "status_rule", "FORECASTABLE_RULES", "SIMULATED_PER_BLOCK"]

#: Rules judged on the population indicator alone, unit by unit: a forecast of population decides them.
#: (cn-2025 needs GDP and built-up area, composite-index normalises across units: neither is forecast.)
FORECASTABLE_RULES = ("census_decline", "consecutive_decline", "peak_loss", "scirn")
#: Simulated units (units x draws) judged at once by :meth:`StatusRule.simulated`: bounds its memory (a few
#: copies of 8 bytes x years x this) whatever the number of units.
SIMULATED_PER_BLOCK = 250_000


@dataclass(frozen=True)
class StatusRule:
    """A standard resolved for a panel, able to judge any year: ``values`` the resolved parameters,
    ``year_field`` the parameter that holds the evaluation year."""

    standard: Standard
    values: dict[str, Any]
    year_field: str
    notes: tuple[str, ...]
    panel_first_year: int
    census_years: tuple[int, ...]

    @property
    def indicator(self) -> str:
        return str(self.values["indicator"])

    def kernel(self, panel: Panel) -> Kernel[Any, Any]:
        return kernel_class(self.standard.rule)(panel, self.standard)

    def parameters_at(self, kernel: Kernel[Any, Any], year: int) -> RuleParameters:
        """The rule's parameters judging ``year``, with an intercensal start year written out as the real
        panel's default (the census before ``year``, else the panel's first year)."""
        params = kernel.parameters_of(self.values).as_of(int(year))
        if int(getattr(params, "start_year", -1)) == 0:
            params = dataclasses.replace(params, start_year=default_start_year(self._skeleton, int(year)))  # type: ignore[call-arg]
        return params

    @cached_property
    def _skeleton(self) -> Panel:
        """A panel of the real panel's first year and census years (no unit of it): what the default start year
        reads; made once."""
        return Panel.from_series({"_": [np.nan]}, years=[self.panel_first_year], census_years=self.census_years)

    def values_at(self, kernel: Kernel[Any, Any], year: int) -> dict[str, Any]:
        """The resolved parameters judging ``year`` as plain values (the intercensal start year written out)."""
        params = self.parameters_at(kernel, year)
        return {key: getattr(params, key, value) for key, value in self.values.items()}

    def first_year(self, kernel: Kernel[Any, Any], years: list[int]) -> int:
        """The earliest year the rule reads when judging any of ``years``."""
        starts = []
        for year in years:
            params = self.parameters_at(kernel, year)
            if isinstance(params, WindowParameters):
                lookback = params.lookback
                starts.append(int(year) - (lookback if lookback is not None else 10_000))
            else:
                starts.append(int(getattr(params, "start_year", year)))
        return min(starts)

    def status(self, panel: Panel, year: int, kernel: Kernel[Any, Any] | None = None) -> Tri:
        """The three-valued status of every unit of the real ``panel`` in ``year``, judged as the status timeline
        judges each as-of year (:func:`~shrinkwatch.identification.engine.judge`): a comparison across a boundary
        break is undecided. Stable clusters are not used: a forecast is of units, not of clusters."""
        kernel = kernel if kernel is not None else self.kernel(panel)
        params = self.parameters_at(kernel, year)
        return judge(panel, params, kernel.verdict(params), None).verdict

    def simulated(self, history_years: np.ndarray, history_levels: np.ndarray, target_years: list[int],
                  paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Judge simulated paths: ``history_levels`` (units x history years) followed by ``paths`` (units x draws
        x targets, populations). Returns ``yes`` and ``known`` (units x draws x targets).

        The rules judge each unit on its own values, so the paths are judged in blocks of units of at most
        :data:`SIMULATED_PER_BLOCK` simulated units (units x draws) each: the same verdicts as all at once, with the
        memory of one block (a million units x 100 draws would otherwise be a panel of 10^8 units)."""
        n_units, draws, n_targets = paths.shape
        yes = np.zeros((n_units, draws, n_targets), dtype=bool)
        known = np.zeros_like(yes)
        per_block = max(1, SIMULATED_PER_BLOCK // max(draws, 1))
        for start in range(0, n_units, per_block):  # blocks of units, each judged vectorised
            stop = min(start + per_block, n_units)
            yes[start:stop], known[start:stop] = self._judged(history_years, history_levels[start:stop],
                                                              target_years, paths[start:stop])
        return yes, known

    def _judged(self, history_years: np.ndarray, history_levels: np.ndarray, target_years: list[int],
                paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`simulated` on one block: the units x draws paths as the units of one panel, judged at once by
        the rule's kernel of their year grid (:meth:`~shrinkwatch.identification.kernel.Kernel.of_grid`: the
        verdicts of the kernel of that panel, without its long (unit, year) frame)."""
        n_units, draws, n_targets = paths.shape
        years = np.array([int(y) for y in history_years] + [int(y) for y in target_years], dtype=np.int64)
        if len(np.unique(years)) != len(years):
            raise OptionError(f"simulated paths: the history and target years must be distinct ({years.tolist()})")
        first = int(years.min())
        axis = np.arange(first, int(years.max()) + 1, dtype=np.int64)
        in_panel = np.zeros(len(axis), dtype=bool)
        in_panel[years - first] = True
        values = np.empty((n_units, draws, len(axis))) if in_panel.all() else np.full((n_units, draws, len(axis)), np.nan)
        values[:, :, _columns(years[: len(history_years)] - first)] = history_levels[:, None, :]
        values[:, :, _columns(years[len(history_years):] - first)] = paths
        grid = YearGrid(values=values.reshape(n_units * draws, len(axis)), years=axis, in_panel=in_panel)
        kernel = kernel_class(self.standard.rule).of_grid(
            grid, self.indicator, self.standard, meta=PanelMeta(id="simulated", census_years=self.census_years))
        yes = np.zeros((n_units, draws, n_targets), dtype=bool)
        known = np.zeros_like(yes)
        for j, year in enumerate(target_years):
            verdict = kernel.verdict(self.parameters_at(kernel, year))
            yes[:, :, j] = verdict.yes.reshape(n_units, draws)
            known[:, :, j] = verdict.known.reshape(n_units, draws)
        return yes, known


def _columns(positions: np.ndarray) -> slice | np.ndarray:
    """``positions`` as a slice where they are evenly spaced (a regular series' years: a strided copy, several
    times faster than indexing by the array), else as they are."""
    if len(positions) > 1 and positions[1] > positions[0] and (np.diff(positions) == positions[1] - positions[0]).all():
        return slice(int(positions[0]), int(positions[-1]) + 1, int(positions[1] - positions[0]))
    return positions


def status_rule(panel: Panel, standard: str | Standard, settings: dict[str, Any] | None = None) -> StatusRule:
    """The standard resolved for ``panel`` as a :class:`StatusRule`; a rule the forecasts cannot decide is an
    OptionError naming the ones they can."""
    std = load_standard(standard)
    if std.rule not in FORECASTABLE_RULES:
        raise OptionError(message("forecast.unavailable.not_population", "en", standard_id=std.id, rule=repr(std.rule),
                                  rules=", ".join(FORECASTABLE_RULES)))
    values, notes = resolve_for_panel(std, panel, settings)
    if std.rule == "scirn" and values.get("structural") == "require":
        raise OptionError(message("forecast.unavailable.structural", "en", standard_id=std.id))
    year_field = kernel_class(std.rule).parameters.as_of_field  # the field the status timeline sets per year
    return StatusRule(standard=std, values=dict(values), year_field=year_field, notes=tuple(notes),
                      panel_first_year=int(panel.years[0]), census_years=tuple(panel.meta.census_years))
