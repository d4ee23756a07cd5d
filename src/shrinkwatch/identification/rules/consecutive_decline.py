"""``consecutive_decline``: the population fell in each of the ``n`` years ending at the evaluation year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from shrinkwatch.identification.indicators import Tri, decline_runs
from shrinkwatch.identification.kernel import Evaluation, Kernel, Levels, WindowParameters
from shrinkwatch.identification.text import Text, as_text, choose, fixed, indicator_name

__all__ = ["ConsecutiveDeclineParameters", "ConsecutiveDeclineContext", "ConsecutiveDecline"]


@dataclass(frozen=True)
class ConsecutiveDeclineParameters(WindowParameters):
    """``n`` consecutive declines of at least ``min_annual_loss`` each, ending at ``year``."""

    n: int
    min_annual_loss: float

    lookback_fields = ("n",)


@dataclass(frozen=True)
class ConsecutiveDeclineContext:
    """The evaluation ``year``, the ``first`` year of the window, and per unit the ``latest`` run, the
    ``longest`` run and its ``longest_end`` year."""

    year: int
    first: int
    latest: np.ndarray
    longest: np.ndarray
    longest_end: np.ndarray


class ConsecutiveDecline(Kernel[ConsecutiveDeclineParameters, ConsecutiveDeclineContext]):
    """Shrinking in year t if P fell in each of the n years ending at t."""

    rule = "consecutive_decline"
    parameters = ConsecutiveDeclineParameters
    state_fields = ("indicator", "min_annual_loss")
    level_fields = ("min_annual_loss",)

    def verdict(self, params: ConsecutiveDeclineParameters) -> Tri:
        indicator = params.indicator
        grid = self.grid(indicator)
        _, column = self.column(grid, params.year)
        return self.consecutive(indicator, column, params.n, params.min_annual_loss)

    def levels(self, params: ConsecutiveDeclineParameters, key: str, values: Sequence[Any]) -> Levels | None:
        """Every ``min_annual_loss`` of ``values`` in one pass (:meth:`Kernel.consecutive_levels`)."""
        if key != "min_annual_loss":
            return None
        _, column = self.column(self.grid(params.indicator), params.year)
        return self.consecutive_levels(params.indicator, column, params.n, [float(v) for v in values])

    def verdicts_as_of(self, params: ConsecutiveDeclineParameters, years: Sequence[int]) -> Tri:
        """Every as-of year at once, from the cached run lengths (as :meth:`Kernel.consecutive`, column-wise)."""
        grid = self.grid(params.indicator)
        columns = np.array([self.column(grid, year)[1] for year in years], dtype=np.intp)
        _, runs, no_count = self.declines(params.indicator, params.min_annual_loss)
        n = params.n
        return Tri(runs[:, columns] >= n, no_count[:, columns + 1] - no_count[:, np.maximum(columns - n + 1, 0)] > 0)

    def evaluate(self, params: ConsecutiveDeclineParameters) -> Evaluation[ConsecutiveDeclineContext]:
        indicator = params.indicator
        grid = self.grid(indicator)
        year, column = self.column(grid, params.year)
        n = params.n
        flags, runs, _ = self.declines(indicator, params.min_annual_loss)
        verdict = self.verdict(params)
        summary = decline_runs(flags, grid.years, column, runs)
        longest, longest_end = summary.longest, summary.longest_end
        latest = summary.latest.astype(float)
        latest_run = runs[:, column].copy()  # a copy: the run lengths of every year can go
        start = max(column - n, 0)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"decline_run": (latest, verdict)},
            facts={"evaluation_year": np.full(self.n, year), "latest_run": latest_run,
                   "longest_run": longest, "longest_run_end": longest_end},
            pattern=self.pattern(indicator, column),
            context=ConsecutiveDeclineContext(year=year, first=int(grid.years[max(column - n + 1, 0)]),
                                              latest=latest_run, longest=longest, longest_end=longest_end),
        )

    def reasons(self, evaluation: Evaluation[ConsecutiveDeclineContext], params: ConsecutiveDeclineParameters,
                lang: str) -> Text:
        ctx = evaluation.context
        year, first, n = ctx.year, ctx.first, params.n
        what = indicator_name(params.indicator, lang)
        latest, longest = as_text(ctx.latest), as_text(ctx.longest)
        end = fixed(ctx.longest_end, 0, missing="-")
        rate = fixed(evaluation.annual_rate * 100, 2, signed=True)
        verdict = evaluation.verdict
        if lang == "zh":
            detail = "（当前连续下降" + latest + "年，最长" + longest + "年，止于" + end + "年；年均" + rate + "%）"
            known = (f"{what}在截至{year}年的{n}年中" + choose(verdict.yes, "逐年下降", "并非逐年下降") + detail
                     + choose(verdict.yes, "，判定为收缩。", "，未达到收缩标准。"))
            unknown = f"{what}缺少{first - 1}–{year}年中部分年份的数据，无法判定是否连续{n}年下降（已知连续下降" + latest + "年）。"
        else:
            detail = (" (latest run of declines " + latest + " yr, longest " + longest + " yr ending " + end
                      + "; " + rate + "%/yr over the window)")
            known = (what.capitalize() + choose(verdict.yes, " fell", " did not fall")
                     + f" in each of the {n} years to {year}" + detail
                     + choose(verdict.yes, ": shrinking.", ": not shrinking."))
            unknown = (f"Insufficient data: {what} is missing for some of the years {first - 1}-{year} needed to "
                       f"count {n} consecutive declines (known run: " + latest + " yr).")
        return known.where(verdict.known, unknown)
