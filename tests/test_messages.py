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
