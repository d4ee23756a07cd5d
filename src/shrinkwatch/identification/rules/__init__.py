"""The rules of the built-in standards: one kernel per rule, registered here, and only here.

A standard's ``rule`` string is looked up in :data:`KERNELS`; the engine
(:func:`shrinkwatch.identification.engine.identify`) and the sensitivity sweep know no
rule by name. To add a rule, write a :class:`~shrinkwatch.identification.kernel.Kernel`
with its :class:`~shrinkwatch.identification.kernel.RuleParameters` and list it in
:data:`KERNELS`.
"""

from __future__ import annotations

from typing import Any

from shrinkwatch.core.errors import OptionError
from shrinkwatch.identification.kernel import Kernel
from shrinkwatch.identification.rules.census_decline import CensusDecline, CensusDeclineParameters
from shrinkwatch.identification.rules.cn_2025 import China2025, China2025Parameters
from shrinkwatch.identification.rules.composite_index import CompositeIndex, CompositeIndexParameters
from shrinkwatch.identification.rules.consecutive_decline import ConsecutiveDecline, ConsecutiveDeclineParameters
from shrinkwatch.identification.rules.peak_loss import PeakLossParameters, PeakLossRule
from shrinkwatch.identification.rules.scirn import Scirn, ScirnParameters

__all__ = [
    "KERNELS",
    "kernel_class",
    "CensusDecline",
    "CensusDeclineParameters",
    "ConsecutiveDecline",
    "ConsecutiveDeclineParameters",
    "PeakLossRule",
    "PeakLossParameters",
    "China2025",
    "China2025Parameters",
    "Scirn",
    "ScirnParameters",
    "CompositeIndex",
    "CompositeIndexParameters",
]

#: The rule registry: a standard's ``rule`` -> the kernel that evaluates it.
KERNELS: dict[str, type[Kernel[Any, Any]]] = {
    kernel.rule: kernel
    for kernel in (CensusDecline, ConsecutiveDecline, PeakLossRule, China2025, Scirn, CompositeIndex)
}


def kernel_class(rule: str) -> type[Kernel[Any, Any]]:
    """The kernel of ``rule``; an unknown rule is an OptionError naming the known ones."""
    try:
        return KERNELS[rule]
    except KeyError:
        raise OptionError(f"unknown rule {rule!r}; known rules: {', '.join(sorted(KERNELS))}") from None
