"""The message catalogues are whole: the same keys and placeholders in English and Chinese, and each language
in its own script."""

from __future__ import annotations

import re

import pytest

from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import LANGUAGES, catalogue, check_language, message, placeholders

#: Words the Chinese catalogue may keep in Latin letters: units, proper names, file and option names.
_LATIN_ALLOWED = re.compile(r"(shrinkwatch(?: [a-z][\w-]*)+|[a-z0-9]+(?:-[a-z0-9]+)+|--?[a-z][\w-]*|[\w./-]*\.(?:csv|xlsx|json|html|pdf|toml|parquet)|[A-Z][A-Za-z]*|"
                            r"km2|km²|%/yr|p|n|R²|GDP|LISA|ID|\{[^}]*\}|[a-z_]+=\S*)")


def test_both_catalogues_have_the_same_keys_and_placeholders():
    english, chinese = catalogue("en"), catalogue("zh")
    assert set(english) == set(chinese), set(english) ^ set(chinese)
    for key in english:
        assert placeholders(english[key]) == placeholders(chinese[key]), key


def test_english_has_no_chinese_and_chinese_is_chinese():
    for key, text in catalogue("en").items():
        assert not re.search(r"[\u4e00-\u9fff]", text), key
    for key, text in catalogue("zh").items():
        rest = _LATIN_ALLOWED.sub("", text)
        assert not re.search(r"[a-z]{3,}", rest), (key, rest)


def test_message_formats_and_refuses_an_unknown_language():
    assert message("common.count_of", "zh", n=1, total=2) == "2 个中的 1 个"
    with pytest.raises(OptionError, match="--lang: expected one of en, zh"):
        check_language("fr")
    with pytest.raises(KeyError):
        message("common.no_such_key", "en")
    assert LANGUAGES == ("en", "zh")


def test_every_canonical_indicator_has_a_label_in_each_language():
    """A report names indicators in plain words (``share_industry`` is never shown as "share industry"): each
    canonical indicator of the alias table has its own label in both catalogues, Chinese in Chinese."""
    import tomllib
    from importlib.resources import files

    from shrinkwatch.report.labels import COLUMN_LABELS

    aliases = tomllib.loads(files("shrinkwatch").joinpath("resources/aliases.toml").read_text(encoding="utf-8"))
    for indicator in aliases["indicators"]:
        assert indicator in COLUMN_LABELS["en"] and indicator in COLUMN_LABELS["zh"], indicator
        chinese = COLUMN_LABELS["zh"][indicator]
        assert re.search(r"[\u4e00-\u9fff]", chinese) or chinese == "GDP", (indicator, chinese)


def test_stored_english_evidence_reads_back_in_chinese():
    """The ingest ledger keeps its column evidence in English; the Chinese summary says each of the catalogue's
    evidence templates in Chinese with the same fields, nested ones included (``{evidence}, year {year}``)."""
    from shrinkwatch.core.messages import translate

    fields = {"header": "常住人口", "indicator": "pop_resident", "why": "x or y", "label": "Pop", "unit": "万人",
              "n": 3, "total": 4, "suffixed": 2, "reading": "pop_resident", "year": "2010"}
    english, chinese = catalogue("en"), catalogue("zh")
    keys = sorted(k for k in english if k.startswith("ingest.evidence."))
    assert len(keys) >= 15
    for key in keys:
        fill = {f: fields.get(f, "header '城市' is an alias of name") for f in placeholders(english[key])}
        said = translate(english[key].format(**fill), "ingest.evidence", "zh")
        inner = {f: translate(str(v), "ingest.evidence", "zh") for f, v in fill.items()}
        assert said == chinese[key].format(**inner), key
        assert re.search(r"[\u4e00-\u9fff]", said), key
        assert not re.search(r"\{\w+:", chinese[key]), key  # fields arrive as text: no format specs
    assert translate("header 'pop' is an alias of pop_resident, year 2015", "ingest.evidence", "zh") == \
        "表头“pop”是 pop_resident 的别名，年份 2015"
    assert translate("anything else", "ingest.evidence", "zh") == "anything else"
    assert translate("header 'a' is a year", "ingest.evidence", "en") == "header 'a' is a year"
    assert not any("is a name of" in text for text in english.values())  # "header 'year' is a name of year"


def test_module_tables_live_in_the_catalogues():
    """Charts, maps, the status over time and the early warning read their words from the catalogues (one place
    for text): their tables are the catalogues' tables, in both languages."""
    from shrinkwatch.core.messages import table
    from shrinkwatch.report import charts, maps, sections, timeline

    for lang in LANGUAGES:
        assert charts._TEXT[lang] == table("report.charts", lang) and charts._TEXT[lang]["hist_x"]
        assert maps._TEXT[lang] == table("report.maps", lang) and maps._TEXT[lang]["scs"]
        assert timeline.TEXT[lang] == table("report.timeline", lang)
        assert sections.EARLY_WARNING_TEXT[lang]["columns"]["brier"]
        assert [label for *_, label in maps.rate_bins(lang)] == [
            message(f"report.maps.rate.{k}", lang) for k in ("severe", "moderate", "mild", "growing", "fast")]
    assert maps.rate_bins("zh")[0][3] == "低于 -1 %/年（严重）" and maps.RATE_BINS[0][3] == "below -1 %/yr (severe)"
    assert sections.EARLY_WARNING_TEXT["zh"]["title"] == "预警"
