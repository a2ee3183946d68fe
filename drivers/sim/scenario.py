"""Simulator scenarios: what a simulated device measures, sends and does wrong, over time.

A scenario is a TOML file::

    loop = true          # start again after the last segment (default true; else the last one stays)
    rate_hz = 14.0       # thermometer: readings per second in continuous mode (default per model)
    seed = 1             # random seed for ranges, noise and junk (default 1)

    [[segment]]
    duration_s = 3.0     # seconds (> 0)
    object_c = 36.6      # thermometer: a number, [low, high] (uniform per reading) or "counter"
                         #   ("counter": reading n measures (n % 30000) / 100 C, to detect loss and order)
    ambient_c = 20.0     # thermometer: ambient in degrees C (default 20.0)
    texts = ["GP1:..."]  # scanner: texts decoded during this segment, spread evenly ("counter": PASS-00000001...)
    fault = "none"       # or a list; none | bad_checksum | split | junk | silence | unplug

Faults: ``bad_checksum`` corrupts the checksum of every frame sent; ``split`` writes each
frame in two pieces a few milliseconds apart; ``junk`` puts random bytes before each frame;
``silence`` sends nothing (commands are ignored); ``unplug`` closes the pseudo-terminal and
removes the ``--link`` symlink (TCP: closes the connection and stops listening) for the
segment, and a new one appears after it, like a USB device unplugged and plugged back.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from drivers.errors import DriverError

FAULTS = frozenset({"none", "bad_checksum", "split", "junk", "silence", "unplug"})


class ScenarioError(DriverError):
    """A scenario file cannot be used."""


@dataclass(frozen=True)
class Segment:
    """One stretch of time with constant settings."""

    duration_s: float
    object_c: float | tuple[float, float] | str = 36.5
    ambient_c: float = 20.0
    texts: tuple[str, ...] = ()
    faults: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Position:
    """Where time ``t`` falls: loop count, segment index, the segment, seconds into it."""

    cycle: int
    index: int
    segment: Segment
    t_in: float


@dataclass
class Scenario:
    """Segments played in order (looping by default)."""

    segments: list[Segment]
    loop: bool = True
    rate_hz: float | None = None
    seed: int = 1
    length_s: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.segments:
            raise ScenarioError("a scenario needs at least one [[segment]]")
        self.length_s = sum(s.duration_s for s in self.segments)

    def at(self, t: float) -> Position:
        """The segment in force ``t`` seconds after the start."""
        cycle, t_in_cycle = divmod(max(0.0, t), self.length_s)
        if not self.loop and cycle >= 1:
            last = len(self.segments) - 1
            return Position(0, last, self.segments[last], self.segments[last].duration_s)
        for index, seg in enumerate(self.segments):
            if t_in_cycle < seg.duration_s:
                return Position(int(cycle), index, seg, t_in_cycle)
            t_in_cycle -= seg.duration_s
        last = len(self.segments) - 1
        return Position(int(cycle), last, self.segments[last], self.segments[last].duration_s)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "scenario") -> Scenario:
        """Build from parsed TOML; every problem is a :class:`ScenarioError` naming ``source``."""
        unknown = set(data) - {"loop", "rate_hz", "seed", "segment"}
        if unknown:
            raise ScenarioError(f"{source}: unknown key(s) {sorted(unknown)}")
        raw_segments = data.get("segment", [])
        if not isinstance(raw_segments, list):
            raise ScenarioError(f"{source}: segment must be an array of tables ([[segment]])")
        segments = [_segment(raw, f"{source}: segment {i + 1}") for i, raw in enumerate(raw_segments)]
        rate = data.get("rate_hz")
        if rate is not None and (not _number(rate) or not 0 < rate <= 10000):
            raise ScenarioError(f"{source}: rate_hz must be a number in (0, 10000]")
        loop, seed = data.get("loop", True), data.get("seed", 1)
        if not isinstance(loop, bool):
            raise ScenarioError(f"{source}: loop must be true or false")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ScenarioError(f"{source}: seed must be an integer")
        return cls(segments, loop=loop, rate_hz=rate, seed=seed)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a TOML scenario file."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
        return cls.from_dict(data, str(path))


def _number(value: object) -> TypeGuard[int | float]:
    """A finite-or-infinite real number from TOML (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN


def _segment(raw: Any, where: str) -> Segment:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    unknown = set(raw) - {"duration_s", "object_c", "ambient_c", "texts", "fault"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {sorted(unknown)}")
    duration = raw.get("duration_s")
    if not _number(duration) or not 0 < duration < 1e9:
        raise ScenarioError(f"{where}: duration_s must be a positive number of seconds")
    obj = raw.get("object_c", 36.5)
    if isinstance(obj, list):
        if len(obj) != 2 or not all(_number(v) for v in obj) or obj[0] > obj[1]:
            raise ScenarioError(f"{where}: object_c range must be [low, high]")
        obj = (float(obj[0]), float(obj[1]))
    elif isinstance(obj, str):
        if obj != "counter":
            raise ScenarioError(f"{where}: object_c must be a number, [low, high] or \"counter\"")
    elif _number(obj):
        obj = float(obj)
    else:
        raise ScenarioError(f"{where}: object_c must be a number, [low, high] or \"counter\"")
    fault = raw.get("fault", "none")
    faults = [fault] if isinstance(fault, str) else fault
    if not isinstance(faults, list) or not all(isinstance(f, str) and f in FAULTS for f in faults):
        raise ScenarioError(f"{where}: fault must be one or a list of {sorted(FAULTS)}")
    texts = raw.get("texts", [])
    if not isinstance(texts, list) or not all(isinstance(x, str) for x in texts):
        raise ScenarioError(f"{where}: texts must be a list of strings")
    ambient = raw.get("ambient_c", 20.0)
    if not _number(ambient):
        raise ScenarioError(f"{where}: ambient_c must be a number")
    return Segment(float(duration), obj, float(ambient), tuple(texts), frozenset(faults) - {"none"})


def default_thermometer() -> Scenario:
    """A plausible gate: subjects at 36.0-37.0 C, an occasional fever, empty doorway in between."""
    return Scenario([
        Segment(2.0, 25.0, 20.0),
        Segment(3.0, (36.0, 37.0), 20.0),
        Segment(2.0, 24.5, 20.0),
        Segment(3.0, (36.2, 36.9), 20.1),
        Segment(2.0, 25.5, 20.0),
        Segment(3.0, (36.1, 36.8), 20.0),
        Segment(2.0, 24.8, 19.9),
        Segment(2.0, (37.5, 37.8), 20.0),
    ])


def default_scanner() -> Scenario:
    """A text every five seconds."""
    return Scenario([Segment(5.0, texts=("GATEPASS-DEMO-0001",)), Segment(5.0, texts=("GATEPASS-DEMO-0002",))])


def default_relay() -> Scenario:
    """A healthy relay board forever."""
    return Scenario([Segment(3600.0)])
