"""The checkpoint core: frames or scanner -> decode -> verify -> pair temperature -> decide -> log -> gate.

:class:`Checkpoint` implements :class:`edge.events.CheckpointAPI` for the guard
page. One thread per concern, all stopped through one ``threading.Event``:

* ``frames``: newest camera frame -> QR decode (scan window) -> :class:`~edge.dedupe.Deduper` -> scan queue;
* ``scanner``: serial scanner texts -> the same path;
* ``thermometer``: readings into a small time-stamped ring buffer used for pairing;
* ``decide``: one scan at a time: verify the pass, wait for a body temperature, decide, commit the
  entry (durably), and only then pulse the gate, light the indicators and publish the :class:`Outcome`;
* ``health``: retention purge, disk floor, clock, and recovery probes of the log;
* ``feeder`` (demo only): presents passes from a file to the simulated camera.

The scan queue is bounded: when it is full the oldest scan is dropped and counted. Nothing here
opens hardware or starts threads before :meth:`Checkpoint.start`.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import lists as edgelists
from edge.decision import Decision, GateRules, decide, is_open, needs_temperature, parse_hours
from edge.decode import DecodeError, QrDecoder
from edge.dedupe import Deduper, Seen
from edge.errors import EdgeError
from edge.events import Outcome, ShiftSummary
from edge.health import Housekeeper
from edge.indicators import LIGHT_FOR, Indicators, NoIndicators
from edge.locallog import LocalLog, LogWriteError
from edge.messages import FAULTS, message
from edge.pairing import Measurement, PairingRules, Sample, TempStatus, judge_temperature, pair
from edge.passes import DEFAULT_CLOCK_FLOOR, GateContext, Lists, TrustList, effective_now, verify
from edge.settings import EdgeSettings
from edge.shifts import ShiftBook

log = logging.getLogger(__name__)

OVERRIDE_REASONS = ("emergency", "medical", "staff")
#: Central policy keys that override the config (central wins when it sets them).
POLICY_KEYS = {"fever_c": float, "cooldown_s": float, "pair_window_s": float}


class CheckpointError(EdgeError):
    """A guard action is not allowed (wrong mode, nobody signed in, unknown entry...)."""


@dataclass(frozen=True)
class Scan:
    """A new scan: the pass text, when it was seen (monotonic seconds) and by what."""

    text: str
    t_seen: float
    source: str


class Checkpoint:
    """The checkpoint; see the module docstring. Devices are optional (None: not used)."""

    def __init__(self, settings: EdgeSettings, *, frame_source: Any = None, scanner: Any = None,
                 thermometer: Any = None, gate: Any = None, indicators: Indicators | None = None,
                 stop_event: threading.Event | None = None) -> None:
        self.settings = settings
        self.frame_source = frame_source
        self.scanner = scanner
        self.thermometer = thermometer
        self.gate = gate
        self.indicators = indicators or NoIndicators()
        self.decoder = QrDecoder(settings.scan.decoder, settings.scan.window)
        self.dedupe = Deduper(settings.scan.same_scan_gap_s, settings.scan.cooldown_s)
        self.open_hours = parse_hours(settings.policy.open_hours)
        self.stop_event = stop_event or threading.Event()
        self.dropped_scans = 0
        self.decode_errors = 0
        self.frames_decoded = 0
        self.latencies: collections.deque[float] = collections.deque(maxlen=20000)  # scan seen -> committed (s)
        self.db: Any = None
        self.locallog: LocalLog | None = None
        self.shifts: ShiftBook | None = None
        self._scans: queue.Queue[Scan] = queue.Queue(maxsize=settings.scan.queue_size)
        self._db_lock = threading.RLock()
        self._dedupe_lock = threading.Lock()
        self._temp_cond = threading.Condition()
        self._samples: collections.deque[Sample] = collections.deque(maxlen=256)
        self._temp_used_until: float | None = None
        self._high: dict[str, tuple[float, str, float]] = {}  # person -> (t, entry uuid, temp)
        self._faults: dict[str, str] = {}
        self._subscribers: list[queue.Queue[Outcome]] = []
        self._sub_lock = threading.Lock()
        self._last_outcome: Outcome | None = None
        self._last_frame: Any = None
        self._preview: tuple[int, bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._snapshot: tuple[TrustList, Lists, dict[str, Any], edgelists.ListMeta] | None = None
        self._policy = {"fever_c": settings.policy.fever_c, "cooldown_s": settings.scan.cooldown_s,
                        "pair_window_s": settings.policy.pair_window_s}
        self.boot_id = _boot_id()
        #: The earliest believable wall time (unix s); set by the service from its start-up clock check.
        self.clock_floor: float = DEFAULT_CLOCK_FLOOR
        #: Called as ``heartbeat(loop_name)`` on every turn of every loop (the systemd watchdog); None: nothing.
        self.heartbeat: Callable[[str], Any] | None = None

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the database and the devices, then start the loops."""
        from edge.db import open_db

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_db(self.settings.db_path)
        self.locallog = LocalLog(self.db)
        self.shifts = ShiftBook(self.db, self.settings.guards.pins)
        self._reload_lists(force=True)
        for device in (self.gate, self.thermometer, self.scanner, self.indicators):
            if device is not None:
                _safely(device.open, f"opening {type(device).__name__}")
        if self.frame_source is not None:
            _safely(self.frame_source.start, "starting the camera")
        loops = [("decide", self._decide_loop), ("health", self._health_loop)]
        if self.frame_source is not None:
            loops.append(("frames", self._frames_loop))
        if self.scanner is not None:
            loops.append(("scanner", self._scanner_loop))
        if self.thermometer is not None:
            loops.append(("thermometer", self._thermo_loop))
        if self.settings.demo.passes_file and hasattr(self.frame_source, "present"):
            loops.append(("feeder", self._feeder_loop))
        for name, target in loops:
            thread = threading.Thread(target=self._guarded(name, target), name=f"gatepass-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("checkpoint %s started (%s, %s)", self.settings.gate.id, self.settings.gate.mode,
                 self.settings.gate.direction)

    def stop(self) -> None:
        """Stop the loops, release the gate and close the devices and the database."""
        self.stop_event.set()
        with self._temp_cond:
            self._temp_cond.notify_all()
        for thread in self._threads:
            thread.join(10)
        self._threads = []
        if self.frame_source is not None:
            _safely(self.frame_source.stop, "stopping the camera")
        for device in (self.scanner, self.thermometer, self.indicators, self.gate):
            if device is not None:
                _safely(device.close, f"closing {type(device).__name__}")
        if self.db is not None:
            with self._db_lock:
                self.db.conn.close()
            self.db = None

    def _beat(self, name: str) -> None:
        if self.heartbeat is not None:
            try:
                self.heartbeat(name)
            except Exception:  # the watchdog must never break a loop
                log.exception("heartbeat failed")

    def _guarded(self, name: str, target: Any) -> Any:
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    target()
                    return
                except Exception:  # a loop must never die silently: log and restart it
                    log.exception("the %s loop failed; restarting it", name)
                    self.stop_event.wait(1.0)
        return run

    # -- input loops -----------------------------------------------------------------------------
    def _frames_loop(self) -> None:
        last_seq = None
        while not self.stop_event.is_set():
            self._beat("frames")
            frame = self.frame_source.latest(0.5)
            if frame is None or frame.seq == last_seq:
                if frame is not None:
                    self.stop_event.wait(0.005)
                continue
            last_seq = frame.seq
            self._last_frame = frame
            try:
                texts = self.decoder.decode(frame.image)
            except DecodeError as exc:
                self.decode_errors += 1
                log.debug("frame %s skipped: %s", frame.seq, exc)
                continue
            self.frames_decoded += 1
            for text in texts:
                self.submit_text(text, frame.t_monotonic, "camera")

    def _scanner_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("scanner")
            text = self.scanner.read(0.5)
            if text:
                self.submit_text(text, time.monotonic(), "scanner")

    def _thermo_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("thermometer")
            reading = self.thermometer.read(0.5)
            if reading is not None:
                self.add_reading(Sample(reading.t_monotonic, reading.body_c))

    def _feeder_loop(self) -> None:
        path = Path(self.settings.demo.passes_file)  # type: ignore[arg-type]
        i = 0
        while not self.stop_event.wait(self.settings.demo.interval_s):
            try:
                texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            except OSError as exc:
                log.warning("demo feeder: cannot read %s: %s", path, exc)
                continue
            if texts:
                self.frame_source.present(texts[i % len(texts)], seconds=1.5)
                i += 1

    def submit_text(self, text: str, t_seen: float | None = None, source: str = "manual") -> Seen:
        """Hand a decoded pass text to the checkpoint (as the camera and scanner loops do).

        Returns how the de-duplication classified it; only :attr:`Seen.NEW` is decided on.
        """
        t_seen = time.monotonic() if t_seen is None else t_seen
        with self._dedupe_lock:
            seen = self.dedupe.seen(text, t_seen)
        if seen is Seen.COOLDOWN:
            log.info("re-scan within the %.0f s cooldown ignored (%s, %s...)", self.dedupe.cooldown_s, source,
                     text[:12])
        if seen is Seen.NEW:
            self._enqueue(Scan(text, t_seen, source))
        return seen

    def _enqueue(self, scan: Scan) -> None:
        while True:
            try:
                self._scans.put_nowait(scan)
                return
            except queue.Full:
                try:
                    self._scans.get_nowait()
                    self.dropped_scans += 1
                    log.warning("scan queue full: dropped the oldest scan (%d so far)", self.dropped_scans)
                except queue.Empty:
                    pass

    def add_reading(self, sample: Sample) -> None:
        """Add one thermometer reading to the ring buffer used for pairing."""
        with self._temp_cond:
            self._samples.append(sample)
            self._temp_cond.notify_all()

    # -- the decision loop ----------------------------------------------------------------------------
    def _decide_loop(self) -> None:
        while not self.stop_event.is_set():
            self._beat("decide")
            try:
                scan = self._scans.get(timeout=0.5)
            except queue.Empty:
                continue
            self.handle_scan(scan)

    def rules(self) -> GateRules:
        """The gate rules the decision uses now."""
        gate, policy = self.settings.gate, self.settings.policy
        return GateRules(gate.direction, gate.mode, self.open_hours, policy.no_reading, policy.measure_on_exit)

    def pairing_rules(self) -> PairingRules:
        """The pairing rules now (central's policy applied)."""
        p = self.settings.policy
        return PairingRules(self._policy["pair_window_s"], p.pair_lookback_s, p.samples, self._policy["fever_c"])

    def _now(self) -> Any:
        meta = self._snapshot[3] if self._snapshot else None
        return effective_now(time.time(), meta.server_time if meta else None, self.clock_floor)

    def handle_scan(self, scan: Scan) -> Outcome:
        """Decide on one scan and act on it (runs in the decide loop; public for tests and benches)."""
        self._reload_lists()
        trust, lists, _, _ = self._snapshot or (TrustList(), Lists(), {}, None)
        now = self._now()
        verdict = verify(scan.text, trust, lists, GateContext(self.settings.gate.id, self.settings.gate.direction),
                         now)
        info = verdict.pass_info
        rules = self.rules()
        minute = _minute_of_day(now.t)
        person = f"{info.pass_id}:{info.person}" if info else None
        temp_status, measurement = None, None
        if (verdict.ok and needs_temperature(rules)
                and (info is None or info.kind == "staff" or is_open(rules.open_hours, minute))):
            measurement = self._measure(scan.t_seen)
            temp_status = judge_temperature(measurement.temp_c, self._policy["fever_c"], self._had_high(person))
        decision = decide(verdict.ok, verdict.code, info.kind if info else None, temp_status, rules, minute)
        ref = self._high.get(person) if person else None
        temps = list(measurement.temps) if measurement else []
        if decision.fever and ref is not None:
            temps = [ref[2], *temps]
        fields = dict(
            event="scan", pass_id=str(info.pass_id) if info else None, household=info.household if info else None,
            person=info.person if info else None, pass_kind=info.kind if info else None,
            temp_c=measurement.temp_c if measurement else None, temps=temps,
            ref_uuid=ref[1] if (decision.fever and ref) else None,
            extra={"source": scan.source, "detail": verdict.detail} if verdict.detail else None)
        outcome = self._commit_and_act(fields, decision, now, valid_to=info.valid_to if info else None)
        self.latencies.append(time.monotonic() - scan.t_seen)
        self._after_decision(scan, person, decision, temp_status, outcome, measurement)
        return outcome

    def _measure(self, t_scan: float) -> Measurement:
        rules = self.pairing_rules()
        deadline = t_scan + rules.window_s
        with self._temp_cond:
            while True:
                now = time.monotonic()
                m = pair(self._samples, t_scan, now, rules, self._temp_used_until)
                if m.complete or self.stop_event.is_set() or now >= deadline:
                    break
                self._beat("decide")
                self._temp_cond.wait(max(0.01, min(0.5, deadline - now)))
            if m.last_t is not None:
                self._temp_used_until = m.last_t
        return m

    def _had_high(self, person: str | None) -> bool:
        if person is None:
            return False
        entry = self._high.get(person)
        return entry is not None and time.monotonic() - entry[0] <= self.settings.policy.remeasure_window_s

    def _after_decision(self, scan: Scan, person: str | None, decision: Decision, temp_status: TempStatus | None,
                        outcome: Outcome, measurement: Measurement | None) -> None:
        if person and temp_status is TempStatus.HIGH and outcome.seq > 0:
            self._high[person] = (time.monotonic(), outcome.uuid, measurement.temp_c if measurement else 0.0)
        elif person and temp_status in (TempStatus.FEVER, TempStatus.NORMAL):
            self._high.pop(person, None)
        if decision.remeasure or outcome.code == "log_failed":
            with self._dedupe_lock:
                self.dedupe.allow_rescan(scan.text)
            with self._temp_cond:  # a re-measure uses readings taken after this decision only
                self._temp_used_until = max(self._temp_used_until or 0.0, time.monotonic())
        cutoff = time.monotonic() - self.settings.policy.remeasure_window_s
        for key in [k for k, v in list(self._high.items()) if v[0] < cutoff]:
            self._high.pop(key, None)

    # -- committing and acting ----------------------------------------------------------------------
    def _commit_and_act(self, fields: dict[str, Any], decision: Decision, now: Any, *,
                        valid_to: float | None = None, guard_id: str | None = None) -> Outcome:
        """Commit the entry, then (only if it is on disk) open the gate, light up and publish."""
        shift = self._shift_guard()
        direction = self.settings.gate.direction
        row = None
        try:
            with self._db_lock:
                row = self.locallog.append(  # type: ignore[union-attr]
                    device_id=self.settings.device_id, gate_id=self.settings.gate.id, wall_ts=now.t,
                    mono_ts=time.monotonic(), boot_id=self.boot_id, clock_trusted=now.trusted,
                    direction="out" if direction == "out" else "in", decision=decision.decision,
                    reason=decision.code, guard_id=guard_id or shift, fever=decision.fever,
                    priority=decision.priority, **fields)
            self._clear_log_faults()
        except LogWriteError as exc:
            self._set_log_fault(exc)
            decision = Decision("refuse", "log_failed")
        t_decided = time.monotonic()
        if row is not None and decision.decision == "pass" and self.gate is not None:
            _safely(lambda: self.gate.pulse(self.settings.relay.pulse_s), "pulsing the gate")
        _safely(lambda: self.indicators.show(LIGHT_FOR[decision.decision], self.settings.indicators.show_s),
                "showing the lights")
        outcome = Outcome(
            seq=row["seq"] if row else -1, uuid=row["uuid"] if row else "", event=fields.get("event", "scan"),
            decision=decision.decision, code=decision.code, message_zh=message(decision.code, "zh"),
            message_en=message(decision.code, "en"), wall_ts=now.t, clock_trusted=now.trusted,
            t_decided=t_decided, temperature_c=fields.get("temp_c"), fever=decision.fever,
            remeasure=decision.remeasure, pass_kind=fields.get("pass_kind"), household=fields.get("household"),
            valid_to=valid_to, guard_id=guard_id or shift)
        self._publish(outcome)
        log.info("%s %s: %s (%s)%s", outcome.event, fields.get("pass_id") or fields.get("visitor_ref") or "-",
                 outcome.decision, outcome.code, f" {outcome.temperature_c:.2f} C" if outcome.temperature_c else "")
        return outcome

    def _set_log_fault(self, exc: LogWriteError) -> None:
        text = str(exc)
        code = "disk_full" if "disk is full" in text else "db_locked" if "locked" in text else "log_failed"
        self._faults[code] = text
        log.error("entry not saved, gate kept shut: %s", text)

    def _clear_log_faults(self) -> None:
        for code in ("disk_full", "db_locked", "log_failed"):
            if self._faults.pop(code, None) is not None:
                log.info("the local log can be written again (%s cleared)", code)

    def _publish(self, outcome: Outcome) -> None:
        self._last_outcome = outcome
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            while True:
                try:
                    q.put_nowait(outcome)
                    break
                except queue.Full:
                    try:
                        q.get_nowait()
                    except queue.Empty:
                        pass

    # -- lists, policy, health ----------------------------------------------------------------------------
    def _reload_lists(self, force: bool = False) -> None:
        try:
            with self._db_lock:
                version = edgelists.meta(self.db).version
                if not force and self._snapshot is not None and self._snapshot[3].version == version:
                    return
                self._snapshot = edgelists.load(self.db)
            self._faults.pop("lists_failed", None)
        except Exception as exc:  # keep the last good snapshot
            self._faults["lists_failed"] = str(exc)
            log.warning("cannot load the lists (keeping the last copy): %s", exc)
            return
        log.info("lists version %d loaded", self._snapshot[3].version)
        self._apply_policy(self._snapshot[2])

    def _apply_policy(self, central: dict[str, Any]) -> None:
        """Central's policy values win over the config for the keys in :data:`POLICY_KEYS`."""
        defaults = {"fever_c": self.settings.policy.fever_c, "cooldown_s": self.settings.scan.cooldown_s,
                    "pair_window_s": self.settings.policy.pair_window_s}
        for key, kind in POLICY_KEYS.items():
            value = defaults[key]
            if key in central:
                try:
                    value = kind(central[key])
                    if value != defaults[key]:
                        log.info("policy %s: central's %s wins over the config's %s", key, value, defaults[key])
                except (TypeError, ValueError):
                    log.warning("policy %s from central is not a number (%r); using the config's %s", key,
                                central[key], defaults[key])
            self._policy[key] = value
        with self._dedupe_lock:
            self.dedupe.cooldown_s = self._policy["cooldown_s"]

    def _health_loop(self) -> None:
        keeper = Housekeeper(self.locallog, self.settings.data_dir, self.settings.health.retention_days,  # type: ignore[arg-type]
                             self.settings.health.disk_floor_mb)
        next_full = 0.0
        while not self.stop_event.is_set():
            if time.monotonic() >= next_full:
                next_full = time.monotonic() + self.settings.health.check_interval_s
                meta = self._snapshot[3] if self._snapshot else None
                with self._db_lock:
                    report = keeper.run(meta.server_time if meta else None)
                for code in ("disk_low", "clock_untrusted"):
                    if code in report.faults:
                        self._faults[code] = code
                    else:
                        self._faults.pop(code, None)
            if any(c in self._faults for c in ("disk_full", "db_locked", "log_failed")):
                self._probe_log()
            self._reload_lists()
            self.stop_event.wait(2.0)

    def _probe_log(self) -> None:
        """Try a small write so a log fault clears by itself once the disk or the lock is back."""
        import sqlite3

        from gatepass.sqlitedb import transaction

        try:
            with self._db_lock, transaction(self.db):
                self.db.execute("CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, t REAL)")
                self.db.execute("INSERT OR REPLACE INTO health_probe (id, t) VALUES (1, ?)", [time.time()])
        except sqlite3.Error as exc:
            log.debug("log probe still failing: %s", exc)
            return
        self._clear_log_faults()

    # -- CheckpointAPI --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """JSON-able state for the guard page (see :class:`edge.events.CheckpointAPI`)."""
        devices = {}
        faults = []
        for name, dev in (("camera", self.frame_source), ("thermometer", self.thermometer),
                          ("scanner", self.scanner), ("gate", self.gate)):
            if dev is None:
                continue
            st, text = _device_status(dev)
            devices[name] = {"status": st, "text": text}
            if st != "ok":
                faults.append(text)
        faults += [FAULTS[c]["zh"] if c in FAULTS else c for c in list(self._faults)]
        meta = self._snapshot[3] if self._snapshot else edgelists.ListMeta()
        now = self._now()
        backlog, last_ok, sync_state = 0, None, {}
        if self.db is not None:
            try:
                with self._db_lock:
                    backlog = self.locallog.backlog()  # type: ignore[union-attr]
                    last_ok = self.db.execute("SELECT max(synced_at) FROM entries").fetchone()[0]
                    sync_state = _sync_state(self.db)
            except Exception as exc:  # the page must always get an answer
                log.debug("status: %s", exc)
        last_ok = sync_state.get("last_upload_at") or last_ok
        age = time.time() - meta.issued_at if meta.issued_at else None
        if sync_state.get("lists_age_s") is not None:  # central confirmed the lists current more recently
            age = min(age if age is not None else float("inf"), float(sync_state["lists_age_s"]))
        sync_text = "记录已全部上传" if backlog == 0 else f"{backlog} 条记录待上传"
        if sync_state.get("last_error"):
            sync_text += f"（{sync_state['last_error']}）"
        shift = self.shifts.current() if self.shifts and self.db is not None else None
        return {
            "devices": devices,
            "sync": {"last_ok_ts": last_ok, "backlog": backlog, "text": sync_text},
            "lists": {"version": meta.version, "age_s": age, "stale": age is None or age > 86400},
            "clock_trusted": now.trusted,
            "gate": {"id": self.settings.gate.id, "name": self.settings.gate.name, "mode": self.settings.gate.mode,
                     "direction": self.settings.gate.direction},
            "shift": {"guard_id": shift[1], "since": shift[2]} if shift else None,
            "faults": faults,
            "counters": {"dropped_scans": self.dropped_scans, "decode_errors": self.decode_errors,
                         "frames_decoded": self.frames_decoded,
                         "dropped_frames": getattr(self.frame_source, "dropped", 0)},
        }

    def subscribe(self) -> queue.Queue[Outcome]:
        """A bounded queue receiving every new outcome (oldest dropped when full)."""
        q: queue.Queue[Outcome] = queue.Queue(maxsize=32)
        with self._sub_lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        """Stop delivering to ``q``."""
        with self._sub_lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def last_outcome(self) -> Outcome | None:
        """The newest outcome, if any."""
        return self._last_outcome

    def preview_jpeg(self) -> bytes | None:
        """The newest frame as JPEG with the scan window drawn (cached per frame)."""
        frame = self._last_frame
        if frame is None:
            return None
        if self._preview is not None and self._preview[0] == frame.seq:
            return self._preview[1]
        import cv2

        from edge.decode import window_pixels

        image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
        image = image.copy()
        x0, y0, x1, y1 = window_pixels(image.shape, self.settings.scan.window)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 200, 0), 3)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
        if not ok:
            return None
        self._preview = (frame.seq, buf.tobytes())
        return self._preview[1]

    def _shift_guard(self) -> str | None:
        if self.shifts is None:
            return None
        with self._db_lock:
            cur = self.shifts.current()
        return cur[1] if cur else None

    def _require_guard(self, guard_id: str) -> None:
        if self.settings.gate.mode != "guarded":
            raise CheckpointError("this gate is unattended: no overrides or visitor registration")
        on_duty = self._shift_guard()
        if on_duty is None or on_duty != guard_id:
            raise CheckpointError(f"guard {guard_id} is not signed in", "sign in to a shift with the PIN first")

    def override(self, ref_uuid: str, guard_id: str, reason: str) -> Outcome:
        """Let a refused person through (guarded mode, signed-in guard, reason emergency/medical/staff)."""
        self._require_guard(guard_id)
        if reason not in OVERRIDE_REASONS:
            raise CheckpointError(f"override reason must be one of {', '.join(OVERRIDE_REASONS)}")
        with self._db_lock:
            cur = self.db.execute("SELECT * FROM entries WHERE uuid = ?", [ref_uuid])
            values = cur.fetchone()
            ref = dict(zip([d[0] for d in cur.description], values, strict=True)) if values else None
        if ref is None:
            raise CheckpointError("the entry to override does not exist")
        if ref["decision"] == "pass":
            raise CheckpointError("that entry was not refused")
        fields = {k: ref[k] for k in ("pass_id", "household", "person", "pass_kind", "visitor_ref", "temp_c")}
        fields.update(event="override", override_reason=reason, ref_uuid=ref_uuid,
                      temps=_json_list(ref["temps"]))
        decision = Decision("pass", "override", fever=bool(ref["fever"]), priority=bool(ref["fever"]))
        return self._commit_and_act(fields, decision, self._now(), guard_id=guard_id)

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None) -> Outcome:
        """Log a visitor without a pass (guarded mode); the temperature policy still decides."""
        self._require_guard(guard_id)
        if not name.strip() or not phone.strip() or not host_household.strip():
            raise CheckpointError("name, phone and host household are required")
        if temperature_c is None:
            m = self._measure(time.monotonic())
            temperature_c, temps = m.temp_c, list(m.temps)
        else:
            temps = [float(temperature_c)]
        person = f"visitor:{phone.strip()}"
        status = judge_temperature(temperature_c, self._policy["fever_c"], self._had_high(person))
        now = self._now()
        decision = decide(True, "ok", "visitor", status, self.rules(), _minute_of_day(now.t))
        if decision.code == "temp_ok":
            decision = Decision("pass", "visitor_ok")
        ref = self._high.get(person)
        visitor_ref = uuidlib.uuid4().hex[:12]
        fields = dict(event="visitor", household=host_household.strip(), pass_kind="visitor", visitor_ref=visitor_ref,
                      temp_c=temperature_c, temps=temps, ref_uuid=ref[1] if (decision.fever and ref) else None,
                      extra={"name": name.strip(), "phone": phone.strip(), "host_household": host_household.strip(),
                             "reason": reason.strip()})
        outcome = self._commit_and_act(fields, decision, now, guard_id=guard_id)
        if status is TempStatus.HIGH and outcome.seq > 0:
            self._high[person] = (time.monotonic(), outcome.uuid, float(temperature_c or 0))
        elif status in (TempStatus.FEVER, TempStatus.NORMAL):
            self._high.pop(person, None)
        return outcome

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong."""
        with self._db_lock:
            return self.shifts.start(guard_id, pin, self.locallog.last_seq())  # type: ignore[union-attr]

    def end_shift(self) -> ShiftSummary | None:
        """Sign the current guard out and return the hand-over summary."""
        with self._db_lock:
            return self.shifts.end(self.locallog.last_seq())  # type: ignore[union-attr]

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""
        with self._db_lock:
            return self.shifts.summary()  # type: ignore[union-attr]


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


def _safely(fn: Any, what: str) -> None:
    try:
        fn()
    except Exception:
        log.exception("%s failed", what)


def _minute_of_day(t: float) -> int:
    lt = time.localtime(t)
    return lt.tm_hour * 60 + lt.tm_min


def _json_list(text: str | None) -> list[float]:
    import json

    try:
        value = json.loads(text) if text else []
        return [float(v) for v in value] if isinstance(value, list) else []
    except (ValueError, TypeError):
        return []


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return uuidlib.uuid4().hex


__all__ = ["OVERRIDE_REASONS", "Checkpoint", "CheckpointError", "Scan"]
