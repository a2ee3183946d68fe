"""The checkpoint's input loops: camera frames, the serial scanner, the thermometer, the demo feeder.

Frames are decoded (:class:`edge.decode.QrDecoder`, only the scan window) and every text, like every
scanner text, goes to :meth:`edge.scan_intake.ScanIntake.submit`; thermometer readings go into the
:class:`edge.temperatures.TemperatureBuffer` used for pairing. The demo feeder shows the passes of
``[demo] passes_file`` to a simulated camera in turn. Each loop runs in its own thread under
:class:`edge.loops.LoopRunner` and beats on every turn.
"""

from __future__ import annotations

import logging
from pathlib import Path

from drivers.camera.source import Frame
from drivers.interfaces import DemoPresenter, FrameSourceDevice, ScannerDevice, ThermometerDevice
from edge.decode import DecodeError, QrDecoder
from edge.loops import Loop, LoopRunner
from edge.pairing import Sample
from edge.scan_intake import ScanIntake
from edge.settings import EdgeSettings
from edge.temperatures import TemperatureBuffer
from gatepass.clock import Clock

log = logging.getLogger(__name__)


class InputLoops:
    """The loops that feed the intake and the temperature buffer; the newest frame and decode counters."""

    def __init__(self, decoder: QrDecoder, intake: ScanIntake, readings: TemperatureBuffer, runner: LoopRunner,
                 clock: Clock) -> None:
        self.decoder = decoder
        self.intake = intake
        self.readings = readings
        self.runner = runner
        self.clock = clock
        self.decode_errors = 0
        self.frames_decoded = 0
        #: The newest frame seen (for the preview), None before the first.
        self.last_frame: Frame | None = None

    def loops(self, settings: EdgeSettings, frame_source: FrameSourceDevice | None, scanner: ScannerDevice | None,
              thermometer: ThermometerDevice | None) -> list[Loop]:
        """The loops for the devices there are (and the demo feeder when configured)."""
        loops: list[Loop] = []
        if frame_source is not None:
            loops.append(("frames", lambda: self.frames_loop(frame_source)))
        if scanner is not None:
            loops.append(("scanner", lambda: self.scanner_loop(scanner)))
        if thermometer is not None:
            loops.append(("thermometer", lambda: self.thermo_loop(thermometer)))
        passes_file, interval_s = settings.demo.passes_file, settings.demo.interval_s
        if passes_file and isinstance(frame_source, DemoPresenter):
            loops.append(("feeder", lambda: self.feeder_loop(frame_source, Path(passes_file), interval_s)))
        return loops

    def frames_loop(self, frame_source: FrameSourceDevice) -> None:
        """Decode every new frame."""
        last_seq = None
        while not self.runner.stopped:
            self.runner.beat("frames")
            frame = frame_source.latest(0.5)
            if frame is None or frame.seq == last_seq:
                if frame is not None:
                    self.runner.stop_event.wait(0.005)
                continue
            last_seq = frame.seq
            self.last_frame = frame
            self.decode_frame(frame)

    def decode_frame(self, frame: Frame) -> None:
        """Submit the texts of the QR codes in ``frame`` (counted; a frame that cannot be decoded is skipped)."""
        try:
            texts = self.decoder.decode(frame.image)
        except DecodeError as exc:
            self.decode_errors += 1
            log.debug("frame %s skipped: %s", frame.seq, exc)
            return
        self.frames_decoded += 1
        for text in texts:
            self.intake.submit(text, frame.t_monotonic, "camera")

    def scanner_loop(self, scanner: ScannerDevice) -> None:
        """Submit every scanned text."""
        while not self.runner.stopped:
            self.runner.beat("scanner")
            text = scanner.read(0.5)
            if text:
                self.intake.submit(text, self.clock.monotonic(), "scanner")

    def thermo_loop(self, thermometer: ThermometerDevice) -> None:
        """Keep every reading."""
        while not self.runner.stopped:
            self.runner.beat("thermometer")
            reading = thermometer.read(0.5)
            if reading is not None:
                self.readings.add(Sample(reading.t_monotonic, reading.body_c))

    def feeder_loop(self, presenter: DemoPresenter, path: Path, interval_s: float) -> None:
        """Demo: show the passes of ``path`` to the simulated camera in turn."""
        i = 0
        while not self.runner.stop_event.wait(interval_s):
            try:
                texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            except OSError as exc:
                log.warning("demo feeder: cannot read %s: %s", path, exc)
                continue
            if texts:
                presenter.present(texts[i % len(texts)], seconds=1.5)
                i += 1
