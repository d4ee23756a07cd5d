"""The per-pixel trend kernel (``shrinkwatch.grid.trend``) against pymannkendall, scipy and hand-made answers.

``pymannkendall.original_test`` and ``scipy.stats.theilslopes`` are the references (test-only
dependencies); the series are generated (random walks with trends, rounded so that values tie,
gaps, constant and short series, heavy tails) and hand-made where the answer is worked out here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pymannkendall
import pytest
from scipy import stats

from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.grid import (
    ASSESSED,
    BLOCK_FIELDS,
    DECLINE_NODATA,
    INSUFFICIENT,
    NO_VARIATION,
    STATUS_LABELS,
    PixelTrends,
    pixel_trends,
    trend_block,
)

STATISTICS = ("slope", "p", "z", "tau", "s", "var_s")


def _generated(n_series: int, n_years: int, seed: int) -> np.ndarray:
    """years x series: walks with trends, a third rounded (ties), gaps, heavy tails, constants."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n_years, n_series))
    steps[:, ::7] = rng.standard_cauchy(size=(n_years, steps[:, ::7].shape[1]))  # heavy tails
    values = np.cumsum(steps, axis=0) + rng.normal(0, 0.5, n_series) * np.arange(n_years)[:, None]
    values[:, ::3] = np.round(values[:, ::3] / 3.0)  # many ties
    values[rng.random(values.shape) < 0.12] = np.nan
    values[:, 5::50] = 4.0  # constant
    values[:, 6::50] = np.nan  # empty
    values[: n_years - 4, 7::50] = np.nan  # short: 4 valid years at most
    return values


def _brute_force(x: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """The definitions, pair by pair, in plain Python (for hand-made cases)."""
    ok = np.isfinite(x)
    x, t = x[ok], t[ok]
    n = len(x)
    pairs = list(itertools.combinations(range(n), 2))
    s = sum(int(np.sign(x[j] - x[i])) for i, j in pairs)
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(c * (c - 1) * (2 * c + 5) for c in counts)) / 18
    z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
    return {"s": s, "var_s": var, "z": z, "p": 2 * (1 - stats.norm.cdf(abs(z))), "tau": s / (n * (n - 1) / 2),
            "slope": float(np.median([(x[j] - x[i]) / (t[j] - t[i]) for i, j in pairs]))}


@pytest.mark.parametrize("n_years, seed", [(30, 1), (12, 2), (45, 3)])
def test_kernel_matches_pymannkendall_on_generated_series(n_years, seed):
    values = _generated(300, n_years, seed)
    years = np.arange(2000, 2000 + n_years)
    result = pixel_trends(values, years, min_valid=5)
    compared = 0
    for pixel in range(values.shape[1]):
        series = values[:, pixel]
        n = int(np.isfinite(series).sum())
        assert result.n_valid[pixel] == n
        if n < 5:
            assert result.status[pixel] == INSUFFICIENT
            continue
        answer = pymannkendall.original_test(series)
        for name, theirs in (("s", answer.s), ("var_s", answer.var_s), ("z", answer.z), ("p", answer.p),
                             ("tau", answer.Tau), ("slope", answer.slope)):
            ours = getattr(result, name)[pixel]
            assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12), (pixel, name, ours, theirs)
        trend = "decreasing" if result.significant_decline()[pixel] else None
        assert (answer.trend == "decreasing") == (trend == "decreasing"), pixel
        compared += 1
    assert compared > 250
    assert (result.status == NO_VARIATION).sum() >= 5


