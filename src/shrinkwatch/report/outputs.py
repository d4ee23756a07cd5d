"""Writing outputs safely: a run's files as one set, single files atomically, cells that stay inert.

A run writes every file into a staging folder beside the target, adds ``manifest.json`` (run id,
time, software version, dataset fingerprint, standard and parameters, every file with its
sha256) and only then swaps the finished set into place. An interrupted run leaves the previous
complete set as it was and, beside it, a hidden staging folder that no one mistakes for results
(the next run into the same target removes it). Files of an earlier run that this run does not
write are gone with the earlier set. A folder holding files ShrinkWatch did not write is refused
unless ``force`` is given, and then those files are kept, never overwritten.

Spreadsheets and CSV files get the OWASP rule against formula injection: text that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with a leading apostrophe, so no
spreadsheet runs it.

CSV files are written by Arrow (:func:`pyarrow.csv.write_csv`, vectorised: a 1,000,000-row
identification in seconds, not the minute of ``DataFrame.to_csv``): the header as before
(unquoted names, the index first), rows ending in CRLF, text cells always in double quotes
(RFC 4180: every reader parses them as before), ``"True"``/``"False"`` for booleans (pandas
still reads booleans), an empty cell for a missing value, numbers in their shortest round-trip
form (``295338``, not ``295338.0``). :func:`write_parquet` writes the same table, typed and
unguarded (a Parquet file is read by programs, not run by spreadsheets): ``results.parquet``
beside ``results.csv``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shrinkwatch.core.errors import OutputError
from shrinkwatch.datasets.registry import sha256_of

__all__ = ["MANIFEST", "OutputSet", "output_set", "inert_cells", "csv_text", "write_csv", "write_atomically",
           "jsonable", "software_version", "arrow_table", "write_parquet"]

#: Name of the file that lists a run's outputs; its presence marks a folder as ShrinkWatch's.
MANIFEST = "manifest.json"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot become spreadsheet formulas.

    Text (object or string columns, and a text index) starting with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return gets a leading apostrophe; numbers are left alone. Vectorised per
    column.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ['=HYPERLINK("http://x","click")', "-1+1", "Harbin"], "rate": [-1.0, 2, 3]})
    >>> inert_cells(frame)["name"].tolist()
    ['\\'=HYPERLINK("http://x","click")', "'-1+1", 'Harbin']
    >>> inert_cells(frame)["rate"].tolist()
    [-1.0, 2.0, 3.0]
    """
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = _inert(out[column])
    if _is_text(out.index.to_series()):
        out.index = pd.Index(_inert(out.index.to_series()).to_numpy(), name=out.index.name)
    return out


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _inert(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return values
    out = values.astype(object).copy()
    out[risky] = ("'" + text[risky]).astype(object)
    return out


def csv_text(frame: pd.DataFrame, index: bool = True) -> str:
    """``frame`` as CSV text that is safe to open in a spreadsheet (what :func:`write_csv` writes).

    Text cells are made inert (:func:`inert_cells`), and rows end in CRLF (RFC 4180), so that a
    carriage return or line feed inside a cell is always quoted and can never split a row.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["=1+1", "Harbin"], "rate": [-1.5, None], "shrinking": [True, False]},
    ...                      index=pd.Index(["a", "b"], name="unit_id"))
    >>> print(csv_text(frame).replace("\\r\\n", "\\n"), end="")
    unit_id,name,rate,shrinking
    "a","'=1+1",-1.5,"True"
    "b","Harbin",,"False"
    """
    sink = pa.BufferOutputStream()
    _write_csv_arrow(frame, index, sink)
    return sink.getvalue().to_pybytes().decode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], index: bool = True) -> Path:
    """Write :func:`csv_text` of ``frame`` to ``path`` (UTF-8) atomically, streamed by Arrow."""
    return write_atomically(Path(path), lambda partial: _write_csv_arrow(frame, index, str(partial)))


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike[str], index: bool = True) -> Path:
    """Write ``frame`` (its index as the first column(s), as in the CSV) to a Parquet file atomically.

    The values are typed and as they are (no apostrophe before a formula-like text: a Parquet file
    is data for programs); the column names are the CSV's.
    """
    table = arrow_table(frame, index)
    return write_atomically(Path(path), lambda partial: pq.write_table(table, str(partial)))


