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
import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Literal, TypedDict, Unpack

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import LANGUAGES, message

if TYPE_CHECKING:
    from libpysal.graph import Graph  # heavy (libpysal loads scikit-learn and SciPy): imported where a graph is built

    from shrinkwatch.core import Identification, Panel

__all__ = [
    "SpatialSettings",
    "SpatialOptions",
    "SpatialWeights",
    "MoranResult",
    "LisaResult",
    "spatial_weights",
    "moran",
    "lisa",
    "LISA_LABELS",
    "LISA_MEANINGS",
    "lisa_meaning",
]

#: esda quadrant code -> label (rate of the unit / mean rate of its neighbours).
LISA_LABELS: dict[int, str] = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
#: What each LISA class means, by language. Local Moran compares a unit's rate, and the mean rate of its
#: neighbours, with the mean rate of all units analysed: "high" and "low" are above and below that mean,
#: not growth and decline (when the mean is positive, a low-low unit may well be growing).
LISA_MEANINGS_BY_LANG: dict[str, dict[str, str]] = {
    lang: {label: message(f"analysis.lisa.{label}", lang) for label in ("HH", "LL", "HL", "LH")} for lang in LANGUAGES
}  # the catalogue's analysis.lisa messages
#: The English meanings (the map legend and the report's cluster headings).
LISA_MEANINGS: dict[str, str] = LISA_MEANINGS_BY_LANG["en"]


def lisa_meaning(label: str, lang: str = "en") -> str:
    """What a LISA class (``HH``, ``LL``, ``HL``, ``LH``) means, in ``lang`` (``"en"`` or ``"zh"``).

    Examples
    --------
    >>> lisa_meaning("LL")
    'below-average growth next to below-average growth'
    """
    if lang not in LISA_MEANINGS_BY_LANG:
        raise OptionError(f"lang: expected one of {', '.join(LISA_MEANINGS_BY_LANG)}, got {lang!r}")
    if label not in LISA_MEANINGS_BY_LANG[lang]:
        raise OptionError(f"LISA class: expected one of HH, LL, HL, LH, got {label!r}")
    return LISA_MEANINGS_BY_LANG[lang][label]
_EQUAL_AREA = "EPSG:8857"  # Equal Earth: a global equal-area projection
_EQUAL_AREA_PACIFIC = "+proj=eqearth +lon_0=180 +datum=WGS84 +units=m +no_defs"  # the same, centred on 180 degrees


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
    """Row-standardised spatial weights with the facts needed to report them.

    Attributes
    ----------
    graph
        The libpysal ``Graph``, row-standardised (transformation ``"R"``: each
        unit's neighbours share a weight of 1); its ``unique_ids`` are the
        ``unit_id`` values in ``ids`` order. esda's ``Moran`` and
        ``Moran_Local`` take it as it is.
    kind
        ``"queen"`` (polygons) or ``"knn"`` (points).
    k
        Neighbours per unit for ``"knn"``; None for ``"queen"``.
    ids
        Unit ids in the order of ``graph.unique_ids``.
    islands
        Units without a contiguity neighbour; they were linked (symmetrically)
        to their ``island_k`` nearest units so that they take part.
    island_k
        Nearest units each island is linked to.
    single_neighbour
        Units with exactly one neighbour (reported: their local statistic rests on one unit).
    excluded_no_geometry
        Units left out because their geometry is missing or empty.
    n_components
        Connected components of the final graph (weakly connected for ``"knn"``).
    distance
        How neighbours were found.
    description
        One sentence for reports, in English (:meth:`describe` gives it in another language).
    """

    graph: Graph = field(repr=False)
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

    def describe(self, lang: str = "en") -> str:
        """:attr:`description` in ``lang`` (``"en"`` or ``"zh"``), from the catalogues' ``analysis.weights``."""
        fields = {"n": self.graph.n, "components": self.n_components}
        if self.kind == "queen":
            islands = message("analysis.weights.islands", lang, n=len(self.islands), k=self.island_k) \
                if self.islands else ""  # none: not "0 islands linked to their 1 nearest unit"
            text = message("analysis.weights.queen", lang, islands=islands, single=len(self.single_neighbour),
                           **fields)
        else:
            text = message("analysis.weights.knn", lang, k=self.k, **fields)
        if self.excluded_no_geometry:
            text += message("analysis.weights.excluded", lang, n=len(self.excluded_no_geometry))
        return text


