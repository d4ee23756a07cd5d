"""What the server keeps between requests: loaded panels and computed results.

:class:`ResultCache` is a least-recently-used cache with single flight: the first request for a key
computes it, concurrent requests for the same key wait for that one computation instead of starting
their own, and a computation that fails caches nothing (the next request tries again and gets the
same clear error). Keys are built by the app from the panel's fingerprint
(:func:`shrinkwatch.core.panelfile.panel_fingerprint`), the standard's id and version and the resolved
parameters, so a result is never served for other data or other settings.

Entries may carry a size (bytes of a rendered response); the cache then also holds its total size under
``max_bytes``, evicting the least recently used entries first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["ResultCache", "CacheStats"]

T = TypeVar("T")


@dataclass(frozen=True)
class CacheStats:
    """Entries held, their total size, and how many lookups were answered from the cache."""

    entries: int
    bytes: int
    hits: int
    misses: int


class _Flight:
    """One computation in progress: waiters block on ``done`` and read ``value`` or ``error``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


def _size_of(value: Any) -> int:
    return len(value) if isinstance(value, (bytes, bytearray, str)) else 0


class ResultCache:
    """A thread-safe LRU cache of at most ``max_entries`` entries and ``max_bytes`` bytes of rendered text.

    Examples
    --------
    >>> cache = ResultCache(max_entries=2)
    >>> calls = []
    >>> def compute(x):
    ...     calls.append(x)
    ...     return x * 2
    >>> cache.get_or_compute("a", lambda: compute(1)), cache.get_or_compute("a", lambda: compute(1))
    (2, 2)
    >>> calls
    [1]
    >>> _ = cache.get_or_compute("b", lambda: compute(2)); _ = cache.get_or_compute("c", lambda: compute(3))
    >>> "a" in cache, "c" in cache
    (False, True)
    """

    def __init__(self, max_entries: int = 256, max_bytes: int = 512 * 2**20) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._bytes = 0
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The cached value (marked as recently used), or ``default``; never computes."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return default

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``compute()`` stored under it (one computation per key at a time)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self._hits += 1
                return self._entries[key]  # type: ignore[no-any-return]
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self._misses += 1
            else:
                self._hits += 1
        if not owner:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[no-any-return]
        try:
            value = compute()
        except BaseException as error:
            flight.error = error
            raise
        else:
            flight.value = value
            self._store(key, value)
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _store(self, key: Hashable, value: Any) -> None:
        size = _size_of(value)
        with self._lock:
            if key in self._entries:
                self._bytes -= self._sizes.pop(key, 0)
            self._entries[key] = value
            self._entries.move_to_end(key)
            self._sizes[key] = size
            self._bytes += size
            while len(self._entries) > self.max_entries or (self._bytes > self.max_bytes and len(self._entries) > 1):
                old, _ = self._entries.popitem(last=False)
                self._bytes -= self._sizes.pop(old, 0)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._entries), self._bytes, self._hits, self._misses)
