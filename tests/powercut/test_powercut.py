"""Real power cuts: the edge and the sync on lazyfs, the power cut at random moments, the invariants after
each cut and after the drain (see tests/powercut/rig.py). The long run: ``python -m bench powercut``."""

from __future__ import annotations

import random

import pytest

from tests.powercut.conftest import SUMMARIES
from tests.powercut.rig import PowerCutRig, power_cuts

CUTS = 6


@pytest.mark.slow
def test_the_gate_survives_power_cuts(fuse, tmp_path):
    seed = random.randrange(1 << 30)
    report = power_cuts(tmp_path, CUTS, seed=seed, writeback=0.3, max_run_s=2.5)
    SUMMARIES.append(f"tests: {report.summary()} (seed {seed})")
    assert report.cuts == CUTS
    assert report.problems == [], f"seed {seed}: logs in {tmp_path / 'logs'}"
    assert report.pulses > 0 and report.entries >= report.pulses
    assert report.drained and report.central_equals_gate


@pytest.mark.slow
def test_the_checks_catch_a_disk_that_loses_committed_entries(fuse, tmp_path):
    rig = PowerCutRig(tmp_path, seed=1, lie=True, startup_share=0)
    try:
        rig.start()
        rig.run_once(0, 0.5)
    finally:
        rig.stop()
    assert any("gate pulses but" in p for p in rig.report.problems), rig.report.problems
    assert any("passed but not on disk" in p for p in rig.report.problems)
