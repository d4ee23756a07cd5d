"""The resource-city attribute table: read and validated for the resource-based types of the typology.

The State Council's plan for resource-based cities (2013-2020) sorts them into
four types, and three batches (2008, 2009, 2011) named the resource-exhausted
cities. No such table ships with the package: the user supplies one, and
:func:`read_resource_table` checks it line by line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shrinkwatch.core.errors import DataError

__all__ = ["RESOURCE_TYPES", "EXHAUSTED_BATCHES", "read_resource_table"]

#: Allowed ``resource_type`` values (State Council plan 2013-2020).
RESOURCE_TYPES = ("growing", "mature", "declining", "regenerating")
#: Allowed ``exhausted_batch`` values (the three batches of resource-exhausted cities).
EXHAUSTED_BATCHES = (2008, 2009, 2011)

_RESOURCE_COLUMNS = ("unit_id", "name", "resource_type", "exhausted_batch", "note")


def read_resource_table(source: str | Path | pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Read and validate a resource-city attribute table.

    The CSV (UTF-8, header row) has the columns:

    ``unit_id`` or ``name`` (at least one; ``unit_id`` wins when both are given)
        the unit, as in the panel (``name`` must match exactly one unit's
        ``name`` or ``name_en``);
    ``resource_type``
        ``growing``, ``mature``, ``declining`` or ``regenerating`` (the State
        Council's four types), or empty;
    ``exhausted_batch``
        ``2008``, ``2009`` or ``2011`` (the batches of resource-exhausted
        cities), or empty;
    ``note``
        optional free text.

    Every row must give a resource_type or an exhausted_batch; a unit may
    appear only once; other columns are rejected.

    Parameters
    ----------
    source
        Path to the CSV file, or a DataFrame with the same columns.
    units
        The panel's units (indexed by ``unit_id``), to resolve ids and names.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``: ``resource_type`` and ``exhausted_batch``
        (Int64), one row per listed unit.

    Raises
    ------
    DataError
        Naming the file, the line and the column of the first problem.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"name": ["A市", "B市"]}, index=pd.Index(["1", "2"], name="unit_id"))
    >>> rows = pd.DataFrame({"name": ["B市"], "resource_type": ["declining"], "exhausted_batch": ["2009"]})
    >>> read_resource_table(rows, units).to_dict("index")
    {'2': {'resource_type': 'declining', 'exhausted_batch': 2009}}
    """
    if isinstance(source, pd.DataFrame):
        where = "resource table"
        raw = source.copy()
        raw.columns = [str(c) for c in raw.columns]
        raw = raw.astype(object).where(raw.notna(), "").astype(str)
    else:
        path = Path(source)
        where = f"resource file {path}"
        if not path.is_file():
            raise DataError(f"{where}: no such file")
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            raise DataError(f"{where}: not a readable UTF-8 CSV file: {error}") from None
    raw.columns = [c.strip() for c in raw.columns]
    unknown = [c for c in raw.columns if c not in _RESOURCE_COLUMNS]
    if unknown:
        raise DataError(
            f"{where}: unknown column(s) {', '.join(repr(c) for c in unknown)}; "
            f"allowed columns: {', '.join(_RESOURCE_COLUMNS)}"
        )
    if "unit_id" not in raw.columns and "name" not in raw.columns:
        raise DataError(f"{where}: needs a 'unit_id' or a 'name' column; it has {', '.join(raw.columns) or 'none'}")
    for column in ("resource_type", "exhausted_batch"):
        if column not in raw.columns:
            raw[column] = ""
    raw = raw.apply(lambda column: column.str.strip())

    ids = pd.Index(units.index.astype(str))
    names: dict[str, list[str]] = {}
    for name_column in ("name", "name_en"):
        if name_column in units.columns:
            for unit_id, name in units[name_column].dropna().astype(str).items():
                names.setdefault(name, []).append(str(unit_id))

    resolved: list[str] = []
    types: list[str | None] = []
    batches: list[int | None] = []
    first_line: dict[str, int] = {}
    for position, row in enumerate(raw.to_dict("records")):
        line = position + 2  # the header is line 1
        unit_id = row.get("unit_id", "")
        name = row.get("name", "")
        if unit_id:
            if unit_id not in ids:
                near = [i for i in ids if i.startswith(unit_id[:4])][:5]
                raise DataError(
                    f"{where}, line {line}, column 'unit_id': {unit_id!r} is not a unit of the panel"
                    + (f" (near: {', '.join(near)})" if near else "")
                )
        elif name:
            matches = sorted(set(names.get(name, [])))
            if not matches:
                raise DataError(f"{where}, line {line}, column 'name': no unit is named {name!r}")
            if len(matches) > 1:
                raise DataError(
                    f"{where}, line {line}, column 'name': {name!r} names {len(matches)} units "
                    f"({', '.join(matches)}); give unit_id instead"
                )
            unit_id = matches[0]
        else:
            raise DataError(f"{where}, line {line}: neither 'unit_id' nor 'name' is given")
        if unit_id in first_line:
            raise DataError(
                f"{where}, line {line}: unit {unit_id} is listed again (first on line {first_line[unit_id]})"
            )
        first_line[unit_id] = line
        resource_type = row["resource_type"].lower()
        if resource_type and resource_type not in RESOURCE_TYPES:
            raise DataError(
                f"{where}, line {line}, column 'resource_type': {row['resource_type']!r} is not one of "
                f"{', '.join(RESOURCE_TYPES)} (or empty)"
            )
        batch_text = row["exhausted_batch"]
        batch: int | None = None
        if batch_text:
            try:
                batch = int(float(batch_text))
            except (ValueError, OverflowError):
                batch = None
            if batch not in EXHAUSTED_BATCHES or float(batch_text) != batch:
                raise DataError(
                    f"{where}, line {line}, column 'exhausted_batch': {batch_text!r} is not one of "
                    f"{', '.join(str(b) for b in EXHAUSTED_BATCHES)} (or empty)"
                )
        if not resource_type and batch is None:
            raise DataError(f"{where}, line {line}: give a resource_type or an exhausted_batch (both are empty)")
        resolved.append(unit_id)
        types.append(resource_type or None)
        batches.append(batch)
    return pd.DataFrame(
        {"resource_type": pd.array(types, dtype=object), "exhausted_batch": pd.array(batches, dtype="Int64")},
        index=pd.Index(resolved, name="unit_id"),
    )
