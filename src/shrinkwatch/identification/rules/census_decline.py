"""``census_decline``: the population at a later (census) year below the earlier one by more than ``min_loss``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification.indicators import Tri, annual_rate, loss_ranks
from shrinkwatch.identification.kernel import (
    Evaluation,
    Kernel,
    Levels,
    RuleParameters,
    default_start_year,
    evaluation_year,
)
from shrinkwatch.identification.text import Text, fixed, halves, indicator_name, people, pick

__all__ = ["CensusDeclineParameters", "CensusDeclineContext", "CensusDecline"]


@dataclass(frozen=True)
class CensusDeclineParameters(RuleParameters):
    """``min_loss`` the loss needed; ``start_year``/``end_year`` the compared years (0: the census before
    the latest observed year, and that year)."""

    min_loss: float
    start_year: int
    end_year: int

    as_of_field = "end_year"

    def comparison_window(self, panel: Panel) -> tuple[int, int]:
        """``start_year`` and ``end_year``, with their defaults."""
        end = self.end_year or evaluation_year(panel, 0)
        return self.start_year or default_start_year(panel, end), end

    def first_year_needed(self, panel: Panel, years: Sequence[int] | None = None) -> int:
        """``start_year``, or the census before ``end_year`` (the panel's first year without one)."""
        return self.start_year or default_start_year(panel, self.end_year or evaluation_year(panel, 0), years)


@dataclass(frozen=True)
class CensusDeclineContext:
    """The compared years ``t1`` < ``t2`` and the values ``before`` and ``after`` (their relative change is
    the criterion ``decline``)."""

    t1: int
    t2: int
    before: np.ndarray
    after: np.ndarray


class CensusDecline(Kernel[CensusDeclineParameters, CensusDeclineContext]):
    """P(t2) < P(t1) * (1 - min_loss) between two (census) years."""

    rule = "census_decline"
    parameters = CensusDeclineParameters

    def _compared(self, params: CensusDeclineParameters) -> tuple[int, int, int, int]:
        """The compared years ``t1`` < ``t2`` and their columns."""
        grid = self.grid(params.indicator)
        t2 = params.end_year or int(self._observed[-1])
        t1 = params.start_year or default_start_year(self.panel, t2, self._years)
        c1, c2 = grid.column(t1, "start_year"), grid.column(t2, "end_year")
        if t2 <= t1:
            raise OptionError(f"parameters start_year={t1} and end_year={t2}: end_year must be after start_year")
        return t1, t2, c1, c2

    @staticmethod
    def _decline(before: np.ndarray, after: np.ndarray, min_loss: float) -> tuple[Tri, np.ndarray]:
        """The verdict (any shape) and which values allow one (both known, the earlier above 0)."""
        evaluable = np.isfinite(before) & np.isfinite(after) & (before > 0)
        return Tri.of(after < before * (1.0 - min_loss), evaluable), evaluable

    def verdict(self, params: CensusDeclineParameters) -> Tri:
        _, _, c1, c2 = self._compared(params)
        values = self.grid(params.indicator).values
        return self._decline(values[:, c1], values[:, c2], params.min_loss)[0]

    level_fields = ("min_loss",)

    def levels(self, params: CensusDeclineParameters, key: str, values: Sequence[Any]) -> Levels | None:
        """Every ``min_loss`` of ``values`` in one pass: per unit, how many of them (ascending) the loss
        exceeds (:func:`~shrinkwatch.identification.indicators.loss_ranks` of the two compared years)."""
        if key != "min_loss":
            return None
        _, _, c1, c2 = self._compared(params)
        values_ = self.grid(params.indicator).values
        before, after = values_[:, c1], values_[:, c2]
        thresholds = np.asarray([float(v) for v in values], dtype=float)
        order = np.argsort(thresholds, kind="stable")
        ranks = loss_ranks(np.column_stack([before, after]), thresholds[order])[:, 1]
        evaluable = self._decline(before, after, 0.0)[1]  # the earlier value above 0: the ranks are in order
        return Levels(order=order, yes_upto=np.where(evaluable, ranks, 0),
                      no_from=np.where(evaluable, ranks, len(order)))

    def verdicts_as_of(self, params: CensusDeclineParameters, years: Sequence[int]) -> Tri:
        """Every as-of year at once: the columns of each year's two compared years, gathered in one step."""
        pairs = [self._compared(params.as_of(year)) for year in years]
        values = self.grid(params.indicator).values
        first = np.array([pair[2] for pair in pairs], dtype=np.intp)
        last = np.array([pair[3] for pair in pairs], dtype=np.intp)
        return self._decline(values[:, first], values[:, last], params.min_loss)[0]

    def evaluate(self, params: CensusDeclineParameters) -> Evaluation[CensusDeclineContext]:
        grid, indicator = self.grid(params.indicator), params.indicator
        t1, t2, c1, c2 = self._compared(params)
        before, after = grid.values[:, c1].copy(), grid.values[:, c2].copy()  # copies: the grid can go
        verdict, evaluable = self._decline(before, after, params.min_loss)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(evaluable, after / np.where(before > 0, before, 1.0) - 1.0, np.nan)
        return Evaluation(
            verdict=verdict,
            annual_rate=annual_rate(before, after, t2 - t1),
            criteria={"decline": (change, verdict)},
            facts={f"{indicator}_{t1}": before, f"{indicator}_{t2}": after,
                   "start_year": np.full(self.n, t1), "end_year": np.full(self.n, t2)},
            pattern=self.pattern(indicator, c2),
            context=CensusDeclineContext(t1=t1, t2=t2, before=before, after=after),
        )

    def reasons(self, evaluation: Evaluation[CensusDeclineContext], params: CensusDeclineParameters,
                lang: str) -> Text:
        ctx = evaluation.context
        t1, t2, before, after = ctx.t1, ctx.t2, ctx.before, ctx.after
        change, _ = evaluation.criteria["decline"]
        indicator, min_loss = params.indicator, params.min_loss
        what = indicator_name(indicator, lang)
        # one formatting pass over both columns (Arrow call overhead dominates at county scale)
        b, a = halves(people(np.concatenate([before, after]), lang), len(before))
        pct, rate = halves(fixed(np.concatenate([change, evaluation.annual_rate]) * 100, 2, signed=True),
                            len(before))
        shrinking, known = evaluation.verdict.yes, evaluation.verdict.known
        if lang == "zh":
            # the words around a number picked whole: fewer pieces to join
            verb = pick([after < before, after > before], [f"降至{t2}年的", f"增至{t2}年的"], f"持平于{t2}年的")
            verdict = pick([shrinking], ["%），判定为收缩。"], "%），未达到收缩标准。")
            text = f"{what}由{t1}年的" + b + verb + a + "（" + pct + "%，年均" + rate + verdict
        else:
            # the words around a number picked whole: fewer pieces to join
            subject = what.capitalize()
            verb = pick([after < before, after > before], [f"{subject} fell from ", f"{subject} rose from "],
                        f"{subject} was unchanged from ")
            threshold = f"the {min_loss:.1%} threshold"
            verdict = pick([shrinking], [f"%/yr); a loss beyond {threshold}: shrinking."],
                           f"%/yr); not a loss beyond {threshold}: not shrinking.")
            text = verb + b + f" ({t1}) to " + a + f" ({t2}), " + pct + "% (" + rate + verdict
        if known.all():  # every unit judged: no sentence on missing data to write
            return text
        # a value of 0 (or below) at t1 is data, not a gap: the change from it is undefined, and the reason says so
        not_positive_1 = np.isfinite(before) & (before <= 0)
        missing_1 = ~np.isfinite(before)
        missing_2 = ~np.isfinite(after)
        if lang == "zh":
            missing = pick([missing_1 & missing_2, missing_1], [f"{t1}、{t2}", str(t1)], str(t2))
            zero = (f"{what}{t1}年为" + b + "，无法计算变化率" + pick([missing_2], [f"，且缺少{t2}年数据"], "")
                    + "，无法判定。")
            insufficient = (f"{what}缺少" + missing + "年数据，无法判定。").where(~not_positive_1, zero)
        else:
            missing = pick([missing_1 & missing_2, missing_1], [f"{t1} and {t2}", str(t1)], str(t2))
            zero = (f"Insufficient data: {what} is " + b + f" in {t1}, so its change is undefined"
                    + pick([missing_2], [f"; not available for {t2}"], "") + ".")
            insufficient = (f"Insufficient data: {what} not available for " + missing + ".").where(~not_positive_1,
                                                                                                  zero)
        return text.where(known, insufficient)
