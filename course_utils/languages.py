"""The course's languages, one table for the book's editions, its catalogues and the students' notebooks.

English is the source; translators write the Simplified Chinese catalogues (``book/locales/zh_CN``); Traditional
Chinese is converted from them, never edited by hand: OpenCC's ``s2twp`` (Simplified to Taiwan usage, phrase by
phrase: 软件 -> 軟體, 内存 -> 記憶體), then the course's own terms (`TAIWAN_TERMS`).
"""
import functools

#: Every language, English first: its name in itself (the book's link to an edition), and the short
#: name a phone's header shows.
LANGUAGES = {"en": ("English", "EN"), "zh_CN": ("简体中文", "简"), "zh_TW": ("繁體中文", "繁")}
SOURCE_LANGUAGE = "zh_CN"   # the catalogues translators write

#: Where OpenCC's Taiwan phrases (s2twp) name a term of this course otherwise than Taiwan's
#: machine-learning texts and the lecture do: its computing vocabulary turns a parameter into a
#: function argument (引數), a local minimum into a "regional" one (區域性), and doubles 最 in
#: 最优化. Applied after the conversion, to the converted text.
TAIWAN_TERMS = {
    "引數": "參數",            # 参数, 超参数: a model's parameters, not a function's arguments
    "最最佳化": "最佳化",       # 最优化: s2twp maps 优化 to 最佳化 inside it as well
    "區域性": "局部",          # 局部最小值/最大值
    "全域性": "全域",          # 全局最小值
    "損失函式": "損失函數",     # the maths function keeps 函數 (函式 is a program's function)
    "啟用函式": "激活函數",
    "sigmoid 函式": "sigmoid 函數",
}


def traditional_chinese(text):
    """``text`` (Simplified Chinese) in Traditional Chinese as written in Taiwan: OpenCC's
    phrase-level ``s2twp`` conversion, then the course's own terms (`TAIWAN_TERMS`)."""
    text = _s2twp()(text)
    for converted, term in TAIWAN_TERMS.items():
        text = text.replace(converted, term)
    return text


@functools.lru_cache(maxsize=None)
def _s2twp():
    import opencc

    return opencc.OpenCC("s2twp").convert


#: The languages converted from `SOURCE_LANGUAGE`'s catalogues: language -> the conversion of a text.
CONVERTED = {"zh_TW": traditional_chinese}
