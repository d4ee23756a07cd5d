"""Boundary breaks on a panel: attach them, and tell identification which comparisons span one.

A panel's known breaks are ``panel.meta.boundary_breaks`` (a table with
``unit_id``, ``year``, ``treatment``; see
:func:`shrinkwatch.datasets.cn_crosswalk.boundary_breaks` for China's). A break
with year ``y`` breaks a comparison of ``t1`` and ``t2`` when ``t1 < y <= t2``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.meta import BREAK_COLUMNS

__all__ = ["with_boundary_breaks", "boundary_break_mask", "boundary_break_reasons"]


def with_boundary_breaks(panel: Panel, breaks: pd.DataFrame) -> Panel:
    """A copy of ``panel`` with ``breaks`` added to ``panel.meta.boundary_breaks``.

    ``breaks`` needs the columns ``unit_id``, ``year`` and ``treatment``
    (as from :func:`boundary_breaks`). Attach breaks only to values on
    as-published boundaries: a panel whose earlier values were already
    adjusted to later boundaries (such as ``cn-prefecture-census``) has no
    break to report.
    """
    missing = [c for c in BREAK_COLUMNS if c not in breaks.columns]
    if missing:
        raise DataError(f"boundary breaks: missing column(s) {missing}; expected {list(BREAK_COLUMNS)}")
    new = breaks[list(BREAK_COLUMNS)].astype({"unit_id": str})
    new["year"] = pd.to_numeric(new["year"], errors="raise").astype(np.int64)
    previous = panel.meta.boundary_breaks
    if previous is not None and len(previous):
        new = pd.concat([previous[list(BREAK_COLUMNS)], new], ignore_index=True)
    breaks_now = new.drop_duplicates().sort_values(["unit_id", "year"]).reset_index(drop=True)
    return replace(panel, meta=replace(panel.meta, boundary_breaks=breaks_now))


def boundary_break_mask(panel: Panel, start_year: int, end_year: int) -> np.ndarray:
    """Which units have a boundary break in ``(start_year, end_year]``.

    Reads ``panel.meta.boundary_breaks`` (a DataFrame with ``unit_id``,
    ``year``, ``treatment``; absent means no known breaks). A comparison of
    ``start_year`` and ``end_year`` for a flagged unit compares different
    territories: identification should report ``boundary_change`` for it
    instead of a verdict.

    Parameters
    ----------
    panel
        The panel.
    start_year, end_year
        The compared years, in either order.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``panel.units.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> breaks = pd.DataFrame({"unit_id": ["370100"], "year": [2019], "treatment": ["merge_successor"]})
    >>> p = Panel.from_series({"370100": [1.0], "370200": [2.0]}, years=[2010], boundary_breaks=breaks)
    >>> boundary_break_mask(p, 2010, 2020).tolist()
    [True, False]
    >>> boundary_break_mask(p, 2019, 2020).tolist()
    [False, False]
    """
    inside = _breaks_between(panel, start_year, end_year)
    return panel.units.index.astype(str).isin(set(inside["unit_id"])).astype(bool)


def boundary_break_reasons(panel: Panel, start_year: int, end_year: int, lang: str = "en") -> np.ndarray:
    """One sentence per unit naming the breaks in ``(start_year, end_year]`` ("" where none).

    Aligned to ``panel.units.index``; for the ``reason`` of units reported as
    ``boundary_change``.

    Examples
    --------
    >>> breaks = pd.DataFrame({"unit_id": ["370100"], "year": [2019], "treatment": ["merge_successor"]})
    >>> p = Panel.from_series({"370100": [1.0], "370200": [2.0]}, years=[2010], boundary_breaks=breaks)
    >>> boundary_break_reasons(p, 2010, 2020).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['Boundary change: merge_successor (2019) between 2010 and 2020; the two years cover
      different territories, so no verdict.', '']
    """
    low, high = sorted((int(start_year), int(end_year)))
    inside = _breaks_between(panel, start_year, end_year)
    out = np.full(len(panel.units), "", dtype=object)
    if inside.empty:
        return out
    text = inside["treatment"].astype(str) + " (" + inside["year"].astype(int).astype(str) + ")"
    joined = text.groupby(inside["unit_id"].astype(str).to_numpy()).agg(lambda t: ", ".join(dict.fromkeys(t)))
    described = pd.Series(panel.units.index.astype(str)).map(joined)
    present = described.notna().to_numpy()
    if lang == "zh":
        sentences = "行政区划调整：" + described[present] + f"，{low}年与{high}年口径不同，无法判定。"
    else:
        sentences = ("Boundary change: " + described[present] + f" between {low} and {high}; the two years "
                     "cover different territories, so no verdict.")
    out[present] = sentences.to_numpy(dtype=object)
    return out


def _breaks_between(panel: Panel, start_year: int, end_year: int) -> pd.DataFrame:
    low, high = sorted((int(start_year), int(end_year)))
    breaks = panel.meta.boundary_breaks  # shape checked by PanelMeta: unit_id, year (and treatment)
    if breaks is None or len(breaks) == 0:
        return pd.DataFrame(columns=list(BREAK_COLUMNS))
    if "treatment" not in breaks.columns:
        breaks = breaks.assign(treatment="boundary_change")
    years = pd.to_numeric(breaks["year"], errors="coerce")
    return breaks.loc[(years > low) & (years <= high), list(BREAK_COLUMNS)]
