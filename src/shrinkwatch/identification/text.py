"""Reasons as text columns, built with vectorised Arrow string kernels.

A reason is one sentence per unit. Every phrase is one vectorised operation
over all units (:class:`Text` concatenation, :func:`pick`, :func:`fixed`),
never a Python loop per unit, so that reasons for 100,000 units cost a few
Arrow calls.

Examples
--------
>>> import numpy as np
>>> (fixed(np.array([1.25, -0.5, np.nan]), 2, signed=True) + " %").tolist()
['+1.25 %', '-0.50 %', 'n/a %']
>>> grouped(np.array([1234567, -4500])).tolist()
['1,234,567', '-4,500']
"""

from __future__ import annotations

import functools
import typing
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shrinkwatch.identification.indicators import Tri

__all__ = [
    "INDICATOR_NAMES",
    "indicator_name",
    "Text",
    "as_text",
    "fixed",
    "grouped",
    "people",
    "halves",
    "constant",
    "choose",
    "labels",
    "pick",
    "mark",
    "verdict_sentence",
]


#: English and Chinese names of the indicators that reasons name.
INDICATOR_NAMES = {"pop_resident": ("resident population", "常住人口"), "pop_urban": ("urban population", "城镇人口"),
                   "pop_registered": ("registered population", "户籍人口"), "gdp_real": ("real GDP", "实际GDP"),
                   "builtup_km2": ("built-up area", "建成区面积"), "employment": ("employment", "就业人数")}


def indicator_name(indicator: str, lang: str) -> str:
    """The indicator's name in words (English or Chinese); an unknown column keeps its name."""
    en, zh = INDICATOR_NAMES.get(indicator, (indicator, indicator))
    return zh if lang == "zh" else en


TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


class Text:
    """A column of text held as Arrow; ``+``, ``where`` and padding run as Arrow kernels.

    This is how reasons are written for 100,000 units without a Python loop:
    every phrase is one vectorised operation over all units. Concatenation is
    lazy: a chain ``a + "," + b + ...`` is joined in a single kernel call.
    """

    __slots__ = ("_parts", "_array")

    def __init__(self, array: pa.Array | None = None, parts: tuple[Any, ...] = ()) -> None:
        self._array = array
        self._parts = parts if array is None else (array,)

    @property
    def array(self) -> pa.Array:
        if self._array is None:
            self._array = pc.binary_join_element_wise(*self._parts, "")
            self._parts = (self._array,)
        return self._array

    @staticmethod
    def operand(value: "Text | str") -> Any:
        """The Arrow operand of a text or a plain string."""
        return value.array if isinstance(value, Text) else value

    def __add__(self, other: "Text | str") -> "Text":
        tail = other._parts if isinstance(other, Text) else (other,)
        return Text(parts=self._parts + tail)

    def __radd__(self, other: "Text | str") -> "Text":
        return Text(parts=(other,) + self._parts)

    def where(self, condition: np.ndarray, other: "Text | str") -> "Text":
        """This text where ``condition``, else ``other``."""
        condition = np.asarray(condition, dtype=bool)
        if condition.all():
            return self
        return Text(pc.if_else(pa.array(condition), self.array, Text.operand(other)))

    def zfill(self, width: int) -> "Text":
        return Text(pc.utf8_lpad(self.array, width, "0"))

    def to_pandas(self) -> pd.api.extensions.ExtensionArray:
        return pd.array(self.array, dtype=TEXT_DTYPE)

    def tolist(self) -> list[str]:
        return list(self.array.to_pylist())


def as_text(values: np.ndarray | list[Any]) -> Text:
    """Integers or strings as text (NaN and None become empty text)."""
    array = np.asarray(values)
    if array.dtype.kind in "iub":
        return Text(pa.array(array.astype(np.int64)).cast(pa.string()))
    return Text(pc.fill_null(pa.array(array, type=pa.string(), from_pandas=True), ""))


