"""What the run store keeps of one run: a typed :class:`RunRecord` built from the pipeline's objects.

A record is the run's identity (run id, kind, time, software version), its input (dataset id,
title, fingerprint and source files), its standard (id, version, source and the parameters as
typed JSON values) and one row per unit and period: the unit's name, parent and region, its
status, severity, annual rate and reason as columns, and every other value of the unit's row
(criterion values and passes, indicator values, compared years...) as a JSON object in
``detail``. Building the record normalises these values once (NumPy scalars to Python numbers,
missing and non-finite numbers to None), so the record is exactly what the store writes and
exactly what it reads back: ``store.read(record.run_id) == record``.

A forecast's record (``kind="forecast"``, :func:`forecast_parts`) has one unit row per unit for its
origin year (the status now, the population at the origin, the combined forecast at the horizon,
its interval and the probability of meeting the standard by then) and two tables more: ``forecasts``,
every method's forecast, the interval and the probabilities per unit and target year, and
``watchlist``, the units not shrinking now that are most likely to be, by rank.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Identification, Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.panelfile import panel_fingerprint
from shrinkwatch.report.outputs import jsonable, software_version
from shrinkwatch.store.schema import FORECAST_BOUNDS, FORECAST_METHODS

if TYPE_CHECKING:
    from shrinkwatch.forecast import ForecastResult
    from shrinkwatch.identification.schema import Standard
    from shrinkwatch.identification.timeline import Timeline

__all__ = ["KINDS", "TEXT_COLUMNS", "UNIT_COLUMNS", "FORECAST_COLUMNS", "RunRecord", "build_record", "new_run_id",
           "normalise_units", "normalise_forecasts", "normalise_watchlist", "period_key", "timeline_periods",
           "unit_rows", "forecast_parts"]

#: What made a run: the ``run`` command, ``timeline`` (a status per unit and year) or ``forecast``.
KINDS = ("run", "timeline", "forecast")
#: The unit columns kept as text columns of their own (the rest of a unit's row goes to ``detail``).
TEXT_COLUMNS = ("name", "parent_id", "parent_name", "region", "status", "severity", "reason")
#: Every column of :attr:`RunRecord.units`, in order (the index is ``unit_id``, ``period``).
UNIT_COLUMNS = ("position", *TEXT_COLUMNS[:6], "annual_rate", "reason", "detail")
#: Every column of :attr:`RunRecord.forecasts` (the index is ``unit_id``, ``year``): ``horizon`` (years ahead,
#: int64), then float64 columns.
FORECAST_COLUMNS = ("horizon", *FORECAST_METHODS, *FORECAST_BOUNDS)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_run_id() -> str:
    """A fresh run id in the format of the output manifest's (eight hexadecimal digits)."""
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One run as the store keeps it; two records are equal when every field and every unit value is.

    ``units`` is indexed by ``unit_id`` and ``period`` (text; ``""`` for a run's one verdict per
    unit, a year or a label for a timeline's or a forecast's) and has the columns of
    :data:`UNIT_COLUMNS`: ``position`` (the row's place in the run), the text columns as pandas
    strings, ``annual_rate`` as float64 and ``detail`` as a dict of JSON values per row.

    ``forecasts`` and ``watchlist`` hold a forecast's numbers (empty for other kinds): ``forecasts`` is
    indexed by ``unit_id`` (text) and ``year`` (the target year, int64), sorted by both, with the columns of
    :data:`FORECAST_COLUMNS`; ``watchlist`` is indexed by ``rank`` (1 first, int64) with ``unit_id`` and
    ``probability``.
    """

    run_id: str
    kind: str
    created: _dt.datetime
    software_version: str
    dataset_id: str
    dataset_title: str
    dataset_fingerprint: str
    source_files: tuple[str, ...]
    standard_id: str
    standard_version: str
    standard_source: str
    parameters: dict[str, Any]
    options: dict[str, Any]
    units: pd.DataFrame = field(repr=False)
    forecasts: pd.DataFrame | None = field(default=None, repr=False)
    watchlist: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise OptionError(f"run kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if not _RUN_ID.match(self.run_id):
            raise OptionError(f"run id {self.run_id!r}: expected 1-64 letters, digits, '.', '_' or '-'")
        if self.created.tzinfo is None:
            raise OptionError("run time: expected a time with a time zone (UTC)")
        object.__setattr__(self, "created", self.created.astimezone(_dt.timezone.utc))
        object.__setattr__(self, "source_files", tuple(str(f) for f in self.source_files))
        object.__setattr__(self, "parameters", jsonable(dict(self.parameters)))
        object.__setattr__(self, "options", jsonable(dict(self.options)))
        object.__setattr__(self, "units", normalise_units(self.units))
        object.__setattr__(self, "forecasts", normalise_forecasts(self.forecasts))
        object.__setattr__(self, "watchlist", normalise_watchlist(self.watchlist))
        if self.kind != "forecast" and (len(self.forecasts) or len(self.watchlist)):  # type: ignore[arg-type]
            raise OptionError(f"run kind {self.kind!r}: only a forecast's record holds forecasts and a watchlist")

    def __eq__(self, other: object) -> bool:
        """Equal when every value is, with its JSON type: ``0`` is not ``0.0`` and ``True`` is not ``1``."""
        if not isinstance(other, RunRecord):
            return NotImplemented
        return (_canonical(self.header()) == _canonical(other.header())
                and self.units.drop(columns="detail").equals(other.units.drop(columns="detail"))
                and _frames_equal(self.forecasts, other.forecasts) and _frames_equal(self.watchlist, other.watchlist)
                and [_canonical(d) for d in self.units["detail"]] == [_canonical(d) for d in other.units["detail"]])

    __hash__ = None  # type: ignore[assignment]  # a record holds a DataFrame: not hashable

    def header(self) -> dict[str, Any]:
        """Every field but ``units``: the row of the store's ``runs`` table."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if name not in ("units", "forecasts", "watchlist")}

    @property
    def periods(self) -> list[str]:
        """The record's periods in order (``[""]`` for a run)."""
        return sorted(set(self.units.index.get_level_values("period")), key=period_key)

    def unit_table(self, period: str | None = None) -> pd.DataFrame:
        """The units of one period (default: the last) as one flat table indexed by ``unit_id``: the
        columns of ``units`` without ``position`` and ``detail``, then the detail values as columns."""
        chosen = self.periods[-1] if period is None and len(self.units) else period
        rows = self.units.xs(chosen, level="period") if len(self.units) else self.units.droplevel("period")
        detail = pd.DataFrame(list(rows["detail"]), index=rows.index, dtype=object)  # JSON values as they are
        return pd.concat([rows.drop(columns=["position", "detail"]), detail], axis=1)


def _frames_equal(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
    assert a is not None and b is not None  # normalised: never None
    return a.index.equals(b.index) and a.index.names == b.index.names and a.equals(b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def period_key(period: str) -> tuple[int, float, str]:
    """Periods sort as numbers where they are numbers (``"2005"`` before ``"2010"``), else as text."""
    try:
        return (0, float(period), period)
    except ValueError:
        return (1, 0.0, period)


def normalise_units(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` with the store's index, columns and dtypes (what :class:`RunRecord` holds and reads back)."""
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing or list(units.index.names) != ["unit_id", "period"]:
        raise DataError(f"run record units: expected the index (unit_id, period) and the columns "
                        f"{', '.join(UNIT_COLUMNS)}; missing {', '.join(missing) or 'the index'}")
    out = pd.DataFrame(index=pd.MultiIndex.from_arrays(
        [units.index.get_level_values(0).astype(str), units.index.get_level_values(1).astype(str)],
        names=["unit_id", "period"]))
    ids = pd.Series(out.index.get_level_values(0), dtype="string")
    if ids.str.contains("\x00", regex=False).any():
        raise DataError("run record: a unit id holds a NUL character; remove it from the data before recording")
    out["position"] = units["position"].to_numpy(dtype=np.int64)
    for column in TEXT_COLUMNS:
        text = pd.Series(units[column].to_numpy(dtype=object), index=out.index, dtype="string")
        nul = text.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        if nul.any():  # PostgreSQL text cannot hold it, and no ingested name has one (control characters go)
            raise DataError(f"run record: the {column} of unit {out.index[nul][0][0]!r} holds a NUL character; "
                            "remove it from the data before recording the run")
        out[column] = text
    out["annual_rate"] = pd.to_numeric(units["annual_rate"], errors="coerce").to_numpy(dtype=np.float64)
    out["detail"] = pd.Series(list(units["detail"]), index=out.index, dtype=object)
    out = out[list(UNIT_COLUMNS)]
    duplicated = out.index.duplicated()
    if duplicated.any():
        unit, period = out.index[duplicated][0]
        raise DataError(f"run record units: unit {unit!r} appears twice in period {period!r}")
    return out


def normalise_forecasts(forecasts: pd.DataFrame | None) -> pd.DataFrame:
    """A forecast table with the store's index (``unit_id`` text, ``year`` int64), columns and dtypes; None is
    the empty table of a record that is not a forecast's."""
    if forecasts is None:
        forecasts = pd.DataFrame(columns=list(FORECAST_COLUMNS), index=pd.MultiIndex.from_arrays(
            [np.array([], dtype=object), np.array([], dtype=np.int64)], names=["unit_id", "year"]))
    missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns]
    if missing or list(forecasts.index.names) != ["unit_id", "year"]:
        raise DataError(f"run record forecasts: expected the index (unit_id, year) and the columns "
                        f"{', '.join(FORECAST_COLUMNS)}; missing {', '.join(missing) or 'the index'}")
    years = pd.to_numeric(pd.Series(forecasts.index.get_level_values(1)), errors="coerce")
    if years.isna().any() or (years != years.round()).any():
        raise DataError("run record forecasts: every target year must be a whole number")
    index = pd.MultiIndex.from_arrays([forecasts.index.get_level_values(0).astype(str).astype(object),
                                       years.to_numpy(dtype=np.int64)], names=["unit_id", "year"])
    out = pd.DataFrame(index=index)
    horizon = pd.to_numeric(forecasts["horizon"], errors="coerce")
    if horizon.isna().any():
        raise DataError("run record forecasts: every row needs its horizon (years ahead)")
    out["horizon"] = horizon.to_numpy(dtype=np.int64)
    for column in FORECAST_COLUMNS[1:]:
        out[column] = pd.to_numeric(forecasts[column], errors="coerce").to_numpy(dtype=np.float64)
    duplicated = out.index.duplicated()
    if duplicated.any():
        unit, year = out.index[duplicated][0]
        raise DataError(f"run record forecasts: unit {unit!r} has two forecasts for {year}")
    return out.sort_index(kind="stable")  # a keyed table: by unit id (as Python orders text) and year


def normalise_watchlist(watchlist: pd.DataFrame | None) -> pd.DataFrame:
    """A watchlist indexed by ``rank`` (int64) with ``unit_id`` (text) and ``probability`` (float64); None is the
    empty watchlist."""
    if watchlist is None:
        watchlist = pd.DataFrame({"unit_id": [], "probability": []}, index=pd.Index([], name="rank"))
    if "unit_id" not in watchlist.columns or "probability" not in watchlist.columns or watchlist.index.name != "rank":
        raise DataError("run record watchlist: expected the index rank and the columns unit_id, probability")
    out = pd.DataFrame({"unit_id": watchlist["unit_id"].astype(str).to_numpy(dtype=object),
                        "probability": pd.to_numeric(watchlist["probability"], errors="coerce").to_numpy(np.float64)},
                       index=pd.Index(watchlist.index.to_numpy(dtype=np.int64), name="rank"))
    if out.index.duplicated().any():
        raise DataError(f"run record watchlist: rank {out.index[out.index.duplicated()][0]} appears twice")
    return out


def _json_column(values: pd.Series) -> list[Any]:
    """A column as JSON values, missing and non-finite numbers as None (vectorised per column)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return [None if v is pd.NA else bool(v) for v in values.astype(object)]
    if pd.api.types.is_integer_dtype(values.dtype):
        data = values.astype("Int64")
        return [None if v is pd.NA else int(v) for v in data.astype(object)]
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        as_objects = numbers.astype(object)
        as_objects[~np.isfinite(numbers)] = None
        return as_objects.tolist()
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return [None if v is pd.NA or v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in values.astype(object)]
    return [jsonable(None if _missing(v) else v) for v in values.astype(object)]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def unit_rows(table: pd.DataFrame, period: str = "", start: int = 0) -> pd.DataFrame:
    """One period's units for a record, from a table indexed by ``unit_id`` with a ``status`` column
    (an :class:`~shrinkwatch.core.Identification` table, a timeline year's or a forecast's table).

    Columns of :data:`TEXT_COLUMNS` and ``annual_rate`` are taken as they are (missing ones stay
    empty), ``geometry`` is left out, and every other column goes into each row's ``detail``.
    ``start`` is the position of the first row (periods after the first continue the count).
    """
    if "status" not in table.columns:
        raise DataError("run record: the unit table has no 'status' column")
    table = table.drop(columns=["geometry"], errors="ignore")
    index = pd.MultiIndex.from_arrays([table.index.astype(str), np.full(len(table), str(period), dtype=object)],
                                      names=["unit_id", "period"])
    rows = pd.DataFrame(index=index)
    rows["position"] = np.arange(start, start + len(table), dtype=np.int64)
    for column in TEXT_COLUMNS:
        rows[column] = (_json_column(table[column]) if column in table.columns else [None] * len(table))
    rows["annual_rate"] = (pd.to_numeric(table["annual_rate"], errors="coerce").to_numpy(dtype=np.float64)
                           if "annual_rate" in table.columns else np.nan)
    rest = [c for c in table.columns if c not in TEXT_COLUMNS and c != "annual_rate"]
    columns = [_json_column(table[c]) for c in rest]
    names = [str(c) for c in rest]
    rows["detail"] = pd.Series([dict(zip(names, values)) for values in zip(*columns)] if rest
                               else [{} for _ in range(len(table))], index=index, dtype=object)
    return rows[list(UNIT_COLUMNS)]


def timeline_periods(timeline: Timeline, panel: Panel) -> dict[str, pd.DataFrame]:
    """A :class:`~shrinkwatch.identification.timeline.Timeline` as ``build_record`` results: one unit table per
    as-of year (name, parent, region and the status as of that year)."""
    units = panel.units.reindex(timeline.status.index)
    base = pd.DataFrame({column: units[column] for column in ("name", "parent_id", "parent_name", "region")
                         if column in units.columns}, index=timeline.status.index)
    return {str(year): base.assign(status=timeline.status[year].astype(str)) for year in timeline.years}


#: A forecast's "status now" words (:class:`~shrinkwatch.forecast.ForecastResult`) as the store's statuses.
_STATUS_NOW = {"shrinking": "shrinking", "not shrinking": "not_shrinking", "insufficient data": "insufficient_data"}


def forecast_parts(result: ForecastResult, panel: Panel) -> dict[str, Any]:
    """A :class:`~shrinkwatch.forecast.ForecastResult` as ``build_record`` arguments (``results``, ``forecasts``,
    ``watchlist``, ``parameters`` and ``options``): one unit row per unit for the origin year (its status then
    and, in ``detail``, the population at the origin, the combined forecast at the horizon, the interval and the
    probability of meeting the standard by then), every method's forecast per unit and target year, and the
    watchlist by rank."""
    table = result.units.copy()
    status = table.pop("status_now").map(_STATUS_NOW)
    if status.isna().any():
        raise DataError(f"forecast record: unknown status {result.units['status_now'][status.isna()].iloc[0]!r}")
    units = panel.units.reindex(table.index)
    for column in ("parent_id", "region"):
        if column in units.columns and column not in table.columns:
            table[column] = units[column]
    table.insert(0, "status", status)
    paths = result.paths
    forecasts = pd.DataFrame({column: paths[column] for column in FORECAST_METHODS + FORECAST_BOUNDS})
    forecasts.insert(0, "horizon", paths["year"].to_numpy(dtype=np.int64) - int(result.origin_year))
    forecasts.index = pd.MultiIndex.from_arrays([paths["unit_id"].astype(str), paths["year"].astype(np.int64)],
                                                names=["unit_id", "year"])
    watch = result.watchlist
    watchlist = pd.DataFrame({"unit_id": watch.index.astype(str), "probability": watch["probability"].to_numpy()},
                             index=pd.Index(np.arange(1, len(watch) + 1, dtype=np.int64), name="rank"))
    skill = [] if result.skill is None else jsonable(result.skill.to_dict(orient="records"))
    return {
        "results": {str(result.origin_year): table},
        "forecasts": forecasts,
        "watchlist": watchlist,
        "parameters": dict(result.parameters),
        "options": {"origin_year": int(result.origin_year), "horizon": int(result.horizon), "level": float(result.level),
                    "draws": int(result.draws), "seed": int(result.seed), "methods": list(FORECAST_METHODS), "beats_baselines": bool(result.beats_baselines),
                    "skill": skill, "notes": list(result.notes)},
    }


def build_record(
    *,
    kind: str,
    panel: Panel,
    results: Identification | pd.DataFrame | Mapping[str, Identification | pd.DataFrame],
    standard: Standard | None = None,
    parameters: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    options: Mapping[str, Any] | None = None,
    created: _dt.datetime | None = None,
    forecasts: pd.DataFrame | None = None,
    watchlist: pd.DataFrame | None = None,
) -> RunRecord:
    """The record of one run, from the objects the pipeline already has.

    ``results`` is the run's :class:`~shrinkwatch.core.Identification` (``kind="run"``), or a mapping
    of period (a year, or a label) to an Identification or a unit table with a ``status`` column
    (``timeline``, ``forecast``). The standard's id, source and parameters come from the first
    Identification (``parameters`` overrides them); its version from ``standard``. ``run_id`` is
    the output manifest's when the run wrote files, else a new one. ``forecasts`` and ``watchlist`` are a
    forecast's tables (:func:`forecast_parts` gives them with the rest).
    """
    periods: Mapping[str, Identification | pd.DataFrame] = (
        {"": results} if isinstance(results, (Identification, pd.DataFrame)) else results)
    if not periods:
        raise DataError("run record: no results to record")
    frames, start = [], 0
    for period, result in periods.items():
        table = result.table if isinstance(result, Identification) else result
        frames.append(unit_rows(table, str(period), start))
        start += len(table)
    first = next((r for r in periods.values() if isinstance(r, Identification)), None)
    return RunRecord(
        run_id=run_id or new_run_id(),
        kind=kind,
        created=created or _dt.datetime.now(_dt.timezone.utc),
        software_version=software_version(),
        dataset_id=panel.id,
        dataset_title=panel.meta.title or "",
        dataset_fingerprint=panel_fingerprint(panel),
        source_files=tuple(panel.meta.source_files),
        standard_id=first.standard_id if first is not None else (standard.id if standard is not None else ""),
        standard_version=standard.version if standard is not None else "",
        standard_source=first.standard_source if first is not None else (standard.source if standard else ""),
        parameters=dict(parameters if parameters is not None else (first.parameters if first is not None else {})),
        options=dict(options or {}),
        units=pd.concat(frames) if len(frames) > 1 else frames[0],
        forecasts=forecasts,
        watchlist=watchlist,
    )
