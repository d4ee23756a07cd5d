"""The engine behind the API: datasets loaded once, standards resolved, results computed once per key.

A :class:`Workspace` answers the app's questions with the package's own stages (``pipeline.load_any``,
``identification.identify``, ``identification.sensitivity.sweep``, ``identification.timeline.timeline``,
``forecast.forecast``, ``analysis.unit_profile.profile``) and caches what they return in a
:class:`~shrinkwatch.serve.cache.ResultCache`. A result's key is the panel's fingerprint, the standard's id and
version, the parameters resolved for that panel (with what the engine chose for the user, such as a substitute
population indicator), the language and the stable-cluster switch: the same question on the same data gets
the same answer, and other data or other settings never get a stale one. Panels are loaded on first use (a
registered dataset once; a panel file again when its size or modification time changes).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from shrinkwatch.analysis.recommend import analysis_columns, profile_table, recommend
from shrinkwatch.analysis.typology import Typology, classify
from shrinkwatch.analysis.unit_profile import UnitProfile, profile
from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import OptionError, ShrinkWatchError
from shrinkwatch.core.panelfile import panel_fingerprint
from shrinkwatch.datasets import REGISTRY, dataset_paths, list_datasets, standard_for
from shrinkwatch.forecast import ForecastResult, forecast
from shrinkwatch.identification import identify, list_standards
from shrinkwatch.identification.engine import resolve_for_panel
from shrinkwatch.identification.schema import Standard
from shrinkwatch.identification.sensitivity import SensitivityResult, check_grid, check_memory, check_size, sweep
from shrinkwatch.identification.timeline import Timeline, timeline
from shrinkwatch.pipeline import load_any
from shrinkwatch.report.maps import map_context
from shrinkwatch.serve.cache import ResultCache
from shrinkwatch.serve.security import DatasetRef, DatasetResolver, Refusal, ServeSettings
from shrinkwatch.store import RunDiff, Store, diff_runs, resolve_target

__all__ = ["Workspace", "Loaded", "Ask", "GEOMETRY_TOLERANCE", "GEOMETRY_GRID"]

#: Simplification tolerance of the web geometry, degrees (about 1 km): 3,142 US counties in 1.2 MB of GeoJSON.
GEOMETRY_TOLERANCE = 0.01
#: Coordinates rounded to this grid, degrees (about 10 m).
GEOMETRY_GRID = 1e-4


@dataclass(frozen=True, eq=False)
class Loaded:
    """A panel the server holds, with its fingerprint and the name requests use for it."""

    ref: DatasetRef
    panel: Panel
    fingerprint: str

    @property
    def key(self) -> str:
        return self.ref.key


@dataclass(frozen=True, eq=False)
class Ask:
    """One question about one panel: a standard, the user's parameters and how to answer."""

    loaded: Loaded
    standard: Standard
    overrides: dict[str, Any]
    #: the parameters resolved for this panel, as (key, value) pairs, and the engine's notes about them
    resolved: tuple[tuple[str, Any], ...]
    notes: tuple[str, ...]
    lang: str
    stable_clusters: bool = True

    @property
    def key(self) -> tuple[Hashable, ...]:
        return (self.loaded.fingerprint, self.standard.id, self.standard.version, self.resolved, self.notes,
                self.lang, self.stable_clusters)

    @property
    def panel(self) -> Panel:
        return self.loaded.panel


