"""Per-pixel trend kernel: Mann-Kendall test (tie-corrected) and Theil-Sen slope, compiled with Numba.

One pass per chunk: for every pixel the kernel copies its series into a contiguous scratch
buffer (missing years as NaN), writes the slopes of all pairs of years into another (the pair
differences lag by lag, then the divisions in one loop over spans that are the same for every
pixel, which also counts the signs of the differences: Mann-Kendall S and the tied pairs; NaN
for a pair with a missing year; both in explicit vectors of 8), finds their median (Theil-Sen) by a few vectorised
counting passes around pivots that close in on it, a vector-compress gather of the few slopes
left and a sorting network among them, sorts the valid values for the tie correction only when
some pair is tied, and writes z, the two-sided p value and Kendall's tau. Scratch buffers are allocated once per block of pixels, never per pixel; blocks
are spread over cores with ``numba.prange`` and handed out one at a time.

Definitions (per pixel, over its ``n`` valid years ``t_1 < ... < t_n`` with values ``x``):

- ``S = sum_{i<j} sign(x_j - x_i)``; ``tau = S / (n(n-1)/2)``
- ``var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18`` over groups ``g`` of tied values
- ``z = (S-1)/sqrt(var)`` if ``S > 0``, ``(S+1)/sqrt(var)`` if ``S < 0``, else ``0``
- ``p = 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2)`` (two-sided)
- ``slope = median_{i<j} (x_j - x_i) / (t_j - t_i)`` in value units per year; the years may be
  irregular (GHSL epochs every five years), so the slope is per year, not per step.

These are the formulas of ``pymannkendall.original_test`` and ``scipy.stats.theilslopes``
(``tests/test_grid_trend.py`` checks the kernel against both on generated series).

A value is valid when it is finite: NaN (and +-inf, which no raster means as a value) is a
missing year. A pixel with fewer than ``min_valid`` valid years is *insufficient*: every
statistic is NaN and ``status`` is ``INSUFFICIENT``, never a "no trend" answer. A pixel whose
valid values are all equal is assessed (``S = 0``, ``z = 0``, ``p = 1``, ``slope = 0``) and
flagged ``NO_VARIATION`` so that "never changed" (a pixel that was never built up, say) can be
told apart from "changed without a trend".

How to call it
--------------
``pixel_trends(values, years, *, min_valid=8, axis=0, parallel=True) -> PixelTrends``

- ``values``: a float array (float32 or float64; integers are taken as float64) with the
  year axis at ``axis`` and any pixel shape around it: ``(years,)``, ``(years, n_pixels)``,
  ``(years, y, x)``, or ``(y, x, years)`` with ``axis=-1`` (what ``xarray.apply_ufunc`` hands
  over when ``year`` is the core dimension).
- ``years``: one number per position of the year axis, strictly increasing (need not be
  evenly spaced).
- ``min_valid``: fewest valid years a pixel needs (at least 3, at most ``len(years)``).
- ``parallel``: spread pixels over Numba's threads. Inside Dask workers that already run one
  task per core, pass ``parallel=False`` (what ``trend_block`` does by default).

``PixelTrends`` holds arrays of the pixel shape (the input shape without the year axis):
``slope``, ``p``, ``z``, ``tau``, ``s``, ``var_s`` (float64, NaN where insufficient),
``n_valid`` (int32, the count of valid years, also for insufficient pixels) and ``status``
(int8: ``ASSESSED``, ``INSUFFICIENT``, ``NO_VARIATION``); ``insufficient`` is the boolean mask,
``significant_decline(alpha)`` the boolean decline mask (``S < 0`` and ``p < alpha`` among
assessed pixels), and ``decline_code(alpha)`` the same as a uint8 raster whose
``DECLINE_NODATA`` (255) marks insufficient pixels, so a written mask never reads
"insufficient" as "no decline".

For Dask, ``trend_block(block, years, *, min_valid=8, axis=0, parallel=False)`` returns one
float64 array ``(len(BLOCK_FIELDS), *pixel_shape)`` whose layers follow ``BLOCK_FIELDS``;
``PixelTrends.from_block(array, years, min_valid)`` turns it back into a ``PixelTrends``.
The year axis must be a single chunk::

    stack = stack.rechunk({0: -1})
    out = stack.map_blocks(trend_block, years=years, min_valid=8, dtype="float64",
                           chunks=((len(BLOCK_FIELDS),), *stack.chunks[1:]))

>>> import numpy as np
>>> result = pixel_trends(np.array([[1.0, np.nan], [2.0, np.nan], [4.0, 3.0], [3.0, np.nan]]),
...                       np.array([2000, 2005, 2010, 2015]), min_valid=3)
>>> round(float(result.slope[0]), 4), int(result.s[0]), result.status.tolist()
(0.1667, 4, [0, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numpy.typing import ArrayLike, NDArray

from shrinkwatch.core.errors import DataError, OptionError

__all__ = [
    "ASSESSED",
    "BLOCK_FIELDS",
    "DECLINE_NODATA",
    "DEFAULT_MIN_VALID",
    "INSUFFICIENT",
    "NO_VARIATION",
    "STATUS_LABELS",
    "PixelTrends",
    "pixel_trends",
    "trend_block",
]

#: Default fewest valid years for a pixel to be assessed.
DEFAULT_MIN_VALID = 8
#: ``status`` codes.
ASSESSED, INSUFFICIENT, NO_VARIATION = 0, 1, 2
#: What each status code means (every user-visible string of this module is here).
STATUS_LABELS = {
    "en": {ASSESSED: "assessed", INSUFFICIENT: "insufficient data (too few valid years)",
           NO_VARIATION: "assessed: no variation (all valid years equal)"},
    "zh": {ASSESSED: "已评估", INSUFFICIENT: "数据不足（有效年份过少）", NO_VARIATION: "已评估：无变化（各有效年份数值相同）"},
}
#: Value of ``decline_code`` for insufficient pixels (0 = no significant decline, 1 = significant decline).
DECLINE_NODATA = 255
#: Layers of the ``trend_block`` array, in order.
BLOCK_FIELDS = ("slope", "p", "z", "tau", "s", "var_s", "n_valid", "status")

_MESSAGES = {
    "no_year_axis": "values has {ndim} dimension(s); axis={axis} is not one of them",
    "years_shape": "years must be one-dimensional with one entry per position of the year axis "
                   "({expected}); got shape {shape}",
    "years_order": "years must be finite and strictly increasing; got {years}",
    "dtype": "values must be a real numeric array (float32, float64 or integer); got dtype {dtype}",
    "min_valid": "min_valid must be an integer from 3 to the number of years ({n_years}); got {value!r}",
    "alpha": "alpha must be a number between 0 and 1 (exclusive); got {value!r}",
    "block_layers": "a trend block has {expected} layers ({fields}); got shape {shape}",
}

# Pixels per task of the parallel loop: buffers are allocated once per block, not per pixel.
_BLOCK = 2048
# The Theil-Sen median: a stratified sample of ``_N_SAMPLE`` pair slopes gives the first two pivots
# (its values of rank middle -+ ``_BRACKET``); every later pass counts the slopes below two pivots
# placed by the secant through the last two (``_SPREAD`` x sqrt(slopes left) ranks either side of
# the median); after at most ``_MAX_PASSES`` passes, or once at most ``_FEW`` slopes are left
# between the pivots, those are gathered and the median selected among them. Fewer pairs than
# ``_MIN_PAIRS_TO_BRACKET``: selected among all of them at once.
_N_SAMPLE = 9
_BRACKET = 2
_SPREAD = 0.5
_MAX_PASSES = 6
_FEW = 16
_MIN_PAIRS_TO_BRACKET = 4 * _N_SAMPLE


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort network for ``n`` (a power of 2) values: the compare-exchange pairs."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


# The few slopes gathered (at most ``_FEW``) are sorted by this network (``_sort_few``: unrolled, in
# registers), padded with +inf to ``_NET_SIZE``; more (many equal slopes, or passes that did not close
# in) go to the quickselect.
_NET_SIZE = 16
_NETWORK = np.array(_batcher_pairs(_NET_SIZE), dtype=np.int64)
# The division by the span of a pair is done as a product with the span's reciprocal and one FMA
# correction step (Markstein: correctly rounded, so the same bits as the division) when the spans
# and values are in these ranges (no overflow, no underflow); otherwise by plain division.
_SPAN_RANGE = (2.0 ** -60, 2.0 ** 60)
_VALUE_MAX = 2.0 ** 900


_VECTOR = ir.VectorType(ir.DoubleType(), 8)


def _vector_at(context: Any, builder: Any, array_type: Any, array: Any, index: Any) -> Any:  # pragma: no cover
    """Pointer to the 8 doubles of ``array`` from ``index`` on (LLVM IR, for the intrinsics below)."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [index]), _VECTOR.as_pointer())


