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

from shrinkwatch.core.messages import LANGUAGES, check_language, table
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

#: Every user-visible string of the section, by language: the catalogues' ``[report.timeline]``.
TEXT: dict[str, dict[str, str]] = {lang: table("report.timeline", lang) for lang in LANGUAGES}


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
        if cjk and lang == "zh":  # the legends too: else their Chinese labels are drawn as empty boxes
            legend = axis.get_legend()
            for label in (axis.title, axis.xaxis.label, axis.yaxis.label, *(legend.get_texts() if legend else ())):
                label.set_fontfamily(cjk[0])
    figure.tight_layout()
    return figure_svg(figure, tight=False)


def _named(frame: pd.DataFrame, panel: Panel | None, lang: str) -> pd.DataFrame:
    """``frame`` (indexed by unit id) with its ``name`` and ``parent_name`` as the report in ``lang`` shows them."""
    if panel is None or not len(frame) or not frame.index.difference(panel.units.index).empty:
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
                                       year_word=words["year_word_one" if len(result.years) == 1 else "year_word_many"])
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
