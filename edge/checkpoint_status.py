"""What the guard screen shows of the checkpoint: devices, faults in plain words, sync, lists, the gate, the
shift, counters and the camera preview.

:meth:`StatusView.status` always answers (a broken driver or a busy database gives a fault text, never an
exception); the shape is :class:`Status` (see also :class:`edge.events.CheckpointAPI`). The notices that are
not decisions (re-scans, direction changes: :class:`edge.events.Notice`) go out through :attr:`StatusView.notices`.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import sqlite_utils

from drivers.interfaces import DeviceStatus
from edge.decode import Window, window_pixels
from edge.devices import Devices
from edge.direction import DirectionChoice
from edge.events import Fanout, Notice
from edge.faults import OUTSIDE_FAULTS, FaultBoard
from edge.health_code import HealthCodeDesk
from edge.lists_policy import ListsAndPolicy
from edge.scan_input import InputLoops
from edge.scan_intake import ScanIntake
from edge.settings import EdgeSettings
from edge.store import LocalStore
from gatepass.clock import Clock
from sync import state as sync_state
from sync.reasons import FAULTS

log = logging.getLogger(__name__)

LISTS_STALE_S = 86400.0


class DeviceView(TypedDict):
    status: str
    text: str


class SyncView(TypedDict):
    last_ok_ts: object
    backlog: int
    text: str


class ListsView(TypedDict):
    version: int
    age_s: float | None
    stale: bool


class GateView(TypedDict):
    id: str
    name: str
    mode: str
    direction: str
    chosen_direction: str | None


class ShiftView(TypedDict):
    guard_id: str
    since: float


class Counters(TypedDict):
    dropped_scans: int
    decode_errors: int
    frames_decoded: int
    dropped_frames: object


#: The fault code of a device that is not ``ok`` (by its name on the guard screen): the gate is its relay.
FAULT_CODE_OF_DEVICE = {"gate": "relay"}


class HealthCodeView(TypedDict):
    policy: str        # off | record | require
    waiting: bool      # a scan is held for the guard's colour tap


class Status(TypedDict):
    """What :meth:`StatusView.status` returns (JSON-able, keys in this order)."""

    devices: dict[str, DeviceView]
    sync: SyncView
    lists: ListsView
    clock_trusted: bool
    gate: GateView
    shift: ShiftView | None
    faults: list[str]
    counters: Counters
    health_code: HealthCodeView


@dataclass
class _DbView:
    """Backlog, last upload, sync state and the shift, as read under the database lock."""

    backlog: int = 0
    last_ok: object = None
    sync_state: Mapping[str, object] = field(default_factory=dict)
    shift: ShiftView | None = None


@dataclass(frozen=True)
class Sources:
    """Where the status comes from: the parts it reads."""

    devices: Devices
    faults: FaultBoard
    store: LocalStore
    lists: ListsAndPolicy
    intake: ScanIntake
    inputs: InputLoops
    choice: DirectionChoice
    health: HealthCodeDesk


class StatusView:
    """:meth:`status`, :meth:`preview_jpeg` and the notices."""

    def __init__(self, settings: EdgeSettings, sources: Sources, notices: Fanout[Notice], clock: Clock) -> None:
        self.settings = settings
        self.sources = sources
        self.notices = notices
        self.clock = clock
        self._preview: tuple[int, bytes] | None = None  # (frame seq, JPEG)

    def subscribe_notices(self) -> queue.Queue[Notice]:
        """A bounded queue receiving every new :class:`~edge.events.Notice` (oldest dropped when full)."""
        return self.notices.subscribe()

    def unsubscribe_notices(self, q: queue.Queue[Notice]) -> None:
        """Stop delivering notices to ``q``."""
        self.notices.unsubscribe(q)

    def status(self) -> Status:
        """JSON-able state for the guard page (see :class:`edge.events.CheckpointAPI`)."""
        src = self.sources
        devices, faults = self._devices(src.devices)
        faults += [FAULTS[c]["zh"] if c in FAULTS else c for c in src.faults.codes() if c not in OUTSIDE_FAULTS]
        db_view = self._db_view(src.store)
        gate = self.settings.gate
        return {
            "devices": devices,
            "sync": _sync_view(db_view),
            "lists": self._lists_view(src.lists, db_view),
            "clock_trusted": src.lists.now().trusted,
            "gate": {"id": gate.id, "name": gate.name, "mode": gate.mode, "direction": gate.direction,
                     "chosen_direction": src.choice.current},
            "shift": db_view.shift,
            "faults": faults,
            "counters": {"dropped_scans": src.intake.dropped, "decode_errors": src.inputs.decode_errors,
                         "frames_decoded": src.inputs.frames_decoded,
                         "dropped_frames": getattr(src.devices.frame_source, "dropped", 0)},
            "health_code": {"policy": self.settings.policy.health_code, "waiting": src.health.waiting},
        }

    def fault_codes(self) -> list[str]:
        """The faults on now as codes: devices not ``ok`` (by name) and the fault board's codes."""
        down = [FAULT_CODE_OF_DEVICE.get(name, name) for name, dev in self.sources.devices.shown()
                if _device_status(dev)[0] != "ok"]
        return down + self.sources.faults.codes()

    @staticmethod
    def _devices(devices: Devices) -> tuple[dict[str, DeviceView], list[str]]:
        views: dict[str, DeviceView] = {}
        faults: list[str] = []
        for name, dev in devices.shown():
            st, text = _device_status(dev)
            views[name] = {"status": st, "text": text}
            if st != "ok":
                faults.append(text)
        return views, faults

    @staticmethod
    def _db_view(store: LocalStore) -> _DbView:
        """Backlog, last upload, sync state and the shift, read under the database lock."""
        view = _DbView()
        if store.db is None:
            return view
        try:
            with store.lock:
                view.backlog = store.locallog.backlog() if store.locallog else 0
                view.last_ok = store.db.execute("SELECT max(synced_at) FROM entries").fetchone()[0]
                view.sync_state = _sync_state(store.db)
                shift = store.shifts.current() if store.shifts else None
            view.shift = {"guard_id": shift[1], "since": shift[2]} if shift else None
        except Exception as exc:  # the page must always get an answer
            log.debug("status: %s", exc)
        return view

    def _lists_view(self, lists: ListsAndPolicy, view: _DbView) -> ListsView:
        meta = lists.current().meta
        age = self.clock.time() - meta.issued_at if meta.issued_at else None
        confirmed = view.sync_state.get("lists_age_s")
        if isinstance(confirmed, int | float):  # central confirmed the lists current more recently
            age = min(age if age is not None else float("inf"), float(confirmed))
        return {"version": meta.version, "age_s": age, "stale": age is None or age > LISTS_STALE_S}

    def preview_jpeg(self) -> bytes | None:
        """The newest frame as JPEG with the scan window drawn (cached per frame)."""
        frame = self.sources.inputs.last_frame
        if frame is None:
            return None
        if self._preview is not None and self._preview[0] == frame.seq:
            return self._preview[1]
        jpeg = encode_preview(frame.image, self.settings.scan.window)
        if jpeg is not None:
            self._preview = (frame.seq, jpeg)
        return jpeg