def _count_lanes(builder: Any, mask: Any) -> Any:  # pragma: no cover - compiled
    """How many of the 8 lanes of a comparison are true, as an int64."""
    popcount = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.IntType(8), [ir.IntType(8)]), "llvm.ctpop.i8")
    return builder.zext(builder.call(popcount, [builder.bitcast(mask, ir.IntType(8))]), ir.IntType(64))


def _compress8_intrinsic(typingctx: Any, src: Any, start: Any, lo: Any, hi: Any, dst: Any,
                         pos: Any) -> Any:  # pragma: no cover - compiled
    """Append those of ``src[start:start+8]`` in ``[lo, hi)`` to ``dst`` from ``pos`` on, in order; return the new end.

    One vector compare and LLVM's ``masked.compressstore`` (AVX-512's ``vcompresspd``; other CPUs get
    LLVM's scalar expansion), in place of eight branchless scalar steps. NaN is never in ``[lo, hi)``.
    """
    sig = types.int64(src, types.int64, types.float64, types.float64, dst, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        source, first, low, high, target, end = args
        values = builder.load(_vector_at(context, builder, signature.args[0], source, first), align=8)

        def splat(x: Any) -> Any:
            v = ir.Constant(_VECTOR, ir.Undefined)
            for lane in range(8):
                v = builder.insert_element(v, x, ir.Constant(ir.IntType(32), lane))
            return v

        mask = builder.and_(builder.fcmp_ordered(">=", values, splat(low)),
                            builder.fcmp_ordered("<", values, splat(high)))
        double_pointer = ir.DoubleType().as_pointer()
        compress = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_VECTOR, double_pointer, ir.VectorType(ir.IntType(1), 8)]),
            "llvm.masked.compressstore.v8f64")
        target_pointer = _vector_at(context, builder, signature.args[4], target, end)
        builder.call(compress, [values, builder.bitcast(target_pointer, double_pointer), mask])
        return builder.add(end, _count_lanes(builder, mask))

    return sig, codegen


