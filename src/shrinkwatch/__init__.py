"""ShrinkWatch: find, explain and monitor shrinking cities.

>>> import shrinkwatch as sw
>>> panel = sw.load("cn-prefecture-census")
>>> result = sw.identify(panel, "census-decline")
>>> result.counts()["shrinking"]
156

Every name loads on first use (PEP 562): ``import shrinkwatch`` and ``shrinkwatch --help`` import no
pandas, and each command imports only the stages it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shrinkwatch.core import errors as _errors
from shrinkwatch.core.errors import ChecksumError as ChecksumError
from shrinkwatch.core.errors import DataDirectoryNotFoundError as DataDirectoryNotFoundError
from shrinkwatch.core.errors import DataError as DataError
from shrinkwatch.core.errors import NothingUsableError as NothingUsableError
from shrinkwatch.core.errors import OptionError as OptionError
from shrinkwatch.core.errors import OutputError as OutputError
from shrinkwatch.core.errors import ShrinkWatchError as ShrinkWatchError
from shrinkwatch.core.errors import StoreBusyError as StoreBusyError
from shrinkwatch.core.errors import StoreError as StoreError
from shrinkwatch.core.errors import UnknownIdError as UnknownIdError

if TYPE_CHECKING:
    from shrinkwatch.analysis.recommend import recommend as recommendations
    from shrinkwatch.analysis.typology import classify
    from shrinkwatch.analysis.unit_profile import profile
    from shrinkwatch.core import Identification, Panel, PanelMeta
    from shrinkwatch.core.panelfile import read_panel, write_panel
    from shrinkwatch.datasets import fetch, list_datasets, load, resolve_data_dir
    from shrinkwatch.identification import Standard, identify, list_standards, load_standard
    from shrinkwatch.identification.sensitivity import sweep
    from shrinkwatch.pipeline import run

# public name -> (module, attribute)
_PUBLIC = {
    "Panel": ("shrinkwatch.core.panel", "Panel"),
    "PanelMeta": ("shrinkwatch.core.meta", "PanelMeta"),
    "Identification": ("shrinkwatch.core.panel", "Identification"),
    "Standard": ("shrinkwatch.identification.schema", "Standard"),
    "load": ("shrinkwatch.datasets.registry", "load"),
    "fetch": ("shrinkwatch.datasets.registry", "fetch"),
    "list_datasets": ("shrinkwatch.datasets.registry", "list_datasets"),
    "resolve_data_dir": ("shrinkwatch.datasets.registry", "resolve_data_dir"),
    "identify": ("shrinkwatch.identification.engine", "identify"),
    "list_standards": ("shrinkwatch.identification.catalogue", "list_standards"),
    "load_standard": ("shrinkwatch.identification.catalogue", "load_standard"),
    "run": ("shrinkwatch.pipeline", "run"),
    "read_panel": ("shrinkwatch.core.panelfile", "read_panel"),
    "write_panel": ("shrinkwatch.core.panelfile", "write_panel"),
    "sweep": ("shrinkwatch.identification.sensitivity", "sweep"),
    "classify": ("shrinkwatch.analysis.typology", "classify"),
    "profile": ("shrinkwatch.analysis.unit_profile", "profile"),
    "recommendations": ("shrinkwatch.analysis.recommend", "recommend"),
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        module, attribute = _PUBLIC[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'shrinkwatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


__all__ = ["Panel", "PanelMeta", "Identification", "Standard", "load", "fetch", "list_datasets", "resolve_data_dir",
           "identify", "list_standards", "load_standard", "run", "read_panel", "write_panel", "sweep", "classify",
           "profile", "recommendations"]
# every error a user can cause: re-exported above (``X as X``), listed as core.errors lists them
__all__ += _errors.__all__

__version__ = "0.1.0"
