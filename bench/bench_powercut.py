"""Real power cuts: the edge and the sync on lazyfs (a FUSE layer that drops everything not fsynced), the
power cut at random moments of start-up, scanning and syncing, each cut followed by the invariant checks of
tests/powercut/rig.py (pulsed entries on disk, chain, central's entries kept) and a final drain (central ==
gate). Half the cuts drop every un-synced byte; half let a random part of the page cache reach the disk first
(torn, out-of-order page writes and a prefix of the pending directory operations).

``python -m bench powercut`` (``--quick``: 20 cuts; else 200). Needs /dev/fuse and Debian's fuse3.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bench.harness import Result


def _run(tmp: Path, cuts: int, writeback: float) -> Result:
    from tests.powercut.rig import power_cuts

    seed = random.randrange(1 << 30)
    report = power_cuts(tmp, cuts, seed=seed, writeback=writeback)
    return Result(f"power cuts survived (writeback {writeback:g})", report.cuts - len(
        {p.split(":")[0] for p in report.problems if p.startswith("run ")}), "cuts", notes={
        "cuts": report.cuts, "pulses": report.pulses, "entries": report.entries,
        "at central": report.acknowledged, "start-up cuts": report.startup_cuts, "lost": len(report.problems),
        "drained": report.drained, "central==gate": report.central_equals_gate, "seed": seed,
        "seconds": round(report.seconds), **({"first problems": report.problems[:3]} if report.problems else {})})


def run(quick: bool = False) -> list[Result]:
    from tests.powercut.conftest import fuse_missing

    if fuse_missing():
        print(f"  power cuts skipped: {fuse_missing()}")
        return []
    cuts = 20 if quick else 200
    with tempfile.TemporaryDirectory() as d:
        return [_run(Path(d) / "drop", cuts // 2, 0.0), _run(Path(d) / "writeback", cuts - cuts // 2, 0.3)]
