"""Plain-word status texts for the guard screen, zh-CN first, English available."""

from __future__ import annotations

DEVICE_NAMES = {
    "thermometer": {"zh-CN": "测温仪", "en": "Thermometer"},
    "scanner": {"zh-CN": "扫码器", "en": "QR scanner"},
    "gate": {"zh-CN": "闸门继电器", "en": "Gate relay"},
    "camera": {"zh-CN": "摄像头", "en": "Camera"},
}

STATUS_TEXTS = {
    "ok": {"zh-CN": "{name}正常", "en": "{name} OK"},
    "disconnected": {
        "zh-CN": "{name}未连接：请检查连接线是否插紧，插好后会自动恢复",
        "en": "{name} disconnected: check its cable is plugged in firmly; it comes back by itself",
    },
    "no data": {
        "zh-CN": "{name}没有数据：请检查电源和连接线，拔下再插上；仍不行请联系管理员",
        "en": "{name} sends no readings: check its power and cable, unplug and plug it in again; "
              "if that fails call the administrator",
    },
    "closed": {"zh-CN": "{name}未启用：请联系管理员", "en": "{name} not started: call the administrator"},
}


def status_text(device: str, status: str, lang: str = "zh-CN") -> str:
    """The sentence for ``device`` in ``status`` (one of the keys of :data:`STATUS_TEXTS`)."""
    lang = lang if lang in ("zh-CN", "en") else "zh-CN"
    name = DEVICE_NAMES.get(device, {}).get(lang, device)
    template = STATUS_TEXTS.get(status, {}).get(lang, "{name}: " + status)
    return template.format(name=name)
