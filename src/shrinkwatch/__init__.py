"""ShrinkWatch: find, explain and monitor shrinking cities.

>>> import shrinkwatch as sw
>>> panel = sw.load("cn-prefecture-census")          # doctest: +SKIP
>>> result = sw.identify(panel, "census-decline")    # doctest: +SKIP
>>> result.counts()["shrinking"]                     # doctest: +SKIP
156
"""

from __future__ import annotations

from ._errors import (
    ChecksumError,
    DataDirectoryNotFoundError,
    DataError,
    OptionError,
    ShrinkWatchError,
    UnknownIdError,
)
from .core import Identification, Panel
from .datasets import fetch, list_datasets, load, resolve_data_dir
from .pipeline import run
from .standards import Standard, identify, list_standards, load_standard

__all__ = [
    "Panel",
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
    "ShrinkWatchError",
    "DataError",
    "DataDirectoryNotFoundError",
    "ChecksumError",
    "UnknownIdError",
    "OptionError",
]

__version__ = "0.1.0"
