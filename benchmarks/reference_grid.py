"""Plain NumPy-vectorised Mann-Kendall / Theil-Sen over pixels (the benchmark's second baseline).

Written the way one vectorises the test with NumPy alone: all pairs of years at once for a
chunk of pixels (``np.triu_indices``), the signs summed, the pair slopes sorted along the
pair axis (NaN last) and the median picked at each pixel's count of valid pairs, the ties
counted from an equality cube (``sum_g t_g(t_g-1)(2t_g+5) = sum_i (c_i-1)(2c_i+5)`` with
``c_i`` the number of valid values equal to value ``i``). Same definitions as
``shrinkwatch.grid.trend`` (module docstring): finite values are valid, pixels with fewer
than ``min_valid`` are NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

__all__ = ["numpy_trends"]


def numpy_trends(values: np.ndarray, years: np.ndarray, *, min_valid: int = 8,
                 chunk: int = 20_000) -> dict[str, np.ndarray]:
    """Trend statistics of ``values`` (years x pixels) as a dict of 1-D arrays, chunk by chunk."""
    n_years, n_pixels = values.shape
    t = np.asarray(years, dtype=np.float64)
    i, j = np.triu_indices(n_years, 1)
    dt = t[j] - t[i]
    out = {name: np.full(n_pixels, np.nan) for name in ("slope", "p", "z", "tau", "s", "var_s")}
    out["n_valid"] = np.zeros(n_pixels, dtype=np.int32)
    for start in range(0, n_pixels, chunk):
        stop = min(start + chunk, n_pixels)
        v = np.asarray(values[:, start:stop], dtype=np.float64).T.copy()  # pixels x years
        v[~np.isfinite(v)] = np.nan
        valid = ~np.isnan(v)
        n = valid.sum(axis=1)
        d = v[:, j] - v[:, i]  # NaN where either year is missing
        s = (d > 0).sum(axis=1) - (d < 0).sum(axis=1)
        slopes = np.sort(d / dt, axis=1)  # NaN sort last
        m = n * (n - 1) // 2
        lower = np.take_along_axis(slopes, np.maximum((m - 1) // 2, 0)[:, None], axis=1)[:, 0]
        upper = np.take_along_axis(slopes, np.minimum(m // 2, slopes.shape[1] - 1)[:, None], axis=1)[:, 0]
        equal = (v[:, :, None] == v[:, None, :]).sum(axis=2)  # c_i (0 where missing)
        tie_sum = np.where(valid, (equal - 1) * (2 * equal + 5), 0).sum(axis=1)
        var = (n * (n - 1.0) * (2 * n + 5.0) - tie_sum) / 18.0
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
            tau = s / (0.5 * n * (n - 1.0))
        ok = n >= min_valid
        block = {"slope": 0.5 * (lower + upper), "p": erfc(np.abs(z) / np.sqrt(2.0)), "z": z, "tau": tau,
                 "s": s.astype(np.float64), "var_s": var}
        for name, column in block.items():
            out[name][start:stop] = np.where(ok, column, np.nan)
        out["n_valid"][start:stop] = n
    return out
