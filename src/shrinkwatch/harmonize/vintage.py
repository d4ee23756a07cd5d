"""Harmonisation: GB/T 2260 code history, name matching, boundary breaks.

China's administrative codes change almost every year: units are renamed,
counties become districts, units merge or split. Comparing a unit across years
without lining the codes up to one *vintage* mistakes a boundary change for
growth or shrinkage. This module

- reads the code history 1981-2024 (yescallop/areacodes ``result.csv``,
  registered as ``cn-admin-codes``) into a :class:`CodeHistory`;
- maps codes to their successors valid at a target year (:func:`successor_at`),
  following chains of changes, with splits giving several successors and
  mergers mapping many codes to one;
- matches Chinese unit names, tolerating suffix variants (市, 地区, 州, 盟,
  县, 区, 自治县, 旗 ...) and old names (:func:`match_names`);
- re-keys a :class:`~shrinkwatch.core.Panel` to one vintage, summing merged
  units' counts and population-weighting their shares, with a ledger of every
  mapping (:func:`harmonize_panel`);
- lists boundary breaks per unit and year (:func:`boundary_breaks`) and tells
  identification which comparisons span one (:func:`boundary_break_mask`).

Year semantics follow the code lists, which describe the status at the end of
each year: a code row is *valid in year* ``y`` when ``start <= y < end``; a
change with year ``y`` took effect between the end of ``y - 1`` and the end of
``y``, so it breaks a comparison of ``t1`` and ``t2`` when ``t1 < y <= t2``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core import Panel

__all__ = [
    "CodeHistory",
    "code_history",
    "successor_at",
    "name_stem",
    "match_names",
    "harmonize_panel",
    "boundary_breaks",
    "boundary_break_mask",
    "boundary_break_reasons",
    "with_boundary_breaks",
    "BREAK_COLUMNS",
    "COUNT_INDICATORS",
    "SHARE_INDICATORS",
]

#: Columns of a boundary-break table (``panel.meta['boundary_breaks']``).
BREAK_COLUMNS = ("unit_id", "year", "treatment")

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

_LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}
_OPEN_END = 9999  # end year of a code still in use
_MAX_CHAIN = 64

# suffixes stripped to get a name's stem, longest first
_SUFFIXES = ("特别行政区", "自治州", "自治县", "自治旗", "管理区", "自治区", "地区", "林区", "特区", "矿区",
             "行委", "新区", "市", "州", "盟", "县", "区", "旗", "省")
_ETHNIC = ("蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
           "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
           "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
           "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
           "鄂伦春", "赫哲", "门巴", "珞巴", "基诺", "各")
_ETHNIC_PART = "(?:" + "|".join(sorted(_ETHNIC, key=len, reverse=True)) + ")族"
_AUTONOMOUS = re.compile(rf"^(?P<stem>.+?)(?:{_ETHNIC_PART})+自治(?:州|县|旗|区)$")
_SUFFIX_RE = re.compile("(?:" + "|".join(_SUFFIXES) + ")$")


# ---------------------------------------------------------------- code history

@dataclass(frozen=True)
class CodeHistory:
    """Every GB/T 2260 code 1981-2024 with its names, validity and successors.

    Attributes
    ----------
    table
        One row per code and name span, indexed by ``row_id``: ``code``,
        ``name``, ``level`` (``province`` / ``prefecture`` / ``county``),
        ``province`` and ``prefecture`` (names as published), ``status``
        (在用 in use, 变更 changed, 弃用 abolished), ``start`` and ``end``
        (years; the row is valid in year ``y`` when ``start <= y < end``;
        ``end`` is 9999 for codes in use), ``successors`` (codes that took
        over the row's area when it ended, ``;``-joined) and ``transfers``
        (``code[year]`` partial transfers while the row was valid).
    edges
        ``from_row``, ``to_row``, ``to_code``, ``year``, ``kind``:
        ``successor`` (the row ended and ``to_row`` took over all or part of
        it) or ``transfer`` (part of the area moved to ``to_row`` in ``year``).
    source
        The file read.
    """

    table: pd.DataFrame
    edges: pd.DataFrame
    source: str

    def valid_at(self, year: int) -> pd.DataFrame:
        """Rows valid at the end of ``year`` (one per code)."""
        table = self.table
        return table[(table["start"] <= year) & (table["end"] > year)]

    def names_at(self, codes: Iterable[str], year: int) -> pd.Series:
        """Name of each code at the end of ``year`` (missing if not valid then)."""
        valid = self.valid_at(year).set_index("code")["name"]
        index = pd.Index([str(c) for c in codes])
        return pd.Series(valid.reindex(index).to_numpy(), index=index, name="name", dtype=object)


def _history_path(data_dir: str | os.PathLike[str] | None) -> Path:
    from shrinkwatch.datasets import dataset_paths

    return dataset_paths("cn-admin-codes", data_dir)[0]


def code_history(data_dir: str | os.PathLike[str] | None = None) -> CodeHistory:
    """The GB/T 2260 code history from the ``cn-admin-codes`` dataset.

    Parsed once per file and cached (the table is read-only: do not modify it).

    Parameters
    ----------
    data_dir
        The data directory (default: the usual lookup, see
        :func:`shrinkwatch.datasets.resolve_data_dir`).

    Returns
    -------
    CodeHistory

    Examples
    --------
    >>> history = code_history()
    >>> history.names_at(["420600"], 2009).tolist()
    ['襄樊市']
    """
    return _parse_history(str(_history_path(data_dir).resolve()))


@functools.lru_cache(maxsize=8)
def _parse_history(path: str) -> CodeHistory:
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    expected = ["代码", "一级行政区", "二级行政区", "名称", "级别", "状态", "启用时间", "变更/弃用时间", "新代码"]
    if list(raw.columns) != expected:
        raise DataError(f"{path}: expected columns {expected}, got {list(raw.columns)}")
    code = raw["代码"].str.strip()
    bad = ~code.str.fullmatch(r"\d{6}") | ~raw["启用时间"].str.fullmatch(r"\d{4}") \
        | ~raw["变更/弃用时间"].str.fullmatch(r"(\d{4})?") | ~raw["级别"].isin(list(_LEVELS)) \
        | ~raw["新代码"].str.fullmatch(r"(\d{6}(\[\d{4}\])?)?(;\d{6}(\[\d{4}\])?)*")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, row {row + 2}: malformed code-history record {raw.iloc[row].tolist()}")
    end = raw["变更/弃用时间"].replace("", str(_OPEN_END)).astype(int)
    table = pd.DataFrame({
        "code": code.to_numpy(),
        "name": raw["名称"].str.strip().to_numpy(),
        "level": raw["级别"].map(_LEVELS).to_numpy(),
        "province": raw["一级行政区"].to_numpy(),
        "prefecture": raw["二级行政区"].to_numpy(),
        "status": raw["状态"].to_numpy(),
        "start": raw["启用时间"].astype(int).to_numpy(),
        "end": end.to_numpy(),
    })
    table.index.name = "row_id"
    overlaps = table.sort_values(["code", "start"]).groupby("code")["end"].shift() \
        > table.sort_values(["code", "start"])["start"]
    if overlaps.any():
        codes = table.loc[overlaps[overlaps].index, "code"].tolist()[:5]
        raise DataError(f"{path}: code rows overlap in time: {codes}")

    tokens = raw["新代码"].str.split(";").explode()
    tokens = tokens[tokens.ne("")]
    parsed = tokens.str.extract(r"^(?P<to_code>\d{6})(?:\[(?P<year>\d{4})\])?$")
    edges = pd.DataFrame({"from_row": tokens.index.to_numpy(), "to_code": parsed["to_code"].to_numpy()})
    timed = parsed["year"].notna().to_numpy()
    edges["kind"] = np.where(timed, "transfer", "successor")
    edges["year"] = np.where(timed, pd.to_numeric(parsed["year"]).fillna(0).astype(int).to_numpy(),
                             table["end"].to_numpy()[edges["from_row"].to_numpy()])
    # a 变更 (changed) row without untimed successors continues under the same code
    has_successor = np.zeros(len(table), dtype=bool)
    has_successor[edges.loc[edges["kind"] == "successor", "from_row"].to_numpy()] = True
    continued = pd.MultiIndex.from_arrays([table["code"], table["start"]])
    renamed = (table["status"].to_numpy() == "变更") & ~has_successor & (table["end"].to_numpy() < _OPEN_END) \
        & pd.MultiIndex.from_arrays([table["code"], table["end"]]).isin(continued)
    same_code = pd.DataFrame({"from_row": np.flatnonzero(renamed), "to_code": table["code"].to_numpy()[renamed],
                              "kind": "successor", "year": table["end"].to_numpy()[renamed]})
    edges = pd.concat([edges, same_code], ignore_index=True)
    edges["to_row"] = _resolve_rows(table, edges["to_code"], edges["year"])
    edges = pd.concat([edges, _derived_prefecture_edges(table, edges)], ignore_index=True)
    unresolved = edges["to_row"] < 0
    if unresolved.any():
        first = edges[unresolved].iloc[0]
        raise DataError(f"{path}: successor code {first['to_code']} of {table.loc[first['from_row'], 'code']} "
                        f"has no record valid in {first['year']}")
    table["successors"] = _join_codes(edges[edges["kind"] == "successor"], len(table), with_year=False)
    table["transfers"] = _join_codes(edges[edges["kind"] == "transfer"], len(table), with_year=True)
    edges = edges[["from_row", "to_row", "to_code", "year", "kind"]].astype(
        {"from_row": np.int64, "to_row": np.int64, "year": np.int64})
    return CodeHistory(table=table, edges=edges, source=path)


def _derived_prefecture_edges(table: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """Successors of abolished prefecture-level rows that the source lists without any.

    The source gives successors for county-level codes only when a prefecture
    is abolished (莱芜市 371200, 巢湖市 341400); the prefecture's successors
    are then the prefectures that took over its counties: the ``PPCC00`` of
    the successors of the counties it held in its last year.
    """
    level = table["level"].to_numpy()
    listed = set(edges.loc[edges["kind"] == "successor", "from_row"].tolist())
    orphan = table[(level == "prefecture") & (table["end"] < _OPEN_END) & ~table.index.isin(listed)]
    if orphan.empty:
        return edges.iloc[0:0]
    counties = table[level == "county"][["code", "start", "end"]]
    counties = counties.assign(prefix=counties["code"].str[:4]).reset_index()
    children = orphan[["code", "end"]].assign(prefix=orphan["code"].str[:4]).reset_index().merge(
        counties, on="prefix", suffixes=("", "_child"))
    # the county rows valid in the prefecture's last year, and where they went when it ended
    last_year = children["end"] - 1
    children = children[(children["start"] <= last_year) & (children["end_child"] > last_year)]
    child_edges = edges[edges["kind"] == "successor"][["from_row", "to_code", "year"]]
    moved = children.merge(child_edges, left_on="row_id_child", right_on="from_row", how="inner")
    moved = moved[moved["year"] == moved["end"]]
    targets = pd.DataFrame({"from_row": moved["row_id"].to_numpy(), "to_code": moved["to_code"].str[:4] + "00",
                            "year": moved["end"].to_numpy()}).drop_duplicates()
    targets = targets[targets["to_code"].to_numpy() != table["code"].to_numpy()[targets["from_row"].to_numpy()]]
    targets = targets.assign(kind="successor")
    targets["to_row"] = _resolve_rows(table, targets["to_code"], targets["year"].to_numpy())
    # counties of a municipality have no prefecture row: the municipality (PP0000) takes over
    municipal = (targets["to_row"] < 0).to_numpy()
    targets.loc[municipal, "to_code"] = targets.loc[municipal, "to_code"].str[:2] + "0000"
    targets.loc[municipal, "to_row"] = _resolve_rows(table, targets.loc[municipal, "to_code"],
                                                     targets.loc[municipal, "year"].to_numpy())
    targets = targets[targets["to_row"] >= 0].drop_duplicates(["from_row", "to_code"])
    return targets[["from_row", "to_code", "kind", "year", "to_row"]]


def _join_codes(edges: pd.DataFrame, n_rows: int, *, with_year: bool) -> np.ndarray:
    out = np.full(n_rows, "", dtype=object)
    text = edges["to_code"] + (("[" + edges["year"].astype(str) + "]") if with_year else "")
    for row, code in zip(edges["from_row"].to_numpy(), text.to_numpy()):  # a few thousand edges, once
        out[row] = code if not out[row] else f"{out[row]};{code}"
    return out


def _resolve_rows(table: pd.DataFrame, codes: pd.Series, years: pd.Series | np.ndarray) -> np.ndarray:
    """Row of each code valid in the given year, else its first row starting later; -1 if none."""
    query = pd.DataFrame({"code": np.asarray(codes, dtype=object), "year": np.asarray(years, dtype=np.int64)})
    query["q"] = np.arange(len(query))
    rows = table[["code", "start", "end"]].reset_index()
    merged = query.merge(rows, on="code", how="inner")
    merged = merged[merged["end"] > merged["year"]]  # never a row that had already ended
    # prefer the valid row, else the first row starting later
    merged["distance"] = np.maximum(merged["start"] - merged["year"], 0)
    best = merged.sort_values(["q", "distance"]).drop_duplicates("q")
    out = np.full(len(query), -1, dtype=np.int64)
    out[best["q"].to_numpy()] = best["row_id"].to_numpy()
    return out


# ---------------------------------------------------------------- successors

def successor_at(
    codes: Sequence[str] | pd.Series | pd.Index,
    vintage: int,
    *,
    source_year: int | None = None,
    history: CodeHistory | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Map each code to its successor code(s) valid at the end of ``vintage``.

    Chains of changes are followed (a county that became a district that was
    later merged ends at the merged district); the loop runs over chain depth,
    never over units.

    Parameters
    ----------
    codes
        Six-digit GB/T 2260 codes (strings; integers are accepted).
    vintage
        Target year (year-end status).
    source_year
        Year in which ``codes`` were valid, used when a code was reused; by
        default the code's latest row starting no later than ``vintage``.
    history
        A parsed :class:`CodeHistory` (default: :func:`code_history`).
    data_dir
        Data directory for the default history.

    Returns
    -------
    pandas.DataFrame
        One row per code and successor (a split gives several rows, an
        unmappable code one row with a missing successor), in input order:
        ``position`` (index in ``codes``), ``code``, ``name`` (at the source),
        ``successor``, ``successor_name`` (at ``vintage``), ``n_successors``,
        ``relation`` (``unchanged``, ``renamed``, ``recoded``, ``merged``
        (the successor also absorbed other units), ``split``, ``abolished``
        (no successor), ``not_yet_valid`` (the code starts after
        ``vintage``) or ``unknown_code``), ``change_years`` (years of the
        changes along the chain, ``;``-joined) and ``path`` (codes along the
        chain, ``>``-joined).

    Examples
    --------
    >>> successor_at(["110103", "420600"], 2020, source_year=2009)[["code", "successor", "relation"]].values.tolist()
    [['110103', '110101', 'merged'], ['420600', '420600', 'renamed']]
    """
    history = history if history is not None else code_history(data_dir)
    vintage = _year(vintage, "vintage")
    table = history.table
    text = pd.Series(pd.Index(codes).astype(str), dtype=object).str.strip().str.replace(r"\.0$", "", regex=True)
    n = len(text)
    is_code = text.str.fullmatch(r"\d{6}").to_numpy()
    reference = np.full(n, vintage if source_year is None else _year(source_year, "source_year"), dtype=np.int64)
    start_rows = np.full(n, -1, dtype=np.int64)
    if is_code.any():
        start_rows[is_code] = _resolve_start(table, text[is_code], reference[is_code], vintage, source_year is None)

    known = start_rows >= 0
    starts = table["start"].to_numpy()
    ends = table["end"].to_numpy()
    if source_year is None:  # the code as it last stood (by the vintage)
        reference[known] = np.minimum(ends[start_rows[known]] - 1, vintage)
    not_yet = np.zeros(n, dtype=bool)
    not_yet[known] = starts[start_rows[known]] > vintage

    # frontier of (position, row, years, path) expanded one chain step at a time
    active = known & ~not_yet
    frontier = pd.DataFrame({"position": np.flatnonzero(active), "row": start_rows[active]})
    frontier["years"] = ""
    frontier["path"] = table["code"].to_numpy()[frontier["row"].to_numpy()]
    succession = history.edges[history.edges["kind"] == "successor"][["from_row", "to_row", "year"]]
    done: list[pd.DataFrame] = []
    for _ in range(_MAX_CHAIN):
        ended = ends[frontier["row"].to_numpy()] <= vintage
        if not ended.any():
            break
        done.append(frontier[~ended])
        moving = frontier[ended].merge(succession, left_on="row", right_on="from_row", how="left")
        dead = moving["to_row"].isna()
        dead_rows = moving[dead].drop(columns=["from_row", "to_row", "year"]).assign(dead=True)
        done.append(dead_rows)
        moving = moving[~dead]
        frontier = pd.DataFrame({
            "position": moving["position"].to_numpy(),
            "row": moving["to_row"].astype(np.int64).to_numpy(),
            "years": (moving["years"] + ";" + moving["year"].astype(np.int64).astype(str)).str.lstrip(";").to_numpy(),
            "path": (moving["path"] + ">" + table["code"].to_numpy()[moving["to_row"].astype(np.int64)]).to_numpy(),
        })
    else:  # pragma: no cover - the history has no cycles
        raise DataError(f"{history.source}: successor chains longer than {_MAX_CHAIN} steps (a cycle?)")
    done.append(frontier)
    reached = pd.concat(done, ignore_index=True)
    reached["dead"] = reached.get("dead", pd.Series(False, index=reached.index)).fillna(False).astype(bool)
    # several paths can reach the same successor row: keep one per (position, row)
    alive = reached[~reached["dead"]].drop_duplicates(["position", "row"])
    dead_positions = np.setdiff1d(reached.loc[reached["dead"], "position"].unique(), alive["position"].unique())
    dead_first = reached[reached["dead"] & reached["position"].isin(dead_positions)].drop_duplicates("position")

    out_alive = pd.DataFrame({
        "position": alive["position"].to_numpy(),
        "successor": table["code"].to_numpy()[alive["row"].to_numpy()],
        "successor_name": table["name"].to_numpy()[alive["row"].to_numpy()],
        "successor_row": alive["row"].to_numpy(),
        "change_years": alive["years"].to_numpy(),
        "path": alive["path"].to_numpy(),
    })
    out_dead = pd.DataFrame({
        "position": dead_first["position"].to_numpy(), "successor": None, "successor_name": None,
        "successor_row": -1, "change_years": dead_first["years"].to_numpy(), "path": dead_first["path"].to_numpy(),
    })
    other = np.flatnonzero(~known | not_yet)
    out_other = pd.DataFrame({"position": other, "successor": None, "successor_name": None, "successor_row": -1,
                              "change_years": "", "path": ""})
    result = pd.concat([frame for frame in (out_alive, out_dead, out_other) if len(frame)], ignore_index=True)
    result = result.sort_values(["position", "successor"], kind="stable", na_position="last").reset_index(drop=True)
    positions = result["position"].to_numpy()
    result.insert(1, "code", text.to_numpy()[positions])
    names = np.full(n, None, dtype=object)
    names[known] = table["name"].to_numpy()[start_rows[known]]
    result.insert(2, "name", names[positions])
    result["n_successors"] = result.groupby("position")["successor"].transform("count").astype(np.int64)

    # relation of each mapping
    absorbed = _absorbing_rows(history, result, reference[positions], vintage)
    same_code = result["successor"].to_numpy() == result["code"].to_numpy()
    same_name = result["successor_name"].to_numpy() == result["name"].to_numpy()
    conditions = [
        ~known[positions] & ~is_code[positions],
        ~known[positions],
        not_yet[positions],
        result["successor"].isna().to_numpy(),
        result["n_successors"].to_numpy() > 1,
        absorbed,
        same_code & same_name & (result["change_years"].to_numpy() == ""),
        same_code,
    ]
    choices = ["unknown_code", "unknown_code", "not_yet_valid", "abolished", "split", "merged", "unchanged", "renamed"]
    result["relation"] = np.select(conditions, choices, default="recoded")
    return result[["position", "code", "name", "successor", "successor_name", "n_successors", "relation",
                   "change_years", "path", "successor_row"]]


def _resolve_start(table: pd.DataFrame, codes: pd.Series, reference: np.ndarray, vintage: int,
                   default_reference: bool) -> np.ndarray:
    """Start row of each code: valid at ``reference``, else its latest row starting by then, else the earliest."""
    query = pd.DataFrame({"code": codes.to_numpy(), "ref": reference, "q": np.arange(len(codes))})
    rows = table[["code", "start", "end"]].reset_index()
    merged = query.merge(rows, on="code", how="inner")
    valid = (merged["start"] <= merged["ref"]) & (merged["end"] > merged["ref"])
    started = merged["start"] <= merged["ref"]
    merged["rank"] = np.select([valid, started], [0, 1], default=2)
    # among started rows prefer the latest; among future rows the earliest
    merged["order"] = np.where(merged["rank"] == 2, merged["start"], -merged["start"])
    best = merged.sort_values(["q", "rank", "order"]).drop_duplicates("q")
    out = np.full(len(codes), -1, dtype=np.int64)
    out[best["q"].to_numpy()] = best["row_id"].to_numpy()
    return out


def _absorbing_rows(history: CodeHistory, result: pd.DataFrame, reference: np.ndarray, vintage: int) -> np.ndarray:
    """True where the successor row took over whole or part of another unit in (reference, vintage].

    That is: the successor already existed when a unit was folded into it, or
    it received units from outside the mapped chain.
    """
    succession = history.edges[history.edges["kind"] == "successor"][["from_row", "to_row", "year"]]
    frame = pd.DataFrame({"i": np.arange(len(result)), "to_row": result["successor_row"].to_numpy(),
                          "ref": reference, "path": result["path"].to_numpy()})
    hits = frame.merge(succession, on="to_row", how="inner")
    hits = hits[(hits["year"] > hits["ref"]) & (hits["year"] <= vintage)]
    table = history.table
    from_codes = table["code"].to_numpy()[hits["from_row"].to_numpy()]
    same_code = from_codes == table["code"].to_numpy()[hits["to_row"].to_numpy()]
    pre_existing = table["start"].to_numpy()[hits["to_row"].to_numpy()] < hits["year"].to_numpy()
    on_path = np.array([code in path.split(">") for code, path in zip(from_codes, hits["path"])], dtype=bool)
    absorbing = ~same_code & (pre_existing | ~on_path)
    out = np.zeros(len(result), dtype=bool)
    out[hits.loc[absorbing, "i"].to_numpy()] = True
    return out


def _year(value: object, label: str) -> int:
    try:
        year = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise OptionError(f"{label}: expected a year such as 2020, got {value!r}") from None
    if not 1949 <= year <= 2100:
        raise OptionError(f"{label}: {year} is not a plausible year")
    return year


# ---------------------------------------------------------------- names

def name_stem(names: pd.Series | Sequence[str]) -> pd.Series:
    """A name without its administrative suffix, for tolerant matching.

    Strips whitespace and one suffix (市, 地区, 自治州, 州, 盟, 县, 区, 自治县,
    旗, 自治旗, 林区, 特区, ...); autonomous units also lose their ethnic
    designation, so 恩施土家族苗族自治州, 恩施州 and 恩施 share the stem 恩施.
    A suffix is not stripped when it would leave fewer than two characters
    (和县 stays 和县, 城区 stays 城区).

    Examples
    --------
    >>> name_stem(["恩施土家族苗族自治州", "恩施州", "襄阳市", "和县", "大兴安岭地区", "阿拉善盟"]).tolist()
    ['恩施', '恩施', '襄阳', '和县', '大兴安岭', '阿拉善']
    """
    text = pd.Series(list(names) if not isinstance(names, pd.Series) else names, dtype=object)
    index = text.index
    clean = text.astype("string").str.replace(r"\s+", "", regex=True).fillna("")
    auto = clean.str.extract(_AUTONOMOUS)["stem"]
    stripped = clean.str.replace(_SUFFIX_RE, "", regex=True)
    stem = stripped.where(stripped.str.len() >= 2, clean)
    stem = auto.where(auto.notna() & (auto.str.len() >= 2), stem)
    return pd.Series(stem.to_numpy(dtype=object), index=index, dtype=object)


@functools.lru_cache(maxsize=8)
def _name_table(path: str, aliases_path: str | None) -> pd.DataFrame:
    history = _parse_history(path)
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
    rows = _resolve_rows(history.table, codes, year.to_numpy())
    keep = rows >= 0
    table = history.table
    rows = rows[keep]
    return pd.DataFrame({
        "row": rows, "code": table["code"].to_numpy()[rows], "name": linked["alias"].to_numpy()[keep],
        "level": "prefecture",
        "start": pd.to_numeric(linked["start_year"], errors="coerce").fillna(1981).astype(int).to_numpy()[keep],
        "end": pd.to_numeric(linked["end_year"], errors="coerce").fillna(_OPEN_END - 1).astype(int)
        .to_numpy()[keep] + 1,
        "parent": table["province"].to_numpy()[rows], "province": table["province"].to_numpy()[rows],
        "source": "crosswalk_alias",
    })


def _aliases_path(data_dir: str | os.PathLike[str] | None) -> str | None:
    from shrinkwatch.core.errors import DataDirectoryNotFoundError
    from shrinkwatch.datasets import REGISTRY, dataset_paths

    if "cn-prefecture-crosswalk" not in REGISTRY:
        return None
    try:
        paths = dataset_paths("cn-prefecture-crosswalk", data_dir)
    except DataDirectoryNotFoundError:
        return None
    found = [p for p in paths if p.name == "aliases.csv"]
    return str(found[0].resolve()) if found else None


def match_names(
    names: Sequence[str] | pd.Series,
    parent_names: Sequence[str | None] | pd.Series | None = None,
    vintage: int | None = None,
    *,
    level: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Match Chinese unit names to GB/T 2260 codes.

    Tries, in order: the exact name, then the name's stem (without suffix or
    ethnic designation: 恩施州 = 恩施土家族苗族自治州, 襄阳 = 襄阳市), over
    current and old names from the code history and the prefecture aliases of
    the crosswalk. ``parent_names`` (prefecture or province, any suffix form)
    and ``level`` narrow the candidates. Matched codes are then mapped to
    their successors at ``vintage`` (an old name such as 襄樊市 gives
    420600 襄阳市).

    Parameters
    ----------
    names
        Unit names as written in the source.
    parent_names
        The parent (prefecture or province) of each name, or None.
    vintage
        Year whose codes to return (default: the current codes, 2024).
    level
        ``"province"``, ``"prefecture"`` or ``"county"`` to restrict matches.
    data_dir
        Data directory.

    Returns
    -------
    pandas.DataFrame
        One row per input name, in order: ``name``, ``parent_name``,
        ``code`` (at ``vintage``; missing when unmatched or ambiguous),
        ``matched_name`` (at ``vintage``), ``method`` (``exact``,
        ``old_name``, ``stem``, ``alias``, ``ambiguous``, ``unmatched``) and
        ``candidates`` (``;``-joined codes when ambiguous).

    Examples
    --------
    >>> match_names(["恩施州", "襄樊"], vintage=2020)[["code", "matched_name"]].values.tolist()
    [['422800', '恩施土家族苗族自治州'], ['420600', '襄阳市']]
    """
    if level is not None and level not in _LEVELS.values():
        raise OptionError(f"level: expected one of {sorted(_LEVELS.values())}, got {level!r}")
    history_path = str(_history_path(data_dir).resolve())
    history = _parse_history(history_path)
    target = _year(vintage, "vintage") if vintage is not None else int(history.table["start"].max())
    table = _name_table(history_path, _aliases_path(data_dir))
    if level is not None:
        table = table[table["level"] == level]

    query = pd.DataFrame({"name": pd.Series(list(names), dtype=object)})
    query["name"] = query["name"].astype("string").str.replace(r"\s+", "", regex=True).fillna("").to_numpy(dtype=object)
    if parent_names is None:
        query["parent_name"] = None
    else:
        parents = list(parent_names)
        if len(parents) != len(query):
            raise OptionError(f"parent_names: expected {len(query)} values (one per name), got {len(parents)}")
        query["parent_name"] = pd.Series(parents, dtype=object).to_numpy()
    query["q"] = np.arange(len(query))
    query["stem"] = name_stem(query["name"]).to_numpy()
    query["parent_stem"] = name_stem(query["parent_name"].fillna("")).to_numpy()
    has_parent = query["parent_stem"].ne("").to_numpy()

    found = pd.DataFrame(columns=["q", "row", "method"])
    remaining = query
    for method, left, right in (("exact", "name", "name"), ("stem", "stem", "stem")):
        if remaining.empty:
            break
        hits = remaining[["q", left, "parent_stem"]].rename(columns={"parent_stem": "query_parent"}).merge(
            table, left_on=left, right_on=right, how="inner", suffixes=("_query", ""))
        with_parent = has_parent[hits["q"].to_numpy()]
        parent_ok = ~with_parent | (hits["query_parent"] == hits["parent_stem"]) \
            | (hits["query_parent"] == hits["province_stem"])
        hits = hits[parent_ok.to_numpy()]
        if hits.empty:
            continue
        # a suffix that names a level (州, 地区, 盟 / 县, 区, 旗) prefers candidates of that level
        hinted = _level_hint(query["name"].to_numpy()[hits["q"].to_numpy()])
        fits = (hinted == "") | (hinted == hits["level"].to_numpy())
        any_fit = pd.Series(fits).groupby(hits["q"].to_numpy()).transform("any").to_numpy()
        hits = hits[fits | ~any_fit]
        current = (hits["start"] <= target) & (hits["end"] > target)
        hits = hits.assign(current=current.to_numpy(),
                           method=np.where(hits["source"] == "crosswalk_alias", "alias",
                                           np.where(current, method, "old_name" if method == "exact" else method)))
        # prefer names valid at the vintage, then the most recent
        hits = hits.sort_values(["q", "current", "end"], ascending=[True, False, False])
        best = hits.groupby("q", sort=False).head(1)[["q", "current"]].rename(columns={"current": "best_current"})
        hits = hits.merge(best, on="q")
        hits = hits[hits["current"] == hits["best_current"]]
        found = pd.concat([found, hits[["q", "row", "method"]]], ignore_index=True)
        remaining = remaining[~remaining["q"].isin(hits["q"])]

    found = found.astype({"q": np.int64, "row": np.int64})
    mapped = _map_rows(history, found["row"].to_numpy(), target)
    mapped = mapped.merge(found[["q", "method"]].reset_index(drop=True).rename_axis("position").reset_index(),
                          on="position")
    mapped = mapped[mapped["successor"].notna()]
    grouped = mapped.groupby("q").agg(
        codes=("successor", lambda s: sorted(set(s))), method=("method", "first"),
        names=("successor_name", "first"))
    result = query[["name", "parent_name"]].copy()
    result["code"] = None
    result["matched_name"] = None
    result["method"] = "unmatched"
    result["candidates"] = ""
    if not grouped.empty:
        unique = grouped["codes"].map(len) == 1
        one = grouped[unique]
        many = grouped[~unique]
        result.loc[one.index, "code"] = one["codes"].str[0].to_numpy()
        result.loc[one.index, "matched_name"] = one["names"].to_numpy()
        result.loc[one.index, "method"] = one["method"].to_numpy()
        result.loc[many.index, "method"] = "ambiguous"
        result.loc[many.index, "candidates"] = many["codes"].map(";".join).to_numpy()
    return result.reset_index(drop=True)


# ---------------------------------------------------------------- panels

def _indicator_kind(indicator: str, units_of: dict[str, str]) -> str:
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
      ``pop_resident`` or ``pop_registered``); a year in which one of the
      merged units that existed then has no value gives a missing value
      rather than a partial sum. Other indicators of merged units are left
      missing.
    - Split units (several successors) and abolished units keep their old code:
      their values cannot be apportioned without inventing data; the
      successors of a split get a boundary break in the split year.
    - Unit ids that are not six-digit codes are kept unchanged.

    Every mapping is recorded in ``meta['harmonization']`` (one row per
    original unit: ``old_id``, ``old_name``, ``new_id``, ``new_name``,
    ``relation``, ``change_years``, ``action``); unresolved boundary breaks
    are added to ``meta['boundary_breaks']`` (see :func:`boundary_break_mask`).

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
    vintage = _year(vintage, "vintage")
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
    values = panel.values.copy()
    old_level = values.index.get_level_values("unit_id").astype(str)
    # value rows of ids missing from panel.units keep their id
    new_level = old_to_new.reindex(old_level).fillna(pd.Series(old_level, index=old_level)).to_numpy()
    values.index = pd.MultiIndex.from_arrays([new_level, values.index.get_level_values("year")],
                                             names=["unit_id", "year"])
    units_of = dict(panel.meta.get("units_of", {}))
    weight_column = weight or next((c for c in ("pop_resident", "pop_registered") if c in values.columns), None)
    combined, merge_notes = _combine(values, old_level, history, weight_column, units_of)

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
    previous = panel.meta.get("boundary_breaks")
    if isinstance(previous, pd.DataFrame) and len(previous):
        carried = previous.copy()
        carried["unit_id"] = old_to_new.reindex(carried["unit_id"].astype(str)).fillna(carried["unit_id"]).to_numpy()
        breaks = pd.concat([carried[list(BREAK_COLUMNS)], breaks], ignore_index=True)
    breaks = breaks.drop_duplicates().sort_values(["unit_id", "year"]).reset_index(drop=True)

    meta = dict(panel.meta)
    meta["vintage"] = vintage
    meta["harmonization"] = ledger
    meta["harmonization_notes"] = merge_notes
    meta["boundary_breaks"] = breaks
    meta.setdefault("notes", [])
    meta["notes"] = list(meta["notes"]) + [
        f"Harmonised to GB/T 2260 codes of {vintage}: {int((action == 're-keyed').sum())} re-keyed, "
        f"{int((action == 'merged_sum').sum())} merged into {int(pd.Series(new_id[action == 'merged_sum']).nunique())} "
        f"units, {int((action == 'split_kept').sum())} split (kept, not apportioned), "
        f"{int((action == 'abolished_kept').sum())} abolished without successor."
    ]
    return Panel(units=new_units, values=combined.sort_index(), meta=meta)


def _combine(values: pd.DataFrame, old_ids: pd.Index, history: CodeHistory, weight: str | None,
             units_of: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sum counts and weight shares over rows that now share (unit_id, year)."""
    index = values.index
    duplicated = index.duplicated(keep=False)
    if not duplicated.any():
        return values, pd.DataFrame(columns=["unit_id", "year", "indicator", "note"])
    single = values[~duplicated]
    multi = values[duplicated]
    multi_old = np.asarray(old_ids)[duplicated]
    years = multi.index.get_level_values("year").to_numpy()
    # was the contributing old unit a valid unit in that year? (if not, a missing value is expected)
    span_of = history.table.groupby("code").agg(start=("start", "min"), end=("end", "max"))
    starts = span_of["start"].reindex(multi_old).to_numpy(dtype=float)
    ends = span_of["end"].reindex(multi_old).to_numpy(dtype=float)
    existed = np.where(np.isnan(starts), True, (starts <= years) & (ends > years))

    keys = pd.MultiIndex.from_arrays([multi.index.get_level_values(0), years], names=["unit_id", "year"])
    notes: list[pd.DataFrame] = []
    out = {}
    for column in values.columns:
        column_values = multi[column].to_numpy(dtype=float)
        present = ~np.isnan(column_values)
        frame = pd.DataFrame({"v": np.where(present, column_values, 0.0), "present": present,
                              "expected": existed | present}, index=keys)
        kind = _indicator_kind(column, units_of)
        grouped = frame.groupby(level=[0, 1], sort=False)
        n_present = grouped["present"].sum()
        n_expected = grouped["expected"].sum()
        complete = (n_present == n_expected) & (n_present > 0)
        if kind == "count":
            result = grouped["v"].sum().where(complete)
        elif kind == "share" and weight is not None:
            w = multi[weight].to_numpy(dtype=float)
            frame["w"] = w
            frame["wv"] = frame["v"] * w
            frame["w_ok"] = ~np.isnan(w) | ~present
            g = frame.groupby(level=[0, 1], sort=False)
            weighted = g["wv"].sum() / g["w"].sum()
            result = weighted.where(complete & g["w_ok"].all())
            n_present = n_present.where(g["w_ok"].all(), -1)
        else:
            result = grouped["v"].sum().where(complete & (n_present == 1))
        out[column] = result
        bad = result.isna() & (n_present > 0)
        if bad.any():
            reason = np.where(n_present[bad] < 0, "share not combined: weight missing",
                              np.where(n_present[bad] < n_expected[bad],
                                       "merged units incomplete in this year: not summed",
                                       f"indicator of unknown kind ({column}): merged units not combined"))
            notes.append(pd.DataFrame({"unit_id": bad[bad].index.get_level_values(0),
                                       "year": bad[bad].index.get_level_values(1),
                                       "indicator": column, "note": reason}))
    combined = pd.DataFrame(out)
    combined.index.names = ["unit_id", "year"]
    result = pd.concat([single, combined[values.columns]])
    note_frame = pd.concat(notes, ignore_index=True) if notes else pd.DataFrame(
        columns=["unit_id", "year", "indicator", "note"])
    return result, note_frame


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
    start_year = _year(start_year, "start_year")
    end_year = _year(end_year, "end_year")
    if level == "prefecture":
        paths = {p.name: p for p in _crosswalk_paths(data_dir)}
        out = _prefecture_breaks(str(paths["fixed_boundary_reference_units_2020.csv"].resolve()),
                                 str(paths["entity_id_crosswalk.csv"].resolve()),
                                 str(paths["fixed_boundary_event_flags_1999_2020.csv"].resolve()),
                                 include_district_scope)
    elif level == "county":
        history = history if history is not None else code_history(data_dir)
        out = _county_breaks(history, start_year, end_year, _year(vintage, "vintage"))
    else:
        raise OptionError(f"level: expected 'prefecture' or 'county', got {level!r}")
    out = out[(out["year"] > start_year) & (out["year"] <= end_year)]
    return out.sort_values(["unit_id", "year", "treatment"]).reset_index(drop=True)


def _crosswalk_paths(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    from shrinkwatch.datasets import dataset_paths

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
    mapped = _map_rows(history, frame["unit_row"].to_numpy(), vintage)
    mapped = mapped[mapped["successor"].notna()]
    positions = mapped["position"].to_numpy()
    out = pd.DataFrame({
        "unit_id": mapped["successor"].to_numpy(), "name": mapped["successor_name"].to_numpy(),
        "year": frame["year"].to_numpy()[positions], "treatment": frame["treatment"].to_numpy()[positions],
        "source": "admin_codes:result.csv",
    })
    return out.drop_duplicates(["unit_id", "year", "treatment"])


def _level_hint(names: np.ndarray) -> np.ndarray:
    """'prefecture' for names ending in 州/地区/盟, 'county' for 县/区/旗 endings, else ''."""
    text = pd.Series(names, dtype=object).astype("string").fillna("")
    prefecture = text.str.contains(r"(?:州|地区|盟)$") & ~text.str.contains(r"(?:林区|特区|矿区)$")
    county = text.str.contains(r"(?:县|区|旗)$") & ~prefecture
    return np.select([prefecture.to_numpy(dtype=bool), county.to_numpy(dtype=bool)], ["prefecture", "county"],
                     default="")


def _map_rows(history: CodeHistory, rows: np.ndarray, vintage: int) -> pd.DataFrame:
    """Successors at ``vintage`` of explicit history rows, each started at its own validity."""
    table = history.table
    source = np.minimum(table["end"].to_numpy()[rows] - 1, vintage)
    source = np.maximum(source, table["start"].to_numpy()[rows])
    parts = []
    for year in np.unique(source):
        pick = np.flatnonzero(source == year)
        part = successor_at(table["code"].to_numpy()[rows[pick]].tolist(), vintage,
                            source_year=int(year) if year <= vintage else None, history=history)
        part["position"] = pick[part["position"].to_numpy()]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def with_boundary_breaks(panel: Panel, breaks: pd.DataFrame) -> Panel:
    """A copy of ``panel`` with ``breaks`` added to ``meta['boundary_breaks']``.

    ``breaks`` needs the columns ``unit_id``, ``year`` and ``treatment``
    (as from :func:`boundary_breaks`). Attach breaks only to values on
    as-published boundaries: a panel whose earlier values were already
    adjusted to later boundaries (such as ``cn-prefecture-census``) has no
    break to report.
    """
    missing = [c for c in BREAK_COLUMNS if c not in breaks.columns]
    if missing:
        raise DataError(f"boundary breaks: missing column(s) {missing}; expected {list(BREAK_COLUMNS)}")
    new = breaks[list(BREAK_COLUMNS)].astype({"unit_id": str})
    new["year"] = pd.to_numeric(new["year"], errors="raise").astype(np.int64)
    previous = panel.meta.get("boundary_breaks")
    if isinstance(previous, pd.DataFrame) and len(previous):
        new = pd.concat([previous[list(BREAK_COLUMNS)], new], ignore_index=True)
    meta = dict(panel.meta)
    meta["boundary_breaks"] = new.drop_duplicates().sort_values(["unit_id", "year"]).reset_index(drop=True)
    return replace(panel, meta=meta)


def boundary_break_mask(panel: Panel, start_year: int, end_year: int) -> np.ndarray:
    """Which units have a boundary break in ``(start_year, end_year]``.

    Reads ``panel.meta['boundary_breaks']`` (a DataFrame with ``unit_id``,
    ``year``, ``treatment``; absent means no known breaks). A comparison of
    ``start_year`` and ``end_year`` for a flagged unit compares different
    territories: identification should report ``boundary_change`` for it
    instead of a verdict.

    Parameters
    ----------
    panel
        The panel.
    start_year, end_year
        The compared years, in either order.

    Returns
    -------
    numpy.ndarray
        Boolean, aligned to ``panel.units.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Panel
    >>> units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["370100", "370200"], name="unit_id"))
    >>> values = pd.DataFrame({"pop_resident": [1.0, 2.0]},
    ...                       index=pd.MultiIndex.from_tuples([("370100", 2010), ("370200", 2010)],
    ...                                                       names=["unit_id", "year"]))
    >>> breaks = pd.DataFrame({"unit_id": ["370100"], "year": [2019], "treatment": ["merge_successor"]})
    >>> p = Panel(units, values, {"boundary_breaks": breaks})
    >>> boundary_break_mask(p, 2010, 2020).tolist()
    [True, False]
    >>> boundary_break_mask(p, 2019, 2020).tolist()
    [False, False]
    """
    inside = _breaks_between(panel, start_year, end_year)
    return panel.units.index.astype(str).isin(set(inside["unit_id"])).astype(bool)


def boundary_break_reasons(panel: Panel, start_year: int, end_year: int, lang: str = "en") -> np.ndarray:
    """One sentence per unit naming the breaks in ``(start_year, end_year]`` ("" where none).

    Aligned to ``panel.units.index``; for the ``reason`` of units reported as
    ``boundary_change``.

    Examples
    --------
    >>> import pandas as pd
    >>> from shrinkwatch.core import Panel
    >>> units = pd.DataFrame({"name": ["A", "B"]}, index=pd.Index(["370100", "370200"], name="unit_id"))
    >>> values = pd.DataFrame({"pop_resident": [1.0, 2.0]},
    ...                       index=pd.MultiIndex.from_tuples([("370100", 2010), ("370200", 2010)],
    ...                                                       names=["unit_id", "year"]))
    >>> breaks = pd.DataFrame({"unit_id": ["370100"], "year": [2019], "treatment": ["merge_successor"]})
    >>> boundary_break_reasons(Panel(units, values, {"boundary_breaks": breaks}),
    ...                        2010, 2020).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['Boundary change: merge_successor (2019) between 2010 and 2020; the two years cover
      different territories, so no verdict.', '']
    """
    low, high = sorted((int(start_year), int(end_year)))
    inside = _breaks_between(panel, start_year, end_year)
    out = np.full(len(panel.units), "", dtype=object)
    if inside.empty:
        return out
    text = inside["treatment"].astype(str) + " (" + inside["year"].astype(int).astype(str) + ")"
    joined = text.groupby(inside["unit_id"].astype(str).to_numpy()).agg(lambda t: ", ".join(dict.fromkeys(t)))
    described = pd.Series(panel.units.index.astype(str)).map(joined)
    present = described.notna().to_numpy()
    if lang == "zh":
        sentences = "行政区划调整：" + described[present] + f"，{low}年与{high}年口径不同，无法判定。"
    else:
        sentences = ("Boundary change: " + described[present] + f" between {low} and {high}; the two years "
                     "cover different territories, so no verdict.")
    out[present] = sentences.to_numpy(dtype=object)
    return out


def _breaks_between(panel: Panel, start_year: int, end_year: int) -> pd.DataFrame:
    low, high = sorted((int(start_year), int(end_year)))
    breaks = panel.meta.get("boundary_breaks")
    if breaks is None or len(breaks) == 0:
        return pd.DataFrame(columns=list(BREAK_COLUMNS))
    if isinstance(breaks, list):  # records, as after a round trip through JSON
        breaks = pd.DataFrame(breaks)
    if not isinstance(breaks, pd.DataFrame) or not {"unit_id", "year"} <= set(breaks.columns):
        raise DataError("panel.meta['boundary_breaks'] must be a DataFrame (or list of records) with columns "
                        f"unit_id, year, treatment; got {type(breaks).__name__}")
    if "treatment" not in breaks.columns:
        breaks = breaks.assign(treatment="boundary_change")
    years = pd.to_numeric(breaks["year"], errors="coerce")
    return breaks.loc[(years > low) & (years <= high), list(BREAK_COLUMNS)]
