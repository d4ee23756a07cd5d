"""``scirn``: a city of at least ``min_population`` that lost population over more than two years
(Shrinking Cities International Research Network), with an optional employment signal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification.indicators import Tri, YearGrid, tri_and, window_growth
from shrinkwatch.identification.kernel import Evaluation, Kernel, WindowParameters
from shrinkwatch.identification.text import Text, fixed, indicator_name, mark, people, verdict_sentence

__all__ = ["ScirnParameters", "ScirnContext", "Scirn"]


@dataclass(frozen=True)
class ScirnParameters(WindowParameters):
    """At least ``min_population`` at the window's start, a net loss over ``window`` years with at least
    ``min_loss_years`` years of loss, and the employment signal (``structural``) of ``employment_indicator``."""

    min_population: float
    window: int
    min_loss_years: int
    structural: Literal["if_available", "require", "ignore"]
    employment_indicator: str

    lookback_fields = ("window",)


@dataclass(frozen=True)
class ScirnContext:
    """The window from ``start_year`` to the evaluation ``year``, whether the panel has the employment
    indicator (``employment_present``), and per unit the ``net_change`` of the population over the window."""

    year: int
    start_year: int
    employment_present: bool
    net_change: np.ndarray


class Scirn(Kernel[ScirnParameters, ScirnContext]):
    """Population >= min_population and loss over more than two years (+ employment decline)."""

    rule = "scirn"
    parameters = ScirnParameters

    def _window(self, params: ScirnParameters) -> tuple[YearGrid, int, int, int]:
        indicator = params.indicator
        grid = self.grid(indicator)
        year, column = self.column(grid, params.year)
        start = grid.start_column(year - params.window)
        while start < column and not grid.in_panel[start]:
            start += 1
        if start >= column:
            raise OptionError(f"parameter 'window': no panel year in the {params.window} years before {year}")
        return grid, year, column, start

    def _loss(self, indicator: str, start: int, column: int, k: int) -> tuple[np.ndarray, np.ndarray, Tri]:
        def make() -> tuple[np.ndarray, np.ndarray, Tri]:
            grid = self.grid(indicator)
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

    def evaluate(self, params: ScirnParameters) -> Evaluation[ScirnContext]:
        indicator = params.indicator
        grid, year, column, start = self._window(params)
        loss_years, first, loss = self._loss(indicator, start, column, params.min_loss_years)
        size = Tri.of(first >= params.min_population, np.isfinite(first))
        employment, jobs_change, structural, verdict = self._verdict(params, start, column, size, loss)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"size": (first, size), "loss": (loss_years, loss), "structural": (jobs_change, structural)},
            facts={"evaluation_year": np.full(self.n, year), "window_start": np.full(self.n, int(grid.years[start]))},
            pattern=self.pattern(indicator, column),
            context=ScirnContext(year=year, start_year=int(grid.years[start]),
                                 employment_present=employment is not None,
                                 net_change=window_growth(grid, start, column)),
        )

    def _verdict(self, params: ScirnParameters, start: int, column: int, size: Tri,
                 loss: Tri) -> tuple[YearGrid | None, np.ndarray, Tri, Tri]:
        """The employment grid (None: not used or not in the panel), the employment change, the structural
        signal and the verdict of size, loss and the signal as ``structural`` combines them."""
        mode = params.structural
        employment = self.optional_grid(params.employment_indicator) if mode != "ignore" else None
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
        return employment, jobs_change, structural, verdict

    def verdict(self, params: ScirnParameters) -> Tri:
        """The verdict without the evaluation's pattern and facts (sweeps, status timelines)."""
        _, _, column, start = self._window(params)
        _, first, loss = self._loss(params.indicator, start, column, params.min_loss_years)
        size = Tri.of(first >= params.min_population, np.isfinite(first))
        return self._verdict(params, start, column, size, loss)[3]

    def reasons(self, evaluation: Evaluation[ScirnContext], params: ScirnParameters, lang: str) -> Text:
        ctx = evaluation.context
        year, start = ctx.year, ctx.start_year
        first, size = evaluation.criteria["size"]
        loss_years, loss = evaluation.criteria["loss"]
        jobs, structural = evaluation.criteria["structural"]
        what = indicator_name(params.indicator, lang)
        minimum = f"{params.min_population:,.0f}"
        k = params.min_loss_years
        mode = params.structural
        net = fixed(ctx.net_change * 100, 1, signed=True)
        if lang == "zh":
            a = f"{start}年{what}" + people(first, lang) + f"（需≥{minimum}人，" + mark(size, lang) + "）"
            b = (f"{start}–{year}年人口下降" + fixed(loss_years, 0) + "年，净变化" + net + f"%（需净减少且下降≥{k}年，"
                 + mark(loss, lang) + "）")
            c = ("就业变化" + fixed(jobs * 100, 1, signed=True) + "%（" + mark(structural, lang) + "）"
                 if ctx.employment_present else "无就业数据（结构性信号" + ("未使用" if mode != "require" else "无法判定") + "）")
            return verdict_sentence(evaluation.verdict, [a, b, c], lang)
        a = f"{what} {start} " + people(first, lang) + f" (>= {minimum} needed: " + mark(size, lang) + ")"
        b = (f"{start}-{year} population fell in " + fixed(loss_years, 0) + " yr, net change " + net
             + f"% (a net loss and {k} yr of loss needed: " + mark(loss, lang) + ")")
        c = ("employment " + fixed(jobs * 100, 1, signed=True) + "% (structural signal: " + mark(structural, lang) + ")"
             if ctx.employment_present else
             ("no employment data (structural signal " + ("not applied" if mode != "require" else "undecided") + ")"))
        return verdict_sentence(evaluation.verdict, [a, b, c], lang)
