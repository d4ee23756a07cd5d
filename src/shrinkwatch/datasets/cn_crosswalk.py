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

__all__ = ["boundary_breaks", "prefecture_moves", "territory_links", "name_table", "BREAK_COLUMNS"]


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
        337 units), keyed by the 2020 code (municipalities as ``PP0100``, as
        in the census tables), each labelled by what happened to that unit in
        that year (:func:`prefecture_moves`): ``merge_successor`` (it absorbed a
        whole abolished prefecture), ``split_successor`` (it received part of
        a divided one), ``transfer_in`` / ``transfer_out`` (a county moved in /
        out; ``transfer_in+transfer_out`` both). The crosswalk's own column is
        the unit's formation path, one per unit, which mislabels the side that
        lost territory (资阳市 2016, which lost 简阳市 to 成都市, is
        ``transfer_in`` there); it is kept only where the code history shows no
        move within a year of the break (``source`` says which). Whole counties
        moved between prefectures that the crosswalk lists no break for
        (枞阳县 from 安庆市 to 铜陵市, 2015) are added from the code history.
        ``include_district_scope``
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
        history = history if history is not None else code_history(data_dir)
        out = _labelled_by_moves(out, prefecture_moves(history))
    elif level == "county":
        history = history if history is not None else code_history(data_dir)
        out = _county_breaks(history, start_year, end_year, checked_year(vintage, "vintage"))
    else:
        raise OptionError(f"level: expected 'prefecture' or 'county', got {level!r}")
    out = out[(out["year"] > start_year) & (out["year"] <= end_year)]
    return out.sort_values(["unit_id", "year", "treatment"]).reset_index(drop=True)


def prefecture_moves(history: CodeHistory, vintage: int = 2020) -> pd.DataFrame:
    """Counties that moved between prefectures, from the GB/T 2260 code history, one row per side.

    A county-level code whose successor has another prefecture prefix moved
    (简阳市 512081 of 资阳市 became 510185 of 成都市 in 2016). Both
    prefectures are keyed by their code at ``vintage``; a move between two
    codes of one unit (资阳地区 to 资阳市, 2000) is a recoding, not a move.
    Each move gives the receiving unit ``merge_successor`` (the sending
    prefecture was abolished that year and all of it went to this existing
    unit: 莱芜市 to 济南市), ``split_successor`` (the abolished prefecture
    was divided: 巢湖市) or ``transfer_in``, and a sending unit that goes on
    ``transfer_out``.

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``name`` (at ``vintage``), ``year`` (code-history year:
        year-end lists), ``treatment``, ``county`` (the county's code before
        the move), ``whole`` (the whole county moved, not part of it).
    """
    return _prefecture_moves(history.source, checked_year(vintage, "vintage"))


