"""The identification engine: a standard applied to every unit of a panel, one explained row per unit.

:func:`identify` loads the standard, resolves its parameters (defaults, then
the user's overrides), builds the rule's typed parameter object, looks the
rule's kernel up in the registry (:data:`shrinkwatch.identification.rules.KERNELS`),
evaluates it over all units at once and assembles an
:class:`~shrinkwatch.core.Identification`. A unit whose compared years straddle
a boundary break gets no verdict (:func:`boundary_change_mask`), unless it can
be compared on stable geography: the units that exchanged territory within
the compared years are grouped into clusters whose outline did not change
(:func:`shrinkwatch.harmonize.stable_clusters`), the rule is evaluated on the
clusters, and every member gets its cluster's verdict (``via_stable_cluster``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import OptionError
from shrinkwatch.harmonize import boundary_break_mask, boundary_break_reasons
from shrinkwatch.harmonize.clusters import StableClusters, stable_clusters
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.indicators import PATTERN_LABELS, SEVERITY_LABELS, Tri, severity, severity_codes
from shrinkwatch.identification.kernel import Kernel, RuleParameters
from shrinkwatch.identification.rules import kernel_class
from shrinkwatch.identification.schema import Standard
from shrinkwatch.identification.text import labels, pick

__all__ = ["identify", "boundary_change_mask", "resolve_for_panel", "StableGeography", "Judged", "judge"]

#: Columns of the units table copied into every identification.
_UNIT_COLUMNS = ("name", "name_en", "parent_id", "parent_name", "kind", "region", "country")
#: Parameters whose 0 means "the default year", with the fact that reports the year used.
_YEAR_FACTS = (("start_year", "start_year"), ("end_year", "end_year"), ("year", "evaluation_year"))


#: Total-population indicators that stand in for each other when a standard's default is not in the panel
#: (registered 户籍 and resident 常住 population count the same places; the urban population does not).
POPULATION_SUBSTITUTES = {"pop_resident": ("pop_registered",), "pop_registered": ("pop_resident",)}


def resolve_for_panel(std: Standard, panel: Panel, settings: dict[str, Any] | None,
                      lang: str = "en") -> tuple[dict[str, Any], tuple[str, ...]]:
    """The standard's resolved parameters for ``panel`` and the notes on what was chosen for the user.

    A default population indicator the panel lacks is replaced by the total-population indicator it has
    (:data:`POPULATION_SUBSTITUTES`: resident for registered, or the reverse), and a note says so; an
    indicator the user set is never replaced.

    Examples
    --------
    >>> from shrinkwatch.identification.catalogue import load_standard
    >>> panel = Panel.from_series({"a": [3, 2]}, years=[2010, 2020], indicator="pop_registered")
    >>> values, notes = resolve_for_panel(load_standard("census-decline"), panel, None)
    >>> values["indicator"], notes[0][:60]
    ('pop_registered', 'population indicator: pop_registered (registered (hukou) pop')
    """
    values = std.resolve(settings)
    notes: list[str] = []
    given = set(settings or {})
    for key, spec in std.parameters.items():
        if not (key == "indicator" or key.endswith("_indicator")) or key in given:
            continue
        wanted = values.get(key)
        if wanted in panel.indicators or wanted not in POPULATION_SUBSTITUTES:
            continue
        substitute = next((s for s in POPULATION_SUBSTITUTES[wanted] if s in panel.indicators), None)
        if substitute is None:
            continue
        values[key] = substitute
        described = {"pop_registered": ("registered (hukou) population", "户籍人口"),
                     "pop_resident": ("resident population", "常住人口")}
        if lang == "zh":
            notes.append(f"人口指标：面板没有{described[wanted][1]}（{wanted}），改用{described[substitute][1]}"
                         f"（{substitute}）；如需其他指标请用 --set {key}=...")
        else:
            notes.append(f"population indicator: {substitute} ({described[substitute][0]}): the panel has no "
                         f"{wanted}, the standard's default ({described[wanted][0]}); --set {key}=... chooses another")
    return values, tuple(notes)


def boundary_change_mask(panel: Panel, params: RuleParameters) -> np.ndarray | None:
    """Units whose compared years (:meth:`RuleParameters.comparison_window`) straddle a boundary break
    (``panel.meta.boundary_breaks``), or None when there is none."""
    breaks = panel.meta.boundary_breaks
    if breaks is None or len(breaks) == 0:
        return None
    start, end = params.comparison_window(panel)
    mask = boundary_break_mask(panel, start, end)
    return mask if mask.any() else None


@dataclass(frozen=True)
class StableVerdict:
    """Verdicts taken from stable clusters, aligned to the panel's units: ``via`` the members whose cluster
    has a verdict, ``verdict`` that verdict (unknown elsewhere)."""

    via: np.ndarray
    verdict: Tri


class StableGeography:
    """Stable clusters of one panel and the rule's kernel on them, built once per compared window.

    :func:`identify` and :func:`~shrinkwatch.identification.sensitivity.sweep` both judge through it, so a
    unit judged via its cluster in one is judged via the same cluster in the other.
    """

    def __init__(self, panel: Panel, standard: Standard) -> None:
        self.panel = panel
        self.standard = standard
        links = panel.meta.territory_links
        self.active = links is not None and len(links) > 0
        self._cache: dict[tuple[int, int], tuple[StableClusters, Kernel[Any, Any]] | None] = {}

    def clusters(self, params: RuleParameters) -> tuple[StableClusters, Kernel[Any, Any]] | None:
        """The clusters of ``params``' compared window and the kernel on their panel (None: no cluster)."""
        if not self.active:
            return None
        window = params.comparison_window(self.panel)
        if window not in self._cache:
            found = stable_clusters(self.panel, *window)
            self._cache[window] = None if found is None else (
                found, kernel_class(self.standard.rule)(found.panel, self.standard))
        return self._cache[window]

    def verdict(self, params: RuleParameters) -> StableVerdict | None:
        """The cluster verdicts of ``params`` (the sweep's fast path), or None without clusters."""
        built = self.clusters(params)
        if built is None:
            return None
        found, kernel = built
        return _mapped(found, kernel.verdict(params))


