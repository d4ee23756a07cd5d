"""The standards: the built-in ones and a user's TOML files, read, validated and checked against their rule.

A standard file is refused when it is not valid TOML, does not match the
schema (:class:`~shrinkwatch.identification.schema.Standard`), names an unknown
rule, or declares ``[parameters]`` that are not exactly its rule's parameter
object (:class:`~shrinkwatch.identification.kernel.RuleParameters`): every error
names the file, the rule and the parameter.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from shrinkwatch.core.errors import OptionError, UnknownIdError
from shrinkwatch.identification.rules import KERNELS
from shrinkwatch.identification.schema import Standard

__all__ = ["list_standards", "load_standard"]


#: The built-in standards' folder and its listing, with the folder's modification time when listed.
_BUILTIN_LISTING: dict[str, tuple[Path, int | None, dict[str, Path]]] = {}


def _builtin_files() -> dict[str, Path]:
    """The built-in standard files by id; the folder is listed again only when its modification time changed
    (a file added or removed), so that :func:`load_standard` costs a ``stat``, not a listing, per call."""
    cached = _BUILTIN_LISTING.get("standards")
    folder = cached[0] if cached else Path(str(resources.files("shrinkwatch") / "resources" / "standards"))
    try:
        modified: int | None = folder.stat().st_mtime_ns
    except OSError:  # not a plain folder (a zipped package): list it every time
        modified = None
    if cached and modified is not None and cached[1] == modified:
        return cached[2]
    listing = {Path(str(p)).stem: Path(str(p)) for p in (resources.files("shrinkwatch") / "resources" / "standards")
               .iterdir() if str(p).endswith(".toml")}
    _BUILTIN_LISTING["standards"] = (folder, modified, listing)
    return listing


_STANDARD_CACHE: dict[tuple[str, int, int], Standard] = {}


def _read_standard(path: Path) -> Standard:
    """Parse and validate a standard file; cached by path, size and modification time."""
    try:
        stat = path.stat()
    except OSError:
        raise OptionError(f"standard file {path} cannot be read") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _STANDARD_CACHE:
        _STANDARD_CACHE[key] = _parse_standard(path)
    return _STANDARD_CACHE[key]


def _check_against_rule(standard: Standard, where: str) -> None:
    """OptionError unless the standard's rule is known and its parameters are the rule's parameter object."""
    if standard.rule not in KERNELS:
        raise OptionError(f"{where}: unknown rule {standard.rule!r}; known rules: {', '.join(sorted(KERNELS))}")
    problems = KERNELS[standard.rule].parameters.problems(standard.rule, standard.parameters, standard.sensitivity)
    if problems:
        raise OptionError(f"{where}: {'; '.join(problems)}")


def _parse_standard(path: Path) -> Standard:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise OptionError(f"standard file {path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise OptionError(f"standard file {path}: not a text file (a standard is TOML in UTF-8)") from None
    except OSError as error:
        raise OptionError(f"standard file {path} cannot be read: {error.strerror or error}") from None
    try:
        standard = Standard(**data, source=str(path))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in error.errors())
        raise OptionError(f"standard file {path}: {problems}") from None
    _check_against_rule(standard, f"standard file {path}")
    for key, spec in standard.parameters.items():
        spec.coerce(f"{standard.id}.{key}", spec.default)
    for key, values in standard.sensitivity.items():
        if key not in standard.parameters:
            raise OptionError(f"standard file {path}: [sensitivity] names unknown parameter {key!r}")
        for value in values:
            standard.parameters[key].coerce(f"{standard.id}.sensitivity.{key}", value)
    return standard


def list_standards() -> list[Standard]:
    """All built-in standards, sorted by id."""
    return [_read_standard(path) for _, path in sorted(_builtin_files().items())]


def load_standard(standard: str | Path | Standard) -> Standard:
    """A built-in standard by id, or a user's TOML file by path.

    A :class:`Standard` built in Python is returned as is once its parameters
    are checked against its rule.

    Examples
    --------
    >>> load_standard("census-decline").rule
    'census_decline'
    """
    if isinstance(standard, Standard):
        _check_against_rule(standard, f"standard {standard.id!r}")
        return standard
    text = str(standard)
    builtin = _builtin_files()
    if text in builtin:
        return _read_standard(builtin[text])
    path = Path(text)
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise OptionError(f"standard file {path} does not exist")
        return _read_standard(path)
    raise UnknownIdError(
        f"unknown standard {text!r}; valid ids: {', '.join(sorted(builtin))} (or a path to a .toml file)"
    )
