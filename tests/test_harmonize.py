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


def _jinan_laiwu(laiwu_years, laiwu_gaps=()):
    """济南市 2015-2019 and 莱芜市 (folded into 济南 in 2018 by the code history, 2019 by the crosswalk) in
    ``laiwu_years``, with missing cells in ``laiwu_gaps``; and 太原市, which no change touched."""
    rows = [("370100", y, 7.0e6 + 1e4 * (y - 2015), 10.0) for y in range(2015, 2020)]
    rows += [("371200", y, np.nan if y in laiwu_gaps else 1.3e6, 20.0) for y in laiwu_years]
    rows += [("140100", y, 4.3e6, 12.0) for y in range(2015, 2020)]
    values = pd.DataFrame(rows, columns=["unit_id", "year", "pop_resident", "share_65plus"]).set_index(
        ["unit_id", "year"])
    units = pd.DataFrame({"name": ["济南市", "莱芜市", "太原市"]}, index=pd.Index(["370100", "371200", "140100"],
                                                                          name="unit_id"))
    return Panel(units, values, {"id": "outside", "units_of": {"pop_resident": "persons", "share_65plus": "percent"}})


def test_a_merged_unit_lacking_a_part_is_missing_never_a_partial_sum(history, data_dir):
    """Issue 10 item 4: 莱芜's 2018 row is absent and its 2016 cell empty: 济南 2016 and 2018 are missing (not
    济南 alone, a fake 15% fall), with a ledger tally and a warning naming the unit, the years and the part."""
    panel = harmonize.to_vintage(_jinan_laiwu(range(2015, 2018), laiwu_gaps=(2016,)), 2020, data_dir=data_dir)
    jinan = panel.values.loc["370100", "pop_resident"]
    # by hand: 2015 and 2017 both parts; 2016 莱芜 blank; 2018 莱芜 existed part of the year, no value;
    # 2019 莱芜 was gone: 济南 alone is the merged territory
    assert jinan.loc[2015] == 7.0e6 + 1.3e6 and jinan.loc[2017] == 7.02e6 + 1.3e6
    assert np.isnan(jinan.loc[2016]) and np.isnan(jinan.loc[2018])
    assert jinan.loc[2019] == 7.04e6
    share = panel.values.loc["370100", "share_65plus"]
    assert share.loc[2015] == pytest.approx((10 * 7.0e6 + 20 * 1.3e6) / 8.3e6)
    assert np.isnan(share.loc[2016]) and np.isnan(share.loc[2018])
    assert panel.values.loc["140100", "pop_resident"].tolist() == [4.3e6] * 5  # untouched
    notes = panel.meta.harmonization_notes
    assert sorted(zip(notes["year"], notes["indicator"])) == [(2016, "pop_resident"), (2016, "share_65plus"),
                                                              (2018, "pop_resident"), (2018, "share_65plus")]
    assert set(notes["unit_id"]) == {"370100"}
    by_key = notes.set_index(["year", "indicator"])
    # 2016's 65+ share is there for both parts, but 莱芜's population (its weight) is not
    assert by_key.loc[(2016, "share_65plus"), "note"] == "share not combined: the weight is missing for a part"
    assert by_key.drop(index=[(2016, "share_65plus")])["missing_parts"].tolist() == ["371200"] * 3
    ledger = panel.ledger
    assert ledger.tallies == {"values of merged units left missing (harmonised to 2020)": 4}
    assert len(ledger.warnings) == 2  # one per unit and reason
    partial = next(w for w in ledger.warnings if "not a partial sum" in w)
    assert "370100 济南市" in partial and "3 value(s): pop_resident, share_65plus in 2016, 2018" in partial
    assert "no value from 371200 莱芜市" in partial
    said = ledger.warnings_in("zh")  # the same warnings in Chinese (the ledger stores the catalogue's English)
    assert ("按 2020 年区划调整：370100 济南市：并入的各部分在该年并非都有数值：记为缺失，不作部分加总（3 个值：pop_resident, "
            "share_65plus，年份 2016, 2018；371200 莱芜市 无数值）") in said
    assert any("比例未合并：某一部分缺少权重" in w for w in said)
    from shrinkwatch.report.page import _dataset_notes

    assert any(n.startswith("已按 2020 年的 GB/T 2260 代码调整区划：") for n in _dataset_notes(panel.meta, "zh"))
    assert any(n.startswith("Harmonised to GB/T 2260 codes of 2020: ") for n in panel.meta.notes)
    assert "values of merged units left missing" in ledger.summary()
    # a 莱芜 value for 2018 is summed; a 2019 value (after the merger) is summed too, never dropped
    complete = harmonize.to_vintage(_jinan_laiwu(range(2015, 2020)), 2020, data_dir=data_dir)
    assert complete.values.loc[("370100", 2018), "pop_resident"] == 7.03e6 + 1.3e6
    assert complete.meta.harmonization_notes.empty and complete.ledger.tallies == {}


