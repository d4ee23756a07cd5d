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

import typing
from typing import Any, Sequence

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


def fixed(values: np.ndarray, decimals: int = 2, signed: bool = False, missing: str = "n/a") -> Text:
    """Numbers as fixed-point text (``+1.25``), vectorised."""
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    scale = 10**decimals
    scaled = np.round(np.abs(np.where(finite, x, 0.0)) * scale).astype(np.int64)
    text = as_text(scaled // scale)
    if decimals:
        text = text + "." + as_text(scaled % scale).zfill(decimals)
    negative = (x < 0) & (scaled > 0)
    return (choose(negative, "-", "+" if signed else "") + text).where(finite, missing)


def grouped(values: np.ndarray, missing: str = "n/a") -> Text:
    """Whole numbers with thousands separators (``1,234,567``), vectorised.

    Every number is written as zero-padded groups of three digits joined by
    commas, then the leading zeros and commas are trimmed.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    whole = np.round(np.abs(np.where(finite, x, 0.0))).astype(np.int64)
    n_groups = max(1, (len(str(int(whole.max()))) + 2) // 3) if len(whole) else 1
    groups = [pc.ascii_lpad(pa.array((whole // 1000**k) % 1000).cast(pa.string()), 3, "0")
              for k in range(n_groups - 1, -1, -1)]
    padded = pc.binary_join_element_wise(*groups, ",") if n_groups > 1 else groups[0]
    text = pc.if_else(pa.array(whole == 0), "0", pc.ascii_ltrim(padded, "0,"))
    return (choose((x < 0) & (whole > 0), "-", "") + Text(text)).where(finite, missing)


def people(values: np.ndarray, lang: str) -> Text:
    values = np.asarray(values, dtype=float)
    if lang == "zh":
        return (fixed(values / 1e4, 1) + "万人").where(np.isfinite(values), "缺失")
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
    return Text(pc.take(pa.array(list(names), type=pa.string()), pa.array(np.asarray(codes, dtype=np.int32))))


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


