"""Two whole languages outside the report: explain, the console summaries, the knowledge base, the standards and
the reasons hold no Chinese in English and no English in Chinese beyond proper names, units and ids."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from conftest import run_cli

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
#: What Chinese text may keep in Latin letters: ids (snake_case, kebab-case, codes), units, proper names and
#: abbreviations (Tapio, LightGBM, GDP, R²), option names and numbers.
LATIN_ALLOWED = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)+|--?[a-z][\w-]*|[A-Z][A-Za-z]*|log10|km2?|k-means|n_init|"
                           r"random_state|%/\w+")


def english_words_left(text: str) -> list[str]:
    return re.findall(r"[a-z]{3,}", LATIN_ALLOWED.sub("", text))


def test_the_knowledge_base_english_fields_hold_no_chinese_and_every_text_has_its_chinese():
    data = tomllib.loads(resources.files("shrinkwatch").joinpath("resources/knowledge.toml").read_text("utf-8"))
    checked = 0
    for kind, fields in (("references", ("title", "note")), ("rules", ("title", "text", "rationale"))):
        for entry in data[kind]:
            for name in fields:
                assert not CJK.search(entry[name]), (entry["id"], name, entry[name])
                assert CJK.search(entry[f"{name}_zh"]), (entry["id"], f"{name}_zh")
                checked += 1
    assert checked == 8 * 2 + 22 * 3


def test_a_knowledge_base_with_chinese_in_an_english_field_is_refused(tmp_path):
    from shrinkwatch.analysis.knowledge import load_knowledge_base
    from shrinkwatch.core.errors import DataError

    path = tmp_path / "kb.toml"
    path.write_text('version = "1"\n[[rules]]\nid = "x"\npath = "monitoring"\npriority = "low"\n'
                    'title = "Slim down (瘦身强体)"\ntitle_zh = "瘦身强体"\ntext = "t"\ntext_zh = "文"\n'
                    'rationale = "r"\nrationale_zh = "理由"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"rules\.0 \(id 'x'\): title: the English text holds Chinese"):
        load_knowledge_base(path)
    path.write_text(path.read_text(encoding="utf-8").replace('title = "Slim down (瘦身强体)"', 'title = "Slim"')
                    .replace('rationale_zh = "理由"', 'rationale_zh = " "'), encoding="utf-8")
    with pytest.raises(DataError, match="rationale_zh: empty"):
        load_knowledge_base(path)


def test_rules_and_references_per_language():
    from shrinkwatch.analysis.knowledge import load_knowledge_base, path_label, priority_label

    kb = load_knowledge_base()
    rule = next(r for r in kb.rules if r.id == "right-size-land-and-districts")
    assert rule.title_for("en") == "Right-size land supply and districts (slim down and strengthen)"
    assert rule.title_for("zh").startswith("瘦身强体") and "瘦身强体" in rule.rationale_for("zh")
    assert kb.reference("ndrc-2019").note_for("zh").endswith("瘦身强体。")
    assert path_label("smart shrinkage", "zh") == "精明收缩" and priority_label("high", "zh") == "高"
    assert path_label("smart shrinkage", "en") == "smart shrinkage"


def test_standards_have_both_languages_and_english_without_chinese():
    from shrinkwatch.identification import list_standards

    for std in list_standards():
        assert std.name_zh and std.summary_zh and not CJK.search(std.name + std.summary), std.id
        for key, criterion in std.criteria.items():
            assert criterion.label_zh and not CJK.search(criterion.label + criterion.remedy), (std.id, key)
            assert bool(criterion.remedy) == bool(criterion.remedy_zh), (std.id, key)
            assert criterion.label_for("zh") == criterion.label_zh and criterion.label_for("en") == criterion.label


def test_triggered_by_in_chinese(census_identification):
    import pandas as pd

    from shrinkwatch.analysis.recommend import recommend

    units = pd.DataFrame({"status": ["shrinking"], "severity": ["severe"], "share_65plus": [15.26],
                          "region": ["Northeast"], "country": ["China"]}, index=pd.Index(["u1"], name="unit_id"))
    rows = recommend(units, lang="zh").set_index("recommendation_id")
    assert rows.loc["right-size-land-and-districts", "triggered_by"] == "严重程度=严重"
    assert rows.loc["aged-society-services", "triggered_by"] == "65岁及以上人口比重=15.3%"
    assert rows.loc["northeast-collaboration", "triggered_by"] == "国家=中国; 地区=东北"
    assert rows.loc["monitor-shrinking", "triggered_by"] == "状态=收缩"
    english = recommend(units, lang="en").set_index("recommendation_id")
    assert english.loc["aged-society-services", "triggered_by"] == "share_65plus=15.3%"
    assert not english.map(lambda v: bool(CJK.search(str(v)))).any().any()


@pytest.mark.slow
def test_explain_in_chinese_has_no_english_words(data_dir):
    result = run_cli("explain", "--unit", "230100", "--lang", "zh", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("哈尔滨市（230100），黑龙江省\n判定：收缩（标准 census-decline）")
    assert "两次普查间人口减少：数值 -0.0588679 -> 满足" in out and "严重程度：中度" in out
    assert "变化模式：单一时期" in out and "[高] 编制精明收缩规划" in out and "触发条件：严重程度=中度" in out
    assert "稳健性：在 11 个可判定的参数组合中有 6 个判定为收缩（临界；" in out
    assert "地区=东北：" in out  # the driver model's predictors in words
    assert english_words_left(out) == [], english_words_left(out)


@pytest.mark.slow
def test_explain_in_english_has_no_chinese(data_dir):
    us = run_cli("explain", "--dataset", "us-county-est", "--unit", "26163", "--lang", "en", "--no-drivers",
                 "--data-dir", str(data_dir))
    assert us.returncode == 0, us.stderr
    assert us.stdout.startswith("Wayne County") and not CJK.search(us.stdout), us.stdout
    china = run_cli("explain", "--unit", "230100", "--lang", "en", "--data-dir", str(data_dir))
    assert china.returncode == 0, china.stderr
    assert china.stdout.startswith("Harbin (230100), Heilongjiang\n") and not CJK.search(china.stdout)


def test_the_console_summaries_follow_lang(data_dir, tmp_path):
    zh = run_cli("identify", "--lang", "zh", "-o", str(tmp_path / "r.csv"), "--data-dir", str(data_dir))
    assert zh.returncode == 0, zh.stderr
    assert "有数据的 358 个单元中 156 个收缩（数据不足 11 个，共 369 个）" in zh.stderr
    assert f"已将 369 行写入 {tmp_path / 'r.csv'}" in zh.stderr
    en = run_cli("identify", "--lang", "en", "-o", str(tmp_path / "r.csv"), "--data-dir", str(data_dir))
    assert "156 shrinking of 358 units with data (11 insufficient data, 369 total)" in en.stderr
    sweep = run_cli("sensitivity", "--vary", "min_loss=0,0.05", "--lang", "zh", "-o", str(tmp_path / "s.csv"),
                    "--data-dir", str(data_dir))
    assert sweep.returncode == 0, sweep.stderr
    assert "2 个参数组合：收缩单元 98-156 个（中位数 127）；稳健收缩 98 个，临界 58 个" in sweep.stderr
    bad = run_cli("sensitivity", "--vary", "min_loss=0,0.05", "--lang", "fr", "--data-dir", str(data_dir))
    assert bad.returncode == 2 and "--lang: expected one of en, zh, got 'fr'" in bad.stderr


@pytest.mark.slow
def test_run_in_chinese_prints_a_chinese_summary(data_dir, tmp_path):
    result = run_cli("run", "--lang", "zh", "--no-analysis", "--out", str(tmp_path / "out"), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "按 census-decline，358 个有数据的单元中有 156 个收缩（数据不足 11 个）。", first
    english = run_cli("run", "--lang", "en", "--no-analysis", "--out", str(tmp_path / "en"), "--data-dir",
                      str(data_dir))
    assert english.stdout.splitlines()[0].startswith("156 of 358 prefecture-level units with data are shrinking")


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["us-county-est", "cn-prefecture-census"])
def test_reasons_per_language(data_dir, dataset):
    from shrinkwatch import identify, load

    panel = load(dataset, data_dir)
    english = identify(panel, "census-decline", lang="en").table["reason"].astype(str)
    assert not english.str.contains(CJK.pattern).any(), english[english.str.contains(CJK.pattern)].head()
    chinese = identify(panel, "census-decline", lang="zh").table["reason"].astype(str)
    assert chinese.str.contains(CJK.pattern).all()
    left = {w for reason in chinese.unique() for w in english_words_left(reason)}
    assert not left, left


def test_typology_notes_in_chinese(census_panel, census_identification):
    from shrinkwatch.analysis.typology import classify

    typology = classify(census_panel, census_identification, lang="zh")
    assert any(note.startswith("未提供资源型城市表") for note in typology.notes)
    assert typology.criterion.startswith("在 2..6 中选取 k")
    assert not [english_words_left(n) for n in typology.notes if english_words_left(n)]
    peripheral = typology.table["trigger_peripheral"].astype(str)
    assert peripheral[peripheral != ""].str.match(r"^距 .+ [\d,]+ 公里，超过 75% 分位数 [\d,]+ 公里$").all()


def test_every_standard_parameter_has_its_chinese_description():
    from shrinkwatch.identification import list_standards

    for std in list_standards():
        for key, spec in std.parameters.items():
            assert CJK.search(spec.description_zh) and not CJK.search(spec.description), (std.id, key)
            assert spec.description_for("zh") == spec.description_zh and spec.description_for("en") == spec.description


@pytest.mark.parametrize("standard", ["census-decline", "cn-2025", "composite-index", "consecutive-decline",
                                      "peak-loss", "scirn"])
def test_standards_show_in_each_language(standard):
    """`standards show --lang zh` is Chinese beyond parameter names, values and the cited works (the reference
    lines); in English it holds no Chinese at all."""
    from shrinkwatch.identification import load_standard

    std = load_standard(standard)
    chinese = run_cli("standards", "show", standard, "--lang", "zh")
    assert chinese.returncode == 0, chinese.stderr
    lines = chinese.stdout.splitlines()
    assert lines[0] == f"{std.id} v{std.version}：{std.name_zh}" and "参数：" in lines
    assert all(f"：{spec.description_zh}" in chinese.stdout for spec in std.parameters.values())
    said = "\n".join(line for line in lines if not line.startswith("  文献："))
    names = "|".join(sorted((re.escape(k) for k in [*std.parameters, *std.criteria]), key=len, reverse=True))
    left = english_words_left(re.sub(rf"{re.escape(std.id)}|[a-z0-9]+(?:-[a-z0-9]+)+|\b(?:{names})\b|'[^']*'|shrinkwatch \w+|\[\[\w+\]\]|\b(?:auto|national|aggregate|all|drop|error|"
                                     rf"minmax|entropy|equal|user|quantile|jenks|ignore|require)\b", "", said))
    assert left == [], left
    english = run_cli("standards", "show", standard, "--lang", "en")
    assert english.returncode == 0, english.stderr
    cited = [line for line in english.stdout.splitlines() if not line.startswith("  ref: ")]  # titles as published
    assert not CJK.search("\n".join(cited)), english.stdout
    assert english.stdout.startswith(f"{std.id} v{std.version}: {std.name}\n") and "parameters:" in english.stdout


def test_ingest_ledger_summary_in_each_language(tmp_path):
    """The ledger summary `ingest --lang zh` prints: its lines and the column readings' evidence in Chinese (file
    names, headers, indicator names and the rows' recorded reasons as they are); in English the evidence of a
    header that is the indicator's own name says so, not "header 'year' is a name of year"."""
    source = tmp_path / "cities.csv"
    source.write_text("城市代码,城市,year,常住人口(万人)\n230700,伊春市,2015,114.8\n230700,伊春市,2016,112.5\n"
                      "230400,鹤岗市,2015,100.1\n230400,鹤岗市,2016,99.0\n全国,,2016,1\n", encoding="utf-8")
    chinese = run_cli("ingest", str(source), "-o", str(tmp_path / "zh.parquet"), "--lang", "zh")
    assert chinese.returncode == 0, chinese.stderr
    out = chinese.stdout
    assert out.startswith("读取 5 行：接受 4 行，拒绝 1 行\n")
    assert "  列 常住人口(万人) -> pop_resident，单位 万人 [表头：表头“常住人口”是 pop_resident 的别名]" in out
    assert "  列 year -> year [表头：表头“year”即标准名称]" in out
    assert "  换算 常住人口(万人) -> pop_resident：万人 ×10000（单位取自表头）" in out
    assert "按原因统计的拒绝行：" in out and "已写入" in out
    reasons = {r for r in ("a total or aggregate row, not a unit",)}
    kept = [line for line in out.splitlines() if not any(r in line for r in reasons)]
    left = english_words_left(re.sub(r"[\w/.-]*cities\.csv|[\w/.-]*\.parquet|[\w/.-]*\.ledger\.csv|\b(?:year|name)\b", "",
                                     "\n".join(kept)))
    assert left == [], left
    english = run_cli("ingest", str(source), "-o", str(tmp_path / "en.parquet"))
    assert english.returncode == 0, english.stderr
    assert "  column year -> year [header: header 'year' is the canonical name]" in english.stdout
    assert "[header: header '常住人口' is an alias of pop_resident]" in english.stdout
    assert "is a name of" not in english.stdout
    assert english.stdout.startswith("rows read 5: accepted 4, rejected 1\n")


@pytest.mark.slow
def test_explain_of_a_us_county_in_chinese(data_dir):
    """A unit of a dataset in English explained in Chinese: its profile's features, regions and the drivers' note
    in Chinese; only the county's and state's names stay in English."""
    result = run_cli("explain", "--dataset", "us-county-est", "--unit", "26163", "--lang", "zh",
                     "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Wayne County（26163），Michigan\n判定：收缩（标准 census-decline）")
    assert "每千人自然增长" in out and "地区=中西部：" in out and "  （LightGBM 对模型年均变化率的贡献" in out
    assert english_words_left(out.replace("Wayne County", "").replace("Michigan", "")) == []
