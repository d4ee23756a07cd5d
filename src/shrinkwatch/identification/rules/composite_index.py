"""``composite_index``: oriented, normalised, weighted indicators summed into a score; the top classes
of the score are shrinking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.identification.indicators import Tri, YearGrid, annual_rate
from shrinkwatch.identification.kernel import Evaluation, Kernel, WindowParameters
from shrinkwatch.identification.schema import IndicatorSpec
from shrinkwatch.identification.scoring import classify, entropy_weights, normalise
from shrinkwatch.identification.text import Text, fixed, pick, verdict_sentence

__all__ = ["CompositeIndexParameters", "CompositeIndexContext", "CompositeIndex"]


@dataclass(frozen=True)
class CompositeIndexParameters(WindowParameters):
    """The indicators (``[[indicators]]`` of the standard) over ``window`` years before ``year``:
    ``normalisation``, ``weighting``, ``classification`` into ``classes`` classes, of which the top
    ``shrinking_classes`` are shrinking; ``missing_indicators`` dropped or an error; ``seed`` of natural breaks."""

    window: int
    normalisation: Literal["minmax", "z"]
    weighting: Literal["entropy", "equal", "user"]
    classification: Literal["quantile", "natural_breaks"]
    classes: int
    shrinking_classes: int
    missing_indicators: Literal["drop", "error"]
    seed: int

    lookback_fields = ("window",)


@dataclass(frozen=True)
class CompositeIndexContext:
    """Each unit's class of the score (0 = lowest, -1 without a score) and the indicators the index used."""

    classes: np.ndarray
    present: list[IndicatorSpec]


class CompositeIndex(Kernel[CompositeIndexParameters, CompositeIndexContext]):
    """Oriented, normalised, weighted indicators; the top classes of the score are shrinking."""

    rule = "composite_index"
    parameters = CompositeIndexParameters

    def _raw(self, params: CompositeIndexParameters) -> tuple[list[IndicatorSpec], np.ndarray, int, int, YearGrid]:
        population_name = params.indicator
        population = self.grid(population_name)
        year, column = self.column(population, params.year)
        start = population.start_column(year - params.window)
        specs = list(self.standard.indicators) if self.standard is not None else []
        present = [s for s in specs if s.column in self.panel.values.columns]
        absent = [s.column for s in specs if s.column not in self.panel.values.columns]
        if absent and params.missing_indicators == "error":
            raise DataError(f"composite index: indicator(s) {absent} not in panel {self.panel.id!r} "
                            f"(use --set missing_indicators=drop to leave them out)")
        if not present:
            return [], np.empty((self.n, 0)), year, column, population

        def make() -> np.ndarray:
            columns = []
            for spec in present:  # a handful of indicators, each a whole-matrix operation
                grid = self.grid(spec.column)
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

    def _score(self, params: CompositeIndexParameters) -> tuple[list[IndicatorSpec], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        present, raw, _, _, _ = self._raw(params)
        if not present:
            return present, np.full(self.n, np.nan), np.zeros(self.n, dtype=bool), np.empty(0), raw
        complete = np.isfinite(raw).all(axis=1)
        key = ("score", id(raw), params.normalisation, params.weighting)

        def make() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            data = np.where(complete[:, None], raw, np.nan)
            scaled = normalise(data, params.normalisation)
            weighting = params.weighting
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

    def evaluate(self, params: CompositeIndexParameters) -> Evaluation[CompositeIndexContext]:
        present, score, complete, weights, scaled = self._score(params)
        _, _, year, column, population = self._raw(params)
        k = params.classes
        top = params.shrinking_classes
        if top > k:
            raise OptionError(f"parameter 'shrinking_classes': {top} is more than classes = {k}")
        classes = classify(score, k, params.classification, params.seed)
        verdict = Tri.of(classes >= k - top, complete)
        facts: dict[str, np.ndarray] = {"evaluation_year": np.full(self.n, year),
                                        "index_class": np.where(classes >= 0, classes + 1, 0)}
        for dimension in ("population", "economy", "space", "society"):
            members = [i for i, s in enumerate(present) if s.dimension == dimension]
            if members:
                facts[f"{dimension}_score"] = np.where(
                    complete, (scaled[:, members] * weights[members]).sum(axis=1), np.nan)
        start = population.start_column(year - params.window)
        return Evaluation(
            verdict=verdict,
            annual_rate=self.rate(population, start, column),
            criteria={"index": (score, verdict)},
            facts=facts,
            pattern=self.pattern(params.indicator, column),
            context=CompositeIndexContext(classes=classes, present=present),
        )

    def verdict(self, params: CompositeIndexParameters) -> Tri:
        _, score, complete, _, _ = self._score(params)
        k, top = params.classes, params.shrinking_classes
        classes = classify(score, k, params.classification, params.seed)
        return Tri.of(classes >= k - top, complete)

    def reasons(self, evaluation: Evaluation[CompositeIndexContext], params: CompositeIndexParameters,
                lang: str) -> Text:
        ctx = evaluation.context
        score, verdict = evaluation.criteria["index"]
        k, top = params.classes, params.shrinking_classes
        cls = fixed(ctx.classes + 1.0, 0)
        names = ", ".join(s.name for s in ctx.present) or "none"
        if lang == "zh":
            text = ("综合收缩指数" + fixed(score, 3) + f"，位于{k}类中的第" + cls + f"类（前{top}类计为收缩；指标：{names}）")
            unknown = f"指标（{names}）不全，无法计算综合指数"
            return verdict_sentence(verdict, [pick([verdict.known], [text], unknown)], lang)
        text = ("composite shrinkage index " + fixed(score, 3) + ", class " + cls + f" of {k} (top {top} counted as "
                f"shrinking; indicators: {names})")
        unknown = f"an indicator of the index ({names}) is missing, so the index cannot be computed"
        return verdict_sentence(verdict, [pick([verdict.known], [text], unknown)], lang)
