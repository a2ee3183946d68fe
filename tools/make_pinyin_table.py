"""Write the guard page's pinyin table, ``edge/web/static/pinyin-table.js``, for the on-screen keyboard.

The table maps each toneless pinyin syllable (``ü`` typed as ``v``: ``nv`` 女, ``lv`` 绿) to the characters read
that way, most likely first, and lists common surnames; the keyboard (``edge/web/static/keyboard.js``) loads it from
the gate itself: no network, no CDN. ``pypinyin`` and ``jieba`` are in the dev extra; the generated file is
committed, so a gate needs nothing of this at run time::

    .venv/bin/python tools/make_pinyin_table.py            # rewrite the table
    .venv/bin/python tools/make_pinyin_table.py --check    # exit 1 when the committed table is out of date

Where the data come from, and their licences:

- Readings: ``pypinyin`` 0.55 (MIT licence; its ``pinyin_dict`` is built from the Unicode Unihan database,
  Unicode licence, and its ``phrases_dict`` from public word lists).
- The characters offered: GB2312 (GB/T 2312-1980, a national standard; its level 1 is the 3,755 characters in
  common use, level 2 the 3,008 less common ones) and then the other CJK characters of GBK, as Python's own
  ``gb2312``/``gbk`` codecs encode them, so rarer characters of people's names are there too (at the end).
- Order within a syllable: level 1 before level 2 before the rest; within a level, the characters used most often
  with that reading first, by the word frequencies of ``jieba`` 0.42 (MIT licence; its ``dict.txt`` counts words
  in a corpus of Chinese text), each word read by pypinyin; a later reading that no word uses comes after every
  other character of the level.
- Surnames: :data:`SURNAMES`, the most common surnames of the 百家姓 (a traditional text, public domain) in the
  order of their frequency today (the published census ranking, a fact). The keyboard puts them first for the
  first character of a name field.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import sys
from collections import Counter
from pathlib import Path

from pypinyin import Style, lazy_pinyin, pinyin

OUT = Path(__file__).resolve().parent.parent / "edge" / "web" / "static" / "pinyin-table.js"

#: Common surnames, most frequent first (the first hundred or so; 单/区/解 read as surnames by the keyboard's list).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
            "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单"
            "季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
            "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
            "查麻苑迟邝")

#: Surnames whose reading as a surname is not the character's first reading.
SURNAME_READINGS = {"单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "查": "zha", "朴": "piao",
                    "盖": "ge", "尉": "yu", "乐": "yue", "缪": "miao", "覃": "qin", "召": "shao"}

SECONDARY_PENALTY = 1  # the rank of a character under a later reading no word uses (after all used ones)

#: Characters common in given names (the keyboard puts them first after a name's first character), most common
#: first: from the published lists of the most common given names.
GIVEN_NAMES = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玉兰萍红建文辉力鹏飞宇浩婷雪琳晶燕斌波宁鑫欣佳丹俊"
               "峰梅林云海龙亮成凤国志春金荣新宏梓子涵轩一诺萱嘉怡思雨博晨睿泽铭瑶琪颖慧倩晓莉玲君淑珍彬帅东鸿"
               "琴蓉颖莹兵坤翠凯倩萌楠璐瑞浩然梦瑜璇昊天宸皓逸航豪奕锦悦彤妍可馨怡佳佳辰铭阳光旭康乐安福贵喜"
               "德伦永兴顺利庆家良善美丽桂香秋菊凤霞兰芬玉珠爱军卫民忠义")


def gb_level(ch: str) -> int | None:
    """1 or 2 for a GB2312 level-1/level-2 hanzi, 3 for another CJK character of GBK, None otherwise."""
    if not "\u4e00" <= ch <= "\u9fff":
        return None
    try:
        lead = ch.encode("gb2312")[0]
        return 1 if 0xB0 <= lead <= 0xD7 else 2
    except UnicodeEncodeError:
        pass
    try:
        ch.encode("gbk")
        return 3
    except UnicodeEncodeError:
        return None


def readings(ch: str) -> list[str]:
    """The toneless readings of a character, first reading first (``ü`` as ``v``), without duplicates."""
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore", v_to_u=False)
    out: list[str] = []
    for reading in (found[0] if found else []):
        syllable = reading.lower().replace("ü", "v")
        if syllable.isascii() and syllable.isalpha() and syllable not in out:
            out.append(syllable)
    return out


def _hanzi(word: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)


def frequencies(min_freq: int = 3) -> Counter[tuple[str, str]]:
    """How often each character is used with each reading, ``(char, syllable) -> n``: the frequencies of jieba's
    word list summed over the words' characters, each read as pypinyin reads it in that word (长 in 长城 is
    ``chang``, in 校长 ``zhang``)."""
    counts: Counter[tuple[str, str]] = Counter()
    with (importlib.resources.files("jieba") / "dict.txt").open(encoding="utf-8") as words:
        for line in words:
            word, freq, *_ = line.split()
            if int(freq) < min_freq or not _hanzi(word):
                continue
            sounds = lazy_pinyin(word, style=Style.NORMAL, errors="ignore", v_to_u=False)
            if len(sounds) == len(word):
                counts.update({(ch, s.replace("ü", "v")): int(freq) for ch, s in zip(word, sounds, strict=True)})
    return counts


def build() -> dict[str, object]:
    """The table: ``syllables`` (syllable -> characters, likeliest first), ``surnames`` and ``given`` (name
    characters the keyboard prefers in a name field)."""
    counts = frequencies()
    ranked: dict[str, list[tuple[int, int, str]]] = {}
    for code in range(0x4E00, 0xA000):
        ch = chr(code)
        level = gb_level(ch)
        if level is None:
            continue
        for i, syllable in enumerate(readings(ch)):
            seen = counts[(ch, syllable)]  # a reading no word uses (e.g. a rare or dialect one) comes last
            score = -seen if seen or not i else SECONDARY_PENALTY
            ranked.setdefault(syllable, []).append((level, score, ch))
    syllables = {s: "".join(ch for _, _, ch in sorted(chars)) for s, chars in sorted(ranked.items())}
    for ch, syllable in SURNAME_READINGS.items():  # a surname is found under its surname reading too
        if ch not in syllables.get(syllable, ""):
            syllables[syllable] = syllables.get(syllable, "") + ch
    given = "".join(dict.fromkeys(GIVEN_NAMES))
    return {"syllables": syllables, "surnames": "".join(dict.fromkeys(SURNAMES)), "given": given}


def render(table: dict[str, object]) -> str:
    """The JavaScript file: one global, ``window.GP_PINYIN``."""
    body = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return ("// Generated by tools/make_pinyin_table.py (pypinyin, MIT; GB2312/GBK order): do not edit by hand.\n"
            f"window.GP_PINYIN = {body};\n")


def main(argv: list[str] | None = None) -> int:
    """Write the table, or with ``--check`` say whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed table is out of date")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        print("pinyin table up to date" if current == text  # noqa: T201 - the command's answer
              else "pinyin table out of date: run the generator")
        return 0 if current == text else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.encode('utf-8'))} bytes)")  # noqa: T201 - the command's answer
    return 0


if __name__ == "__main__":
    sys.exit(main())
