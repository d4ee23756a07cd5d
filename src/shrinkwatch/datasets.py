"""Dataset registry, data-directory lookup, fetching and loading.

The data directory is resolved in this order: the ``data_dir`` argument
(``--data-dir``), the ``SHRINKWATCH_DATA`` environment variable, ``./data``,
then the team mirror ``../shared/data``. Files are read as their publishers
release them; each dataset's adapter lives in a private module.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ._errors import ChecksumError, DataDirectoryNotFoundError, UnknownIdError
from .core import Panel

__all__ = [
    "DataFile",
    "Dataset",
    "REGISTRY",
    "register",
    "get_dataset",
    "list_datasets",
    "resolve_data_dir",
    "data_dir_candidates",
    "dataset_paths",
    "verify",
    "fetch",
    "load",
    "sha256_of",
]

ENV_VAR = "SHRINKWATCH_DATA"


@dataclass(frozen=True)
class DataFile:
    """One published file: where it lives in the data directory, its checksum, its origin."""

    path: str
    sha256: str
    url: str


@dataclass(frozen=True)
class Dataset:
    """A registered source."""

    id: str
    title: str
    files: tuple[DataFile, ...]
    licence: str
    citation: str
    publisher_url: str
    description: str = ""
    unit_definition: str = ""
    loader: str | None = None  # "module:function" returning a Panel
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def loadable(self) -> bool:
        return self.loader is not None


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add a dataset to the registry (replacing one with the same id)."""
    REGISTRY[dataset.id] = dataset
    return dataset


_LEIII = "https://raw.githubusercontent.com/leiii/census"

register(Dataset(
    id="cn-prefecture-census",
    title="China prefecture-level census population, 2010 and 2020",
    files=(
        DataFile(
            "china/census/census_city_2010_2020.csv",
            "cef8ba063a7cda6f6eed99cd71cfa18aeed2ef09bc517a514810df874e99913a",
            f"{_LEIII}/6951cc46e58bad3e1f50bc1b73a838aefcd1d437/data/census/census_city_2010-2020_v1.csv",
        ),
    ),
    licence="MIT",
    citation=(
        "Dong, L., Du, R. & Liu, Y. (2022). Mapping Evolving Population Geography in China. "
        "SSRN 4049338. Data: github.com/leiii/census"
    ),
    publisher_url="https://github.com/leiii/census",
    description=(
        "369 prefecture-level units (incl. Hainan's and other provinces' directly administered "
        "county-level units, XPCC cities, Hong Kong, Macau): 6th (2010) and 7th (2020) census "
        "resident population, urban and rural, household size, sex ratio, age shares; 2020 boundaries."
    ),
    unit_definition=(
        "prefecture-level units, whole administrative area (市域), resident population (常住人口) "
        "at the 2010 and 2020 censuses, on 2020 boundaries"
    ),
    loader="shrinkwatch._cn_census:load_prefecture_census",
    notes=(
        "XPCC cities (6590xx) and Sansha (460300) lack one or both census counts: insufficient data.",
        "Boundaries are 2020 boundaries; 2010 counts were adjusted by the authors to comparable areas.",
    ),
))

register(Dataset(
    id="cn-county-census-tables",
    title="China county-level census tables, 2010 and 2020 (Chinese headers)",
    files=(
        DataFile("china/census/census_county_2010.xlsx",
                 "fccd3f094d1c8b7e404c8453add123826c53bc44cb85c65f6406d8e61f3f5d0b",
                 f"{_LEIII}/fe45ae633e43d7cb8c7af40772bfa5820c30c99c/data/census/census_county_2010_v1.xlsx"),
        DataFile("china/census/census_county_2020.xlsx",
                 "04d37df90d4e358c13aac85a76051caab12afa84eca8a3b4f58cf2227ce69f43",
                 f"{_LEIII}/719d9be5f6153f23486a8a364233e9b34c01751c/data/census/census_county_2020_v1.xlsx"),
    ),
    licence="MIT",
    citation="Dong, L., Du, R. & Liu, Y. (2022). Mapping Evolving Population Geography in China. SSRN 4049338.",
    publisher_url="https://github.com/leiii/census",
    description="6th and 7th census county tables as published (3,279 and 3,358 rows).",
))