@dataclass(frozen=True)
class Judged:
    """A setting's verdicts after boundary changes: ``verdict`` (none for a unit whose compared years straddle a
    break, its stable cluster's for a unit judged via one), ``broken`` the units left ``boundary_change`` and
    ``via`` those judged via their stable cluster (both None when no unit has a break in the compared years)."""

    verdict: Tri
    broken: np.ndarray | None
    via: np.ndarray | None


def judge(panel: Panel, params: RuleParameters, verdict: Tri, geography: StableGeography | None) -> Judged:
    """The kernel's ``verdict`` of ``params`` as :func:`identify` states it: no verdict across a boundary break
    (``boundary_change``), the stable cluster's verdict for its members (``geography``; None: no clusters).
    :func:`~shrinkwatch.identification.sensitivity.sweep` and the status timeline judge through it."""
    broken = boundary_change_mask(panel, params)
    if broken is None:
        return Judged(verdict, None, None)
    yes, no = verdict.yes & ~broken, verdict.no & ~broken
    stable = geography.verdict(params) if geography is not None else None
    if stable is None:
        return Judged(Tri(yes, no), broken, None)
    return Judged(Tri(np.where(stable.via, stable.verdict.yes, yes), np.where(stable.via, stable.verdict.no, no)),
                  broken & ~stable.via, stable.via)


def _mapped(found: StableClusters, cluster_verdict: Tri) -> StableVerdict:
    rows = np.maximum(found.row, 0)
    via = found.member & cluster_verdict.known[rows]
    return StableVerdict(via=via, verdict=Tri(cluster_verdict.yes[rows] & via, cluster_verdict.no[rows] & via))


