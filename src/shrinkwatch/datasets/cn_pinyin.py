"""English names of Chinese administrative units: Hanyu Pinyin by the rules for place names.

The rules (GB/T 16159 and the practice of China's official English names):

* pinyin without tones, the syllables of one name joined (哈尔滨 -> "Harbin", 黑龙江 -> "Heilongjiang"),
  the first letter capitalised, ü written ``u`` so that every name is ASCII (吕梁 -> "Luliang");
* an apostrophe before a syllable that starts with a, o or e inside a name (西安 -> "Xi'an", 六安 -> "Lu'an");
* the administrative suffix dropped for a city (市) and translated otherwise (县 County, 区 District,
  旗 Banner, 盟 League, 地区 Prefecture, 自治州 Autonomous Prefecture, 经济技术开发区 Economic and
  Technological Development Zone...), with the ethnic groups of an autonomous unit in English
  (延边朝鲜族自治州 -> "Yanbian Korean Autonomous Prefecture");
* the readings of characters in place names where they differ from the common word (重庆 Chongqing, 都 du,
  长 chang, 朝阳 Chaoyang, 六合 Luhe, 蚌埠 Bengbu, 洪洞 Hongtong, 单县 Shanxian...): pypinyin's phrase
  dictionary decides most, :data:`PHRASE_READINGS` and :data:`CHARACTER_READINGS` the rest;
* the official names in the languages of the ethnic minorities where they are the established English names
  (:data:`OFFICIAL_NAMES`: 呼和浩特 Hohhot, 乌鲁木齐 Urumqi, 拉萨 Lhasa, 喀什 Kashgar, 日喀则 Xigaze,
  大兴安岭 Da Hinggan Ling...).

:func:`romanize` is what the China adapters and ``ingest`` use for ``name_en``; every name is computed
once (cached).

Examples
--------
>>> [romanize_name(n) for n in ["哈尔滨市", "西安市", "重庆市", "大兴安岭地区", "六安市", "单县"]]
['Harbin', "Xi'an", 'Chongqing', 'Da Hinggan Ling Prefecture', "Lu'an", 'Shan County']
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

__all__ = ["romanize", "romanize_name", "OFFICIAL_NAMES", "PHRASE_READINGS", "CHARACTER_READINGS", "has_cjk"]

_CJK = re.compile(r"[\u3400-\u9fff]")

#: Established English names that are not the Mandarin pinyin of the Chinese name (minority-language names,
#: conventional spellings), by the name without its administrative suffix.
OFFICIAL_NAMES: dict[str, str] = {
    "哈尔滨": "Harbin", "齐齐哈尔": "Qiqihar", "大兴安岭": "Da Hinggan Ling", "呼和浩特": "Hohhot",
    "鄂尔多斯": "Ordos", "呼伦贝尔": "Hulunbuir", "巴彦淖尔": "Bayannur", "乌兰察布": "Ulanqab",
    "锡林郭勒": "Xilingol", "阿拉善": "Alxa", "乌兰浩特": "Ulanhot", "二连浩特": "Erenhot",
    "锡林浩特": "Xilinhot", "霍林郭勒": "Holingol", "阿尔山": "Arxan", "额尔古纳": "Ergun", "海拉尔": "Hailar",
    "克什克腾": "Hexigten", "鄂温克": "Evenki", "鄂伦春": "Oroqen", "莫力达瓦": "Morin Dawa",
    "乌鲁木齐": "Urumqi", "克拉玛依": "Karamay", "吐鲁番": "Turpan", "博尔塔拉": "Bortala",
    "巴音郭楞": "Bayingolin", "阿克苏": "Aksu", "克孜勒苏": "Kizilsu", "喀什": "Kashgar", "和田": "Hotan",
    "伊犁": "Ili", "阿勒泰": "Altay", "阿拉尔": "Aral", "图木舒克": "Tumxuk", "可克达拉": "Kokdala",
    "库尔勒": "Korla", "阿图什": "Artux", "奎屯": "Kuytun", "塔什库尔干": "Taxkorgan", "霍尔果斯": "Khorgas",
    "拉萨": "Lhasa", "日喀则": "Xigaze", "昌都": "Qamdo", "林芝": "Nyingchi", "那曲": "Nagqu", "阿里": "Ngari",
    "果洛": "Golog", "格尔木": "Golmud", "阿坝": "Ngawa", "甘孜": "Garze", "马尔康": "Barkam", "迪庆": "Deqen",
    "香格里拉": "Shangri-La", "香港": "Hong Kong", "澳门": "Macau",
    # Mongol banners and counties
    "科尔沁": "Horqin", "巴林": "Bairin", "乌拉特": "Urad", "喀喇沁": "Harqin", "阿鲁科尔沁": "Ar Horqin",
    "翁牛特": "Ongniud", "扎鲁特": "Jarud", "扎赉特": "Jalaid", "陈巴尔虎": "Old Barag", "新巴尔虎": "New Barag",
    "鄂托克": "Otog", "杭锦": "Hanggin", "乌审": "Uxin", "伊金霍洛": "Ejin Horo", "准格尔": "Jungar",
    "达拉特": "Dalad", "苏尼特": "Sonid", "阿巴嘎": "Abag", "东乌珠穆沁": "East Ujimqin",
    "西乌珠穆沁": "West Ujimqin", "太仆寺": "Taibus", "额济纳": "Ejina", "阿荣": "Arun", "土默特": "Tumed",
    "达尔罕茂明安": "Darhan Muminggan", "杜尔伯特": "Dorbod", "前郭尔罗斯": "Qian Gorlos", "库伦": "Hure",
    "察哈尔": "Chahar",
}

#: Full names whose English is not their parts' (兴安盟 is Hinggan; 兴安县 in Guangxi is Xing'an).
_OFFICIAL_FULL = {"兴安盟": "Hinggan League", "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macau"}

#: Readings of character pairs in place names that pypinyin's phrase dictionary reads otherwise.
PHRASE_READINGS: dict[str, tuple[str, ...]] = {
    "长子": ("zhang", "zi"), "乐清": ("yue", "qing"), "乐亭": ("lao", "ting"), "六合": ("lu", "he"),
    "六安": ("lu", "an"), "洪洞": ("hong", "tong"), "浚县": ("xun", "xian"), "荥经": ("ying", "jing"),
    "筠连": ("jun", "lian"), "繁峙": ("fan", "shi"), "涡阳": ("guo", "yang"), "中牟": ("zhong", "mou"),
    "单县": ("shan", "xian"), "蚌埠": ("beng", "bu"), "番禺": ("pan", "yu"), "蔚县": ("yu", "xian"),
    "尉犁": ("yu", "li"), "铅山": ("yan", "shan"), "大埔": ("da", "bu"), "吴堡": ("wu", "bu"),
    "寺堡": ("si", "bu"), "东阿": ("dong", "e"), "伽师": ("jia", "shi"), "莎车": ("sha", "che"),
    "牟平": ("mu", "ping"), "牟定": ("mou", "ding"), "漯河": ("luo", "he"), "覃塘": ("qin", "tang"),
    "长寿": ("chang", "shou"),
}

#: Readings of single characters that hold in (nearly) every place name, whatever the common word says.
CHARACTER_READINGS: dict[str, str] = {"都": "du", "长": "chang", "朝": "chao", "什": "shi", "乐": "le", "蚌": "beng"}

#: Ethnic groups named in autonomous units, in English (the official names of the autonomous units).
_ETHNIC = {
    "蒙古": "Mongol", "回": "Hui", "藏": "Tibetan", "维吾尔": "Uygur", "苗": "Miao", "彝": "Yi", "壮": "Zhuang",
    "布依": "Bouyei", "朝鲜": "Korean", "满": "Manchu", "侗": "Dong", "瑶": "Yao", "白": "Bai", "土家": "Tujia",
    "哈尼": "Hani", "哈萨克": "Kazak", "傣": "Dai", "黎": "Li", "傈僳": "Lisu", "佤": "Va", "畲": "She",
    "拉祜": "Lahu", "水": "Sui", "东乡": "Dongxiang", "纳西": "Naxi", "景颇": "Jingpo", "柯尔克孜": "Kirgiz",
    "土": "Tu", "达斡尔": "Daur", "仫佬": "Mulao", "羌": "Qiang", "布朗": "Blang", "撒拉": "Salar",
    "毛南": "Maonan", "仡佬": "Gelao", "锡伯": "Xibe", "阿昌": "Achang", "普米": "Pumi", "塔吉克": "Tajik",
    "怒": "Nu", "乌孜别克": "Uzbek", "俄罗斯": "Russian", "鄂温克": "Evenki", "德昂": "De'ang", "保安": "Bonan",
    "裕固": "Yugur", "京": "Gin", "塔塔尔": "Tatar", "独龙": "Derung", "鄂伦春": "Oroqen", "赫哲": "Hezhen",
    "门巴": "Monba", "珞巴": "Lhoba", "基诺": "Jino", "各": "Multi-ethnic",
}
_ETHNIC_RE = "|".join(sorted(map(re.escape, _ETHNIC), key=len, reverse=True))
_LONG_ETHNIC_RE = "|".join(sorted((re.escape(k) for k in _ETHNIC if len(k) > 1), key=len, reverse=True))
# every group but the last ends in 族; the last may drop it when its name has two or more characters (蒙古自治州)
_AUTONOMOUS = re.compile(rf"^(?P<base>.*?)(?P<groups>(?:(?:{_ETHNIC_RE})族)*(?:(?:{_ETHNIC_RE})族|(?:{_LONG_ETHNIC_RE})))"
                         rf"(?P<suffix>自治州|自治县|自治旗|区)$")
_GROUP = re.compile(rf"({_ETHNIC_RE})族?")

#: Administrative suffixes, longest first: the Chinese and its English ("" drops it).
_SUFFIXES: tuple[tuple[str, str], ...] = tuple(sorted({
    "特别行政区": "Special Administrative Region", "经济技术开发区": "Economic and Technological Development Zone",
    "高新技术产业开发区": "High-tech Industrial Development Zone", "高技术产业开发区": "High-tech Industrial Development Zone",
    "高新技术开发区": "High-tech Development Zone", "经济开发区": "Economic Development Zone",
    "工业园区": "Industrial Park", "化工园区": "Chemical Industry Park", "创意园区": "Creative Park", "城乡一体化示范区": "Urban-Rural Integration Demonstration Zone",
    "示范区": "Demonstration Zone", "综合实验区": "Comprehensive Experimental Zone", "管理区": "Management Area",
    "聚集区": "Cluster Zone", "风景名胜区": "Scenic Area", "新区": "New Area", "矿区": "Mining District",
    "林区": "Forestry District", "特区": "Special District", "行政委员会": "Administrative Committee",
    "管委会": "Administrative Committee", "新城": "New Town", "自治州": "Autonomous Prefecture",
    "自治县": "Autonomous County", "自治旗": "Autonomous Banner", "自治区": "Autonomous Region", "地区": "Prefecture",
    "省": "", "盟": "League", "县": "County", "区": "District", "旗": "Banner", "市": "",
}.items(), key=lambda item: len(item[0]), reverse=True))

#: Position words of a banner's name (科尔沁右翼中旗 Horqin Right Wing Middle Banner), outermost last.
_POSITIONS = (("左翼", "Left Wing"), ("右翼", "Right Wing"), ("联合", "United"), ("左", "Left"), ("右", "Right"),
              ("前", "Front"), ("中", "Middle"), ("后", "Rear"))

#: Province names a statistical zone's name may start with (河北唐山海港经济开发区): written as a word of their own.
_PROVINCE_WORDS = ("内蒙古", "黑龙江", "河北", "山西", "辽宁", "吉林", "江苏", "浙江", "安徽", "福建", "江西", "山东",
                   "河南", "湖北", "湖南", "广东", "广西", "海南", "四川", "贵州", "云南", "西藏", "陕西", "甘肃",
                   "青海", "宁夏", "新疆")
#: Provinces whose pinyin is not their English name (Shaanxi is spelled apart from Shanxi).
_PROVINCE_ENGLISH = {"陕西": "Shaanxi", "内蒙古": "Nei Mongol", "西藏": "Xizang"}


def has_cjk(text: object) -> bool:
    """True when ``text`` holds a Chinese character."""
    return isinstance(text, str) and _CJK.search(text) is not None


def _syllables(text: str) -> list[str]:
    """Toneless pinyin syllables of ``text``, one per character (other characters kept as they are)."""
    from pypinyin import Style, lazy_pinyin  # deferred: its dictionaries load in ~0.5 s, only for Chinese names

    out: list[str] = []
    start = 0
    phrases = sorted(PHRASE_READINGS, key=len, reverse=True)
    while start < len(text):
        found = next((p for p in phrases if text.startswith(p, start)), None)
        if found is not None:
            out.extend(PHRASE_READINGS[found])
            start += len(found)
            continue
        end = start
        while end < len(text) and not any(text.startswith(p, end) for p in phrases):
            end += 1
        chunk = text[start:end]
        readings = lazy_pinyin(chunk, style=Style.NORMAL, v_to_u=True, errors="default")
        if len(readings) == len(chunk):  # one reading per character: apply the place-name readings
            readings = [CHARACTER_READINGS.get(char, reading) for char, reading in zip(chunk, readings)]
        out.extend(readings)
        start = end
    return [s.replace("ü", "u") for s in out]


def _word(text: str) -> str:
    """One word: the syllables joined, an apostrophe before a/o/e inside it, capitalised."""
    if text in OFFICIAL_NAMES:
        return OFFICIAL_NAMES[text]
    if text in _PROVINCE_ENGLISH:
        return _PROVINCE_ENGLISH[text]
    syllables = [s for s in _syllables(text) if s.strip()]
    joined = ""
    for syllable in syllables:
        if joined and syllable[:1] in ("a", "o", "e") and joined[-1:].isalpha():
            joined += "'"
        joined += syllable
    return joined[:1].upper() + joined[1:]


def _words(base: str, parent: str = "", context: str = "") -> list[str]:
    """The words of a name without its suffix: a leading province, the parent's name and a city (唐山市...)
    written apart, and a banner's position words (左翼, 中...) in English. ``context`` is the whole name, for the
    reading of a one-character base (单县 Shan)."""
    if len(base) == 1 and context:
        return [_syllables(context)[0].capitalize()]
    words: list[str] = []
    for province in _PROVINCE_WORDS:
        if base.startswith(province) and len(base) - len(province) >= 2:
            words.append(province)
            base = base[len(province):]
            break
    head, city, rest = base.partition("市")
    stem = re.sub(r"(市|地区|盟|自治州)$", "", parent)
    if city and head:
        words.append(head)
        base = rest
    elif len(stem) >= 2 and base.startswith(stem) and len(base) - len(stem) >= 2:
        words.append(stem)
        base = base[len(stem):]
    positions: list[str] = []
    while (context.endswith("旗") or "翼" in base) and base not in OFFICIAL_NAMES:
        found = next(((c, e) for c, e in _POSITIONS if base.endswith(c) and len(base) > len(c) + 1), None)
        if found is None:
            break
        positions.insert(0, found[1])
        base = base[: -len(found[0])]
    words.append(base)
    return [*(_word(w) for w in words if w), *positions]


@lru_cache(maxsize=None)
def romanize_name(name: str, parent: str = "") -> str:
    """The English name of one Chinese unit name (see the module's rules); a name with no Chinese is returned
    stripped as it is. ``parent`` (the parent unit's Chinese name) lets a statistical zone named after its city
    (唐山芦台经济开发区) write the city as a word of its own."""
    name, parent = name.strip(), parent.strip()
    if not has_cjk(name):
        return name
    if name in _OFFICIAL_FULL:
        return _OFFICIAL_FULL[name]
    autonomous = _AUTONOMOUS.match(name)
    if autonomous and (autonomous["suffix"] != "区" or autonomous["groups"].endswith("族")):
        groups = [_ETHNIC[g] for g in _GROUP.findall(autonomous["groups"])]
        suffix = {"自治州": "Autonomous Prefecture", "自治县": "Autonomous County", "自治旗": "Autonomous Banner",
                  "区": "District"}[autonomous["suffix"]]
        base = autonomous["base"]
        ethnic = groups[0] if len(groups) == 1 else ", ".join(groups[:-1]) + " and " + groups[-1]
        if not base:  # 东乡族自治县, 鄂温克族自治旗: the place is named after its people
            return f"{_word(autonomous['groups'].removesuffix('族'))} {suffix}"
        return " ".join([*_words(base, parent, name), ethnic, suffix])
    for chinese, english in _SUFFIXES:
        if name.endswith(chinese) and len(name) > len(chinese):
            base = name[: -len(chinese)]
            if chinese == "市" and len(base) == 1:  # a one-character city keeps its suffix as a syllable
                return _word(name)
            return " ".join([*_words(base, parent, name), *([english] if english else [])])
    return " ".join(_words(name, parent, name))


def romanize(names: pd.Series, parents: pd.Series | None = None) -> pd.Series:
    """``name_en`` for a column of names (``parents``: their parents' Chinese names, aligned): the romanised
    Chinese names, missing for missing or non-Chinese names (each distinct name and parent romanised once)."""
    text = names.astype("string")
    chinese = text.str.contains(_CJK.pattern, regex=True).fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=names.index, dtype="object")
    if chinese.any():
        parent = (pd.Series("", index=names.index, dtype="string") if parents is None
                  else pd.Series(parents.to_numpy(), index=names.index).astype("string").fillna(""))
        pairs = pd.MultiIndex.from_arrays([text[chinese].to_numpy(), parent[chinese].to_numpy()])
        distinct = pairs.unique()
        english = pd.Series([romanize_name(str(n), str(p)) for n, p in distinct], index=distinct)
        out[chinese] = english.reindex(pairs).to_numpy()
    return out
