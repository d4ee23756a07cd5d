"""How the report names things: the units in words, and places with their English names."""

from __future__ import annotations

import pandas as pd

from shrinkwatch.core import Identification, Panel, PanelMeta
from shrinkwatch.identification.schema import Standard

__all__ = ["unit_label", "parent_labels", "display_names", "parent_display", "not_assessed_sentence"]


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


def not_assessed_sentence(identification: Identification, standard: Standard) -> str:
    """A sentence naming the criteria no unit could be judged on, and what to do; empty when there are none.

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
    missing = identification.criteria_not_assessed()
    if not missing:
        return ""
    names = ", ".join(f"{c} ({standard.criteria[c].label})" if c in standard.criteria else c for c in missing)
    return (f" Not assessed for any unit: {names}: the dataset lacks what {'it needs' if len(missing) == 1 else 'they need'}"
            f", so units that depend on {'it' if len(missing) == 1 else 'them'} are insufficient data. Add the data, "
            f"or choose settings that do not need {'it' if len(missing) == 1 else 'them'} "
            f"(`shrinkwatch standards show {standard.id}` lists them).")