class Workspace:
    """The datasets and standards a server offers, and every result it has computed."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        files = tuple(Path(d) for d in settings.datasets if d not in REGISTRY)
        self.resolver = DatasetResolver(files=files, folders=tuple(settings.panel_dirs))
        self.panels = ResultCache(max_entries=16, max_bytes=2**62)
        self.results = ResultCache(max_entries=settings.cache_entries, max_bytes=2**62)
        self.rendered = ResultCache(max_entries=4 * settings.cache_entries, max_bytes=settings.cache_bytes)
        self._standards = {std.id: std for std in list_standards()}
        self._loaded: dict[str, Loaded] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ datasets

    def ref(self, dataset: str) -> DatasetRef:
        return self.resolver.resolve(dataset)

    @staticmethod
    def _panel_key(ref: DatasetRef) -> tuple[Hashable, ...]:
        if ref.kind == "panel":
            assert ref.path is not None
            stat = ref.path.stat()
            return ("panel", str(ref.path), stat.st_mtime_ns, stat.st_size)
        return ("registered", ref.key)

    def load(self, ref: DatasetRef) -> Loaded:
        """The panel ``ref`` names, loaded once (a panel file again when it changed on disk)."""
        source = str(ref.path) if ref.kind == "panel" else ref.key

        def read() -> Loaded:
            panel = load_any(source, self.settings.data_dir)
            return Loaded(ref, panel, panel_fingerprint(panel))

        loaded = self.panels.get_or_compute(self._panel_key(ref), read)
        with self._lock:
            self._loaded[ref.key] = loaded
        return loaded

    def already_loaded(self, ref: DatasetRef) -> Loaded | None:
        """The panel ``ref`` names if it is loaded and unchanged on disk (never loads)."""
        return self.panels.get(self._panel_key(ref))  # type: ignore[no-any-return]

    def loaded(self, key: str) -> Loaded | None:
        """The panel loaded under ``key`` so far, without loading it."""
        with self._lock:
            return self._loaded.get(key)

    def preload(self, say: Callable[[str], None] = lambda message: None) -> None:
        """Load the datasets given at start (``--dataset``)."""
        for dataset in self.settings.datasets:
            name = dataset if dataset in REGISTRY else Path(dataset).resolve().name
            say(f"loading {name}")
            loaded = self.load(self.ref(name))
            say(f"  {len(loaded.panel.units):,} units, {loaded.panel.years[0]}-{loaded.panel.years[-1]}"
                if loaded.panel.years else "  no years")

    def datasets(self) -> list[dict[str, Any]]:
        """What ``/api/datasets`` lists: registered panels whose files are present, then the served panel files."""
        listed: list[dict[str, Any]] = []
        for ds in list_datasets():
            if not ds.loadable:
                continue
            try:
                dataset_paths(ds, self.settings.data_dir)
            except ShrinkWatchError:
                continue
            listed.append(self._describe(DatasetRef("registered", ds.id), ds.title, ds.default_standard))
        for ref in self.resolver.panel_files():
            listed.append(self._describe(ref, ref.key, standard_for(ref.key)[0]))
        return listed

    def _describe(self, ref: DatasetRef, title: str, default_standard: str) -> dict[str, Any]:
        loaded = self.loaded(ref.key)
        panel = loaded.panel if loaded is not None else None
        years = panel.years if panel is not None else []
        return {"id": ref.key, "title": (panel.meta.title or title) if panel is not None else title,
                "units": len(panel.units) if panel is not None else None,
                "years": [years[0], years[-1]] if years else None,
                "language": panel.language if panel is not None else None,
                "default_standard": default_standard, "kind": ref.kind, "loaded": panel is not None}

    # ------------------------------------------------------------ standards and parameters

    def standards(self) -> list[Standard]:
        return list(self._standards.values())

    def standard(self, name: str) -> Standard:
        if name not in self._standards:
            raise Refusal(422, f"query parameter 'standard': unknown standard {name!r}; built-in: "
                               f"{', '.join(sorted(self._standards))} (GET /api/standards)")
        return self._standards[name]

    def ask(self, loaded: Loaded, standard: str | None, settings: dict[str, str], lang: str | None,
            stable_clusters: bool = True) -> Ask:
        """The question as the engine will answer it: the standard (the dataset's own when none is given, with
        its default settings, as on the command line), the checked parameters and the language."""
        name, overrides = standard_for(loaded.key, standard, settings)
        std = self.standard(name)
        values, notes = resolve_for_panel(std, loaded.panel, overrides)  # OptionError names a bad parameter
        language = lang or loaded.panel.language
        if language not in ("en", "zh"):
            raise Refusal(422, f"query parameter 'lang': expected 'en' or 'zh', got {language!r}")
        typed = {key: std.parameters[key].coerce(key, value) for key, value in overrides.items()}
        return Ask(loaded, std, typed, tuple(sorted(values.items())), notes, language, stable_clusters)

    # ------------------------------------------------------------ results

    def cached(self, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
        return self.results.get_or_compute(key, compute)

    def identification(self, ask: Ask) -> Identification:
        return self.cached(("identify", *ask.key), lambda: identify(
            ask.panel, ask.standard, ask.overrides, lang=ask.lang, stable_clusters=ask.stable_clusters))

    def typology(self, ask: Ask) -> Typology:
        return self.cached(("typology", *ask.key), lambda: classify(ask.panel, self.identification(ask), seed=0))

    def states(self, ask: Ask) -> pd.DataFrame | None:
        """Each unit's Tapio state where the panel has built-up data (None without), computed once."""
        return self.cached(("states", *ask.key),  # type: ignore[no-any-return]
                           lambda: analysis_columns(ask.panel, self.identification(ask)))

    def recommendations(self, ask: Ask) -> pd.DataFrame:
        """Every unit's transformation paths (the rules matched once for the whole identification)."""
        def build() -> pd.DataFrame:
            ident = self.identification(ask)
            return recommend(profile_table(ident, self.typology(ask), self.states(ask)), lang=ask.lang)
        return self.cached(("recommendations", *ask.key), build)  # type: ignore[no-any-return]

    def profile(self, ask: Ask, unit_id: str) -> UnitProfile:
        """What ``shrinkwatch explain`` prints about one unit (without the driver models, which take seconds).

        The identification, typology, Tapio states and recommendations of the whole panel are computed once per
        question; :func:`~shrinkwatch.analysis.unit_profile.profile` then gets the unit's rows of each, so that a
        profile costs milliseconds instead of a join over every unit."""
        ident = self.identification(ask)
        typology = self.typology(ask)
        if unit_id not in ident.table.index:  # the engine's own error, with near matches
            return profile(ask.panel, ident, unit_id, typology=typology, lang=ask.lang, drivers=False,
                           standard=ask.standard)
        rows = [unit_id]
        states = self.states(ask)
        extra = (states.reindex(rows) if states is not None else
                 pd.DataFrame({"tapio_state": pd.array([pd.NA], dtype="string")}, index=pd.Index(rows, name="unit_id")))
        return profile(ask.panel, dataclasses.replace(ident, table=ident.table.loc[rows]), unit_id,
                       typology=dataclasses.replace(typology, table=typology.table.reindex(rows)), extra=extra,
                       lang=ask.lang, drivers=False, standard=ask.standard, recommendations=self.recommendations(ask))

    def check_sweep(self, ask: Ask, vary: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """``vary`` checked against the standard and this server's limit on the number of settings."""
        checked = check_grid(ask.standard, vary)
        settings = check_size(checked)
        if settings > self.settings.max_sweep:
            raise Refusal(422, f"query parameter 'vary': {settings:,} settings; this server sweeps at most "
                               f"{self.settings.max_sweep:,} per request (--max-sweep): vary fewer values")
        check_memory(ask.panel, checked)
        return checked

    def sweep(self, ask: Ask, vary: dict[str, list[Any]]) -> SensitivityResult:
        def compute() -> SensitivityResult:
            checked = self.check_sweep(ask, vary)
            base = {key: value for key, value in ask.overrides.items() if key not in checked}
            return sweep(ask.panel, ask.standard, checked, base, stable_clusters=ask.stable_clusters)
        grid = tuple((key, tuple(map(str, values))) for key, values in vary.items())
        return self.cached(("sweep", grid, *ask.key), compute)  # type: ignore[no-any-return]

    def robustness(self, ask: Ask) -> SensitivityResult | None:
        """The sweep over the standard's own grid (what ``explain`` prints as robustness), None without one."""
        grid = dict(ask.standard.sensitivity)
        return self.sweep(ask, grid) if grid else None

    def timeline(self, ask: Ask) -> Timeline:
        return self.cached(("timeline", *ask.key), lambda: timeline(
            ask.panel, ask.standard, ask.overrides, stable_clusters=ask.stable_clusters))

    def forecast_key(self, ask: Ask, horizon: int | None) -> tuple[Hashable, ...]:
        return ("forecast", horizon, *ask.key)

    def forecast(self, ask: Ask, horizon: int | None) -> ForecastResult:
        return self.cached(self.forecast_key(ask, horizon), lambda: forecast(
            ask.panel, ask.standard, ask.overrides, horizon=horizon, seed=0))

    def cached_forecast(self, ask: Ask, horizon: int | None) -> ForecastResult | None:
        return self.results.get(self.forecast_key(ask, horizon))  # type: ignore[no-any-return]

    def series(self, loaded: Loaded, indicator: str) -> pd.DataFrame:
        """Units x years of ``indicator`` (NaN where unobserved)."""
        if indicator not in loaded.panel.indicators:
            raise OptionError(f"indicator {indicator!r} is not in dataset {loaded.key!r}")
        return self.cached(("series", loaded.fingerprint, indicator), lambda: loaded.panel.wide(indicator))

    # ------------------------------------------------------------ the run store (read only)

    def _store_exists(self) -> bool:
        target = resolve_target(self.settings.store)
        return "://" in target or Path(target).expanduser().exists()

    def runs(self, limit: int) -> list[dict[str, Any]]:
        """The recorded runs, newest first (none when there is no store yet: the server never creates one)."""
        if not self._store_exists():
            return []
        with Store(self.settings.store, create=False) as store:
            table = store.runs(limit)
        statuses = ("shrinking", "not_shrinking", "insufficient_data", "boundary_change")
        return [{"run_id": str(run_id), "time": row["created"].isoformat(), "kind": row["kind"],
                 "dataset": row["dataset_id"], "fingerprint": row["dataset_fingerprint"],
                 "standard": row["standard_id"], "standard_version": row["standard_version"],
                 "parameters": row["parameters"], "periods": int(row["periods"]),
                 "counts": {"units": int(row["units"]), **{s: int(row[s]) for s in statuses}}}
                for run_id, row in table.iterrows()]

    def diff(self, run_a: str, run_b: str, lang: str = "en") -> RunDiff:
        """What changed from run ``run_a`` to run ``run_b`` (a run that is not recorded: UnknownIdError)."""
        if not self._store_exists():
            raise Refusal(404, f"no run store at {resolve_target(self.settings.store)} (--store): no runs to compare")
        with Store(self.settings.store, create=False) as store:
            a, b = store.read(run_a), store.read(run_b)
        return diff_runs(a, b, lang=lang)

    # ------------------------------------------------------------ geometry

    def geometry(self, loaded: Loaded) -> np.ndarray:
        """Each unit's geometry as GeoJSON text in EPSG:4326, simplified for the web (None without one)."""
        def build() -> np.ndarray:
            units = loaded.panel.units
            if "geometry" not in units.columns:
                return np.full(len(units), None, dtype=object)
            return _web_geojson(units)
        return self.cached(("geometry", loaded.fingerprint), build)  # type: ignore[no-any-return]

    def context(self, loaded: Loaded) -> list[tuple[str, dict[str, Any], str]]:
        """The layers drawn with the units: (layer, properties, GeoJSON text) per feature (provinces with Taiwan
        and the South China Sea lines for China; states for the US); empty where there are none."""
        def build() -> list[tuple[str, dict[str, Any], str]]:
            found = map_context(loaded.panel.meta)
            if found is None:
                return []
            features: list[tuple[str, dict[str, Any], str]] = []
            areas = found.areas
            if len(areas):
                texts = _simplified(np.asarray(areas.geometry.values))
                for (area_id, name), text in zip(zip(areas.index.astype(str), areas["name"].astype(str)), texts):
                    layer = ("taiwan" if found.level == "province" and (area_id.startswith("71") or "台湾" in name)
                             else found.level)
                    if text is not None:
                        features.append((layer, {"id": area_id, "name": name}, text))
            if found.lines is not None and len(found.lines):
                for text in _simplified(np.asarray(found.lines.values), tolerance=GEOMETRY_TOLERANCE / 4):
                    if text is not None:
                        features.append(("maritime", {}, text))
            return features
        return self.cached(("context", loaded.fingerprint), build)  # type: ignore[no-any-return]


def _simplified(geoms: np.ndarray, tolerance: float = GEOMETRY_TOLERANCE) -> np.ndarray:
    """GeoJSON text of each geometry, simplified (topology kept) and snapped to :data:`GEOMETRY_GRID`."""
    geoms = np.asarray(geoms, dtype=object)
    missing = np.asarray(shapely.is_missing(geoms), dtype=bool)
    filled = geoms.copy()
    filled[missing] = None
    present = ~missing & ~np.asarray(shapely.is_empty(filled), dtype=bool)
    out = np.full(len(geoms), None, dtype=object)
    if present.any():
        simple = shapely.set_precision(shapely.simplify(geoms[present], tolerance, preserve_topology=True),
                                       GEOMETRY_GRID)
        out[present] = shapely.to_geojson(simple)
    return out


def _web_geojson(units: pd.DataFrame) -> np.ndarray:
    frame = units
    crs = getattr(frame, "crs", None)
    if crs is not None and not crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")  # type: ignore[operator]
    return _simplified(np.asarray(frame["geometry"].values))


def upload_target(settings: ServeSettings, name: str) -> Path:
    """Where an uploaded file's panel is written: the first served folder, the file's stem + ``.parquet``."""
    return Path(settings.panel_dirs[0]).resolve() / (Path(name).stem + ".parquet")

