"""The toneless Mandarin syllables (pinyin, ``v`` for ``ü``) accepted in dictionaries.

Derived from the readings pypinyin knows (its per-character table), so every
syllable here can be produced by :func:`revoice.engine.text.pinyin.to_pinyin`.
"""

from __future__ import annotations

SYLLABLES: frozenset[str] = frozenset(
    (
    "a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong "
    "bu ca cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong "
    "chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai "
    "dan dang dao de dei den deng di dia dian diao die din ding diu dong dou du duan dui dun "
    "duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei "
    "gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng "
    "hm hng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing "
    "jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan "
    "kuang kui kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin "
    "ling liu lo long lou lu luan lun luo lv lve m ma mai man mang mao me mei men meng mi "
    "mian miao mie min ming miu mo mou mu n na nai nan nang nao ne nei nen neng ng ni nia "
    "nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang "
    "pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing "
    "qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo "
    "sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou "
    "shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan "
    "tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang "
    "wei wen weng wo wong wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya "
    "yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen "
    "zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan "
    "zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo "
    ).split()
)
"""Every valid toneless syllable, e.g. ``"zhuang"``, ``"lv"``, ``"er"``."""


_TONE_MARKS: dict[str, tuple[str, int]] = {
    **{c: ("a", i + 1) for i, c in enumerate("āáǎà")},
    **{c: ("e", i + 1) for i, c in enumerate("ēéěè")},
    **{c: ("i", i + 1) for i, c in enumerate("īíǐì")},
    **{c: ("o", i + 1) for i, c in enumerate("ōóǒò")},
    **{c: ("u", i + 1) for i, c in enumerate("ūúǔù")},
    **{c: ("v", i + 1) for i, c in enumerate("ǖǘǚǜ")},
    "ü": ("v", 0),
    "ń": ("n", 2),
    "ň": ("n", 3),
    "ǹ": ("n", 4),
    "ḿ": ("m", 2),
}


def canonical_syllable(syllable: str, *, marks_mean_neutral: bool = False) -> str:
    """One pinyin syllable as ASCII tone3 (``"lv4"``), or ValueError saying what is wrong.

    Accepts tone numbers (``hang2``, ``lü4``, ``lu:4``) and tone marks (``háng``).
    A syllable without number or mark is neutral (tone 5) only when
    ``marks_mean_neutral`` (the entry is written with tone marks).
    """
    raw = syllable.strip().lower().replace("u:", "v")
    if not raw:
        raise ValueError("empty syllable")
    tone = 0
    letters: list[str] = []
    for char in raw:
        if char in _TONE_MARKS:
            base, mark = _TONE_MARKS[char]
            letters.append(base)
            if mark:
                if tone:
                    raise ValueError(f"{syllable!r} has two tone marks")
                tone = mark
        else:
            letters.append(char)
    body = "".join(letters)
    if body[-1:].isdigit():
        if tone:
            raise ValueError(f"{syllable!r} has both a tone mark and a tone number")
        tone, body = int(body[-1]), body[:-1]
        if not 1 <= tone <= 5:
            raise ValueError(f"{syllable!r}: tone number must be 1-5")
    if not tone:
        if not marks_mean_neutral:
            raise ValueError(f"{syllable!r} has no tone (write e.g. {body}1 ... {body}5, or use tone marks)")
        tone = 5
    if body not in SYLLABLES:
        raise ValueError(f"{syllable!r}: {body!r} is not a Mandarin syllable")
    return f"{body}{tone}"
