"""Exceptions raised at the public boundary.

Every error a user can cause subclasses :class:`ShrinkWatchError`; the CLI prints
its message and exits with a non-zero code, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "ShrinkWatchError",
    "DataError",
    "DataDirectoryNotFoundError",
    "ChecksumError",
    "UnknownIdError",
    "OptionError",
    "NothingUsableError",
    "OutputError",
    "StoreError",
    "StoreBusyError",
]


class ShrinkWatchError(Exception):
    """Base class of every error a user can cause."""

    exit_code = 2


class DataError(ShrinkWatchError, ValueError):
    """Input data is malformed: names the file, row, column and what was expected."""


class DataDirectoryNotFoundError(ShrinkWatchError, FileNotFoundError):
    """No data directory (or a registered file in it) could be found."""

    exit_code = 3


class ChecksumError(ShrinkWatchError, ValueError):
    """A data file's sha256 differs from the registered one."""

    exit_code = 4


class UnknownIdError(ShrinkWatchError, KeyError):
    """An unknown dataset, standard or unit id; the message lists the valid ids."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OptionError(ShrinkWatchError, ValueError):
    """A malformed option (such as ``--set key=value``): names the option."""


class NothingUsableError(DataError):
    """The input was read but nothing in it could be used (every row rejected, no data at all)."""

    exit_code = 5


class OutputError(ShrinkWatchError, OSError):
    """An output cannot be written: the folder is a file, read-only, holds files ShrinkWatch did
    not write, or the output would replace an input."""

    exit_code = 6


class StoreError(ShrinkWatchError):
    """The run store cannot be used: the file is not a ShrinkWatch store, its schema is newer than this
    ShrinkWatch, the server cannot be reached, or a run id is already recorded."""

    exit_code = 7


class StoreBusyError(StoreError):
    """Another process holds the run store's single-writer lock for longer than the wait allows."""

    exit_code = 8
