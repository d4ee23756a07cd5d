"""Spatial weights and global and local Moran's I (the LISA cluster map is drawn by the report).

Private helpers of :mod:`shrinkwatch.analysis.analyse`; the public names are re-exported
there.

Reproducibility: esda's ``Moran`` draws its permutations from NumPy's *global*
random state and has no ``seed`` argument; ``Moran_Local`` takes ``seed`` but
applies it by calling ``np.random.seed`` (the global state again). Both are run
inside :func:`_seeded_global_numpy`, which seeds the global state with ``seed``
and restores the caller's state afterwards, so results are reproducible and no
global random state leaks out of this package. (Not safe to run concurrently
in threads that also use ``np.random``.)
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from libpysal import weights as lpw

from shrinkwatch.core.errors import DataError, OptionError

if TYPE_CHECKING:
    from shrinkwatch.core import Identification, Panel

__all__ = [
    "SpatialWeights",
    "MoranResult",
    "LisaResult",
    "spatial_weights",
    "moran",
    "lisa",
    "LISA_LABELS",
]

#: esda quadrant code -> label (rate of the unit / rate of its neighbours).
LISA_LABELS: dict[int, str] = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
_EQUAL_AREA = "EPSG:8857"  # Equal Earth: a global equal-area projection


@contextlib.contextmanager
def _seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed NumPy's global random state for esda, then restore the caller's state."""
    state = np.random.get_state()
    np.random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(state)


@dataclass(frozen=True)
class SpatialWeights:
    """Spatial weights with the facts needed to report them.

    Attributes
    ----------
    w
        The libpysal ``W`` (ids are the ``unit_id`` values, in ``ids`` order).
    kind
        ``"queen"`` (polygons) or ``"knn"`` (points).
    ids
        Unit ids in the order of ``w.id_order``.
    islands
        Units without a contiguity neighbour; they were linked (symmetrically)
        to their ``island_k`` nearest units so that they take part.
    single_neighbour
        Units with exactly one neighbour (reported: their local statistic rests on one unit).
    excluded_no_geometry
        Units left out because their geometry is missing or empty.
    n_components
        Connected components of the final graph.
    description
        One sentence for reports.
    """

    w: lpw.W = field(repr=False)
    kind: str
    k: int | None
    ids: tuple[str, ...]
    islands: tuple[str, ...]
    island_k: int
    single_neighbour: tuple[str, ...]
    excluded_no_geometry: tuple[str, ...]
    n_components: int
    distance: str
    description: str


