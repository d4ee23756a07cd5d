"""One step from a panel as read to a panel on one administrative vintage.

:func:`to_vintage` is what ``shrinkwatch ingest --vintage`` runs after :func:`shrinkwatch.ingest.ingest`:
re-key the units to the codes of one vintage (:func:`~shrinkwatch.harmonize.vintage.harmonize_panel`),
then flag the prefecture crosswalk's boundary breaks, so that a comparison across a
territorial change reports ``boundary_change`` instead of a verdict, and record which units
exchanged territory (``meta.territory_links``), so that identification can compare them as
stable clusters instead (:mod:`shrinkwatch.harmonize.clusters`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.datasets.cn_codes import code_history
from shrinkwatch.datasets.cn_crosswalk import boundary_breaks, territory_links
from shrinkwatch.harmonize.breaks import with_boundary_breaks
from shrinkwatch.harmonize.clusters import FORMED_FROM, LINK_COLUMNS, SUCCEEDED_BY
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
        prefecture-level panel, ``meta.territory_links`` (split units and the units they went to;
        counties moved between prefectures, or partial transfers between county-level units) and the
        input's ledger with a tally and one warning per merged unit whose value was left missing in a
        year because not all its parts had one.
    """
    harmonised = harmonize_panel(panel, vintage, data_dir=data_dir)
    with_breaks = _attach_prefecture_breaks(harmonised, vintage, data_dir)
    return _attach_territory_links(with_breaks, vintage, data_dir)


def _prefecture_level(panel: Panel) -> bool:
    ids = pd.Series(panel.units.index.astype(str))
    return bool((ids.str.fullmatch(r"\d{4}00") & ~ids.str.fullmatch(r"\d{2}0000")).mean() >= 0.5)


def _attach_territory_links(panel: Panel, vintage: int, data_dir: str | Path | None) -> Panel:
    """The change graph of a harmonised panel: a split unit (kept under its old code) ``succeeded_by`` its
    successors, a successor formed in the split ``formed_from`` it, and the code history's moves between
    units of the panel's level (:func:`~shrinkwatch.datasets.cn_crosswalk.territory_links`)."""
    if not panel.years:
        return panel
    history = code_history(data_dir)
    start, end = min(panel.years), max(panel.years)
    level = "prefecture" if _prefecture_level(panel) else "county"
    parts = [territory_links(level, start_year=start, end_year=end, vintage=vintage, history=history)]
    mapping = panel.meta.harmonization
    if mapping is not None and len(mapping) and {"old_id", "action", "successors", "change_years"} <= set(mapping.columns):
        split = mapping[mapping["action"].astype(str) == "split_kept"]
        successors = split.assign(successor=split["successors"].astype(str).str.split(";")).explode("successor")
        successors = successors[successors["successor"].astype(str).str.fullmatch(r"\d{6}")]
        year = pd.to_numeric(successors["change_years"].astype(str).str.split(";").str[-1], errors="coerce")
        successors = successors.assign(year=year).dropna(subset=["year"])
        successors["year"] = successors["year"].astype(np.int64)
        parts.append(pd.DataFrame({"unit_id": successors["old_id"].astype(str).to_numpy(),
                                   "other_id": successors["successor"].to_numpy(),
                                   "year": successors["year"].to_numpy(), "kind": SUCCEEDED_BY}))
        # a successor whose code starts with the split did not exist before it
        first_year = history.table.groupby("code")["start"].min()
        formed = first_year.reindex(successors["successor"]).to_numpy() >= successors["year"].to_numpy()
        parts.append(pd.DataFrame({"unit_id": successors["successor"].to_numpy()[formed],
                                   "other_id": successors["old_id"].astype(str).to_numpy()[formed],
                                   "year": successors["year"].to_numpy()[formed], "kind": FORMED_FROM}))
    links = pd.concat(parts, ignore_index=True)[list(LINK_COLUMNS)].drop_duplicates()
    if links.empty:
        return panel
    return replace(panel, meta=replace(panel.meta, territory_links=links.reset_index(drop=True)))


def _attach_prefecture_breaks(panel: Panel, vintage: int, data_dir: str | Path | None) -> Panel:
    """Flag the prefecture crosswalk's boundary breaks on a prefecture-level panel.

    Yearbook values are published on the boundaries of their year, so a
    comparison across a territorial transfer or split compares different
    territories; identification then reports ``boundary_change``. A merge that
    harmonisation already resolved by summing the merged units is not a break.
    """
    ids = pd.Series(panel.units.index.astype(str))
    if not _prefecture_level(panel) or not panel.years:
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