def _table(entries: list[str]) -> np.ndarray:
    """Four-byte ASCII entries as uint32 (one element per entry: its bytes, in order, in memory)."""
    return np.frombuffer("".join(entries).encode(), dtype=np.uint32).copy()


#: Four digits per entry: 0..9999 zero-padded, then 10000 + i the leading four of a number (spaces before its
#: first digit; 10000: "   0", the number 0), then 20000: four before the leading ones (spaces).
_DIGITS = _table([f"{i:04d}" for i in range(10000)] + [f"{i:>4d}" for i in range(10000)] + ["    "])
#: Three digits and a comma per entry, as :data:`_DIGITS` (thousands separators).
_GROUPS = _table([f"{i:03d}," for i in range(1000)] + [f"{i:>3d}," for i in range(1000)] + ["    "])
#: The ASCII whitespace :func:`_read_out` trims (a row's text never starts with it).
_WHITESPACE = frozenset(" \t\n\v\f\r")


def _digit_groups(values: np.ndarray, groups: int, table: np.ndarray, padded: bool = False) -> np.ndarray:
    """Integers as ``groups`` entries of ``table`` (:data:`_DIGITS`: four digits, :data:`_GROUPS`: three and a
    comma), by lookup: a units x 4 * groups byte matrix, right-aligned, spaces before the first digit (zeros
    when ``padded``). A negative value (floor division) is all its groups, zero-padded."""
    base = (len(table) - 1) // 2
    top = int(values.max()) if len(values) else 0
    bottom = int(values.min()) if len(values) else 0
    # the narrowest integers that hold them (less memory traffic for most populations)
    rest = values.astype(np.int32 if -(2**31) < bottom and top < 2**31 else values.dtype, copy=False)
    out = np.empty((groups, len(values)), dtype=np.uint32)
    step = rest.dtype.type(base)
    for group in range(groups):
        quotient = rest // base
        index = rest - quotient * base
        if not padded:
            index += (quotient == 0) * step  # the leading entry
            if group:
                index += (rest == 0) * step  # before the leading entry
        np.take(table, index, out=out[groups - 1 - group])
        rest = quotient
    return np.ascontiguousarray(out.T).view(np.uint8)


def _read_out(chars: np.ndarray) -> Text:
    """The text of every row of a byte matrix (UTF-8), the spaces before it left out: the matrix is the data
    of one Arrow array of fixed-width rows (no copy), then one Arrow trim."""
    n, width = chars.shape
    chars = np.ascontiguousarray(chars)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32 if (n + 1) * width < 2**31 else np.int64)
    build = pa.StringArray if offsets.dtype == np.int32 else pa.LargeStringArray
    padded = build.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    trimmed = pc.ascii_ltrim_whitespace(padded)
    return Text(trimmed if trimmed.type == pa.string() else trimmed.cast(pa.string()))


def _digit_count(values: np.ndarray) -> np.ndarray:
    """How many digits each of non-negative integers has (at least one)."""
    top = int(values.max()) if len(values) else 0
    count = np.ones(len(values), dtype=np.int8)
    for power in range(1, min(len(str(top)), 20)):
        count += values >= np.uint64(10**power)
    return count


def _signed(chars: np.ndarray, widths: Callable[[], np.ndarray], signs: list[tuple[np.ndarray, str]]) -> None:
    """Write a one-character sign before the text right-aligned at the end of ``chars`` (``widths()`` its
    widths, spaces before) where each of ``signs`` holds, the innermost first; ``chars`` has room."""
    start = None
    for where, sign in signs:
        rows = np.flatnonzero(where)
        if not len(rows):
            continue
        if start is None:
            start = chars.shape[1] - widths().astype(np.intp)
        start[rows] -= 1
        chars[rows, start[rows]] = ord(sign)


