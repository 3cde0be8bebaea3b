"""Mandarin normalization rules: phone numbers, dates, times, money, percentages, units, numbers, symbols.

Each rule is a :data:`~revoice.engine.text.rules.Rule`; :data:`ZH_RULES` lists them in the order
:func:`revoice.engine.text.normalize.normalize` runs them on the Mandarin stretches of a line
(English stretches inside a Mandarin line get :data:`~revoice.engine.text.normalize_en.EN_RULES`).
"""

from __future__ import annotations

import re

from revoice.engine.text.normalize_en import acronyms
from revoice.engine.text.numbers import zh_digits, zh_liang, zh_number
from revoice.engine.text.rules import DECIMAL, Abbreviations, Rule, Substitution, substitute

_ZH_NUMERAL = "零一二两三四五六七八九十百千万亿点负"
"""Chinese numerals: a number already written in them is kept as written."""

ZH_EXPANSIONS: dict[str, str] = {
    "CEO": "首席执行官", "CFO": "首席财务官", "CTO": "首席技术官", "GDP": "国内生产总值", "AI": "人工智能",
    "UFO": "不明飞行物", "VIP": "贵宾", "ICU": "重症监护室", "FBI": "联邦调查局", "CIA": "中央情报局",
    "WTO": "世界贸易组织", "UN": "联合国", "EU": "欧盟", "USA": "美国", "UK": "英国", "ATM": "自动取款机",
    "TV": "电视", "GPS": "全球定位系统", "ETA": "预计到达时间", "HR": "人力资源", "IT": "信息技术",
    "DIY": "自己动手", "PPT": "幻灯片", "WHO": "世界卫生组织", "NASA": "美国国家航空航天局",
}
"""Acronyms with their Chinese expansion for ``abbreviations="expand"`` in Mandarin."""

ZH_MEASURE_WORDS = (
    "个 位 只 本 次 天 年 条 张 件 辆 块 瓶 杯 碗 双 对 把 台 部 名 家 层 周 岁 句 点 份 篇 首 场 颗 根 片 节 门 架 斤 "
    "公斤 公里 米 元 毛 角 分 秒 小时 分钟 种 样 遍 趟 下 口 头 匹 座 栋 间 套 支 枝 盒 包 袋 箱 桶 串 群 批 届 项 排 行 "
    "列 集 期 幅 封 所 艘 棵 朵 道 回 声 步 圈 倍 星期 礼拜 克 吨 升 毫升 厘米 毫米 千米 人 辈子 码 扇 顿 堂 副 瓦 千瓦 伏 千 万 亿"
).split()
"""Words after which a bare 2 is read 两."""
_MEASURE_RE = re.compile("|".join(sorted(ZH_MEASURE_WORDS, key=len, reverse=True)))
_NOT_LIANG_AFTER = ("年级", "年代", "点钟点", "号")

_ZH_UNITS: dict[str, str] = {
    "km/h": "公里每小时", "m/s": "米每秒", "km²": "平方公里", "m²": "平方米", "㎡": "平方米", "m³": "立方米",
    "cm²": "平方厘米", "km": "公里", "cm": "厘米", "mm": "毫米", "m": "米", "kg": "公斤", "mg": "毫克", "g": "克",
    "t": "吨", "ml": "毫升", "mL": "毫升", "L": "升", "°C": "摄氏度", "℃": "摄氏度", "°F": "华氏度", "℉": "华氏度",
    "°": "度", "TB": "T", "GB": "G", "MB": "兆", "KB": "K", "kB": "K", "GHz": "吉赫", "MHz": "兆赫", "kHz": "千赫",
    "Hz": "赫兹", "kW": "千瓦", "W": "瓦", "V": "伏", "mAh": "毫安时", "ms": "毫秒", "min": "分钟", "h": "小时",
    "s": "秒", "x": "倍", "X": "倍",
}
_ZH_CURRENCY = {"$": "美元", "US$": "美元", "HK$": "港元", "€": "欧元", "£": "英镑", "₩": "韩元", "₹": "卢比",
                "NT$": "新台币"}
