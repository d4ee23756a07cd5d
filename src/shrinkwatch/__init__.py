"""ShrinkWatch: find, explain and monitor shrinking cities.

>>> import shrinkwatch as sw
>>> panel = sw.load("cn-prefecture-census")
>>> result = sw.identify(panel, "census-decline")
>>> result.counts()["shrinking"]
156
"""

from __future__ import annotations

import importlib
from typing import Any

from shrinkwatch.core import Identification, Panel, PanelMeta
from shrinkwatch.core import errors as _errors
from shrinkwatch.core.errors import ChecksumError as ChecksumError
from shrinkwatch.core.errors import DataDirectoryNotFoundError as DataDirectoryNotFoundError
from shrinkwatch.core.errors import DataError as DataError
from shrinkwatch.core.errors import OptionError as OptionError
from shrinkwatch.core.errors import ShrinkWatchError as ShrinkWatchError
from shrinkwatch.core.errors import UnknownIdError as UnknownIdError
from shrinkwatch.datasets import fetch, list_datasets, load, resolve_data_dir
from shrinkwatch.identify import Standard, identify, list_standards, load_standard
from shrinkwatch.pipeline import run

# heavier parts load on first use, so that `import shrinkwatch` and the CLI start fast
_LAZY_NAMES = {
    "read_panel": ("shrinkwatch.core.panelfile", "read_panel"),
    "write_panel": ("shrinkwatch.core.panelfile", "write_panel"),
    "sweep": ("shrinkwatch.identify.sensitivity", "sweep"),
    "classify": ("shrinkwatch.analysis.typology", "classify"),
    "profile": ("shrinkwatch.analysis.unit_profile", "profile"),
    "recommendations": ("shrinkwatch.analysis.recommend", "recommend"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        module, attribute = _LAZY_NAMES[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'shrinkwatch' has no attribute {name!r}")


__all__ = [
    "Panel",
    "PanelMeta",
    "Identification",
    "Standard",
    "load",
    "fetch",
    "list_datasets",
    "resolve_data_dir",
    "identify",
    "list_standards",
    "load_standard",
    "run",
    "read_panel",
    "write_panel",
    "sweep",
    "classify",
    "profile",
    "recommendations",
]
# every error a user can cause: re-exported above (``X as X``), listed as core.errors lists them
__all__ += _errors.__all__

__version__ = "0.1.0"