def _sync_view(view: _DbView) -> SyncView:
    backlog, state = view.backlog, view.sync_state
    text = "记录已全部上传" if backlog == 0 else f"{backlog} 条记录待上传"
    if state.get("last_error"):
        text += f"（{state['last_error']}）"
    return {"last_ok_ts": state.get("last_upload_at") or view.last_ok, "backlog": backlog, "text": text}


def encode_preview(image: np.ndarray, window: Window) -> bytes | None:
    """``image`` as JPEG with the scan ``window`` drawn."""
    import cv2  # only when a preview is asked for (heavy import)

    image = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image = image.copy()
    x0, y0, x1, y1 = window_pixels(image.shape, window)
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 200, 0), 3)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return buf.tobytes() if ok else None


def _sync_state(db: sqlite_utils.Database) -> Mapping[str, object]:
    """What ``gatepass sync run`` last wrote into ``sync_state`` (empty if there is no such table yet)."""
    try:
        return sync_state.status(db)
    except Exception:  # table missing in an old database
        return {}


def _device_status(dev: DeviceStatus) -> tuple[str, str]:
    try:
        return str(dev.status), str(dev.status_text)
    except Exception as exc:  # a broken driver must not break the status page
        return "disconnected", f"{type(dev).__name__}: {exc}"


__all__ = ["LISTS_STALE_S", "Sources", "Status", "StatusView"]
