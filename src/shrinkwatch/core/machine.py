"""What this machine gives the process: the CPUs it may run on."""

from __future__ import annotations

import os

__all__ = ["usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says, else the machine's count; at
    least 1): a container or ``taskset`` limit counts, not the host's cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
