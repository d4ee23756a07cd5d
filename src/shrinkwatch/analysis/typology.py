"""Types of shrinking city: data-driven clusters and rule-based types.

Two complementary views of the units an identification found shrinking:

* **Clusters** (:func:`classify`, ``cluster`` / ``cluster_label``): k-means on
  the standardised profiles of the shrinking units. The features
  (:mod:`shrinkwatch.analysis.features`) are chosen per dataset from what the
  panel has (annual rate, 65+ share and its change, 0-14 share, urban share,
  household size, sex ratio). The number of clusters is the
  k in 2..6 with the highest mean silhouette (ties go to the smaller k). The
  silhouette compares every pair of units, so its cost grows with the square of
  the units: above :data:`SILHOUETTE_SAMPLE` shrinking units it is measured on a
  seeded random sample of that many units (the same sample for every k,
  ``random_state`` = the k-means seed), which keeps the whole clustering linear in
  units; at or below it (every shipped dataset) it is exact. Each
  cluster is named after the two features of its centre with the largest
  absolute z-score, with their direction relative to the other shrinking units ("faster ageing, faster loss").
* **Rule-based types** (``types``, with the values that triggered each):
  ``old industrial base`` (a high share of industry, ``share_industry``, at the
  start of the period, or units the user names; never a region alone: without
  the indicator the type is not assessed),
  ``peripheral`` (far from the parent's capital), ``shadow of growing core``
  (a shrinking unit near a growing capital of the same parent), and
  ``resource-based`` / ``resource-exhausted`` (from a user-supplied table, see
  :func:`shrinkwatch.analysis.resource_cities.read_resource_table`).

The *capital* of a parent (province, state, country) is taken from the
``capitals`` mapping when given, otherwise it is the unit of that parent with
the largest population in the last observed year (stated in the notes: in
China this is the provincial capital for most but not all provinces).
Distances are measured between unit centroids in a Lambert azimuthal
equal-area projection centred on each parent (or in a CRS the caller names).
The coordinates go to longitude/latitude once per call; the per-parent
projections are then computed for all units at once (:func:`_laea`, PROJ's
formulas for the ellipsoidal oblique aspect), not with a transformer per parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import shapely

from shrinkwatch.analysis.features import FEATURES, select_features
from shrinkwatch.analysis.resource_cities import read_resource_table
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError, UnknownIdError
from shrinkwatch.core.messages import check_language, message
from shrinkwatch.datasets.china import provincial_capitals

__all__ = [
    "TYPE_NAMES",
    "type_label",
    "row_messages",
    "Typology",
    "classify",
]

#: Rule-based type names (English) and their Chinese equivalents.
TYPE_NAMES: dict[str, str] = {
    "old industrial base": "老工业基地",
    "peripheral": "外围城市",
    "shadow of growing core": "增长核心虹吸区",
    "resource-based": "资源型城市",
    "resource-exhausted": "资源枯竭型城市",
}

#: The indicator behind the ``old industrial base`` type: share of industry (the secondary
#: sector) in employment or GDP, percent. A panel without it does not assess the type.
INDUSTRY_INDICATOR = "share_industry"

#: The notes and triggers the rule-based types print are the catalogue's ``analysis.typology`` messages.


def type_label(name: str, lang: str) -> str:
    """A rule-based type (a key of :data:`TYPE_NAMES`) in ``lang`` (catalogue ``analysis.types``)."""
    return message(f"analysis.types.{name.replace(' ', '_').replace('-', '_')}", lang) if name in TYPE_NAMES else name


def row_messages(key: str, lang: str, n: int, /, **fields: Any) -> np.ndarray:
    """The message ``key`` in ``lang`` for each of ``n`` rows (an object array): a field is a Series or array of
    ``n`` values (by position) or one value for every row. Each distinct row of values is formatted once, so a
    million rows of a few hundred distinct values cost a few hundred formats. Floats are told apart by their bits
    (``-0.0`` is not ``0.0``); a column of objects other than text is formatted row by row (``1``, ``1.0`` and
    ``True`` are equal keys but print apart).

    Examples
    --------
    >>> row_messages("common.count_of", "en", 3, n=pd.Series([1, 2, 1]), total=10).tolist()
    ['1 of 10', '2 of 10', '1 of 10']
    """
    varying = {k: pd.Series(v).reset_index(drop=True) for k, v in fields.items()
               if isinstance(v, (pd.Series, np.ndarray))}
    constants = {k: v for k, v in fields.items() if k not in varying}
    if not n:
        return np.empty(0, dtype=object)
    if not varying:
        return np.full(n, message(key, lang, **constants), dtype=object)
    codes = []
    for values in varying.values():
        if len(values) != n:
            raise ValueError(f"row_messages: a field has {len(values)} values for {n} rows")
        if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
            codes.append(pd.factorize(values.to_numpy(dtype=np.float64).view(np.int64))[0])  # -0.0 apart from 0.0
        elif values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            codes.append(np.arange(n))
        else:
            codes.append(pd.factorize(values, use_na_sentinel=False)[0])
    _, first, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_index=True, return_inverse=True)
    distinct = {k: v.iloc[first].tolist() for k, v in varying.items()}
    said = np.array([message(key, lang, **constants, **dict(zip(distinct, row))) for row in zip(*distinct.values())],
                    dtype=object)
    return said[inverse.ravel()]


def _each(mask: pd.Series, key: str, lang: str, **columns: Any) -> pd.Series:
    """The message ``key`` for each unit where ``mask`` holds (fields from aligned ``columns`` or constants), else
    ""; formatted once per distinct row of values among the hits (:func:`row_messages`)."""
    out = pd.Series("", index=mask.index, dtype=object)
    hits = mask.fillna(False).astype(bool).to_numpy()
    if hits.any():
        out[hits] = row_messages(key, lang, int(hits.sum()), **{k: (v[hits] if isinstance(v, pd.Series) else v)
                                                                for k, v in columns.items()})
    return out


K_RANGE = (2, 6)
N_INIT = 10
#: Above this many shrinking units the mean silhouette of each k is measured on a seeded random sample of this
#: many (scikit-learn's ``silhouette_score(sample_size=..., random_state=seed)``): the exact score compares every
#: pair of units (quadratic: 3.5 s at 20,000 units, and a 1,000,000-unit run never finished it). At or below it
#: the score is exact, as for every shipped dataset.
SILHOUETTE_SAMPLE = 5000


# ---------------------------------------------------------------- result

@dataclass(frozen=True)
class Typology:
    """Clusters and rule-based types of the units of one identification.

    Attributes
    ----------
    table
        Indexed by ``unit_id`` (all units of the identification): ``name``,
        ``parent_id``, ``status``, ``annual_rate``, ``severity``, ``cluster``
        (Int64, 1 = the cluster with the fastest loss; NA when not clustered),
        ``cluster_label``, ``cluster_label_zh``, ``types`` (semicolon-separated),
        ``type_triggers`` (``type: values; ...``), the feature values, and the
        values behind the rule-based types (``capital_id``,
        ``distance_to_capital_km``, ``core_id``, ``core_annual_rate``,
        ``distance_to_core_km``, ``resource_type``, ``exhausted_batch``).
    centres
        One row per cluster: ``label``, ``label_zh``, ``units``, the centre in
        the features' own units and, as ``z_<feature>``, in z-scores.
    k
        The number of clusters (0 when fewer than 3 shrinking units had data).
    silhouette
        Mean silhouette by candidate k.
    features
        The features used.
    criterion
        How k was chosen, in words.
    seed
        The k-means random state.
    notes
        Decisions and limitations to print beside the results.
    parameters
        The parameters in force.
    assessed
        The rule-based types that could be assessed (geometry for peripheral
        and shadow, a resource table for the resource types).
    """

    table: pd.DataFrame
    centres: pd.DataFrame
    k: int
    silhouette: dict[int, float]
    features: tuple[str, ...]
    criterion: str
    seed: int
    notes: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    assessed: tuple[str, ...] = tuple(TYPE_NAMES)

    def type_counts(self, status: str | None = "shrinking") -> dict[str, int]:
        """Units of each assessed rule-based type (among units with ``status``; None = all)."""
        table = self.table if status is None else self.table[self.table["status"] == status]
        members = table["types"].str.split(";").explode().str.strip()
        members = members[members.fillna("") != ""]
        counts = members.value_counts()
        return {name: int(counts.get(name, 0)) for name in TYPE_NAMES if name in self.assessed}

    def cluster_counts(self) -> dict[str, int]:
        """Units per cluster label, in cluster order."""
        return {str(row.label): int(row.units) for row in self.centres.itertuples()}

    @property
    def n_shrinking(self) -> int:
        """Shrinking units: the denominator of the type shares."""
        return int((self.table["status"] == "shrinking").sum())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``k``, ``silhouette``, ``criterion``, ``features``, ``clusters`` (units per cluster
        label), ``types`` (shrinking units per assessed type), ``types_all_units``, ``types_not_assessed``,
        ``shrinking_units`` (the denominator) and ``notes``."""
        return {
            "k": self.k,
            "silhouette": {str(k): v for k, v in self.silhouette.items()},
            "criterion": self.criterion,
            "features": list(self.features),
            "clusters": self.cluster_counts(),
            "types": self.type_counts("shrinking"),
            "types_all_units": self.type_counts(None),
            "types_not_assessed": [t for t in TYPE_NAMES if t not in self.assessed],
            "shrinking_units": self.n_shrinking,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------- clustering

def _cluster(
    profiles: pd.DataFrame, seed: int, k_range: tuple[int, int], sample: int = SILHOUETTE_SAMPLE
) -> tuple[pd.Series, pd.DataFrame, dict[int, float]]:
    """k-means on z-scored profiles; labels renumbered 1..k by the centre's first feature.

    The mean silhouette of each k is exact up to ``sample`` units, beyond that measured on a random sample of
    ``sample`` units drawn with ``seed`` (the same units for every k).
    """
    from sklearn.cluster import KMeans  # heavy: loaded only when clustering runs
    from sklearn.metrics import silhouette_score  # heavy: as above
    from threadpoolctl import (
        threadpool_limits,  # comes with scikit-learn, loaded with it
    )

    values = profiles.to_numpy(dtype=float)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    z = (values - mean) / np.where(std > 0, std, 1.0)
    lowest, highest = k_range
    highest = min(highest, len(z) - 1)
    scores: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    for k in range(lowest, highest + 1):
        # one thread: OpenMP contention makes these small fits far slower, and results do not depend on it
        with threadpool_limits(1):
            model = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(z)
        if len(np.unique(model.labels_)) < 2:
            continue
        sampled = {"sample_size": sample, "random_state": seed} if len(z) > sample else {}
        scores[k] = float(silhouette_score(z, model.labels_, **sampled))
        fits[k] = model.labels_
    if not scores:
        raise DataError("clustering: no k in the range gave at least two distinct clusters")
    best = min(scores)
    for k in sorted(scores):  # strictly better only: ties (within 1e-12) stay with the smaller k
        if scores[k] > scores[best] + 1e-12:
            best = k
    raw = fits[best]
    centres_z = pd.DataFrame([z[raw == c].mean(axis=0) for c in range(best)], columns=profiles.columns)  # k passes
    # Renumber: 1 = the fastest loss (lowest centre of the first feature), then the others, for stability.
    order = centres_z.sort_values(list(centres_z.columns), kind="mergesort").index.tolist()
    renumber = {old: new + 1 for new, old in enumerate(order)}
    recode = np.zeros(best, dtype=np.int64)
    recode[list(renumber)] = list(renumber.values())
    labels = pd.Series(recode[raw], index=profiles.index, dtype="Int64")
    centres_z = centres_z.loc[order].reset_index(drop=True)
    centres_z.index = pd.RangeIndex(1, best + 1, name="cluster")
    return labels, centres_z, scores


def _labels(centres_z: pd.DataFrame) -> tuple[list[str], list[str]]:
    en: list[str] = []
    zh: list[str] = []
    for _, centre in centres_z.iterrows():
        ranked = centre.abs().sort_values(ascending=False, kind="mergesort").index.tolist()
        words = [(FEATURES[f].high, FEATURES[f].high_zh) if centre[f] > 0 else (FEATURES[f].low, FEATURES[f].low_zh)
                 for f in ranked]
        take = min(2, len(words))
        label, label_zh = ", ".join(w[0] for w in words[:take]), "、".join(w[1] for w in words[:take])
        # a third feature separates two clusters whose two leading words coincide
        while (label in en) and take < len(words):
            take += 1
            label, label_zh = ", ".join(w[0] for w in words[:take]), "、".join(w[1] for w in words[:take])
        if label in en:
            label, label_zh = f"{label} ({len(en) + 1})", f"{label_zh}（{len(en) + 1}）"
        en.append(label)
        zh.append(label_zh)
    return en, zh


# ---------------------------------------------------------------- rule-based types

def _population(panel: Panel, identification: Identification) -> tuple[pd.Series, str]:
    indicator = str(identification.parameters.get("indicator", ""))
    if indicator not in panel.indicators:
        indicator = next((p for p in ("pop_resident", "pop_total", "population", "pop_urban") if p in panel.indicators),
                         "")
    if not indicator:
        pops = [c for c in panel.indicators if c.startswith("pop")]
        if not pops:
            raise DataError(f"panel {panel.id!r} has no population indicator to find each parent's largest unit")
        indicator = pops[0]
    wide = panel.wide(indicator, panel.observed_years)
    last = wide.ffill(axis=1).iloc[:, -1]
    return last, f"{indicator} {panel.observed_years[-1]}"


#: WGS84 semi-major axis (m) and squared eccentricity: the ellipsoid of the per-parent projections.
_WGS84_A = 6378137.0
_WGS84_ES = (2.0 - 1.0 / 298.257223563) / 298.257223563


def _qsfn(sinphi: Any) -> Any:
    """PROJ's ``pj_qsfn`` on WGS84: the authalic ``q`` of each latitude's sine."""
    e = np.sqrt(_WGS84_ES)
    con = e * sinphi
    return (1.0 - _WGS84_ES) * (sinphi / (1.0 - con * con) - (0.5 / e) * np.log((1.0 - con) / (1.0 + con)))


def _laea(lon: np.ndarray, lat: np.ndarray, lon_0: np.ndarray, lat_0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lambert azimuthal equal-area x, y (m) of WGS84 longitude/latitude (degrees), each point with its own centre.

    ``+proj=laea +lat_0=... +lon_0=... +datum=WGS84 +units=m`` for every point at once: PROJ's ellipsoidal
    oblique formulas (``laea.cpp``, which give the equatorial aspect too at ``lat_0 = 0``); centres within
    1e-10 degree of a pole are not handled here (see :func:`_projected_geometries`).
    """
    phi0 = np.radians(lat_0)
    sinphi0 = np.sin(phi0)
    qp = _qsfn(np.float64(1.0))
    rq = np.sqrt(0.5 * qp)
    sinb1 = _qsfn(sinphi0) / qp
    cosb1 = np.sqrt(1.0 - sinb1 * sinb1)
    dd = np.cos(phi0) / (np.sqrt(1.0 - _WGS84_ES * sinphi0 * sinphi0) * rq * cosb1)
    xmf, ymf = rq * dd, rq / dd
    lam = np.radians(lon - lon_0)
    lam = np.arctan2(np.sin(lam), np.cos(lam))  # PROJ's adjlon: into [-pi, pi]
    sinb = _qsfn(np.sin(np.radians(lat))) / qp
    cosb = np.sqrt(np.clip(1.0 - sinb * sinb, 0.0, None))
    coslam = np.cos(lam)
    b = np.sqrt(2.0 / (1.0 + sinb1 * sinb + cosb1 * cosb * coslam))
    x = xmf * b * cosb * np.sin(lam)
    y = ymf * b * (cosb1 * sinb - sinb1 * cosb * coslam)
    return _WGS84_A * x, _WGS84_A * y


def _projected_geometries(units: pd.DataFrame, crs: Any) -> pd.Series:
    """Each unit's geometry projected for distances: in ``crs``, or in an equal-area projection of its parent.

    With ``crs`` None and geographic coordinates, the units of each parent
    (``parent_id``; units without one form one group) are projected to a
    Lambert azimuthal equal-area projection centred on the middle of their
    longitude/latitude bounds (rounded to 1e-6 degree). Units with a missing or
    empty geometry are left out. Returns shapely geometries (object dtype)
    indexed by ``unit_id`` as text.

    One coordinate transformation per call: to longitude/latitude (EPSG:4326),
    then :func:`_laea` on every vertex with its parent's centre. Only parents
    centred on a pole (where those formulas do not apply) get a transformer of their own.
    """
    import geopandas as gpd  # heavy: only panels with geometry need it

    geometry = gpd.GeoSeries(units.geometry, crs=units.crs)
    if geometry.crs is None:
        raise DataError("units have geometry but no CRS; set one (for example EPSG:4326) before typing")
    present = (geometry.notna() & ~geometry.is_empty).to_numpy()
    geometry = geometry[present]
    geometry.index = pd.Index(geometry.index.astype(str), name="unit_id")
    if crs is not None or not geometry.crs.is_geographic:
        projected = geometry if crs is None else geometry.to_crs(crs)
        return pd.Series(np.asarray(projected.values), index=geometry.index, dtype=object)
    parents = units["parent_id"].astype("string").fillna("(none)").to_numpy()[present]
    lonlat = geometry.to_crs("EPSG:4326")
    group, names = pd.factorize(parents)
    bounds = lonlat.bounds.groupby(group).agg({"minx": "min", "miny": "min", "maxx": "max", "maxy": "max"})
    # the centre as the +lon_0/+lat_0 of a PROJ string would carry it: six decimals
    lon_0 = np.array([float(f"{v:.6f}") for v in (bounds["minx"] + bounds["maxx"]).to_numpy() / 2])  # per parent
    lat_0 = np.array([float(f"{v:.6f}") for v in (bounds["miny"] + bounds["maxy"]).to_numpy() / 2])
    shapes = np.asarray(lonlat.values, dtype=object)
    coords, at = shapely.get_coordinates(shapes, return_index=True)
    centre = group[at]
    x, y = _laea(coords[:, 0], coords[:, 1], lon_0[centre], lat_0[centre])
    projected = shapely.set_coordinates(shapes.copy(), np.column_stack([x, y]))
    for polar in np.flatnonzero(np.abs(lat_0) > 90.0 - 1e-10):  # a parent centred on a pole: PROJ's polar aspect
        members = group == polar
        projected[members] = np.asarray(lonlat[members].to_crs(
            f"+proj=laea +lat_0={lat_0[polar]:.6f} +lon_0={lon_0[polar]:.6f} +datum=WGS84 +units=m +no_defs").values)
    return pd.Series(projected, index=geometry.index, dtype=object)


def _distances_to_capital(
    units: pd.DataFrame, capital_id: pd.Series, crs: Any
) -> tuple[pd.Series, pd.Series]:
    """Centroid distance (km) from each unit to its capital, and whether their outlines lie within 1 km.

    Both are NA where the unit, its capital or either geometry is missing.
    """
    projected = _projected_geometries(units, crs)
    unit_at = projected.index.get_indexer(pd.Index([str(u) for u in capital_id.index]))
    capital_at = projected.index.get_indexer(pd.Index(capital_id.astype(object).where(capital_id.notna(), None)))
    both = (unit_at >= 0) & (capital_at >= 0) & capital_id.notna().to_numpy()
    geometries = projected.to_numpy()
    centroids = shapely.centroid(geometries)
    distance = pd.Series(np.nan, index=capital_id.index)
    adjacent = pd.Series(pd.NA, index=capital_id.index, dtype="boolean")
    distance[both] = shapely.distance(centroids[unit_at[both]], centroids[capital_at[both]]) / 1000.0
    gap = shapely.distance(geometries[unit_at[both]], geometries[capital_at[both]])
    adjacent[both] = gap <= 1000.0  # within 1 km: slivers between neighbours
    return distance, adjacent


def _old_industrial(
    panel: Panel, index: pd.Index, quantile: float, lang: str = "en"
) -> tuple[pd.Series, pd.Series, pd.Series, bool, list[str]]:
    """Members, trigger text, start-year values, whether assessed, and notes of the ``old industrial base`` type.

    The evidence is :data:`INDUSTRY_INDICATOR` (share of industry in employment
    or GDP, %) in the first panel year that has it (the start of the period):
    a unit is an old industrial base when that share is at or above the
    ``quantile`` of all units with a value. A region is not evidence: without
    the indicator the type is not assessed.
    """
    members = pd.Series(False, index=index)
    trigger = pd.Series("", index=index, dtype=object)
    values = pd.Series(np.nan, index=index, dtype=float)
    if INDUSTRY_INDICATOR not in panel.indicators:
        return members, trigger, values, False, [message("analysis.typology.industry_missing", lang,
                                                         indicator=INDUSTRY_INDICATOR)]
    wide = panel.wide(INDUSTRY_INDICATOR).reindex(index)
    years = [year for year in wide.columns if wide[year].notna().any()]
    year = years[0]
    values = wide[year].astype(float)
    known = values.dropna()
    if len(known) < 2:
        return members, trigger, values, False, [message("analysis.typology.industry_too_few", lang,
                                                         indicator=INDUSTRY_INDICATOR, year=year, n=len(known))]
    threshold = float(np.quantile(known.to_numpy(), quantile))
    members = (values >= threshold).fillna(False).astype(bool)
    trigger = _each(members, "analysis.typology.industry_trigger", lang, indicator=INDUSTRY_INDICATOR, year=year,
                    value=values, quantile=quantile, threshold=threshold)
    notes = [message("analysis.typology.industry_rule", lang, indicator=INDUSTRY_INDICATOR, year=year,
                     quantile=quantile, threshold=threshold, n=len(known))]
    if len(known) < len(index):
        notes.append(message("analysis.typology.industry_gaps", lang, indicator=INDUSTRY_INDICATOR, year=year,
                             n=len(index) - len(known)))
    return members, trigger, values, True, notes


def _rule_types(
    panel: Panel,
    identification: Identification,
    *,
    resources: pd.DataFrame | None,
    capitals: Mapping[str, str] | None,
    old_industrial_units: Iterable[str] | None,
    industry_quantile: float,
    peripheral_quantile: float,
    shadow_distance_km: float,
    core_min_growth: float,
    crs: Any,
    lang: str = "en",
) -> tuple[pd.DataFrame, list[str], tuple[str, ...]]:
    table = identification.table
    units = panel.units.reindex(table.index)
    index = table.index
    notes: list[str] = []
    out = pd.DataFrame(index=index)
    members: dict[str, pd.Series] = {name: pd.Series(False, index=index) for name in TYPE_NAMES}
    triggers: dict[str, pd.Series] = {name: pd.Series("", index=index, dtype=object) for name in TYPE_NAMES}

    # old industrial base: an industry indicator at the start of the period, or a user list; never a region
    old, old_trigger, old_values, old_assessed, old_notes = _old_industrial(panel, index, industry_quantile, lang)
    notes += old_notes
    out["share_industry_start"] = old_values
    triggers["old industrial base"] = old_trigger
    if old_industrial_units is not None:
        listed = pd.Index([str(u) for u in old_industrial_units])
        missing = listed.difference(index.astype(str))
        if len(missing):
            raise UnknownIdError(f"old_industrial_units: unknown unit id(s) {', '.join(missing[:5])}")
        user = pd.Series(index.astype(str).isin(listed), index=index)
        triggers["old industrial base"] = triggers["old industrial base"].where(~user | old, message("analysis.typology.listed", lang))
        old |= user
        old_assessed = True
    members["old industrial base"] = old

    # capitals: a table, else the largest unit of each parent
    population, basis = _population(panel, identification)
    parent = units["parent_id"].astype("string")
    ranked = pd.DataFrame({"parent": parent, "pop": population}).dropna()
    largest = ranked.sort_values(["parent", "pop"], ascending=[True, False], kind="mergesort").groupby("parent").head(1)
    capital_of = {str(p): str(u) for u, p in largest["parent"].items()}
    capital_basis = {p: message("analysis.typology.largest", lang, basis=basis) for p in capital_of}
    if capitals is not None:
        for parent_id, unit_id in capitals.items():
            if str(unit_id) not in index:
                raise UnknownIdError(f"capitals: {parent_id!r} -> {unit_id!r} is not a unit of the panel")
            capital_of[str(parent_id)] = str(unit_id)
            capital_basis[str(parent_id)] = message("analysis.typology.capital_table", lang)
        uncovered = sorted(set(parent.dropna()) - {str(p) for p in capitals})
        if uncovered:
            notes.append(message("analysis.typology.capitals_uncovered", lang, n=len(uncovered)))
    else:
        notes.append(message("analysis.typology.capitals_largest", lang, basis=basis))
    capital_id = parent.map(capital_of)
    out["capital_id"] = capital_id
    out["capital_name"] = capital_id.map(units["name"].astype("string")) if "name" in units else pd.NA
    out["capital_basis"] = parent.map(capital_basis)
    parent_size = parent.map(parent.value_counts())
    is_capital = (capital_id == pd.Series(index.astype(str), index=index)).fillna(False)

    has_geometry = "geometry" in panel.units.columns and panel.units.geometry.notna().any()
    out["distance_to_capital_km"] = np.nan
    out["peripheral_threshold_km"] = np.nan
    out["core_id"] = pd.Series(pd.NA, index=index, dtype="string")
    out["core_annual_rate"] = np.nan
    out["distance_to_core_km"] = np.nan
    out["core_adjacent"] = pd.array([pd.NA] * len(index), dtype="boolean")
    if has_geometry:
        distance, adjacent = _distances_to_capital(units, capital_id, crs)
        out["distance_to_capital_km"] = distance.round(1)
        eligible = distance[(~is_capital) & (parent_size > 1).fillna(False)].dropna()
        if len(eligible):
            threshold = float(np.quantile(eligible.to_numpy(), peripheral_quantile))
            out["peripheral_threshold_km"] = round(threshold, 1)
            peripheral = (distance > threshold).fillna(False) & ~is_capital
            members["peripheral"] = peripheral
            cap_name = out["capital_name"].fillna(out["capital_id"]).astype(str)
            triggers["peripheral"] = _each(peripheral, "analysis.typology.peripheral", lang, capital=cap_name,
                                           distance=distance.round(0), quantile=peripheral_quantile,
                                           threshold=threshold)
        # the shadow of a growing core: shrinking, near (or adjacent to) a growing capital
        rates = table["annual_rate"].astype(float)
        core_rate = capital_id.map(rates)
        out["core_id"] = capital_id.where(~is_capital).astype("string")
        out["core_annual_rate"] = core_rate.where(~is_capital)
        out["distance_to_core_km"] = out["distance_to_capital_km"].where(~is_capital)
        out["core_adjacent"] = adjacent.where(~is_capital)
        near = (distance <= shadow_distance_km).fillna(False) | adjacent.fillna(False).astype(bool)
        shadow = (table["status"] == "shrinking") & ~is_capital & (core_rate > core_min_growth).fillna(False) & near
        members["shadow of growing core"] = shadow
        how = pd.Series(np.where(adjacent.fillna(False).astype(bool), message("analysis.typology.adjacent", lang), ""),
                        index=index)
        triggers["shadow of growing core"] = _each(
            shadow, "analysis.typology.shadow", lang, capital=out["capital_name"].fillna(out["capital_id"]).astype(str),
            rate=core_rate, adjacent=how, distance=distance.round(0), limit=shadow_distance_km)
    else:
        notes.append(message("analysis.typology.no_geometry", lang))

    # resource-based / resource-exhausted: a user table only
    out["resource_type"] = pd.Series(pd.NA, index=index, dtype="string")
    out["exhausted_batch"] = pd.array([pd.NA] * len(index), dtype="Int64")
    if resources is not None:
        out["resource_type"] = resources["resource_type"].reindex(index).astype("string")
        out["exhausted_batch"] = resources["exhausted_batch"].reindex(index).astype("Int64")
        based = out["resource_type"].notna()
        members["resource-based"] = based
        triggers["resource-based"] = ("resource_type=" + out["resource_type"].fillna("")).where(based, "")
        exhausted = out["exhausted_batch"].notna()
        members["resource-exhausted"] = exhausted.astype(bool)
        triggers["resource-exhausted"] = (
            "exhausted_batch=" + out["exhausted_batch"].astype("string").fillna("")
        ).where(exhausted, "")
    else:
        notes.append(message("analysis.typology.no_resources", lang))

    types = pd.Series("", index=index, dtype=object)
    described = pd.Series("", index=index, dtype=object)
    for name in TYPE_NAMES:
        hit = members[name].fillna(False).astype(bool)
        sep = np.where(types == "", "", ";")
        types = types.where(~hit, types + sep + name)
        dsep = np.where(described == "", "", "; ")
        described = described.where(~hit, described + dsep + type_label(name, lang) + ": " + triggers[name].astype(str))
    out.insert(0, "types", types)
    out.insert(1, "type_triggers", described)
    for name in TYPE_NAMES:
        out[f"trigger_{name.replace(' ', '_').replace('-', '_')}"] = triggers[name]
    assessed = ["old industrial base"] if old_assessed else []
    if has_geometry:
        assessed += ["peripheral", "shadow of growing core"]
    if resources is not None:
        assessed += ["resource-based", "resource-exhausted"]
    return out, notes, tuple(assessed)


# ---------------------------------------------------------------- public

def classify(
    panel: Panel,
    identification: Identification,
    *,
    seed: int = 0,
    resources: str | Path | pd.DataFrame | None = None,
    capitals: Mapping[str, str] | None = None,
    old_industrial_units: Iterable[str] | None = None,
    industry_quantile: float = 0.75,
    peripheral_quantile: float = 0.75,
    shadow_distance_km: float = 150.0,
    core_min_growth: float = 0.0,
    features: Sequence[str] | None = None,
    k_range: tuple[int, int] = K_RANGE,
    crs: Any = None,
    lang: str = "en",
) -> Typology:
    """Cluster the shrinking units and assign rule-based types to every unit.

    Parameters
    ----------
    panel
        The panel the identification was made on.
    identification
        The verdicts (``status``, ``annual_rate``, ``severity`` per unit).
    seed
        Random state of k-means (``n_init`` is fixed at 10): the result is
        deterministic for a fixed seed.
    resources
        A resource-city table (path or DataFrame; see
        :func:`~shrinkwatch.analysis.resource_cities.read_resource_table`).
    capitals
        ``parent_id -> unit_id`` of each parent's capital; parents not listed
        (or all, when None) use their most populous unit.
    old_industrial_units
        Unit ids the user counts as old industrial bases, in addition to
        those the industry indicator finds (and the only ones when the panel
        has no industry indicator).
    industry_quantile
        A unit is an old industrial base when its ``share_industry`` in the
        first panel year with that indicator is at or above this quantile of
        all units' values. Without the indicator (and without
        ``old_industrial_units``) the type is not assessed: a region alone is
        not evidence.
    peripheral_quantile
        A unit is peripheral when its centroid's distance to its capital is
        above this quantile of the distances of all non-capital units (in
        parents with at least two units).
    shadow_distance_km
        A shrinking unit is in the shadow of a growing core when its capital
        grew faster than ``core_min_growth`` %/yr and lies within this
        centroid distance, or shares a border with it.
    core_min_growth
        Minimum annual rate (%/yr) of the capital for it to count as growing.
    features
        Clustering features (keys of :data:`shrinkwatch.analysis.features.FEATURES`); default: every
        feature the panel supports.
    k_range
        Candidate numbers of clusters (inclusive); k is the one with the
        highest mean silhouette, ties to the smaller k.
    crs
        A projected CRS for distances; default: a Lambert azimuthal equal-area
        projection centred on each parent.

    lang
        ``"en"`` or ``"zh"``: the language of the notes, the criterion and the type triggers.

    Returns
    -------
    Typology

    Examples
    --------
    >>> from shrinkwatch import datasets
    >>> from shrinkwatch.identification import identify
    >>> panel = datasets.load("cn-prefecture-census")
    >>> result = classify(panel, identify(panel), seed=0)
    >>> result.k, "old industrial base" in result.type_counts()  # no industry indicator: not assessed
    (2, False)
    """
    if not 0.0 < peripheral_quantile < 1.0:
        raise OptionError(f"peripheral_quantile: expected a number between 0 and 1, got {peripheral_quantile!r}")
    if not 0.0 < industry_quantile < 1.0:
        raise OptionError(f"industry_quantile: expected a number between 0 and 1, got {industry_quantile!r}")
    if not shadow_distance_km > 0:
        raise OptionError(f"shadow_distance_km: expected a positive distance, got {shadow_distance_km!r}")
    low, high = k_range
    if not 2 <= low <= high:
        raise OptionError(f"k_range: expected (low, high) with 2 <= low <= high, got {k_range!r}")
    table = identification.table
    missing_units = table.index.difference(panel.units.index)
    if len(missing_units):
        raise DataError(f"identification has units not in panel {panel.id!r}: {', '.join(missing_units[:5])}")
    resource_table = read_resource_table(resources, panel.units) if resources is not None else None

    shrinking = table.index[table["status"] == "shrinking"]
    check_language(lang, "lang")
    profiles, notes = select_features(panel, identification, shrinking, features, lang=lang)
    complete = profiles.loc[shrinking].dropna()
    if len(complete) < len(shrinking):
        notes.append(message("analysis.typology.not_clustered", lang, n=len(shrinking) - len(complete)))
    out = table[[c for c in ("name", "parent_id", "parent_name", "region", "status", "annual_rate", "severity")
                 if c in table.columns]].copy()
    out["cluster"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["cluster_label"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["cluster_label_zh"] = pd.Series(pd.NA, index=out.index, dtype="string")
    silhouette: dict[int, float] = {}
    k = 0
    centre_columns = ["label", "label_zh", "units", *profiles.columns, *(f"z_{c}" for c in profiles.columns)]
    centres = pd.DataFrame(columns=centre_columns, index=pd.RangeIndex(0, name="cluster"))
    if len(complete) >= 3 and len(profiles.columns) >= 1 and len(complete.drop_duplicates()) >= 3:
        labels, centres_z, silhouette = _cluster(complete, seed, (low, high))
        k = len(centres_z)
        names_en, names_zh = _labels(centres_z)
        out.loc[labels.index, "cluster"] = labels
        out.loc[labels.index, "cluster_label"] = labels.map(dict(zip(centres_z.index, names_en))).astype("string")
        out.loc[labels.index, "cluster_label_zh"] = labels.map(dict(zip(centres_z.index, names_zh))).astype("string")
        raw_centres = complete.groupby(labels).mean()
        centres = pd.concat(
            [pd.DataFrame({"label": names_en, "label_zh": names_zh,
                           "units": labels.value_counts().reindex(centres_z.index).to_numpy()},
                          index=centres_z.index),
             raw_centres.reindex(centres_z.index),
             centres_z.add_prefix("z_")],
            axis=1,
        )
        centres.index.name = "cluster"
    else:
        notes.append(message("analysis.typology.no_clusters", lang, n=len(complete)))
    for column in profiles.columns:
        out[column] = profiles[column]
    if capitals is None and panel.meta.country == "China" and "parent_id" in panel.units.columns:
        capitals = provincial_capitals(panel.units.index, panel.units["parent_id"]) or None
    types, type_notes, assessed = _rule_types(
        panel, identification, resources=resource_table, capitals=capitals,
        old_industrial_units=old_industrial_units, industry_quantile=industry_quantile,
        peripheral_quantile=peripheral_quantile,
        shadow_distance_km=shadow_distance_km, core_min_growth=core_min_growth, crs=crs, lang=lang,
    )
    out = pd.concat([out, types], axis=1)
    criterion = message("analysis.typology.criterion", lang, low=low, high=high, n_init=N_INIT, seed=seed,
                        sample=SILHOUETTE_SAMPLE)
    return Typology(
        table=out,
        centres=centres,
        k=k,
        silhouette={int(key): round(value, 6) for key, value in silhouette.items()},
        features=tuple(profiles.columns),
        criterion=criterion,
        seed=seed,
        notes=tuple(notes + type_notes),
        parameters={"industry_quantile": industry_quantile, "peripheral_quantile": peripheral_quantile, "shadow_distance_km": shadow_distance_km,
                    "core_min_growth": core_min_growth, "k_range": (low, high), "seed": seed,
                    "capitals": "table" if capitals is not None else "largest population",
                    "resources": resource_table is not None},
        assessed=assessed,
    )
