"""Charts of the report, drawn with matplotlib and inlined as SVG.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state)
serialised by :func:`figure_svg`; each chart function returns an ``<svg>``
element that can be embedded in the HTML page as is. matplotlib loads on the
first chart, so a report without analysis sections does not wait for it.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from shrinkwatch.analysis.distribution import DistributionResult
    from shrinkwatch.analysis.drivers import DriverResult
    from shrinkwatch.identification.sensitivity import SensitivityResult

__all__ = ["figure_svg", "distribution_chart_svg", "driver_importance_svg", "sensitivity_chart_svg"]


def figure_svg(figure: Figure, *, text_as_paths: bool = False, tight: bool = True) -> str:
    """A figure as an inline ``<svg>`` element: no XML prolog, no RDF metadata, stable element ids.

    Text stays text (the browser draws it with its own fonts, so any script
    shows) unless ``text_as_paths``; ``tight`` crops the figure to its contents.
    """
    import matplotlib  # heavy: loaded only when a chart is drawn

    buffer = io.StringIO()
    fonttype = "path" if text_as_paths else "none"
    with matplotlib.rc_context({"svg.hashsalt": "shrinkwatch", "svg.fonttype": fonttype}), warnings.catch_warnings():
        # with text kept as text, a glyph matplotlib's own font lacks (Chinese names) only affects its layout estimate
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight" if tight else None)
    text = buffer.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    head, sep, rest = text.partition(" <metadata>")
    if sep:  # the RDF block only credits matplotlib; drop it to keep the inline SVG lean
        _, _, tail = rest.partition("</metadata>\n")
        text = head + tail
    return text


def distribution_chart_svg(
    result: DistributionResult,
    column: str = "region",
    *,
    top: int = 30,
    tick_labels: dict[str, str] | None = None,
) -> str:
    """Horizontal bar chart of the share of shrinking units by ``column``, labelled ``shrinking/with data``.

    ``top`` groups with the highest shares are drawn; ``tick_labels`` renames
    groups on the axis (e.g. a province with its English name).
    """
    if column not in result.tables:
        raise OptionError(f"distribution_chart_svg: no table by {column!r}; have {', '.join(result.tables)}")
    from matplotlib.figure import Figure  # heavy: loaded only when a chart is drawn

    table = result.tables[column]
    table = table[table["with_data"] > 0].sort_values("share_shrinking", ascending=True).tail(top)
    figure = Figure(figsize=(7.5, 0.32 * len(table) + 1.2))
    axis = figure.add_subplot()
    positions = np.arange(len(table))
    axis.barh(positions, table["share_shrinking"].to_numpy(dtype=float) * 100, color="#b2182b")
    names = tick_labels or {}
    axis.set_yticks(positions, [names.get(str(i)) or str(i) for i in table.index], fontsize=8)
    for y, (_, row) in zip(positions, table.iterrows()):
        axis.text(float(row["share_shrinking"]) * 100 + 1, float(y), f"{int(row['shrinking'])}/{int(row['with_data'])}",
                  va="center", fontsize=7)
    axis.set_xlim(0, 112)
    axis.set_xlabel("share of units with data that are shrinking (%)", fontsize=8)
    axis.set_title(f"Shrinking units by {result.labels.get(column, column)} (shrinking / units with data)", fontsize=9)
    axis.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)


def driver_importance_svg(result: DriverResult) -> str:
    """Bar chart of LightGBM mean absolute contributions per predictor (%/yr)."""
    if not result.available or result.importance is None:
        raise DataError(f"driver_importance_svg: no driver model ({result.message})")
    from matplotlib.figure import Figure  # heavy: loaded only when a chart is drawn

    importance = result.importance.sort_values(ascending=True)
    figure = Figure(figsize=(7.5, 0.32 * len(importance) + 1.2))
    axis = figure.add_subplot()
    positions = np.arange(len(importance))
    axis.barh(positions, importance.to_numpy(dtype=float), color="#4393c3")
    axis.set_yticks(positions, [str(i) for i in importance.index], fontsize=8)
    axis.set_xlabel("mean |contribution| to the predicted annual rate (%/yr), gradient boosting", fontsize=8)
    axis.set_title("Predictor contributions (associational)", fontsize=9)
    axis.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)


def sensitivity_chart_svg(result: SensitivityResult, *, lang: str = "en", width: float = 3.2,
                          height: float = 2.6) -> str:
    """The count of shrinking units against each varied parameter.

    One panel per varied parameter. With several parameters, the line is the
    mean count over the other parameters' combinations and the band their
    minimum to maximum. Chinese labels only where a CJK font is installed
    (the text is drawn as paths); otherwise English rather than empty boxes.
    """
    from matplotlib import font_manager  # heavy: loaded only when a chart is drawn
    from matplotlib.figure import Figure  # heavy: as above

    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or "WenQuanYi" in f.name]
    chinese = lang == "zh" and bool(cjk)
    keys = list(result.vary)
    figure = Figure(figsize=(width * len(keys), height))
    axes = figure.subplots(1, len(keys), squeeze=False)
    label = "收缩单元数" if chinese else "shrinking units"
    for axis, key in zip(axes[0], keys):
        grouped = result.counts.groupby(key, sort=False)["shrinking"]
        stats = pd.DataFrame({"mean": grouped.mean(), "min": grouped.min(), "max": grouped.max()})
        stats = stats.reindex(result.vary[key])
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in result.vary[key])
        x = np.asarray(result.vary[key], dtype=float) if numeric else np.arange(len(stats))
        axis.plot(x, stats["mean"].to_numpy(), marker="o", markersize=3, color="#b2182b", linewidth=1.5)
        if (stats["max"] > stats["min"]).any():
            axis.fill_between(x, stats["min"].to_numpy(), stats["max"].to_numpy(), color="#b2182b", alpha=0.15,
                              linewidth=0)
        if not numeric:
            axis.set_xticks(x, [str(v) for v in result.vary[key]], rotation=30, ha="right")
        axis.set_xlabel(key)
        axis.set_ylabel(label)
        if chinese:
            axis.yaxis.label.set_fontfamily(cjk[0])
        axis.grid(alpha=0.3)
        axis.set_ylim(bottom=0)
    title = f"{result.standard_id}: {result.combinations} combinations"
    if len(keys) > 1:
        title += (" (线：其他参数组合的均值；阴影：最小至最大)" if chinese
                  else " (line: mean over the other parameters; band: min to max)")
    figure.suptitle(title, fontsize=9, fontfamily=cjk[0] if chinese else None)
    figure.tight_layout()
    return figure_svg(figure, text_as_paths=True, tight=False)
