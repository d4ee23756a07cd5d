"""The GB/T 2260 code history of China's administrative units (a reference table).

China's administrative codes change almost every year: units are renamed,
counties become districts, units merge or split. This module

- reads the code history 1981-2024 (yescallop/areacodes ``result.csv``,
  registered as ``cn-admin-codes``) into a :class:`CodeHistory`;
- maps codes to their successors valid at a target year (:func:`successor_at`),
  following chains of changes, with splits giving several successors and
  mergers mapping many codes to one;
- gives a Chinese unit name's stem without its administrative suffix
  (:func:`name_stem`), for tolerant name matching.

Year semantics follow the code lists, which describe the status at the end of
each year: a code row is *valid in year* ``y`` when ``start <= y < end``; a
change with year ``y`` took effect between the end of ``y - 1`` and the end of
``y``, so it breaks a comparison of ``t1`` and ``t2`` when ``t1 < y <= t2``.
The panel stage that uses these tables is :mod:`shrinkwatch.harmonize`.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.datasets.registry import dataset_paths

__all__ = [
    "CodeHistory", "code_history", "read_code_history", "successor_at", "map_rows", "resolve_rows", "name_stem",
    "checked_year", "LEVELS", "OPEN_END",
]

#: Levels of the code history (Chinese term -> level).
LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}
#: End year of a code still in use.
OPEN_END = 9999
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
    return read_code_history(str(_history_path(data_dir).resolve()))


@functools.lru_cache(maxsize=8)
def read_code_history(path: str) -> CodeHistory:
    """The code history in the file ``path`` (a yescallop/areacodes ``result.csv``), parsed once and cached."""
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    expected = ["代码", "一级行政区", "二级行政区", "名称", "级别", "状态", "启用时间", "变更/弃用时间", "新代码"]
    if list(raw.columns) != expected:
        raise DataError(f"{path}: expected columns {expected}, got {list(raw.columns)}")
    code = raw["代码"].str.strip()
    bad = ~code.str.fullmatch(r"\d{6}") | ~raw["启用时间"].str.fullmatch(r"\d{4}") \
        | ~raw["变更/弃用时间"].str.fullmatch(r"(\d{4})?") | ~raw["级别"].isin(list(LEVELS)) \
        | ~raw["新代码"].str.fullmatch(r"(\d{6}(\[\d{4}\])?)?(;\d{6}(\[\d{4}\])?)*")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, row {row + 2}: malformed code-history record {raw.iloc[row].tolist()}")
    end = raw["变更/弃用时间"].replace("", str(OPEN_END)).astype(int)
    table = pd.DataFrame({
        "code": code.to_numpy(),
        "name": raw["名称"].str.strip().to_numpy(),
        "level": raw["级别"].map(LEVELS).to_numpy(),
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
    renamed = (table["status"].to_numpy() == "变更") & ~has_successor & (table["end"].to_numpy() < OPEN_END) \
        & pd.MultiIndex.from_arrays([table["code"], table["end"]]).isin(continued)
    same_code = pd.DataFrame({"from_row": np.flatnonzero(renamed), "to_code": table["code"].to_numpy()[renamed],
                              "kind": "successor", "year": table["end"].to_numpy()[renamed]})
    edges = pd.concat([edges, same_code], ignore_index=True)
    edges["to_row"] = resolve_rows(table, edges["to_code"], edges["year"])
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
    orphan = table[(level == "prefecture") & (table["end"] < OPEN_END) & ~table.index.isin(listed)]
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
    targets["to_row"] = resolve_rows(table, targets["to_code"], targets["year"].to_numpy())
    # counties of a municipality have no prefecture row: the municipality (PP0000) takes over
    municipal = (targets["to_row"] < 0).to_numpy()
    targets.loc[municipal, "to_code"] = targets.loc[municipal, "to_code"].str[:2] + "0000"
    targets.loc[municipal, "to_row"] = resolve_rows(table, targets.loc[municipal, "to_code"],
                                                     targets.loc[municipal, "year"].to_numpy())
    targets = targets[targets["to_row"] >= 0].drop_duplicates(["from_row", "to_code"])
    return targets[["from_row", "to_code", "kind", "year", "to_row"]]


def _join_codes(edges: pd.DataFrame, n_rows: int, *, with_year: bool) -> np.ndarray:
    out = np.full(n_rows, "", dtype=object)
    text = edges["to_code"] + (("[" + edges["year"].astype(str) + "]") if with_year else "")
    for row, code in zip(edges["from_row"].to_numpy(), text.to_numpy()):  # a few thousand edges, once
        out[row] = code if not out[row] else f"{out[row]};{code}"
    return out


def resolve_rows(table: pd.DataFrame, codes: pd.Series, years: pd.Series | np.ndarray) -> np.ndarray:
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
    vintage = checked_year(vintage, "vintage")
    table = history.table
    text = pd.Series(pd.Index(codes).astype(str), dtype=object).str.strip().str.replace(r"\.0$", "", regex=True)
    n = len(text)
    is_code = text.str.fullmatch(r"\d{6}").to_numpy()
    reference = np.full(n, vintage if source_year is None else checked_year(source_year, "source_year"), dtype=np.int64)
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


def checked_year(value: object, label: str) -> int:
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


def map_rows(history: CodeHistory, rows: np.ndarray, vintage: int) -> pd.DataFrame:
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

