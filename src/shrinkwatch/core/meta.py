"""What a panel says about itself: :class:`PanelMeta`, the typed ``Panel.meta``.

Every field is one the code reads (or a provenance record the tests check);
adapters fill the fields they know and leave the others at their defaults.
Updates make a new object: ``dataclasses.replace(panel.meta, vintage=2020)``.

For panels built by hand, :meth:`PanelMeta.from_dict` turns a plain mapping
into a PanelMeta and names any key that is not a field; ``Panel(units, values,
{"id": "toy"})`` goes through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shrinkwatch.core.errors import DataError

__all__ = ["PanelMeta", "Basemap", "BREAK_COLUMNS", "RETIRED_META_KEYS"]

#: Columns of a boundary-break table (``PanelMeta.boundary_breaks``).
BREAK_COLUMNS = ("unit_id", "year", "treatment")

#: Keys that earlier versions wrote into ``Panel.meta`` and no code ever read; panel files that
#: still carry them are read without them (see :meth:`PanelMeta.from_dict`).
RETIRED_META_KEYS = frozenset({
    "encodings", "estimate_years", "projection_years", "unit_id_scheme", "header_row", "footnotes",
    "reference_date", "parent_totals_match_units", "level",
})

# fields holding a sequence, stored as tuples so a frozen PanelMeta is not changed through them
_TUPLE_FIELDS = ("source_files", "census_years", "notes", "notes_zh", "extra_sources", "geometry_missing")
# fields holding a table, stored as DataFrames (records, as after a JSON round trip, are converted)
FRAME_FIELDS = ("boundary_breaks", "harmonization", "harmonization_notes", "matching", "territory_links",
                "former_units")


@dataclass(frozen=True)
class Basemap:
    """Outlines drawn under a report's maps (never analysed)."""

    #: path of a vector file readable by pyogrio
    path: str
    #: layer of the file (None: the first)
    layer: str | None = None
    #: a line layer drawn with the outlines (None: none); China: the maritime boundary of the South China Sea
    lines: str | None = None