_ZH_SCALES = {"万": "万", "亿": "亿", "千": "千", "百万": "百万", "k": "千", "K": "千", "w": "万", "W": "万"}


def _zh_int(digits: str, following: str = "") -> str:
    """An Arabic integer in Chinese, with 两 where ``following`` (the text after it) wants it."""
    clean = digits.replace(",", "")
    if len(clean) > 1 and clean.startswith("0") or len(clean) > 12:
        return zh_digits(clean)
    words = zh_number(clean)
    if words == "二":
        if _MEASURE_RE.match(following) and not following.startswith(_NOT_LIANG_AFTER):
            return "两"
        return words
    return zh_liang(words)


def _zh_num(text: str, following: str = "") -> str:
    """Integer or decimal (``-3.5``, ``1,000``) in Chinese."""
    negative = text.startswith("-")
    body = text.lstrip("+-")
    if "." in body:
        words = zh_number(body)
    else:
        words = _zh_int(body, following)
    return ("负" if negative else "") + words


def _phone_groups(m: re.Match[str]) -> str:
    """A phone number read digit by digit (1 as 幺), a mobile number in 3-4-4 groups (``+`` is 加)."""
    raw = m.group(0)
    plus = raw.startswith("+")
    parts = [p for p in re.split(r"[^\d]+", raw) if p]
    if len(parts) == 1 and len(parts[0]) == 11:
        digits = parts[0]
        parts = [digits[:3], digits[3:7], digits[7:]]
    return ("加" if plus else "") + " ".join(zh_digits(p, phone=True) for p in parts)


_PHONE_NUMBERS: tuple[Substitution, ...] = (
    (r"(?<![\d.])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\d.])", _phone_groups),
    (r"(?<![\d.])0\d{2,3}-\d{7,8}(?![\d.])", _phone_groups),
    (r"(?<![\d.])[48]00-?\d{3}-?\d{4}(?![\d.])", _phone_groups),
    (r"(打|拨打|拨|电话|热线|号码|号|呼叫)(给|是|为|:|：)?(\s?)(\d{3,6})(?![\d.])",
     lambda m: m.group(1) + (m.group(2) or "") + m.group(3) + zh_digits(m.group(4), phone=True)),
    (r"(?<=[A-Za-z])(\d{3,})|(?<![\d.,])(\d{9,})(?![\d.,])", lambda m: zh_digits(m.group(0), phone=True)),
    (r"(?<![\d.])(\d{3,})(?=房间|号房|房|室|路公交|路车|次列车|次航班)", lambda m: zh_digits(m.group(1), phone=True)),
    (r"([A-Za-z]{1,2})(\d{3,4})(?=次列车|航班)", lambda m: m.group(1) + zh_digits(m.group(2), phone=True)),
)
"""Phone, hotline, room, bus, train and flight numbers: digit by digit."""


def _zh_phone(text: str, mode: Abbreviations) -> str:
    return substitute(text, _PHONE_NUMBERS)


