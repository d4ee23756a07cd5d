"""``peak_loss``: far below the recent peak, or several consecutive declines within the last few years."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification.indicators import PeakLoss, Tri, peak_loss, tri_or
from shrinkwatch.identification.kernel import Evaluation, Kernel, Levels, WindowParameters
from shrinkwatch.identification.text import Text, fixed, indicator_name, mark, verdict_sentence

__all__ = ["PeakLossParameters", "PeakLossContext", "PeakLossRule"]


@dataclass(frozen=True)
class PeakLossParameters(WindowParameters):
    """At most ``peak_ratio`` of the peak over ``peak_window`` years, or ``decline_years`` consecutive
    declines within the last ``decline_window`` years."""

    peak_ratio: float
    peak_window: int
    decline_years: int
    decline_window: int

    lookback_fields = ("peak_window", "decline_window")
    #: the peak is the highest value of the panel's years in the last ``peak_window`` (identify reads it so in
    #: any year); the recent declines need their whole ``decline_window``
    needed_fields = ("decline_window",)


@dataclass(frozen=True)
class PeakLossContext:
    """The evaluation ``year`` and, per unit, the ``peak_year`` (NaN without a peak)."""

    year: int
    peak_year: np.ndarray


class PeakLossRule(Kernel[PeakLossParameters, PeakLossContext]):
    """P(t) <= ratio * max P over the last W years, OR k consecutive declines within the last w years."""

    rule = "peak_loss"
    parameters = PeakLossParameters

    def _peak(self, indicator: str, column: int, window: int) -> PeakLoss:
        grid = self.grid(indicator)
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

    level_fields = ("peak_ratio",)

    def verdict(self, params: PeakLossParameters) -> Tri:
        return self._parts(params)[0]

    def levels(self, params: PeakLossParameters, key: str, values: Sequence[Any]) -> Levels | None:
        """Every ``peak_ratio`` of ``values`` in one pass: a higher ratio only adds units below it, so, from the
        highest ratio down, a unit is below the first ``count`` of them (its ratio at most theirs)."""
        ratios = np.asarray([float(v) for v in values], dtype=float)
        if key != "peak_ratio" or np.isnan(ratios).any():
            return None
        indicator = params.indicator
        _, column = self.column(self.grid(indicator), params.year)
        loss = self._peak(indicator, column, params.peak_window)
        recent, _ = self._recent(indicator, column, params.decline_years, params.decline_window)
        order = np.argsort(-ratios, kind="stable")  # strictest (lowest) last
        ascending = ratios[order][::-1]
        # ratio <= r for the ratios r from the highest down to the count-th: NaN (no ratio) is below none
        count = len(order) - np.searchsorted(ascending, loss.ratio, side="left")
        decided = loss.complete & np.isfinite(loss.ratio)
        return Levels(order=order, yes_upto=np.where(recent.yes, len(order), count),
                      no_from=np.where(recent.no & decided, count, len(order)))

    def verdicts_as_of(self, params: PeakLossParameters, years: Sequence[int]) -> Tri:
        """Every as-of year at once: the peak and the runs of declines as maxima over sliding windows of the
        whole grid (what :meth:`_parts` reads per year, column by column)."""
        k, window = params.decline_years, params.decline_window
        if k > window:
            raise OptionError(f"parameter 'decline_years': {k} consecutive declines cannot fit in "
                              f"decline_window = {window} years")
        grid = self.grid(params.indicator)
        columns = np.array([self.column(grid, year)[1] for year in years], dtype=np.intp)
        values = grid.values
        peak = _sliding(values, params.peak_window, np.fmax)[:, columns]  # NaN only where the window has no value
        current = values[:, columns]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(peak > 0, current / peak, np.nan)
        gaps = np.concatenate([np.zeros((self.n, 1), dtype=np.int32),
                               np.cumsum(np.isnan(values) & grid.in_panel[None, :], axis=1, dtype=np.int32)], axis=1)
        complete = gaps[:, columns + 1] == gaps[:, np.maximum(columns - params.peak_window + 1, 0)]
        over = ratio <= params.peak_ratio
        peak_verdict = Tri(over, ~over & complete & np.isfinite(ratio))
        _, runs, no_count = self.declines(params.indicator)
        ends = window - k + 1  # the run may end in any of the last window - k + 1 years
        longest = _sliding(runs, ends, np.maximum)[:, columns]
        every = np.arange(values.shape[1])
        unblocked = ~(no_count[:, every + 1] - no_count[:, np.maximum(every - k + 1, 0)] > 0)
        yes = longest >= k
        recent = Tri(yes, ~_sliding(unblocked, ends, np.logical_or)[:, columns] & ~yes)
        return tri_or(peak_verdict, recent)

    def _parts(self, params: PeakLossParameters) -> tuple[Tri, Tri, Tri, np.ndarray, np.ndarray, int, int]:
        indicator = params.indicator
        grid = self.grid(indicator)
        year, column = self.column(grid, params.year)
        loss = self._peak(indicator, column, params.peak_window)
        ratio = loss.ratio
        over = ratio <= params.peak_ratio
        peak = Tri(over, ~over & loss.complete & np.isfinite(ratio))
        recent, run_in_window = self._recent(indicator, column, params.decline_years,
                                             params.decline_window)
        return tri_or(peak, recent), peak, recent, ratio, run_in_window, year, column

    def evaluate(self, params: PeakLossParameters) -> Evaluation[PeakLossContext]:
        indicator = params.indicator
        verdict, peak, recent, ratio, run_in_window, year, column = self._parts(params)
        grid = self.grid(indicator)
        loss = self._peak(indicator, column, params.peak_window)
        peak_value, peak_year = loss.peak, loss.peak_year
        start = max(column - params.decline_window, 0)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(grid, start, column),
            criteria={"peak_loss": (ratio, peak), "recent_declines": (run_in_window, recent)},
            facts={"evaluation_year": np.full(self.n, year), "peak": peak_value, "peak_year": peak_year},
            pattern=self.pattern(indicator, column),
            context=PeakLossContext(year=year, peak_year=peak_year),
        )

    def reasons(self, evaluation: Evaluation[PeakLossContext], params: PeakLossParameters, lang: str) -> Text:
        ctx = evaluation.context
        year = ctx.year
        ratio, peak = evaluation.criteria["peak_loss"]
        run, recent = evaluation.criteria["recent_declines"]
        what = indicator_name(params.indicator, lang)
        share, when = fixed(ratio * 100, 1), fixed(ctx.peak_year, 0, missing="-")
        thr = f"{params.peak_ratio * 100:.0f}"
        k, w, big_w = params.decline_years, params.decline_window, params.peak_window
        runs = fixed(run, 0)
        if lang == "zh":
            first = (f"{year}年{what}为近{big_w}年峰值（" + when + "年）的" + share + f"%（阈值≤{thr}%，" + mark(peak, lang) + "）")
            second = (f"近{w}年最长连续下降" + runs + f"年（需{k}年，" + mark(recent, lang) + "）")
            return verdict_sentence(evaluation.verdict, [first, second], lang, "任一条件")
        first = (f"{what} in {year} at " + share + f"% of its {big_w}-year peak (" + when + f"; threshold <= {thr}%: "
                 + mark(peak, lang) + ")")
        second = f"longest run of declines in the last {w} years " + runs + f" yr ({k} needed: " + mark(recent, lang) + ")"
        return verdict_sentence(evaluation.verdict, [first, second], lang, "either criterion")


def _sliding(matrix: np.ndarray, width: int, combine: np.ufunc) -> np.ndarray:
    """``combine`` (a maximum) over the ``width`` columns ending at each column, clipped at the first, by
    doubling: log2(width) whole-matrix steps."""
    out = np.array(matrix, copy=True)
    span = 1
    while span * 2 <= width:
        out[:, span:] = combine(out[:, span:], out[:, :-span])
        span *= 2
    rest = width - span
    if rest > 0:
        out[:, rest:] = combine(out[:, rest:], out[:, :-rest].copy())
    return out
