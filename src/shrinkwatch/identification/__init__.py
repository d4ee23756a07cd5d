"""Standards applied to a panel, in the order the data flow through them.

- :mod:`~shrinkwatch.identification.indicators`: vectorised indicators of population change (year grids, runs, peaks);
- :mod:`~shrinkwatch.identification.scoring`: the composite index's normalisation, entropy weights and classes;
- :mod:`~shrinkwatch.identification.schema`: the standard file format (parameters, criteria, indicators);
- :mod:`~shrinkwatch.identification.text`: reasons as Arrow text columns;
- :mod:`~shrinkwatch.identification.kernel`: the kernel framework and typed rule parameters;
- :mod:`~shrinkwatch.identification.rules`: one kernel per rule, and the rule registry;
- :mod:`~shrinkwatch.identification.catalogue`: built-in standards and user files, checked against their rule;
- :mod:`~shrinkwatch.identification.engine`: :func:`identify`, one explained row per unit;
- :mod:`~shrinkwatch.identification.sensitivity`: parameter sweeps on the kernels' fast verdict path.
"""

from shrinkwatch.identification.catalogue import list_standards, load_standard
from shrinkwatch.identification.engine import boundary_change_mask, identify
from shrinkwatch.identification.kernel import Evaluation, Kernel, RuleParameters
from shrinkwatch.identification.rules import KERNELS, kernel_class
from shrinkwatch.identification.schema import (
    Criterion,
    IndicatorSpec,
    Parameter,
    Standard,
    parse_settings,
)

__all__ = [
    "Standard",
    "Parameter",
    "Criterion",
    "IndicatorSpec",
    "identify",
    "list_standards",
    "load_standard",
    "parse_settings",
    "boundary_change_mask",
    "Kernel",
    "Evaluation",
    "RuleParameters",
    "KERNELS",
    "kernel_class",
]
