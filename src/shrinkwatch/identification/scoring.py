"""Scores of a composite index: column-wise normalisation, entropy weights, classes of the score.

The building blocks of the ``composite_index`` rule
(:mod:`shrinkwatch.identification.rules.composite_index`), vectorised over a
``units x indicators`` matrix; NaN marks a unit without a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shrinkwatch.core.errors import DataError, OptionError

__all__ = ["normalise", "entropy_weights", "classify"]


def normalise(matrix: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Column-wise ``minmax`` (to [0, 1]) or ``z`` scores, ignoring NaN; a constant column gives 0."""
    x = np.asarray(matrix, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            low, high = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
            spread = high - low
            return np.where(spread > 0, (x - low) / np.where(spread > 0, spread, 1.0), 0.0) * np.where(
                np.isnan(x), np.nan, 1.0
            )
        if method == "z":
            mean, std = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
            return np.where(std > 0, (x - mean) / np.where(std > 0, std, 1.0), 0.0) * np.where(np.isnan(x), np.nan, 1.0)
    raise OptionError(f"parameter 'normalisation': expected 'minmax' or 'z', got {method!r}")


def entropy_weights(matrix: np.ndarray) -> np.ndarray:
    """Entropy weights (熵权法) of the columns of a non-negative matrix (rows: units without NaN).

    ``p_ij = x_ij / sum_i x_ij``; ``e_j = -(1/ln n) sum_i p_ij ln p_ij`` (0 ln 0 = 0);
    ``w_j = (1 - e_j) / sum_j (1 - e_j)``. A column summing to 0 carries no
    information (``e_j = 1``); if no column does, the weights are equal.

    Examples
    --------
    >>> entropy_weights(np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]])).round(3).tolist()
    [1.0, 0.0]
    """
    x = np.asarray(matrix, dtype=float)
    if np.any(x < 0):
        raise DataError("entropy weights need non-negative values (normalise with min-max first)")
    n, m = x.shape
    if n < 2:
        return np.full(m, 1.0 / m)
    totals = x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(totals > 0, x / np.where(totals > 0, totals, 1.0), 0.0)
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = np.where(totals > 0, -plogp.sum(axis=0) / np.log(n), 1.0)
    divergence = 1.0 - entropy
    if divergence.sum() <= 0:
        return np.full(m, 1.0 / m)
    return divergence / divergence.sum()


def classify(scores: np.ndarray, k: int, method: str = "quantile", seed: int = 0) -> np.ndarray:
    """Class 0..k-1 (higher = higher score) per unit; -1 where the score is NaN.

    ``quantile``: bins at the i/k quantiles (as mapclassify.Quantiles).
    ``natural_breaks``: Jenks natural breaks computed, as mapclassify does, by
    one-dimensional k-means, here seeded (``seed``) so that it is reproducible.

    Not ``mapclassify`` itself: its quantile breaks (``scoreatpercentile``) differ from
    ``numpy.quantile`` by an ulp where a break falls on a score, moving that unit up a class
    (6 of 76 composite-index settings per built-in dataset); it merges tied breaks, changing
    "the top class"; and its natural breaks are unseeded.

    Examples
    --------
    >>> classify(np.array([4.0, 1.0, np.nan, 3.0, 2.0]), 2).tolist()
    [1, 0, -1, 1, 0]
    """
    scores = np.asarray(scores, dtype=float)
    out = np.full(len(scores), -1, dtype=np.int64)
    finite = np.isfinite(scores)
    values = scores[finite]
    if len(values) == 0:
        return out
    if method == "quantile":
        bins = np.quantile(values, np.arange(1, k + 1) / k)
    elif method == "natural_breaks":
        from sklearn.cluster import (
            KMeans,  # heavy (scikit-learn), needed only for natural breaks
        )

        distinct = np.unique(values)
        clusters = min(k, len(distinct))
        labels = KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit_predict(values.reshape(-1, 1))
        upper = np.sort(pd.Series(values).groupby(labels).max().to_numpy())
        bins = np.concatenate([np.full(k - clusters, upper[0]), upper]) if clusters < k else upper
    else:
        raise OptionError(f"parameter 'classification': expected 'quantile' or 'natural_breaks', got {method!r}")
    out[finite] = np.minimum(np.searchsorted(bins, values, side="left"), k - 1)
    return out
