"""Re-key a panel to one GB/T 2260 boundary vintage (:func:`harmonize_panel`).

Comparing a unit across years without lining its codes up to one *vintage*
mistakes a boundary change for growth or shrinkage. :func:`harmonize_panel`
maps every unit to its successor at the vintage through the code history
(:mod:`shrinkwatch.datasets.cn_codes`), sums merged units' counts and
population-weights their shares (a year in which a part has no value is missing,
never a partial sum), records every mapping and flags the breaks it cannot
resolve (splits, partial transfers) in ``panel.meta.boundary_breaks``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from shrinkwatch.core import Ledger, Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.messages import message
from shrinkwatch.core.meta import BREAK_COLUMNS
from shrinkwatch.datasets.cn_codes import (
    CodeHistory,
    checked_year,
    code_history,
    successor_at,
)
from shrinkwatch.datasets.cn_crosswalk import boundary_breaks

__all__ = ["harmonize_panel", "COUNT_INDICATORS", "SHARE_INDICATORS"]

#: Indicators that add up when units merge (persons, km2, money, counts).
COUNT_INDICATORS = frozenset({
    "pop_resident", "pop_registered", "pop_urban", "pop_rural", "pop_urban_district", "gdp",
    "builtup_km2", "employment", "fiscal_revenue", "births", "deaths", "net_migration", "ntl_sum",
    "households", "area_km2",
})
#: Indicators that are population-weighted means when units merge.
SHARE_INDICATORS = frozenset({
    "share_65plus", "share_0_14", "share_15_59", "share_15_64", "share_60plus", "sex_ratio",
    "household_size", "gdp_real_growth", "avg_wage", "housing_price", "birth_rate", "death_rate",
    "urbanization_rate",
})
_COUNT_UNITS = ("persons", "person", "km2", "yuan", "cny", "usd", "currency", "count", "households")


def _indicator_kind(indicator: str, units_of: Mapping[str, str]) -> str:
    unit = str(units_of.get(indicator, "")).lower()
    if indicator in SHARE_INDICATORS or indicator.startswith("share_") or unit in ("percent", "%", "ratio"):
        return "share"
    if indicator in COUNT_INDICATORS or indicator.startswith("pop_") or any(u in unit for u in _COUNT_UNITS):
        return "count"
    return "other"


def harmonize_panel(
    panel: Panel,
    vintage: int,
    *,
    source_year: int | None = None,
    weight: str | None = None,
    history: CodeHistory | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Panel:
    """Re-key every unit of a panel to its GB/T 2260 code at ``vintage``.

    - Renamed or recoded units (a county turned district) take the new code
      and name.
    - Units merged into one successor are combined: counts (persons, km2,
      money) are summed, shares population-weighted (by ``weight``, default
      ``pop_resident`` or ``pop_registered``). Harmonisation never invents
      change: a year in which any part that existed then has no value (no
      row, or a missing cell) gives a missing value, never a partial sum; a
      part counts in the year it was folded into a unit that already existed
      (莱芜市 into 济南市), since that year's figures may still report it on
      its own. Each such value is a row of ``meta.harmonization_notes``
      (``unit_id``, ``year``, ``indicator``, ``note``, ``missing_parts``),
      and the panel's ledger gets a tally and one warning per unit and reason.
      Other indicators of merged units are left missing.
    - Split units (several successors) and abolished units keep their old code:
      their values cannot be apportioned without inventing data; the
      successors of a split get a boundary break in the split year.
    - Unit ids that are not six-digit codes are kept unchanged.

    Every mapping is recorded in ``meta.harmonization`` (one row per
    original unit: ``old_id``, ``old_name``, ``new_id``, ``new_name``,
    ``relation``, ``change_years``, ``action``); unresolved boundary breaks
    are added to ``meta.boundary_breaks`` (see
    :func:`~shrinkwatch.harmonize.breaks.boundary_break_mask`).

    Parameters
    ----------
    panel
        Units keyed by GB/T 2260 codes (any vintage).
    vintage
        Target year.
    source_year
        Year in which the panel's codes are valid, if known (disambiguates
        reused codes).
    weight
        Count indicator used to weight shares of merged units.
    history
        A parsed code history (default: :func:`code_history`).
    data_dir
        Data directory.

    Returns
    -------
    Panel
        A new panel; the input is not modified.
    """
    history = history if history is not None else code_history(data_dir)
    vintage = checked_year(vintage, "vintage")
    units = panel.units
    ids = pd.Index(units.index.astype(str))
    mapping = successor_at(ids, vintage, source_year=source_year, history=history)
    first = mapping.drop_duplicates("position").set_index("position")
    relation = first["relation"].to_numpy()
    single = (first["n_successors"].to_numpy() == 1) & first["successor"].notna().to_numpy()
    new_id = np.where(single, first["successor"].to_numpy(dtype=object), ids.to_numpy(dtype=object))
    action = np.select(
        [~ids.str.fullmatch(r"\d{6}"), relation == "split", relation == "abolished", relation == "not_yet_valid",
         relation == "unknown_code", relation == "unchanged"],
        ["not_a_code_kept", "split_kept", "abolished_kept", "not_yet_valid_kept", "unknown_code_kept", "kept"],
        default="re-keyed")
    group_size = pd.Series(new_id).map(pd.Series(new_id).value_counts()).to_numpy()
    action = np.where((group_size > 1) & single, "merged_sum", action)

    ledger = pd.DataFrame({
        "old_id": ids.to_numpy(), "old_name": units["name"].to_numpy(), "new_id": new_id,
        "new_name": np.where(single, first["successor_name"].to_numpy(dtype=object), units["name"].to_numpy()),
        "relation": relation, "change_years": first["change_years"].to_numpy(),
        "successors": mapping.groupby("position")["successor"].agg(lambda s: ";".join(s.dropna())).to_numpy(),
        "action": action,
    })

    # values: re-key, then combine groups of several old units
    old_to_new = pd.Series(new_id, index=ids)
    units_of = panel.meta.units_of
    values = panel.values
    weight_column = weight or next((c for c in ("pop_resident", "pop_registered") if c in values.columns), None)
    combined, merge_notes = _combine(values, old_to_new, history, weight_column, units_of)

    # units: the successor's row if it was already a unit, else the first contributor
    order = pd.Series(np.arange(len(ids)), index=ids)
    keep_first = pd.DataFrame({"new_id": new_id, "self": new_id == ids.to_numpy(), "order": order.to_numpy()})
    chosen = keep_first.sort_values(["new_id", "self", "order"], ascending=[True, False, True])
    chosen = chosen.drop_duplicates("new_id")
    chosen = chosen.sort_values("order")
    new_units = units.iloc[chosen["order"].to_numpy()].copy()
    new_units.index = pd.Index(chosen["new_id"].to_numpy(), name="unit_id")
    names_now = ledger.drop_duplicates("new_id").set_index("new_id")["new_name"]
    new_units["name"] = names_now.reindex(new_units.index).to_numpy()
    predecessors = ledger.groupby("new_id")["old_id"].agg(";".join)
    new_units["harmonized_from"] = predecessors.reindex(new_units.index).to_numpy()
    new_units["merged"] = (ledger.groupby("new_id").size().reindex(new_units.index) > 1).to_numpy()
    combined = combined.reindex(index=combined.index[combined.index.get_level_values("unit_id").isin(new_units.index)])

    breaks = _panel_breaks(history, mapping, ids, new_id, vintage, panel.years)
    previous = panel.meta.boundary_breaks
    if previous is not None and len(previous):
        carried = previous.copy()
        carried["unit_id"] = old_to_new.reindex(carried["unit_id"].astype(str)).fillna(carried["unit_id"]).to_numpy()
        breaks = pd.concat([carried[list(BREAK_COLUMNS)], breaks], ignore_index=True)
    breaks = breaks.drop_duplicates().sort_values(["unit_id", "year"]).reset_index(drop=True)

    note = message("harmonize.panel_note.harmonised", "en", vintage=vintage, rekeyed=int((action == "re-keyed").sum()),
                   merged=int((action == "merged_sum").sum()),
                   into=int(pd.Series(new_id[action == "merged_sum"]).nunique()),
                   split=int((action == "split_kept").sum()), abolished=int((action == "abolished_kept").sum()))
    meta = replace(panel.meta, vintage=vintage, harmonization=ledger, harmonization_notes=merge_notes,
                   boundary_breaks=breaks, notes=(*panel.meta.notes, note))
    return Panel(units=new_units, values=combined.sort_index(), meta=meta,
                 ledger=_noted(panel.ledger, merge_notes, names_now,
                                 pd.Series(units["name"].to_numpy(), index=ids), vintage))


def _combine(values: pd.DataFrame, old_to_new: pd.Series, history: CodeHistory, weight: str | None,
             units_of: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Values re-keyed to the new ids; several old units on one new id are combined per year.

    A merged unit's value in a year needs a value from every part that existed
    in that year (:func:`_parts_expected`), whether or not the part has a row
    for it: otherwise the value is missing and a note says which parts lacked
    one. Counts are summed, shares weighted by ``weight``; other indicators are
    combined only when a single part existed.
    """
    old_level = values.index.get_level_values("unit_id").astype(str)
    year_level = values.index.get_level_values("year").to_numpy()
    # value rows of ids missing from panel.units keep their id
    extra = pd.Index(old_level.unique()).difference(old_to_new.index)
    mapping = pd.concat([old_to_new, pd.Series(extra.to_numpy(dtype=object), index=extra)])
    new_level = mapping.reindex(old_level).to_numpy()
    group_size = mapping.groupby(mapping.to_numpy()).size()
    merged_rows = (group_size.reindex(new_level).to_numpy() > 1)
    single = values[~merged_rows].copy()
    single.index = pd.MultiIndex.from_arrays([new_level[~merged_rows], year_level[~merged_rows]],
                                             names=["unit_id", "year"])
    note_columns = ["unit_id", "year", "indicator", "note", "missing_parts"]
    if not merged_rows.any():
        return single, pd.DataFrame(columns=note_columns)
    keyed = pd.MultiIndex.from_arrays([old_level, year_level], names=["unit_id", "year"])
    if keyed.has_duplicates:
        first = keyed[keyed.duplicated()][0]
        raise DataError(f"harmonise: panel values have more than one row for unit {first[0]!r} in {first[1]}")
    by_old = values.set_axis(keyed)

    # every (new unit, year) with a row from any part, crossed with all of that unit's parts
    keys = pd.DataFrame({"new_id": new_level[merged_rows], "year": year_level[merged_rows]}).drop_duplicates()
    members = pd.DataFrame({"old_id": mapping.index.to_numpy(dtype=object), "new_id": mapping.to_numpy()})
    grid = keys.merge(members, on="new_id").sort_values(["new_id", "year", "old_id"], kind="stable")
    years = grid["year"].to_numpy()
    expected_part = _parts_expected(history, grid["old_id"].to_numpy(), years)
    parts = by_old.reindex(pd.MultiIndex.from_arrays([grid["old_id"].to_numpy(), years]))
    index = pd.MultiIndex.from_arrays([grid["new_id"].to_numpy(), years], names=["unit_id", "year"])

    notes: list[pd.DataFrame] = []
    out = {}
    weights = parts[weight].to_numpy(dtype=float) if weight is not None and weight in parts.columns else None
    for column in values.columns:  # one pass per indicator, all units at once
        column_values = parts[column].to_numpy(dtype=float)
        present = ~np.isnan(column_values)
        frame = pd.DataFrame({"v": np.where(present, column_values, 0.0), "present": present,
                              "expected": expected_part | present}, index=index)
        kind = _indicator_kind(column, units_of)
        grouped = frame.groupby(level=[0, 1], sort=False)
        n_present = grouped["present"].sum()
        n_expected = grouped["expected"].sum()
        complete = (n_present == n_expected) & (n_present > 0)
        if kind == "count":
            result = grouped["v"].sum().where(complete)
        elif kind == "share" and weights is not None:
            frame["w"] = weights
            frame["wv"] = frame["v"] * weights
            frame["w_ok"] = ~np.isnan(weights) | ~present
            g = frame.groupby(level=[0, 1], sort=False)
            weighted = g["wv"].sum() / g["w"].sum()
            result = weighted.where(complete & g["w_ok"].all())
            n_present = n_present.where(g["w_ok"].all(), -1)
        else:
            result = grouped["v"].sum().where(complete & (n_present == 1))
        out[column] = result
        bad = result.isna() & (n_present != 0)
        if bad.any():
            incomplete = (n_present[bad] >= 0) & (n_present[bad] < n_expected[bad])
            reason = np.where(n_present[bad] < 0, message("harmonize.note.no_weight", "en"),
                              np.where(incomplete, message("harmonize.note.incomplete", "en"),
                                       message("harmonize.note.unknown_kind", "en", column=column)))
            lacking = frame.loc[frame["expected"] & ~frame["present"]]
            absent = pd.Series(grid["old_id"].to_numpy()[(frame["expected"] & ~frame["present"]).to_numpy()],
                               index=lacking.index).groupby(level=[0, 1]).agg(";".join)
            where = bad[bad].index
            notes.append(pd.DataFrame({
                "unit_id": where.get_level_values(0), "year": where.get_level_values(1), "indicator": column,
                "note": reason,
                "missing_parts": np.where(incomplete, absent.reindex(where).fillna("").to_numpy(dtype=object), ""),
            }))
    combined = pd.DataFrame(out)
    combined.index.names = ["unit_id", "year"]
    result_frame = pd.concat([single, combined[values.columns]])
    note_frame = pd.concat(notes, ignore_index=True) if notes else pd.DataFrame(columns=note_columns)
    return result_frame, note_frame


