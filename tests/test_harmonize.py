"""shrinkwatch.harmonize on the real GB/T 2260 code history and the real prefecture crosswalk.

Every case below was checked in china/admin_codes/result.csv first:
- 110103 崇文区 (1981-2010) -> 110101 东城区 (merger, 2010)
- 420600 襄樊市 -> 襄阳市 (rename, same code, 2010)
- 530800 思茅市 -> 普洱市 (rename, same code, 2007)
- 110228 密云县 -> 110118 密云区 (county-to-district conversion, 2015)
- 371200 莱芜市 (abolished 2019, listed as ending 2018): 371202 莱城区 -> 370116 莱芜区, 371203 钢城区 -> 370117
- 341400 巢湖市 (prefecture, abolished 2011): counties to 合肥 340100, 芜湖 340200, 马鞍山 340500;
  341402 居巢区 -> 340181 巢湖市 (county-level)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shrinkwatch import harmonize
from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError


@pytest.fixture(scope="module")
def history(data_dir):
    return harmonize.code_history(data_dir)


def _one(history, code, vintage, source_year=None):
    result = harmonize.successor_at([code], vintage, source_year=source_year, history=history)
    return result


# ---------------------------------------------------------------- code history

def test_history_reproduces_every_year_end_list(history, data_dir):
    """Rows valid in year y are exactly the codes and names of data/y.txt, for all 44 years."""
    for year in range(1981, 2025):
        listed = pd.read_csv(data_dir / "china" / "admin_codes" / "data" / f"{year}.txt", sep=" ", header=None,
                             names=["code", "name"], dtype=str)
        valid = history.valid_at(year).set_index("code")["name"]
        assert set(valid.index) == set(listed["code"]), year
        assert (valid.reindex(listed["code"]).to_numpy() == listed["name"].to_numpy()).all(), year


def test_history_is_cached_per_data_dir(data_dir, history):
    assert harmonize.code_history(data_dir) is history


def test_rename_same_code(history):
    assert history.names_at(["420600"], 2009).tolist() == ["襄樊市"]
    assert history.names_at(["420600"], 2010).tolist() == ["襄阳市"]
    row = _one(history, "420600", 2020, source_year=2009).iloc[0]
    assert (row["successor"], row["successor_name"], row["relation"]) == ("420600", "襄阳市", "renamed")
    assert row["change_years"] == "2010"
    assert history.names_at(["530800"], 2006).tolist() == ["思茅市"]
    assert history.names_at(["530800"], 2007).tolist() == ["普洱市"]
    assert _one(history, "530800", 2020, source_year=2006).iloc[0]["relation"] == "renamed"


def test_county_to_district_conversion(history):
    row = _one(history, "110228", 2020, source_year=2014).iloc[0]
    assert (row["name"], row["successor"], row["successor_name"]) == ("密云县", "110118", "密云区")
    assert row["relation"] == "recoded" and row["change_years"] == "2015"
    # before the conversion the county is its own successor
    assert _one(history, "110228", 2014, source_year=2014).iloc[0]["relation"] == "unchanged"


def test_merger_into_existing_district(history):
    result = harmonize.successor_at(["110103", "110101", "110104"], 2020, source_year=2009, history=history)
    assert result["successor"].tolist() == ["110101", "110101", "110102"]
    assert result["relation"].tolist() == ["merged", "merged", "merged"]
    # before 2010 崇文区 still exists
    assert _one(history, "110103", 2009, source_year=2009).iloc[0]["relation"] == "unchanged"


def test_prefecture_merger_laiwu_into_jinan(history):
    result = harmonize.successor_at(["371200", "371202", "371203"], 2020, source_year=2017, history=history)
    assert result["successor"].tolist() == ["370100", "370116", "370117"]
    assert result["successor_name"].tolist() == ["济南市", "莱芜区", "钢城区"]
    assert result["relation"].tolist()[0] == "merged"
    assert history.table.loc[history.table["code"] == "371200", "end"].tolist() == [2018]


def test_split_chaohu_and_chain(history):
    chaohu = _one(history, "341400", 2020, source_year=2010)
    assert sorted(chaohu["successor"]) == ["340100", "340200", "340500"]
    assert set(chaohu["relation"]) == {"split"} and set(chaohu["n_successors"]) == {3}
    # 巢湖地区 (1981-1999) -> 巢湖市 (1999-2011) -> split: a two-step chain
    chain = _one(history, "342600", 2020, source_year=1990)
    assert set(chain["change_years"]) == {"1999;2011"}
    assert set(chain["path"].str.split(">").str[1]) == {"341400"}
    # the prefecture's district became the county-level city 巢湖市 of 合肥
    row = _one(history, "341402", 2020, source_year=2010).iloc[0]
    assert (row["successor"], row["successor_name"]) == ("340181", "巢湖市")


def test_unknown_not_yet_valid_and_input_order(history):
    result = harmonize.successor_at(["999999", "370116", "x", "110101"], 2010, history=history)
    assert result["position"].tolist() == [0, 1, 2, 3]
    assert result["relation"].tolist() == ["unknown_code", "not_yet_valid", "unknown_code", "unchanged"]
    assert result["successor"].isna().tolist() == [True, True, True, False]


def test_all_codes_at_once_every_successor_valid(history):
    codes = history.table["code"].unique()
    result = harmonize.successor_at(codes, 2024, history=history)
    assert set(result["position"]) == set(range(len(codes)))
    mapped = result.dropna(subset=["successor"])
    valid = set(history.valid_at(2024)["code"])
    assert mapped["successor"].isin(valid).all()
    assert (mapped["relation"] != "unknown_code").all()


def test_bad_vintage_is_an_option_error(history):
    with pytest.raises(OptionError, match="vintage"):
        harmonize.successor_at(["110101"], "twenty", history=history)


# ---------------------------------------------------------------- names

def test_name_stem_suffix_variants():
    stems = harmonize.name_stem(["恩施土家族苗族自治州", "恩施州", "恩施", "襄阳市", "阿拉善盟", "大兴安岭地区",
                                 "和县", "土默特左旗", "峨边彝族自治县", "神农架林区", " 北京市 "])
    assert stems.tolist() == ["恩施", "恩施", "恩施", "襄阳", "阿拉善", "大兴安岭", "和县", "土默特左", "峨边",
                              "神农架", "北京"]


def test_match_names_suffixes_old_names_and_aliases(data_dir):
    result = harmonize.match_names(
        ["恩施州", "襄樊市", "襄樊", "大理州", "大理", "海淀", "崇文区", "巢湖市", "锡林郭勒", "不存在的地方"],
        [None, None, None, None, "大理州", "北京市", "北京", None, None, None],
        vintage=2020, data_dir=data_dir)
    assert result["code"].tolist() == ["422800", "420600", "420600", "532900", "532901", "110108", "110101",
                                       "340181", "152500", None]
    assert result["matched_name"].tolist()[:2] == ["恩施土家族苗族自治州", "襄阳市"]
    assert result["method"].tolist()[1] == "old_name"
    assert result["method"].tolist()[-1] == "unmatched"


def test_match_names_ambiguous_and_level(data_dir):
    # 思茅市 was both a prefecture (now 普洱市) and a county-level city (now 思茅区)
    result = harmonize.match_names(["思茅市"], vintage=2020, data_dir=data_dir)
    assert result["method"].iloc[0] == "ambiguous"
    assert result["candidates"].iloc[0] == "530800;530802"
    prefecture = harmonize.match_names(["思茅市"], vintage=2020, level="prefecture", data_dir=data_dir)
    assert (prefecture["code"].iloc[0], prefecture["matched_name"].iloc[0]) == ("530800", "普洱市")


# ---------------------------------------------------------------- panels

def _toy_panel():
    ids = ["110101", "110103", "110102", "110104", "371202", "341424", "420600", "R01"]
    names = ["东城区", "崇文区", "西城区", "宣武区", "莱城区", "和县", "襄樊市", "not a code"]
    units = pd.DataFrame({"name": names}, index=pd.Index(ids, name="unit_id"))
    index = pd.MultiIndex.from_product([ids, [2009, 2020]], names=["unit_id", "year"])
    values = pd.DataFrame({"pop_resident": 100.0, "share_65plus": 10.0, "gdp_index": 1.0}, index=index)
    values.loc[("110103", 2009), ["pop_resident", "share_65plus"]] = [300.0, 20.0]
    # the merged-away districts have no rows after the merger
    values = values.drop([("110103", 2020), ("110104", 2020)])
    # 宣武区 has no 2009 value for 65+: the 西城区 share cannot be combined that year
    values.loc[("110104", 2009), "share_65plus"] = np.nan
    meta = {"id": "toy", "units_of": {"pop_resident": "persons", "share_65plus": "percent"}}
    return Panel(units, values, meta)


def test_harmonize_panel_sums_merged_units(history):
    panel = harmonize.harmonize_panel(_toy_panel(), 2020, source_year=2009, history=history)
    assert list(panel.units.index) == ["110101", "110102", "370116", "341424", "420600", "R01"]
    assert panel.units.loc["420600", "name"] == "襄阳市"
    assert panel.units.loc["110101", "harmonized_from"] == "110101;110103"
    dongcheng = panel.values.loc["110101"]
    assert dongcheng.loc[2009, "pop_resident"] == 400.0
    assert dongcheng.loc[2009, "share_65plus"] == pytest.approx((10 * 100 + 20 * 300) / 400)
    assert dongcheng.loc[2020, "pop_resident"] == 100.0  # only 东城区 existed in 2020
    assert np.isnan(dongcheng.loc[2009, "gdp_index"])  # unknown kind: not combined
    xicheng = panel.values.loc["110102"]
    assert xicheng.loc[2009, "pop_resident"] == 200.0
    assert np.isnan(xicheng.loc[2009, "share_65plus"])  # one part missing: no partial share
    notes = panel.meta.harmonization_notes
    assert {"110101", "110102"} <= set(notes["unit_id"])
    # the ledger has one row per original unit and says what happened
    ledger = panel.meta.harmonization.set_index("old_id")
    assert len(ledger) == 8
    assert ledger.loc["110103", "action"] == "merged_sum"
    assert ledger.loc["371202", ["new_id", "action"]].tolist() == ["370116", "re-keyed"]
    assert ledger.loc["341424", ["action", "successors"]].tolist() == ["split_kept", "340207;340523"]
    assert ledger.loc["R01", "action"] == "not_a_code_kept"
    # the split is flagged for identification
    breaks = panel.meta.boundary_breaks
    assert ((breaks["unit_id"] == "341424") & (breaks["year"] == 2011)).any()
    mask = harmonize.boundary_break_mask(panel, 2009, 2020)
    assert panel.units.index[mask].tolist() == ["341424"]


def test_harmonize_panel_leaves_input_untouched(history):
    toy = _toy_panel()
    before = toy.values.copy()
    harmonize.harmonize_panel(toy, 2020, history=history)
    pd.testing.assert_frame_equal(toy.values, before)
    assert toy.meta.harmonization is None


# ---------------------------------------------------------------- boundary breaks

def test_prefecture_breaks_from_the_crosswalk(data_dir):
    breaks = harmonize.boundary_breaks("prefecture", start_year=1999, end_year=2020, data_dir=data_dir)
    jinan = breaks[breaks["unit_id"] == "370100"]
    assert jinan[["name", "year", "treatment"]].values.tolist() == [["济南市", 2019, "merge_successor"]]
    reference = pd.read_csv(data_dir / "china" / "prefecture_crosswalk" / "fixed_boundary_reference_units_2020.csv",
                            dtype=str, keep_default_na=False)
    assert len(breaks) == int((reference["break_years"] != "").sum()) == 19
    flags = pd.read_csv(data_dir / "china" / "prefecture_crosswalk" / "fixed_boundary_event_flags_1999_2020.csv")
    assert len(breaks) == int(flags["whole_city_break_flag"].sum())
    district = harmonize.boundary_breaks("prefecture", include_district_scope=True, data_dir=data_dir)
    assert (district["treatment"] == "district_scope_jump").sum() > 0


def test_boundary_break_mask_on_the_prefecture_census(census_panel, data_dir):
    breaks = harmonize.boundary_breaks("prefecture", data_dir=data_dir)
    panel = harmonize.with_boundary_breaks(census_panel, breaks)
    assert census_panel.meta.boundary_breaks is None
    mask = harmonize.boundary_break_mask(panel, 2010, 2020)
    assert mask.shape == (len(panel.units),) and mask.dtype == bool
    flagged = set(panel.units.index[mask])
    assert {"370100", "340100", "220100", "510100"} <= flagged  # 2019, 2011, 2020, 2016
    assert "110100" not in flagged and "230100" not in flagged
    expected = set(breaks.loc[(breaks["year"] > 2010) & (breaks["year"] <= 2020), "unit_id"])
    assert flagged == expected & set(panel.units.index)
    reasons = harmonize.boundary_break_reasons(panel, 2010, 2020)
    assert reasons[list(panel.units.index).index("370100")].startswith("Boundary change: merge_successor (2019)")
    assert (reasons != "").sum() == mask.sum()
    records = Panel(panel.units, panel.values, {"boundary_breaks": breaks.to_dict("records")})
    assert (harmonize.boundary_break_mask(records, 2010, 2020) == mask).all()
    # a comparison that does not span the break is not flagged
    later = set(panel.units.index[harmonize.boundary_break_mask(panel, 2019, 2020)])
    assert "370100" not in later and "220100" in later


def test_boundary_break_mask_without_breaks_and_bad_meta(census_panel):
    assert not harmonize.boundary_break_mask(census_panel, 2010, 2020).any()
    with pytest.raises(DataError, match="boundary_breaks"):  # refused when the panel is made, not later
        Panel(census_panel.units, census_panel.values, {"boundary_breaks": "370100 in 2019"})
    with pytest.raises(DataError, match="boundary_breaks"):
        Panel(census_panel.units, census_panel.values, {"boundary_breaks": pd.DataFrame({"code": ["370100"]})})


def test_county_breaks_from_the_code_history(history):
    breaks = harmonize.boundary_breaks("county", start_year=2010, end_year=2020, history=history)
    assert set(breaks["treatment"]) == {"merge", "split", "partial_transfer"}
    # 和县 was divided in 2011 between 鸠江区 (芜湖) and the new 和县 (马鞍山)
    split = breaks[breaks["treatment"] == "split"]
    assert {"340207", "340523"} <= set(split.loc[split["year"] == 2011, "unit_id"])
    assert breaks["year"].gt(2010).all() and breaks["year"].le(2020).all()
    # 东城区 absorbed 崇文区 in 2010
    wider = harmonize.boundary_breaks("county", start_year=2009, end_year=2020, history=history)
    merge = wider[wider["treatment"] == "merge"]
    assert ((merge["unit_id"] == "110101") & (merge["year"] == 2010)).any()