register(Dataset(
    id="us-county-est",
    title="US Census Bureau county population estimates, Vintage 2019 (2010-2019)",
    files=(
        DataFile("us/county_estimates/co-est2019-alldata.csv",
                 "ada6712f27fd2766c0781119203386eb1b50cafd32da0750661cd350f39e03fd",
                 "https://www2.census.gov/programs-surveys/popest/datasets/2010-2019/counties/totals/co-est2019-alldata.csv"),
        DataFile("us/boundaries/counties-10m.json",
                 "145aaf5d1433352a6a1d8e86b5f149c7c653f9171baf14aaf75ee66575def1b0",
                 "https://cdn.jsdelivr.net/npm/us-atlas@3.0.1/counties-10m.json"),
    ),
    licence="Public domain (US Government work)",
    citation="U.S. Census Bureau, Population Division (2020). Annual Resident Population Estimates, "
             "Estimated Components of Resident Population Change, Vintage 2019 (CO-EST2019-alldata).",
    publisher_url="https://www.census.gov/programs-surveys/popest.html",
    description="3,142 counties, annual 2010-2019, with births, deaths and migration components.",
    unit_definition="US counties and county equivalents (5-digit STATE+COUNTY FIPS, Vintage 2019 "
                    "geography), resident population estimates for July 1 of each year",
    loader="shrinkwatch._us_county:load_county_estimates",
))

register(Dataset(
    id="world-wup2018",
    title="UN World Urbanization Prospects 2018, File 22: urban agglomerations 300k+, annual",
    files=(
        DataFile("world/un_wup2018/WUP2018-F22-Cities_Over_300K_Annual.xlsx",
                 "0e413614309d17ecf185d00790ac5df6468ef4555aa3e88d86b9c38c3b53a0bf",
                 "https://population.un.org/wup/Download/Files/WUP2018-F22-Cities_Over_300K_Annual.xlsx"),
    ),
    licence="CC BY 3.0 IGO",
    citation="United Nations, Department of Economic and Social Affairs, Population Division (2018). "
             "World Urbanization Prospects: The 2018 Revision, Online Edition. File 22.",
    publisher_url="https://population.un.org/wup/",
    description="1,860 urban agglomerations with 300,000+ inhabitants in 2018, annual 1950-2035 "
                "(years after 2018 are projections).",
    unit_definition="urban agglomerations of 300,000+ inhabitants in 2018 (UN city code; the concept "
                    "- agglomeration, city proper or metropolitan area - varies by country), mid-year "
                    "population; 2019-2035 are projections",
    loader="shrinkwatch._un_wup:load_wup_agglomerations",
))


def list_datasets() -> list[Dataset]:
    """All registered datasets, sorted by id."""
    return [REGISTRY[k] for k in sorted(REGISTRY)]


def get_dataset(dataset_id: str) -> Dataset:
    """The registered dataset ``dataset_id``; an unknown id lists the valid ones."""
    try:
        return REGISTRY[dataset_id]
    except KeyError:
        raise UnknownIdError(
            f"unknown dataset {dataset_id!r}; valid ids: {', '.join(sorted(REGISTRY))}"
        ) from None