def test_no_partial_sum_on_the_year_a_district_was_folded_in(history):
    """崇文区 was folded into the existing 东城区 in 2010: without a 崇文 value for 2010, 东城's 2010 value is
    missing; from 2011 东城 alone is the merged district."""
    units = pd.DataFrame({"name": ["东城区", "崇文区"]}, index=pd.Index(["110101", "110103"], name="unit_id"))
    index = pd.MultiIndex.from_tuples([("110101", 2009), ("110101", 2010), ("110101", 2011), ("110103", 2009)],
                                      names=["unit_id", "year"])
    panel = Panel(units, pd.DataFrame({"pop_resident": [600.0, 610.0, 920.0, 300.0]}, index=index),
                  {"id": "beijing", "units_of": {"pop_resident": "persons"}})
    done = harmonize.harmonize_panel(panel, 2020, history=history).values["pop_resident"]
    assert done.loc[("110101", 2009)] == 900.0 and np.isnan(done.loc[("110101", 2010)])
    assert done.loc[("110101", 2011)] == 920.0


def test_harmonise_refuses_two_rows_for_one_unit_and_year(history):
    units = pd.DataFrame({"name": ["东城区", "崇文区"]}, index=pd.Index(["110101", "110103"], name="unit_id"))
    index = pd.MultiIndex.from_tuples([("110101", 2009), ("110103", 2009), ("110103", 2009)], names=["unit_id", "year"])
    panel = Panel(units, pd.DataFrame({"pop_resident": [600.0, 300.0, 310.0]}, index=index), {"id": "dup"})
    with pytest.raises(DataError, match="more than one row for unit '110103' in 2009"):
        harmonize.harmonize_panel(panel, 2020, history=history)


# ---------------------------------------------------------------- boundary breaks

def test_prefecture_breaks_from_the_crosswalk(data_dir, history):
    breaks = harmonize.boundary_breaks("prefecture", start_year=1999, end_year=2020, data_dir=data_dir)
    jinan = breaks[breaks["unit_id"] == "370100"]
    assert jinan[["name", "year", "treatment"]].values.tolist() == [["济南市", 2019, "merge_successor"]]
    reference = pd.read_csv(data_dir / "china" / "prefecture_crosswalk" / "fixed_boundary_reference_units_2020.csv",
                            dtype=str, keep_default_na=False)
    from_crosswalk = breaks[breaks["source"].str.startswith("prefecture_crosswalk")]
    assert len(from_crosswalk) == int((reference["break_years"] != "").sum()) == 19
    flags = pd.read_csv(data_dir / "china" / "prefecture_crosswalk" / "fixed_boundary_event_flags_1999_2020.csv")
    assert len(from_crosswalk) == int(flags["whole_city_break_flag"].sum())
    # whole counties that moved between prefectures without a crosswalk break are added from the code history
    added = breaks[breaks["source"].str.startswith("admin_codes")]
    assert len(breaks) == 19 + len(added) and len(added) == 10
    anqing = added[added["unit_id"] == "340800"]
    assert anqing[["name", "year", "treatment"]].values.tolist() == [["安庆市", 2015, "transfer_out"]]
    table = history.table
    zongyang = table[table["code"] == "340823"]  # 枞阳县 of 安庆市 until 2015, then 340722 of 铜陵市
    assert zongyang[["name", "end", "successors"]].values.tolist() == [["枞阳县", 2015, "340722"]]
    district = harmonize.boundary_breaks("prefecture", include_district_scope=True, data_dir=data_dir)
    assert (district["treatment"] == "district_scope_jump").sum() > 0


def _codes_by_name(data_dir):
    folder = data_dir / "china" / "prefecture_crosswalk"
    reference = pd.read_csv(folder / "fixed_boundary_reference_units_2020.csv", dtype=str, keep_default_na=False)
    ids = pd.read_csv(folder / "entity_id_crosswalk.csv", dtype=str, keep_default_na=False)
    linked = reference.merge(ids[["entity_id", "legacy_entity_id"]], on="entity_id")
    return dict(zip(linked["canonical_name"], linked["legacy_entity_id"].str[1:]))