def _representative_points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Centroids computed in an equal-area projection (polygons) or the points themselves.

    A unit whose parts lie on both sides of the antimeridian (its longitudes
    span more than 180 degrees, as the Aleutians West census area does) takes its
    centroid in Equal Earth centred on 180 degrees, where its parts are adjacent;
    in the Greenwich-centred projection they lie at the two edges of the map
    and their centroid falls in between (in Montana).
    """
    if (geometry.geom_type == "Point").all():
        return geometry
    if geometry.crs is None:
        return geometry.centroid
    centroids = geometry.to_crs(_EQUAL_AREA).centroid.to_crs(geometry.crs)
    bounds = geometry.to_crs("EPSG:4326").bounds
    across = (bounds["maxx"] - bounds["minx"]).to_numpy() > 180.0
    if across.any():
        pacific = geometry[across].to_crs(_EQUAL_AREA_PACIFIC).centroid.to_crs(geometry.crs)
        centroids = centroids.where(~across, pacific)
    return centroids


def _lonlat_points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Representative points as longitude/latitude degrees (a geometry without a CRS is read as degrees)."""
    points = _representative_points(geometry)
    if points.crs is not None and not points.crs.is_geographic:
        points = points.to_crs("EPSG:4326")
    return points


def _separate_coincident(points: gpd.GeoSeries) -> gpd.GeoSeries:
    """Repeated locations moved apart by 1e-9 degree of latitude (0.1 mm) per repeat.

    libpysal's KNN refuses coincident points (its ``coplanar="clique"`` option
    fails under pandas 3 and ``"jitter"`` is random); units at one place are
    then each other's nearest units, as they are at distance zero.
    """
    xy = shapely.get_coordinates(np.asarray(points.values))
    repeat = pd.DataFrame(xy).groupby([0, 1], sort=False).cumcount().to_numpy()
    if not repeat.any():
        return points
    latitude = xy[:, 1] + np.where(xy[:, 1] > 0, -1e-9, 1e-9) * repeat
    return gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], latitude), index=points.index, crs=points.crs)


def _nearest(points: gpd.GeoSeries, k: int) -> Graph:
    """Each point's ``k`` nearest other points by great-circle (haversine) distance, binary."""
    from libpysal.graph import Graph  # heavy: loaded only when spatial statistics run

    k_available = min(int(k), len(points) - 1)
    return Graph.build_knn(_separate_coincident(points), k=k_available, metric="haversine").transform("B")


def _contiguity(geometry: gpd.GeoSeries) -> Graph:
    """Units whose polygons (made valid) intersect: they share at least a boundary point, or overlap.

    ``Graph.build_fuzzy_contiguity`` without a buffer is this rule. (``build_contiguity``
    is stricter: ``strict=False`` needs an identical vertex, which drops counties
    that touch along an edge without one, such as San Joaquin and Santa Clara;
    ``strict=True`` drops polygons whose outlines overlap slightly.)
    """
    from libpysal.graph import Graph  # heavy: loaded only when spatial statistics run

    geoms = np.asarray(geometry.values)
    geoms = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    valid = gpd.GeoSeries(geoms, index=geometry.index, crs=geometry.crs)
    return Graph.build_fuzzy_contiguity(valid, predicate="intersects").transform("B")