def identify(
    panel: Panel,
    standard: str | Path | Standard = "census-decline",
    settings: dict[str, Any] | None = None,
    *,
    lang: str | None = None,
    stable_clusters: bool = True,
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
    stable_clusters
        Compare units that exchanged territory within the compared years as
        stable clusters (``panel.meta.territory_links``; see
        :func:`shrinkwatch.harmonize.stable_clusters`), so that they get
        their cluster's verdict instead of ``boundary_change``. False keeps
        ``boundary_change`` for every unit with a break.

    Returns
    -------
    Identification
        One row per unit of ``panel.units``, in the same order, with
        ``status``, ``<criterion>_value`` / ``<criterion>_pass``, ``severity``,
        ``pattern``, ``annual_rate`` (percent per year), ``reason``,
        ``via_stable_cluster`` (the verdict is its stable cluster's) and
        ``stable_cluster`` (the cluster's id, "" when in none).

    Examples
    --------
    >>> panel = Panel.from_series({"a": [100, 90], "b": [50, 60]}, years=[2010, 2020])
    >>> identify(panel, "census-decline").table["status"].tolist()
    ['shrinking', 'not_shrinking']
    """
    std = load_standard(standard)
    language = lang or panel.language
    if language not in ("en", "zh"):
        raise OptionError(f"--lang: expected 'en' or 'zh', got {language!r}")
    values, notes = resolve_for_panel(std, panel, settings, language)
    kernel = kernel_class(std.rule)(panel, std)
    params = kernel.parameters_of(values)
    evaluation = kernel.evaluate(params)
    kernel.clear_cache()  # the year grids and flags are not needed past the evaluation: memory for the table
    reason = kernel.reasons(evaluation, params, language).to_pandas()

    units = panel.units
    n = len(units)
    columns: dict[str, Any] = {}
    for column in _UNIT_COLUMNS:
        # the units' own Series (same index): dtype kept, no re-inference of object columns
        columns[column] = units[column] if column in units.columns else pd.Series(pd.NA, index=units.index, dtype=object)
    evaluable = evaluation.verdict.known
    shrinking = evaluable & evaluation.verdict.yes
    columns["status"] = pick([~evaluable, shrinking], ["insufficient_data", "shrinking"], "not_shrinking").to_pandas()
    columns["shrinking"] = pd.arrays.BooleanArray(shrinking, ~evaluable)
    rate_percent = np.round(np.asarray(evaluation.annual_rate, dtype=float) * 100.0, 4)
    columns["annual_rate"] = rate_percent
    severity_code = np.where(shrinking, severity_codes(rate_percent),
                             np.where(evaluable, SEVERITY_LABELS.index("none"), SEVERITY_LABELS.index("")))
    columns["severity"] = labels(severity_code, SEVERITY_LABELS).to_pandas()
    columns["pattern"] = labels(evaluation.pattern, PATTERN_LABELS).to_pandas()
    for name, (value, verdict) in evaluation.criteria.items():
        columns[f"{name}_value"] = np.asarray(value, dtype=float)
        passed = verdict.as_float()
        columns[f"{name}_pass"] = pd.arrays.BooleanArray(passed > 0, np.isnan(passed))
    for name, column_values in evaluation.facts.items():
        columns[name] = column_values
    for name, decides in evaluation.set_aside.items():
        # the verdict was given without this criterion (no data for any unit): would it decide this unit?
        columns[f"{name}_decides"] = np.asarray(decides, dtype=bool)
    columns["reason"] = reason
    columns["via_stable_cluster"] = np.zeros(n, dtype=bool)
    columns["stable_cluster"] = np.full(n, "", dtype=object)
    table = pd.DataFrame(columns, index=units.index, copy=False)
    broken = boundary_change_mask(panel, params)
    if broken is not None:
        # the two compared years cover different territories: no verdict, and no rate
        start, end = params.comparison_window(panel)
        table.loc[broken, "status"] = "boundary_change"
        table.loc[broken, "shrinking"] = pd.NA
        table.loc[broken, "annual_rate"] = np.nan
        table.loc[broken, "severity"] = ""
        for name in evaluation.criteria:
            table.loc[broken, f"{name}_pass"] = pd.NA
        for name in evaluation.set_aside:
            table.loc[broken, f"{name}_decides"] = False
        table.loc[broken, "reason"] = boundary_break_reasons(panel, start, end, language)[broken]
    if stable_clusters and broken is not None:
        _judge_clusters(table, StableGeography(panel, std), params, evaluation.criteria, language)
    first_projected = panel.meta.projected_from
    if first_projected is not None:
        # projected years enter only when asked for, and every row then says so
        uses_projection = params.comparison_window(panel)[1] >= int(first_projected)
        table["uses_projection"] = uses_projection
        if uses_projection:
            note = (f" 含{int(first_projected)}年起的预测值，非观测值。" if language == "zh"
                    else f" Uses projected values (years from {int(first_projected)} are projections, not observations).")
            table["reason"] = table["reason"].astype("string") + note
    # report the years actually used, not the "0 = default" placeholders
    resolved = dict(values)
    for key, fact in _YEAR_FACTS:
        if key in resolved and int(resolved[key]) == 0 and fact in evaluation.facts and n:
            resolved[key] = int(np.asarray(evaluation.facts[fact])[0])
    return Identification(
        table=table,
        standard_id=std.id,
        parameters=resolved,
        panel_meta=panel.meta,
        criteria=tuple(evaluation.criteria),
        description=std.describe(resolved, language),
        standard_source=std.source,
        notes=notes,
        criteria_set_aside={name: int(table[f"{name}_decides"].sum()) for name in evaluation.set_aside},
    )


def _judge_clusters(table: pd.DataFrame, geography: StableGeography, params: RuleParameters,
                    criteria: dict[str, Any], language: str) -> None:
    """Give every member of a stable cluster its cluster's verdict, rate, criteria and a reason naming the
    cluster (in place); members of a cluster without a verdict keep theirs and say why."""
    built = geography.clusters(params)
    if built is None:
        return
    found, kernel = built
    evaluation = kernel.evaluate(params)
    mapped = _mapped(found, evaluation.verdict)
    rows = np.maximum(found.row, 0)
    member, via = found.member, mapped.via
    table["stable_cluster"] = found.cluster_id
    if via.any():
        cluster_reason = np.asarray(kernel.reasons(evaluation, params, language).to_pandas(), dtype=object)
        shrinking = mapped.verdict.yes
        table.loc[via, "status"] = np.where(shrinking[via], "shrinking", "not_shrinking")
        table.loc[via, "shrinking"] = shrinking[via]
        rate = np.round(np.asarray(evaluation.annual_rate, dtype=float) * 100.0, 4)[rows]
        table.loc[via, "annual_rate"] = rate[via]
        table.loc[via, "severity"] = np.where(shrinking, severity(rate), "none")[via]
        for name, (value, verdict) in evaluation.criteria.items():
            if name not in criteria:
                continue
            table.loc[via, f"{name}_value"] = np.asarray(value, dtype=float)[rows][via]
            table.loc[via, f"{name}_pass"] = verdict.yes[rows][via]
        table.loc[via, "via_stable_cluster"] = True
        table.loc[via, "reason"] = (_cluster_phrase(found, rows, language, judged=True) + cluster_reason[rows])[via]
    stuck = member & ~via
    if stuck.any():
        why = _cluster_phrase(found, rows, language, judged=False)
        table.loc[stuck, "reason"] = (table["reason"].astype(object).fillna("").to_numpy() + why)[stuck]


def _cluster_phrase(found: StableClusters, rows: np.ndarray, language: str, *, judged: bool) -> np.ndarray:
    """Per unit: the sentence naming its cluster (members, former units counted, what is missing)."""
    info = found.clusters
    n = info["n_members"].astype(str)
    label, former, missing = info["label"].astype(str), info["former"].astype(str), info["missing"].astype(str)
    start, end = found.start, found.end
    if language == "zh":
        if judged:
            text = (f"{start}—{end}年间与相邻单元交换过辖区，按稳定组合单元判定（共" + n + "个：" + label
                    + (f"；{start}年口径含 " + former).where(former != "", "") + "）：")
        else:
            text = (" 其稳定组合单元（共" + n + "个：" + label + "）"
                    + ("还涉及不在本数据中的单元 " + missing + "，").where(missing != "", "") + "同样无法比较。")
    elif judged:
        text = (f"Judged with its stable cluster (it exchanged territory with the other members {start}-{end}; "
                + n + " units: " + label + (f"; {start} values of " + former).where(former != "", "") + "): ")
    else:
        text = (" Its stable cluster (" + n + " units: " + label + ")"
                + (" also takes in " + missing + ", which is not in the panel, so it").where(missing != "", "")
                + " cannot be compared either.")
    # one sentence per cluster, spread to its members (rows of the stable panel -> cluster order)
    first_cluster_row = int(found.panel.units.index.get_loc(info.index[0])) if len(info) else 0
    return text.to_numpy(dtype=object)[np.clip(rows - first_cluster_row, 0, max(len(info) - 1, 0))]
