"""Charts of the report, drawn with matplotlib: inline SVG on the page, SVG and PNG in ``figures/``.

Each chart function returns a :class:`Chart`: a plain :class:`matplotlib.figure.Figure` (no pyplot
state), the file name it is exported under and its caption. :meth:`Chart.svg` gives the ``<svg>``
element for the page; :func:`write_figures` writes every chart as SVG and PNG (200 dpi) with a
caption file. Text stays text in the SVG (``svg.fonttype = none``) with the page's font stack, so
Chinese names show wherever the reader has a CJK font; the PNG is drawn with Noto Sans CJK when it is
installed (fonts-noto-cjk), registered here if matplotlib's font cache predates it.
matplotlib loads on the first chart, so a report without charts does not wait for it.

Every user-visible word of a chart is in the message catalogues' ``[report.charts]`` (:data:`_TEXT`).
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import LANGUAGES, catalogue, check_language, message, table
from shrinkwatch.report.labels import column_label, is_fraction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from shrinkwatch.analysis.distribution import DistributionResult
    from shrinkwatch.analysis.drivers import DriverResult
    from shrinkwatch.identification.schema import Standard
    from shrinkwatch.identification.sensitivity import SensitivityResult

__all__ = ["Chart", "figure_svg", "write_figures", "distribution_chart", "driver_importance_chart",
           "sensitivity_chart", "rate_histogram", "trend_multiples", "FIGURE_DPI", "FONT_STACK", "CHART_WIDTH"]

#: Resolution of the exported PNG figures.
FIGURE_DPI = 200
#: Width of every chart in inches: about the page's 1,036 px text column at 96 px per inch.
CHART_WIDTH = 10.5
#: The font stack written into the SVG text: the page's fonts, Chinese included.
FONT_STACK = ("'DejaVu Sans', 'Noto Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', "
              "'PingFang SC', sans-serif")
_RED, _BLUE, _GREY = "#b2182b", "#4393c3", "#888888"

#: Every word the charts show, per language: the catalogues' ``[report.charts]``.
_TEXT: dict[str, dict[str, str]] = {lang: table("report.charts", lang) for lang in LANGUAGES}


def _text(lang: str) -> dict[str, str]:
    return _TEXT[check_language(lang, "lang")]


@dataclass(frozen=True)
class Chart:
    """One figure of the report: its export ``name`` (``figures/<name>.svg|png|txt``), ``caption`` and matplotlib ``figure``."""

    name: str
    caption: str
    figure: Figure

    @functools.cached_property
    def standalone_svg(self) -> str:
        """The figure as an SVG file (drawn once; the page's inline element is cut from it)."""
        return figure_svg(self.figure, standalone=True)

    def svg(self) -> str:
        """The inline ``<svg class="chart">`` element for the page, with its caption as an accessible title."""
        text = _inline(self.standalone_svg)
        title = self.caption.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text.replace("<svg ", f'<svg class="chart" role="img" aria-label="{title}" ', 1)


@functools.lru_cache(maxsize=1)
def _cjk_family() -> str | None:
    """The name of an installed CJK sans font matplotlib can use, registering it if its cache predates it."""
    from matplotlib import font_manager  # heavy: loaded only when a chart is drawn

    def known() -> str | None:
        names = sorted({f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name and "Mono" not in f.name})
        for preferred in ("Noto Sans CJK SC", "Source Han Sans SC"):
            if preferred in names:
                return preferred
        return names[0] if names else None

    found = known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if re.search(r"(NotoSansCJK|SourceHanSans).*(Regular|Bold)", Path(path).name):
                font_manager.fontManager.addfont(path)
        found = known()
    return found


def _needs_cjk(texts: Iterable[object]) -> bool:
    """Whether any of ``texts`` has a character beyond DejaVu Sans (Chinese, Japanese, Korean)."""
    return any(re.search(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]", str(t)) for t in texts)


@contextmanager
def _style(cjk: bool = False) -> Iterator[None]:
    """The charts' matplotlib settings: text kept as text, DejaVu Sans (with a CJK fallback where ``cjk``:
    measuring text through two fonts is slow, so only charts with such names get it), small type."""
    import matplotlib  # heavy: loaded only when a chart is drawn

    fallback = _cjk_family() if cjk else None
    family = ["DejaVu Sans", *([fallback] if fallback else [])]
    # names come from input files: "$...$" in a name is text, never mathtext
    with matplotlib.rc_context({"svg.hashsalt": "shrinkwatch", "svg.fonttype": "none", "font.family": family,
                                "text.parse_math": False,
                                "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
                                "axes.spines.top": False, "axes.spines.right": False}), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        yield


def figure_svg(figure: Figure, *, tight: bool = False, standalone: bool = False) -> str:
    """A figure as SVG text: inline (no XML prolog, no RDF metadata) unless ``standalone``; stable element ids.

    Text stays text, in :data:`FONT_STACK`, so any script shows; ``tight`` crops the figure to its contents
    (the charts here are laid out tight already).
    """
    buffer = io.StringIO()
    with _style(_needs_cjk(_texts(figure))):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight" if tight else None)
    text = re.sub(r"font-family: [^;\"]+", "font-family: " + FONT_STACK.replace('"', "'"), buffer.getvalue())
    return text if standalone else _inline(text)


def _texts(figure: Figure) -> list[str]:
    """Every string drawn on ``figure``."""
    from matplotlib.text import Text  # heavy: loaded only when a chart is drawn

    return [t.get_text() for t in figure.findobj(Text) if isinstance(t, Text)]


def _inline(text: str) -> str:
    """A standalone SVG as an inline element: no XML prolog, no RDF metadata."""
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    head, sep, rest = text.partition(" <metadata>")
    if sep:  # the RDF block only credits matplotlib; drop it to keep the inline SVG lean
        _, _, tail = rest.partition("</metadata>\n")
        text = head + tail
    return text


def write_figures(charts: Sequence[Chart], folder: Path, *, note: str = "", dpi: int = FIGURE_DPI) -> list[Path]:
    """Write each chart as ``<name>.svg``, ``<name>.png`` (``dpi``) and ``<name>.txt`` (its caption and ``note``:
    source and standard) into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in charts:
        svg = folder / f"{chart.name}.svg"
        svg.write_text(chart.standalone_svg, encoding="utf-8")
        png = folder / f"{chart.name}.png"
        with _style(_needs_cjk(_texts(chart.figure))):
            chart.figure.savefig(png, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
        caption = folder / f"{chart.name}.txt"
        caption.write_text(chart.caption + (f"\n\n{note}" if note else "") + "\n", encoding="utf-8")
        written += [svg, png, caption]
    return written


def _new_figure(height: float, width: float = CHART_WIDTH) -> Figure:
    from matplotlib.figure import Figure  # heavy: loaded only when a chart is drawn

    return Figure(figsize=(width, height))


# ---------------------------------------------------------------- sensitivity

def sensitivity_chart(result: SensitivityResult, chosen: dict[str, Any] | None = None, *,
                      standard: Standard | None = None, lang: str = "en") -> Chart:
    """The share of shrinking units (% of units with data) against each varied parameter, full width.

    One panel per varied parameter; a fraction parameter (a float bounded in [0, 1]) is shown in %.
    With several parameters, the line is the mean over the other parameters' settings and the band their
    minimum to maximum. The setting of the report (``chosen``, the identification's parameters) is marked
    with a ring, a dashed line and its share and count.
    """
    words = _text(lang)
    chosen = chosen or {}
    keys = list(result.vary)
    counts = result.counts.copy()
    counts["pct"] = counts["shrinking"] / counts["units_with_data"].where(counts["units_with_data"] > 0) * 100
    with _style(lang != "en"):
        figure = _new_figure(3.6 if len(keys) == 1 else 3.4)
        axes = figure.subplots(1, len(keys), squeeze=False)
        for axis, key in zip(axes[0], keys):
            values = list(result.vary[key])
            fraction = is_fraction(standard, key, values)
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            grouped = counts.groupby(key, sort=False)
            stats = pd.DataFrame({"mean": grouped["pct"].mean(), "min": grouped["pct"].min(),
                                  "max": grouped["pct"].max(), "count": grouped["shrinking"].mean()}).reindex(values)
            scale = 100.0 if fraction else 1.0
            x = np.asarray(values, dtype=float) * scale if numeric else np.arange(len(values), dtype=float)
            axis.plot(x, stats["mean"].to_numpy(), marker="o", markersize=4, color=_RED, linewidth=1.8)
            if (stats["max"] > stats["min"]).any():
                axis.fill_between(x, stats["min"].to_numpy(), stats["max"].to_numpy(), color=_RED, alpha=0.15,
                                  linewidth=0)
            label = column_label(key, lang) + (" (%)" if fraction else "")
            axis.set_xlabel(label)
            axis.set_ylabel(words["share_axis"])
            if not numeric:
                axis.set_xticks(x, [str(v) for v in values], rotation=30, ha="right")
            if key in chosen and chosen[key] in values:
                at = values.index(chosen[key])
                shown = f"{float(chosen[key]) * 100:g} %" if fraction else str(chosen[key])
                axis.axvline(x[at], color="#333333", linestyle="--", linewidth=1)
                axis.plot([x[at]], [stats["mean"].iloc[at]], marker="o", markersize=11, markerfacecolor="none",
                          markeredgecolor="#111111", markeredgewidth=1.6)
                axis.annotate(words["chosen"].format(value=shown, share=stats["mean"].iloc[at],
                                                     count=stats["count"].iloc[at]), (x[at], stats["mean"].iloc[at]),
                              xytext=(10, 10), textcoords="offset points", fontsize=9, fontweight="bold")
            axis.grid(alpha=0.3)
            axis.set_ylim(0, max(1.0, float(np.nanmax(stats["max"].to_numpy())) * 1.25))
        parameters = ", ".join(column_label(k, lang) for k in keys)
        title = words["sens_title"].format(parameter=parameters)
        if len(keys) > 1:
            title += f"\n{words['sens_band']}"
        figure.suptitle(title, fontsize=10)
        figure.tight_layout()
    caption = words["sens_caption"].format(parameters=parameters, combinations=result.combinations,
                                           standard=result.standard_id)
    return Chart("sensitivity", caption, figure)


# ---------------------------------------------------------------- histogram of annual rates

def rate_histogram(rates: np.ndarray, threshold: float, *, indicator: str = "population", period: str = "",
                   bins: Sequence[tuple[float, float, str, str]] = (), lang: str = "en") -> Chart:
    """Histogram of the units' average annual change (%/yr) with the standard's threshold marked.

    ``rates`` of the units with data (NaN dropped); ``threshold`` in %/yr (0 for any decline); ``bins``:
    the map's rate classes ``(low, high, colour, label)`` colour the bars. The axis spans the 1st to the
    99th percentile (at least -3 to +3 %/yr); units beyond it count in the end bars, as the figure says.
    """
    words = _text(lang)
    values = np.asarray(rates, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        raise DataError("rate_histogram: no unit has an annual rate")
    low = min(float(np.percentile(values, 1)), threshold - 0.5, -3.0)
    high = max(float(np.percentile(values, 99)), 3.0)
    width = max((high - low) / 60, 0.05)
    low, high = np.floor(low / width) * width, np.ceil(high / width) * width
    edges = np.arange(low, high + width / 2, width)
    clipped = np.clip(values, edges[0] + 1e-9, edges[-1] - 1e-9)
    beyond = int(((values < edges[0]) | (values > edges[-1])).sum())
    heights, _ = np.histogram(clipped, edges)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = np.full(len(centres), _GREY, dtype=object)
    for bin_low, bin_high, colour, _ in bins:
        colours[(centres >= bin_low) & (centres < bin_high)] = colour
    with _style(lang != "en"):
        figure = _new_figure(3.4)
        axis = figure.add_subplot()
        axis.bar(centres, heights, width=width * 0.95, color=list(colours), edgecolor="white", linewidth=0.3)
        axis.axvline(threshold, color="#111111", linestyle="--", linewidth=1.4)
        shown = f"{threshold:+.2f}".replace("+0.00", "0").replace("-0.00", "0")
        top = float(heights.max()) * 1.18  # headroom: the label sits above the tallest bar
        axis.set_ylim(0, top)
        axis.annotate(words["hist_threshold"].format(value=shown), (threshold, top), xytext=(-6, -4),
                      textcoords="offset points", ha="right", va="top", fontsize=9, fontweight="bold",
                      bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        axis.set_xlabel(words["hist_x"])
        axis.set_ylabel(words["hist_y"])
        axis.set_xlim(edges[0], edges[-1])
        axis.grid(axis="y", alpha=0.3)
        title = words["hist_title"].format(indicator=indicator, period=period, n=len(values))
        if beyond:
            title += "\n" + words["hist_clip"].format(n=beyond, low=float(values.min()), high=float(values.max()))
        axis.set_title(title, fontsize=10)
        figure.tight_layout()
    caption = words["hist_caption"].format(indicator=indicator, period=period, n=len(values),
                                           threshold=f"{shown} %/yr")
    return Chart("annual-change-histogram", caption, figure)


# ---------------------------------------------------------------- population trends

def trend_multiples(series: pd.DataFrame, rates: pd.Series, names: pd.Series, *, window: tuple[int, int],
                    projected_from: int | None = None, indicator: str = "population", lang: str = "en",
                    columns: int = 4) -> Chart:
    """Small multiples of annual series: one panel per unit (rows of ``series``, columns = years), its own
    y scale, the compared ``window`` shaded and projected years (from ``projected_from``) dashed.

    ``rates`` (%/yr) and ``names`` are indexed like ``series``; units are drawn in ``series`` order.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator  # heavy: loaded only when a chart is drawn

    words = _text(lang)
    if series.empty:
        raise DataError("trend_multiples: no unit to draw")
    n = len(series)
    rows = int(np.ceil(n / columns))
    years = np.asarray(series.columns, dtype=int)

    def compact(value: float, _: object = None) -> str:
        for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.3g}{suffix}"
        return f"{value:.0f}"

    with _style(_needs_cjk(names.reindex(series.index).tolist())):
        figure = _new_figure(1.9 * rows + 0.7)
        axes = figure.subplots(rows, columns, squeeze=False)
        for position, axis in enumerate(axes.flat):
            if position >= n:
                axis.set_visible(False)
                continue
            unit = series.index[position]
            values = series.iloc[position].to_numpy(dtype=float)
            observed = years < projected_from if projected_from is not None else np.ones(len(years), dtype=bool)
            axis.axvspan(window[0], window[1], color="#f2d7d5", alpha=0.6, linewidth=0)
            axis.plot(years[observed], values[observed], color=_RED, linewidth=1.6)
            if (~observed).any():
                start = max(int(observed.sum()) - 1, 0)
                axis.plot(years[start:], values[start:], color=_RED, linewidth=1.2, linestyle="--")
            axis.set_title(f"{names.get(unit, unit)}\n{words['trend_rate'].format(rate=float(rates.get(unit, np.nan)))}",
                           fontsize=8.5)
            axis.yaxis.set_major_formatter(FuncFormatter(compact))
            axis.yaxis.set_major_locator(MaxNLocator(4))
            axis.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            axis.tick_params(labelsize=7.5)
            axis.grid(alpha=0.25)
        period = f"{window[0]}–{window[1]}"
        figure.suptitle(words["trend_title"].format(Indicator=indicator[:1].upper() + indicator[1:], n=n,
                                                    period=period), fontsize=10)
        figure.tight_layout()
    caption = words["trend_caption"].format(indicator=indicator, n=n, period=period)
    return Chart("population-trends", caption, figure)


# ---------------------------------------------------------------- distribution and drivers

def distribution_chart(result: DistributionResult, column: str = "region", *, top: int = 40,
                       tick_labels: dict[str, str] | None = None, lang: str = "en") -> Chart:
    """Horizontal bars of the share of shrinking units by ``column``, labelled ``shrinking/with data``.

    Every group with data is drawn when there are at most ``top``; otherwise the ``top`` groups with the
    highest shares, and the title and caption say so. ``tick_labels`` renames groups on the axis (a
    province with its English name).
    """
    if column not in result.tables:
        raise OptionError(f"distribution_chart: no table by {column!r}; have {', '.join(result.tables)}")
    words = _text(lang)
    table = result.tables[column]
    table = table[table["with_data"] > 0].sort_values(["share_shrinking", "with_data"], ascending=True)
    total = len(table)
    table = table.tail(top)
    group = result.labels.get(column, column_label(column, lang))
    if lang != "en":  # the analysis names its groups in English ("province"): the catalogue's word, else the column's
        group = catalogue(lang).get(f"report.page.parent_word.{group}") or column_label(column, lang)
    truncated = total > len(table)
    names = tick_labels or {}
    none = message("report.value.none", lang)  # what counts_by calls a missing group: "(none)", in lang
    labels = [names.get(str(i)) or (none if str(i) == "(none)" else str(i)) for i in table.index]
    with _style(_needs_cjk(labels)):
        figure = _new_figure(0.26 * len(table) + 1.3)
        axis = figure.add_subplot()
        positions = np.arange(len(table))
        shares = table["share_shrinking"].to_numpy(dtype=float) * 100
        axis.barh(positions, shares, color=_RED, height=0.72)
        axis.set_yticks(positions, labels, fontsize=8)
        for y, share, shrinking, with_data in zip(positions, shares, table["shrinking"], table["with_data"]):
            axis.text(share + 1, float(y), f"{int(shrinking):,}/{int(with_data):,}", va="center", fontsize=7.5)
        axis.set_xlim(0, 112)
        axis.set_ylim(-0.6, len(table) - 0.4)
        axis.set_xlabel(words["dist_x"])
        axis.set_title(words["dist_title_top"].format(group=group, top=len(table), total=total) if truncated
                       else words["dist_title"].format(group=group))
        axis.grid(axis="x", alpha=0.3)
        figure.tight_layout()
    top_note = words["dist_caption_top"].format(top=len(table), total=total) if truncated else ""
    name = "shrinking-by-" + re.sub(r"[^a-z0-9]+", "-", column.lower()).strip("-")
    return Chart(name, words["dist_caption"].format(group=group, top=top_note), figure)


def driver_importance_chart(result: DriverResult, *, lang: str = "en") -> Chart:
    """Bars of the gradient-boosting mean absolute contributions per predictor (%/yr), in plain names."""
    if not result.available or result.importance is None:
        raise DataError(f"driver_importance_chart: no driver model ({result.message})")
    words = _text(lang)
    importance = result.importance.sort_values(ascending=True)
    with _style(lang != "en"):
        figure = _new_figure(0.28 * len(importance) + 1.2)
        axis = figure.add_subplot()
        positions = np.arange(len(importance))
        axis.barh(positions, importance.to_numpy(dtype=float), color=_BLUE, height=0.7)
        axis.set_yticks(positions, [column_label(i, lang) for i in importance.index], fontsize=8)
        axis.set_xlabel(words["drivers_x"])
        axis.set_title(words["drivers_title"])
        axis.grid(axis="x", alpha=0.3)
        figure.tight_layout()
    return Chart("driver-contributions", words["drivers_caption"], figure)
