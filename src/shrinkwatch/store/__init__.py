"""The run store: every run recorded, and what changed between runs (``shrinkwatch monitor``).

Its layer sits between ``report`` and ``pipeline``: it records what the pipeline produced (the
:class:`~shrinkwatch.core.Identification`, the panel's fingerprint, the standard and the run id of the
output manifest, ``report.outputs``), and nothing below it knows that runs are kept.

How a command records into it
-----------------------------
Build a typed record from the objects the command already has and write it in one call::

    from shrinkwatch.store import record_run

    record_run(store_target, kind="timeline", panel=panel, results={"2015": ident_2015, "2020": ident_2020},
               standard=std, options={"stable_clusters": True})

``results`` is an :class:`~shrinkwatch.core.Identification` for ``kind="run"``, or a mapping of period
(a year or a label) to an Identification or to a unit table indexed by ``unit_id`` with a ``status``
column (``annual_rate``, ``severity`` and ``reason`` where there are such; every other column is kept
in the unit's ``detail``). ``store_target`` is ``--store`` (None: ``$SHRINKWATCH_STORE``, else the
user's data folder). The CLI's ``StoreOption``/``NoStoreOption`` and ``cli.store_target`` give a
command the same options as ``run``. ``run``, ``timeline`` and ``forecast`` record (:func:`timeline_periods`
turns a timeline into one unit table per as-of year; :func:`forecast_parts` a
:class:`~shrinkwatch.forecast.ForecastResult` into the arguments of a ``forecast`` record, with its
forecasts per unit and year and its watchlist in tables of their own).
"""

from __future__ import annotations

import os
from typing import Any

from shrinkwatch.store.diff import CHANGES, RunDiff, diff_runs
from shrinkwatch.store.records import (
    KINDS,
    RunRecord,
    build_record,
    forecast_parts,
    new_run_id,
    timeline_periods,
    unit_rows,
)
from shrinkwatch.store.schema import SCHEMA_VERSION
from shrinkwatch.store.store import ENV, TIMEOUT_ENV, Store, default_location, resolve_target

__all__ = ["CHANGES", "ENV", "KINDS", "SCHEMA_VERSION", "TIMEOUT_ENV", "RunDiff", "RunRecord", "Store",
           "build_record", "default_location", "diff_runs", "forecast_parts", "new_run_id", "record_run", "resolve_target",
           "timeline_periods", "unit_rows"]


def record_run(store: str | os.PathLike[str] | Store | None = None, **record: Any) -> RunRecord:
    """Build a :class:`RunRecord` (the keyword arguments of :func:`build_record`) and write it to ``store``
    (a :class:`Store`, or a path or URL as for :class:`Store`); returns the record written."""
    built = build_record(**record)
    if isinstance(store, Store):
        store.record(built)
    else:
        with Store(store) as opened:
            opened.record(built)
    return built
