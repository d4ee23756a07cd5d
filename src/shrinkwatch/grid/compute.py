"""Where the grid engine computes: the one setting ``compute.scheduler``.

- ``threads`` (default): Dask's threaded scheduler in this process;
- ``local``: a ``distributed.LocalCluster`` started for the computation and closed after it;
- ``tcp://host:port`` (or ``tls://``, ``inproc://``): an existing Dask cluster, through a
  ``distributed.Client`` connected to its scheduler.

The setting comes from the caller (``--scheduler`` on ``shrinkwatch grid ...``), else the
environment variable ``SHRINKWATCH_COMPUTE_SCHEDULER``, else ``threads``. The same task graph is
computed under each engine, so the results are identical (``tests/test_grid.py`` checks it).

>>> resolve_scheduler(None, environ={})
'threads'
>>> resolve_scheduler("tcp://10.0.0.5:8786")
'tcp://10.0.0.5:8786'
>>> resolve_scheduler("cluster")
Traceback (most recent call last):
...
shrinkwatch.core.errors.OptionError: compute.scheduler: expected threads, local or a scheduler address \
such as tcp://host:8786, got 'cluster'
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dask

from shrinkwatch.core.errors import OptionError
from shrinkwatch.core.machine import usable_cpus
from shrinkwatch.core.messages import message

__all__ = ["ENV_VAR", "SCHEDULERS", "Engine", "engine", "resolve_scheduler", "compute"]

ENV_VAR = "SHRINKWATCH_COMPUTE_SCHEDULER"
SCHEDULERS = ("threads", "local")
_ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://")

_MESSAGES = {
    "bad": "compute.scheduler: expected threads, local or a scheduler address such as tcp://host:8786, got {value!r}",
    "workers": "compute.workers: expected a whole number of at least 1, got {value!r}",
    "connect": "compute.scheduler: cannot reach the Dask scheduler at {address} ({error}); start one with "
               "`dask scheduler` and `dask worker {address}`, or use threads or local",
}


def _engine_text(key: str, **fields: Any) -> str:
    """What an engine is, as stored in :attr:`Engine.description`: the catalogue's English ([grid.engine]),
    said in the reader's language on display (``translate(description, "grid.engine", lang)``)."""
    return message(f"grid.engine.{key}", "en", **fields)


def resolve_scheduler(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The scheduler setting: ``value``, else ``$SHRINKWATCH_COMPUTE_SCHEDULER``, else ``threads``."""
    env = os.environ if environ is None else environ
    chosen = (value if value is not None else env.get(ENV_VAR) or "threads").strip()
    if chosen in SCHEDULERS or (chosen.startswith(_ADDRESS_PREFIXES) and len(chosen.split("://", 1)[1]) > 0):
        return chosen
    raise OptionError(_MESSAGES["bad"].format(value=chosen))


@dataclass(frozen=True)
class Engine:
    """The engine a computation ran on: the setting and, for a cluster, its Client."""

    scheduler: str
    description: str
    client: Any = None  # a distributed.Client, or None for threads

    def compute(self, *collections: Any) -> tuple[Any, ...]:
        """``dask.compute`` on this engine."""
        if self.client is not None:
            return tuple(self.client.compute(list(collections), sync=True))
        return tuple(dask.compute(*collections, scheduler="threads"))


@contextmanager
def engine(scheduler: str | None = None, *, workers: int | None = None, processes: bool = True,
           timeout: str = "10s") -> Iterator[Engine]:
    """The engine of ``scheduler`` (see the module docstring) for the duration of the ``with`` block.

    ``workers`` and ``processes`` shape a ``local`` cluster (default: one worker per core, in
    processes); a cluster started here is closed on leaving the block, an existing one is only
    disconnected from (``timeout``: how long to try to reach it).
    """
    setting = resolve_scheduler(scheduler)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise OptionError(_MESSAGES["workers"].format(value=workers))
    if setting == "threads":
        yield Engine(setting, _engine_text("threads"))
        return
    from distributed import Client, LocalCluster  # deferred: the distributed stack loads only for a cluster

    if setting == "local":
        n = workers or usable_cpus()
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                          protocol="tcp" if processes else "inproc") as cluster, Client(cluster) as client:
            placement = _engine_text("processes" if processes else "in_process")
            yield Engine(setting, _engine_text("local", workers=n, placement=placement,
                                               address=cluster.scheduler_address), client)
        return
    try:
        client = Client(setting, timeout=timeout)
    except (OSError, TimeoutError) as error:
        raise OptionError(_MESSAGES["connect"].format(address=setting, error=error)) from None
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        yield Engine(setting, _engine_text("remote", address=setting, workers=n_workers), client)
    finally:
        client.close()


def compute(collections: Sequence[Any], scheduler: str | None = None) -> tuple[Any, ...]:
    """Compute Dask collections under ``scheduler`` (a one-off :func:`engine`)."""
    with engine(scheduler) as running:
        return running.compute(*collections)