def _difference8_intrinsic(typingctx: Any, src: Any, upper: Any, lower: Any, dst: Any,
                           start: Any) -> Any:  # pragma: no cover - compiled
    """``dst[start:start+8] = src[upper:upper+8] - src[lower:lower+8]`` as one vector operation."""
    sig = types.none(src, types.int64, types.int64, dst, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        source, high, low, target, first = args
        source_type, target_type = signature.args[0], signature.args[3]
        difference = builder.fsub(builder.load(_vector_at(context, builder, source_type, source, high), align=8),
                                  builder.load(_vector_at(context, builder, source_type, source, low), align=8))
        builder.store(difference, _vector_at(context, builder, target_type, target, first), align=8)
        return context.get_dummy_value()

    return sig, codegen


def _quotient8_intrinsic(typingctx: Any, slopes: Any, recips: Any, spans: Any,
                         start: Any) -> Any:  # pragma: no cover - compiled
    """``slopes[start:start+8] /= spans[...]`` by the reciprocal and one FMA step (exact where ``_SPAN_RANGE``
    and ``_VALUE_MAX`` hold; a zero keeps its sign, as -0 / span is -0); returns how many of the eight
    differences were positive and negative (NaN: neither)."""
    sig = types.UniTuple(types.int64, 2)(slopes, recips, spans, types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        first = args[3]
        slope_pointer, recip_pointer, span_pointer = (
            _vector_at(context, builder, signature.args[i], args[i], first) for i in range(3))
        d = builder.load(slope_pointer, align=8)
        y = builder.load(recip_pointer, align=8)
        h = builder.load(span_pointer, align=8)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VECTOR, [_VECTOR] * 3), "llvm.fma.v8f64")
        q0 = builder.fmul(d, y)
        residual = builder.call(fma, [builder.fneg(q0), h, d])
        q1 = builder.call(fma, [residual, y, q0])
        zero = ir.Constant(_VECTOR, [0.0] * 8)
        builder.store(builder.select(builder.fcmp_ordered("==", q0, zero), q0, q1), slope_pointer, align=8)
        return context.make_tuple(builder, signature.return_type,
                                  (_count_lanes(builder, builder.fcmp_ordered(">", d, zero)),
                                   _count_lanes(builder, builder.fcmp_ordered("<", d, zero))))

    return sig, codegen


