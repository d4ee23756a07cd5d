"""One step from a panel as read to a panel on one administrative vintage.

:func:`to_vintage` is what ``shrinkwatch ingest --vintage`` runs after :func:`shrinkwatch.ingest.ingest`:
re-key the units to the codes of one vintage (:func:`~shrinkwatch.harmonize.vintage.harmonize_panel`),
then flag the prefecture crosswalk's boundary breaks, so that a comparison across a
territorial change reports ``boundary_change`` instead of a verdict.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.datasets.cn_crosswalk import boundary_breaks
from shrinkwatch.harmonize.breaks import with_boundary_breaks
from shrinkwatch.harmonize.vintage import harmonize_panel

__all__ = ["to_vintage"]


def to_vintage(panel: Panel, vintage: int, data_dir: str | Path | None = None) -> Panel:
    """``panel`` re-keyed to the codes of ``vintage``, with the prefecture crosswalk's boundary breaks.

    Parameters
    ----------
    panel
        A panel keyed by GB/T 2260 codes (or names) of any year, e.g. from
        :func:`shrinkwatch.ingest.ingest`.
    vintage
        The administrative vintage (year) to re-base codes to.
    data_dir
        Data directory holding the code history (default: the usual lookup, see
        :func:`shrinkwatch.datasets.resolve_data_dir`).

    Returns
    -------
    Panel
        Merged units summed (shares population-weighted), ``meta.harmonization``
        saying what happened to each original unit, ``meta.boundary_breaks`` for a
        prefecture-level panel, and the input's ledger.
    """
    harmonised = harmonize_panel(panel, vintage, data_dir=data_dir)
    return replace(_attach_prefecture_breaks(harmonised, vintage, data_dir), ledger=panel.ledger)


def _attach_prefecture_breaks(panel: Panel, vintage: int, data_dir: str | Path | None) -> Panel:
    """Flag the prefecture crosswalk's boundary breaks on a prefecture-level panel.

    Yearbook values are published on the boundaries of their year, so a
    comparison across a territorial transfer or split compares different
    territories; identification then reports ``boundary_change``. A merge that
    harmonisation already resolved by summing the merged units is not a break.
    """
    ids = pd.Series(panel.units.index.astype(str))
    prefecture_level = (ids.str.fullmatch(r"\d{4}00") & ~ids.str.fullmatch(r"\d{2}0000")).mean() >= 0.5
    if not prefecture_level or not panel.years:
        return panel
    breaks = boundary_breaks("prefecture", start_year=min(panel.years), end_year=max(panel.years),
                             vintage=vintage, data_dir=data_dir)
    mapping = panel.meta.harmonization
    if mapping is not None and len(mapping) and {"new_id", "action"} <= set(mapping.columns):
        summed = mapping.loc[mapping["action"].astype(str) == "merged_sum", "new_id"].astype(str)
        resolved = set(summed[summed.duplicated(keep=False)])
        breaks = breaks[~(breaks["treatment"].astype(str).str.startswith("merge")
                          & breaks["unit_id"].astype(str).isin(resolved))]
    breaks = breaks[breaks["unit_id"].astype(str).isin(set(ids))]
    if breaks.empty:
        return panel
    return with_boundary_breaks(panel, breaks)
