"""cn-county-census: the two county workbooks, matched 2010 -> 2020 through the code history."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from shrinkwatch import harmonize, identify, load
from shrinkwatch.datasets.cn_county import county_kind

from conftest import run_cli


@pytest.fixture(scope="module")
def county(data_dir):
    return load("cn-county-census", data_dir)


@pytest.fixture(scope="module")
def matching(county):
    return county.meta.matching


@pytest.mark.slow
def test_units_and_values(county):
    assert county.units.index.name == "unit_id"
    assert county.units.index.str.fullmatch(r"\d{6}").all()
    assert len(county.units) == 2948  # 2,943 county-level codes + 5 prefecture-level cities without districts
    assert county.years == [2010, 2020]
    assert county.units["kind"].value_counts()["functional_zone"] == 100
    # 2020 values as published: the whole 2020 sheet's county-level rows
    assert county.values.xs(2020, level="year")["pop_resident"].notna().all()
    dongcheng = county.values.loc["110101"]
    assert dongcheng.loc[2020, "pop_resident"] == 708829
    # 崇文区 merged into 东城区 in 2010: the 2010 value is the sum, the 65+ share population-weighted
    assert dongcheng.loc[2010, "pop_resident"] == 573180 + 346073
    assert dongcheng.loc[2010, "share_65plus"] == pytest.approx((12.22 * 573180 + 12.46 * 346073) / 919253)
    assert county.units.loc["110101", ["name", "parent_id", "parent_name", "kind", "region"]].tolist() == \
        ["东城区", "110100", "北京市", "district", "East"]


def test_kinds():
    codes = pd.Series(["110101", "130181", "130121", "130324", "150121", "150723", "429021", "520203", "441900",
                       "220171"])
    names = pd.Series(["东城区", "辛集市", "井陉县", "青龙满族自治县", "土默特左旗", "鄂伦春自治旗", "神农架林区",
                       "六枝特区", "东莞市", "长春经济技术开发区"])
    assert county_kind(codes, names, codes == "220171").tolist() == [
        "district", "county_level_city", "county", "autonomous_county", "banner", "autonomous_banner",
        "forestry_district", "special_district", "city_without_districts", "functional_zone"]


@pytest.mark.slow
def test_match_rate(county):
    summary = county.meta.match_summary
    assert summary["match_rate"] >= 0.97
    assert summary["matched_2020_administrative"] == 2770 and summary["units_2020_administrative"] == 2848
    assert county.ledger.tallies["2020 units matched to a 2010 unit"] == summary["matched_2020"]


@pytest.mark.slow
def test_every_2020_unit_matched_or_listed_with_a_reason(county, matching):
    side = matching[matching["side"] == "2020"]
    assert side["unit_id"].tolist() == county.units.index.tolist()
    matched, unmatched = side[side["matched"]], side[~side["matched"]]
    assert len(matched) + len(unmatched) == len(county.units)
    assert (unmatched["reason"].str.len() > 10).all()
    assert set(unmatched["relation"]) <= {"split", "new", "incomplete"}
    # matched units have a 2010 population, unmatched ones none
    pop_2010 = county.values.xs(2010, level="year")["pop_resident"].reindex(county.units.index)
    assert pop_2010[matched["unit_id"]].notna().all()
    assert pop_2010[unmatched["unit_id"]].isna().all()
    # the ledger counts every unmatched 2020 unit too
    assert county.ledger.tallies["2020 units without a 2010 match"] == len(unmatched)


@pytest.mark.slow
def test_every_2010_unit_feeds_a_matched_unit_or_is_listed(county, matching):
    side_2020 = matching[(matching["side"] == "2020") & matching["matched"]]
    fed = set(";".join(side_2020["predecessors_2010"]).split(";"))
    listed = matching[matching["side"] == "2010"]
    assert (~listed["matched"]).all() and (listed["reason"].str.len() > 10).all()
    coded_listed = set(listed["unit_id"])
    coded_fed = {k for k in fed if not k.startswith("uncoded:")}
    uncoded_fed = {k for k in fed if k.startswith("uncoded:")}
    assert not coded_fed & coded_listed
    assert len(coded_fed) + len(uncoded_fed) + len(listed) == county.meta.match_summary["units_2010"]


@pytest.mark.slow
def test_named_cases(matching):
    by_unit = matching[matching["side"] == "2020"].set_index("unit_id")
    # county-to-district conversion and prefecture merger: 莱城区 -> 济南市莱芜区
    assert by_unit.loc["370116", ["matched", "relation", "predecessors_2010"]].tolist() == [True, "recoded", "371202"]
    # a 2010 county divided in 2011 (和县): both 2020 receivers are split, not apportioned
    assert by_unit.loc["340523", ["matched", "relation"]].tolist() == [False, "split"]
    assert by_unit.loc["340207", ["matched", "relation"]].tolist() == [False, "split"]
    # a unit published without a code in 2010, matched by name (加格达奇 -> 加格达奇区)
    assert by_unit.loc["232761", ["matched", "relation"]].tolist() == [True, "recoded_by_name"]
    # two 行委 merged into 茫崖市 (2018)
    assert by_unit.loc["632803", ["matched", "relation"]].tolist() == [True, "merged_by_name"]
    # new since 2010, carved out of 苍南县
    assert by_unit.loc["330383", "relation"] == "new" and "苍南县" in by_unit.loc["330383", "reason"]
    listed = matching[matching["side"] == "2010"].set_index("unit_id")
    assert listed.loc["341424", "reason"].startswith("split into")


@pytest.mark.slow
def test_boundary_breaks_flag_unresolved_changes(county):
    breaks = county.meta.boundary_breaks
    assert list(breaks.columns) == ["unit_id", "year", "treatment"]
    assert set(breaks["treatment"]) == {"split", "partial_transfer", "functional_zone_carveout"}
    mask = harmonize.boundary_break_mask(county, 2010, 2020)
    flagged = set(county.units.index[mask])
    assert {"340523", "340207", "220102"} <= flagged  # split, split, 长春南关区 (zones carved out)
    assert "110101" not in flagged  # a merger, resolved by summing


@pytest.mark.slow
def test_ledger_balances(county):
    ledger = county.ledger
    assert ledger.rows_accepted + len(ledger.rejected) == ledger.rows_read == 3279 + 3358
    assert ledger.rows_rejected == len(ledger.rejected) and ledger.balanced
    for row in ledger.rejected.itertuples():
        assert row.file.endswith(".xlsx") and row.row >= 2 and row.reason
    assert ledger.rejected["reason"].str.startswith("province total").sum() == 31 + 31
    assert ledger.sources["rows_read"].tolist() == [3279, 3358]
    assert ledger.sources["rows_accepted"].sum() == ledger.rows_accepted


@pytest.mark.slow
def test_identify_census_decline(county, matching):
    result = identify(county, "census-decline")
    counts = result.counts()
    assert counts["units_total"] == len(county.units)
    unmatched = matching.loc[(matching["side"] == "2020") & ~matching["matched"].astype(bool)]
    # every unmatched unit is without a verdict of its own: no 2010 value, or a boundary break across the
    # decade; it has a verdict only as a member of its stable cluster
    no_verdict = result.table["status"].isin(["insufficient_data", "boundary_change"]) \
        | result.table["via_stable_cluster"]
    unmatched_ids = set(unmatched["unit_id"].astype(str)) if "unit_id" in unmatched.columns else set(unmatched.index.astype(str))
    assert unmatched_ids <= set(result.table.index[no_verdict])
    assert counts["insufficient_data"] <= len(unmatched_ids)
    assert counts["shrinking"] > 0


@pytest.mark.slow
def test_matching_runs_in_seconds(county, data_dir):
    """The workbooks are cached per process; re-matching must not take minutes."""
    started = time.perf_counter()
    again = load("cn-county-census", data_dir)
    assert time.perf_counter() - started < 15
    assert again.meta.match_summary == county.meta.match_summary


@pytest.mark.slow
def test_cli_identify_county(tmp_path, data_dir):
    out = tmp_path / "county.csv"
    done = run_cli("identify", "--dataset", "cn-county-census", "--data-dir", str(data_dir), "-o", str(out))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, dtype={"unit_id": str})
    assert len(table) == 2948
    assert np.isin(["shrinking", "not_shrinking", "insufficient_data"], table["status"].unique()).all()


@pytest.mark.slow
def test_identification_reports_boundary_change_not_a_false_verdict(data_dir):
    """Without stable clusters, a 2010-2020 comparison across a known boundary break gets status
    boundary_change, never a verdict (with them, see test_stable_clusters.py)."""
    from shrinkwatch import identify, load
    from shrinkwatch.harmonize import boundary_break_mask

    panel = load("cn-county-census", data_dir)
    result = identify(panel, "census-decline", lang="en", stable_clusters=False)
    assert not result.table["via_stable_cluster"].any()
    table = result.table
    broken = boundary_break_mask(panel, 2010, 2020)
    assert broken.sum() > 0
    assert (table.loc[broken, "status"] == "boundary_change").all()
    assert table.loc[broken, "shrinking"].isna().all() and table.loc[broken, "annual_rate"].isna().all()
    assert table.loc[broken, "reason"].str.startswith("Boundary change").all()
    assert (table.loc[~broken, "status"] != "boundary_change").all()
    counts = result.counts()
    assert counts["boundary_change"] == int(broken.sum())
    assert counts["units_with_data"] == counts["shrinking"] + counts["not_shrinking"]
    assert counts["units_total"] == sum(counts[k] for k in ("shrinking", "not_shrinking", "insufficient_data",
                                                            "boundary_change"))
    by_region = result.counts_by("region")
    assert by_region["boundary_change"].sum() == counts["boundary_change"]
    # the sensitivity sweep excludes the same units
    from shrinkwatch.identification.sensitivity import sweep

    swept = sweep(panel, "census-decline", {"min_loss": [0.0]}, stable_clusters=False)
    assert int(swept.counts["shrinking"].iloc[0]) == counts["shrinking"]
    assert int(swept.counts["boundary_change"].iloc[0]) == counts["boundary_change"]
    assert int(swept.counts["insufficient_data"].iloc[0]) == counts["insufficient_data"]
    assert (swept.units["robustness"] == "boundary_change").sum() == counts["boundary_change"]
