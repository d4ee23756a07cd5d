"""esda's Local Moran permutation kernel behind an entry point numba can cache on disk.

esda 2.9 runs the conditional permutations of ``Moran_Local`` in ``esda.crand.compute_chunk``,
a numba function compiled without ``cache=True`` that takes the statistic
(``esda.moran._moran_local_crand``) as an argument. A function-typed argument makes the
compiled signature name that function's address, which differs in every process, so
even with caching switched on numba can never reuse the compiled code: every
``shrinkwatch run`` spent about 27 s compiling it (measured on an idle machine; it is
most of the spatial section at any size).

:func:`moran_local_p_sim` runs the same esda kernels (``compute_chunk`` with
``_moran_local_crand``, and ``vec_permutations`` for the permuted neighbour ids) from
numba functions compiled with ``cache=True`` whose arguments are arrays and numbers
only. Numba writes the compiled code next to this file (``__pycache__``) or, where that
is not writable, to its user-wide cache folder (``NUMBA_CACHE_DIR`` when set), and later
runs load it. The Python preparation mirrors ``esda.crand.crand`` with ``n_jobs=1`` and
``alternative="directed"`` (what ``Moran_Local`` uses when none is named), so the pseudo
p-values are those of ``Moran_Local(..., permutations=n, seed=s, n_jobs=1)``;
``tests/test_spatial.py`` checks that they are equal. The statistic is esda's ``_moran_local_crand``
read without the copy of ``z`` it makes for every unit (O(n) each, O(n^2) in all). The cost is linear in units:
per unit, ``permutations`` x (neighbours) products; drawing the permuted ids takes
``permutations`` draws from ``n`` units.

The cache is keyed on this file, not on esda's: esda is pinned (``pyproject.toml``); after
upgrading it, delete the ``lisa_kernel`` entries of the cache (or touch this file).
"""

from __future__ import annotations

import warnings
from typing import Any

import numba
import numpy as np
from esda.crand import vec_permutations
from esda.significance import _permutation_significance

__all__ = ["moran_local_p_sim"]

#: The alternative ``Moran_Local`` tests when none is named (esda 2.9): the tail the observed value lies in.
ALTERNATIVE = "directed"


@numba.njit(cache=True, fastmath=True)
def _permuted_ids(max_card: int, n: int, permutations: int, seed: int) -> np.ndarray:  # pragma: no cover - numba
    return vec_permutations(max_card, n, permutations, seed)


@numba.njit(cache=True, fastmath=True)
def _moran_local_rstats(i: int, z: np.ndarray, permuted_ids: np.ndarray, weights_i: np.ndarray,
                        scaling: float) -> np.ndarray:  # pragma: no cover - numba
    """``esda.moran._moran_local_crand`` without its copy of ``z`` per unit.

    esda draws the permuted neighbours of unit ``i`` from ``z`` with ``i`` left out, built as
    ``z[mask]`` for every unit: O(n) per unit, so O(n^2) in all (at 1,000,000 units most of
    the run). Id ``j`` of that array is ``z[j]`` below ``i`` and ``z[j + 1]`` from ``i`` on, so
    the same values are read from ``z`` itself, and the statistic is the same expression."""
    self_weight = weights_i[0]
    other_weights = weights_i[1:]
    cardinality = len(other_weights)
    zrand = np.empty((permuted_ids.shape[0], cardinality), dtype=z.dtype)
    for r in range(permuted_ids.shape[0]):
        for c in range(cardinality):
            j = permuted_ids[r, c]
            zrand[r, c] = z[j + 1] if j >= i else z[j]
    zi = z[i]
    return zi * (zrand @ other_weights + self_weight * zi) * scaling


@numba.njit(cache=True, fastmath=True)
def _p_sim(z: np.ndarray, observed: np.ndarray, cardinalities: np.ndarray, self_weights: np.ndarray,
           other_weights: np.ndarray, permuted_ids: np.ndarray, scaling: float,
           island_weight: float) -> np.ndarray:  # pragma: no cover - numba
    """``esda.crand.compute_chunk`` for one chunk of all units, ``keep=False``, with the statistic called
    directly (a function passed as a value is a "dynamic global" numba cannot cache) and without its
    per-unit copy of ``z`` (:func:`_moran_local_rstats`)."""
    n = z.shape[0]
    p_sim = np.zeros((n,), dtype=np.float32)
    wloc = 0
    for i in range(n):
        cardinality = cardinalities[i]
        if cardinality == 0:  # an island: esda's "fake" neighbour with island_weight
            weights_i = np.zeros(2, dtype=other_weights.dtype)
            weights_i[1] = island_weight
        else:  # the self-weight first, then the unit's next `cardinality` weights
            weights_i = np.zeros(cardinality + 1, dtype=other_weights.dtype)
            weights_i[0] = self_weights[i]
            weights_i[1:] = other_weights[wloc:(wloc + cardinality)]
        wloc += cardinality
        rstats = _moran_local_rstats(i, z, permuted_ids, weights_i, scaling)
        p_sim[i] = _permutation_significance(observed[i], rstats, alternative=ALTERNATIVE).item()
    return p_sim


def moran_local_p_sim(local: Any, permutations: int, seed: int) -> np.ndarray:
    """Conditional-permutation pseudo p-values of a ``Moran_Local`` fitted with ``permutations=0``.

    ``local`` supplies the standardised values (``z``), the row-standardised weights (``w``) and the
    observed statistics (``Is``); the result equals ``Moran_Local(y, w, permutations=permutations,
    seed=seed, n_jobs=1).p_sim`` (float32, as esda returns it).
    """
    z = np.asarray(local.z, dtype=float)
    n = len(z)
    adjacency = local.w.sparse.tocsr(copy=True)
    self_weights = adjacency.diagonal()
    with warnings.catch_warnings():  # as esda: dropping the diagonal changes the sparsity, cheaply
        warnings.simplefilter("ignore")
        adjacency.setdiag(0)
        adjacency.eliminate_zeros()
    other_weights = adjacency.data.astype(z.dtype)
    cardinalities = np.asarray((adjacency != 0).sum(1)).ravel().astype(np.int64)
    scaling = (n - 1) / float((z * z).sum())
    ids = _permuted_ids(int(cardinalities.max()), n, int(permutations), int(seed))
    return np.asarray(_p_sim(z, np.asarray(local.Is, dtype=float), cardinalities,
                             np.asarray(self_weights, dtype=float), other_weights, ids, scaling, 0.0))
