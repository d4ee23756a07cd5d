"""Core types: :class:`Panel` and :class:`Identification`.

Both are frozen dataclasses around plain pandas objects, so every stage of the
pipeline takes plain data and returns plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.meta import PanelMeta

__all__ = ["Panel", "Identification", "UNIT_COLUMNS", "STATUSES", "NO_VERDICT"]

#: Columns every ``Panel.units`` table carries (``geometry`` is optional).
UNIT_COLUMNS = ("name", "name_en", "parent_id", "parent_name", "kind", "region", "country")

#: The statuses of an identification. ``insufficient_data`` and ``boundary_change``
#: (the compared years cover different territories) carry no verdict and are
#: never counted as not shrinking.
STATUSES = ("shrinking", "not_shrinking", "insufficient_data", "boundary_change")
NO_VERDICT = ("insufficient_data", "boundary_change")


@dataclass(frozen=True)
class Panel:
    """Units observed over years.

    Parameters
    ----------
    units
        DataFrame or GeoDataFrame indexed by ``unit_id`` with the columns in
        :data:`UNIT_COLUMNS` and optionally ``geometry``.
    values
        DataFrame indexed by ``(unit_id, year)``, one float column per canonical
        indicator (``pop_resident``, ``pop_urban``, ...).
    meta
        A :class:`~shrinkwatch.core.meta.PanelMeta`: source, licence, citation,
        vintage, the unit of each indicator, notes, boundary breaks and
        ``projected_from`` (first projected year) where a source projects.
        Omitted: a default PanelMeta. A plain dict is accepted for panels
        built by hand and converted with :meth:`PanelMeta.from_dict`, which
        rejects keys that are not fields (``{"id": "toy"}`` works,
        ``{"colour": "red"}`` raises :class:`DataError`).
    ledger
        The :class:`~shrinkwatch.core.ledger.Ledger` of the rows read to build the
        panel (empty for a panel built by hand).

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["a", "b"], name="unit_id"))
    >>> idx = pd.MultiIndex.from_product([["a", "b"], [2010, 2020]], names=["unit_id", "year"])
    >>> values = pd.DataFrame({"pop_resident": [100.0, 90.0, 50.0, 60.0]}, index=idx)
    >>> p = Panel(units, values, {"id": "toy"})
    >>> p.years
    [2010, 2020]
    >>> p.wide("pop_resident").loc["a"].tolist()
    [100.0, 90.0]
    """

    units: pd.DataFrame
    values: pd.DataFrame
    meta: PanelMeta = field(default_factory=PanelMeta)
    ledger: Ledger = field(default_factory=Ledger)

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", _as_meta(self.meta))
        if self.units.index.name != "unit_id":
            raise DataError(f"Panel.units must be indexed by 'unit_id', got {self.units.index.name!r}")
        if list(self.values.index.names) != ["unit_id", "year"]:
            raise DataError(
                f"Panel.values must be indexed by ('unit_id', 'year'), got {list(self.values.index.names)}"
            )
        if self.units.index.has_duplicates:
            dup = self.units.index[self.units.index.duplicated()].unique().tolist()[:5]
            raise DataError(f"Panel.units has duplicate unit_id values: {dup}")
        missing = [column for column in UNIT_COLUMNS if column not in self.units.columns]
        if missing:  # a copy with the missing columns, never a change to the caller's table
            object.__setattr__(self, "units", self.units.assign(**{column: pd.NA for column in missing}))

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.values.index.get_level_values("year").unique())

    @property
    def indicators(self) -> list[str]:
        return list(self.values.columns)

    @property
    def observed_years(self) -> list[int]:
        """Years with observed (not projected) data."""
        first_projected = self.meta.projected_from
        if first_projected is None:
            return self.years
        return [y for y in self.years if y < int(first_projected)]

    @property
    def language(self) -> str:
        return self.meta.language

    def wide(self, indicator: str, years: list[int] | None = None) -> pd.DataFrame:
        """One indicator as a units x years frame, aligned to ``units.index``.

        Units or years without a value are NaN, never dropped.
        """
        if indicator not in self.values.columns:
            raise DataError(
                f"indicator {indicator!r} is not in panel {self.id!r}; it has: {', '.join(self.indicators)}"
            )
        table = self.values[indicator].unstack("year")
        table = table.reindex(index=self.units.index, columns=years if years is not None else self.years)
        table.columns = table.columns.astype(int)
        return table.astype(float)

    def matrix(self, indicator: str, years: list[int] | None = None) -> np.ndarray:
        """Like :meth:`wide` but a float64 ndarray (units x years)."""
        return self.wide(indicator, years).to_numpy(dtype=np.float64)

    @classmethod
    def from_series(
        cls,
        series: Mapping[str, Sequence[float]],
        years: Sequence[int],
        indicator: str = "pop_resident",
        units: pd.DataFrame | None = None,
        **meta: Any,
    ) -> Panel:
        """A panel from one series per unit: the shortest way to build a hand-made case.

        Parameters
        ----------
        series
            ``{unit_id: values}``, one value per year in ``years`` (NaN for a gap).
        years
            The years the values belong to.
        indicator
            The canonical indicator the values are (default ``pop_resident``).
        units
            Optional unit table indexed by ``unit_id`` (names, parents, geometry, ...);
            by default each unit is named by its id.
        **meta
            Fields of :class:`PanelMeta` (``id``, ``units_of``, ...); a name that
            is not a field raises :class:`DataError`.

        Examples
        --------
        >>> panel = Panel.from_series({"a": [100, 90], "b": [50, 60]}, years=[2010, 2020], id="toy")
        >>> panel.id, panel.years, panel.wide("pop_resident").loc["b"].tolist()
        ('toy', [2010, 2020], [50.0, 60.0])
        """
        ids = [str(unit) for unit in series]
        matrix = np.asarray([np.asarray(values, dtype=np.float64) for values in series.values()])
        if matrix.ndim != 2 or matrix.shape[1] != len(years):
            raise DataError(f"Panel.from_series: every series needs one value per year ({len(years)} years)")
        index = pd.MultiIndex.from_product([ids, [int(y) for y in years]], names=["unit_id", "year"])
        values = pd.DataFrame({indicator: matrix.ravel()}, index=index)
        if units is None:
            units = pd.DataFrame({"name": ids}, index=pd.Index(ids, name="unit_id"))
        return cls(units, values, PanelMeta.from_dict(meta))


@dataclass(frozen=True)
class Identification:
    """The verdict of one standard on one panel: one row per unit.

    ``table`` is indexed by ``unit_id`` and carries ``name``, ``parent_name``,
    ``kind``, ``region``, ``status``, ``shrinking``, ``annual_rate``,
    ``severity``, ``reason`` and, for every criterion ``c``, ``c_value`` and
    ``c_pass``. ``panel_meta`` is the identified panel's :class:`PanelMeta`
    (a plain dict is converted as for :class:`Panel`).
    """

    table: pd.DataFrame
    standard_id: str
    parameters: dict[str, Any]
    panel_meta: PanelMeta
    criteria: tuple[str, ...] = ()
    description: str = ""
    #: path of the standard's TOML file (built-in or a user's), so the report can show it again
    standard_source: str = ""
    #: what the engine decided for the user and the report must say (a substitute indicator...)
    notes: tuple[str, ...] = ()
    #: criteria the verdicts were given without, because the panel has none of their data (e.g. cn-2025's land
    #: criterion without built-up area), each with the number of units with a verdict that it would decide
    criteria_set_aside: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "panel_meta", _as_meta(self.panel_meta))

    def __len__(self) -> int:
        return len(self.table)

    @property
    def shrinking(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "shrinking"]

    @property
    def insufficient(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "insufficient_data"]

    @property
    def boundary_changes(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "boundary_change"]

    def counts(self) -> dict[str, int]:
        """Units total, with data (a verdict), shrinking, not shrinking, insufficient data, boundary change."""
        status = self.table["status"]
        return {
            "units_total": int(len(status)),
            "units_with_data": int(status.isin(["shrinking", "not_shrinking"]).sum()),
            "shrinking": int((status == "shrinking").sum()),
            "not_shrinking": int((status == "not_shrinking").sum()),
            "insufficient_data": int((status == "insufficient_data").sum()),
            "boundary_change": int((status == "boundary_change").sum()),
        }

    def criteria_not_assessed(self) -> list[str]:
        """The criteria no unit could be judged on (their ``c_pass`` is missing for every unit): the
        dataset lacks what they need, and every report names them next to the headline.

        Examples
        --------
        >>> table = pd.DataFrame({"status": ["insufficient_data"] * 2, "pop_pass": [True, False],
        ...                       "land_pass": pd.array([pd.NA, pd.NA], dtype="boolean")},
        ...                      index=pd.Index(["a", "b"], name="unit_id"))
        >>> Identification(table, "toy", {}, {}, criteria=("pop", "land")).criteria_not_assessed()
        ['land']
        """
        return [criterion for criterion in self.criteria
                if criterion in self.criteria_set_aside
                or (f"{criterion}_pass" in self.table.columns and len(self.table)
                    and bool(self.table[f"{criterion}_pass"].isna().all()))]

    def counts_by(self, column: str) -> pd.DataFrame:
        """Counts of each status by ``column`` (kind, parent_name, region...).

        Columns: ``units``, ``with_data``, ``shrinking``, ``not_shrinking``,
        ``insufficient_data``, ``boundary_change``, ``share_shrinking``
        (shrinking / with_data).
        """
        if column not in self.table.columns:
            raise DataError(f"cannot count by {column!r}: not a column of the identification")
        groups = self.table[column].astype("string").fillna("(none)")
        group_codes, group_names = pd.factorize(groups)
        status_codes = pd.Categorical(self.table["status"], categories=list(STATUSES)).codes
        if (status_codes < 0).any():
            raise DataError(f"unknown status values: {set(self.table['status']) - set(STATUSES)}")
        flat = np.bincount(group_codes * len(STATUSES) + status_codes, minlength=len(group_names) * len(STATUSES))
        table = pd.DataFrame(flat.reshape(len(group_names), len(STATUSES)), columns=list(STATUSES),
                             index=pd.Index(group_names, name=column))
        table.insert(0, "units", table.sum(axis=1))
        table.insert(1, "with_data", table["shrinking"] + table["not_shrinking"])
        table["share_shrinking"] = (table["shrinking"] / table["with_data"].where(table["with_data"] > 0)).round(4)
        table.index.name = column
        table.columns.name = None
        return table.sort_values(["shrinking", "units"], ascending=False)


def _as_meta(meta: PanelMeta | Mapping[str, Any] | None) -> PanelMeta:
    """``meta`` as a PanelMeta: a dict (a hand-made panel) through :meth:`PanelMeta.from_dict`."""
    if isinstance(meta, PanelMeta):
        return meta
    if meta is None:
        return PanelMeta()
    if isinstance(meta, Mapping):
        return PanelMeta.from_dict(meta)
    raise DataError(f"panel meta: expected a PanelMeta or a dict, got {type(meta).__name__}")
