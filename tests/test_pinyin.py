"""English names of Chinese units (``name_en``): pinyin by the rules for place names, checked on every shipped name."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from shrinkwatch.datasets.cn_pinyin import romanize, romanize_name

#: Established English names, from the cities' and governments' own usage (not from this code).
KNOWN = {
    "北京市": "Beijing", "上海市": "Shanghai", "天津市": "Tianjin", "重庆市": "Chongqing", "哈尔滨市": "Harbin",
    "西安市": "Xi'an", "呼和浩特市": "Hohhot", "乌鲁木齐市": "Urumqi", "拉萨市": "Lhasa", "厦门市": "Xiamen",
    "蚌埠市": "Bengbu", "六安市": "Lu'an", "长沙市": "Changsha", "长春市": "Changchun", "长治市": "Changzhi",
    "日喀则市": "Xigaze", "喀什地区": "Kashgar Prefecture", "大兴安岭地区": "Da Hinggan Ling Prefecture",
    "齐齐哈尔市": "Qiqihar", "鄂尔多斯市": "Ordos", "呼伦贝尔市": "Hulunbuir", "吕梁市": "Luliang",
    "延安市": "Yan'an", "泰安市": "Tai'an", "淮安市": "Huai'an", "吉安市": "Ji'an", "雅安市": "Ya'an",
    "马鞍山市": "Ma'anshan", "朝阳市": "Chaoyang", "成都市": "Chengdu", "漯河市": "Luohe", "亳州市": "Bozhou",
    "丽水市": "Lishui", "台州市": "Taizhou", "济南市": "Jinan", "广州市": "Guangzhou", "兴安盟": "Hinggan League",
    "锡林郭勒盟": "Xilingol League", "阿拉善盟": "Alxa League", "克拉玛依市": "Karamay", "吐鲁番市": "Turpan",
    "林芝市": "Nyingchi", "昌都市": "Qamdo", "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macau",
    "延边朝鲜族自治州": "Yanbian Korean Autonomous Prefecture",
    "黔东南苗族侗族自治州": "Qiandongnan Miao and Dong Autonomous Prefecture",
}

#: County-level names whose characters are read otherwise in common words.
KNOWN_COUNTIES = {
    "单县": "Shan County", "长子县": "Zhangzi County", "洪洞县": "Hongtong County", "乐亭县": "Laoting County",
    "乐清市": "Yueqing", "番禺区": "Panyu District", "六合区": "Luhe District", "东阿县": "Dong'e County",
    "都江堰市": "Dujiangyan", "丰都县": "Fengdu County", "蔚县": "Yu County", "荥经县": "Yingjing County",
    "什邡市": "Shifang", "中牟县": "Zhongmou County", "涡阳县": "Guoyang County", "鄂温克族自治旗": "Evenki Autonomous Banner",
    "科尔沁右翼中旗": "Horqin Right Wing Middle Banner", "长白朝鲜族自治县": "Changbai Korean Autonomous County",
    "东乡族自治县": "Dongxiang Autonomous County", "下花园区": "Xiahuayuan District",
}


@pytest.mark.parametrize(("chinese", "english"), sorted({**KNOWN, **KNOWN_COUNTIES}.items()))
def test_known_english_names(chinese, english):
    assert romanize_name(chinese) == english


def test_rules_on_hand_made_names():
    # apostrophe only before a, o, e inside a word; none at the start; pinyin ü written u
    assert romanize_name("西安") == "Xi'an" and romanize_name("安阳市") == "Anyang"
    assert romanize_name("女") == "Nu"
    # a statistical zone named after its city: the city is a word of its own, given the parent
    assert romanize_name("唐山芦台经济开发区", "唐山市") == "Tangshan Lutai Economic Development Zone"
    assert romanize_name("秦皇岛市经济技术开发区") == "Qinhuangdao Economic and Technological Development Zone"
    # not Chinese: returned as it is; romanize leaves it missing
    assert romanize_name(" Springfield ") == "Springfield"
    out = romanize(pd.Series(["哈尔滨市", None, "Detroit", "<script>"]))
    assert out.iloc[0] == "Harbin" and out.iloc[1:].isna().all()


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["cn-prefecture-census", "cn-county-census"])
def test_every_shipped_chinese_unit_has_an_ascii_english_name(data_dir, dataset):
    from shrinkwatch import load

    units = load(dataset, data_dir).units
    assert len(units) == {"cn-prefecture-census": 369, "cn-county-census": 2948}[dataset]
    english = units["name_en"].astype("string")
    assert english.notna().all() and (english.str.len() > 0).all()
    bad = english[~english.str.fullmatch(r"[A-Z][A-Za-z' ,-]*")]
    assert bad.empty, bad.head(10).to_dict()
    named = dict(zip(units["name"], english))
    expected = KNOWN if dataset == "cn-prefecture-census" else KNOWN_COUNTIES
    wrong = {k: (named[k], v) for k, v in expected.items() if k in named and named[k] != v}
    assert not wrong, wrong
    assert sum(k in named for k in expected) >= (40 if dataset == "cn-prefecture-census" else 15)
    # no syllable-less name and no leftover Chinese
    assert not english.str.contains(r"[\u4e00-\u9fff]").any()
    assert not any(re.search(r"\s{2,}", name) for name in english)


def test_ingested_chinese_names_get_pinyin(tmp_path):
    from shrinkwatch.ingest import ingest

    source = tmp_path / "yearbook.csv"
    source.write_text("code,city,year,常住人口(万人)\n230100,哈尔滨市,2010,1063.6\n230100,哈尔滨市,2020,1001.0\n"
                      "610100,西安市,2010,846.8\n610100,西安市,2020,1295.3\n", encoding="utf-8")
    panel = ingest([source]).panel
    assert panel.units.loc["230100", "name_en"] == "Harbin"
    assert panel.units.loc["610100", "name_en"] == "Xi'an"