def _missing(chars: np.ndarray, rows: np.ndarray, word: str) -> np.ndarray:
    """``chars`` with ``word`` (right-aligned, spaces before) in ``rows``, widened to hold it."""
    encoded = np.frombuffer(word.encode(), dtype=np.uint8)
    rows = np.flatnonzero(rows)
    if not len(rows):
        return chars
    if len(encoded) > chars.shape[1]:
        chars = np.concatenate([np.full((len(chars), len(encoded) - chars.shape[1]), 32, np.uint8), chars], axis=1)
    line = np.full(chars.shape[1], 32, dtype=np.uint8)
    line[len(line) - len(encoded) :] = encoded
    chars[rows] = line
    return chars


def _fixed(values: np.ndarray, decimals: int, signed: bool, missing: str, suffix: str = "") -> Text:
    """:func:`fixed` followed by ``suffix`` (not after ``missing``), written into one byte matrix."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    finite = np.isfinite(x)
    scale = 10**decimals
    scaled = np.round(np.abs(np.where(finite, x, 0.0)) * scale).astype(np.int64)
    whole = scaled // scale
    # below 0 only where the scaled value overflowed int64: written as Arrow writes a negative int64, as before
    whole_negative = whole < 0
    magnitude = whole.astype(np.uint64)
    np.negative(magnitude, out=magnitude, where=whole_negative)
    top = int(magnitude.max()) if n else 0
    negative = (x < 0) & (scaled > 0)
    # room for the digits and the signs written
    room = int(bool(whole_negative.any())) + int(signed or bool(negative.any()))
    groups = (len(str(top)) + room + 3) // 4
    parts = [_digit_groups(magnitude, groups, _DIGITS)]
    _signed(parts[0], lambda: _digit_count(magnitude),
            [(whole_negative, "-"), (negative, "-")] + ([(~negative, "+")] if signed else []))
    if decimals:
        fraction = _digit_groups(scaled % scale, (decimals + 3) // 4, _DIGITS, padded=True)
        parts += [np.full((n, 1), ord("."), dtype=np.uint8), fraction[:, fraction.shape[1] - decimals :]]
    if suffix:
        tail = np.frombuffer(suffix.encode(), dtype=np.uint8)
        parts.append(np.broadcast_to(tail, (n, len(tail))))
    chars = _missing(np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0], ~finite, missing)
    text = _read_out(chars)
    if missing[:1] in _WHITESPACE:  # trimmed with the padding: put back
        return text.where(finite, missing)
    return text


def fixed(values: np.ndarray, decimals: int = 2, signed: bool = False, missing: str = "n/a") -> Text:
    """Numbers as fixed-point text (``+1.25``), vectorised: the digits of all numbers are written into one
    byte matrix (three at a time, by lookup) and read out as one Arrow array."""
    return _fixed(values, decimals, signed, missing)


def grouped(values: np.ndarray, missing: str = "n/a") -> Text:
    """Whole numbers with thousands separators (``1,234,567``), vectorised.

    Every number is written as groups of three digits followed by commas, by lookup, into one byte matrix
    (spaces before the first digit), and read out as one Arrow array.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    whole = np.round(np.abs(np.where(finite, x, 0.0))).astype(np.int64)
    n = len(whole)
    n_groups = max(1, (len(str(int(whole.max()))) + 2) // 3) if n else 1
    minus = (x < 0) & (whole > 0)
    overflowed = np.flatnonzero(whole < 0)
    # one more group where a sign is written: room for it (and for the wrapped digits of an overflow)
    extra = int(bool(minus.any()) or len(overflowed) > 0)
    chars = _digit_groups(whole, n_groups + extra, _GROUPS)[:, :-1]
    if len(overflowed):
        # a value beyond int64 was written from its wrapped integer, zero-padded: its leading zeros and commas
        # go, as before
        block = chars[overflowed]
        block[:, :4] = 32  # the sign's group: not written before
        block[np.logical_and.accumulate((block == ord("0")) | (block == ord(",")) | (block == 32), axis=1)] = 32
        chars[overflowed] = block

    def widths() -> np.ndarray:
        digits = _digit_count(whole.astype(np.uint64))
        return digits + (digits - 1) // 3

    _signed(chars, widths, [(minus, "-")])
    chars = _missing(chars, ~finite, missing)
    text = _read_out(chars)
    if missing[:1] in _WHITESPACE:
        return text.where(finite, missing)
    return text


def people(values: np.ndarray, lang: str) -> Text:
    values = np.asarray(values, dtype=float)
    if lang == "zh":
        return _fixed(values / 1e4, 1, False, "缺失", suffix="万人")
    return grouped(values, "missing")


def halves(text: Text, n: int) -> tuple[Text, Text]:
    """Split a text column formatted for two stacked arrays of length ``n`` (zero-copy slices)."""
    array = text.array
    return Text(array.slice(0, n)), Text(array.slice(n))


def constant(n: int, text: str) -> Text:
    return Text(pc.fill_null(pa.nulls(n, pa.string()), text))


def choose(condition: np.ndarray, yes: str, no: str) -> Text | str:
    """``yes`` where ``condition``, else ``no`` (a plain string when it is the same for every unit)."""
    condition = np.asarray(condition, dtype=bool)
    if condition.all():
        return yes
    if not condition.any():
        return no
    return Text(pc.if_else(pa.array(condition), yes, no))


def labels(codes: np.ndarray, names: Sequence[str]) -> Text:
    """``names[code]`` for every code: one Arrow ``take``, no Python string per unit.

    Examples
    --------
    >>> labels(np.array([1, 0, 1]), ["no", "yes"]).tolist()
    ['yes', 'no', 'yes']
    """
    return Text(pc.take(_names(tuple(names)), pa.array(np.asarray(codes, dtype=np.int32))))


@functools.lru_cache(maxsize=256)
def _names(names: tuple[str, ...]) -> pa.Array:
    """The Arrow array of a few label strings (the same few, such as the statuses, on every call)."""
    return pa.array(list(names), type=pa.string())


def pick(conditions: list[np.ndarray], choices: list[Text | str], default: Text | str) -> Text:
    """The first matching choice per unit (``np.select`` over text); plain strings are taken by code
    (:func:`labels`), one Arrow call."""
    if isinstance(default, str) and all(isinstance(choice, str) for choice in choices):
        codes = np.full(len(conditions[0]), len(choices), dtype=np.int32)
        for code in range(len(conditions) - 1, -1, -1):
            codes[np.asarray(conditions[code], dtype=bool)] = code
        return labels(codes, [*typing.cast(list[str], choices), default])
    result = default if isinstance(default, Text) else constant(len(conditions[0]), default)
    for condition, choice in zip(reversed(conditions), reversed(choices)):
        result = Text(pc.if_else(pa.array(np.asarray(condition, dtype=bool)), Text.operand(choice), result.array))
    return result


def mark(tri: Tri, lang: str) -> Text:
    words = ("met", "not met", "undecided") if lang == "en" else ("满足", "不满足", "无法判定")
    return pick([tri.yes, tri.no], [words[0], words[1]], words[2])


def verdict_sentence(verdict: Tri, phrases: list[Text | str], lang: str, note: str = "") -> Text:
    """``Verdict (note): phrase; phrase; phrase.`` for every unit at once."""
    if lang == "zh":
        head = pick([verdict.yes, verdict.no], ["判定为收缩", "未达到收缩标准"], "数据不足，无法判定")
        body = phrases[0]
        for phrase in phrases[1:]:
            body = body + "；" + phrase
        return head + (f"（{note}）" if note else "") + "：" + body + "。"
    head = pick([verdict.yes, verdict.no], ["Shrinking", "Not shrinking"], "Insufficient data")
    body = phrases[0]
    for phrase in phrases[1:]:
        body = body + "; " + phrase
    return head + (f" ({note})" if note else "") + ": " + body + "."