# LLVM vector operations that Numba's loops do not give (the vector compress) or give only with scalar
# remainders and alias checks around loops this short; called from compiled code only, as
# _compress8(src, start, lo, hi, dst, pos), _difference8(src, upper, lower, dst, start) and
# _quotient8(slopes, recips, spans, start)
_compress8: Callable[..., Any] = intrinsic(_compress8_intrinsic)
_difference8: Callable[..., Any] = intrinsic(_difference8_intrinsic)
_quotient8: Callable[..., Any] = intrinsic(_quotient8_intrinsic)


def _sort_few_intrinsic(typingctx: Any, values: Any) -> Any:  # pragma: no cover - compiled
    """Sort ``values[0:_NET_SIZE]`` in place by ``_NETWORK``, unrolled, in registers."""
    sig = types.none(values)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        pointers = [builder.gep(data, [ir.Constant(ir.IntType(64), i)]) for i in range(_NET_SIZE)]
        held = [builder.load(pointer) for pointer in pointers]
        for i, j in _NETWORK.tolist():
            x, y = held[i], held[j]
            less = builder.fcmp_ordered("<", x, y)
            held[i] = builder.select(less, x, y)
            held[j] = builder.select(less, y, x)
        for pointer, value in zip(pointers, held):
            builder.store(value, pointer)
        return context.get_dummy_value()

    return sig, codegen


