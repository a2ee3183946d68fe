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
        "zh-CN": "{name}未连接，正在自动重试（请检查USB线）",
        "en": "{name} disconnected, retrying (check the USB cable)",
    },
    "no data": {
        "zh-CN": "{name}已连接但没有数据（请检查型号和波特率设置）",
        "en": "{name} connected but sends no data (check the model and baud setting)",
    },
    "closed": {"zh-CN": "{name}未启用", "en": "{name} not started"},
}


def status_text(device: str, status: str, lang: str = "zh-CN") -> str:
    """The sentence for ``device`` in ``status`` (one of the keys of :data:`STATUS_TEXTS`)."""
    lang = lang if lang in ("zh-CN", "en") else "zh-CN"
    name = DEVICE_NAMES.get(device, {}).get(lang, device)
    template = STATUS_TEXTS.get(status, {}).get(lang, "{name}: " + status)
    return template.format(name=name)
