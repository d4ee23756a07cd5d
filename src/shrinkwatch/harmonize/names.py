"""Chinese unit names to GB/T 2260 codes, tolerant of suffix variants and old names."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import OptionError
from shrinkwatch.datasets.cn_codes import (
    LEVELS,
    checked_year,
    code_history,
    map_rows,
    name_stem,
)
from shrinkwatch.datasets.cn_crosswalk import name_table

__all__ = ["match_names"]


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
    if level is not None and level not in LEVELS.values():
        raise OptionError(f"level: expected one of {sorted(LEVELS.values())}, got {level!r}")
    history = code_history(data_dir)
    target = checked_year(vintage, "vintage") if vintage is not None else int(history.table["start"].max())
    table = name_table(data_dir)
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
    mapped = map_rows(history, found["row"].to_numpy(), target)
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


def _level_hint(names: np.ndarray) -> np.ndarray:
    """'prefecture' for names ending in 州/地区/盟, 'county' for 县/区/旗 endings, else ''."""
    text = pd.Series(names, dtype=object).astype("string").fillna("")
    prefecture = text.str.contains(r"(?:州|地区|盟)$") & ~text.str.contains(r"(?:林区|特区|矿区)$")
    county = text.str.contains(r"(?:县|区|旗)$") & ~prefecture
    return np.select([prefecture.to_numpy(dtype=bool), county.to_numpy(dtype=bool)], ["prefecture", "county"],
                     default="")

