"""Recommendations: the knowledge base is validated, rules match exactly, the explain command works."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from shrinkwatch import DataError, UnknownIdError
from shrinkwatch.analysis.knowledge import PATHS, KnowledgeBase, load_knowledge_base
from shrinkwatch.analysis.recommend import RecommendationResult, profile_table, recommend
from shrinkwatch.analysis.typology import classify
from shrinkwatch.analysis.unit_profile import profile
from shrinkwatch.report.sections import recommendations_section

from conftest import run_cli


def _index(*ids: str) -> pd.Index:
    return pd.Index(list(ids), name="unit_id")


# ---------------------------------------------------------------- the knowledge base

def test_builtin_knowledge_base_is_valid_and_covers_the_paths():
    kb = load_knowledge_base()
    assert isinstance(kb, KnowledgeBase)
    assert {rule.path for rule in kb.rules} == set(PATHS)
    assert {"stadtumbau-ost", "youngstown-2010", "japan-rittekiseika"} <= {r.id for r in kb.references}
    assert all(rule.title_zh and rule.text_zh and rule.rationale for rule in kb.rules)


GOOD_RULE = '''
version = "1"
[[rules]]
id = "r1"
path = "monitoring"
priority = "low"
title = "t"
title_zh = "t"
text = "x"
text_zh = "x"
rationale = "why"
rationale_zh = "理由"
'''


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ('conditions = [{ field = "severity", op = "==" value = "severe" }]', "not valid TOML"),
        ('colour = "red"', "rules.0 (id 'r1').colour: Extra inputs are not permitted"),
        ('conditions = [{ field = "population_density", op = ">", value = 3.0 }]',
         "rules.0 (id 'r1').conditions.0: unknown field 'population_density'"),
        ('conditions = [{ field = "severity", op = ">", value = "severe" }]',
         "operator '>' does not apply to category field 'severity'"),
        ('conditions = [{ field = "severity", op = "==", value = "terrible" }]', "'terrible' not one of"),
        ('conditions = [{ field = "annual_rate", op = "<", value = "low" }]', "value must be a number"),
        ('conditions = [{ field = "types", op = "contains", value = "ghost town" }]', "'ghost town' not one of"),
        ('conditions = [{ field = "severity", op = "in", value = "severe" }]', "value must be a list"),
        ('conditions = [{ field = "severity", op = "==", value = "severe", note = "x" }]', "Extra inputs"),
        ('references = ["nowhere"]', "rule 'r1' cites unknown reference(s) nowhere"),
    ],
)
def test_broken_knowledge_base_raises_a_clear_error(tmp_path, addition, message):
    path = tmp_path / "kb.toml"
    path.write_text(GOOD_RULE + addition + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_knowledge_base(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_scope_and_path_checks(tmp_path):
    path = tmp_path / "kb.toml"
    path.write_text(GOOD_RULE.replace('path = "monitoring"', 'path = "successor industries"')
                    + 'scope = "insufficient_data"\n', encoding="utf-8")
    with pytest.raises(DataError, match="allows only the monitoring or data collection paths"):
        load_knowledge_base(path)
    path.write_text(GOOD_RULE.replace('path = "monitoring"', 'path = "teleportation"'), encoding="utf-8")
    with pytest.raises(DataError, match="path 'teleportation' is not one of"):
        load_knowledge_base(path)
    path.write_text(GOOD_RULE + GOOD_RULE.replace('version = "1"', ""), encoding="utf-8")
    with pytest.raises(DataError, match="duplicate rule id 'r1'"):
        load_knowledge_base(path)


# ---------------------------------------------------------------- matching

def test_hand_made_unit_matches_the_builtin_rules_exactly():
    unit = pd.DataFrame(
        {"name": ["Testville"], "status": ["shrinking"], "severity": ["severe"], "annual_rate": [-1.83],
         "pattern": ["continuous"], "region": ["Northeast"], "country": ["China"],
         "types": ["old industrial base"], "trigger_old_industrial_base": ["share_industry 2010 = 48.0% >= 75% quantile 40.0%"],
         "share_65plus": [16.0], "share_0_14": [12.0], "urban_share": [60.0]},
        index=_index("u1"),
    )
    rows = recommend(unit)
    got = dict(zip(rows["recommendation_id"], rows["triggered_by"]))
    assert got == {
        "smart-shrinkage-plan": "severity=severe",
        "right-size-land-and-districts": "severity=severe",
        "accept-smaller-city": "pattern=continuous; severity=severe",
        "old-industrial-restructuring": "type=old industrial base (share_industry 2010 = 48.0% >= 75% quantile 40.0%)",
        "monitor-shrinking": "status=shrinking",
        "northeast-collaboration": "country=China; region=Northeast",
        "aged-society-services": "share_65plus=16.0%",
        "industrial-heritage": "type=old industrial base (share_industry 2010 = 48.0% >= 75% quantile 40.0%); severity=severe",
        "low-fertility-family-support": "share_0_14=12.0%",
    }
    order = {"high": 0, "medium": 1, "low": 2}
    assert rows["priority"].map(order).is_monotonic_increasing
    assert (rows["unit_id"] == "u1").all() and (rows["name"] == "Testville").all()
    zh = recommend(unit, lang="zh")
    assert zh.loc[zh["recommendation_id"] == "right-size-land-and-districts", "title"].item().startswith("瘦身强体")


def test_two_census_panel_gets_no_pattern_and_no_every_period_rule():
    """Two censuses are one period: a severe loss between them is 'single period', not 'continuous',
    and the rule about decline in every period stays silent; three censuses with two declines get it."""
    from shrinkwatch import identify

    from conftest import panel_of

    two = panel_of({"a": {"pop_resident": [1000.0, 700.0]}, "b": {"pop_resident": [1000.0, 1100.0]}},
                   [2000, 2010], id="two")
    three = panel_of({"a": {"pop_resident": [1000.0, 800.0, 600.0]}, "b": {"pop_resident": [1000.0, 1100.0, 1200.0]}},
                     [2000, 2010, 2020], id="three")
    table2 = identify(two, "census-decline").table
    assert table2.loc["a", "status"] == "shrinking" and table2.loc["a", "severity"] == "severe"
    assert table2["pattern"].tolist() == ["single period", "single period"]
    rows2 = recommend(table2)
    assert "accept-smaller-city" not in set(rows2["recommendation_id"])
    assert not rows2["text"].str.contains("every (?:observed )?period").any()
    table3 = identify(three, "census-decline").table
    assert table3.loc["a", "pattern"] == "continuous" and table3.loc["a", "severity"] == "severe"
    rows3 = recommend(table3)
    accepted = rows3[rows3["recommendation_id"] == "accept-smaller-city"]
    assert accepted["unit_id"].tolist() == ["a"]
    assert accepted["triggered_by"].item() == "pattern=continuous; severity=severe"


def test_operators_and_missing_columns_on_a_custom_knowledge_base(tmp_path):
    path = tmp_path / "kb.toml"
    path.write_text('''
version = "1"
[[rules]]
id = "fast"
path = "smart shrinkage"
priority = "high"
title = "fast"
title_zh = "fast"
text = "x"
text_zh = "x"
rationale = "r"
rationale_zh = "理由"
conditions = [{ field = "annual_rate", op = "<", value = -1.0 },
              { field = "types", op = "not contains", value = "peripheral" }]
[[rules]]
id = "paradox"
path = "right-sizing"
priority = "medium"
title = "p"
title_zh = "p"
text = "x"
text_zh = "x"
rationale = "r"
rationale_zh = "理由"
conditions = [{ field = "tapio_state", op = "==", value = "strong negative decoupling" }]
[[rules]]
id = "watch"
scope = "not_shrinking"
path = "monitoring"
priority = "low"
title = "w"
title_zh = "w"
text = "x"
text_zh = "x"
rationale = "r"
rationale_zh = "理由"
conditions = [{ field = "severity", op = "in", value = ["none"] }]
''', encoding="utf-8")
    kb = load_knowledge_base(path)
    units = pd.DataFrame(
        {"status": ["shrinking", "shrinking", "shrinking", "not_shrinking", "insufficient_data"],
         "annual_rate": [-1.5, -1.5, -0.2, 0.5, float("nan")],
         "types": ["peripheral;old industrial base", "old industrial base", "", "", ""],
         "severity": ["severe", "severe", "mild", "none", ""]},
        index=_index("a", "b", "c", "d", "e"),
    )
    rows = recommend(units, kb)
    assert list(zip(rows["unit_id"], rows["recommendation_id"])) == [("b", "fast"), ("d", "watch")]
    assert rows.loc[0, "triggered_by"] == "annual_rate=-1.50%/yr; type not peripheral"
    # with the column present, the paradox rule fires, and only for the shrinking unit in that state
    units["tapio_state"] = ["strong negative decoupling", None, "strong negative decoupling", "strong negative decoupling",
                            "strong negative decoupling"]
    rows = recommend(units, kb)
    assert sorted(zip(rows["unit_id"], rows["recommendation_id"])) == [
        ("a", "paradox"), ("b", "fast"), ("c", "paradox"), ("d", "watch")]
    assert rows.loc[rows["unit_id"] == "a", "triggered_by"].item() == "tapio_state=strong negative decoupling"


def test_insufficient_and_not_shrinking_units_never_get_shrinkage_measures():
    units = pd.DataFrame(
        {"status": ["insufficient_data", "not_shrinking", "not_shrinking"], "severity": ["severe", "none", "none"],
         "annual_rate": [-3.0, 0.1, 2.0], "types": ["old industrial base;peripheral"] * 3,
         "region": ["Northeast"] * 3, "country": ["China"] * 3, "share_65plus": [20.0] * 3},
        index=_index("x", "y", "z"),
    )
    rows = recommend(units)
    assert list(zip(rows["unit_id"], rows["recommendation_id"])) == [("x", "collect-data"),
                                                                     ("y", "watch-near-stagnation")]
    assert set(rows["path"]) == {"data collection", "monitoring"}


def test_real_census_recommendations(census_panel, census_identification):
    typology = classify(census_panel, census_identification, seed=0)
    profiles = profile_table(census_identification, typology)
    rows = recommend(profiles)
    status = profiles["status"]
    assert (rows["status"].to_numpy() == status.loc[rows["unit_id"]].to_numpy()).all()
    insufficient = rows[rows["status"] == "insufficient_data"]
    assert set(insufficient["recommendation_id"]) == {"collect-data"}
    assert insufficient["unit_id"].nunique() == int((status == "insufficient_data").sum())
    assert set(rows.loc[rows["status"] == "not_shrinking", "path"]) <= {"monitoring"}
    shrinking = rows[rows["status"] == "shrinking"]
    assert shrinking.loc[shrinking["recommendation_id"] == "monitor-shrinking", "unit_id"].nunique() == int(
        (status == "shrinking").sum())
    harbin = rows[rows["unit_id"] == "230100"].set_index("recommendation_id")["triggered_by"]
    assert harbin["smart-shrinkage-plan"] == "severity=moderate"
    # two censuses are one period: no pattern, so no rule about every period; no industry data, so no
    # old-industrial rule (the Northeast is a region, not evidence of industry)
    assert (profiles["pattern"].isin(["single period", ""])).all()
    assert not set(rows["recommendation_id"]) & {"accept-smaller-city", "diagnose-new-decline",
                                                  "old-industrial-restructuring", "industrial-heritage"}
    assert not rows["text"].str.contains("every observed period|every period").any()
    result = RecommendationResult(rows=rows, profiles=profiles)
    summary = result.as_dict()
    assert summary["denominators"]["shrinking"] == int((status == "shrinking").sum())
    assert summary["by_recommendation"]["monitor-shrinking"] == int((status == "shrinking").sum())
    section = recommendations_section(result)
    assert section.id == "recommendations" and "monitor-shrinking" in section.html


# ---------------------------------------------------------------- profile and the CLI

def test_profile_of_harbin(census_panel, census_identification):
    typology = classify(census_panel, census_identification, seed=0)
    harbin = profile(census_panel, census_identification, "230100", typology=typology, drivers=False, lang="en")
    assert harbin.status == "shrinking" and harbin.severity == "moderate"
    assert harbin.annual_rate == pytest.approx(-0.6, abs=0.01)
    assert not [name for name, _ in harbin.types if name == "old industrial base"]
    assert harbin.pattern == "single period"
    assert harbin.criteria[0][0] == "decline" and harbin.criteria[0][2] is True
    assert "old-industrial-restructuring" not in set(harbin.recommendations["recommendation_id"])
    text = harbin.to_text()
    assert "Verdict: shrinking" in text and "Pattern: single period" in text
    with pytest.raises(UnknownIdError, match="near matches: 230100 哈尔滨市"):
        profile(census_panel, census_identification, "23010", typology=typology, drivers=False)


@pytest.mark.slow
def test_cli_explain_harbin():
    result = run_cli("explain", "--dataset", "cn-prefecture-census", "--unit", "230100", "--lang", "en",
                     "--no-drivers")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Harbin (230100), Heilongjiang" in out and not re.search(r"[\u4e00-\u9fff]", out)
    assert "Verdict: shrinking" in out and "-5.89%" in out
    assert "Pattern: single period" in out and "old industrial base: region" not in out
    assert "'old industrial base' not assessed: the panel has no industry indicator" in out
    assert "Drivers:\n  driver contributions: not requested" in out
    assert "Recommendations:" in out and "[high] Adopt a smart-shrinkage plan" in out
    assert "triggered by: severity=moderate" in out


@pytest.mark.slow
def test_cli_explain_harbin_with_drivers():
    result = run_cli("explain", "--dataset", "cn-prefecture-census", "--unit", "230100", "--lang", "en")
    assert result.returncode == 0, result.stderr
    drivers = result.stdout.split("Drivers:\n", 1)[1].split("Recommendations:", 1)[0]
    assert "%/yr" in drivers and "associations, not causes" in drivers


def test_cli_explain_unknown_unit_is_a_clear_error():
    result = run_cli("explain", "--dataset", "cn-prefecture-census", "--unit", "23010")
    assert result.returncode != 0
    assert "unknown unit '23010'" in result.stderr and "230100 哈尔滨市" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_explain_with_a_resource_table(tmp_path):
    table = tmp_path / "resource_cities.csv"
    table.write_text("name,resource_type,exhausted_batch\n伊春市,declining,2008\n", encoding="utf-8")
    result = run_cli("explain", "--unit", "230700", "--lang", "en", "--no-drivers", "--resources", str(table))
    assert result.returncode == 0, result.stderr
    assert "resource-exhausted: exhausted_batch=2008" in result.stdout
    assert "triggered by: type=resource-based (resource_type=declining); resource_type=declining" in result.stdout
    assert "resource-exhausted-transition" in result.stdout
    table.write_text("name,resource_type\n伊春市,exhausted\n", encoding="utf-8")
    result = run_cli("explain", "--unit", "230700", "--no-drivers", "--resources", str(table))
    assert result.returncode != 0
    assert "line 2, column 'resource_type': 'exhausted' is not one of" in result.stderr
