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

__all__ = ["LANGUAGES", "LABEL_FIELDS", "NESTED_FIELDS", "NOTE_TABLES", "message", "messages", "match", "catalogue", "check_language", "placeholders",
           "translate", "translate_all", "table"]

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


#: Fields whose text is itself a message of the table named: :func:`translate` says them in the reader's language
#: too. Every other field is data (a header, a file name, a unit's name, a value) and is shown as written, so
#: that a unit named like a message is never "translated".
NESTED_FIELDS: Mapping[str, str] = {
    "evidence": "ingest.evidence",
    "why": "ingest.why",
    "reason": "ingest.reason",
    "ignored": "ingest.ignored",
    "options": "ingest.options",
    "standard": "ingest.code_standard",
    "where": "ingest.where",
    "note": "harmonize.note",
    "grid": "grid.grid_text",
    "engine": "grid.engine",
    "placement": "grid.engine",
}

#: Fields that hold a code word with a label in a catalogue table (an indicator's ``pop_resident`` is 常住人口):
#: :func:`translate` shows the label of ``lang`` (the English keeps the code, as stored).
LABEL_FIELDS: Mapping[str, str] = {"indicator": "report.column", "other": "report.column"}

#: The catalogue tables a panel's stored note (``PanelMeta.notes``) may come from: ingest's, harmonize's, the grid
#: stage's. A display says a note in its language with ``translate_all(notes, NOTE_TABLES, lang)``.
NOTE_TABLES = ("ingest.note", "harmonize.panel_note", "grid.note")


@lru_cache(maxsize=None)
def _english_patterns(prefix: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The English templates of the table ``prefix`` as patterns with a named group per field (a field used
    twice matches the same text twice): the ones that begin with a field (they wrap another message:
    ``{evidence}, year {year}``) first, then the rest, the most literal text first."""
    patterns = []
    for key, template in catalogue("en").items():
        if key.startswith(prefix + "."):
            parsed = list(string.Formatter().parse(template))
            seen: set[str] = set()
            regex = ""
            for text, field, _, _ in parsed:
                regex += re.escape(text)
                if field:
                    regex += f"(?P={field})" if field in seen else f"(?P<{field}>.+?)"
                    seen.add(field)
            literal = sum(len(text) for text, _, _, _ in parsed)
            patterns.append((not parsed[0][0], literal, re.compile(regex, re.S), key))
    patterns.sort(key=lambda p: (not p[0], -p[1]))
    return tuple((pattern, key) for _, _, pattern, key in patterns)


def match(text: str, prefix: str) -> tuple[str, dict[str, str]] | None:
    """The key of the English template of the table ``prefix`` that made ``text``, and its fields; None if none.

    >>> match("negative value for pop_resident", "ingest.reason")
    ('ingest.reason.negative', {'indicator': 'pop_resident'})
    """
    for pattern, key in _english_patterns(prefix):
        found = pattern.fullmatch(text)
        if found:
            return key, found.groupdict()
    return None


def translate(text: str, prefix: str, lang: str) -> str:
    """``text`` made by one of the English templates of the table ``prefix`` (``ingest.evidence``), said in
    ``lang``; its fields named in :data:`NESTED_FIELDS` are said in ``lang`` the same way (with their own
    table), the others are data and stay as written. A text no template of the table made stays as it is.

    For text stored in English (a ledger's reasons and evidence) and shown in the reader's language: the ledger
    keeps one language-neutral form (the English of the catalogue, which names the template and its fields)
    and every display says it in its own language. The templates of such a table take their fields as text (no
    format specs in the translations).

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
    found = match(text, prefix)
    if found is None:
        return text
    key, fields = found
    words = catalogue(lang)
    said = {name: translate(value, NESTED_FIELDS[name], lang) if name in NESTED_FIELDS
            else words.get(f"{LABEL_FIELDS[name]}.{value}", value) if name in LABEL_FIELDS else value
            for name, value in fields.items()}
    return words[key].format(**said)


def translate_all(texts: Any, prefix: str | tuple[str, ...], lang: str) -> Any:
    """:func:`translate` over many texts (a ledger's reasons), as an object Series: each distinct text once (a
    ledger repeats its reasons; ``benchmarks/bench_ledger_language.py`` measures 100,000 rows). ``prefix`` may
    name several tables, tried in turn until one made the text."""
    import pandas as pd  # a Series helper: the catalogue itself needs no pandas

    series = pd.Series(texts, dtype=object)
    check_language(lang)
    if lang == "en" or series.empty:
        return series
    text = series.where(series.notna(), "").astype(str)
    tables = (prefix,) if isinstance(prefix, str) else tuple(prefix)
    said = {}
    for value in text.unique():
        for table in tables:
            said[value] = translate(value, table, lang)
            if said[value] != value:
                break
    return text.map(said)


def messages(key: str, lang: str, /, length: int, **fields: Any) -> Any:
    """The message ``key`` in ``lang`` for ``length`` rows at once, as an object Series: each field a scalar or
    an array-like of ``length`` texts (vectorised: no Python loop per row). Fields take no format specs here;
    format numbers before.

    >>> messages("ingest.reason.negative", "en", 2, indicator=["pop_resident", "gdp"]).tolist()
    ['negative value for pop_resident', 'negative value for gdp']
    """
    import numpy as np  # vectorised text: the catalogue itself needs no numpy
    import pandas as pd  # idem: `import shrinkwatch` and the CLI start without pandas

    out = pd.Series("", index=range(length), dtype=object)
    for literal, field, spec, _ in string.Formatter().parse(catalogue(lang)[key]):
        if literal:
            out = out + literal
        if field:
            if spec:
                raise ValueError(f"{key}: messages() takes fields as text, not with a format spec")
            value = fields[field]
            if isinstance(value, (str, int, float)):
                out = out + str(value)
            else:
                out = out + pd.Series(np.asarray(value, dtype=object), index=out.index).astype(str)
    return out
