"""The staff password policy: long enough and hard to guess, for every role.

A password needs at least :data:`MIN_LENGTH` characters and a zxcvbn score of at least :data:`MIN_SCORE` (zxcvbn
knows common passwords, keyboard rows, repeats, sequences, dates and names). It is rated together with the words
an attacker would try first here: the user's name and display name, ``gatepass``, the communities the central
serves and common Chinese-context words (pinyin such as ``woaini``, ``mima``, ``shequ``; lucky numbers such as
``5201314``). A refusal says why in zh-CN and English (:class:`WeakPassword`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from central.console.errors import ConsoleError

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable; 3 = safely unguessable online (~10^8 guesses)
MAX_LENGTH = 256
RATED_CHARS = 100  # zxcvbn's time grows with the length: longer passwords are rated on their first 100 characters

CONTEXT_WORDS = ("gatepass", "admin", "administrator", "root", "guanliyuan", "mima", "password", "woaini", "aini",
                 "zhongguo", "china", "beijing", "shanghai", "wuhan", "shequ", "xiaoqu", "menwei", "menggang",
                 "baoan", "fangyi", "yiqing", "jiankang", "jiankangma", "hesuan", "wuye", "juweihui", "jiedao",
                 "1314", "520", "5201314", "1314520", "888888", "666666", "168168", "qq", "woshishui",
                 # the most common full names in pinyin (zxcvbn's name lists are English)
                 "zhangwei", "wangwei", "wangfang", "liwei", "lina", "zhangmin", "lijing", "wangjing", "liuwei",
                 "wangxiuying", "zhangli", "lixiuying", "wangli", "zhangjing", "zhangxiuying", "liqiang", "wangmin",
                 "limin", "wanglei", "liujing", "zhangyong", "wangyong", "lijun", "liuyang", "zhangjie", "wangqiang")

#: zxcvbn 4.5's (English) warnings and what they say in zh-CN.
WARNINGS_ZH = {
    "Straight rows of keys are easy to guess.": "键盘上连成一排的键很容易被猜到",
    "Short keyboard patterns are easy to guess.": "简短的键盘图案很容易被猜到",
    'Repeats like "aaa" are easy to guess.': "像“aaa”这样的重复很容易被猜到",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        "像“abcabcabc”这样的重复并不比“abc”难猜多少",
    'Sequences like "abc" or "6543" are easy to guess.': "像“abc”或“6543”这样的顺序很容易被猜到",
    "Recent years are easy to guess.": "最近的年份很容易被猜到",
    "Dates are often easy to guess.": "日期往往很容易被猜到",
    "This is a top-10 common password.": "这是最常用的 10 个密码之一",
    "This is a top-100 common password.": "这是最常用的 100 个密码之一",
    "This is a very common password.": "这是非常常用的密码",
    "This is similar to a commonly used password.": "这和常用密码很相似",
    "A word by itself is easy to guess.": "单个词语很容易被猜到",
    "Names and surnames by themselves are easy to guess.": "单独的姓名很容易被猜到",
    "Common names and surnames are easy to guess.": "常见的姓名很容易被猜到",
}
RULE_ZH = f"密码至少 {MIN_LENGTH} 个字符，不能是常用密码、键盘序列、重复字符或用户名；几个词组成的短语最好记也最安全"
RULE_EN = (f"at least {MIN_LENGTH} characters, not a common password, keyboard pattern, repeat or the user name; "
           "a phrase of a few words is easy to remember and hard to guess")


class WeakPassword(ConsoleError):
    """A password the policy refuses; ``zh`` and ``en`` say why (the message holds both)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"密码不符合要求：{zh}。{RULE_ZH}。 / Password refused: {en}. Use {RULE_EN}.")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class Verdict:
    """Why a password is refused (``None`` fields: it is accepted)."""

    zh: str | None = None
    en: str | None = None

    @property
    def ok(self) -> bool:
        """True if the password is accepted."""
        return self.zh is None


def judge(password: str, user_inputs: Iterable[str] = ()) -> Verdict:
    """The policy as a pure function: accept ``password`` or say why not (``user_inputs``: names of the user,
    communities, anything an attacker would try besides :data:`CONTEXT_WORDS`)."""
    words = [w.strip() for w in user_inputs if w and w.strip()]
    if len(password) < MIN_LENGTH:
        return Verdict(f"太短（{len(password)} 个字符）", f"too short ({len(password)} characters)")
    if len(password) > MAX_LENGTH:
        return Verdict(f"太长（最多 {MAX_LENGTH} 个字符）", f"too long (at most {MAX_LENGTH} characters)")
    lowered = password.casefold()
    for word in words:
        if len(word) >= 3 and word.casefold() in lowered and len(word) * 2 >= len(password):
            return Verdict("主要由用户名或姓名组成", "it is mostly the user name or the person's name")
    result = zxcvbn(password[:RATED_CHARS], user_inputs=[*words, *CONTEXT_WORDS])
    if result["score"] >= MIN_SCORE:
        return Verdict()
    if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        return Verdict("建立在用户名、姓名、社区名、系统名或常见拼音、吉利数字等容易猜到的词上",
                       "it is built on the user name, a name, a community, the system's name or a common word")
    warning = result["feedback"]["warning"]
    return Verdict(WARNINGS_ZH.get(warning, "太容易被猜到"), warning.rstrip(".") or "too easy to guess")


def check(password: str, user_inputs: Iterable[str] = ()) -> str:
    """``password`` if the policy accepts it; else :class:`WeakPassword`."""
    verdict = judge(password, user_inputs)
    if not verdict.ok:
        raise WeakPassword(verdict.zh or "", verdict.en or "")
    return password


def generate(user_inputs: Iterable[str] = ()) -> str:
    """A random password the policy accepts (16 URL-safe characters; for first admins and the demo)."""
    words = list(user_inputs)
    while not judge(password := secrets.token_urlsafe(12), words).ok:
        pass
    return password