def _geocentric(points: gpd.GeoSeries) -> np.ndarray:
    """Points as unit-sphere xyz: Euclidean order of chord lengths = great-circle order."""
    if points.crs is not None and not points.crs.is_geographic:
        points = points.to_crs("EPSG:4326")
    lon = np.radians(points.x.to_numpy())
    lat = np.radians(points.y.to_numpy())
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _representative_points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Centroids computed in an equal-area projection (polygons) or the points themselves."""
    if (geometry.geom_type == "Point").all():
        return geometry
    if geometry.crs is None:
        return geometry.centroid
    return geometry.to_crs(_EQUAL_AREA).centroid.to_crs(geometry.crs)


def _touching(geometry: object, ids: list[str]) -> dict[str, list[str]]:
    """Queen contiguity: units whose polygons share at least a point (STRtree query, no loop per pair)."""
    geoms = np.asarray(geometry)
    geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left != right
    pairs = pd.DataFrame({"unit": np.asarray(ids)[left[keep]], "other": np.asarray(ids)[right[keep]]})
    grouped = pairs.groupby("unit", sort=False)["other"].agg(list).to_dict()
    return {unit: list(grouped.get(unit, [])) for unit in ids}


def _knn_neighbours(coords: np.ndarray, ids: list[str], k: int) -> dict[str, list[str]]:
    from scipy.spatial import cKDTree

    tree = cKDTree(coords)
    k_eff = min(k + 1, len(ids))
    _, index = tree.query(coords, k=k_eff)
    index = np.atleast_2d(index)
    out: dict[str, list[str]] = {}
    for row, unit in enumerate(ids):
        neighbours = [ids[j] for j in index[row] if j != row][:k]
        out[unit] = neighbours
    return out


def spatial_weights(
    units: gpd.GeoDataFrame,
    kind: Literal["auto", "queen", "knn"] = "auto",
    k: int = 6,
    *,
    island_k: int = 1,
) -> SpatialWeights:
    """Spatial weights for units: Queen contiguity for polygons, k nearest neighbours for points.

    Parameters
    ----------
    units
        GeoDataFrame indexed by ``unit_id``.
    kind
        ``"auto"`` picks ``"queen"`` when every geometry is a (multi)polygon and
        ``"knn"`` otherwise.
    k
        Neighbours per unit for ``"knn"``.
    island_k
        For ``"queen"``: a unit with no contiguous neighbour (an island) is
        linked, in both directions, to its ``island_k`` nearest units so that it
        takes part in the statistics; the islands are listed in the result.

    Returns
    -------
    SpatialWeights
        Binary weights (row-standardise with ``w.transform = "r"`` before use;
        :func:`moran` and :func:`lisa` let esda do it).

    Notes
    -----
    Nearest neighbours are found on the sphere (unit vectors of longitude and
    latitude; chord order equals great-circle order), so they are right for
    global point sets where any flat projection distorts distances. Polygon
    positions for the island links are centroids taken in the Equal Earth
    equal-area projection.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> squares = [shapely.box(x, 0, x + 1, 1) for x in range(3)] + [shapely.box(10, 0, 11, 1)]
    >>> units = gpd.GeoDataFrame(geometry=squares, index=pd.Index(list("abcd"), name="unit_id"), crs="EPSG:3857")
    >>> sw = spatial_weights(units)
    >>> sw.kind, sw.islands, sw.w.neighbors["d"]
    ('queen', ('d',), ['c'])
    """
    if not isinstance(units, gpd.GeoDataFrame):
        raise DataError(f"spatial_weights: expected a GeoDataFrame of units, got {type(units).__name__}")
    if kind not in ("auto", "queen", "knn"):
        raise OptionError(f"spatial_weights: kind must be 'auto', 'queen' or 'knn', got {kind!r}")
    if int(k) < 1:
        raise OptionError(f"spatial_weights: k must be at least 1, got {k!r}")
    geometry = units.geometry
    missing = geometry.isna() | geometry.is_empty
    excluded = tuple(str(i) for i in units.index[missing.to_numpy()])
    frame = units.loc[~missing.to_numpy()]
    if len(frame) < 3:
        raise DataError(f"spatial_weights: need at least 3 units with geometry, got {len(frame)}")
    ids = [str(i) for i in frame.index]
    frame = frame.set_axis(pd.Index(ids, name="unit_id"))
    polygonal = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    chosen = ("queen" if polygonal else "knn") if kind == "auto" else kind
    if chosen == "queen" and not polygonal:
        raise OptionError("spatial_weights: kind='queen' needs polygon geometries; these units include points")

    islands: tuple[str, ...] = ()
    coords = _geocentric(_representative_points(frame.geometry))
    if chosen == "queen":
        neighbours = _touching(frame.geometry.values, ids)
        islands = tuple(unit for unit in ids if not neighbours.get(unit))
        if islands:
            nearest = _knn_neighbours(coords, ids, int(island_k))
            for unit in islands:
                for other in nearest[unit]:
                    if other not in neighbours[unit]:
                        neighbours[unit].append(other)
                    if unit not in neighbours[other]:
                        neighbours[other].append(unit)
        distance = "contiguity (shared vertex)"
        k_used: int | None = None
    else:
        neighbours = _knn_neighbours(coords, ids, int(k))
        distance = "great-circle distance between points (polygon centroids in Equal Earth)"
        k_used = int(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = lpw.W({unit: neighbours[unit] for unit in ids}, id_order=ids, silence_warnings=True)
    single = tuple(unit for unit in ids if len(w.neighbors[unit]) == 1)
    if chosen == "queen":
        description = (f"Queen contiguity on {w.n} polygons; {len(islands)} island(s) linked to their "
                       f"{island_k} nearest unit(s); {len(single)} unit(s) with a single neighbour; "
                       f"{w.n_components} connected component(s); row-standardised")
    else:
        description = (f"{k} nearest neighbours (great-circle) on {w.n} units; "
                       f"{w.n_components} connected component(s); row-standardised")
    if excluded:
        description += f"; {len(excluded)} unit(s) without geometry excluded"
    return SpatialWeights(
        w=w, kind=chosen, k=k_used, ids=tuple(ids), islands=islands, island_k=int(island_k),
        single_neighbour=single, excluded_no_geometry=excluded, n_components=int(w.n_components),
        distance=distance, description=description,
    )


def _analysis_frame(
    identification: "Identification", panel: "Panel", variable: str
) -> tuple[gpd.GeoDataFrame, pd.Series, dict[str, str]]:
    """Units with geometry and a finite value of ``variable``; the rest with a reason each."""
    if not isinstance(panel.units, gpd.GeoDataFrame) or "geometry" not in panel.units.columns:
        raise DataError(f"panel {panel.id!r} has no geometry: spatial statistics need polygons or points")
    if variable not in identification.table.columns:
        raise DataError(f"identification has no column {variable!r}")
    table = identification.table
    units = panel.units.reindex(table.index)
    values = pd.to_numeric(table[variable], errors="coerce").astype(float)
    excluded: dict[str, str] = {}
    insufficient = table["status"].eq("insufficient_data").to_numpy()
    no_value = ~np.isfinite(values.to_numpy())
    geometry = units.geometry
    no_geometry = (geometry.isna() | geometry.is_empty).to_numpy()
    for unit, a, b, c in zip(table.index, insufficient, no_value, no_geometry):
        if a:
            excluded[str(unit)] = "insufficient data"
        elif b:
            excluded[str(unit)] = f"no {variable}"
        elif c:
            excluded[str(unit)] = "no geometry"
    keep = ~(insufficient | no_value | no_geometry)
    frame = gpd.GeoDataFrame(units.loc[keep], geometry=geometry[keep], crs=panel.units.crs)
    frame.index = pd.Index([str(i) for i in frame.index], name="unit_id")
    y = pd.Series(values.to_numpy()[keep], index=frame.index, name=variable)
    if len(frame) < 3:
        raise DataError(f"only {len(frame)} unit(s) have geometry and {variable}; need at least 3")
    return frame, y, excluded


def _check_weights(weights: SpatialWeights, y: pd.Series) -> None:
    if set(weights.ids) != set(y.index):
        extra = sorted(set(weights.ids) - set(y.index))[:5]
        lacking = sorted(set(y.index) - set(weights.ids))[:5]
        raise DataError(
            "weights: the weights' units differ from the units analysed "
            f"(in weights only: {extra}; analysed but not in weights: {lacking}). "
            "Build them with spatial_weights() on the units with data."
        )


@dataclass(frozen=True)
class _Inference:
    """What every permutation statistic here records about its sample and weights."""

    permutations: int
    seed: int
    n: int
    n_excluded: int
    excluded: dict[str, str] = field(repr=False)
    islands: tuple[str, ...]
    single_neighbour: tuple[str, ...]
    variable: str
    weights_description: str
    weights: SpatialWeights = field(repr=False)


def _inference_fields(sw: SpatialWeights, excluded: dict[str, str], variable: str, n: int) -> dict[str, Any]:
    return {"n": n, "n_excluded": len(excluded), "excluded": excluded, "islands": sw.islands,
            "single_neighbour": sw.single_neighbour, "variable": variable, "weights_description": sw.description,
            "weights": sw}


@dataclass(frozen=True)
class MoranResult(_Inference):
    """Global Moran's I of a unit variable with permutation inference.

    ``I``, ``expected_I`` = -1/(n-1), ``z_sim`` and ``p_sim`` (one-sided pseudo
    p-value from ``permutations`` random permutations, as esda computes it),
    and the normal-approximation ``z_norm``/``p_norm`` for reference. ``n`` units
    analysed; ``excluded`` maps each left-out unit to its reason.
    """

    I: float  # noqa: E741 - the statistic's name
    expected_I: float
    z_sim: float
    p_sim: float
    z_norm: float
    p_norm: float
    values: pd.Series = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready numbers."""
        return {
            "variable": self.variable, "I": round(self.I, 6), "expected_I": round(self.expected_I, 6),
            "z_sim": round(self.z_sim, 4), "p_sim": round(self.p_sim, 6), "p_norm": float(f"{self.p_norm:.6g}"),
            "permutations": self.permutations, "seed": self.seed, "n": self.n, "n_excluded": self.n_excluded,
            "islands": list(self.islands), "single_neighbour": list(self.single_neighbour),
            "weights": self.weights_description,
        }


