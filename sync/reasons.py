"""Reason codes of the checkpoint's decisions with short messages, zh-CN first.

Same shape as :data:`sync.passes.messages.MESSAGES`; :func:`message` looks in
this table first, then in the pass verifier's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Why a guard let a refused person through: the ``override_reason`` of an override entry (both ends read it).
OVERRIDE_REASONS = ("emergency", "medical", "staff", "other")

MESSAGES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "pass_ok": {"zh": "通行证有效，请通行", "en": "Pass valid, please go ahead"},
    "temp_ok": {"zh": "体温正常，请通行", "en": "Temperature normal, please go ahead"},
    "temp_high": {"zh": "体温异常，请复测", "en": "Temperature high, please measure again"},
    "fever": {"zh": "复测体温仍异常，请在原地等候工作人员", "en": "Temperature high again: please wait for staff"},
    "temp_missing": {"zh": "未测到体温，请正对测温仪", "en": "No temperature reading: face the thermometer"},
    "temp_missing_guard": {"zh": "未测到体温，请保安确认", "en": "No temperature reading: the guard decides"},
    "closed": {"zh": "非开放时间，禁止通行", "en": "Gate closed at this hour"},
    "override": {"zh": "保安已放行", "en": "Let through by the guard"},
    "visitor_ok": {"zh": "访客已登记，请通行", "en": "Visitor registered, please go ahead"},
    "log_failed": {"zh": "记录保存失败，闸门保持关闭，请联系管理员",
                   "en": "The entry could not be saved: the gate stays shut, call the administrator"},
    "rescan": {"zh": "已扫码，请勿重复扫码", "en": "Already scanned"},
    "shift_end": {"zh": "交接班", "en": "Shift hand-over"},
    "shift_start": {"zh": "上岗签到", "en": "Shift sign-in"},
    "visitor_exit": {"zh": "访客离开", "en": "Visitor left"},
    "delivery": {"zh": "快递代收登记", "en": "Delivery left at the gate"},
    "delivery_pickup": {"zh": "快递已取件", "en": "Delivery picked up"},
    "host_quarantined": {"zh": "被访住户正在居家隔离，访客不得进入",
                         "en": "The household visited is under home quarantine: no visitors"},
    "vehicle_ok": {"zh": "车辆已登记，请通行", "en": "Vehicle registered, please go ahead"},
    "vehicle_purpose": {"zh": "车辆用途不符", "en": "Vehicle purpose not allowed here"},
    "vehicle_exit": {"zh": "车辆离开", "en": "Vehicle left"},
    "health_code_check": {"zh": "请出示城市健康码，保安核验颜色",
                          "en": "Show the city health code: the guard checks its colour"},
    "health_code_green": {"zh": "健康码绿码，请通行", "en": "Health code green, please go ahead"},
    "health_code_yellow": {"zh": "健康码黄码，禁止通行，请联系社区",
                           "en": "Health code yellow: no entry, contact the community"},
    "health_code_red": {"zh": "健康码红码，禁止通行，请原地等候工作人员",
                        "en": "Health code red: no entry, wait here for staff"},
    "health_code_missing": {"zh": "未核验健康码，禁止通行", "en": "Health code not checked: no entry"},
    "health_code_scanned": {"zh": "这是城市健康码：请保安核验颜色，并扫描小区通行证",
                            "en": "This is a city health code: the guard checks its colour; scan the community pass"},
})

#: Plain-words fault texts for the guard screen (``status()["faults"]``).
FAULTS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "disk_full": {"zh": "存储空间已满，记录无法保存，闸门保持关闭：请人工登记，并马上联系管理员",
                  "en": "Disk full: entries cannot be saved and the gate stays shut. Record people by hand and "
                        "call the administrator now"},
    "disk_low": {"zh": "存储空间不足：请联系管理员尽快清理或更换存储卡",
                 "en": "Low disk space: ask the administrator to free space or change the SD card soon"},
    "db_locked": {"zh": "数据库被占用，记录暂时无法保存：几分钟内不恢复请联系管理员",
                  "en": "Database busy: entries cannot be saved right now. Call the administrator if it lasts"},
    "log_failed": {"zh": "记录无法保存，闸门保持关闭：请人工登记，并联系管理员",
                   "en": "Entries cannot be saved and the gate stays shut: record people by hand, call the "
                         "administrator"},
    "clock_untrusted": {"zh": "设备时间未校准", "en": "Device clock not set"},
    "clock_off": {"zh": "设备时间与中心时间不一致，已按中心时间记录；请检查网络校时",
                  "en": "The device clock is off central's time: entries use central's time; check time sync"},
    "decide_failed": {"zh": "扫码处理出错，闸门保持关闭，请重新扫码",
                      "en": "A scan could not be processed: the gate stays shut, please scan again"},
    "loop_failed": {"zh": "程序出错，已自动重启：反复出现请联系管理员",
                    "en": "Part of the program failed and restarted by itself: call the administrator if it repeats"},
    "lists_failed": {"zh": "名单无法读取，继续使用上次的名单：请联系管理员",
                     "en": "Lists cannot be read: the last copy stays in use. Call the administrator"},
})


def message(code: str, lang: str = "zh") -> str:
    """The message for ``code`` in ``lang`` ("zh" or "en"), from this table or the verifier's."""
    entry = MESSAGES.get(code)
    if entry is None:
        from sync.passes.messages import MESSAGES as PASS_MESSAGES

        entry = PASS_MESSAGES.get(code)
    if entry is None:
        return code
    return entry.get(lang) or entry["zh"]
