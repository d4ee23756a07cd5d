"""``cn_2025``: the seed article's three criteria (population decline, slow real GDP growth, land-population
mismatch) over the ``n`` years ending at the evaluation year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification.indicators import (
    Tri,
    YearGrid,
    benchmark_growth,
    elasticity,
    tapio_state,
    tri_and,
    tri_or,
    window_growth,
)
from shrinkwatch.identification.kernel import Evaluation, Kernel, WindowParameters
from shrinkwatch.identification.text import Text, as_text, fixed, indicator_name, mark, verdict_sentence

__all__ = ["China2025Parameters", "China2025Context", "China2025"]


@dataclass(frozen=True)
class China2025Parameters(WindowParameters):
    """``n`` years of population decline; real GDP growth (``gdp_indicator``) below ``gdp_benchmark``
    (auto, national, aggregate or a rate in %/yr); built-up area (``land_indicator``) growing while the
    population falls, or faster than ``elasticity_threshold`` times it; ``combine`` the criteria;
    ``land_missing`` what a panel without any built-up data gets: ``not_assessed`` (verdicts on
    population and GDP, the land criterion reported as not assessed) or ``insufficient_data``."""

    n: int
    gdp_indicator: str
    gdp_benchmark: str
    land_indicator: str
    elasticity_threshold: float
    combine: Literal["all", "population_plus_any"]
    land_missing: Literal["not_assessed", "insufficient_data"]

    lookback_fields = ("n",)


@dataclass(frozen=True)
class China2025Context:
    """The window from ``start_year`` to the evaluation ``year``; the GDP benchmark rate ``bench`` and where it
    came from (``bench_source``); per unit the population and built-up area changes over the window; whether
    the panel has a GDP series (``gdp_present``) and the land indicator (``land_present``), and whether the
    land criterion was set aside for want of any built-up data (``land_set_aside``)."""

    year: int
    start_year: int
    bench: float
    bench_source: str
    pop_change: np.ndarray
    land_change: np.ndarray
    gdp_present: bool
    land_present: bool
    land_set_aside: bool = False


class China2025(Kernel[China2025Parameters, China2025Context]):
    """The seed article's three criteria over the n years ending at the evaluation year."""

    rule = "cn_2025"
    parameters = China2025Parameters

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
        weights_grid = self.optional_grid("gdp")
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

    def evaluate(self, params: China2025Parameters) -> Evaluation[China2025Context]:
        indicator = params.indicator
        population = self.grid(indicator)
        year, column = self.column(population, params.year)
        n = params.n
        start = column - n
        if start < 0:
            raise OptionError(f"parameter 'n': a {n}-year window ending {year} starts before the panel's first "
                              f"year {int(population.years[0])}")
        # (a) population fell in each of the n years
        _, runs, _ = self.declines(indicator)
        decline = self.consecutive(indicator, column, n)
        # (b) real GDP annual growth below the benchmark
        gdp_grid = self.optional_grid(params.gdp_indicator)
        growth_grid = self.optional_grid("gdp_real_growth") if gdp_grid is None else None
        if gdp_grid is not None:
            gdp_rate = self.rate(gdp_grid, start, column)
            bench, bench_source = self._benchmark(gdp_grid, start, column, params.gdp_benchmark,
                                                  params.gdp_indicator)
            gdp = Tri.of(gdp_rate < bench, np.isfinite(gdp_rate) & np.isfinite(bench))
        elif growth_grid is not None:
            # yearbooks publish real growth (GDP增长率, %) rather than a real GDP series: compound it
            gdp_rate, bench, bench_source = self._growth_rates(growth_grid, int(population.years[start]), year,
                                                               params.gdp_benchmark)
            gdp = Tri.of(gdp_rate < bench, np.isfinite(gdp_rate) & np.isfinite(bench))
        else:
            gdp_rate, bench, bench_source = np.full(self.n, np.nan), float("nan"), "missing"
            gdp = Tri.unknown(self.n)
        # (c) land-population mismatch
        pop_change = window_growth(population, start, column)
        land_grid = self.optional_grid(params.land_indicator)
        land_change = window_growth(land_grid, start, column) if land_grid is not None else np.full(self.n, np.nan)
        e = elasticity(land_change, pop_change)
        known = np.isfinite(pop_change) & np.isfinite(land_change)
        paradox = (land_change > 0) & (pop_change < 0)
        outpacing = (pop_change > 0) & (e > params.elasticity_threshold)
        land = Tri.of(paradox | outpacing, known)

        def combined(land: Tri) -> Tri:
            return tri_and(decline, gdp, land) if params.combine == "all" else tri_and(decline, tri_or(gdp, land))

        # No unit has built-up area at both ends of the window: the land criterion cannot be assessed for any
        # unit. By default the verdict rests on population and GDP ((a) and (b) under either combine rule) and
        # the units whose verdict the land criterion would decide are counted; land_missing =
        # "insufficient_data" keeps the strict reading. Built-up data for some units only is always strict.
        set_aside: dict[str, np.ndarray] = {}
        land_set_aside = not known.any() and params.land_missing == "not_assessed"
        if land_set_aside:
            verdict = tri_and(decline, gdp)
            everywhere = np.ones(self.n, dtype=bool)
            met, not_met = combined(Tri.of(everywhere, everywhere)), combined(Tri.of(~everywhere, everywhere))
            set_aside["land"] = met.known & not_met.known & (met.yes != not_met.yes)
        else:
            verdict = combined(land)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(population, start, column),
            criteria={"population": (runs[:, column].astype(float), decline), "gdp": (gdp_rate, gdp),
                      "land": (e, land)},
            facts={"evaluation_year": np.full(self.n, year), "window_start": np.full(self.n, int(population.years[start])),
                   "gdp_benchmark_rate": np.full(self.n, bench), "population_change": pop_change,
                   "land_change": land_change, "tapio_state": tapio_state(pop_change, land_change)},
            pattern=self.pattern(indicator, column),
            context=China2025Context(year=year, start_year=int(population.years[start]), bench=bench,
                                     bench_source=bench_source, pop_change=pop_change, land_change=land_change,
                                     gdp_present=gdp_grid is not None or growth_grid is not None,
                                     land_present=land_grid is not None, land_set_aside=land_set_aside),
            set_aside=set_aside,
        )

    def reasons(self, evaluation: Evaluation[China2025Context], params: China2025Parameters, lang: str) -> Text:
        ctx = evaluation.context
        n, year, start = params.n, ctx.year, ctx.start_year
        run, decline = evaluation.criteria["population"]
        gdp_rate, gdp = evaluation.criteria["gdp"]
        e, land = evaluation.criteria["land"]
        pop_name = indicator_name(params.indicator, lang)
        gdp_col, land_col = params.gdp_indicator, params.land_indicator
        bench = f"{ctx.bench * 100:+.2f}" if np.isfinite(ctx.bench) else "n/a"
        source = ctx.bench_source
        dp = fixed(ctx.pop_change * 100, 1, signed=True)
        dl = fixed(ctx.land_change * 100, 1, signed=True)
        state = as_text(tapio_state(ctx.pop_change, ctx.land_change))
        if lang == "zh":
            rule_note = "三项均需满足" if params.combine == "all" else "人口条件加任一其他条件"
            if ctx.land_set_aside:
                rule_note = f"无{land_col}数据，用地条件未评估：按人口与经济两项判定"
            a = f"{pop_name}截至{year}年连续下降" + fixed(run, 0) + f"年（需{n}年，" + mark(decline, lang) + "）"
            b = (f"{start}–{year}年实际GDP年均增长" + fixed(gdp_rate * 100, 2, signed=True)
                 + f"%，基准{bench}%（" + mark(gdp, lang) + "）") if ctx.gdp_present else \
                f"数据集无{gdp_col}或gdp_real_growth（" + mark(gdp, lang) + "）"
            c = ("建成区变化" + dl + "%、人口变化" + dp + "%，弹性" + fixed(e, 2) + "（" + mark(land, lang) + "）") \
                if ctx.land_present and not ctx.land_set_aside else \
                (f"用地条件未评估（数据集无{land_col}）" if ctx.land_set_aside
                 else f"数据集无{land_col}（" + mark(land, lang) + "）")
            return verdict_sentence(evaluation.verdict, [a, b, c], lang, rule_note)
        rule_note = "all three criteria" if params.combine == "all" else "population plus any other criterion"
        if ctx.land_set_aside:
            rule_note = f"population and GDP; land not assessed: no {land_col} data"
        a = f"{pop_name} declined " + fixed(run, 0) + f" consecutive yr to {year} ({n} needed: " + mark(decline, lang) + ")"
        b = (f"real GDP {start}-{year} " + fixed(gdp_rate * 100, 2, signed=True) + f"%/yr vs {source} benchmark "
             f"{bench}%/yr (" + mark(gdp, lang) + ")") if ctx.gdp_present else \
            f"no {gdp_col} or gdp_real_growth in the dataset (" + mark(gdp, lang) + ")"
        c = ("built-up area " + dl + "% vs population " + dp + "%, elasticity " + fixed(e, 2) + ", " + state
             + " (" + mark(land, lang) + ")") if ctx.land_present and not ctx.land_set_aside else \
            (f"land criterion not assessed (no {land_col} for any unit in the window)" if ctx.land_set_aside
             else f"no {land_col} in the dataset (" + mark(land, lang) + ")")
        return verdict_sentence(evaluation.verdict, [a, b, c], lang, rule_note)
