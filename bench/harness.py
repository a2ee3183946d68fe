"""Timing helpers for benchmarks: interleaved repeats, medians, ratios to a baseline."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    """One measured figure, optionally compared with a baseline from the same run."""

    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float = 0.0
    notes: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline_value if self.baseline_value else None

    def line(self) -> str:
        text = f"{self.name}: {self.value:.6g} {self.unit}"
        if self.baseline_name:
            text += f"  | baseline {self.baseline_name}: {self.baseline_value:.6g} {self.unit}"
            # a baseline of 0 (the old path read none of these frames) has no finite ratio: say so, not nothing
            text += f"  | ratio {self.ratio:.3g}" if self.ratio is not None else "  | ratio: none (baseline 0)"
        for key, val in self.notes.items():
            text += f"  | {key}: {val}"
        return text


def per_call(fn: Callable[[], object], repeat: int, number: int) -> list[float]:
    """Seconds per call of ``fn``, one sample per repeat of ``number`` calls."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return samples


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 7, number: int = 100) -> dict[str, float]:
    """Median seconds per call for each function, measured alternately so load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            samples[name].extend(per_call(fn, 1, number))
    return {name: statistics.median(vals) for name, vals in samples.items()}


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``values`` by nearest rank."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]
