"""Reason codes of the pass verifier with short guard-screen messages, zh-CN first.

The edge reuses this table shape (``code -> {"zh": ..., "en": ...}``) for its
own reasons (temperature, policy), so the guard screen looks up one kind of table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MESSAGES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "ok": {"zh": "通行证有效", "en": "Pass valid"},
    "not_our_format": {"zh": "不是本小区通行证", "en": "Not a gatepass pass"},
    "corrupt": {"zh": "通行证无法识别，请重新出示", "en": "Pass unreadable or damaged"},
    "unknown_key": {"zh": "签发密钥未知或已停用", "en": "Unknown or retired signing key"},
    "bad_signature": {"zh": "通行证签名无效（可能伪造）", "en": "Invalid signature (possibly forged)"},
    "not_yet_valid": {"zh": "通行证尚未生效", "en": "Pass not yet valid"},
    "expired": {"zh": "通行证已过期", "en": "Pass expired"},
    "revoked": {"zh": "通行证已被注销", "en": "Pass revoked"},
    "quarantined": {"zh": "该户居家隔离中，禁止外出", "en": "Household under home quarantine: no exit"},
    "wrong_gate": {"zh": "此通行证不能在本门使用", "en": "Pass not valid at this gate"},
    "clock_not_set": {"zh": "设备时间未校准，无法核验有效期", "en": "Device clock not set: cannot check validity"},
})


def message(code: str, lang: str = "zh") -> str:
    """The message for ``code`` in ``lang`` ("zh" or "en"); the code itself if unknown."""
    entry = MESSAGES.get(code)
    if entry is None:
        return code
    return entry.get(lang) or entry["zh"]
