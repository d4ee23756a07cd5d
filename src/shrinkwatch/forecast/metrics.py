"""Forecast scores as the small-area literature publishes them (Smith, Tayman & Swanson; Hyndman & Koehler 2006).

All take arrays of forecasts and actual values of the same shape and skip pairs where either is
missing (the count scored is returned beside each score by the callers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ape", "mape", "medape", "malpe", "mase", "coverage", "shelf_life", "brier", "precision_recall"]


def ape(forecast: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Absolute percentage error, ``100 |F - A| / A`` (NaN where either is missing)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.abs(forecast - actual) / actual


def mape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute percentage error.

    Examples
    --------
    >>> mape(np.array([110.0, 90.0]), np.array([100.0, 100.0]))
    10.0
    """
    return float(np.nanmean(ape(forecast, actual)))


def medape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Median absolute percentage error.

    Examples
    --------
    >>> medape(np.array([110.0, 90.0, 100.0]), np.array([100.0, 100.0, 100.0]))
    10.0
    """
    return float(np.nanmedian(ape(forecast, actual)))


def malpe(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Mean algebraic percentage error, ``100 (F - A) / A`` averaged: the bias (positive = too high).

    Examples
    --------
    >>> malpe(np.array([110.0, 90.0, 130.0]), np.array([100.0, 100.0, 100.0]))
    10.0
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nanmean(100.0 * (forecast - actual) / actual))


def mase(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute scaled error: ``|F - A|`` over each unit's in-sample mean absolute one-step change (the
    random walk's error in the fitting period), averaged over units with a positive scale.

    Examples
    --------
    >>> mase(np.array([104.0, 50.0]), np.array([100.0, 52.0]), np.array([2.0, 1.0]))
    2.0
    """
    usable = np.isfinite(scale) & (scale > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.abs(forecast - actual) / np.where(usable, scale, np.nan)
    return float(np.nanmean(scaled))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside ``[lower, upper]``, in percent.

    Examples
    --------
    >>> coverage(np.array([1.0, 5.0, 3.0, np.nan]), np.array([0.0, 0.0, 3.0, 0.0]), np.array([2.0, 2.0, 4.0, 1.0]))
    66.66666666666667
    """
    known = np.isfinite(actual) & np.isfinite(lower) & np.isfinite(upper)
    inside = (actual >= lower) & (actual <= upper)
    return float(100.0 * np.count_nonzero(inside & known) / max(int(np.count_nonzero(known)), 1))


def shelf_life(horizons: np.ndarray, share_within: np.ndarray, required: float = 80.0) -> int:
    """The longest horizon up to which, at every horizon, at least ``required`` percent of units stay within
    the error bound (0 when the first horizon already fails).

    Examples
    --------
    >>> shelf_life(np.array([1, 2, 3, 4]), np.array([95.0, 85.0, 79.0, 81.0]))
    2
    """
    failing = np.flatnonzero(np.asarray(share_within) < required)
    last = len(horizons) if not len(failing) else int(failing[0])
    return int(horizons[last - 1]) if last else 0


def brier(probability: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between probability and the 0/1 outcome.

    Examples
    --------
    >>> round(brier(np.array([0.9, 0.2, 0.5]), np.array([1, 0, 1])), 6)
    0.1
    """
    return float(np.mean((np.asarray(probability, dtype=np.float64) - np.asarray(outcome, dtype=np.float64)) ** 2))


def precision_recall(predicted: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Precision and recall of the yes-predictions (NaN where there is no predicted or no actual yes).

    Examples
    --------
    >>> precision_recall(np.array([True, True, False, False]), np.array([True, False, True, False]))
    (0.5, 0.5)
    """
    predicted, outcome = np.asarray(predicted, dtype=bool), np.asarray(outcome, dtype=bool)
    hits = int(np.count_nonzero(predicted & outcome))
    said, real = int(np.count_nonzero(predicted)), int(np.count_nonzero(outcome))
    return (hits / said if said else float("nan")), (hits / real if real else float("nan"))
