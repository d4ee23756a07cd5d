"""Key findings: a few plain sentences, each restating a number computed elsewhere in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shrinkwatch.core import Identification
from shrinkwatch.report.labels import column_label, format_number, format_p, unit_label

if TYPE_CHECKING:  # the analysis stack loads only where an analysis is run
    from shrinkwatch.analysis.analyse import Analysis
    from shrinkwatch.analysis.spatial import LisaResult

__all__ = ["key_findings", "low_low_finding"]

#: The sentences about LISA low-low clusters (one place, for translation). LISA's "low" is below the
#: mean rate of the analysed units, not a decline: the sentence counts the shrinking units among them.
LOW_LOW_TEXT: dict[str, str] = {
    "some": ("{shrinking:,} of the {analysed:,} shrinking units sit in significant clusters of below-average "
             "growth (LISA low-low at alpha = {alpha:g}: the unit and its neighbours below the mean rate of "
             "{mean:+.2f} %/yr); those clusters hold {members:,} units, {growing:,} of them not shrinking."),
    "none_shrinking": ("No unit is shrinking; {members:,} units sit in significant clusters of below-average growth "
                       "(LISA low-low at alpha = {alpha:g}, below the mean rate of {mean:+.2f} %/yr)."),
}


#: How the driver finding opens (one place, for translation): the predictors' timing comes first.
DRIVER_FINDING_TEXT: dict[str, str] = {
    "lead": ("Among predictors measured at the start of the period ({start}), the {start}-{end} annual rate is most "
             "strongly associated with "),
    "lead_no_period": "The annual rate is most strongly associated with ",
}


def low_low_finding(lisa: LisaResult) -> str:
    """How many shrinking units sit in LISA low-low clusters, against all units in those clusters.

    A low-low unit grows more slowly than the mean of the analysed units, and so do its
    neighbours on average; it need not be shrinking, so the sentence counts shrinking ∩ low-low.
    """
    shrinking, members, analysed = lisa.shrinking_in("LL")
    values = {"shrinking": shrinking, "members": members, "analysed": analysed, "growing": members - shrinking,
              "alpha": lisa.alpha, "mean": lisa.mean}
    return LOW_LOW_TEXT["some" if analysed else "none_shrinking"].format(**values)


def _analysis_findings(analysis: Analysis, with_data: int) -> list[str]:
    """Sentences from the sensitivity sweep, the spatial statistics, the paradox and the driver models."""
    findings = []
    sweep = analysis.sensitivity
    if sweep is not None and sweep.combinations > 1 and with_data:
        robustness = sweep.summary()
        findings.append(f"Across {sweep.combinations} settings of the standard the count runs from "
                        f"{sweep.count_min:,} to {sweep.count_max:,}; {robustness['robust']:,} units are "
                        f"shrinking under every setting, {robustness['borderline']:,} only under some.")
    moran, lisa = analysis.moran, analysis.lisa
    if moran is not None and lisa is not None:
        statistic = f"Moran's I = {moran.I:.2f} ({format_p(moran.p_sim, prefix='pseudo p')}, {moran.permutations:,} permutations)"
        if moran.p_sim <= 0.05 and moran.I > 0:
            findings.append(f"Change is spatially clustered: {statistic}. " + low_low_finding(lisa))
        else:
            findings.append(f"No spatial clustering distinguishable from chance at the 5% level: {statistic}.")
    paradox = analysis.paradox
    if paradox.available and paradox.share is not None:
        findings.append(f"Expansion paradox: {paradox.n_grew} of {paradox.denominator} shrinking units with built-up "
                        f"data still expanded their built-up area ({paradox.share:.0%}).")
    elif not paradox.available and not paradox.builtup_present:
        findings.append("The expansion paradox cannot be measured: this dataset has no built-up area data.")
    drivers = analysis.drivers
    if drivers.available and drivers.importance is not None and len(drivers.importance):
        top_predictor = str(drivers.importance.idxmax())
        fit, base = drivers.gbm_cv, drivers.baseline_cv
        note = drivers.feature_notes.get(top_predictor)
        lead = (DRIVER_FINDING_TEXT["lead"].format(start=drivers.period[0], end=drivers.period[1])
                if drivers.period is not None else DRIVER_FINDING_TEXT["lead_no_period"])
        findings.append(lead + column_label(top_predictor) + (f" ({note})" if note else "")
                        + (f" (gradient boosting, out-of-sample R² {format_number(fit.r2)} against {format_number(base.r2)} for the "
                           "baseline)" if fit is not None and base is not None else "")
                        + "; these are associations, not causes.")
    return findings


def key_findings(identification: Identification, analysis: Analysis | None = None,
                 parent_labels: dict[str, str] | None = None) -> list[str]:
    """A few plain sentences, each built from a number computed elsewhere in the report.

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
    """
    counts = identification.counts()
    label = unit_label(identification.panel_meta)
    with_data = counts["units_with_data"]
    no_verdict = counts["insufficient_data"] + counts["boundary_change"]
    findings = [f"{counts['shrinking']:,} of {with_data:,} {label} with data are shrinking"
                + (f" ({counts['shrinking'] / with_data:.1%})" if with_data else "")
                + (f"; {no_verdict:,} cannot be judged (insufficient data or a boundary change)." if no_verdict else ".")]
    if with_data == 0:
        findings[0] = (f"No unit can be judged under {identification.standard_id} with this dataset: the reasons "
                       "in the insufficient-data list say what is missing (an annual standard on census years, "
                       "for example).")
    regions = identification.counts_by("region")
    regions = regions[regions["with_data"] >= 3]
    if len(regions) > 1 and counts["shrinking"]:
        top = regions.sort_values(["share_shrinking", "with_data"], ascending=False).iloc[0]
        findings.append(f"Highest share by region: {top.name} "
                        f"({int(top['shrinking'])} of {int(top['with_data'])}, {top['share_shrinking']:.0%}).")
    parents = identification.counts_by("parent_name")
    parents = parents[parents["with_data"] >= 3]
    complete = parents[(parents["shrinking"] == parents["with_data"]) & (parents["with_data"] > 0)]
    if len(complete):
        labels = parent_labels or {}
        names = ", ".join(f"{labels.get(str(p), p)} ({int(r['shrinking'])})" for p, r in complete.head(5).iterrows())
        findings.append(f"Every unit with data is shrinking in: {names}.")
    if analysis is not None:
        findings += _analysis_findings(analysis, with_data)
    return findings
