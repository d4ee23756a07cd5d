"""How the report names things: the units in words, and places with their English names."""

from __future__ import annotations

import pandas as pd

from shrinkwatch.core import Panel, PanelMeta

__all__ = ["unit_label", "parent_labels", "display_names", "parent_display"]


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
