"""Sensitivity of an identification to its standard's parameters.

:func:`sweep` evaluates every combination of the varied parameters and reports
the count of shrinking units per combination and, per unit, the share of
combinations under which it is shrinking:

- ``robust``: shrinking under every combination where it can be evaluated;
- ``borderline``: shrinking under some, not all;
- ``never``: shrinking under none;
- ``insufficient_data``: evaluable under no combination (kept apart: it is
  not "never shrinking").

The sweep uses the rules' kernels (:class:`shrinkwatch.identify.kernel.Kernel`):
the per-panel state (year grids, decline flags, run lengths, peaks) is
computed once and cached, and each combination evaluates only the verdict
mask, without criteria tables or reasons.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import OptionError
from shrinkwatch.report.html import Section
from shrinkwatch.core import Panel
from shrinkwatch.identify.catalogue import load_standard
from shrinkwatch.identify.engine import boundary_change_mask
from shrinkwatch.identify.rules import kernel_class
from shrinkwatch.identify.schema import Standard

__all__ = ["SensitivityResult", "sweep", "check_grid", "parse_vary", "chart_svg", "sensitivity_section", "ROBUSTNESS_CLASSES"]

#: Per-unit robustness classes.
ROBUSTNESS_CLASSES = ("robust", "borderline", "never", "insufficient_data", "boundary_change")


@dataclass(frozen=True)
class SensitivityResult:
    """The outcome of a parameter sweep.

    Attributes
    ----------
    counts
        One row per combination: the varied parameters, then ``shrinking``,
        ``not_shrinking``, ``insufficient_data`` and ``units_with_data``.
    units
        One row per unit (``unit_id`` index): ``name``, ``combinations``,
        ``evaluable`` (combinations where it could be decided),
        ``shrinking`` (combinations where it is shrinking), ``share``
        (shrinking / evaluable, NaN when never evaluable) and ``robustness``.
    """

    standard_id: str
    base: dict[str, Any]
    vary: dict[str, list[Any]]
    counts: pd.DataFrame
    units: pd.DataFrame
    panel_id: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def combinations(self) -> int:
        return len(self.counts)

    def summary(self) -> dict[str, int]:
        """Units per robustness class."""
        classes = self.units["robustness"].value_counts()
        return {name: int(classes.get(name, 0)) for name in ROBUSTNESS_CLASSES}


def parse_vary(items: list[str] | None) -> dict[str, list[str]]:
    """``["key=v1,v2,...", "key=start:stop:step"]`` into ``{key: [values]}``.

    ``start:stop:step`` is an inclusive numeric range.

    Examples
    --------
    >>> parse_vary(["n=2,3,4", "min_loss=0:0.1:0.05"])
    {'n': ['2', '3', '4'], 'min_loss': ['0', '0.05', '0.1']}
    """
    vary: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise OptionError(f"--vary {item!r}: expected key=v1,v2,... or key=start:stop:step")
        if key in vary:
            raise OptionError(f"--vary {item!r}: parameter {key!r} is varied twice")
        if text.count(":") == 2 and "," not in text:
            try:
                start, stop, step = (float(x) for x in text.split(":"))
            except ValueError:
                raise OptionError(f"--vary {item!r}: start:stop:step must be numbers") from None
            if step <= 0 or stop < start:
                raise OptionError(f"--vary {item!r}: expected start <= stop and step > 0")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            values = start + step * np.arange(count)
            vary[key] = [f"{v:.10g}" for v in values]
        else:
            vary[key] = [v.strip() for v in text.split(",") if v.strip()]
        if not vary[key]:
            raise OptionError(f"--vary {item!r}: no values")
    return vary


def check_grid(standard: str | Path | Standard, vary: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """``vary`` with every value converted and checked against the standard's parameters.

    An unknown key, an empty list or a bad value is an OptionError naming it, so
    callers can reject a grid before reading any data.
    """
    std = load_standard(standard)
    if not vary:
        raise OptionError("vary: give at least one parameter to vary (--vary key=v1,v2,...)")
    checked: dict[str, list[Any]] = {}
    for key, values in vary.items():
        if key not in std.parameters:
            raise OptionError(
                f"--vary: unknown parameter {key!r} for standard {std.id!r}; "
                f"valid parameters: {', '.join(sorted(std.parameters))}"
            )
        if not list(values):
            raise OptionError(f"--vary {key}: no values")
        checked[key] = [std.parameters[key].coerce(key, v) for v in values]
    return checked


def sweep(
    panel: Panel,
    standard: str | Path | Standard,
    vary: dict[str, list[Any]],
    base_settings: dict[str, Any] | None = None,
) -> SensitivityResult:
    """Evaluate ``standard`` on ``panel`` for every combination of ``vary``.

    Parameters
    ----------
    panel
        The units and their values.
    standard
        A built-in id, a TOML path or a :class:`~shrinkwatch.identify.schema.Standard`.
    vary
        Parameter name -> values to try (text or typed; each is validated
        like a ``--set`` value). The combinations are the Cartesian product.
    base_settings
        Overrides of the other parameters (as ``--set``).

    Returns
    -------
    SensitivityResult

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["a", "b"], name="unit_id"))
    >>> idx = pd.MultiIndex.from_product([["a", "b"], [2010, 2020]], names=["unit_id", "year"])
    >>> values = pd.DataFrame({"pop_resident": [100.0, 90.0, 100.0, 99.0]}, index=idx)
    >>> result = sweep(Panel(units, values), "census-decline", {"min_loss": [0, 0.05]})
    >>> result.counts["shrinking"].tolist(), result.units["robustness"].tolist()
    ([2, 1], ['robust', 'borderline'])
    """
    std = load_standard(standard)
    base = std.resolve(base_settings)
    checked = check_grid(std, vary)
    keys = list(checked)
    grids = [checked[key] for key in keys]

    n_units = len(panel.units)
    shrinking_count = np.zeros(n_units, dtype=np.int32)
    not_count = np.zeros(n_units, dtype=np.int32)
    broken_count = np.zeros(n_units, dtype=np.int32)
    rows: list[tuple[int, int, int]] = []
    kernel = kernel_class(std.rule)(panel, std)
    has_breaks = panel.meta.boundary_breaks is not None and len(panel.meta.boundary_breaks) > 0
    for combination in itertools.product(*grids):
        params = kernel.parameters_of({**base, **dict(zip(keys, combination))})
        verdict = kernel.verdict(params)
        yes, no = verdict.yes, verdict.no
        n_broken = 0
        if has_breaks:  # a comparison across a boundary break has no verdict (see engine.identify)
            broken = boundary_change_mask(panel, params)
            if broken is not None:
                yes, no = yes & ~broken, no & ~broken
                n_broken = int(np.count_nonzero(broken))
                broken_count += broken
        shrinking_count += yes
        not_count += no
        rows.append((int(np.count_nonzero(yes)), int(np.count_nonzero(no)), n_broken))

    combos = pd.DataFrame(list(itertools.product(*grids)), columns=keys)
    tallies = np.array(rows, dtype=np.int64).reshape(-1, 3)
    combos["shrinking"] = tallies[:, 0]
    combos["not_shrinking"] = tallies[:, 1]
    combos["units_with_data"] = tallies[:, :2].sum(axis=1)
    combos["insufficient_data"] = n_units - combos["units_with_data"] - tallies[:, 2]
    if tallies[:, 2].any():
        combos["boundary_change"] = tallies[:, 2]

    total = len(combos)
    evaluable_count = shrinking_count + not_count
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(evaluable_count > 0, shrinking_count / np.maximum(evaluable_count, 1), np.nan)
    robustness = np.select(
        [(evaluable_count == 0) & (broken_count > 0), evaluable_count == 0, shrinking_count == evaluable_count,
         shrinking_count == 0],
        np.array(["boundary_change", "insufficient_data", "robust", "never"], dtype=object),
        default="borderline",
    )
    units = pd.DataFrame(
        {
            "name": panel.units["name"].to_numpy() if "name" in panel.units.columns else pd.NA,
            "parent_name": panel.units["parent_name"].to_numpy() if "parent_name" in panel.units.columns else pd.NA,
            "combinations": total,
            "evaluable": evaluable_count,
            "shrinking": shrinking_count,
            "share": np.round(share, 6),
            "robustness": robustness,
        },
        index=panel.units.index,
    )
    return SensitivityResult(
        standard_id=std.id,
        base=base,
        vary={k: list(v) for k, v in zip(keys, grids)},
        counts=combos,
        units=units,
        panel_id=panel.id,
    )


def chart_svg(result: SensitivityResult, *, lang: str = "en", width: float = 3.2, height: float = 2.6) -> str:
    """The count of shrinking units against each varied parameter, as an SVG string.

    The string starts at ``<svg`` so that it can be embedded in HTML as is.
    One panel per varied parameter. With several parameters, the line is the
    mean count over the other parameters' combinations and the band their
    minimum to maximum.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    # Chinese labels only where a CJK font is installed; otherwise English rather than empty boxes
    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or "WenQuanYi" in f.name]
    chinese = lang == "zh" and bool(cjk)
    keys = list(result.vary)
    figure, axes = plt.subplots(1, len(keys), figsize=(width * len(keys), height), squeeze=False)
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
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # inline-ready: no XML declaration or DOCTYPE


