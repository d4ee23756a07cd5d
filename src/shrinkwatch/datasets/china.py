"""Reference facts about China's administrative geography (GB/T 2260)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shrinkwatch.core import Basemap

__all__ = ["PROVINCES", "province_table", "prefecture_kind", "KIND_LABELS", "BOUNDARY_FILES", "china_basemap"]

#: The province outlines and the maritime boundary under the data directory (registered as ``cn-boundaries``).
BOUNDARY_FILES = ("china/boundaries/cnmaps_amap_province_simplified.geojson",
                  "china/boundaries/cnmaps_amap_maritime_100000.geojson")


def china_basemap(data_dir: Path) -> Basemap | None:
    """The outlines a map of China is drawn with (provinces incl. Taiwan; the maritime boundary), or None
    when ``data_dir`` lacks them (the report then says so under the map)."""
    provinces, maritime = (Path(data_dir) / name for name in BOUNDARY_FILES)
    if not provinces.is_file():
        return None
    return Basemap(path=str(provinces), layer=None, lines=str(maritime) if maritime.is_file() else None)

# province code prefix (PP) -> (English name, economic region); DOMAIN.md, four regions.
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("Beijing", "East"), "12": ("Tianjin", "East"), "13": ("Hebei", "East"),
    "14": ("Shanxi", "Central"), "15": ("Inner Mongolia", "West"), "21": ("Liaoning", "Northeast"),
    "22": ("Jilin", "Northeast"), "23": ("Heilongjiang", "Northeast"), "31": ("Shanghai", "East"),
    "32": ("Jiangsu", "East"), "33": ("Zhejiang", "East"), "34": ("Anhui", "Central"),
    "35": ("Fujian", "East"), "36": ("Jiangxi", "Central"), "37": ("Shandong", "East"),
    "41": ("Henan", "Central"), "42": ("Hubei", "Central"), "43": ("Hunan", "Central"),
    "44": ("Guangdong", "East"), "45": ("Guangxi", "West"), "46": ("Hainan", "East"),
    "50": ("Chongqing", "West"), "51": ("Sichuan", "West"), "52": ("Guizhou", "West"),
    "53": ("Yunnan", "West"), "54": ("Tibet", "West"), "61": ("Shaanxi", "West"),
    "62": ("Gansu", "West"), "63": ("Qinghai", "West"), "64": ("Ningxia", "West"),
    "65": ("Xinjiang", "West"), "71": ("Taiwan", "Other"),
    "81": ("Hong Kong", "Hong Kong, Macau and Taiwan"), "82": ("Macau", "Hong Kong, Macau and Taiwan"),
}

#: English labels of the unit kinds, with the Chinese term.
KIND_LABELS: dict[str, str] = {
    "municipality": "municipality (直辖市)",
    "prefecture_city": "prefecture city (地级市)",
    "prefecture": "prefecture (地区)",
    "autonomous_prefecture": "autonomous prefecture (自治州)",
    "league": "league (盟)",
    "province_county": "province-administered county-level unit (省直辖县级)",
    "sar": "special administrative region (特别行政区)",
}

_MUNICIPALITIES = {"11", "12", "31", "50"}


def province_table() -> pd.DataFrame:
    """Province prefix -> English name and region."""
    return pd.DataFrame(
        [(k, v[0], v[1]) for k, v in PROVINCES.items()], columns=["prefix", "province_en", "region"]
    ).set_index("prefix")


def prefecture_kind(codes: pd.Series, names: pd.Series) -> pd.Series:
    """Unit kind of prefecture-level units from the 6-digit code and the Chinese name.

    Examples
    --------
    >>> import pandas as pd
    >>> prefecture_kind(pd.Series(["110100", "230100", "232700", "429004", "152200", "810000"]),
    ...                 pd.Series(["北京市", "哈尔滨市", "大兴安岭地区", "仙桃市", "兴安盟", "香港特别行政区"])).tolist()
    ['municipality', 'prefecture_city', 'prefecture', 'province_county', 'league', 'sar']
    """
    codes = codes.astype(str)
    names = names.astype(str)
    prefix = codes.str[:2]
    conditions = [
        prefix.isin(["81", "82"]).to_numpy(),
        prefix.isin(list(_MUNICIPALITIES)).to_numpy(),
        (codes.str[2:4] == "90").to_numpy(),
        names.str.endswith("自治州").to_numpy(),
        names.str.endswith("地区").to_numpy(),
        names.str.endswith("盟").to_numpy(),
        names.str.endswith("市").to_numpy(),
    ]
    choices = ["sar", "municipality", "province_county", "autonomous_prefecture", "prefecture", "league", "prefecture_city"]
    return pd.Series(np.select(conditions, choices, default="other"), index=codes.index, dtype=object)


def provincial_capitals(unit_ids: pd.Index, parent_ids: pd.Series) -> dict[str, str]:
    """Province code -> code of its capital among ``unit_ids``.

    Every provincial capital (and every municipality's own unit) carries the
    code ``PP0100`` in GB/T 2260 (石家庄 130100, 济南 370100, 乌鲁木齐 650100...),
    so the table follows from the codes; provinces whose ``PP0100`` is not
    among the units are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> provincial_capitals(pd.Index(["370100", "371300", "650100"]), pd.Series(["370000", "370000", "650000"]))
    {'370000': '370100', '650000': '650100'}
    """
    present = set(unit_ids.astype(str))
    capitals = {}
    for parent in sorted(set(parent_ids.dropna().astype(str))):
        candidate = parent[:2] + "0100"
        if parent.endswith("0000") and candidate in present:
            capitals[parent] = candidate
    return capitals
