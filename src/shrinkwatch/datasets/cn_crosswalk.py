"""China's boundary-break tables and unit-name table (reference tables).

- :func:`boundary_breaks`: boundary breaks per unit and year, for prefectures
  from the prefecture crosswalk (``cn-prefecture-crosswalk``) and for
  county-level units from the GB/T 2260 code history
  (:mod:`shrinkwatch.datasets.cn_codes`);
- :func:`territory_links`: which units exchanged territory (the edges of the
  change graph that :mod:`shrinkwatch.harmonize.clusters` turns into stable
  clusters), from the GB/T 2260 code history;
- :func:`name_table`: every name a unit has had (the code history's names and
  the crosswalk's prefecture aliases), for matching names to codes.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataDirectoryNotFoundError, DataError, OptionError
from shrinkwatch.core.meta import BREAK_COLUMNS
from shrinkwatch.datasets.cn_codes import (
    OPEN_END,
    CodeHistory,
    checked_year,
    code_history,
    map_rows,
    name_stem,
    read_code_history,
    resolve_rows,
    successor_at,
)
from shrinkwatch.datasets.registry import REGISTRY, dataset_paths

__all__ = ["boundary_breaks", "territory_links", "name_table", "BREAK_COLUMNS"]


def name_table(data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every name of every code-history row, and the crosswalk's prefecture aliases (cached; do not modify).

    Columns: ``row`` (code-history row), ``code``, ``name``, ``level``,
    ``start``, ``end``, ``parent``, ``province``, ``source``
    (``code_history`` or ``crosswalk_alias``), ``stem``, ``parent_stem`` and
    ``province_stem`` (see :func:`~shrinkwatch.datasets.cn_codes.name_stem`).
    """
    return _name_table(code_history(data_dir).source, _aliases_path(data_dir))


@functools.lru_cache(maxsize=8)
def _name_table(path: str, aliases_path: str | None) -> pd.DataFrame:
    history = read_code_history(path)
    table = history.table
    names = pd.DataFrame({
        "row": table.index.to_numpy(), "code": table["code"].to_numpy(), "name": table["name"].to_numpy(),
        "level": table["level"].to_numpy(), "start": table["start"].to_numpy(), "end": table["end"].to_numpy(),
        # a prefecture row's 二级行政区 is its own name: its parent is the province
        "parent": np.where(table["prefecture"].isin(["", "直辖"]) | (table["level"] == "prefecture"),
                           table["province"], np.where(table["level"] == "province", "", table["prefecture"])),
        "province": table["province"].to_numpy(), "source": "code_history",
    })
    if aliases_path is not None:
        names = pd.concat([names, _alias_rows(aliases_path, history)], ignore_index=True)
    names["stem"] = name_stem(names["name"]).to_numpy()
    names["parent_stem"] = name_stem(names["parent"]).to_numpy()
    names["province_stem"] = name_stem(names["province"]).to_numpy()
    return names


def _alias_rows(aliases_path: str, history: CodeHistory) -> pd.DataFrame:
    """Prefecture aliases of the crosswalk, keyed to codes through its entity id crosswalk."""
    aliases = pd.read_csv(aliases_path, dtype=str, keep_default_na=False)
    crosswalk = pd.read_csv(Path(aliases_path).with_name("entity_id_crosswalk.csv"), dtype=str,
                            keep_default_na=False)
    linked = aliases.merge(crosswalk[["entity_id", "legacy_entity_id"]], on="entity_id", how="inner")
    linked = linked[linked["legacy_entity_id"].str.fullmatch(r"E\d{6}")]
    codes = linked["legacy_entity_id"].str[1:]
    year = pd.to_numeric(linked["end_year"], errors="coerce").fillna(2020).astype(int).clip(upper=2024)
    rows = resolve_rows(history.table, codes, year.to_numpy())
    keep = rows >= 0
    table = history.table
    rows = rows[keep]
    return pd.DataFrame({
        "row": rows, "code": table["code"].to_numpy()[rows], "name": linked["alias"].to_numpy()[keep],
        "level": "prefecture",
        "start": pd.to_numeric(linked["start_year"], errors="coerce").fillna(1981).astype(int).to_numpy()[keep],
        "end": pd.to_numeric(linked["end_year"], errors="coerce").fillna(OPEN_END - 1).astype(int)
        .to_numpy()[keep] + 1,
        "parent": table["province"].to_numpy()[rows], "province": table["province"].to_numpy()[rows],
        "source": "crosswalk_alias",
    })