_sort_few: Callable[..., Any] = intrinsic(_sort_few_intrinsic)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _select(a: Any, hi: int, k: int) -> float:  # pragma: no cover - compiled
    """Reorder ``a[0:hi+1]`` so that ``a[k]`` is its k-th smallest (quickselect); return it.

    Everything left of ``k`` ends up ``<= a[k]`` and everything right of it ``>=``. The
    partition is Lomuto's without branches (the pair slopes of a noisy series defeat branch
    prediction); when the pivot is the smallest value left, its copies are gathered in one
    more pass, so that runs of equal slopes (flat stretches, ties) stay linear.
    """
    lo = 0
    while lo < hi:
        mid = (lo + hi) >> 1
        # median of three as the pivot, moved to a[hi]
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[mid] < a[hi]:
            a[mid], a[hi] = a[hi], a[mid]
        pivot = a[hi]
        store = lo
        for i in range(lo, hi):
            v = a[i]
            a[i] = a[store]
            a[store] = v
            store += 1 if v < pivot else 0
        a[hi] = a[store]
        a[store] = pivot
        if k == store:
            return pivot
        if k < store:
            hi = store - 1
        elif store > lo:
            lo = store + 1
        else:  # the pivot is the smallest: skip all its copies at once
            same = store + 1
            for i in range(store + 1, hi + 1):
                v = a[i]
                a[i] = a[same]
                a[same] = v
                same += 1 if v == pivot else 0
            if k < same:
                return pivot
            lo = same
    return a[k]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _count_below(slopes: Any, m: int, v1: float, v2: float) -> tuple[int, int]:  # pragma: no cover - compiled
    """How many of ``slopes[0:m]`` are below ``v1`` and below ``v2`` (one vectorised pass; NaN never is)."""
    c1 = 0
    c2 = 0
    for q in range(m):
        x = slopes[q]
        c1 += 1 if x < v1 else 0
        c2 += 1 if x < v2 else 0
    return c1, c2


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _median_of_slopes(slopes: Any, length: int, m: int, kept: Any, sample: Any) -> float:  # pragma: no cover - compiled
    """The median of the ``m`` slopes that are not NaN among ``slopes[0:length]`` (the mean of the two
    middle ones when ``m`` is even). NaN (a pair with a missing year) is never below a pivot, nor kept.
    ``slopes`` is NaN from ``length`` to its end, a multiple of 8 (the gather reads whole vectors);
    ``kept`` holds at least as many values as ``slopes`` and ``_NET_SIZE``.

    Invariant of the passes: ``below_a = #(slope < a) <= r`` and ``below_b = #(slope < b) >= r + 1 + even``
    where ``r = (m - 1) // 2``, so the middle slope(s) are among those in ``[a, b)``, at ranks
    ``r - below_a`` (and the next one) there. Any pivot keeps the invariant true (the counts are
    exact), so the pivots only decide how fast ``[a, b)`` shrinks, never the answer.
    """
    r = (m - 1) // 2
    even = 1 - m % 2
    a = -np.inf
    b = np.inf
    below_a = 0
    below_b = m
    if m >= _MIN_PAIRS_TO_BRACKET:
        for q in range(_N_SAMPLE):  # stratified over the pairs (they are ordered by lag)
            sample[q] = slopes[(q * length) // _N_SAMPLE + (length // _N_SAMPLE) // 2]
        v1 = -np.inf
        v2 = np.inf
        for q in range(_N_SAMPLE):  # ranks by counting (no branches): the values of rank middle -+ _BRACKET
            v = sample[q]
            rank = 0
            for u in range(_N_SAMPLE):
                w = sample[u]
                rank += 1 if (w < v) | ((w == v) & (u < q)) else 0
            if rank == _N_SAMPLE // 2 - _BRACKET:
                v1 = v
            elif rank == _N_SAMPLE // 2 + _BRACKET:
                v2 = v
        for _ in range(_MAX_PASSES):
            c1, c2 = _count_below(slopes, length, v1, v2)
            for v, c in ((v1, c1), (v2, c2)):
                if c <= r:
                    if v > a:
                        a = v
                        below_a = c
                elif c >= r + 1 + even:
                    if v < b:
                        b = v
                        below_b = c
            left = below_b - below_a
            if left <= _FEW:
                break
            # next pivots: the secant through the last two (the bracket's ends if they tell nothing)
            if c2 != c1 and math.isfinite(v2 - v1):
                step = (v2 - v1) / (c2 - c1)
                v0, c0 = v1, c1
            else:
                step = (b - a) / left
                v0, c0 = a, below_a
            spread = 0.5 + _SPREAD * math.sqrt(left)
            n1 = v0 + step * (r - spread - c0)
            n2 = v0 + step * (r + even + 1 + spread - c0)
            v1 = n1 if (n1 > a) & (n1 < b) else a + 0.25 * (b - a)
            v2 = n2 if (n2 > a) & (n2 < b) else a + 0.75 * (b - a)
    # gather the slopes in [a, b) and select among them
    count = 0
    for q in range(0, slopes.shape[0], 8):  # gathered eight at a time, in order, by a vector compress
        count = _compress8(slopes, q, a, b, kept, count)
    k = r - below_a
    if count <= _NET_SIZE:  # a sorting network (no branches) over the few, padded with +inf
        for q in range(count, _NET_SIZE):
            kept[q] = np.inf
        _sort_few(kept)
        med = kept[k]
        if even == 1:
            med = 0.5 * (med + kept[k + 1])
        if med != 0.0:
            return med
        # a zero median: whether it is +0 or -0 (slopes of -0.0 values) depends on the order in which a
        # selection meets the equal zeros; the quickselect below, on the slopes gathered again in their
        # order, gives the zero this kernel has always given
        count = 0
        for q in range(0, slopes.shape[0], 8):
            count = _compress8(slopes, q, a, b, kept, count)
    med = _select(kept, count - 1, k)
    if even == 1:  # the next one up is the smallest of those right of k
        upper = kept[k + 1]
        for q in range(k + 2, count):
            if kept[q] < upper:
                upper = kept[q]
        med = 0.5 * (med + upper)
    return med


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pixels(values: Any, t: Any, min_valid: int, start: int, stop: int,
            slope: Any, p: Any, z: Any, tau: Any, s: Any, var_s: Any,
            n_valid: Any, status: Any) -> None:  # pragma: no cover - compiled
    """The trend of pixels ``start..stop-1`` of ``values`` (pixels x years).

    Per pixel: its series copied into a contiguous scratch one (missing years as NaN), the slopes of
    all pairs of years by lag (``x[i+h] - x[i]``, NaN for a pair with a missing year) into a scratch
    buffer, S and the tied pairs counted from the signs of the differences in the loop that divides,
    the Theil-Sen median by ``_median_of_slopes``, and the tie correction from an insertion sort of
    the valid values only when some pair is tied. Scratch buffers are allocated once per call, none
    inside the pixel loop.
    """
    n_years = values.shape[1]
    n_pairs = n_years * (n_years - 1) // 2
    xf = np.full(n_years + 8, np.nan)  # NaN after the last year: the lag vectors read past it
    xv = np.empty(n_years)
    sv = np.empty(n_years)
    slopes = np.full(8 * ((n_pairs + 7) // 8) + 8, np.nan)  # whole vectors of 8; the tail stays NaN
    kept = np.empty(max(slopes.shape[0], _NET_SIZE))
    spans = np.ones(slopes.shape[0])
    recips = np.ones(slopes.shape[0])
    k = 0
    for h in range(1, n_years):
        for i in range(n_years - h):
            spans[k + i] = t[i + h] - t[i]
            recips[k + i] = 1.0 / spans[k + i]
        k += n_years - h
    fast = True  # reciprocal and FMA for every pair (see _SPAN_RANGE)
    for q in range(n_pairs):
        fast &= (spans[q] > _SPAN_RANGE[0]) & (spans[q] < _SPAN_RANGE[1])
    sample = np.empty(_N_SAMPLE)
    nan = np.nan
    # |d / dt| >= |d| / span >= (ulp of the smallest nonzero |value|) / span: no underflow to 0 above this
    tiny = 2.0 ** -900 * max(1.0, t[n_years - 1] - t[0])
    for px in range(start, stop):
        n = 0
        small = False
        big = False
        for k in range(n_years):
            v = float(values[px, k])
            if math.isfinite(v):
                xf[k] = v
                xv[n] = v
                n += 1
                small |= (v != 0.0) & (abs(v) < tiny)
                big |= abs(v) > _VALUE_MAX
            else:
                xf[k] = nan
        n_valid[px] = n
        if n < min_valid:
            slope[px] = nan
            p[px] = nan
            z[px] = nan
            tau[px] = nan
            s[px] = nan
            var_s[px] = nan
            status[px] = 1
            continue
        m = n * (n - 1) // 2
        # the pair differences over all years lag by lag (x[i+h] - x[i]; NaN where a year is missing),
        # then the slopes in one long loop, so that the divisions are vectorised: the spans of the
        # pairs are the same for every pixel. Both in vectors of 8 (see _difference8 and _quotient8)
        k = 0
        for h in range(1, n_years):  # 8 at a time: past its end a lag's vector holds NaN, which the next overwrites
            for i in range(0, n_years - h, 8):
                _difference8(xf, i + h, i, slopes, k + i)
            k += n_years - h
        # the divisions, and S and the tied pairs from the signs of the differences (a slope has the sign of
        # its difference, the years increase; counting the differences, not the slopes, also holds where a
        # division underflows to 0). The product with the reciprocal, corrected once by FMA, is the
        # correctly rounded quotient (Markstein's theorem) unless a value is subnormal-sized (``small``:
        # the quotient may underflow) or huge (``big``), or a span is extreme: those divide.
        positive = 0
        negative = 0
        if fast and not (small or big):
            for q in range(0, n_pairs, 8):  # the tail past n_pairs is NaN: counted neither way, stays NaN
                up, down = _quotient8(slopes, recips, spans, q)
                positive += up
                negative += down
        else:
            for q in range(n_pairs):
                d = slopes[q]
                positive += 1 if d > 0 else 0
                negative += 1 if d < 0 else 0
                slopes[q] = d / spans[q]
        score = positive - negative
        tied = m - positive - negative
        # ties: sum over groups of equal values of t(t-1)(2t+5); only a series with tied pairs needs the sort
        tie_sum = 0.0
        if tied == m:  # every valid value equal: every pair slope is 0
            tie_sum = n * (n - 1.0) * (2.0 * n + 5.0)
            med = 0.0
        else:
            med = _median_of_slopes(slopes, n_pairs, m, kept, sample)
            if tied > 0:
                for i in range(n):  # insertion sort of the valid values, then the runs of equal values
                    v = xv[i]
                    j = i - 1
                    while j >= 0 and sv[j] > v:
                        sv[j + 1] = sv[j]
                        j -= 1
                    sv[j + 1] = v
                run = 1
                for i in range(1, n + 1):
                    if i < n and sv[i] == sv[i - 1]:
                        run += 1
                    else:
                        if run > 1:
                            tie_sum += run * (run - 1.0) * (2.0 * run + 5.0)
                        run = 1
        var = (n * (n - 1.0) * (2.0 * n + 5.0) - tie_sum) / 18.0
        if score > 0:
            zz = (score - 1.0) / math.sqrt(var)
        elif score < 0:
            zz = (score + 1.0) / math.sqrt(var)
        else:
            zz = 0.0
        slope[px] = med
        z[px] = zz
        p[px] = math.erfc(abs(zz) / math.sqrt(2.0))
        tau[px] = score / (0.5 * n * (n - 1.0))
        s[px] = score
        var_s[px] = var
        status[px] = 2 if tied == m else 0


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _trend_parallel(values: Any, t: Any, min_valid: int, slope: Any, p: Any, z: Any, tau: Any, s: Any,
                    var_s: Any, n_valid: Any, status: Any) -> None:  # pragma: no cover - compiled
    n_pixels = values.shape[0]
    n_blocks = (n_pixels + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        _pixels(values, t, min_valid, b * _BLOCK, min(n_pixels, (b + 1) * _BLOCK),
                slope, p, z, tau, s, var_s, n_valid, status)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _trend_serial(values: Any, t: Any, min_valid: int, slope: Any, p: Any, z: Any, tau: Any, s: Any,
                  var_s: Any, n_valid: Any, status: Any) -> None:  # pragma: no cover - compiled
    n_pixels = values.shape[0]
    for b in range((n_pixels + _BLOCK - 1) // _BLOCK):  # the parallel driver's blocks: one compiled _pixels
        _pixels(values, t, min_valid, b * _BLOCK, min(n_pixels, (b + 1) * _BLOCK),
                slope, p, z, tau, s, var_s, n_valid, status)


@dataclass(frozen=True)
class PixelTrends:
    """Per-pixel Mann-Kendall / Theil-Sen results, each array of the pixel shape.

    ``slope`` is in value units per year; ``s``, ``var_s``, ``z``, ``p``, ``tau`` are the
    Mann-Kendall statistics; all are NaN where ``status == INSUFFICIENT``. ``n_valid`` counts
    each pixel's valid years. ``years`` and ``min_valid`` record what was asked.
    """

    slope: NDArray[np.float64]
    p: NDArray[np.float64]
    z: NDArray[np.float64]
    tau: NDArray[np.float64]
    s: NDArray[np.float64]
    var_s: NDArray[np.float64]
    n_valid: NDArray[np.int32]
    status: NDArray[np.int8]
    years: NDArray[np.float64]
    min_valid: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.slope.shape)

    @property
    def insufficient(self) -> NDArray[np.bool_]:
        """True where a pixel had fewer than ``min_valid`` valid years."""
        return np.asarray(self.status == INSUFFICIENT)

    def significant_decline(self, alpha: float = 0.05) -> NDArray[np.bool_]:
        """True where the Mann-Kendall test finds a decrease (``S < 0``) at two-sided level ``alpha``.

        False for insufficient pixels too: read ``insufficient`` (or write ``decline_code``)
        so that those are not taken for "no decline".
        """
        alpha = _check_alpha(alpha)
        with np.errstate(invalid="ignore"):
            return np.asarray((self.status != INSUFFICIENT) & (self.s < 0) & (self.p < alpha))

    def decline_code(self, alpha: float = 0.05) -> NDArray[np.uint8]:
        """uint8 raster: 1 significant decline, 0 none, ``DECLINE_NODATA`` (255) insufficient data."""
        code = self.significant_decline(alpha).astype(np.uint8)
        code[self.insufficient] = DECLINE_NODATA
        return code

    def to_block(self) -> NDArray[np.float64]:
        """The ``BLOCK_FIELDS`` layers stacked into one float64 array ``(len(BLOCK_FIELDS), *shape)``."""
        return np.stack([np.asarray(getattr(self, name), dtype=np.float64) for name in BLOCK_FIELDS])

    @classmethod
    def from_block(cls, block: ArrayLike, years: ArrayLike, min_valid: int = DEFAULT_MIN_VALID) -> PixelTrends:
        """The inverse of ``to_block`` (the array ``trend_block`` returns)."""
        array = np.asarray(block, dtype=np.float64)
        if array.ndim < 1 or array.shape[0] != len(BLOCK_FIELDS):
            raise DataError(_MESSAGES["block_layers"].format(
                expected=len(BLOCK_FIELDS), fields=", ".join(BLOCK_FIELDS), shape=array.shape))
        layers = dict(zip(BLOCK_FIELDS, array))
        return cls(slope=layers["slope"], p=layers["p"], z=layers["z"], tau=layers["tau"], s=layers["s"],
                   var_s=layers["var_s"], n_valid=layers["n_valid"].astype(np.int32),
                   status=layers["status"].astype(np.int8), years=np.asarray(years, dtype=np.float64),
                   min_valid=int(min_valid))


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise OptionError(_MESSAGES["alpha"].format(value=alpha))
    return float(alpha)


def _prepare(values: ArrayLike, years: ArrayLike, min_valid: int,
             axis: int) -> tuple[NDArray[Any], NDArray[np.float64], tuple[int, ...]]:
    """``values`` as a (pixels, years) float array (a view where the layout allows), years, pixel shape."""
    array = np.asarray(values)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype not in (np.float32, np.float64):
        if array.dtype.kind == "f":  # float16, longdouble: no compiled variant
            array = array.astype(np.float64)
        else:
            raise DataError(_MESSAGES["dtype"].format(dtype=array.dtype))
    if not -array.ndim <= axis < array.ndim or array.ndim == 0:
        raise DataError(_MESSAGES["no_year_axis"].format(ndim=array.ndim, axis=axis))
    n_years = array.shape[axis]
    t = np.asarray(years)
    if t.ndim != 1 or t.shape[0] != n_years:
        raise DataError(_MESSAGES["years_shape"].format(expected=n_years, shape=t.shape))
    if t.dtype.kind not in "biuf":
        raise DataError(_MESSAGES["years_order"].format(years=t.tolist()[:10]))
    t = t.astype(np.float64)
    if not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise DataError(_MESSAGES["years_order"].format(years=t.tolist()))
    if (isinstance(min_valid, bool) or not isinstance(min_valid, (int, np.integer))
            or not 3 <= min_valid <= n_years):
        raise OptionError(_MESSAGES["min_valid"].format(n_years=n_years, value=min_valid))
    moved = np.moveaxis(array, axis, -1)
    pixel_shape = moved.shape[:-1]
    flat = moved.reshape(-1, n_years)  # a view for (..., years) C order and for (years, ...) C order
    if not (flat.flags.c_contiguous or flat.flags.f_contiguous):
        flat = np.ascontiguousarray(flat)
    return flat, t, pixel_shape


def pixel_trends(values: ArrayLike, years: ArrayLike, *, min_valid: int = DEFAULT_MIN_VALID, axis: int = 0,
                 parallel: bool = True) -> PixelTrends:
    """Mann-Kendall (tie-corrected) and Theil-Sen per pixel; see the module docstring."""
    flat, t, pixel_shape = _prepare(values, years, min_valid, axis)
    n_pixels = flat.shape[0]
    outputs = [np.empty(n_pixels) for _ in range(6)]
    n_valid = np.empty(n_pixels, dtype=np.int32)
    status = np.empty(n_pixels, dtype=np.int8)
    kernel: Callable[..., None] = _trend_parallel if parallel else _trend_serial
    # blocks handed to the threads one at a time as each finishes (not split in halves up front): on a
    # shared machine a thread that loses its core does not hold the others up
    with numba.parallel_chunksize(1):
        kernel(flat, t, int(min_valid), *outputs, n_valid, status)
    slope, p, z, tau, s, var_s = (out.reshape(pixel_shape) for out in outputs)
    return PixelTrends(slope=slope, p=p, z=z, tau=tau, s=s, var_s=var_s, n_valid=n_valid.reshape(pixel_shape),
                       status=status.reshape(pixel_shape), years=t, min_valid=int(min_valid))


def trend_block(block: ArrayLike, years: ArrayLike, *, min_valid: int = DEFAULT_MIN_VALID, axis: int = 0,
                parallel: bool = False) -> NDArray[np.float64]:
    """``pixel_trends`` of one chunk as one float64 array ``(len(BLOCK_FIELDS), *pixel_shape)``, for Dask.

    Serial by default: Dask already runs one task per worker thread.
    """
    return pixel_trends(block, years, min_valid=min_valid, axis=axis, parallel=parallel).to_block()