def moran(
    identification: "Identification",
    panel: "Panel",
    permutations: int = 999,
    seed: int = 0,
    *,
    weights: SpatialWeights | None = None,
    kind: Literal["auto", "queen", "knn"] = "auto",
    k: int = 6,
    variable: str = "annual_rate",
) -> MoranResult:
    """Global Moran's I of the annual rate, with esda's permutation inference.

    Parameters
    ----------
    identification, panel
        The verdicts and the panel they came from (for geometry).
    permutations
        Random permutations for the pseudo p-value.
    seed
        Seeds the permutations; the caller's global NumPy random state is restored.
    weights
        Prebuilt weights on exactly the analysed units; default
        ``spatial_weights(units with data, kind, k)``.
    variable
        Column of ``identification.table`` (default ``annual_rate``, percent per year).

    Returns
    -------
    MoranResult
        Units with insufficient data, no value or no geometry are excluded and
        listed with the reason.
    """
    from esda.moran import Moran

    frame, y, excluded = _analysis_frame(identification, panel, variable)
    sw = weights if weights is not None else spatial_weights(frame, kind=kind, k=k)
    _check_weights(sw, y)
    y = y.reindex(list(sw.ids))
    with _seeded_global_numpy(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stat = Moran(y.to_numpy(), sw.w, transformation="r", permutations=int(permutations))
    return MoranResult(
        I=float(stat.I), expected_I=float(stat.EI), z_sim=float(stat.z_sim), p_sim=float(stat.p_sim),
        z_norm=float(stat.z_norm), p_norm=float(stat.p_norm), permutations=int(permutations), seed=int(seed),
        values=y, **_inference_fields(sw, excluded, variable, int(stat.n)),
    )


@dataclass(frozen=True)
class LisaResult(_Inference):
    """Local Moran's I (LISA) per unit with cluster labels at ``alpha``.

    ``table`` is indexed by ``unit_id`` (all units of the identification) with
    ``name``, the variable, ``local_I``, ``quadrant`` (HH/LH/LL/HL), ``p_sim``
    and ``cluster``: the quadrant where ``p_sim <= alpha``, ``"not significant"``
    otherwise, ``"excluded"`` for units not analysed. ``counts`` counts the
    clusters. p-values are not adjusted for multiple testing.
    """

    table: pd.DataFrame = field(repr=False)
    counts: dict[str, int]
    alpha: float

    def as_dict(self) -> dict[str, object]:
        return {"alpha": self.alpha, "permutations": self.permutations, "seed": self.seed, "n": self.n,
                "n_excluded": self.n_excluded, "counts": dict(self.counts), "variable": self.variable,
                "weights": self.weights_description}


def lisa(
    identification: "Identification",
    panel: "Panel",
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    *,
    weights: SpatialWeights | None = None,
    kind: Literal["auto", "queen", "knn"] = "auto",
    k: int = 6,
    variable: str = "annual_rate",
) -> LisaResult:
    """Local Moran's I clusters (HH, LL, HL, LH) of the annual rate.

    Parameters are those of :func:`moran`, plus ``alpha``: a unit is in a
    cluster when its conditional-permutation pseudo p-value is at most
    ``alpha``. The seed is passed to esda's ``Moran_Local`` (which seeds NumPy's
    global state; the caller's state is restored afterwards).
    """
    from esda.moran import Moran_Local

    if not 0 < float(alpha) < 1:
        raise OptionError(f"lisa: alpha must be between 0 and 1, got {alpha!r}")
    frame, y, excluded = _analysis_frame(identification, panel, variable)
    sw = weights if weights is not None else spatial_weights(frame, kind=kind, k=k)
    _check_weights(sw, y)
    y = y.reindex(list(sw.ids))
    with _seeded_global_numpy(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = Moran_Local(y.to_numpy(), sw.w, transformation="r", permutations=int(permutations),
                            seed=int(seed), n_jobs=1, keep_simulations=False)
    quadrant = pd.Series(local.q, index=y.index).map(LISA_LABELS)
    # esda may return float32 p-values; they are (count + 1) / (permutations + 1) exactly
    denominator = int(permutations) + 1
    p_sim = pd.Series(np.round(np.asarray(local.p_sim, dtype=float) * denominator) / denominator, index=y.index)
    cluster = quadrant.where(p_sim <= float(alpha), "not significant")
    table = pd.DataFrame(index=pd.Index([str(i) for i in identification.table.index], name="unit_id"))
    table["name"] = identification.table["name"].to_numpy()
    table[variable] = pd.to_numeric(identification.table[variable], errors="coerce").to_numpy()
    table["local_I"] = pd.Series(local.Is, index=y.index)
    table["quadrant"] = quadrant
    table["p_sim"] = p_sim
    table["cluster"] = cluster
    table["cluster"] = table["cluster"].fillna("excluded")
    table["excluded_reason"] = pd.Series(excluded, dtype=object)
    order = ["HH", "LL", "HL", "LH", "not significant", "excluded"]
    counts = {label: int((table["cluster"] == label).sum()) for label in order}
    return LisaResult(
        table=table, counts=counts, alpha=float(alpha), permutations=int(permutations), seed=int(seed),
        **_inference_fields(sw, excluded, variable, int(len(y))),
    )
