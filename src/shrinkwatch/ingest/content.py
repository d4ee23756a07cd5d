"""What a column's values say it is: unit codes, place names, and whether a table is Chinese.

A header that no alias knows (``prefid``, ``dm``, ``v1``) can still hold the unit
ids: :func:`key_evidence` recognises 6-digit (or 12-digit) GB/T 2260 codes with
a province prefix, 5-digit US county FIPS codes (a leading zero lost to a number
format counts: ``1001``) and Chinese place names with an administrative suffix
(市, 县, 区, 州, 盟, 旗). Each test is on all non-empty values of the column and
says what it found, so that the ledger can show the evidence. :func:`is_chinese`
decides which reading of a generic header (``pop``) applies.
"""

from __future__ import annotations

import pandas as pd

from shrinkwatch.core.messages import message
from shrinkwatch.datasets.china import PROVINCES
from shrinkwatch.ingest.cells import clean_key

__all__ = ["key_evidence", "is_chinese", "GB_CODE_RE"]

#: A GB/T 2260 code: 6 digits (province, prefecture, county), or 12 (with township and village).
GB_CODE_RE = r"\d{6}(?:\d{6})?"
#: The share of non-empty values a content test needs (a few damaged cells do not hide a code column).
CONTENT_SHARE = 0.98
_FIPS_STATES = frozenset(f"{n:02d}" for n in [*range(1, 57), 60, 66, 69, 72, 78]) - {"03", "07", "14", "43", "52"}
_PLACE_RE = r"[\u4e00-\u9fff·]{2,20}"
_SUFFIX_RE = r"(?:市|县|区|州|盟|旗|地区|自治州|自治县|林区|特区)$"
_HINT_RE = r"(?:id|code|dm|fips|geoid|代码|编码|编号)"


def _text(values: pd.Series) -> pd.Series:
    return clean_key(values.reset_index(drop=True)).dropna()


def gb_code_share(values: pd.Series) -> float:
    """The share of non-empty values that are GB/T 2260 codes with a known province prefix."""
    text = _text(values)
    if text.empty:
        return 0.0
    valid = text.str.fullmatch(GB_CODE_RE) & text.str[:2].isin(list(PROVINCES))
    return float(valid.mean())


def key_evidence(values: pd.Series, header: str) -> tuple[str, str] | None:
    """``(role, evidence)`` when the values of the column headed ``header`` are unit codes or names.

    Examples
    --------
    >>> key_evidence(pd.Series([140100, 140100, 140200, None]), "prefid")
    ('unit_id', "values: 3 of 3 are 6-digit GB/T 2260 codes with a province prefix (header 'prefid')")
    >>> key_evidence(pd.Series(["1001", "01003", "6037"]), "v1")[0]
    'unit_id'
    >>> key_evidence(pd.Series(["太原市", "大同", "阳泉市"]), "地级单位")[0]
    'name'
    >>> key_evidence(pd.Series([123456.0, 654321.0, 1.5]), "x") is None
    True
    """
    text = _text(values)
    n = len(text)
    if n == 0 or text.nunique() < 2:
        return None
    hinted = bool(pd.Series([header]).str.contains(_HINT_RE, case=False, regex=True).iloc[0])
    need = 0.9 if hinted else CONTENT_SHARE
    gb = text.str.fullmatch(GB_CODE_RE) & text.str[:2].isin(list(PROVINCES))
    if gb.mean() >= need:
        return "unit_id", message("ingest.evidence.gb_codes", "en", n=int(gb.sum()), total=n, header=header)
    digits = text.str.fullmatch(r"\d{4,5}")
    padded = text.str.zfill(5)
    fips = digits & padded.str[:2].isin(_FIPS_STATES)
    odd = padded.str[-1].isin(list("13579"))
    if fips.mean() >= need and (hinted or odd[fips].mean() >= 0.8):
        return "unit_id", message("ingest.evidence.fips", "en", n=int(fips.sum()), total=n, header=header)
    place = text.str.fullmatch(_PLACE_RE)
    suffixed = place & text.str.contains(_SUFFIX_RE, regex=True)
    if place.mean() >= 0.9 and suffixed.mean() >= 0.3:
        return "name", message("ingest.evidence.place_names", "en", n=int(place.sum()), total=n,
                               suffixed=int(suffixed.sum()), header=header)
    return None


def is_chinese(codes: pd.Series | None, names: pd.Series | None) -> bool:
    """Whether a table's units are Chinese: most codes are GB/T codes or most names are Chinese."""
    if codes is not None and gb_code_share(codes) >= 0.5:
        return True
    if names is not None:
        text = _text(names)
        if len(text) and text.str.contains(r"[\u4e00-\u9fff]", regex=True).mean() >= 0.5:
            return True
    return False
