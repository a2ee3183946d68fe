"""``gatepass sim ...`` and ``gatepass doctor`` as real commands."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sim.relay import RelaySim
from drivers.sim.scanner import ScannerSim
from drivers.sim.scenario import Scenario, ScenarioError
from drivers.sim.thermometer import ThermometerSim
from edge.cli import doctor_command
from tests.waiting import wait_until

from .conftest import write_scenario


@pytest.mark.parametrize("device", ["thermometer", "scanner", "relay"])
def test_sim_prints_the_pty_path_first_and_stops_on_sigterm(sim, tmp_path, device):
    link = tmp_path / device
    proc = sim(device, "--pty", "--link", str(link), via_gatepass=device == "thermometer")
    assert proc.first_line.startswith("pty: /dev/pts/")
    assert link.is_symlink() and str(link.resolve()) == proc.first_line.split(" ", 1)[1]
    assert proc.stop() == 0
    assert not link.exists() and not link.is_symlink()


def test_bad_scenario_is_a_one_line_error(tmp_path):
    path = write_scenario(tmp_path / "bad.toml", '[[segment]]\nduration_s = 1\nfault = "meteor"\n')
    out = subprocess.run([sys.executable, "-m", "drivers.sim", "thermometer", "--pty", "--scenario", path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "fault must be" in out.stderr and "segment 1" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("[[segment]]\nduration_s = 0\n", "duration_s"),
    ("[[segment]]\nduration_s = 1\nobject_c = [37, 36]\n", "object_c"),
    ("[[segment]]\nduration_s = 1\nobject_c = \"hot\"\n", "object_c"),
    ("rate_hz = -1\n[[segment]]\nduration_s = 1\n", "rate_hz"),
    ("speed = 1\n[[segment]]\nduration_s = 1\n", "unknown"),
    ("", "at least one"),
])
def test_scenario_validation(text, message):
    import tomllib

    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict(tomllib.loads(text))


def test_scenario_positions_loop():
    scenario = Scenario.from_dict({"segment": [{"duration_s": 1.0, "object_c": 36.0},
                                               {"duration_s": 2.0, "fault": ["junk", "split"]}]})
    assert scenario.at(0.5).index == 0
    pos = scenario.at(4.5)
    assert (pos.cycle, pos.index, pos.segment.faults) == (1, 1, frozenset({"junk", "split"}))


def _doctor(*args: str):
    """Run the real ``gatepass doctor`` command in this process (saves a slow interpreter start)."""
    result = CliRunner().invoke(doctor_command, list(args))
    return result.exit_code, result.output


def test_doctor_gives_a_verdict_per_device(sim, tmp_path):
    link = tmp_path / "thermometer"
    sim("thermometer", "--pty", "--link", str(link))
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[thermometer]\nurl = "{link}"\n[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n')
    code, out = _doctor("--config", str(cfg), "--timeout", "5")
    assert code == 0, out
    assert "serial ports:" in out and "video devices:" in out
    assert "thermometer  OK" in out and "camera       OK" in out and "gate         OK" in out
    assert "verdict: all configured devices work" in out


def test_doctor_names_the_failing_device(tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[thermometer]\nurl = "{tmp_path / "gone"}"\n[camera]\nsource = "sim://"\n')
    code, out = _doctor("--config", str(cfg), "--timeout", "0.5")
    assert code == 1
    assert "thermometer  FAIL" in out and "未连接" in out
    assert "verdict: not working: thermometer" in out


def test_doctor_release_gate(tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[relay]\nkind = "fake"\n')
    code, out = _doctor("--config", str(cfg), "--release-gate")
    assert code == 0 and "gate         OK" in out


_toml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(-100, 100) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10)
_segment = st.dictionaries(st.sampled_from(["duration_s", "object_c", "ambient_c", "texts", "fault", "junk"]),
                           _toml_values, max_size=5)


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["loop", "rate_hz", "seed", "segment", "other"]),
                            _toml_values | st.lists(_segment, max_size=3), max_size=4))
def test_scenario_parser_accepts_or_explains_any_input(data):
    try:
        scenario = Scenario.from_dict(data)
    except ScenarioError as exc:
        assert str(exc)
        return
    assert scenario.length_s > 0
    assert scenario.at(12.3).segment in scenario.segments


@pytest.mark.parametrize("make", [lambda s: ThermometerSim("gy-mcu90614", s),
                                  lambda s: ThermometerSim("gy-mcu90640", s),
                                  lambda s: ThermometerSim("ascii-line", s), ScannerSim, RelaySim],
                         ids=["90614", "90640", "ascii", "scanner", "relay"])
@settings(max_examples=50, deadline=None)
@given(chunks=st.lists(st.binary(max_size=64), max_size=10), times=st.lists(st.floats(0, 100), max_size=5))
def test_simulators_take_any_bytes(make, chunks, times):
    device = make(Scenario.from_dict({"segment": [{"duration_s": 1.0, "texts": ["A"], "fault": ["junk"]}]}))
    for t in sorted(times):
        assert isinstance(device.tick(t), bytes)
    for chunk in chunks:
        assert isinstance(device.handle(chunk), bytes)


ORPHANING_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-m", "drivers.sim", "thermometer", "--pty"], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_simulator_exits_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", ORPHANING_PARENT], stdout=subprocess.PIPE, text=True)
    sim_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    parent.stdout.close()
    try:
        assert wait_until(lambda: _gone(sim_pid), every=0.1), "the simulator kept running after its parent died"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(sim_pid, signal.SIGKILL)