@functools.lru_cache(maxsize=8)
def _prefecture_moves(path: str, vintage: int) -> pd.DataFrame:
    history = read_code_history(path)
    table, edges = history.table, history.edges
    level = table["level"].to_numpy()
    codes = table["code"].to_numpy()
    moves = edges[(edges["kind"] == "successor") & (level[edges["from_row"].to_numpy()] == "county")
                  & (level[edges["to_row"].to_numpy()] == "county")]
    moves = moves.assign(whole=moves.groupby("from_row")["to_row"].transform("nunique").to_numpy() == 1,
                         county=codes[moves["from_row"].to_numpy()],
                         from_pref=pd.Series(codes[moves["from_row"].to_numpy()]).str[:4].add("00").to_numpy(),
                         to_pref=moves["to_code"].str[:4].add("00").to_numpy())
    moves = moves[moves["from_pref"] != moves["to_pref"]].reset_index(drop=True)
    columns = ["unit_id", "name", "year", "treatment", "county", "whole"]
    if moves.empty:
        return pd.DataFrame(columns=columns)
    years = moves["year"].to_numpy()
    from_row = resolve_rows(table, moves["from_pref"], years - 1)
    to_row = resolve_rows(table, moves["to_pref"], years)
    ok = (from_row >= 0) & (to_row >= 0)
    ok[ok] &= (level[from_row[ok]] == "prefecture") & (level[to_row[ok]] == "prefecture")
    moves, from_row, to_row, years = moves[ok].reset_index(drop=True), from_row[ok], to_row[ok], years[ok]
    senders = map_rows(history, from_row, vintage).dropna(subset=["successor"])
    receivers = map_rows(history, to_row, vintage).dropna(subset=["successor"])
    receivers = receivers[receivers["n_successors"] == 1]
    receiver = pd.Series(receivers["successor"].to_numpy(), index=receivers["position"].to_numpy())
    receiver = receiver.reindex(np.arange(len(moves))).to_numpy()
    receiver_name = pd.Series(receivers["successor_name"].to_numpy(), index=receivers["position"].to_numpy())
    receiver_name = receiver_name.reindex(np.arange(len(moves))).to_numpy()
    sent = senders.groupby("position")["successor"].agg(frozenset).reindex(np.arange(len(moves)))
    n_senders = sent.map(lambda s: len(s) if isinstance(s, frozenset) else 0).to_numpy()
    same_unit = np.array([isinstance(s, frozenset) and r in s for s, r in zip(sent, receiver)], dtype=bool)
    ended = table["end"].to_numpy()[from_row] <= years  # the sending prefecture was abolished by the move
    existed = table["start"].to_numpy()[to_row] < years  # the receiving prefecture was there before
    recoded = same_unit & (n_senders == 1) & ~(ended & existed)
    treatment = np.select([ended & same_unit & (n_senders == 1), ended], ["merge_successor", "split_successor"],
                          default="transfer_in")
    keep = ~recoded & pd.notna(receiver)
    received = pd.DataFrame({"unit_id": receiver[keep], "name": receiver_name[keep], "year": years[keep],
                             "treatment": treatment[keep],
                             "county": moves["county"].to_numpy()[keep], "whole": moves["whole"].to_numpy()[keep]})
    going_on = senders[~ended[senders["position"].to_numpy()] & ~recoded[senders["position"].to_numpy()]]
    going_on = going_on[going_on["successor"].to_numpy() != receiver[going_on["position"].to_numpy()]]
    positions = going_on["position"].to_numpy()
    lost = pd.DataFrame({"unit_id": going_on["successor"].to_numpy(), "name": going_on["successor_name"].to_numpy(),
                         "year": years[positions],
                         "treatment": "transfer_out", "county": moves["county"].to_numpy()[positions],
                         "whole": moves["whole"].to_numpy()[positions]})
    out = pd.concat([received, lost], ignore_index=True)
    out["year"] = out["year"].astype(np.int64)
    return out[columns].drop_duplicates().sort_values(["unit_id", "year", "treatment"]).reset_index(drop=True)


def _labelled_by_moves(breaks: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """The crosswalk's breaks labelled by their unit's moves in the same year, else the year before (the code
    history's year-end lists put 莱芜市 into 济南市 in 2018, the crosswalk in 2019), else the year after; plus a
    break for each whole county moved in a year whose moves labelled no crosswalk break."""
    labels = (moves.groupby(["unit_id", "year"])["treatment"]
              .agg(lambda t: "+".join(sorted(set(t))))
              .rename("label").reset_index())
    crosswalk = breaks[breaks["source"].str.startswith("prefecture_crosswalk:fixed_boundary_reference")]
    other = breaks.drop(index=crosswalk.index)
    candidates = crosswalk.reset_index().rename(columns={"index": "i"}).merge(
        labels.rename(columns={"year": "move_year"}), on="unit_id", how="inner")
    offset = candidates["move_year"] - candidates["year"]
    candidates = candidates[offset.abs() <= 1].assign(rank=offset.map({0: 0, -1: 1, 1: 2}))
    chosen = candidates.sort_values(["i", "rank"]).drop_duplicates("i").set_index("i")
    labelled = crosswalk.copy()
    found = labelled.index.isin(chosen.index)
    labelled.loc[found, "treatment"] = chosen["label"].reindex(labelled.index[found]).to_numpy()
    labelled.loc[found, "source"] = labelled.loc[found, "source"] + "; treatment: admin_codes:result.csv"
    # whole counties moved in a year whose moves labelled no crosswalk break get a break of their own
    whole = moves[moves["whole"]]
    whole_labels = (whole.groupby(["unit_id", "name", "year"])["treatment"]
                    .agg(lambda t: "+".join(sorted(set(t)))).reset_index())
    used = pd.MultiIndex.from_arrays([chosen["unit_id"].to_numpy(), chosen["move_year"].to_numpy()])
    added = whole_labels[~pd.MultiIndex.from_frame(whole_labels[["unit_id", "year"]]).isin(used)]
    added = added.assign(source="admin_codes:result.csv (whole county moved between prefectures)")
    return pd.concat([labelled, other, added[list(labelled.columns)]], ignore_index=True)


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