def test_theil_sen_matches_scipy_on_irregular_years():
    rng = np.random.default_rng(11)
    ghsl = np.arange(1975, 2031, 5)  # the GHSL epochs
    irregular = np.sort(rng.choice(np.arange(1950, 2030), size=25, replace=False))
    for years in (ghsl, irregular):
        values = _generated(200, len(years), int(years[0]))
        result = pixel_trends(values, years, min_valid=3)
        for pixel in np.flatnonzero(result.status != INSUFFICIENT):
            series = values[:, pixel]
            ok = np.isfinite(series)
            reference = stats.theilslopes(series[ok], years[ok])
            assert math.isclose(result.slope[pixel], reference.slope, rel_tol=1e-9, abs_tol=1e-12)
            # the Mann-Kendall statistics do not depend on the spacing of the years
            answer = pymannkendall.original_test(series[ok])
            assert result.s[pixel] == answer.s and math.isclose(result.p[pixel], answer.p, abs_tol=1e-12)


def test_hand_computed_series_with_gaps_and_ties():
    # 1, 2, 4, 3 at 2000, 2005, 2010, 2015: pairs +1 +1 +1 +1 +1 -1 -> S = 4; slopes 0.2, 0.3, 2/15,
    # 0.4, 0.1, -0.2 -> median (2/15 + 0.2) / 2 = 1/6 per year; var = 4*3*13/18; tau = 4/6
    result = pixel_trends(np.array([1.0, 2.0, 4.0, 3.0]), np.array([2000, 2005, 2010, 2015]), min_valid=3)
    assert result.shape == ()
    assert int(result.s) == 4 and math.isclose(float(result.slope), 1 / 6)
    assert math.isclose(float(result.var_s), 4 * 3 * 13 / 18) and math.isclose(float(result.tau), 4 / 6)
    assert math.isclose(float(result.z), 3 / math.sqrt(4 * 3 * 13 / 18))
    # ties: groups of 2 and 3 -> var = (6*5*17 - 2*1*9 - 3*2*11) / 18 = 426 / 18; a gap in the middle
    x = np.array([1.0, 1.0, np.nan, 2.0, 2.0, 2.0, 3.0])
    t = np.arange(7.0)
    tied = pixel_trends(x, t, min_valid=3)
    assert math.isclose(float(tied.var_s), 426 / 18)
    expected = _brute_force(x, t)
    for name in STATISTICS:
        assert math.isclose(float(getattr(tied, name)), expected[name], rel_tol=1e-12), name


def test_long_and_short_series_match_brute_force():
    """Both ways of taking the median: all slopes (few years) and the bracketed sample (many)."""
    rng = np.random.default_rng(5)
    for n_years in (3, 4, 9, 16, 17, 60):
        t = np.cumsum(rng.integers(1, 4, size=n_years)).astype(float)
        values = rng.standard_cauchy(size=(n_years, 40))
        values[:, ::2] = np.round(values[:, ::2])
        result = pixel_trends(values, t, min_valid=3)
        for pixel in range(values.shape[1]):
            expected = _brute_force(values[:, pixel], t)
            for name in STATISTICS:
                assert math.isclose(getattr(result, name)[pixel], expected[name], rel_tol=1e-9, abs_tol=1e-12), \
                    (n_years, pixel, name)


def test_too_few_valid_years_is_insufficient_and_never_a_number():
    years = np.arange(2001, 2011)
    values = np.full((10, 5), np.nan)
    values[:, 0] = np.arange(10.0)  # 10 valid
    values[:7, 1] = np.arange(7.0)  # 7 valid
    values[:8, 2] = np.arange(8.0)[::-1]  # 8 valid, declining
    values[:, 3] = np.where(np.arange(10) % 2 == 0, np.inf, 1.0)  # inf is missing: 5 valid
    # column 4 stays empty
    result = pixel_trends(values, years, min_valid=8)
    assert result.n_valid.tolist() == [10, 7, 8, 5, 0]
    assert result.status.tolist() == [ASSESSED, INSUFFICIENT, ASSESSED, INSUFFICIENT, INSUFFICIENT]
    assert result.insufficient.tolist() == [False, True, False, True, True]
    for name in STATISTICS:
        column = getattr(result, name)
        assert np.isnan(column[result.insufficient]).all(), name
        assert np.isfinite(column[~result.insufficient]).all(), name
    assert result.decline_code().tolist() == [0, DECLINE_NODATA, 1, DECLINE_NODATA, DECLINE_NODATA]
    assert result.significant_decline().tolist() == [False, False, True, False, False]