def _described_moves(data_dir):
    """(year, sender name or None, receiver name, kind) of every move between prefectures 2000-2020 that the
    crosswalk's event tables describe in words; kind is what the receiver became: transfer_in (the sender goes
    on), merge_successor (the sender was abolished into it) or split_successor (divided among several)."""
    import re

    folder = data_dir / "china" / "prefecture_crosswalk"
    county = pd.read_csv(folder / "county_administrative_events_1987_2026.csv", dtype=str, keep_default_na=False)
    prefecture = pd.read_csv(folder / "prefecture_administrative_events_1983_2026.csv", dtype=str,
                             keep_default_na=False)
    moves = set()
    whole_county = re.compile(r"将(?:原由)?(?P<src>[^，；、]+?市)(?:代管的县级|的)?(?P<county>[^，；、]+?[县市])"
                              r"(?:改由|划归)(?P<dst>[^，；、]+?市)(?:代管|管辖)")
    abolished = re.compile(r"撤销(?:地级)?(?P<src>[^，；]+?(?:市|地区))，(?:将)?其所辖(?:区域|市县)划归(?P<dst>[^，；]+?)(?:管辖|；|。|$)")
    # the county table's descriptive cell where it has one (the row text otherwise), the prefecture table's text
    events = pd.concat([
        pd.DataFrame({"year": county["year"], "event_type": county["event_type"],
                      "text": county["change_description"].where(county["change_description"] != "",
                                                                 county["description"])}),
        pd.DataFrame({"year": prefecture["year"], "event_type": prefecture["event_type"],
                      "text": prefecture["description"]}),
    ])
    for row in events.itertuples():
        year, text = int(row.year), row.text
        if not 2000 <= year <= 2020:
            continue
        if (match := whole_county.search(text)):
            moves.add((year, match["src"], match["dst"], "transfer_in"))
        elif (match := abolished.search(text)):
            moves.add((year, None, match["dst"], "merge_successor"))
        elif row.event_type == "split" and (match := re.search(r"原辖县区分别划归(?P<dsts>[^，]+)", text)):
            moves.update((year, None, name + "市", "split_successor") for name in match["dsts"].split("、"))
        elif row.event_type == "split" and (match := re.search(r"撤销\S+?地区并设立地级(?P<dst>\S+?市)", text)):
            moves.add((year, None, match["dst"], "split_successor"))
        elif row.event_type == "establish" and "划入" in text and (match := re.search(r"设立地级(?P<dst>\S+?市)", text)):
            moves.add((year, None, match["dst"], "transfer_in"))
    return moves


def test_break_labels_agree_with_every_move_the_crosswalk_describes(data_dir):
    """Issue 10 item 4: the crosswalk's own column labels a break by the unit's formation path, so 资阳市, which lost
    简阳市 to 成都市 in 2016, is 'transfer_in' there. Every move the crosswalk's event tables describe in words
    (parsed here from the description, independently of the code history the labels come from) must be a break
    of the receiver labelled as what it received, and of a sender that goes on labelled transfer_out."""
    codes = _codes_by_name(data_dir)
    reference = pd.read_csv(data_dir / "china" / "prefecture_crosswalk" / "fixed_boundary_reference_units_2020.csv",
                            dtype=str, keep_default_na=False).set_index("canonical_name")
    assert reference.loc["资阳市", "formation_path"] == "transfer_in"  # the mislabel in the source
    breaks = harmonize.boundary_breaks("prefecture", start_year=1999, end_year=2020, data_dir=data_dir)
    labels = breaks.groupby(["unit_id", "year"])["treatment"].agg(set)

    def label_near(name, year):
        found = [labels.get((codes[name], y), set()) for y in (year, year + 1, year - 1)]
        return next((f for f in found if f), set())

    described = _described_moves(data_dir)
    checked = 0
    for year, sender, receiver, kind in sorted(described, key=str):
        receiver_labels = label_near(receiver, year)
        assert any(kind in label.split("+") for label in receiver_labels), (year, receiver, kind, receiver_labels)
        if sender is not None and sender in codes:
            sender_labels = label_near(sender, year)
            assert any("transfer_out" in label.split("+") for label in sender_labels), (year, sender, sender_labels)
            assert not any("transfer_in" in label.split("+") for label in sender_labels), (year, sender)
        checked += 1
    # 13 described moves: whole counties (枞阳, 寿县, 简阳, 公主岭), 莱芜 (in both tables' years), 巢湖 to three,
    # 柳州/南宁地区, 伊犁地区, 中卫
    assert checked == len(described) == 13
    assert (2016, "资阳市", "成都市", "transfer_in") in described
    assert labels[("512000", 2016)] == {"transfer_out"} and labels[("510100", 2016)] == {"transfer_in"}


def test_an_ingested_panel_says_which_side_of_a_transfer_a_unit_was_on(data_dir):
    """资阳 lost 简阳 to 成都 in 2016: a 2015-2017 comparison has no verdict, and the reasons say transfer_out / _in."""
    from shrinkwatch import identify

    units = pd.DataFrame({"name": ["资阳市", "成都市"]}, index=pd.Index(["512000", "510100"], name="unit_id"))
    index = pd.MultiIndex.from_product([["512000", "510100"], [2015, 2017]], names=["unit_id", "year"])
    values = pd.DataFrame({"pop_resident": [3.6e6, 2.6e6, 14.6e6, 16.0e6]}, index=index)
    panel = harmonize.to_vintage(Panel(units, values, {"id": "sichuan"}), 2020, data_dir=data_dir)
    table = identify(panel, "census-decline", lang="en", stable_clusters=False).table
    assert table["status"].tolist() == ["boundary_change", "boundary_change"]
    assert "transfer_out (2016)" in table.loc["512000", "reason"]
    assert "transfer_in (2016)" in table.loc["510100", "reason"]
    # by default the two are judged together as one stable cluster: (3.6 + 14.6) -> (2.6 + 16.0) million, a rise
    clustered = identify(panel, "census-decline", lang="en").table
    assert clustered["status"].tolist() == ["not_shrinking", "not_shrinking"]


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
