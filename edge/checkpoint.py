"""The checkpoint: frames or scanner -> decode -> verify -> pair temperature -> decide -> log -> gate.

:class:`Checkpoint` implements :class:`edge.events.CheckpointAPI` for the guard page. It is a thin facade
that wires small parts, each with its own state, named for what they hold:

* :mod:`edge.devices`: the camera, scanner, thermometer, gate output and lights (opened at start);
* :mod:`edge.store`: the device database, its lock, the local log and the shift book;
* :mod:`edge.scan_intake`: de-duplication, the bounded scan queue (drop and count), re-scan notices;
* :mod:`edge.scan_input`: the ``frames``, ``scanner``, ``thermometer`` and demo ``feeder`` loops;
* :mod:`edge.temperatures`: the readings buffer (pairing) and the fever memory;
* :mod:`edge.lists_policy`: the lists snapshot, central's policy and the time to judge passes by;
* :mod:`edge.gate_profile`: the gate and pairing rules from the settings;
* :mod:`edge.scan_decide`: the ``decide`` loop: verify, pair a temperature, decide (one scan at a time);
* :mod:`edge.entry_recorder`: commit the entry durably, and only then pulse the gate, light up and publish;
* :mod:`edge.guard_desk`: shifts, overrides, visitors, the direction at "both" gates (:mod:`edge.direction`);
* :mod:`edge.upkeep`: the ``health`` loop (retention, disk floor, clock, log probe, lists reload);
* :mod:`edge.faults`: the fault board; :mod:`edge.checkpoint_status`: what the guard screen shows;
* :mod:`edge.loops`: one thread per loop, restarted after an exception, watchdog heartbeats.

All loops are stopped through one ``threading.Event``. Nothing here opens hardware or starts threads before
:meth:`Checkpoint.start`. Time comes from the injected clock (``clock=``, default :data:`gatepass.clock.SYSTEM`).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from drivers.interfaces import FrameSourceDevice, GateOutput, ScannerDevice, ThermometerDevice
from edge.checkpoint_status import Sources, StatusView
from edge.decode import QrDecoder
from edge.dedupe import Deduper, Seen
from edge.delivery_book import Parcel
from edge.devices import Devices
from edge.direction import DirectionChoice
from edge.entry_recorder import EntryRecorder
from edge.events import Fanout, Notice, Outcome, ShiftSummary
from edge.fault_history import FaultHistory
from edge.faults import OUTSIDE_FAULTS, FaultBoard
from edge.gate_profile import GateProfile
from edge.guard_desk import OVERRIDE_REASONS, CheckpointError, GuardDesk
from edge.handover import HandOverNote
from edge.health_code import HealthCodeDesk
from edge.indicators import Indicators, NoIndicators
from edge.lists_policy import POLICY_KEYS, ListsAndPolicy
from edge.loops import Loop, LoopRunner
from edge.pairing import Sample
from edge.scan_decide import ScanDecider, Thermal
from edge.scan_input import InputLoops
from edge.scan_intake import Scan, ScanIntake
from edge.settings import EdgeSettings
from edge.store import LocalStore
from edge.temperatures import FeverMemory, TemperatureBuffer
from edge.upkeep import HealthLoop
from edge.vehicle_book import VehicleDesk
from edge.vehicle_fields import VehicleForm
from gatepass.clock import SYSTEM, Clock

log = logging.getLogger(__name__)


class Checkpoint:
    """The checkpoint; see the module docstring. Devices are optional (None: not used)."""

    def __init__(self, settings: EdgeSettings, *, frame_source: FrameSourceDevice | None = None,
                 scanner: ScannerDevice | None = None, thermometer: ThermometerDevice | None = None,
                 gate: GateOutput | None = None, indicators: Indicators | None = None,
                 stop_event: threading.Event | None = None, clock: Clock = SYSTEM) -> None:
        self.settings = settings
        self.devices = Devices(frame_source, scanner, thermometer, gate, indicators or NoIndicators())
        self.faults = FaultBoard()
        self.runner = LoopRunner(self.faults, stop_event)
        self.store = LocalStore(settings)
        notices: Fanout[Notice] = Fanout()  # re-scan and direction notices for the guard page
        self.intake = ScanIntake(Deduper(settings.scan.same_scan_gap_s, settings.scan.cooldown_s), notices, clock,
                                 settings.scan.queue_size)
        boot = boot_id()
        self.lists = ListsAndPolicy(settings, self.store, self.faults, clock, boot_id=boot,
                                    on_policy=lambda p: self.intake.set_cooldown(p.cooldown_s))
        self.readings = TemperatureBuffer(clock)
        fevers = FeverMemory(clock, settings.policy.remeasure_window_s)
        self.recorder = EntryRecorder(settings, self.store, self.faults, clock, gate=gate,
                                      indicators=self.devices.indicators, boot_id=boot)
        choice = DirectionChoice(notices, clock)
        profile = GateProfile.of(settings)
        health = HealthCodeDesk(settings.policy.health_code_wait_s)  # the scan held for the guard's colour tap
        self.decider = ScanDecider(profile, self.lists, self.intake, Thermal(self.readings, fevers), self.store,
                                   self.recorder, choice, self.runner, clock, health)
        history = FaultHistory()  # when each fault started and ended (hand-over, central)
        self.desk = GuardDesk(profile, self.store, self.recorder, self.lists, fevers, choice, clock,
                              self.decider.measure, health, history)
        self.vehicles = VehicleDesk(self.desk)  # the vehicle lane's register (edge.vehicle_book)
        self.desk.admit_hooks["vehicle"] = self.vehicles.admit_override  # an overridden refusal puts it inside
        self.inputs = InputLoops(QrDecoder(settings.scan.decoder, settings.scan.window), self.intake, self.readings,
                                 self.runner, clock)
        self.health = HealthLoop(settings.health, self.store, self.recorder, self.lists, self.runner, clock,
                                 history, faults_now=lambda: self.view.fault_codes())
        self.view = StatusView(settings, Sources(self.devices, self.faults, self.store, self.lists, self.intake,
                                                 self.inputs, choice, health), notices, clock)

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the database and the devices, then start the loops."""
        self.store.open()
        self.lists.reload(force=True)
        self.devices.open_all()
        self.runner.start(self._loops())
        log.info("checkpoint %s started (%s, %s)", self.settings.gate.id, self.settings.gate.mode,
                 self.settings.gate.direction)

    def _loops(self) -> list[Loop]:
        d = self.devices
        return [("decide", self.decider.loop), ("health", self.health.loop),
                *self.inputs.loops(self.settings, d.frame_source, d.scanner, d.thermometer)]

    def stop(self) -> None:
        """Stop the loops, release the gate and close the devices and the database."""
        self.runner.stop_event.set()
        self.readings.wake_all()
        self.decider.health.wake()
        self.runner.join()
        self.devices.close_all()
        self.store.close()

    # -- scans and readings -------------------------------------------------------------------------
    def submit_text(self, text: str, t_seen: float | None = None, source: str = "manual") -> Seen:
        """Hand a decoded pass text to the checkpoint (as the camera and scanner loops do).

        Returns how the de-duplication classified it; only :attr:`Seen.NEW` is decided on.
        """
        return self.intake.submit(text, t_seen, source)

    def add_reading(self, sample: Sample) -> None:
        """Add one thermometer reading to the ring buffer used for pairing."""
        self.readings.add(sample)

    def handle_scan(self, scan: Scan) -> Outcome:
        """Decide on one scan and act on it (the decide loop does; public for tests and benches)."""
        return self.decider.handle_scan(scan)

    # -- outcomes, notices, status (CheckpointAPI) ---------------------------------------------------
    def subscribe(self) -> queue.Queue[Outcome]:
        """A bounded queue receiving every new outcome (oldest dropped when full)."""
        return self.recorder.subscribe()

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        """Stop delivering to ``q``."""
        self.recorder.unsubscribe(q)

    def last_outcome(self) -> Outcome | None:
        """The newest outcome, if any."""
        return self.recorder.last_outcome()

    def subscribe_notices(self) -> queue.Queue[Notice]:
        """A bounded queue receiving every new :class:`~edge.events.Notice` (oldest dropped when full)."""
        return self.view.subscribe_notices()

    def unsubscribe_notices(self, q: queue.Queue[Notice]) -> None:
        """Stop delivering notices to ``q``."""
        self.view.unsubscribe_notices(q)

    def status(self) -> dict[str, Any]:
        """JSON-able state for the guard page (see :class:`edge.events.CheckpointAPI`)."""
        return dict(self.view.status())

    def preview_jpeg(self) -> bytes | None:
        """The newest frame as JPEG with the scan window drawn (cached per frame)."""
        return self.view.preview_jpeg()

    # -- the guard's actions (CheckpointAPI) ---------------------------------------------------------
    def override(self, ref_uuid: str, guard_id: str, reason: str, note: str = "", confirmed: bool = False) -> Outcome:
        """Let a refused person through (guarded mode, signed-in guard); see :class:`edge.events.CheckpointAPI`."""
        return self.desk.override(ref_uuid, guard_id, reason, note, confirmed)

    def report_fault(self, code: str, on: bool, detail: str = "") -> None:
        """Raise or clear an outside part's fault (:data:`edge.faults.OUTSIDE_FAULTS`); see ``CheckpointAPI``."""
        if code not in OUTSIDE_FAULTS:
            raise CheckpointError(f"unknown outside fault {code!r}")
        if on:
            self.faults.raise_(code, detail or code)
        else:
            self.faults.clear(code)

    def health_code_colour(self, colour: str, guard_id: str) -> None:
        """The city health code colour the guard saw for the scan being held; see :class:`edge.events.CheckpointAPI`."""
        self.desk.health_code_colour(colour, guard_id)

    def register_visitor(self, guard_id: str, name: str, phone: str, host_household: str, reason: str,
                         temperature_c: float | None, details: dict[str, Any] | None = None) -> Outcome:
        """Log a visitor without a pass (guarded mode); the temperature policy still decides."""
        return self.desk.register_visitor(guard_id, name, phone, host_household, reason, temperature_c, details)

    def recent_visitor(self, guard_id: str, phone: str) -> dict[str, Any] | None:
        """The latest visit at this gate of the visitor with ``phone``, or None."""
        return self.desk.recent_visitor(guard_id, phone)

    def visitors_inside(self) -> list[dict[str, Any]]:
        """Visitors let in who have not left, longest inside first."""
        return self.desk.visitors_inside()

    def record_visitor_exit(self, guard_id: str, visit_uuid: str) -> dict[str, Any]:
        """Record that the visitor of ``visit_uuid`` left (signed-in guard)."""
        return self.desk.record_visitor_exit(guard_id, visit_uuid)

    def vehicle_lane(self) -> list[str]:
        """The purposes vehicles may enter for at this gate (empty: no vehicle lane)."""
        return sorted(self.vehicles.allowed_purposes())

    def register_vehicle(self, guard_id: str, form: VehicleForm) -> Outcome:
        """Log a vehicle at a vehicle lane (signed-in guard); refused when the lane does not allow its purpose."""
        return self.vehicles.register(guard_id, form)

    def vehicles_inside(self) -> list[dict[str, Any]]:
        """Vehicles let in who have not left, longest inside first."""
        return self.vehicles.inside()

    def record_vehicle_exit(self, guard_id: str, vehicle_uuid: str) -> dict[str, Any]:
        """Record that the vehicle of entry ``vehicle_uuid`` left (signed-in guard)."""
        return self.vehicles.record_exit(guard_id, vehicle_uuid)
    def record_delivery(self, guard_id: str, parcel: Parcel) -> dict[str, Any]:
        """Record a delivery left at the gate for a household (drop-off mode, signed-in guard)."""
        return self.desk.deliveries.record(guard_id, parcel)

    def deliveries_waiting(self) -> dict[str, Any]:
        """Whether this gate is in drop-off mode and the deliveries waiting here."""
        return {"drop_off": self.desk.deliveries.drop_off(), "waiting": self.desk.deliveries.waiting()}

    def record_pickup(self, guard_id: str, delivery_uuid: str, kind: str, name: str = "") -> dict[str, Any]:
        """Record the pickup of a delivery (by the household's pass scanned, a name, or carried up by staff)."""
        return self.desk.deliveries.pickup(guard_id, delivery_uuid, kind, name)

    def start_shift(self, guard_id: str, pin: str) -> bool:
        """Sign a guard in with their PIN; False if the PIN is wrong."""
        return self.desk.start_shift(guard_id, pin)

    def end_shift(self, note: str = "") -> ShiftSummary | None:
        """Sign the current guard out with a hand-over note; the hand-over summary."""
        return self.desk.end_shift(note)

    def last_hand_over(self) -> HandOverNote | None:
        """The latest hand-over at this gate, with its note (for the guard who signs in next)."""
        return self.desk.last_hand_over()

    def shift_summary(self) -> ShiftSummary | None:
        """The running summary of the current shift."""
        return self.desk.shift_summary()

    def set_direction(self, direction: str | None, guard_id: str) -> None:
        """At a "both" gate, the direction people pass now ("in", "out"; None: infer it again)."""
        self.desk.set_direction(direction, guard_id)

    # -- what the service, tests and benches read ----------------------------------------------------
    @property
    def stop_event(self) -> threading.Event:
        """The event that stops every loop."""
        return self.runner.stop_event

    @property
    def clock_floor(self) -> float:
        """The earliest believable wall time (unix s); set by the service from its start-up clock check."""
        return self.lists.clock_floor

    @clock_floor.setter
    def clock_floor(self, value: float) -> None:
        self.lists.clock_floor = value

    @property
    def heartbeat(self) -> Callable[[str], object] | None:
        """Called as ``heartbeat(loop_name)`` on every turn of every loop (the systemd watchdog); None: nothing."""
        return self.runner.heartbeat

    @heartbeat.setter
    def heartbeat(self, hook: Callable[[str], object] | None) -> None:
        self.runner.heartbeat = hook

    @property
    def frame_source(self) -> FrameSourceDevice | None:
        """The camera, if any."""
        return self.devices.frame_source

    @property
    def scanner(self) -> ScannerDevice | None:
        """The serial scanner, if any."""
        return self.devices.scanner

    @property
    def thermometer(self) -> ThermometerDevice | None:
        """The thermometer, if any."""
        return self.devices.thermometer

    @property
    def gate(self) -> GateOutput | None:
        """The gate output, if any."""
        return self.devices.gate

    @property
    def decoder(self) -> QrDecoder:
        """The QR decoder of the camera frames."""
        return self.inputs.decoder

    @property
    def db(self) -> sqlite_utils.Database | None:
        """The open device database (None before start and after stop)."""
        return self.store.db

    @property
    def boot_id(self) -> str:
        """The kernel's boot id, logged with every entry."""
        return self.recorder.boot_id

    @property
    def latencies(self) -> collections.deque[float]:
        """Scan seen -> committed (s), newest last."""
        return self.decider.latencies

    @property
    def dropped_scans(self) -> int:
        """Scans dropped because the scan queue was full."""
        return self.intake.dropped


def boot_id() -> str:
    """The kernel's boot id (a random id when there is none)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return uuidlib.uuid4().hex


__all__ = ["OVERRIDE_REASONS", "POLICY_KEYS", "Checkpoint", "CheckpointError", "Scan"]