def test_nan_pixels_never_produce_numbers_in_generated_stacks():
    values = _generated(2000, 20, 9)
    result = pixel_trends(values, np.arange(20), min_valid=8)
    for name in STATISTICS:
        column = getattr(result, name)
        assert np.array_equal(np.isnan(column), result.insufficient), name
    assert np.array_equal(result.insufficient, np.isfinite(values).sum(axis=0) < 8)


def test_constant_series_is_assessed_without_variation():
    values = np.array([[3.0, 3.0, 1.0]] * 6)
    values[2, 0] = np.nan
    values[:, 2] = [1, 2, 3, 4, 5, 6]
    result = pixel_trends(values, np.arange(6), min_valid=4)
    assert result.status.tolist() == [NO_VARIATION, NO_VARIATION, ASSESSED]
    assert result.slope[:2].tolist() == [0.0, 0.0] and result.z[:2].tolist() == [0.0, 0.0]
    assert result.p[:2].tolist() == [1.0, 1.0] and result.var_s[:2].tolist() == [0.0, 0.0]
    assert set(STATUS_LABELS["en"]) == set(STATUS_LABELS["zh"]) == {ASSESSED, INSUFFICIENT, NO_VARIATION}


def test_years_y_x_cube_and_year_last_axis_give_the_same_answers():
    rng = np.random.default_rng(4)
    cube = np.cumsum(rng.normal(size=(15, 6, 7)), axis=0)
    cube[rng.random(cube.shape) < 0.2] = np.nan
    years = np.arange(1990, 2005)
    result = pixel_trends(cube, years, min_valid=6)
    flat = pixel_trends(cube.reshape(15, -1), years, min_valid=6)
    last = pixel_trends(np.moveaxis(cube, 0, -1), years, min_valid=6, axis=-1)
    strided = pixel_trends(cube[:, ::2, ::3], years, min_valid=6)
    assert result.shape == (6, 7) and last.shape == (6, 7) and strided.shape == (3, 3)
    for name in (*STATISTICS, "n_valid", "status"):
        np.testing.assert_array_equal(getattr(result, name).ravel(), getattr(flat, name), err_msg=name)
        np.testing.assert_array_equal(getattr(result, name), getattr(last, name), err_msg=name)
        np.testing.assert_array_equal(getattr(result, name)[::2, ::3], getattr(strided, name), err_msg=name)
    serial = pixel_trends(cube, years, min_valid=6, parallel=False)
    for name in STATISTICS:
        np.testing.assert_array_equal(getattr(result, name), getattr(serial, name), err_msg=name)


def test_float32_and_integer_inputs():
    rng = np.random.default_rng(8)
    values = np.round(np.cumsum(rng.normal(size=(12, 500)), axis=0), 2).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = np.nan
    years = np.arange(2000, 2012)
    single = pixel_trends(values, years, min_valid=6)
    double = pixel_trends(values.astype(np.float64), years, min_valid=6)
    assert single.slope.dtype == np.float64
    for name in (*STATISTICS, "n_valid", "status"):
        np.testing.assert_array_equal(getattr(single, name), getattr(double, name), err_msg=name)
    assert single.insufficient.any() and not single.insufficient.all()
    counts = pixel_trends(np.array([[5, 1], [4, 1], [3, 2], [1, 1]], dtype=np.int16), np.arange(4), min_valid=3)
    assert counts.s.tolist() == [-6.0, 1.0]


