"""The message catalogues are whole: the same keys and placeholders in English and Chinese, and each language
in its own script."""

from __future__ import annotations

import re

import pytest

from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.messages import LANGUAGES, catalogue, check_language, message, placeholders

#: Words the Chinese catalogue may keep in Latin letters: units, proper names, file and option names.
_LATIN_ALLOWED = re.compile(r"(shrinkwatch(?: [a-z][\w-]*)+|[A-Z_]+=[\w%]+|[a-z]+(?:_[a-z0-9]+)+|[a-z0-9]+(?:-[a-z0-9]+)+|--?[a-z][\w-]*|[\w./-]*\.(?:csv|xlsx|json|html|pdf|toml|parquet)|[A-Z][A-Za-z]*|"
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


#: The tables whose English the ledger (or an error kept for the report) stores and displays translate.
_STORED_TABLES = ("ingest.evidence", "ingest.reason", "ingest.why", "ingest.ignored", "ingest.options",
                  "ingest.where", "ingest.warning", "ingest.action", "ingest.code_standard", "ingest.note",
                  "forecast.unavailable", "ledger.unit_from", "datasets.reason", "harmonize.warning",
                  "harmonize.note", "harmonize.panel_note", "grid.grid_text", "grid.engine", "grid.progress",
                  "grid.note", "grid.tally", "grid.warning", "grid.reason", "grid.action")


@pytest.mark.parametrize("prefix", _STORED_TABLES)
def test_stored_english_reads_back_in_chinese(prefix):
    """The ledger keeps its evidence, reasons, warnings and cell actions in English (the catalogue's template and
    its fields: one language-neutral form); every display says them in Chinese. Each template of the table, made
    in English with sample fields (nested messages included, ``{evidence}, year {year}``), reads back as the
    Chinese template with the same fields: nested messages in Chinese too, indicators by their Chinese label, data
    (headers, names, values) as written."""
    from shrinkwatch.core.messages import LABEL_FIELDS, NESTED_FIELDS, translate

    fields = {"header": "常住人口", "why": "x or y", "label": "'Pop'", "unit": "万人", "n": 3, "total": 4,
              "suffixed": 2, "years": "2010, 2020", "reading": "pop_resident", "year": "2010", "first": "1790", "last": "2100",
              "today": "2026", "value": "1e+19", "limit": "100,000,000", "high": "100.0", "rows": "f.csv:3=1",
              "file": "f.csv", "sheet": "'S1'", "line": "4", "where": "f.csv", "column": "'人口'", "listing": "a, b",
              "median": "1,234", "yi": "亿元", "wan": "万元", "count": "1", "gap": "210", "other": "gdp",
              "indicator": "pop_resident", "option": "--map pop=a", "options": "--map pop=b", "key": "pop",
              "role": "name", "width": "5", "standard": "US state FIPS code", "example": "2015年",
              "registered": "户籍", "resident": "常住", "panel": "'p'", "standard_id": "us-x", "rule": "'x'",
              "rules": "a, b", "target": "pop_resident", "ignored": "data under an empty header cell",
              "reason": "not a number", "evidence": "header '城市' is an alias of name", "unit_id": "u",
              "parent": "460300", "population": "1,234", "vintage": "2020", "indicators": "pop_resident",
              "lacking": "371200 莱芜市", "note": "share not combined: the weight is missing for a part",
              "rekeyed": "1", "merged": "2", "into": "1", "split": "0", "abolished": "0",
              "crs": "EPSG:4326", "nx": "57", "ny": "15", "dx": "0.00833333", "dy": "0.00833333", "x": "-71.8096",
              "y": "18.6996", "grid": "EPSG:4326, 57 x 15 pixels of 0.1 x 0.1 at (-71.8, 18.7)",
              "engine": "a distributed LocalCluster (2 worker(s), worker processes) at tcp://127.0.0.1:1",
              "workers": "2", "placement": "threads in this process", "address": "tcp://127.0.0.1:1",
              "zones": "1", "cells": "322", "pixels": "855", "layers": "21", "fills": "-99999",
              "path": "a.tif", "resampling": "sum", "span": "2000-2020", "min_valid": "8", "alpha": "0.05",
              "core": "0.5", "perforation": "25%", "source": "GHSL.tif", "dataset": "cn-prefecture-census",
              "share": "95%", "ids": "478140", "units": "2"}
    english, chinese = catalogue("en"), catalogue("zh")
    keys = sorted(k for k in english if k.startswith(prefix + "."))
    assert keys
    for key in keys:
        fill = {f: fields[f] for f in placeholders(english[key])}
        said = translate(english[key].format(**fill), prefix, "zh")
        inner = {f: translate(str(v), NESTED_FIELDS[f], "zh") if f in NESTED_FIELDS
                 else chinese.get(f"{LABEL_FIELDS[f]}.{v}", v) if f in LABEL_FIELDS else str(v) for f, v in fill.items()}
        assert said == chinese[key].format(**inner), key
        assert re.search(r"[\u4e00-\u9fff]", said) or said == english[key].format(**fill), key
        assert not re.search(r"\{\w+:", chinese[key]), key  # fields arrive as text: no format specs
    assert translate("anything else", prefix, "zh") == "anything else"


def test_stored_english_evidence_reads_back_in_chinese():
    from shrinkwatch.core.messages import translate

    assert translate("header 'pop' is an alias of pop_resident, year 2015", "ingest.evidence", "zh") == \
        "表头“pop”是 pop_resident 的别名，年份 2015"
    assert translate("header 'a' is a year", "ingest.evidence", "en") == "header 'a' is a year"
    english = catalogue("en")
    assert not any("is a name of" in text for text in english.values())  # "header 'year' is a name of year"
    # a field that is data is never "translated", even when it reads like a message
    assert translate("negative value for not a number", "ingest.reason", "zh") == "not a number为负值"
    assert translate("negative value for pop_resident", "ingest.reason", "zh") == "常住人口为负值"


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