def _aliases_path(data_dir: str | os.PathLike[str] | None) -> str | None:
    if "cn-prefecture-crosswalk" not in REGISTRY:
        return None
    try:
        paths = dataset_paths("cn-prefecture-crosswalk", data_dir)
    except DataDirectoryNotFoundError:
        return None
    found = [p for p in paths if p.name == "aliases.csv"]
    return str(found[0].resolve()) if found else None


# ---------------------------------------------------------------- boundary breaks

def boundary_breaks(
    level: str = "prefecture",
    *,
    start_year: int = 1999,
    end_year: int = 2020,
    vintage: int = 2020,
    include_district_scope: bool = False,
    history: CodeHistory | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Boundary breaks per unit and year.

    Parameters
    ----------
    level
        ``"prefecture"``: the whole-city breaks of the 2020 reference units of
        the prefecture crosswalk (``fixed_boundary_reference_units_2020.csv``;
        337 units; treatment = formation path, e.g. ``merge_successor``,
        ``split_successor``, ``transfer_in``, ``merged_away``), keyed by the
        2020 code (municipalities as ``PP0100``, as in the census tables). ``include_district_scope``
        adds the county-to-district conversions of the event flags
        (``fixed_boundary_event_flags_1999_2020.csv``), which break
        municipal-district (市辖区) series but not whole-city ones.
        ``"county"``: county-level breaks derived from the code history, keyed
        by the code at ``vintage``: ``merge`` (the unit absorbed whole units,
        or was formed from several; safe once values are summed), ``split`` (the unit received part of a
        divided unit) and ``partial_transfer`` (territory moved in or out).
    start_year, end_year
        Breaks with ``start_year < year <= end_year`` are returned.
    vintage
        Code vintage of the county-level keys.
    include_district_scope
        See ``level``.
    history, data_dir
        Code history and data directory.

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``name``, ``year``, ``treatment``, ``source``.

    Examples
    --------
    >>> b = boundary_breaks("prefecture")
    >>> b[b["unit_id"] == "370100"][["name", "year"]].values.tolist()
    [['济南市', 2019]]
    """
    start_year = checked_year(start_year, "start_year")
    end_year = checked_year(end_year, "end_year")
    if level == "prefecture":
        paths = {p.name: p for p in _crosswalk_paths(data_dir)}
        out = _prefecture_breaks(str(paths["fixed_boundary_reference_units_2020.csv"].resolve()),
                                 str(paths["entity_id_crosswalk.csv"].resolve()),
                                 str(paths["fixed_boundary_event_flags_1999_2020.csv"].resolve()),
                                 include_district_scope)
    elif level == "county":
        history = history if history is not None else code_history(data_dir)
        out = _county_breaks(history, start_year, end_year, checked_year(vintage, "vintage"))
    else:
        raise OptionError(f"level: expected 'prefecture' or 'county', got {level!r}")
    out = out[(out["year"] > start_year) & (out["year"] <= end_year)]
    return out.sort_values(["unit_id", "year", "treatment"]).reset_index(drop=True)


def _crosswalk_paths(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    return dataset_paths("cn-prefecture-crosswalk", data_dir)


@functools.lru_cache(maxsize=8)
def _prefecture_breaks(reference_path: str, crosswalk_path: str, flags_path: str,
                       include_district_scope: bool) -> pd.DataFrame:
    reference = pd.read_csv(reference_path, dtype=str, keep_default_na=False)
    crosswalk = pd.read_csv(crosswalk_path, dtype=str, keep_default_na=False)
    needed = {"entity_id", "canonical_name", "formation_path", "break_years", "treatment_hint"}
    if not needed <= set(reference.columns):
        raise DataError(f"{reference_path}: missing column(s) {sorted(needed - set(reference.columns))}")
    codes = reference.merge(crosswalk[["entity_id", "legacy_entity_id"]], on="entity_id", how="left")
    bad = ~codes["legacy_entity_id"].fillna("").str.fullmatch(r"E\d{6}")
    if bad.any():
        raise DataError(f"{crosswalk_path}: no code for entity {codes.loc[bad, 'entity_id'].tolist()[:5]}")
    # the crosswalk's legacy ids are the 2020 codes (municipalities as PP0100, as in the census tables)
    code = codes["legacy_entity_id"].str[1:]
    years = codes["break_years"].str.split(r"[;,|\s]+", regex=True).explode()
    years = years[years.str.fullmatch(r"\d{4}").fillna(False)]
    bad_years = codes.loc[codes["break_years"].ne("") & ~codes.index.isin(years.index)]
    if len(bad_years):
        raise DataError(f"{reference_path}, row {int(bad_years.index[0]) + 2}, column 'break_years': "
                        f"expected years, got {bad_years['break_years'].iloc[0]!r}")
    rows = codes.loc[years.index]
    out = pd.DataFrame({
        "unit_id": code.loc[years.index].to_numpy(), "name": rows["canonical_name"].to_numpy(),
        "year": years.astype(int).to_numpy(), "treatment": rows["formation_path"].to_numpy(),
        "source": "prefecture_crosswalk:fixed_boundary_reference_units_2020",
    })
    if include_district_scope:
        flags = pd.read_csv(flags_path, dtype={"prefecture_entity_id": str})
        flags = flags[flags["district_jump_flag"] == 1].merge(
            codes[["entity_id"]].assign(unit_id=code.to_numpy()), left_on="prefecture_entity_id",
            right_on="entity_id", how="inner")
        out = pd.concat([out, pd.DataFrame({
            "unit_id": flags["unit_id"].to_numpy(), "name": flags["prefecture_name"].to_numpy(),
            "year": flags["year"].astype(int).to_numpy(), "treatment": "district_scope_jump",
            "source": "prefecture_crosswalk:fixed_boundary_event_flags_1999_2020"})], ignore_index=True)
    return out


def _county_breaks(history: CodeHistory, start_year: int, end_year: int, vintage: int) -> pd.DataFrame:
    table = history.table
    edges = history.edges
    window = edges[(edges["year"] > start_year) & (edges["year"] <= end_year)]
    window = window[(table["level"].to_numpy()[window["from_row"].to_numpy()] == "county")
                    & (table["level"].to_numpy()[window["to_row"].to_numpy()] == "county")]
    succession = window[window["kind"] == "successor"]
    fan_out = succession.groupby("from_row")["to_row"].transform("nunique")
    fan_in = succession.groupby("to_row")["from_row"].transform("nunique")
    self_edge = table["code"].to_numpy()[succession["from_row"].to_numpy()] == succession["to_code"].to_numpy()
    # folded into a unit that already existed (崇文区 into 东城区)
    absorbed = table["start"].to_numpy()[succession["to_row"].to_numpy()] < succession["year"].to_numpy()
    events = [
        succession[(fan_out > 1).to_numpy()].assign(treatment="split", unit_row=lambda f: f["to_row"]),
        succession[((fan_out == 1) & ((fan_in > 1) | absorbed) & ~self_edge).to_numpy()].assign(
            treatment="merge", unit_row=lambda f: f["to_row"]),
    ]
    transfers = window[window["kind"] == "transfer"]
    events.append(transfers.assign(treatment="partial_transfer", unit_row=lambda f: f["to_row"]))
    events.append(transfers.assign(treatment="partial_transfer", unit_row=lambda f: f["from_row"]))
    frame = pd.concat(events, ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=["unit_id", "name", "year", "treatment", "source"])
    # key each affected unit by its code at the vintage
    mapped = map_rows(history, frame["unit_row"].to_numpy(), vintage)
    mapped = mapped[mapped["successor"].notna()]
    positions = mapped["position"].to_numpy()
    out = pd.DataFrame({
        "unit_id": mapped["successor"].to_numpy(), "name": mapped["successor_name"].to_numpy(),
        "year": frame["year"].to_numpy()[positions], "treatment": frame["treatment"].to_numpy()[positions],
        "source": "admin_codes:result.csv",
    })
    return out.drop_duplicates(["unit_id", "year", "treatment"])



# ---------------------------------------------------------------- territory links

_MUNICIPALITIES = ("11", "12", "31", "50")


def territory_links(
    level: str = "prefecture",
    *,
    start_year: int = 1999,
    end_year: int = 2020,
    vintage: int = 2020,
    history: CodeHistory | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Pairs of units that exchanged territory, from the GB/T 2260 code history, keyed by codes at ``vintage``.

    Parameters
    ----------
    level
        ``"prefecture"``: a county-level unit that moved from one prefecture to another (a whole county
        recoded into another prefecture, or a partial transfer across a prefecture line) joins the two
        prefectures (municipalities keyed ``PP0100``, as in the census tables). ``"county"``: a partial
        transfer between two county-level units joins them.
    start_year, end_year
        Changes with ``start_year < year <= end_year``.
    vintage
        Code vintage of the keys.
    history, data_dir
        Code history and data directory.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` (the receiving unit), ``other_id`` (the giving unit), ``year``, ``kind``
        (``county_moved`` or ``partial_transfer``): the edges of the change graph (see
        :mod:`shrinkwatch.harmonize.clusters`).

    Examples
    --------
    >>> moved = territory_links("prefecture", start_year=2010, end_year=2020)
    >>> moved[moved["unit_id"] == "220100"][["other_id", "year"]].values.tolist()  # 公主岭 from 四平 to 长春
    [['220300', 2020]]
    """
    start_year = checked_year(start_year, "start_year")
    end_year = checked_year(end_year, "end_year")
    vintage = checked_year(vintage, "vintage")
    if level not in ("prefecture", "county"):
        raise OptionError(f"level: expected 'prefecture' or 'county', got {level!r}")
    history = history if history is not None else code_history(data_dir)
    table, edges = history.table, history.edges
    window = edges[(edges["year"] > start_year) & (edges["year"] <= end_year)]
    kind_of_level = table["level"].to_numpy()
    window = window[(kind_of_level[window["from_row"].to_numpy()] == "county")
                    & (kind_of_level[window["to_row"].to_numpy()] == "county")]
    codes = table["code"].to_numpy()
    columns = ["unit_id", "other_id", "year", "kind"]
    if level == "county":
        moved = window[window["kind"] == "transfer"]
        if moved.empty:
            return pd.DataFrame(columns=columns)
        ends = np.concatenate([moved["from_row"].to_numpy(), moved["to_row"].to_numpy()])
        mapped = map_rows(history, ends, vintage)
        mapped = mapped[mapped["successor"].notna()]
        at = pd.DataFrame({"end": mapped["position"].to_numpy(), "code": mapped["successor"].to_numpy()})
        n = len(moved)
        pairs = at[at["end"] < n].merge(at[at["end"] >= n].assign(end=lambda f: f["end"] - n), on="end",
                                        suffixes=("_from", "_to"))
        pairs = pairs[pairs["code_from"] != pairs["code_to"]]
        out = pd.DataFrame({"unit_id": pairs["code_to"].to_numpy(), "other_id": pairs["code_from"].to_numpy(),
                            "year": moved["year"].to_numpy()[pairs["end"].to_numpy()], "kind": "partial_transfer"})
        return out.drop_duplicates().sort_values(columns).reset_index(drop=True)
    giver = _prefecture_code(pd.Series(codes[window["from_row"].to_numpy()]))
    receiver = _prefecture_code(pd.Series(codes[window["to_row"].to_numpy()]))
    keys = pd.Index(pd.unique(np.concatenate([giver.to_numpy(), receiver.to_numpy()])))
    at_vintage = successor_at(keys, vintage, history=history)
    single = at_vintage[(at_vintage["n_successors"] == 1) & at_vintage["successor"].notna()]
    rekey = pd.Series(keys.to_numpy(), index=keys)
    rekey.iloc[single["position"].to_numpy()] = _prefecture_code(single["successor"]).to_numpy()
    out = pd.DataFrame({"unit_id": rekey.reindex(receiver).to_numpy(), "other_id": rekey.reindex(giver).to_numpy(),
                        "year": window["year"].to_numpy(), "kind": "county_moved"})
    out = out[out["unit_id"] != out["other_id"]]
    return out.drop_duplicates().sort_values(columns).reset_index(drop=True)


def _prefecture_code(codes: pd.Series) -> pd.Series:
    """``PPCC00`` of county-level codes; a municipality's units and the municipality itself are ``PP0100``."""
    codes = codes.astype(str)
    municipal = codes.str[:2].isin(_MUNICIPALITIES)
    return (codes.str[:4] + "00").where(~municipal, codes.str[:2] + "0100").reset_index(drop=True)
