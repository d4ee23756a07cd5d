"""The main job: load a dataset, identify, analyse, write the report.

The stages are imported inside the functions that use them: ``import shrinkwatch`` imports this
module (for :func:`run`), and must not pull in the analysis stack (scikit-learn, esda, LightGBM,
matplotlib) before anyone asks for an analysis.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError, StoreError
from shrinkwatch.core.machine import usable_cpus
from shrinkwatch.core.messages import message
from shrinkwatch.core.panelfile import panel_fingerprint, read_panel
from shrinkwatch.identification import identify, load_standard

if TYPE_CHECKING:
    from shrinkwatch.analysis.analyse import Analysis

__all__ = ["run", "load_any"]

T = TypeVar("T")


class _Alongside(Generic[T]):
    """``work()`` started on a thread of its own while the caller goes on (``concurrent``, the default when this
    process may use more than one CPU); :meth:`result` waits for it and returns its value or raises its
    exception. The thread is a daemon: an interrupted run (Ctrl-C) exits without waiting for it. Not
    concurrent: :meth:`result` runs ``work`` then, on the caller's thread."""

    def __init__(self, work: Callable[[], T], concurrent: bool | None = None) -> None:
        self._work = work
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if _cpus() > 1 if concurrent is None else concurrent:
            self._thread = threading.Thread(target=self._run, name="shrinkwatch-alongside", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def result(self) -> T:
        if self._thread is None:
            return self._work()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def _cpus() -> int:
    """The CPUs this process may run on (:func:`~shrinkwatch.core.machine.usable_cpus`; a test sets one)."""
    return usable_cpus()


def load_any(dataset: str | Panel, data_dir: str | os.PathLike[str] | None = None) -> Panel:
    """A Panel from a Panel, a registered dataset id, a panel file written by ``ingest``, or a UCDB GeoPackage."""
    if isinstance(dataset, Panel):
        return dataset
    text = str(dataset)
    if text.endswith(".gpkg") and Path(text).is_file():  # a GHS-UCDB release (the schema is checked)
        from shrinkwatch.datasets.ghsl_ucdb import (
            read_ucdb,  # geopandas/pyogrio load only for a GeoPackage
        )

        return read_ucdb(text)
    if text.endswith((".parquet", ".pq")) or Path(text).is_file():
        return read_panel(Path(text))
    from shrinkwatch.datasets import (
        load,  # the registry loads on first use: CLI start-up time
    )

    return load(text, data_dir)


def _combinations(vary: dict[str, list[Any]]) -> int:
    total = 1
    for values in vary.values():
        total *= len(values)
    return total


def _feasible_grid(panel: Panel, standard: Any, vary: dict[str, list[Any]], parameters: dict[str, Any],
                   say: Callable[[str], None], stable_clusters: bool = True,
                   lang: str = "en") -> dict[str, list[Any]]:
    """The standard's default grid without the values this panel cannot take (a window longer than
    the panel, say); a grid the user asked for is never trimmed."""
    from shrinkwatch.identification.sensitivity import (
        sweep,  # deferred: the CLI starts without the analysis stack
    )

    feasible: dict[str, list[Any]] = {}
    for key, values in vary.items():
        base = {k: v for k, v in parameters.items() if k != key}
        kept = []
        for value in values:
            try:
                sweep(panel, standard, {key: [value]}, base, stable_clusters=stable_clusters)
            except (OptionError, DataError):
                continue
            kept.append(value)
        if len(kept) < len(values):
            say(message("pipeline.progress.left_out", lang, key=key,
                        values=", ".join(str(v) for v in values if v not in kept)))
        if kept:
            feasible[key] = kept
    return feasible


def _analyse(identification: Identification, panel: Panel, say: Callable[[str], None], *,
             seed: int = 0, resources: str | os.PathLike[str] | None = None,
             vary: dict[str, list[Any]] | None = None, standard: Any = None,
             user_grid: bool = False, stable_clusters: bool = True,
             settings: dict[str, Any] | None = None, lang: str = "en") -> Analysis:
    """Every analysis of the report, in the seed article's order: the sensitivity sweep, the status over time
    (``settings``: the run's, so that census-decline compares each year with its own census before),
    distribution, clusters, paradox, drivers, types and transformation paths."""
    from shrinkwatch.analysis.analyse import (
        analyse,  # deferred: the CLI starts without the analysis stack
    )
    from shrinkwatch.analysis.recommend import recommendations_for  # deferred: as above
    from shrinkwatch.analysis.typology import classify  # deferred: as above
    from shrinkwatch.identification.sensitivity import sweep  # deferred: as above
    from shrinkwatch.identification.timeline import timeline  # deferred: as above

    # the forecast reads only the panel and the standard: it runs on the second CPU while the analyses run here
    # (its models are single-threaded and seeded, and it draws from its own generators: the same numbers)
    forecasting = _Alongside(lambda: _early_warning(identification, panel, standard, seed, settings))
    swept = None
    if vary and not user_grid:
        vary = _feasible_grid(panel, standard, vary, identification.parameters, say, stable_clusters, lang)
    if vary:
        say(message("pipeline.progress.sweeping", lang, keys=", ".join(vary), settings=_combinations(vary)))
        swept = sweep(panel, identification.standard_id if standard is None else standard, vary,
                      {k: v for k, v in identification.parameters.items() if k not in vary},
                      stable_clusters=stable_clusters)
    say(message("pipeline.progress.timeline", lang))
    status, timeline_error = None, {}
    try:
        status = timeline(panel, identification.standard_id if standard is None else standard, settings,
                          stable_clusters=stable_clusters)
    except (OptionError, DataError) as error:  # a window longer than the panel: the report says so
        timeline_error = {"timeline": str(error)}
    say(message("pipeline.progress.analysing", lang))
    analysis = analyse(identification, panel, seed=seed, lang=lang)
    say(message("pipeline.progress.typing", lang))
    typology = classify(panel, identification, seed=seed, resources=resources, lang=lang)
    paths = recommendations_for(panel, identification, typology, paradox=analysis.paradox, lang=lang)
    say(message("pipeline.progress.forecasting", lang))
    warning, errors = forecasting.result(), dict(analysis.errors)
    if isinstance(warning, str):  # why there is no forecast: the report says so
        errors["early_warning"] = warning
    return replace(analysis, sensitivity=swept, typology=typology, recommendations=paths, timeline=status,
                   early_warning=None if isinstance(warning, str) else warning,
                   errors={**errors, **timeline_error})


def _early_warning(identification: Identification, panel: Panel, standard: Any, seed: int,
                   settings: dict[str, Any] | None = None) -> Any:
    """The report's forecast (watchlist and its backtest skill), or why there is none (a rule the forecasts
    cannot decide, too few observed years). A census series is forecast two steps ahead, an annual one five
    years. ``settings`` are the run's, not the identification's resolved parameters: a year left to its default
    follows the year judged (census-decline compares each year with the census before it, as the status timeline
    does), so the backtest's earlier origins are judged as of their own years (us-city-census, 1980-2010:
    the resolved ``start_year=2000`` cannot judge 1990)."""
    from shrinkwatch.forecast import forecast  # deferred: the CLI starts without the analysis stack

    try:
        return forecast(panel, identification.standard_id if standard is None else standard,
                        dict(settings or {}), seed=seed,
                        horizon=5 if _annual(panel) else None)  # annual: five years, which a decade can backtest
    except (DataError, OptionError) as error:
        return str(error)


def _annual(panel: Panel) -> bool:
    years = panel.observed_years
    return len(years) > 1 and min(b - a for a, b in zip(years, years[1:])) == 1


def run(
    dataset: str | Panel = "cn-prefecture-census",
    standard: str | None = None,
    settings: dict[str, Any] | None = None,
    *,
    out_dir: str | os.PathLike[str] = "out",
    lang: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
    analysis: bool = True,
    seed: int = 0,
    resources: str | os.PathLike[str] | None = None,
    vary: dict[str, list[Any]] | None = None,
    force: bool = False,
    stable_clusters: bool = True,
    pdf: bool = False,
    store: str | os.PathLike[str] | bool | None = None,
) -> dict[str, Path]:
    """Load, identify, analyse and report; returns the written files by name.

    The files are written as one set (:func:`shrinkwatch.report.outputs.output_set`): staged beside
    ``out_dir``, listed with their sha256 in ``manifest.json`` and moved into place together, so an
    interrupted run leaves the previous set intact. A folder holding files ShrinkWatch did not write
    is refused unless ``force`` (and then those files are kept). Without a ``standard``, a registered
    dataset's own default standard and settings are used (:func:`shrinkwatch.datasets.standard_for`:
    ``consecutive-decline`` in 2016 for ``eu-urban-audit``), else ``census-decline``.
    ``stable_clusters`` (default) judges units
    that exchanged territory between the compared years as their stable clusters, in the identification
    and in the sensitivity sweep alike (:func:`shrinkwatch.harmonize.stable_clusters`); False leaves them
    ``boundary_change``. ``pdf`` adds ``report.pdf``, the page printed by headless Chromium
    (:func:`shrinkwatch.report.pdf.write_pdf`); without Chromium, or when it fails, the run still succeeds,
    says why through ``progress`` and records it in the manifest (``pdf``).
    ``store`` records the run in the run store (:mod:`shrinkwatch.store`) under the manifest's run id:
    a path or a ``postgresql://`` URL, or True for ``$SHRINKWATCH_STORE`` or else the user's data folder;
    None or False (the default here; the ``run`` command records unless ``--no-store``) records nothing.
    The store is opened before any data is read, so a bad one fails first.

    Examples
    --------
    >>> import tempfile
    >>> paths = run("cn-prefecture-census", out_dir=tempfile.mkdtemp(), analysis=False)
    >>> sorted(name for name in paths if not name.startswith("figures/"))
    ['manifest.json', 'report.html', 'results.csv', 'results.parquet', 'results.xlsx', 'summary.json']
    """
    from shrinkwatch.datasets import (
        standard_for,  # the registry loads on first use: CLI start-up time
    )
    from shrinkwatch.report import (  # deferred: matplotlib and the templates load only for a run
        output_set,
        write_csv,
        write_pdf,
        write_report,
    )

    say = progress or (lambda message: None)
    standard, settings = standard_for(dataset, standard, settings)
    std = load_standard(standard)
    std.resolve(settings)
    if vary:  # reject a bad grid before any data is read
        from shrinkwatch.identification.sensitivity import (
            check_grid,  # deferred: as for sweep above
        )

        check_grid(std, vary)
    recorder = _open_store(store)
    with output_set(Path(out_dir), force=force) as outputs:  # a folder of someone else's files: refused first
        # the language is the requested one, or English until the panel (and so its own language) is read
        say(message("pipeline.progress.loading", lang or "en",
                    dataset=dataset if isinstance(dataset, str) else dataset.id))
        panel = load_any(dataset, data_dir)
        say(message("pipeline.progress.identifying", lang or panel.language, standard=std.id,
                    units=len(panel.units)))
        result = identify(panel, std, settings, lang=lang, stable_clusters=stable_clusters)
        lang = lang or panel.language  # one language for the reasons, the report and the figures
        grid = vary if vary else dict(std.sensitivity)
        analysed = (_analyse(result, panel, say, seed=seed, resources=resources, vary=grid, standard=std,
                             user_grid=bool(vary), stable_clusters=stable_clusters, settings=settings,
                             lang=lang or panel.language)
                    if analysis else None)
        say(message("pipeline.progress.writing", lang, out=out_dir))
        write_report(result, panel, outputs.folder, analysed, lang=lang)
        if analysed is not None and analysed.sensitivity is not None:  # the sweep's own tables, to work on further
            for name, table in (("sensitivity_counts", analysed.sensitivity.counts),
                                ("sensitivity_units", analysed.sensitivity.units)):
                write_csv(table, outputs.path(f"{name}.csv"), index=not isinstance(table.index, pd.RangeIndex))
        printed: dict[str, Any] = {"requested": bool(pdf)}
        if pdf:
            outcome = write_pdf(outputs.path("report.html"), outputs.path("report.pdf"), lang=lang)
            say(message("pipeline.progress.pdf_printed", lang, seconds=outcome.seconds) if outcome.written
                else message("pipeline.progress.pdf_skipped", lang, reason=outcome.reason))
            printed.update(written=outcome.written, skipped_reason=outcome.reason or None)
        options = {"analysis": bool(analysis), "seed": seed, "language": lang or panel.language,
                   "stable_clusters": bool(stable_clusters)}
        written = outputs.commit({
            "dataset": {"id": panel.id, "fingerprint": panel_fingerprint(panel),
                        "source_files": list(panel.meta.source_files)},
            "standard": {"id": result.standard_id, "source": result.standard_source,
                         "parameters": dict(result.parameters)},
            **options, "pdf": printed,
        })
        if recorder is not None:
            _record(recorder, outputs.run_id, panel, result, std,
                    {**options, "vary": grid, "out": str(Path(out_dir).resolve())}, say, lang or panel.language)
        return written


def _open_store(store: str | os.PathLike[str] | bool | None) -> Any:
    """The run store to record into (checked and migrated now, before any data is read), or None."""
    if store is None or store is False:
        return None
    from shrinkwatch.store import (
        Store,  # deferred: SQLAlchemy and the database driver load only for a recorded run
    )

    opened = Store(None if store is True else store)
    opened.schema_version()
    return opened


def _record(store: Any, run_id: str, panel: Panel, result: Identification, std: Any, options: dict[str, Any],
            say: Callable[[str], None], lang: str = "en") -> None:
    """Record the finished run under its manifest's run id; a store that fails now says the files are written."""
    from shrinkwatch.store import record_run  # deferred: as in _open_store

    try:
        record_run(store, kind="run", panel=panel, results=result, standard=std, run_id=run_id, options=options)
    except StoreError as error:
        raise type(error)(f"{error} (the run's files are written, in {options['out']}; the run is not recorded)") from None
    finally:
        store.close()
    say(message("monitor.recorded", lang, run_id=run_id, store=store.label))