def sensitivity_section(result: SensitivityResult, *, lang: str = "en") -> Section:
    """The report section: the chart, the count per setting, and how robust each verdict is."""
    from shrinkwatch.report.html import escape, frame_html

    counts = result.counts
    classes = result.units["robustness"].value_counts().reindex(list(ROBUSTNESS_CLASSES), fill_value=0)
    settings = "; ".join(f"{k} = {', '.join(str(v) for v in values)}" for k, values in result.vary.items())
    low, high = int(counts["shrinking"].min()), int(counts["shrinking"].max())
    parts = [
        f"<p>How the answer moves with the standard: {escape(result.standard_id)} evaluated under "
        f"{result.combinations} parameter settings ({escape(settings)}), other parameters as in the run. "
        f"The count of shrinking units ranges from {low:,} to {high:,}. "
        f"{int(classes['robust']):,} units are shrinking under every setting (robust), "
        f"{int(classes['borderline']):,} under some but not all (borderline), "
        f"{int(classes['never']):,} under none; {int(classes['insufficient_data']):,} cannot be decided "
        "under any setting"
        + (f" and {int(classes['boundary_change']):,} compare years across a boundary change"
           if classes["boundary_change"] else "") + ".</p>",
        chart_svg(result, lang=lang),
    ]
    shown = counts if len(counts) <= 40 else counts.iloc[np.linspace(0, len(counts) - 1, 40).astype(int)]
    parts.append(str(frame_html(shown, index=False, formats={"shrinking": "{:,}", "not_shrinking": "{:,}",
                                                             "insufficient_data": "{:,}", "units_with_data": "{:,}"})))
    borderline = result.units[result.units["robustness"] == "borderline"].sort_values("share", ascending=False)
    if len(borderline):
        parts.append(f"<h3>Borderline units ({len(borderline):,})</h3><p>Shrinking under some settings only; "
                     "share = settings under which shrinking / settings where decidable.</p>")
        table = borderline[["name", "parent_name", "shrinking", "evaluable", "share"]].head(60)
        parts.append('<div class="scroll">' + str(frame_html(table, formats={"share": "{:.0%}"})) + "</div>")
    summary = {
        "standard": result.standard_id,
        "vary": {k: [v if isinstance(v, (int, float, str, bool)) else str(v) for v in values]
                 for k, values in result.vary.items()},
        "combinations": int(result.combinations),
        "count_min": low,
        "count_max": high,
        "robustness": {k: int(v) for k, v in classes.items()},
    }
    return Section(id="sensitivity", title="Sensitivity to the standard", html="\n".join(parts), summary=summary,
                   tables={"sensitivity_counts": result.counts, "sensitivity_units": result.units})
