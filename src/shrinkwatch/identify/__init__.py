"""Standards applied to a panel, in the order the data flow through them.

- :mod:`~shrinkwatch.identify.indicators`: vectorised indicators of population change (year grids, runs, peaks);
- :mod:`~shrinkwatch.identify.scoring`: the composite index's normalisation, entropy weights and classes;
- :mod:`~shrinkwatch.identify.schema`: the standard file format (parameters, criteria, indicators);
- :mod:`~shrinkwatch.identify.text`: reasons as Arrow text columns;
- :mod:`~shrinkwatch.identify.kernel`: the kernel framework and typed rule parameters;
- :mod:`~shrinkwatch.identify.rules`: one kernel per rule, and the rule registry;
- :mod:`~shrinkwatch.identify.catalogue`: built-in standards and user files, checked against their rule;
- :mod:`~shrinkwatch.identify.engine`: :func:`identify`, one explained row per unit;
- :mod:`~shrinkwatch.identify.sensitivity`: parameter sweeps on the kernels' fast verdict path.
"""

from shrinkwatch.identify.catalogue import list_standards, load_standard
from shrinkwatch.identify.engine import boundary_change_mask, identify
from shrinkwatch.identify.kernel import Evaluation, Kernel, RuleParameters
from shrinkwatch.identify.rules import KERNELS, kernel_class
from shrinkwatch.identify.schema import (
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
