"""Message catalogues: every user-visible sentence, in English and Chinese, looked up by key.

The catalogues are ``resources/messages/en.toml`` and ``resources/messages/zh.toml``:
tables of keys (``[report]``, ``[cli]``, ``[explain]``...) whose values are
:meth:`str.format` templates. :func:`message` picks one for a language; both
catalogues must hold the same keys with the same placeholders
(``tests/test_messages.py`` checks it), so a report in either language is whole.
A module may keep a small ``{"en": ..., "zh": ...}`` table of its own while its
strings move here; :func:`message` is the one place new text goes.

Examples
--------
>>> message("common.status.not_shrinking", "zh")
'未收缩'
>>> message("common.count_of", "en", n=3, total=10)
'3 of 10'
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from shrinkwatch.core.errors import OptionError

__all__ = ["LANGUAGES", "message", "catalogue", "check_language", "placeholders", "translate", "table"]

#: The languages every catalogue covers.
LANGUAGES = ("en", "zh")


def check_language(lang: str, option: str = "--lang") -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else an :class:`OptionError` naming ``option``."""
    if lang not in LANGUAGES:
        raise OptionError(f"{option}: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: str) -> dict[str, str]:
    """Every message of ``lang`` by dotted key (``report.headline.title``), read once."""
    check_language(lang)
    text = resources.files("shrinkwatch").joinpath(f"resources/messages/{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


def table(prefix: str, lang: str) -> dict[str, Any]:
    """The catalogue table ``prefix`` (``report.charts``) of ``lang`` as a dict of its keys without the prefix,
    sub-tables as dicts: for modules that look their words up by key (``words["hist_x"].format(...)``).

    >>> table("report.maps.rate", "en")["severe"]
    'below -1 %/yr (severe)'
    """
    out: dict[str, Any] = {}
    for key, text in catalogue(lang).items():
        if key.startswith(prefix + "."):
            *parents, last = key[len(prefix) + 1:].split(".")
            node = out
            for parent in parents:
                node = node.setdefault(parent, {})
            node[last] = text
    return out


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names a template uses."""
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template) if field}


def message(key: str, lang: str, /, **fields: Any) -> str:
    """The message ``key`` in ``lang``, formatted with ``fields``; a missing key is a bug (KeyError)."""
    template = catalogue(lang)[key]
    return template.format(**fields) if fields else template


@lru_cache(maxsize=None)
def _english_patterns(prefix: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The English templates of the table ``prefix`` as patterns with a named group per field: the ones that
    begin with a field (they wrap another message: ``{evidence}, year {year}``) first, then the rest, the most
    literal text first."""
    patterns = []
    for key, template in catalogue("en").items():
        if key.startswith(prefix + "."):
            parsed = list(string.Formatter().parse(template))
            regex = "".join(re.escape(literal) + (f"(?P<{field}>.+?)" if field else "")
                            for literal, field, _, _ in parsed)
            literal = sum(len(text) for text, _, _, _ in parsed)
            patterns.append((not parsed[0][0], literal, re.compile(regex, re.S), key))
    patterns.sort(key=lambda p: (not p[0], -p[1]))
    return tuple((pattern, key) for _, _, pattern, key in patterns)


def translate(text: str, prefix: str, lang: str) -> str:
    """``text`` made by one of the English templates of the table ``prefix`` (``ingest.evidence``), said in
    ``lang`` with its fields translated the same way; a text no template of the table made stays as it is.

    For text stored in English (a ledger's evidence column) and shown in the reader's language. The
    templates of such a table take their fields as text (no format specs in the translations).

    Examples
    --------
    >>> translate("header '人口' is an alias of pop_resident, year 2010", "ingest.evidence", "zh")
    '表头“人口”是 pop_resident 的别名，年份 2010'
    >>> translate("not a template", "ingest.evidence", "zh")
    'not a template'
    """
    check_language(lang)
    if lang == "en" or not text:
        return text
    for pattern, key in _english_patterns(prefix):
        found = pattern.fullmatch(text)
        if found:
            fields = {name: translate(value, prefix, lang) for name, value in found.groupdict().items()}
            return catalogue(lang)[key].format(**fields)
    return text
