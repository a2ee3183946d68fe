"""What the guard screen shows, from fake devices and plain parts: the exact keys, faults in plain words."""

from __future__ import annotations

from edge.checkpoint_status import Sources, StatusView
from edge.decode import QrDecoder
from edge.dedupe import Deduper
from edge.devices import Devices
from edge.direction import DirectionChoice
from edge.events import Fanout, Notice
from edge.faults import FaultBoard
from edge.health_code import HealthCodeDesk
from edge.lists_policy import ListsAndPolicy
from edge.loops import LoopRunner
from edge.scan_input import InputLoops
from edge.scan_intake import ScanIntake
from edge.temperatures import TemperatureBuffer
from gatepass.clock import ManualClock


class Broken:
    """A driver whose status raises."""

    @property
    def status(self) -> str:
        raise RuntimeError("gone")


class Unplugged:
    status, status_text, dropped = "disconnected", "摄像头未连接", 3


def test_status_shape_devices_faults_and_counters(opened_store):
    store, settings = opened_store()
    clock, faults = ManualClock(), FaultBoard()
    notices: Fanout[Notice] = Fanout()
    lists = ListsAndPolicy(settings, store, faults, clock)
    lists.reload()
    intake = ScanIntake(Deduper(), notices, clock, 4)
    inputs = InputLoops(QrDecoder(), intake, TemperatureBuffer(clock), LoopRunner(faults), clock)
    devices = Devices(frame_source=Unplugged(), thermometer=Broken(), gate=Unplugged())  # type: ignore[arg-type]
    view = StatusView(settings, Sources(devices, faults, store, lists, intake, inputs,
                                        DirectionChoice(notices, clock), HealthCodeDesk()), notices, clock)
    faults.raise_("disk_low", "disk_low")
    faults.raise_("odd_code", "x")
    status = view.status()
    assert list(status) == ["devices", "sync", "lists", "clock_trusted", "gate", "shift", "faults", "counters",
                            "health_code"]
    assert status["health_code"] == {"policy": "off", "waiting": False}
    assert status["devices"]["camera"] == {"status": "disconnected", "text": "摄像头未连接"}
    assert status["devices"]["thermometer"] == {"status": "disconnected", "text": "Broken: gone"}
    assert status["faults"][:2] == ["摄像头未连接", "Broken: gone"] and status["faults"][-1] == "odd_code"
    assert len(status["faults"]) == 5 and "存储空间不足" in status["faults"][3]
    # the codes central's devices page files them under (the gate is its relay)
    assert view.fault_codes() == ["camera", "thermometer", "relay", "disk_low", "odd_code"]
    assert status["counters"] == {"dropped_scans": 0, "decode_errors": 0, "frames_decoded": 0, "dropped_frames": 3}
    assert status["sync"]["backlog"] == 0 and status["sync"]["text"] == "记录已全部上传"
    assert status["lists"]["version"] == 1 and status["shift"] is None
    assert status["gate"]["chosen_direction"] is None and view.preview_jpeg() is None
