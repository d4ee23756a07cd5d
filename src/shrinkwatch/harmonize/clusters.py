"""Stable geography: units that exchanged territory, grouped into clusters whose outline did not change.

A comparison of two years across a boundary change compares different
territories (``boundary_change``, :mod:`shrinkwatch.harmonize.breaks`). The
practice of fixed-boundary statistics (Germany's BBSR on one boundary vintage,
NHGIS time series, the prefecture crosswalk's fixed-boundary reference units)
is to compare the smallest groups of units whose joint outline is the same in
both years instead. :func:`stable_clusters` builds them from
``panel.meta.territory_links``: the connected components of the change graph
(an edge joins two units that exchanged territory within the compared years),
and sums their values into one row per cluster, so identification judges the
cluster and every member gets the cluster's verdict.

The change graph (``PanelMeta.territory_links``, columns :data:`LINK_COLUMNS`)
is written by whoever knows the history: the ``cn-county-census`` adapter
(2010 units to 2020 units, partial transfers, functional zones) and
:func:`shrinkwatch.harmonize.to_vintage` (prefecture splits and counties moved
between prefectures, from the GB/T 2260 code history). A link ``(unit_id,
other_id, year, kind)`` joins two nodes; nodes are panel units or *former
units* (``PanelMeta.former_units``: past territories whose values are in no
panel unit's series, such as a 2010 county that was later split). Two kinds
say when a panel unit's own series does not stand for its territory:

- ``succeeded_by``: ``unit_id`` ceased in ``year`` (its territory went to
  ``other_id``); it is not counted in a cluster's total from ``year`` on;
- ``formed_from``: ``unit_id`` was formed in ``year`` from (part of)
  ``other_id``; before ``year`` its territory is counted in ``other_id``.

Any other kind (``partial_transfer``, ``functional_zone``, ...) joins units
that both exist before and after. A former unit counts in the years it has a
row for.

A cluster's value in a year is the sum of its counted nodes' values; it is
missing when one of them has no value, or when a link names a unit that is
neither in the panel nor a former unit (the cluster is then incomplete).
Which indicators are combined, and how, is :func:`cluster_indicator_kind`:
counts (persons, km2, money) are summed; population shares (``share_*``,
``urbanization_rate``) are weighted by the resident (else registered)
population, which is exact because share x population is the count of the
group; every other indicator (rates, growth, prices, ratios such as the sex
ratio or household size, which would need other weights) is missing for a
cluster. Values outside the compared years are missing too: the cluster is
only known to be stable within them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.harmonize.breaks import boundary_break_mask
from shrinkwatch.harmonize.vintage import COUNT_INDICATORS

__all__ = ["StableClusters", "stable_clusters", "cluster_indicator_kind", "LINK_COLUMNS", "SUCCEEDED_BY",
           "FORMED_FROM"]

#: Columns of ``PanelMeta.territory_links``.
LINK_COLUMNS = ("unit_id", "other_id", "year", "kind")
#: Link kind: ``unit_id`` ceased in ``year``; its territory went to ``other_id``.
SUCCEEDED_BY = "succeeded_by"
#: Link kind: ``unit_id`` was formed in ``year`` from (part of) ``other_id``.
FORMED_FROM = "formed_from"
#: ``kind`` of a cluster's row in the stable-geography panel.
CLUSTER_KIND = "stable_cluster"

_COUNT_UNITS = ("persons", "person", "km2", "yuan", "cny", "usd", "count", "households")
_SHARE_OF_POPULATION = ("share_", "urbanization_rate")


def cluster_indicator_kind(indicator: str, units_of: Mapping[str, str]) -> str:
    """How an indicator combines over a cluster: ``"count"`` (summed), ``"share"`` (population-weighted) or
    ``"none"`` (missing for clusters).

    Examples
    --------
    >>> [cluster_indicator_kind(c, {"gdp": "yuan"}) for c in ("pop_resident", "gdp", "share_65plus", "sex_ratio",
    ...                                                         "gdp_real_growth")]
    ['count', 'count', 'share', 'none', 'none']
    """
    unit = str(units_of.get(indicator, "")).lower()
    if indicator.startswith(_SHARE_OF_POPULATION):
        return "share"
    if unit in ("percent", "%", "ratio", "rate", "%/yr"):
        return "none"
    if indicator in COUNT_INDICATORS or indicator.startswith("pop_") or any(u in unit for u in _COUNT_UNITS):
        return "count"
    return "none"


@dataclass(frozen=True)
class StableClusters:
    """The stable clusters of a panel for one compared window, and the panel to judge them on.

    Attributes
    ----------
    start, end
        The compared years.
    panel
        The stable-geography panel: every unit of the original panel that is in no cluster, then one row
        per cluster (index ``cluster:<first member>``, ``kind`` ``stable_cluster``) with the cluster's
        summed values; same meta, without boundary breaks (a cluster is stable by construction).
    row
        For each unit of the original panel (aligned to its ``units.index``): the row of its cluster in
        ``panel``, or -1 when it is in no cluster.
    cluster_id
        For each unit of the original panel: its cluster's id, or "" when it is in no cluster.
    clusters
        One row per cluster, indexed by cluster id: ``members`` (panel unit ids, ``;``-joined),
        ``label`` (codes and names of the members), ``former`` (codes and names of former units counted
        in it), ``n_members``, ``missing`` (why its values cannot be complete: linked units outside the
        panel; "" when none).
    """

    start: int
    end: int
    panel: Panel
    row: np.ndarray
    cluster_id: np.ndarray
    clusters: pd.DataFrame

    @property
    def member(self) -> np.ndarray:
        """Which units of the original panel are in a cluster."""
        return self.row >= 0


def _links_in(panel: Panel, low: int, high: int) -> pd.DataFrame:
    links = panel.meta.territory_links
    if links is None or len(links) == 0:
        return pd.DataFrame(columns=list(LINK_COLUMNS))
    missing = [c for c in LINK_COLUMNS if c not in links.columns]
    if missing:
        raise DataError(f"panel {panel.id!r}: territory_links lacks column(s) {missing}; expected {list(LINK_COLUMNS)}")
    years = pd.to_numeric(links["year"], errors="coerce")
    inside = links.loc[(years > low) & (years <= high), list(LINK_COLUMNS)].copy()
    inside["unit_id"] = inside["unit_id"].astype(str)
    inside["other_id"] = inside["other_id"].astype(str)
    inside["year"] = pd.to_numeric(inside["year"]).astype(np.int64)
    return inside


def stable_clusters(panel: Panel, start_year: int, end_year: int) -> StableClusters | None:
    """The clusters of units that exchanged territory between ``start_year`` and ``end_year``.

    A cluster is a connected component of the change graph (the links of
    ``panel.meta.territory_links`` with ``start_year < year <= end_year``)
    that holds at least one unit with a boundary break in those years
    (:func:`~shrinkwatch.harmonize.breaks.boundary_break_mask`); a unit with a
    break and no link stays alone (nothing says with whom it exchanged
    territory). Returns None when no cluster is found.

    Examples
    --------
    >>> links = pd.DataFrame({"unit_id": ["B"], "other_id": ["A"], "year": [2015], "kind": ["partial_transfer"]})
    >>> breaks = pd.DataFrame({"unit_id": ["A", "B"], "year": [2015, 2015], "treatment": ["partial_transfer"] * 2})
    >>> p = Panel.from_series({"A": [100, 80], "B": [50, 75], "C": [10, 9]}, years=[2010, 2020],
    ...                       territory_links=links, boundary_breaks=breaks)
    >>> found = stable_clusters(p, 2010, 2020)
    >>> found.cluster_id.tolist(), found.panel.wide("pop_resident").loc["cluster:A"].tolist()
    (['cluster:A', 'cluster:A', ''], [150.0, 155.0])
    """
    low, high = sorted((int(start_year), int(end_year)))
    links = _links_in(panel, low, high)
    if links.empty:
        return None
    # heavy import deferred: scipy's sparse graph routines load only for a panel with territory links
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components  # as above

    unit_ids = pd.Index(panel.units.index.astype(str))
    n_units = len(unit_ids)
    others = pd.Index(pd.unique(np.concatenate([links["unit_id"].to_numpy(), links["other_id"].to_numpy()])))
    nodes = unit_ids.append(others.difference(unit_ids))
    a = nodes.get_indexer(links["unit_id"])
    b = nodes.get_indexer(links["other_id"])
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(nodes), len(nodes)))
    _, component = connected_components(graph, directed=False)

    broken = boundary_break_mask(panel, low, high)
    used = np.zeros(component.max() + 1, dtype=bool)
    used[np.unique(component[:n_units][broken])] = True
    # components of a single unit (a link to itself) are no cluster
    sizes = np.bincount(component, minlength=len(used))
    used &= sizes > 1
    if not used.any():
        return None
    node_used = used[component]
    member = node_used[:n_units]

    # clusters in panel order of their first member; their id names the first member
    comp_of_member = component[:n_units]
    first = pd.Series(np.flatnonzero(member)).groupby(comp_of_member[member]).min()
    order = first.sort_values()
    cluster_of_comp = pd.Series(np.arange(len(order)), index=order.index)
    ids = pd.Index("cluster:" + unit_ids[order.to_numpy()].astype(str), name="unit_id")
    cluster_index = np.full(n_units, -1, dtype=np.int64)
    cluster_index[member] = cluster_of_comp.reindex(comp_of_member[member]).to_numpy()

    # nodes of the used components that are neither panel units nor former units: the cluster is incomplete
    former = panel.meta.former_units
    former_ids = pd.Index([] if former is None or len(former) == 0 else former["unit_id"].astype(str).unique())
    extra = np.flatnonzero(node_used[n_units:]) + n_units
    extra_cluster = cluster_of_comp.reindex(component[extra]).to_numpy()
    unknown = ~nodes[extra].isin(former_ids)
    n_clusters = len(order)

    values, names = _cluster_values(panel, links, nodes, component, cluster_of_comp, n_clusters, low, high,
                                    former, extra[~unknown])
    missing = pd.Series(nodes[extra[unknown]].astype(str)).groupby(extra_cluster[unknown]).agg(", ".join)
    incomplete = np.zeros(n_clusters, dtype=bool)
    incomplete[missing.index.to_numpy(dtype=np.int64)] = True
    values.loc[incomplete[values.index.get_level_values(0).to_numpy()]] = np.nan

    # the cluster rows of the stable-geography panel
    member_names = panel.units["name"].astype("string").fillna("").to_numpy(dtype=object)
    label = pd.Series(unit_ids.to_numpy(dtype=object)[member] + " " + member_names[member]).groupby(
        cluster_index[member]).agg(", ".join)
    member_lists = pd.Series(unit_ids.to_numpy(dtype=object)[member]).groupby(cluster_index[member]).agg(";".join)
    n_members = np.bincount(cluster_index[member], minlength=n_clusters)
    clusters = pd.DataFrame({
        "members": member_lists.reindex(range(n_clusters)).to_numpy(),
        "label": label.reindex(range(n_clusters)).to_numpy(),
        "former": names.reindex(range(n_clusters)).fillna("").to_numpy(),
        "n_members": n_members,
        "missing": missing.reindex(range(n_clusters)).fillna("").to_numpy(),
    }, index=ids)

    first_rows = panel.units.iloc[order.to_numpy()]
    cluster_units = pd.DataFrame({
        column: first_rows[column].to_numpy() for column in panel.units.columns if column != "geometry"
    }, index=ids)
    cluster_units["name"] = label.reindex(range(n_clusters)).to_numpy()
    cluster_units["kind"] = CLUSTER_KIND
    parents = panel.units["parent_id"].astype("string").fillna("").to_numpy(dtype=object)[member]
    same_parent = pd.Series(parents).groupby(cluster_index[member]).nunique().reindex(range(n_clusters)).to_numpy() == 1
    for column in ("parent_id", "parent_name"):
        if column in cluster_units.columns:
            cluster_units[column] = cluster_units[column].where(same_parent, pd.NA)
    kept = panel.units.loc[~member].drop(columns=["geometry"], errors="ignore")
    stable_units = pd.concat([pd.DataFrame(kept), cluster_units])
    stable_units.index.name = "unit_id"
    kept_values = panel.values[~panel.values.index.get_level_values("unit_id").astype(str).isin(
        set(unit_ids[member]))]
    values.index = pd.MultiIndex.from_arrays([ids[values.index.get_level_values(0)],
                                              values.index.get_level_values(1)], names=["unit_id", "year"])
    stable_values = pd.concat([kept_values, values[panel.values.columns]])
    stable_meta = replace(panel.meta, boundary_breaks=None, territory_links=None, former_units=None)
    stable = Panel(units=stable_units, values=stable_values, meta=stable_meta)

    row = np.full(n_units, -1, dtype=np.int64)
    row[member] = len(kept) + cluster_index[member]
    cluster_id = np.where(member, ids.to_numpy(dtype=object)[np.maximum(cluster_index, 0)], "").astype(object)
    return StableClusters(start=low, end=high, panel=stable, row=row, cluster_id=cluster_id, clusters=clusters)


def _cluster_values(panel: Panel, links: pd.DataFrame, nodes: pd.Index, component: np.ndarray,
                    cluster_of_comp: pd.Series, n_clusters: int, low: int, high: int, former: pd.DataFrame | None,
                    former_nodes: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    """Each cluster's values per year (index: cluster number, year) and the names of its former units."""
    n_units = len(panel.units)
    years = [y for y in panel.years if low <= y <= high]
    unit_ids = nodes[:n_units]
    member_nodes = np.flatnonzero(cluster_of_comp.reindex(component[:n_units]).notna().to_numpy())

    # panel members: long (node, year) rows with their values, then whether each row counts
    values = panel.values
    wanted = values.index.get_level_values("unit_id").astype(str).isin(set(unit_ids[member_nodes])) & \
        values.index.get_level_values("year").isin(years)
    part = values[wanted]
    grid = pd.MultiIndex.from_product([unit_ids[member_nodes], years], names=["unit_id", "year"])
    member_values = part.set_axis(pd.MultiIndex.from_arrays(
        [part.index.get_level_values(0).astype(str), part.index.get_level_values(1)]), axis=0).reindex(grid)
    node_of_row = np.repeat(member_nodes, len(years))
    year_of_row = np.tile(np.asarray(years, dtype=np.int64), len(member_nodes))
    # a member is not counted in year t after it ceased (succeeded_by, year <= t) or before it was formed
    # (formed_from, year > t): there its territory is counted in the units it is linked to
    marks = links[links["kind"].isin([SUCCEEDED_BY, FORMED_FROM])]
    marks = pd.DataFrame({"_node": nodes.get_indexer(marks["unit_id"]), "_mark": marks["year"].to_numpy(),
                          "_ceased": (marks["kind"] == SUCCEEDED_BY).to_numpy()})
    rows = pd.DataFrame({"_node": node_of_row, "_year": year_of_row, "_row": np.arange(len(grid))})
    hits = rows.merge(marks, on="_node", how="inner")
    absent = np.where(hits["_ceased"], hits["_mark"] <= hits["_year"], hits["_mark"] > hits["_year"])
    counted = np.ones(len(grid), dtype=bool)
    counted[hits["_row"].to_numpy()[absent]] = False
    frames = [member_values.assign(_node=node_of_row, _year=year_of_row)[counted]]

    names = pd.Series(dtype=object)
    if former is not None and len(former) and len(former_nodes):
        former_ids = nodes[former_nodes]
        rows = former[former["unit_id"].astype(str).isin(set(former_ids))]
        rows = rows[pd.to_numeric(rows["year"]).isin(years)]
        columns = [c for c in panel.values.columns if c in rows.columns]
        former_frame = pd.DataFrame(rows[columns].to_numpy(dtype=float), columns=columns)
        former_frame = former_frame.reindex(columns=panel.values.columns)
        former_frame["_node"] = nodes.get_indexer(rows["unit_id"].astype(str))
        former_frame["_year"] = pd.to_numeric(rows["year"]).to_numpy(dtype=np.int64)
        frames.append(former_frame)
        label = rows["unit_id"].astype(str) + (" " + rows["name"].astype(str) if "name" in rows.columns else "")
        by_cluster = cluster_of_comp.reindex(component[nodes.get_indexer(rows["unit_id"].astype(str))]).to_numpy()
        names = pd.Series(label.to_numpy()).groupby(by_cluster).agg(lambda s: ", ".join(dict.fromkeys(s)))
    long = pd.concat(frames, ignore_index=True)
    long["_cluster"] = cluster_of_comp.reindex(component[long["_node"].to_numpy()]).to_numpy().astype(np.int64)

    units_of = panel.meta.units_of
    weight = next((c for c in ("pop_resident", "pop_registered") if c in panel.values.columns), None)
    grouped = long.groupby(["_cluster", "_year"])
    out: dict[str, pd.Series] = {}
    for column in panel.values.columns:
        kind = cluster_indicator_kind(column, units_of)
        present = long[column].notna()
        complete = present.groupby([long["_cluster"], long["_year"]]).all()
        if kind == "count":
            out[column] = grouped[column].sum().where(complete)
        elif kind == "share" and weight is not None:
            weighted = (long[column] * long[weight]).groupby([long["_cluster"], long["_year"]]).sum()
            total = long[weight].groupby([long["_cluster"], long["_year"]]).sum()
            ok = complete & long[weight].notna().groupby([long["_cluster"], long["_year"]]).all() & (total > 0)
            out[column] = (weighted / total.where(total > 0)).where(ok)
        else:
            out[column] = pd.Series(np.nan, index=complete.index)
    result = pd.DataFrame(out)
    # every cluster has a row for every panel year (missing outside the compared years)
    full = pd.MultiIndex.from_product([range(n_clusters), panel.years])
    return result.reindex(full), names