def _with_island_links(contiguity: Graph, nearest: Graph, islands: tuple[str, ...]) -> Graph:
    """``contiguity`` plus a link in both directions between each island and its nearest units."""
    from libpysal.graph import Graph  # heavy: loaded only when spatial statistics run

    edges = contiguity.adjacency.reset_index()
    links = nearest.adjacency.reset_index()
    links = links[links["focal"].isin(islands)]
    reverse = links.rename(columns={"focal": "neighbor", "neighbor": "focal"})
    table = pd.concat([edges[edges["weight"] != 0], links, reverse])[["focal", "neighbor"]].drop_duplicates()
    position = pd.Index(contiguity.unique_ids).get_indexer(table["focal"])
    table = table.iloc[np.argsort(position, kind="stable")]  # focal units in the order of the ids
    return Graph.from_arrays(table["focal"].to_numpy(), table["neighbor"].to_numpy(), np.ones(len(table)))


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
        A row-standardised libpysal ``Graph`` and the facts the report prints.

    Notes
    -----
    Queen contiguity: two polygons are neighbours when they share at least one
    boundary point (``Graph.build_fuzzy_contiguity`` with the ``intersects``
    predicate and no buffer). Nearest neighbours (``Graph.build_knn``) are found
    by great-circle (haversine) distance, so they are right for global point
    sets where any flat projection distorts distances. Polygon positions for
    the island links are centroids taken in the Equal Earth equal-area
    projection.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> squares = [shapely.box(x, 0, x + 1, 1) for x in range(3)] + [shapely.box(10, 0, 11, 1)]
    >>> units = gpd.GeoDataFrame(geometry=squares, index=pd.Index(list("abcd"), name="unit_id"), crs="EPSG:3857")
    >>> sw = spatial_weights(units)
    >>> sw.kind, sw.islands, sw.graph.neighbors["d"]
    ('queen', ('d',), ('c',))
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
    points = _lonlat_points(frame.geometry)
    if chosen == "queen":
        graph = _contiguity(frame.geometry)
        islands = tuple(str(unit) for unit in graph.isolates)
        if islands:
            graph = _with_island_links(graph, _nearest(points, island_k), islands)
        distance = "contiguity (shared boundary point)"
        k_used: int | None = None
    else:
        graph = _nearest(points, k)
        distance = "great-circle distance between points (polygon centroids in Equal Earth)"
        k_used = int(k)
    graph = graph.transform("R")
    cardinality = graph.cardinalities
    single = tuple(str(unit) for unit in cardinality.index[cardinality.to_numpy() == 1])
    n_components = int(graph.n_components)
    weights = SpatialWeights(
        graph=graph, kind=chosen, k=k_used, ids=tuple(ids), islands=islands, island_k=int(island_k),
        single_neighbour=single, excluded_no_geometry=excluded, n_components=n_components,
        distance=distance, description="",
    )
    return dataclasses.replace(weights, description=weights.describe("en"))


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
    insufficient = table["status"].eq("insufficient_data").to_numpy()
    no_value = ~np.isfinite(values.to_numpy())
    geometry = units.geometry
    no_geometry = (geometry.isna() | geometry.is_empty).to_numpy()
    keep = ~(insufficient | no_value | no_geometry)
    # the first reason that applies, in this order (vectorised: no loop per unit)
    reason = np.select([insufficient, no_value, no_geometry], ["insufficient data", f"no {variable}", "no geometry"],
                       default="")
    excluded = dict(zip(table.index.astype(str)[~keep], reason[~keep].tolist()))
    frame = gpd.GeoDataFrame(units.loc[keep], geometry=geometry[keep], crs=panel.units.crs)
    frame.index = pd.Index(frame.index.astype(str), name="unit_id")
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
class SpatialSettings:
    """The settings of the permutation statistics, shared by :func:`moran` and :func:`lisa`.

    Attributes
    ----------
    permutations
        Random permutations for the pseudo p-values.
    seed
        Seeds the permutations; the caller's global NumPy random state is restored.
    alpha
        Significance level of a LISA cluster (``p_sim <= alpha``); Moran's I does not use it.
    kind
        Weights built when none are given: ``"auto"``, ``"queen"`` or ``"knn"``
        (see :func:`spatial_weights`).
    k
        Neighbours per unit for ``"knn"`` weights.
    variable
        Column of ``identification.table`` analysed (default ``annual_rate``, percent per year).
    """

    permutations: int = 999
    seed: int = 0
    alpha: float = 0.05
    kind: Literal["auto", "queen", "knn"] = "auto"
    k: int = 6
    variable: str = "annual_rate"
    #: the language of the results' prose (the weights' description): ``"en"`` or ``"zh"``
    lang: str = "en"