def _year_month_day(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{zh_digits(year)}年{zh_number(str(month))}月{zh_number(str(day))}{m.group(4) or '日'}"


_DATES: tuple[Substitution, ...] = (
    (r"(?<![\d.])(\d{4})\s?[-~～—–至到]\s?(\d{4})(?=\s?年)",
     lambda m: f"{zh_digits(m.group(1))}到{zh_digits(m.group(2))}"),
    (r"(?<![\d.])(\d{4})\s?[-/.年]\s?(\d{1,2})\s?[-/.月]\s?(\d{1,2})\s?([日号])?(?![\d.])", _year_month_day),
    (r"(?<![\d.])(\d{4})\s?[-/.年]\s?(\d{1,2})\s?月",
     lambda m: f"{zh_digits(m.group(1))}年{zh_number(m.group(2))}月" if 1 <= int(m.group(2)) <= 12 else m.group(0)),
    (r"(?<![\d.])(\d{4})(?=\s?年)", lambda m: zh_digits(m.group(1))),
    (r"['’](\d{2})(?=\s?年)", lambda m: zh_digits(m.group(1))),
    (r"(?<![\d.])(\d{1,2})月(\d{1,2})([日号])",
     lambda m: f"{zh_number(m.group(1))}月{zh_number(m.group(2))}{m.group(3)}"
     if 1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31 else m.group(0)),
)
"""Years (digit by digit), year-month-day, year-month and month-day dates."""


def _zh_dates(text: str, mode: Abbreviations) -> str:
    return substitute(text, _DATES)


def _zh_times(text: str, mode: Abbreviations) -> str:
    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 24 or minute > 59:
            return m.group(0)
        words = _zh_int(str(hour), "点") + "点"
        if minute:
            words += ("零" if minute < 10 else "") + zh_number(str(minute)) + "分"
        if m.group(3):
            seconds = int(m.group(3))
            words += ("零" if 0 < seconds < 10 and not minute else "") + zh_number(str(seconds)) + "秒"
        return words

    return re.sub(r"(?<![\d.:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])", clock, text)


def _zh_money(text: str, mode: Abbreviations) -> str:
    def yuan(m: re.Match[str]) -> str:
        amount, scale = m.group(1).replace(",", ""), m.group(2)
        tail = m.group(3) or ""
        if scale:
            return _zh_num(amount, scale) + _ZH_SCALES[scale] + "元"
        whole, _, cents = amount.partition(".")
        if cents and len(cents) <= 2 and not tail:
            jiao = int(cents[0])
            fen = int(cents[1]) if len(cents) == 2 else 0
            parts = _zh_int(whole, "元") + "元" if int(whole) else ""
            if jiao:
                parts += zh_number(str(jiao)) + "角"
            elif fen and parts:
                parts += "零"
            if fen:
                parts += zh_number(str(fen)) + "分"
            return parts or "零元"
        return _zh_num(amount, "元") + "元"

    text = re.sub(rf"[¥￥]\s?({DECIMAL})(万|亿|千)?(元)?", yuan, text)

    def foreign(m: re.Match[str]) -> str:
        symbol, amount, scale = m.group(1), m.group(2), m.group(3)
        name = _ZH_CURRENCY[symbol]
        scale_word = _ZH_SCALES.get(scale or "", "")
        if scale == "million":
            scale_word = "百万"
        return _zh_num(amount, "元") + scale_word + name

    return re.sub(rf"(US\$|HK\$|NT\$|\$|€|£|₩|₹)\s?({DECIMAL})(万|亿|千|百万|million|k|K)?", foreign, text)


def _zh_percent(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        number, sign = m.group(1), m.group(2)
        prefix = "千分之" if sign == "‰" else "百分之"
        if number.startswith("-"):
            return "负" + prefix + _zh_num(number[1:])
        return prefix + _zh_num(number)

    return re.sub(rf"(?<![A-Za-z0-9_.])(-?{DECIMAL})\s?([%‰])", sub, text)


def _zh_ranges(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        first, pct1, second, pct2 = m.group(1), m.group(2), m.group(3), m.group(4)
        following = text[m.end():]
        if pct1 or pct2:
            return f"百分之{_zh_num(first)}到百分之{_zh_num(second)}"
        a, b = first.replace(",", ""), second.replace(",", "")
        if re.fullmatch(r"\d{4}", a) and re.fullmatch(r"\d{4}", b) and following.lstrip().startswith("年"):
            return f"{zh_digits(a)}到{zh_digits(b)}"
        return f"{_zh_num(first, following)}到{_zh_num(second, following)}"

    return re.sub(rf"(?<![A-Za-z0-9_.:/-])({DECIMAL})(%?)\s?[-~～—–]{{1,2}}\s?({DECIMAL})(%?)(?![\d.:/-])", sub, text)


def _zh_units(text: str, mode: Abbreviations) -> str:
    units = sorted(_ZH_UNITS, key=len, reverse=True)
    unit_re = "|".join(re.escape(u) for u in units)

    def sub(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        name = _ZH_UNITS[unit]
        if name in ("摄氏度", "华氏度", "度") and number.startswith("-"):
            return "零下" + _zh_num(number[1:], name) + name
        if number[0] in _ZH_NUMERAL:
            return number + name
        return _zh_num(number, name) + name

    return re.sub(rf"(?<![A-Za-z0-9_.])(-?{DECIMAL}|[{_ZH_NUMERAL}]+)\s?({unit_re})(?![A-Za-z²³])", sub, text)


def _ordinal(m: re.Match[str]) -> str:
    return "第" + _zh_num(m.group(1))


_ORDINALS: tuple[Substitution, ...] = (
    (r"第\s?(\d+)", _ordinal),
    (r"(?<![A-Za-z])[Nn][Oo]\.?\s?(\d+)", _ordinal),
    (r"(?<![A-Za-z0-9_.])(\d+)(?:st|nd|rd|th)(?![A-Za-z])", _ordinal),
)
"""第3, No. 3 and 3rd: 第三."""


def _zh_ordinals(text: str, mode: Abbreviations) -> str:
    return substitute(text, _ORDINALS)


def _zh_fractions(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        numerator, denominator = int(m.group(1)), int(m.group(2))
        if not 0 < numerator < denominator:
            return m.group(0)
        return f"{zh_number(str(denominator))}分之{zh_number(str(numerator))}"

    return re.sub(r"(?<![\d/.])(\d{1,3})/(\d{1,3})(?![\d/.])", sub, text)


def _zh_numbers(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"(?<![A-Za-z0-9_.)\]])-(\d+(?:\.\d+)?)(?=度)", lambda m: "零下" + _zh_num(m.group(1), "度"), text)
    text = re.sub(r"(?<![A-Za-z0-9_.)\]])-(?=\d)", "负", text)

    def sub(m: re.Match[str]) -> str:
        return _zh_num(m.group(0), text[m.end():].lstrip())

    return re.sub(DECIMAL, sub, text)


_NUMERAL_CLASS = f"[{_ZH_NUMERAL}]"
_SYMBOLS: tuple[Substitution, ...] = (
    (rf"(?<={_NUMERAL_CLASS})\s*\+\s*(?={_NUMERAL_CLASS})", "加"),
    (rf"(?<={_NUMERAL_CLASS})\s*[×*]\s*(?={_NUMERAL_CLASS})", "乘"),
    (rf"(?<={_NUMERAL_CLASS})\s*÷\s*(?={_NUMERAL_CLASS})", "除以"),
    (r"\s*=\s*", "等于"),
    (rf"(?<={_NUMERAL_CLASS})\s*[:：]\s*(?={_NUMERAL_CLASS})", "比"),
    (r"\s*&\s*", "和"),
    (rf"(?<={_NUMERAL_CLASS})\s*#", "号"),
    (r"(?<=[A-Za-z])-(?=\S)|(?<=\S)-(?=[A-Za-z])", " "),
    (r"\s*%", "百分号"),
    (r"(?<=[A-Za-z0-9])@(?=[A-Za-z0-9])", " at "),
)
"""Arithmetic between numerals, ratios, &, #, %, @ and hyphens next to Latin letters."""


def _zh_symbols(text: str, mode: Abbreviations) -> str:
    return substitute(text, _SYMBOLS)


def _zh_acronyms(text: str, mode: Abbreviations) -> str:
    return acronyms(text, mode, ZH_EXPANSIONS)


ZH_RULES: tuple[tuple[str, Rule], ...] = (
    ("zh.phone", _zh_phone),
    ("zh.dates", _zh_dates),
    ("zh.times", _zh_times),
    ("zh.ranges", _zh_ranges),
    ("zh.money", _zh_money),
    ("zh.percent", _zh_percent),
    ("zh.units", _zh_units),
    ("zh.ordinals", _zh_ordinals),
    ("zh.fractions", _zh_fractions),
    ("zh.numbers", _zh_numbers),
    ("zh.symbols", _zh_symbols),
    ("zh.acronyms", _zh_acronyms),
)
"""The Mandarin rules, named, in the order they run."""

