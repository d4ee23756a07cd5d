"""Key findings: a few plain sentences, each restating a number computed elsewhere in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shrinkwatch.core import Identification
from shrinkwatch.core.messages import message
from shrinkwatch.report.labels import (
    analysis_prose,
    column_label,
    format_number,
    format_p,
    region_label,
    unit_label,
)

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis
    from shrinkwatch.analysis.spatial import LisaResult

__all__ = ["key_findings", "low_low_finding"]


def _say(key: str, lang: str, **fields: object) -> str:
    return message(f"report.findings.{key}", lang, **fields)


def low_low_finding(lisa: LisaResult, lang: str = "en") -> str:
    """How many shrinking units sit in LISA low-low clusters, against all units in those clusters.

    A low-low unit grows more slowly than the mean of the analysed units, and so do its
    neighbours on average; it need not be shrinking, so the sentence counts shrinking ∩ low-low.
    """
    shrinking, members, analysed = lisa.shrinking_in("LL")
    values = {"shrinking": shrinking, "members": members, "analysed": analysed, "growing": members - shrinking,
              "alpha": lisa.alpha, "mean": lisa.mean}
    return _say("low_low" if analysed else "low_low_none_shrinking", lang, **values)


def _analysis_findings(analysis: Analysis, with_data: int, lang: str = "en") -> list[str]:
    """Sentences from the sensitivity sweep, the spatial statistics, the paradox and the driver models."""
    findings = []
    sweep = analysis.sensitivity
    if sweep is not None and sweep.combinations > 1 and with_data:
        robustness = sweep.summary()
        findings.append(_say("sensitivity", lang, combinations=sweep.combinations, low=sweep.count_min,
                             high=sweep.count_max, robust=robustness["robust"], borderline=robustness["borderline"]))
    moran, lisa = analysis.moran, analysis.lisa
    if moran is not None and lisa is not None:
        statistic = _say("moran", lang, I=moran.I, p=format_p(moran.p_sim, prefix=_say("pseudo_p", lang)),
                         permutations=moran.permutations)
        if moran.p_sim <= 0.05 and moran.I > 0:
            findings.append(_say("clustered", lang, statistic=statistic) + low_low_finding(lisa, lang))
        else:
            findings.append(_say("not_clustered", lang, statistic=statistic))
    paradox = analysis.paradox
    if paradox.available and paradox.share is not None:
        findings.append(_say("paradox", lang, grew=paradox.n_grew, of=paradox.denominator, share=paradox.share))
    elif not paradox.available and not paradox.builtup_present:
        findings.append(_say("no_paradox", lang))
    drivers = analysis.drivers
    if drivers.available and drivers.importance is not None and len(drivers.importance):
        top_predictor = str(drivers.importance.idxmax())
        fit, base = drivers.gbm_cv, drivers.baseline_cv
        note = analysis_prose(drivers.feature_notes.get(top_predictor, ""), lang)  # the analysis's, in lang
        lead = (_say("driver_lead", lang, start=drivers.period[0], end=drivers.period[1])
                if drivers.period is not None else _say("driver_lead_no_period", lang))
        findings.append(lead + (note or column_label(top_predictor, lang))  # the note names the year
                        + (_say("driver_fit", lang, r2=format_number(fit.r2), base=format_number(base.r2))
                           if fit is not None and base is not None else "")
                        + _say("driver_end", lang))
    return findings


def key_findings(identification: Identification, analysis: Analysis | None = None,
                 parent_labels: dict[str, str] | None = None, *, lang: str = "en") -> list[str]:
    """A few plain sentences in ``lang``, each built from a number computed elsewhere in the report.

    Parameters
    ----------
    identification
        The verdicts: the headline count, the region with the highest share, the parents where every unit shrinks.
    analysis
        Adds the sensitivity range, spatial clustering, the expansion paradox and the strongest predictor.
    parent_labels
        Names to show for parents (:func:`shrinkwatch.report.labels.parent_labels`).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"status": ["shrinking", "not_shrinking", "insufficient_data"],
    ...                       "region": ["North", "North", "South"], "parent_name": ["A", "A", "B"]},
    ...                      index=pd.Index(["a", "b", "c"], name="unit_id"))
    >>> key_findings(Identification(table, "census-decline", {}, {"unit_label": "towns"}))[0]
    '1 of 2 towns with data are shrinking (50.0%); 1 cannot be judged (insufficient data or a boundary change).'
    >>> key_findings(Identification(table, "census-decline", {}, {"unit_label": "towns"}), lang="zh")[0]
    '2 个有数据的单元中 1 个收缩（50.0%）；1 个无法判定（数据不足或边界变更）。'
    """
    counts = identification.counts()
    label = unit_label(identification.panel_meta, lang)
    with_data = counts["units_with_data"]
    no_verdict = counts["insufficient_data"] + counts["boundary_change"]
    findings = [_say("headline", lang, shrinking=counts["shrinking"], with_data=with_data, units=label)
                + (_say("headline_share", lang, share=counts["shrinking"] / with_data) if with_data else "")
                + (_say("headline_no_verdict", lang, n=no_verdict) if no_verdict else _say("end", lang))]
    if with_data == 0:
        findings[0] = _say("none_judged", lang, standard=identification.standard_id)
    regions = identification.counts_by("region")
    regions = regions[regions["with_data"] >= 3]
    if len(regions) > 1 and counts["shrinking"]:
        top = regions.sort_values(["share_shrinking", "with_data"], ascending=False).iloc[0]
        findings.append(_say("top_region", lang, region=region_label(top.name, lang), shrinking=int(top["shrinking"]),
                             with_data=int(top["with_data"]), share=top["share_shrinking"]))
    parents = identification.counts_by("parent_name")
    parents = parents[parents["with_data"] >= 3]
    complete = parents[(parents["shrinking"] == parents["with_data"]) & (parents["with_data"] > 0)]
    if len(complete):
        labels = parent_labels or {}
        names = message("report.page.list_separator", lang).join(
            _say("parent_count", lang, parent=labels.get(str(p), p), n=int(r["shrinking"]))
            for p, r in complete.head(5).iterrows())
        findings.append(_say("all_shrinking", lang, names=names))
    if analysis is not None:
        findings += _analysis_findings(analysis, with_data, lang)
    return findings
