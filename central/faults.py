"""The gates' device faults at central: what each gate's heartbeat says is broken, since when, and its history.

A gate's report may carry ``faults`` (:class:`sync.protocol.DeviceFault`: its fault board's code and the device
wall time the fault began). Central keeps the latest report (``devices.last_report``) for the devices page and,
in ``device_faults``, one row per fault episode (device, code, device start time): opened when a report first
lists it, closed (``until``) by the first later report that no longer does. Start times are moved onto central's
clock with the report's own ``wall_now`` (so a gate's skewed clock does not shift them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from central.store import CentralDB
from sync.protocol import DeviceFault

#: The devices the devices page shows a column for, in that order.
COLUMNS: tuple[str, ...] = ("camera", "thermometer", "relay", "voice")

#: Plain names of the gate's fault codes (zh-CN, English); an unknown code is shown as it is.
FAULT_NAMES: dict[str, tuple[str, str]] = {
    "thermometer": ("体温计故障", "thermometer not working"),
    "camera": ("摄像头故障", "camera not working"),
    "scanner": ("扫码器故障", "code scanner not working"),
    "relay": ("闸门控制故障", "gate relay not working"),
    "voice": ("语音播报故障", "voice prompts not working"),
    "disk_full": ("存储空间已满", "storage full"),
    "db_locked": ("本机数据库被占用", "local database locked"),
    "log_failed": ("记录写入失败", "entries cannot be written"),
    "loop_failed": ("程序运行出错", "a program loop failed"),
    "clock": ("时钟不准", "clock not set"),
    "clock_untrusted": ("设备时间未校准", "device clock not set"),
    "clock_off": ("设备时间与中心不一致", "device clock off central's time"),
    "disk_low": ("存储空间不足", "storage low"),
    "lists_failed": ("名单无法读取", "lists cannot be read"),
    "decide_failed": ("扫码处理出错", "a scan could not be processed"),
}


def fault_name(code: str, lang: str = "zh") -> str:
    """The plain name of a fault code (the code itself when unknown)."""
    pair = FAULT_NAMES.get(code)
    return code if pair is None else pair[1 if lang == "en" else 0]


@dataclass(frozen=True)
class OpenFault:
    """A fault the gate's latest report lists, with its start on central's clock (unix s)."""

    code: str
    started_at: float


def _finite(value: object) -> float | None:
    """``value`` as a finite float, None for anything else (a stored report may hold any JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def to_central_time(device_t: float, report: dict[str, Any]) -> float:
    """A device wall time moved onto central's clock with the report's ``wall_now`` and ``receive_time`` (the
    device time itself when either is missing or not a finite number; the result may be out of any date range,
    never raises)."""
    wall_now, received = _finite(report.get("wall_now")), _finite(report.get("receive_time"))
    if wall_now is None or received is None:
        return device_t
    return received - (wall_now - device_t)


def open_faults(report: dict[str, Any] | None) -> list[OpenFault] | None:
    """The faults a stored report lists (None when the gate does not report faults, [] when none is open)."""
    if not report or not isinstance(report.get("faults"), list):
        return None
    out = []
    for f in report["faults"]:
        since = _finite(f.get("since")) if isinstance(f, dict) else None
        if since is not None and isinstance(f.get("code"), str):
            out.append(OpenFault(f["code"], to_central_time(since, report)))
    return out


def record(db: CentralDB, device_id: str, faults: list[DeviceFault] | None, wall_now: float, now: float, *,
           any_open: bool = True) -> None:
    """Open a ``device_faults`` row for each newly reported fault and close those no longer reported (call inside
    the upload's transaction). A report without ``faults`` (older gate) changes nothing. ``any_open``: False when
    the caller knows the device has no open episode (then a report of no faults needs no statement)."""
    if faults is None:
        return
    reported = {(f.code, round(f.since, 3)) for f in faults if math.isfinite(f.since)}
    if not reported and not any_open:
        return
    held = {(code, since): fid for fid, code, since in db.execute(
        "SELECT id, code, since FROM device_faults WHERE device_id = ? AND until IS NULL", [device_id])}
    for key, fid in held.items():
        if key not in reported:
            db.execute("UPDATE device_faults SET until = ? WHERE id = ?", [now, fid])
    for code, since in sorted(reported - held.keys()):
        db.execute("INSERT INTO device_faults (device_id, code, since, started_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                   [device_id, code, since, _started_at(since, wall_now, now), now])
    db.execute("UPDATE device_faults SET seen_at = ? WHERE device_id = ? AND until IS NULL", [now, device_id])


def _started_at(since: float, wall_now: float, now: float) -> float:
    """A fault's start on central's clock: its device time moved by the report's ``wall_now``; the device time as
    it is when ``wall_now`` is no finite time, and ``now`` when even that makes no finite start."""
    started = now - (wall_now - since) if math.isfinite(wall_now) else since
    return started if math.isfinite(started) else now


def episodes(db: CentralDB, code: str, longer_than_s: float, since: float, until: float,
             now: float) -> list[dict[str, Any]]:
    """Fault episodes of ``code`` that lasted (or, still open, have lasted) more than ``longer_than_s`` and
    overlap ``[since, until)``, with their device's community and gate."""
    cur = db.execute(
        "SELECT f.id, f.device_id, f.code, f.started_at, f.until, d.community, d.gate_id FROM device_faults f "
        "JOIN devices d ON d.device_id = f.device_id WHERE f.code = ? AND f.started_at < ? "
        "AND COALESCE(f.until, ?) >= ? AND COALESCE(f.until, ?) - f.started_at > ? ORDER BY f.started_at DESC",
        [code, until, now, since, now, longer_than_s])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
