"""The report's "Status over time" section: the standard as of every year the panel allows.

Renders a :class:`~shrinkwatch.identification.timeline.Timeline` (carried as ``Analysis.timeline``): a chart of
the units per status in each as-of year with the entries into and exits from the shrinking list, the counts
per year, the units that entered or left the list in the last year, and the longest current spells. A panel
with fewer than :data:`MIN_YEARS` as-of years (two censuses) gets a one-line note instead. Every sentence of
the section is in :data:`TEXT`, in English and Chinese.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from markupsafe import Markup

from shrinkwatch.core.messages import check_language
from shrinkwatch.report.charts import figure_svg
from shrinkwatch.report.html import render
from shrinkwatch.report.labels import analysis_prose, display_names, parent_display

if TYPE_CHECKING:
    from shrinkwatch.core import Panel
    from shrinkwatch.identification.timeline import Timeline

__all__ = ["MIN_YEARS", "TEXT", "timeline_chart_svg", "timeline_parts"]

#: The fewest as-of years that make a status over time (two years are one comparison, shown elsewhere).
MIN_YEARS = 3
#: Units listed per table (entered, exited, longest current spells).
SHOWN = 60

#: Every user-visible string of the section, by language.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Status over time",
        "intro": "{standard} evaluated as of each year from {first} to {last} ({n} as-of years), each time with "
                 "only the data up to that year: what a monitor run in that year would have said.",
        "now": "As of {last}, {shrinking:,} units are shrinking; {started:,} of them started in {last}, and the "
               "median onset year is {median}.",
        "none_now": "As of {last}, no unit is shrinking.",
        "spell_note": "A spell is a run of as-of years in which a unit is shrinking; a year without a verdict "
                      "(insufficient data or boundary change) does not end it, only a year judged not shrinking "
                      "does (a recovery). Onset: the first year of the current spell.",
        "changes_note": "Entered: not shrinking the year before, shrinking now; exited: the reverse. Units that "
                        "gained or lost a verdict (insufficient data or boundary change on one side) are counted "
                        "apart, so the shrinking count moves by entered + entered from no verdict - exited - "
                        "exited to no verdict.",
        "counts_heading": "Units per status and changes, by as-of year",
        "entered_heading": "Entered the shrinking list in {last} ({n:,})",
        "exited_heading": "Left the shrinking list in {last} ({n:,})",
        "spells_heading": "Longest current spells ({n:,} units shrinking as of {last}; up to {shown} shown)",
        "more": "{more:,} more are in the timeline table (shrinkwatch timeline -o FILE).",
        "too_few": "Status over time: this dataset allows {n} as-of {year_word} ({years}) under {standard}; a status "
                   "over time needs at least {minimum}. {why}",
        "unavailable": "Status over time: not available: {error}",
        "chart_title": "{standard}: units per status as of each year",
        "chart_changes": "changes in the shrinking list since the year before",
        "axis_units": "units",
        "axis_year": "as-of year",
        "shrinking": "shrinking",
        "not_shrinking": "not shrinking",
        "no_verdict": "no verdict (insufficient data or boundary change)",
        "entered": "entered (was not shrinking)",
        "entered_from_no_verdict": "entered (had no verdict)",
        "exited": "exited (recovered)",
        "exited_to_no_verdict": "exited (now no verdict)",
    },
    "zh": {
        "title": "收缩状态的演变",
        "intro": "按 {standard} 逐年判定（{first}—{last}年，共{n}个判定年份），每次只用截至当年的数据，即当年监测所得的结论。",
        "now": "截至{last}年，{shrinking:,}个单元处于收缩状态，其中{started:,}个始于{last}年；收缩起始年份的中位数为{median}年。",
        "none_now": "截至{last}年，没有单元处于收缩状态。",
        "spell_note": "收缩期指单元连续被判定为收缩的判定年份；无法判定的年份（数据不足或行政区划调整）不中断收缩期，只有被判定为未收缩的年份才结束收缩期（即恢复）。起始年份为当前收缩期的第一年。",
        "changes_note": "进入：上一年未收缩、本年收缩；退出：相反。由无法判定变为收缩、或由收缩变为无法判定的单元另行计数，因此收缩单元数的变化 = 进入 + 由无法判定进入 − 退出 − 转为无法判定。",
        "counts_heading": "各判定年份的状态单元数及变化",
        "entered_heading": "{last}年进入收缩名单（{n:,}个）",
        "exited_heading": "{last}年退出收缩名单（{n:,}个）",
        "spells_heading": "当前收缩期最长的单元（截至{last}年共{n:,}个收缩单元，最多列出{shown}个）",
        "more": "另有{more:,}个见逐年状态表（shrinkwatch timeline -o 文件）。",
        "too_few": "收缩状态的演变：本数据集在 {standard} 下只有 {n} 个判定年份（{years}），至少需要 {minimum} 个。{why}",
        "unavailable": "收缩状态的演变：无法计算：{error}",
        "chart_title": "{standard}：各年判定的状态单元数",
        "chart_changes": "收缩名单相对上一年的变化",
        "axis_units": "单元数",
        "axis_year": "判定年份",
        "shrinking": "收缩",
        "not_shrinking": "未收缩",
        "no_verdict": "无法判定（数据不足或区划调整）",
        "entered": "进入（原未收缩）",
        "entered_from_no_verdict": "进入（原无法判定）",
        "exited": "退出（恢复）",
        "exited_to_no_verdict": "退出（转为无法判定）",
    },
}


def _text(lang: str) -> dict[str, str]:
    return TEXT[check_language(lang, "lang")]


def timeline_chart_svg(result: Timeline, *, lang: str = "en") -> str:
    """Stacked bars of the units per status in each as-of year, and below them the entries into (up) and
    exits from (down) the shrinking list. Chinese labels only where a CJK font is installed (drawn as paths)."""
    from matplotlib import font_manager  # heavy: loaded only when a chart is drawn
    from matplotlib.figure import Figure  # heavy: as above

    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or "WenQuanYi" in f.name]
    words = _text("zh" if lang == "zh" and cjk else "en")
    counts = result.counts
    years = np.asarray(result.years, dtype=float)
    width = 0.8 * (float(np.min(np.diff(years))) if len(years) > 1 else 1.0)
    figure = Figure(figsize=(8.5, 4.6))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    shrinking = counts["shrinking"].to_numpy(dtype=float)
    not_shrinking = counts["not_shrinking"].to_numpy(dtype=float)
    no_verdict = (counts["insufficient_data"] + counts["boundary_change"]).to_numpy(dtype=float)
    top.bar(years, shrinking, width, color="#b2182b", label=words["shrinking"])
    top.bar(years, not_shrinking, width, bottom=shrinking, color="#92c5de", label=words["not_shrinking"])
    top.bar(years, no_verdict, width, bottom=shrinking + not_shrinking, color="#d9d9d9", label=words["no_verdict"])
    top.set_ylabel(words["axis_units"])
    top.legend(fontsize=7, loc="lower left", frameon=False, ncol=3, bbox_to_anchor=(0, 1.0))
    top.set_title(words["chart_title"].format(standard=result.standard_id), fontsize=9, pad=18)
    change = {name: counts[name].fillna(0).to_numpy(dtype=float) for name in
              ("entered", "entered_from_no_verdict", "exited", "exited_to_no_verdict")}
    bottom.bar(years, change["entered"], width, color="#b2182b", label=words["entered"])
    bottom.bar(years, change["entered_from_no_verdict"], width, bottom=change["entered"], color="#f4a582",
               label=words["entered_from_no_verdict"])
    bottom.bar(years, -change["exited"], width, color="#2166ac", label=words["exited"])
    bottom.bar(years, -change["exited_to_no_verdict"], width, bottom=-change["exited"], color="#bababa",
               label=words["exited_to_no_verdict"])
    bottom.axhline(0, color="#333333", linewidth=0.6)
    bottom.set_xlabel(words["axis_year"])
    bottom.set_title(words["chart_changes"], fontsize=8)
    bottom.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for axis in (top, bottom):
        axis.spines[["top", "right"]].set_visible(False)
        axis.grid(axis="y", alpha=0.3)
        if cjk and lang == "zh":
            for label in (axis.title, axis.xaxis.label, axis.yaxis.label):
                label.set_fontfamily(cjk[0])
    figure.tight_layout()
    return figure_svg(figure, tight=False)


def _named(frame: pd.DataFrame, panel: Panel | None, lang: str) -> pd.DataFrame:
    """``frame`` (indexed by unit id) with its ``name`` and ``parent_name`` as the report in ``lang`` shows them."""
    if panel is None or not len(frame) or not frame.index.isin(panel.units.index).all():
        return frame
    out = frame.copy()
    if "name" in out.columns:
        out["name"] = display_names(out, panel, lang).to_numpy()
    if "parent_name" in out.columns:
        out["parent_name"] = parent_display(out, panel, lang).to_numpy()
    return out


def timeline_parts(result: Timeline | None, error: str | None, *, lang: str = "en",
                   panel: Panel | None = None) -> tuple[str, Markup]:
    """The section's title and body: the full section with at least :data:`MIN_YEARS` as-of years, else a
    one-line note saying why there is none."""
    words = _text(lang)
    if result is None:
        return words["title"], render("section-timeline.html.j2", lang, note=words["unavailable"].format(
            error=analysis_prose(error or "", lang) or "-"))
    last = result.years[-1]
    if len(result.years) < MIN_YEARS:
        note = words["too_few"].format(n=len(result.years), years=", ".join(map(str, result.years)),
                                       standard=result.standard_id, minimum=MIN_YEARS, why=" ".join(analysis_prose(n, lang) for n in result.notes),
                                       year_word="year" if len(result.years) == 1 else "years")
        return words["title"], render("section-timeline.html.j2", lang, note=note.strip())
    units = result.units
    onset = units["onset_year"]
    current = units[onset.notna()]
    summary = (words["now"].format(last=last, shrinking=len(current), started=int((onset == last).sum()),
                                   median=int(current["onset_year"].median()))
               if len(current) else words["none_now"].format(last=last))
    changes = result.changes(last)
    name_columns = [c for c in ("name", "parent_name") if c in units.columns]
    entered = changes[changes["change"].str.startswith("entered")]
    exited = changes[changes["change"].str.startswith("exited")]
    longest = current.sort_values(["onset_year", "years_shrinking"], ascending=[True, False])
    spell_columns = [*name_columns, "onset_year", "current_spell", "n_spells", "n_recoveries"]
    counts = result.counts.copy()
    if not counts["boundary_change"].any():
        counts = counts.drop(columns="boundary_change")
    lists = [
        (words["entered_heading"].format(last=last, n=len(entered)), _named(entered.head(SHOWN), panel, lang),
         max(len(entered) - SHOWN, 0)),
        (words["exited_heading"].format(last=last, n=len(exited)), _named(exited.head(SHOWN), panel, lang),
         max(len(exited) - SHOWN, 0)),
        (words["spells_heading"].format(last=last, n=len(current), shown=SHOWN),
         _named(longest[spell_columns].head(SHOWN), panel, lang), max(len(longest) - SHOWN, 0)),
    ]
    body = render(
        "section-timeline.html.j2", lang, note=None, words=words,
        intro=words["intro"].format(standard=result.standard_id, first=result.years[0], last=last,
                                    n=len(result.years)),
        summary=summary, notes=[n for n in (analysis_prose(n, lang) for n in result.notes) if n], chart=Markup(timeline_chart_svg(result, lang=lang)),
        counts=counts, count_formats={c: "{:,}" for c in counts.columns},
        lists=[(heading, frame, words["more"].format(more=more) if more else "") for heading, frame, more in lists
               if len(frame)],
    )
    return words["title"], body
