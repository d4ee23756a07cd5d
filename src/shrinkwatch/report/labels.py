"""How the report names things: the units in words, and places with their English names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from shrinkwatch.core import Identification, Panel, PanelMeta
from shrinkwatch.core.errors import ShrinkWatchError
from shrinkwatch.identification.catalogue import load_standard
from shrinkwatch.identification.schema import Standard

__all__ = ["unit_label", "parent_labels", "display_names", "parent_display", "not_assessed_sentence",
           "not_assessed", "NotAssessed"]


def unit_label(panel_meta: PanelMeta) -> str:
    """A short plural noun for the units ("prefecture-level units", "counties", ...)."""
    return str(panel_meta.unit_label or {
        "cn-prefecture-census": "prefecture-level units",
        "cn-county-census": "county-level units",
        "us-county-est": "counties",
        "world-wup2018": "urban agglomerations",
    }.get(panel_meta.id, "units"))


def parent_labels(panel: Panel) -> dict[str, str]:
    """Parent name -> name with its English form (黑龙江省 -> 黑龙江省 Heilongjiang) where the panel has one.

    Examples
    --------
    >>> units = pd.DataFrame({"parent_name": ["黑龙江省", "Texas"], "parent_name_en": ["Heilongjiang", "Texas"]},
    ...                      index=pd.Index(["230100", "48001"], name="unit_id"))
    >>> parent_labels(Panel(units, pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["unit_id", "year"]))))
    {'黑龙江省': '黑龙江省 Heilongjiang', 'Texas': 'Texas'}
    """
    units = panel.units
    if "parent_name_en" not in units.columns or "parent_name" not in units.columns:
        return {}
    pairs = units[["parent_name", "parent_name_en"]].dropna().astype(str).drop_duplicates("parent_name")
    return {a: (a if a == b or not b else f"{a} {b}") for a, b in pairs.itertuples(index=False)}


def display_names(table: pd.DataFrame, panel: Panel) -> pd.Series:
    """Each unit's ``name``, followed by its English name where the panel has a different one."""
    name = table["name"].astype("string").fillna("")
    if "name_en" in panel.units.columns:
        english = panel.units["name_en"].reindex(table.index).astype("string")
        name = name.where(english.isna() | (english == name), name + " " + english.fillna(""))
    return name


def parent_display(table: pd.DataFrame, panel: Panel) -> pd.Series:
    """Each unit's ``parent_name`` (``(none)`` when missing), followed by its English name where there is one."""
    parent = table["parent_name"].astype("string").fillna("(none)")
    if "parent_name_en" in panel.units.columns:
        english = panel.units["parent_name_en"].reindex(table.index).astype("string").fillna("")
        parent = parent.where(english == "", parent + " " + english)
    return parent


@dataclass(frozen=True)
class NotAssessed:
    """A criterion no unit could be judged on: ``set_aside`` when the verdicts were given without it (the rule
    allows that when the panel has none of its data), with the units with a verdict that it would decide;
    otherwise the units that depend on it are insufficient data. ``remedy`` says what to do."""

    criterion: str
    label: str
    set_aside: bool
    units_it_would_decide: int | None
    remedy: str

    def as_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "label": self.label,
                "verdicts": "given without it" if self.set_aside else "insufficient data where it is needed",
                "units_it_would_decide": self.units_it_would_decide, "remedy": self.remedy}

    def sentence(self, units_with_data: int, standard_id: str) -> str:
        named = f"{self.criterion} ({self.label})" if self.label else self.criterion
        if self.set_aside:
            said = (f"the dataset has none of its data, so the verdicts rest on the other criteria; it would decide "
                    f"{self.units_it_would_decide:,} of the {units_with_data:,} units with a verdict")
        else:
            said = "the dataset lacks what it needs, so units that depend on it are insufficient data"
        remedy = self.remedy or (f"add the data, or choose settings that do not need it "
                                 f"(`shrinkwatch standards show {standard_id}` lists them)")
        return f"Not assessed for any unit: {named}: {said}. To assess it: {remedy}."


def not_assessed(identification: Identification, standard: Standard | None) -> list[NotAssessed]:
    """The criteria no unit could be judged on (:meth:`Identification.criteria_not_assessed`), with their labels,
    what the verdicts did without them and the standard's remedy (``standard`` default: the identification's)."""
    missing = identification.criteria_not_assessed()
    if missing and standard is None:
        try:  # the standard the identification was made with, for its labels and remedies
            standard = load_standard(identification.standard_source or identification.standard_id)
        except ShrinkWatchError:
            standard = None
    out = []
    for criterion in missing:
        spec = standard.criteria.get(criterion) if standard is not None else None
        decides = identification.criteria_set_aside.get(criterion)
        out.append(NotAssessed(criterion=criterion, label=spec.label if spec else "", set_aside=decides is not None,
                               units_it_would_decide=decides, remedy=spec.remedy if spec else ""))
    return out


def not_assessed_sentence(identification: Identification, standard: Standard) -> str:
    """Sentences naming the criteria no unit could be judged on, what the verdicts did without them and what to do;
    empty when there are none.

    Examples
    --------
    >>> from shrinkwatch.identification import load_standard
    >>> table = pd.DataFrame({"status": ["insufficient_data"], "population_pass": [True],
    ...                       "gdp_pass": [True], "land_pass": pd.array([pd.NA], dtype="boolean")},
    ...                      index=pd.Index(["a"], name="unit_id"))
    >>> ident = Identification(table, "cn-2025", {}, {}, criteria=("population", "gdp", "land"))
    >>> not_assessed_sentence(ident, load_standard("cn-2025")).split(":")[1]
    ' land (land-population elasticity (built-up area vs population))'
    """
    with_data = identification.counts()["units_with_data"]
    return "".join(" " + item.sentence(with_data, standard.id) for item in not_assessed(identification, standard))
