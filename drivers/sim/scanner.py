"""Simulated GM65/GM805 QR scanner module: sends the scenario's texts, answers setting commands.

Texts of a segment are spread evenly over it (``"counter"`` sends ``PASS-00000001``,
``PASS-00000002``...); each is followed by the suffix (CR). Any valid command frame is
answered with the success reply ``02 00 00 01 00 33 31``; the trigger command also makes
it send the segment's first text at once.
"""

from __future__ import annotations

from drivers.scanner import gm65
from drivers.sim.device import DeviceSim
from drivers.sim.scenario import Scenario


class ScannerSim(DeviceSim):
    """A scanner module playing ``scenario``."""

    model = "gm65"

    def __init__(self, scenario: Scenario, suffix: bytes = b"\r") -> None:
        super().__init__(scenario)
        self.suffix = suffix
        self.counter = 0
        self._sent: dict[tuple[int, int], int] = {}
        self._decoder = gm65.ScannerCommandDecoder()

    def _text(self, text: str) -> bytes:
        if text == "counter":
            self.counter += 1
            text = f"PASS-{self.counter:08d}"
        return self.faulty(gm65.encode_text(text, self.suffix))

    def tick(self, t: float) -> bytes:
        self.now = t
        pos = self.position()
        texts = pos.segment.texts
        if not texts or "silence" in pos.segment.faults:
            return b""
        key = (pos.cycle, pos.index)
        sent = self._sent.get(key, 0)
        due = min(len(texts), int(pos.t_in / (pos.segment.duration_s / len(texts))) + 1)
        out = bytearray()
        while sent < due:
            out += self._text(texts[sent])
            sent += 1
        self._sent = {key: sent}
        return bytes(out)

    def next_due(self) -> float:
        pos = self.position()
        texts = pos.segment.texts
        if not texts:
            return self.now + 0.05
        step = pos.segment.duration_s / len(texts)
        sent = self._sent.get((pos.cycle, pos.index), 0)
        return self.now - pos.t_in + sent * step if sent < len(texts) else self.now + 0.05

    def handle(self, rx: bytes) -> bytes:
        out = bytearray()
        for command in self._decoder.feed(rx):
            if "silence" in self.faults:
                continue
            out += gm65.encode_reply(True)
            if command.type == gm65.TYPE_WRITE and command.address == gm65.ADDR_SCAN:
                texts = self.position().segment.texts
                if texts:
                    out += self._text(texts[0])
        return bytes(out)
