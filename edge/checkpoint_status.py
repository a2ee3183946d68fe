"""What the guard screen shows of the checkpoint: devices, faults in plain words, sync, lists, shift, preview,
and the notices that are not decisions (re-scans, direction changes: :class:`edge.events.Notice`).

:meth:`StatusView.status` always answers (a broken driver or a busy database gives a fault text, never an
exception); see :class:`edge.events.CheckpointAPI` for the shape.
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

from edge.checkpoint_base import CheckpointBase
from edge.events import Notice
from sync import lists as edgelists
from sync.reasons import FAULTS

log = logging.getLogger(__name__)

LISTS_STALE_S = 86400.0


class StatusView(CheckpointBase):
    """:meth:`status`, :meth:`preview_jpeg` and the notices."""

    def subscribe_notices(self) -> queue.Queue[Notice]:
        """A bounded queue receiving every new :class:`~edge.events.Notice` (oldest dropped when full)."""
        return self._notices.subscribe()

    def unsubscribe_notices(self, q: queue.Queue[Notice]) -> None:
        """Stop delivering notices to ``q``."""
        self._notices.unsubscribe(q)

    def status(self) -> dict[str, Any]:
        """JSON-able state for the guard page (see :class:`edge.events.CheckpointAPI`)."""
        devices, faults = self._devices()
        faults += [FAULTS[c]["zh"] if c in FAULTS else c for c in list(self._faults)]
        db_view = self._db_view()
        gate = self.settings.gate
        return {
            "devices": devices,
            "sync": self._sync_view(db_view),
            "lists": self._lists_view(db_view),
            "clock_trusted": self._now().trusted,  # type: ignore[attr-defined]
            "gate": {"id": gate.id, "name": gate.name, "mode": gate.mode, "direction": gate.direction,
                     "chosen_direction": self._direction_choice},
            "shift": db_view.get("shift"),
            "faults": faults,
            "counters": {"dropped_scans": self.dropped_scans, "decode_errors": self.decode_errors,
                         "frames_decoded": self.frames_decoded,
                         "dropped_frames": getattr(self.frame_source, "dropped", 0)},
        }

    def _devices(self) -> tuple[dict[str, dict[str, str]], list[str]]:
        devices, faults = {}, []
        for name, dev in (("camera", self.frame_source), ("thermometer", self.thermometer),
                          ("scanner", self.scanner), ("gate", self.gate)):
            if dev is None:
                continue
            st, text = _device_status(dev)
            devices[name] = {"status": st, "text": text}
            if st != "ok":
                faults.append(text)
        return devices, faults

    def _db_view(self) -> dict[str, Any]:
        """Backlog, last upload, sync state and the shift, read under the database lock."""
        view: dict[str, Any] = {"backlog": 0, "last_ok": None, "sync_state": {}, "shift": None}
        if self.db is None:
            return view
        try:
            with self._db_lock:
                view["backlog"] = self.locallog.backlog()  # type: ignore[union-attr]
                view["last_ok"] = self.db.execute("SELECT max(synced_at) FROM entries").fetchone()[0]
                view["sync_state"] = _sync_state(self.db)
                shift = self.shifts.current() if self.shifts else None
            view["shift"] = {"guard_id": shift[1], "since": shift[2]} if shift else None
        except Exception as exc:  # the page must always get an answer
            log.debug("status: %s", exc)
        return view

    @staticmethod
    def _sync_view(view: dict[str, Any]) -> dict[str, Any]:
        backlog, state = view["backlog"], view["sync_state"]
        text = "记录已全部上传" if backlog == 0 else f"{backlog} 条记录待上传"
        if state.get("last_error"):
            text += f"（{state['last_error']}）"
        return {"last_ok_ts": state.get("last_upload_at") or view["last_ok"], "backlog": backlog, "text": text}

    def _lists_view(self, view: dict[str, Any]) -> dict[str, Any]:
        meta = self._snapshot[3] if self._snapshot else edgelists.ListMeta()
        age = time.time() - meta.issued_at if meta.issued_at else None
        confirmed = view["sync_state"].get("lists_age_s")
        if confirmed is not None:  # central confirmed the lists current more recently
            age = min(age if age is not None else float("inf"), float(confirmed))
        return {"version": meta.version, "age_s": age, "stale": age is None or age > LISTS_STALE_S}

    def preview_jpeg(self) -> bytes | None:
        """The newest frame as JPEG with the scan window drawn (cached per frame)."""
        frame = self._last_frame
        if frame is None:
            return None
        if self._preview is not None and self._preview[0] == frame.seq:
            return self._preview[1]
        jpeg = _encode_preview(frame.image, self.settings.scan.window)
        if jpeg is not None:
            self._preview = (frame.seq, jpeg)
        return jpeg


def _encode_preview(image: Any, window: tuple[float, float, float, float]) -> bytes | None:
    import cv2

    from edge.decode import window_pixels

    image = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image = image.copy()
    x0, y0, x1, y1 = window_pixels(image.shape, window)
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 200, 0), 3)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return buf.tobytes() if ok else None


def _sync_state(db: Any) -> dict[str, Any]:
    """What ``gatepass sync run`` last wrote into ``sync_state`` (empty if there is no such table yet)."""
    try:
        from sync import state
    except ImportError:
        return {}
    try:
        return state.status(db)
    except Exception:  # table missing in an old database
        return {}


def _device_status(dev: Any) -> tuple[str, str]:
    try:
        return str(dev.status), str(dev.status_text)
    except Exception as exc:  # a broken driver must not break the status page
        return "disconnected", f"{type(dev).__name__}: {exc}"