def test_block_round_trip_and_dask_map_blocks():
    rng = np.random.default_rng(6)
    cube = np.cumsum(rng.normal(size=(10, 8, 9)), axis=0).astype(np.float32)
    cube[:, 0, 0] = np.nan
    years = np.arange(2010, 2020)
    block = trend_block(cube, years, min_valid=8)
    assert block.shape == (len(BLOCK_FIELDS), 8, 9) and block.dtype == np.float64
    back = PixelTrends.from_block(block, years, min_valid=8)
    direct = pixel_trends(cube, years, min_valid=8)
    for name in (*STATISTICS, "n_valid", "status"):
        np.testing.assert_array_equal(getattr(back, name), getattr(direct, name), err_msg=name)
    assert back.status[0, 0] == INSUFFICIENT and back.n_valid[0, 0] == 0
    da = pytest.importorskip("dask.array")
    stack = da.from_array(cube, chunks=(10, 3, 4))
    out = stack.map_blocks(trend_block, years=years, min_valid=8, dtype=np.float64,
                           chunks=((len(BLOCK_FIELDS),), *stack.chunks[1:])).compute(scheduler="threads")
    np.testing.assert_array_equal(out, block)


@pytest.mark.parametrize("call, error, words", [
    (lambda v, y: pixel_trends(v, y[:-1]), DataError, "one entry per position of the year axis (10)"),
    (lambda v, y: pixel_trends(v, y[::-1]), DataError, "strictly increasing"),
    (lambda v, y: pixel_trends(v, np.r_[y[:5], y[4:9]]), DataError, "strictly increasing"),
    (lambda v, y: pixel_trends(v, np.r_[y[:9], np.nan]), DataError, "strictly increasing"),
    (lambda v, y: pixel_trends(v, y.astype(str)), DataError, "years must be"),
    (lambda v, y: pixel_trends(v.astype(str), y), DataError, "dtype <U"),
    (lambda v, y: pixel_trends(v.astype(complex), y), DataError, "dtype complex128"),
    (lambda v, y: pixel_trends(v, y, axis=2), DataError, "axis=2"),
    (lambda v, y: pixel_trends(np.float64(1.0), y[:1]), DataError, "0 dimension"),
    (lambda v, y: pixel_trends(v, y, min_valid=2), OptionError, "min_valid must be an integer from 3 to"),
    (lambda v, y: pixel_trends(v, y, min_valid=11), OptionError, "number of years (10); got 11"),
    (lambda v, y: pixel_trends(v, y, min_valid=8.0), OptionError, "min_valid"),
    (lambda v, y: pixel_trends(v, y, min_valid=True), OptionError, "min_valid"),
    (lambda v, y: pixel_trends(v, y).significant_decline(alpha=1.5), OptionError, "alpha"),
    (lambda v, y: pixel_trends(v, y).decline_code(alpha="0.05"), OptionError, "alpha"),
    (lambda v, y: PixelTrends.from_block(np.zeros((3, 2)), y), DataError, "8 layers"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    values = np.arange(30.0).reshape(10, 3)
    years = np.arange(2000, 2010)
    with pytest.raises(error) as caught:
        call(values, years)
    assert words in str(caught.value)


def test_median_among_slopes_of_pairs_with_missing_years_matches_brute_force():
    """Pairs with a missing year are NaN in the kernel's slope buffer: never counted, never the median."""
    rng = np.random.default_rng(21)
    for n_years, keep in ((30, 0.5), (60, 0.35), (40, 0.9)):
        t = np.arange(1960, 1960 + n_years, dtype=float)
        values = np.cumsum(rng.normal(size=(n_years, 60)), axis=0) + rng.normal(0, 0.4, 60) * np.arange(n_years)[:, None]
        values[rng.random(values.shape) > keep] = np.nan
        values[1::2, 0] = np.nan  # every other year missing
        result = pixel_trends(values, t, min_valid=5)
        checked = 0
        for pixel in np.flatnonzero(result.status != INSUFFICIENT):
            expected = _brute_force(values[:, pixel], t)
            for name in STATISTICS:
                assert math.isclose(getattr(result, name)[pixel], expected[name], rel_tol=1e-12, abs_tol=1e-15), \
                    (n_years, pixel, name)
            checked += 1
        assert checked > 40


def test_many_equal_slopes_match_pymannkendall():
    """Small integers over whole years: most pair slopes tie, so the median's bracket cannot close around one."""
    rng = np.random.default_rng(22)
    values = rng.integers(-1, 2, size=(30, 200)).astype(float)
    values[:, ::4] = np.cumsum(values[:, ::4], axis=0)  # integer walks: slopes k/h repeat
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:, 1] = [0.0] * 15 + [1.0] * 15  # a single step: 210 of the 435 slopes are 0, 225 positive
    result = pixel_trends(values, np.arange(1991, 2021), min_valid=8)
    for pixel in range(values.shape[1]):
        answer = pymannkendall.original_test(values[:, pixel])  # NaN years dropped, positions kept
        for name, theirs in (("s", answer.s), ("var_s", answer.var_s), ("p", answer.p), ("slope", answer.slope)):
            assert math.isclose(getattr(result, name)[pixel], theirs, rel_tol=1e-12, abs_tol=1e-15), (pixel, name)
    assert result.s[1] == 225 and result.slope[1] > 0


def test_tiny_values_whose_slopes_underflow_keep_their_signs():
    """Differences of subnormal values divided by the span underflow to 0: S and ties come from the differences."""
    t = np.arange(10) * 3.0
    rising = np.arange(10) * 5e-324  # steps of the smallest subnormal: every slope rounds to 0
    result = pixel_trends(np.stack([rising, -rising, np.zeros(10)], axis=1), t, min_valid=3)
    pairs = itertools.combinations(range(10), 2)
    assert all((rising[j] - rising[i]) / (t[j] - t[i]) == 0 for i, j in pairs)  # the trap: every slope is 0
    assert result.s.tolist() == [45.0, -45.0, 0.0]
    assert result.status.tolist() == [ASSESSED, ASSESSED, NO_VARIATION]
    assert math.isclose(float(result.var_s[0]), 10 * 9 * 25 / 18)
    answer = pymannkendall.original_test(rising)
    assert result.s[0] == answer.s and math.isclose(result.p[0], answer.p)
    assert result.slope[0] == _brute_force(rising, t)["slope"] == stats.theilslopes(rising, t).slope == 0.0


def test_slopes_are_the_exact_quotients_at_every_scale():
    """The kernel divides by multiplying with the span's reciprocal and one FMA correction (exact by
    Markstein's theorem) where no overflow or underflow can occur, and by plain division elsewhere:
    with an odd number of pairs the slope is one pair's quotient, equal bit for bit to NumPy's."""
    rng = np.random.default_rng(23)
    for n_years, years in ((30, np.arange(1991, 2021, dtype=float)),
                           (30, np.cumsum(rng.uniform(0.1, 3.0, 30)) + 1950.0),  # irregular spans
                           (3, np.array([1975.0, 1990.0, 2020.0])),
                           (6, np.array([0.0, 1e-3, 0.5, 7.0, 1e3, 1e6]))):  # n(n-1)/2 = 15 pairs: odd
        for scale in (1.0, 1e-7, 3e5, 1e-290, 1e-310, 1e280, 1e300):
            values = rng.normal(size=(n_years, 300)) * scale
            values[:, ::5] = np.round(values[:, ::5] / scale * 4) * scale  # equal values, equal slopes
            result = pixel_trends(values, years, min_valid=3)
            i, j = np.triu_indices(n_years, 1)
            with np.errstate(over="ignore", under="ignore"):
                expected = np.median((values[j] - values[i]) / (years[j] - years[i])[:, None], axis=0)
            assert n_years * (n_years - 1) // 2 % 2 == 1
            np.testing.assert_array_equal(result.slope, expected, err_msg=f"{n_years} years, scale {scale}")