@dataclass(frozen=True, eq=False)
class PanelMeta:
    """Provenance and reading instructions of a :class:`~shrinkwatch.core.Panel`.

    Examples
    --------
    >>> meta = PanelMeta.from_dict({"id": "toy", "units_of": {"pop_resident": "persons"}})
    >>> meta.id, meta.language, meta.units_of["pop_resident"]
    ('toy', 'en', 'persons')
    >>> PanelMeta.from_dict({"id": "toy", "colour": "red"})
    Traceback (most recent call last):
    ...
    shrinkwatch.core.errors.DataError: panel meta: unknown key(s) ['colour']; known keys: ...
    """

    # ---- provenance (from the registry: Dataset.source_meta)
    #: dataset id (``cn-prefecture-census``) or a name for a hand-made panel
    id: str = "panel"
    #: human title of the dataset
    title: str = ""
    #: the files read, as paths
    source_files: tuple[str, ...] = ()
    #: licence of the source
    licence: str = ""
    #: how to cite the source
    citation: str = ""
    #: where the publisher offers the data
    publisher_url: str = ""
    #: what one unit is (e.g. "prefecture-level city, 2020 boundaries")
    unit_definition: str = ""
    #: further sources (outlines, coordinates): dicts with id, licence, citation, publisher_url
    extra_sources: tuple[Mapping[str, str], ...] = ()

    # ---- how to read the panel
    #: language of unit names and of the report: "en" or "zh"
    language: str = "en"
    #: country of the units ("China", "United States", "World"), or None
    country: str | None = None
    #: boundary vintage (year) the unit ids refer to, or None when unknown
    vintage: int | None = None
    #: unit of each indicator ("persons", "percent", ...)
    units_of: Mapping[str, str] = field(default_factory=dict)
    #: first year whose values are projections (excluded from observed years), or None
    projected_from: int | None = None
    #: census years of a census panel (identification compares census to census), or ()
    census_years: tuple[int, ...] = ()
    #: plural noun for the units in reports ("counties"); None: from the dataset id
    unit_label: str | None = None
    #: noun for the parent units in reports ("state", "prefecture"); None: from the country
    parent_label: str | None = None
    #: national (or other reference) series by indicator and year, for relative criteria
    benchmark: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    #: parent totals by indicator, parent id and year (US states)
    parent_totals: Mapping[str, Mapping[str, Mapping[int, float]]] = field(default_factory=dict)
    #: outlines drawn under the report's maps, or None
    basemap: Basemap | None = None
    #: notes shown in the report, one sentence or paragraph each
    notes: tuple[str, ...] = ()
    #: the same notes in Chinese, for a report in Chinese (empty: the dataset's notes are in English only)
    notes_zh: tuple[str, ...] = ()

    # ---- boundaries and harmonisation
    #: boundary breaks: a table with BREAK_COLUMNS (unit_id, year, treatment), or None (no known breaks)
    boundary_breaks: pd.DataFrame | None = None
    #: harmonize_panel's mapping, one row per original unit (old_id, new_id, relation, action, ...), or None
    harmonization: pd.DataFrame | None = None
    #: harmonize_panel's notes on values of merged units that could not be combined, or None
    harmonization_notes: pd.DataFrame | None = None
    #: how every unit was matched across censuses (cn-county-census), or None
    matching: pd.DataFrame | None = None
    #: counts and rates of that matching (cn-county-census), or None
    match_summary: Mapping[str, float] | None = None
    #: the change graph for comparing on stable geography: unit_id, other_id, year, kind (two units, or a
    #: unit and a former unit, that exchanged territory in ``year``; see shrinkwatch.harmonize.clusters), or None
    territory_links: pd.DataFrame | None = None
    #: values of former units (past territories in no panel unit's series, e.g. a 2010 county later split),
    #: long: unit_id, name, year and indicator columns; counted in the stable clusters they are linked to
    former_units: pd.DataFrame | None = None

    # ---- checks made while reading the source
    #: units without a usable geometry: dicts with unit_id, name, reason
    geometry_missing: tuple[Mapping[str, str], ...] = ()
    #: text encoding the source file was read with, or None
    encoding: str | None = None
    #: line endings of the source file ("CR", "LF", "CRLF"), or None
    line_endings: str | None = None
    #: result of the demographic components identity check (us-county-estimates), or None
    components_identity: Mapping[str, Any] | None = None
    #: how the boundary file matched the units (us-county-estimates), or None
    boundaries: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise DataError(f"panel meta: {name} must be a list or tuple, got {type(value).__name__}")
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in FRAME_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):  # records, as after a round trip through JSON
                value = pd.DataFrame(value)
                object.__setattr__(self, name, value)
            if value is not None and not isinstance(value, pd.DataFrame):
                raise DataError(f"panel meta: {name} must be a DataFrame (or list of records), "
                                f"got {type(value).__name__}")
        breaks = self.boundary_breaks
        if breaks is not None and len(breaks.columns) and not {"unit_id", "year"} <= set(breaks.columns):
            raise DataError("panel meta: boundary_breaks must have the columns unit_id, year, treatment; "
                            f"got {list(breaks.columns)}")
        links = self.territory_links
        if links is not None and len(links.columns) and not {"unit_id", "other_id", "year", "kind"} <= set(links.columns):
            raise DataError("panel meta: territory_links must have the columns unit_id, other_id, year, kind; "
                            f"got {list(links.columns)}")
        former = self.former_units
        if former is not None and len(former.columns) and not {"unit_id", "year"} <= set(former.columns):
            raise DataError("panel meta: former_units must have the columns unit_id, year and indicator columns; "
                            f"got {list(former.columns)}")
        if isinstance(self.basemap, Mapping):
            object.__setattr__(self, "basemap", Basemap(str(self.basemap["path"]), self.basemap.get("layer"),
                                                         self.basemap.get("lines")))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of all fields, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PanelMeta:
        """A PanelMeta from a mapping of field names to values.

        Keys in :data:`RETIRED_META_KEYS` (written by earlier versions, read by
        nothing) are dropped; any other key that is not a field raises.

        Raises
        ------
        DataError
            A key is not a field of PanelMeta, or a value has the wrong shape.
        """
        known = set(cls.field_names())
        unknown = sorted(str(key) for key in data if key not in known and key not in RETIRED_META_KEYS)
        if unknown:
            raise DataError(f"panel meta: unknown key(s) {unknown}; known keys: {', '.join(cls.field_names())}")
        return cls(**{key: value for key, value in data.items() if key in known})

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain value (a Basemap as a dict; tables stay DataFrames)."""
        out = {name: getattr(self, name) for name in self.field_names()}
        if self.basemap is not None:
            out["basemap"] = dataclasses.asdict(self.basemap)
        return out