def data_dir_candidates(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """The places searched for the data directory, in order, with where each came from."""
    candidates: list[tuple[str, Path]] = []
    if data_dir is not None:
        candidates.append(("--data-dir", Path(data_dir)))
    env = os.environ.get(ENV_VAR)
    if env:
        candidates.append((ENV_VAR, Path(env)))
    candidates.append(("./data", Path.cwd() / "data"))
    candidates.append(("../shared/data", Path.cwd().parent / "shared" / "data"))
    return candidates


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``data_dir``, ``$SHRINKWATCH_DATA``, ``./data``, ``../shared/data``.

    An explicit ``data_dir`` or environment variable that does not exist is an
    error (it is never silently skipped).
    """
    searched_places: list[tuple[str, Path]] = []
    for origin, path in data_dir_candidates(data_dir):
        searched_places.append((origin, path))
        if path.is_dir():
            return path.resolve()
        if origin in ("--data-dir", ENV_VAR):
            break  # an explicit choice that does not exist is an error, not a fallback
    searched = "\n".join(f"  - {path} (from {origin}): not found" for origin, path in searched_places)
    raise DataDirectoryNotFoundError(
        "no data directory found. Searched, in order:\n"
        f"{searched}\n"
        "Get the data with `shrinkwatch data fetch` (downloads from the publishers into ./data), "
        "or `shrinkwatch data fetch --from MIRROR_DIR`, or point --data-dir / "
        f"{ENV_VAR} at a directory that holds it."
    )


def dataset_paths(dataset: Dataset | str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Paths of a dataset's files in the data directory; a missing file is an error."""
    ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
    root = resolve_data_dir(data_dir)
    paths = [root / f.path for f in ds.files]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DataDirectoryNotFoundError(
            f"dataset {ds.id!r}: file(s) missing from data directory {root}: "
            + ", ".join(str(p) for p in missing)
            + f". Get them with `shrinkwatch data fetch {ds.id}`."
        )
    return paths


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(dataset: Dataset | str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Check every file of a dataset against its registered sha256; return the paths."""
    ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
    paths = dataset_paths(ds, data_dir)
    for data_file, path in zip(ds.files, paths):
        actual = sha256_of(path)
        if actual != data_file.sha256:
            raise ChecksumError(
                f"checksum mismatch for {path} (dataset {ds.id!r}): expected sha256 "
                f"{data_file.sha256}, got {actual}. The file is damaged or a different "
                f"release; fetch it again with `shrinkwatch data fetch {ds.id}`."
            )
    return paths


def fetch(
    dataset_ids: list[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    source_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Put the registered files into the data directory and verify them.

    Files already present with the right checksum are kept. With
    ``source_dir`` files are copied from that mirror (same relative layout),
    otherwise downloaded from the publisher. The target is ``data_dir``, or
    ``$SHRINKWATCH_DATA``, or ``./data``.
    """
    ids = dataset_ids or sorted(REGISTRY)
    datasets = [get_dataset(i) for i in ids]
    target = Path(data_dir) if data_dir is not None else Path(os.environ.get(ENV_VAR) or Path.cwd() / "data")
    mirror = Path(source_dir) if source_dir is not None else None
    if mirror is not None and not mirror.is_dir():
        raise DataDirectoryNotFoundError(f"--from: mirror directory {mirror} does not exist")
    written: list[Path] = []
    say = progress or (lambda message: None)
    for ds in datasets:
        for data_file in ds.files:
            destination = target / data_file.path
            if destination.is_file() and sha256_of(destination) == data_file.sha256:
                say(f"ok       {data_file.path}")
                written.append(destination)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(destination.name + ".part")
            if mirror is not None:
                origin = mirror / data_file.path
                if not origin.is_file():
                    raise DataDirectoryNotFoundError(f"--from: {origin} not found in mirror {mirror}")
                shutil.copyfile(origin, partial)
                say(f"copied   {data_file.path}")
            else:
                say(f"download {data_file.url}")
                try:
                    with urllib.request.urlopen(data_file.url, timeout=60) as response, open(partial, "wb") as out:
                        shutil.copyfileobj(response, out)
                except OSError as error:
                    partial.unlink(missing_ok=True)
                    raise DataDirectoryNotFoundError(
                        f"could not download {data_file.url} for dataset {ds.id!r}: {error}. "
                        "Offline? Use `shrinkwatch data fetch --from MIRROR_DIR`."
                    ) from None
            actual = sha256_of(partial)
            if actual != data_file.sha256:
                partial.unlink(missing_ok=True)
                raise ChecksumError(
                    f"checksum mismatch for {data_file.path} (dataset {ds.id!r}): expected sha256 "
                    f"{data_file.sha256}, got {actual}; the file was not kept."
                )
            partial.replace(destination)
            written.append(destination)
    return written


def load(dataset_id: str, data_dir: str | os.PathLike[str] | None = None, *, check: bool = True) -> Panel:
    """Load a registered dataset as a :class:`~shrinkwatch.core.Panel`.

    ``check`` verifies the files' sha256 against the registry first.
    """
    ds = get_dataset(dataset_id)
    if ds.loader is None:
        loadable = ", ".join(d.id for d in list_datasets() if d.loadable)
        raise UnknownIdError(
            f"dataset {dataset_id!r} is reference data, not a panel; loadable datasets: {loadable}"
        )
    paths = verify(ds, data_dir) if check else dataset_paths(ds, data_dir)
    module_name, function_name = ds.loader.split(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    panel: Panel = loader(paths, ds)
    return panel