def _parts_expected(history: CodeHistory, codes: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Whether each code stood for a unit in each year, so that a merged unit needs its value then.

    A code stands in the years its history rows are valid (``start <= y <
    end``), and also in the year it ended when it was folded into a unit that
    already existed (莱芜市 into 济南市, 崇文区 into 东城区): that year's
    yearbooks may still report it on its own, so the successor's value alone
    may lack it. Codes the history does not know are always expected.
    """
    table = history.table
    succession = history.edges[history.edges["kind"] == "successor"]
    to_start = table["start"].to_numpy()[succession["to_row"].to_numpy()]
    from_code = table["code"].to_numpy()[succession["from_row"].to_numpy()]
    folded = succession[(to_start < succession["year"].to_numpy()) & (from_code != succession["to_code"].to_numpy())]
    absorbed = np.zeros(len(table), dtype=bool)
    absorbed[folded["from_row"].to_numpy()] = True
    query = pd.DataFrame({"code": np.asarray(codes, dtype=object), "year": np.asarray(years, dtype=np.int64),
                          "q": np.arange(len(codes))})
    rows = pd.DataFrame({"code": table["code"].to_numpy(), "start": table["start"].to_numpy(),
                         "end": table["end"].to_numpy(), "absorbed": absorbed})
    hits = query.merge(rows, on="code", how="inner")
    valid = (hits["start"] <= hits["year"]) & ((hits["year"] < hits["end"])
                                               | ((hits["year"] == hits["end"]) & hits["absorbed"]))
    expected = ~query["code"].isin(rows["code"]).to_numpy()
    expected[hits.loc[valid, "q"].to_numpy()] = True
    return expected


def _noted(ledger: Ledger, notes: pd.DataFrame, names: pd.Series, old_names: pd.Series, vintage: int) -> Ledger:
    """``ledger`` with a tally of the merged values left missing and one warning per unit and reason."""
    if notes.empty:
        return ledger
    tally = f"values of merged units left missing (harmonised to {vintage})"
    lines = []
    for (unit, note), rows in notes.groupby(["unit_id", "note"], sort=True):  # one line per merged unit and reason
        years = sorted(set(int(y) for y in rows["year"]))
        parts = sorted({p for cell in rows["missing_parts"] for p in str(cell).split(";") if p})
        lacking = ", ".join(f"{p} {old_names.get(p, '')}".strip() for p in parts)
        lines.append(message("harmonize.warning.merged_lacking" if lacking else "harmonize.warning.merged", "en",
                             vintage=vintage, unit=f"{unit} {names.get(unit, '')}", note=note, n=len(rows),
                             indicators=", ".join(sorted(set(rows["indicator"]))), years=", ".join(map(str, years)),
                             lacking=lacking))
    tallies = {**ledger.tallies, tally: int(ledger.tallies.get(tally, 0)) + len(notes)}
    return replace(ledger, tallies=tallies, warnings=(*ledger.warnings, *lines))


def _panel_breaks(history: CodeHistory, mapping: pd.DataFrame, ids: pd.Index, new_id: np.ndarray, vintage: int,
                  years: list[int]) -> pd.DataFrame:
    """Breaks the re-keying could not resolve: splits and partial transfers among the panel's units."""
    if not years:
        return pd.DataFrame(columns=list(BREAK_COLUMNS))
    first_year, last_year = min(years), max(vintage, max(years))
    rows: list[pd.DataFrame] = []
    split = mapping[(mapping["relation"] == "split") & mapping["successor"].notna()]
    if len(split):
        last_change = split["change_years"].str.split(";").str[-1]
        rows.append(pd.DataFrame({"unit_id": split["successor"].to_numpy(),
                                  "year": pd.to_numeric(last_change, errors="coerce").to_numpy(),
                                  "treatment": "split_successor"}))
        rows.append(pd.DataFrame({"unit_id": split["code"].to_numpy(),
                                  "year": pd.to_numeric(last_change, errors="coerce").to_numpy(),
                                  "treatment": "split"}))
    county = boundary_breaks("county", start_year=first_year, end_year=last_year, vintage=vintage, history=history)
    county = county[county["treatment"] == "partial_transfer"]
    present = set(new_id.tolist())
    rows.append(county[county["unit_id"].isin(present)][list(BREAK_COLUMNS)])
    out = pd.concat(rows, ignore_index=True).dropna(subset=["year"])
    out["year"] = out["year"].astype(np.int64)
    return out