def arrow_table(frame: pd.DataFrame, index: bool = True) -> pa.Table:
    """``frame`` as an Arrow table with the CSV's columns: the index first (``index``; an unnamed level
    is an empty name, as pandas writes it), then the columns named as text, with pandas' dtypes in
    the schema. Missing values (NaN, None, NA) are nulls. A column Arrow cannot type (mixed objects)
    is its text, as pandas would write it."""
    names = ([("" if name is None else str(name)) for name in frame.index.names] if index else []) \
        + [str(name) for name in frame.columns]
    flat = frame.reset_index(drop=not index)
    flat.columns = pd.Index(names, dtype=object)
    try:
        return pa.Table.from_pandas(flat, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        pass  # a column of mixed objects (or repeated names): typed column by column below
    for k in range(len(names)):
        if flat.dtypes.iloc[k] == object:
            try:
                pa.Array.from_pandas(flat.iloc[:, k])
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                flat.isetitem(k, flat.iloc[:, k].map(lambda v: None if _missing(v) else str(v)).astype(object))
    if len(set(names)) == len(names):
        return pa.Table.from_pandas(flat, preserve_index=False)
    return pa.Table.from_arrays([pa.Array.from_pandas(flat.iloc[:, k]) for k in range(len(names))], names=names)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array in a cell: not missing
        return False


def _write_csv_arrow(frame: pd.DataFrame, index: bool, sink: Any) -> None:
    """Write the CSV of ``frame`` to ``sink`` (a path or an Arrow stream) with Arrow's writer."""
    if isinstance(frame.columns, pd.MultiIndex):  # several header rows: pandas writes those
        text = inert_cells(frame).to_csv(index=index, lineterminator="\r\n").encode("utf-8")
        if isinstance(sink, str):
            Path(sink).write_bytes(text)
        else:
            sink.write(text)
        return
    table = arrow_table(frame, index)
    table = pa.Table.from_arrays([_csv_cells(column) for column in table.columns], names=table.column_names)
    plain_names = not any(ch in name for name in table.column_names for ch in ',"\r\n')
    options = pacsv.WriteOptions(eol="\r\n", quoting_style="needed",
                                 quoting_header="none" if plain_names else "needed")
    pacsv.write_csv(table, sink, write_options=options)


def _csv_cells(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as the CSV shows it: text made inert, booleans ``True``/``False`` (as pandas writes them)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "True", "False")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        first = pc.utf8_slice_codeunits(column, 0, 1)
        risky = pc.is_in(first, value_set=pa.array(_FORMULA_START, kind))
        if not pc.any(risky).as_py():
            return column
        quote, nothing = pa.scalar("'", kind), pa.scalar("", kind)
        return pc.if_else(risky, pc.binary_join_element_wise(quote, column, nothing), column)
    return column


def write_atomically(path: Path, write: Any) -> Path:
    """Call ``write(temporary_path)`` and rename the result onto ``path``: a reader sees the old file
    or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def software_version() -> str:
    """The installed ShrinkWatch version (``dev`` when running from a source tree): the manifest's and the run
    store's."""
    try:
        return metadata.version("shrinkwatch")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


class OutputSet:
    """The files of one run, staged beside ``target`` and moved into place together by :meth:`commit`."""

    def __init__(self, target: Path, staging: Path, foreign: list[str]) -> None:
        self.target = target
        self.folder = staging
        self.foreign = foreign
        self.run_id = staging.name.rsplit("-", 1)[-1]

    def path(self, name: str) -> Path:
        """Where to write the output file ``name`` (inside the staging folder)."""
        return self.folder / name

    def commit(self, run_info: Mapping[str, Any]) -> dict[str, Path]:
        """Write ``manifest.json`` and swap the set into place; returns each file's final path."""
        names = sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*")
                       if p.is_file() and p.name != MANIFEST)  # a run's subfolders (figures/) are in its set
        manifest = {
            "run_id": self.run_id,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "software": {"name": "shrinkwatch", "version": software_version()},
            **{key: jsonable(value) for key, value in run_info.items()},
            "files": {name: {"sha256": sha256_of(self.folder / name), "bytes": (self.folder / name).stat().st_size}
                      for name in names},
        }
        (self.folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        previous = self.target.with_name(f".{self.target.name}.previous-{self.run_id}")
        if self.target.exists():
            os.replace(self.target, previous)
        os.replace(self.folder, self.target)
        if previous.exists():
            for name in self.foreign:  # the user's own files, kept with --force and never overwritten
                if not (self.target / name).exists():
                    os.replace(previous / name, self.target / name)
            shutil.rmtree(previous, ignore_errors=True)
        return {name: self.target / name for name in [*names, MANIFEST]}


@contextmanager
def output_set(target: str | os.PathLike[str], *, force: bool = False) -> Iterator[OutputSet]:
    """Stage a run's outputs for ``target``; on an error or interruption the staging folder goes
    and ``target`` is untouched.

    Raises
    ------
    OutputError
        ``target`` is a file, cannot be written, or holds files ShrinkWatch did not write
        (unless ``force``).
    """
    target = Path(target)
    parent = target.parent
    _recover(target)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {target}: is a file, not a folder; give a folder for the run's outputs")
    foreign = _foreign_files(target) if target.is_dir() else []
    if foreign and not force:
        listing = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputError(f"--out {target}: the folder holds files ShrinkWatch did not write ({listing}); "
                          "choose an empty or new folder, or pass --force to write beside them (they are kept)")
    staging = parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
    except OSError as error:
        raise OutputError(f"--out {target}: cannot write in {parent}: {error.strerror or error}") from None
    try:
        yield OutputSet(target, staging, foreign)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that its ShrinkWatch manifest does not list (all of them without one)."""
    present = sorted(p.name for p in folder.iterdir())
    manifest = folder / MANIFEST
    ours: set[str] = set()
    if manifest.is_file():
        try:
            ours = set(json.loads(manifest.read_text(encoding="utf-8")).get("files", {})) | {MANIFEST}
        except (OSError, ValueError, AttributeError):
            ours = set()
    folders = {name.split("/", 1)[0] for name in ours if "/" in name}  # figures/ and its files are ours
    return [name for name in present if name not in ours and name not in folders]


def _recover(target: Path) -> None:
    """Tidy what an interrupted run left: its staging folders go, and a set moved aside but not
    replaced comes back."""
    parent = target.parent
    if not parent.is_dir():
        return
    for leftover in parent.glob(f".{target.name}.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for previous in sorted(parent.glob(f".{target.name}.previous-*")):
        if not target.exists():
            os.replace(previous, target)
        else:
            shutil.rmtree(previous, ignore_errors=True)


def jsonable(value: Any) -> Any:
    """``value`` as JSON types: mappings and sequences walked, NumPy scalars unwrapped, non-finite floats and
    missing values as None, a DataFrame as its records, anything else (paths, timestamps) as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return jsonable(value.reset_index().to_dict(orient="records"))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return float(value) if np.isfinite(value) else None
    if value is None or value is pd.NA or isinstance(value, (str, int, bool)):
        return None if value is pd.NA else value
    return str(value)