class SpatialOptions(TypedDict, total=False):
    """Fields of :class:`SpatialSettings` given by keyword to :func:`moran` and :func:`lisa`."""

    permutations: int
    seed: int
    alpha: float
    kind: Literal["auto", "queen", "knn"]
    k: int
    variable: str
    lang: str


def _settings(settings: SpatialSettings | None, options: SpatialOptions) -> SpatialSettings:
    """``settings`` (default :class:`SpatialSettings`) with the keyword ``options`` replacing its fields."""
    return dataclasses.replace(settings if settings is not None else SpatialSettings(), **options)


def _sample(
    identification: "Identification", panel: "Panel", settings: SpatialSettings, weights: SpatialWeights | None,
) -> tuple[pd.Series, dict[str, str], SpatialWeights]:
    """The analysed values in the weights' unit order, the excluded units with reasons, and the weights."""
    frame, y, excluded = _analysis_frame(identification, panel, settings.variable)
    sw = weights if weights is not None else spatial_weights(frame, kind=settings.kind, k=settings.k)
    _check_weights(sw, y)
    return y.reindex(list(sw.ids)), excluded, sw


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


def _inference_fields(sw: SpatialWeights, excluded: dict[str, str], variable: str, n: int,
                      lang: str = "en") -> dict[str, Any]:
    return {"n": n, "n_excluded": len(excluded), "excluded": excluded, "islands": sw.islands,
            "single_neighbour": sw.single_neighbour, "variable": variable, "weights_description": sw.describe(lang),
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


def moran(identification: Identification, panel: Panel, settings: SpatialSettings | None = None, *,
          weights: SpatialWeights | None = None, **options: Unpack[SpatialOptions]) -> MoranResult:
    """Global Moran's I of the annual rate, with esda's permutation inference.

    Parameters
    ----------
    identification, panel
        The verdicts and the panel they came from (for geometry).
    settings
        Permutations, seed, weights kind and k, and the variable
        (default :class:`SpatialSettings`: 999 permutations, seed 0, ``annual_rate``).
    weights
        Prebuilt weights on exactly the analysed units; default
        ``spatial_weights(units with data, settings.kind, settings.k)``.
    **options
        Fields of :class:`SpatialSettings` by keyword (``permutations=99, seed=7``);
        they replace those of ``settings``.

    Returns
    -------
    MoranResult
        Units with insufficient data, no value or no geometry are excluded and
        listed with the reason.
    """
    from esda.moran import (
        Moran,  # deferred: esda loads numba and scikit-learn; only the spatial section needs it
    )

    chosen = _settings(settings, options)
    permutations, seed = int(chosen.permutations), int(chosen.seed)
    y, excluded, sw = _sample(identification, panel, chosen, weights)
    with _seeded_global_numpy(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stat = Moran(y.to_numpy(), sw.graph, transformation="r", permutations=permutations)
    return MoranResult(
        I=float(stat.I), expected_I=float(stat.EI), z_sim=float(stat.z_sim), p_sim=float(stat.p_sim),
        z_norm=float(stat.z_norm), p_norm=float(stat.p_norm), permutations=permutations, seed=seed,
        values=y, **_inference_fields(sw, excluded, chosen.variable, int(stat.n), chosen.lang),
    )


@dataclass(frozen=True)
class LisaResult(_Inference):
    """Local Moran's I (LISA) per unit with cluster labels at ``alpha``.

    ``table`` is indexed by ``unit_id`` (all units of the identification) with
    ``name``, ``status`` (the identification's verdict), the variable,
    ``local_I``, ``quadrant`` (HH/LH/LL/HL), ``p_sim`` and ``cluster``: the
    quadrant where ``p_sim <= alpha``, ``"not significant"`` otherwise,
    ``"excluded"`` for units not analysed. ``counts`` counts the clusters.
    p-values are not adjusted for multiple testing.

    High and low are relative to ``mean``, the mean of the variable over the
    analysed units (:data:`LISA_MEANINGS`): an ``LL`` unit grows more slowly
    than that mean, as do its neighbours on average; it is not necessarily
    shrinking. :meth:`shrinking_in` counts the shrinking units of a class.
    """

    table: pd.DataFrame = field(repr=False)
    counts: dict[str, int]
    alpha: float
    mean: float

    def shrinking_in(self, label: str = "LL") -> tuple[int, int, int]:
        """(shrinking units in significant ``label`` clusters, all units in them, shrinking units analysed).

        Shrinking is the identification's verdict (``status == "shrinking"``); analysed
        units are those not ``"excluded"``.
        """
        shrinking = self.table["status"].eq("shrinking").to_numpy()
        cluster = self.table["cluster"].to_numpy()
        members = cluster == label
        analysed = cluster != "excluded"
        return int((members & shrinking).sum()), int(members.sum()), int((analysed & shrinking).sum())

    def as_dict(self) -> dict[str, object]:
        shrinking = {label: self.shrinking_in(label)[0] for label in ("HH", "LL", "HL", "LH")}
        return {"alpha": self.alpha, "permutations": self.permutations, "seed": self.seed, "n": self.n,
                "n_excluded": self.n_excluded, "counts": dict(self.counts), "variable": self.variable,
                "mean": round(self.mean, 6), "meanings": dict(LISA_MEANINGS), "shrinking_in": shrinking,
                "shrinking_analysed": self.shrinking_in("LL")[2], "weights": self.weights_description}


def lisa(identification: Identification, panel: Panel, settings: SpatialSettings | None = None, *,
         weights: SpatialWeights | None = None, **options: Unpack[SpatialOptions]) -> LisaResult:
    """Local Moran's I clusters (HH, LL, HL, LH) of the annual rate, high and low relative to its mean.

    Parameters are those of :func:`moran`; here ``alpha`` of the settings
    counts too: a unit is in a cluster when its conditional-permutation pseudo
    p-value is at most ``alpha``. The seed is passed to esda's ``Moran_Local``
    (which seeds NumPy's global state; the caller's state is restored afterwards).
    The permutations run esda's kernel through :mod:`shrinkwatch.analysis.lisa_kernel`,
    which numba compiles once and caches on disk; the p-values are ``Moran_Local``'s.
    """
    from esda.moran import (
        Moran_Local,  # deferred: esda loads numba and scikit-learn; only the spatial section needs it
    )

    # deferred: the cached kernel imports esda (which loads libpysal, scikit-learn and SQLAlchemy); report.maps
    # imports this module for the LISA class words, so a run without analysis must not pay for esda
    from shrinkwatch.analysis.lisa_kernel import moran_local_p_sim

    chosen = _settings(settings, options)
    permutations, seed, alpha, variable = int(chosen.permutations), int(chosen.seed), chosen.alpha, chosen.variable
    if not 0 < float(alpha) < 1:
        raise OptionError(f"lisa: alpha must be between 0 and 1, got {alpha!r}")
    y, excluded, sw = _sample(identification, panel, chosen, weights)
    with _seeded_global_numpy(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the statistic from esda; its permutations through the cached kernel (lisa_kernel: no 27 s compile per run)
        local = Moran_Local(y.to_numpy(), sw.graph, transformation="r", permutations=0, n_jobs=1,
                            keep_simulations=False)
        local.p_sim = moran_local_p_sim(local, permutations, seed)
    quadrant = pd.Series(local.q, index=y.index).map(LISA_LABELS)
    # esda may return float32 p-values; they are (count + 1) / (permutations + 1) exactly
    denominator = permutations + 1
    p_sim = pd.Series(np.round(np.asarray(local.p_sim, dtype=float) * denominator) / denominator, index=y.index)
    cluster = quadrant.where(p_sim <= float(alpha), "not significant")
    table = pd.DataFrame(index=pd.Index([str(i) for i in identification.table.index], name="unit_id"))
    table["name"] = identification.table["name"].to_numpy()
    table["status"] = identification.table["status"].astype(str).to_numpy()
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
        table=table, counts=counts, alpha=float(alpha), mean=float(y.mean()), permutations=permutations, seed=seed,
        **_inference_fields(sw, excluded, variable, int(len(y)), chosen.lang),
    )
