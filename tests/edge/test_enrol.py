"""``gatepass edge enroll`` against a real central on loopback: files, modes, resume, expiry, unreachable."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.enrol import EnrolClient, Enroller, EnrolPaths, ScreenState, Stopped, install_result, read_screen
from edge.settings import EdgeSettings
from gatepass.clock import ManualClock
from gatepass.config import load_settings
from gatepass.procs import free_port
from sync.settings import SyncSettings
from tests.edge.enrol_helpers import PUBLIC_URL, Cli, approve, clean_env, gate_config, start_central
from tests.sync.helpers import fill
from tests.waiting import wait_until


@pytest.fixture
def central(tmp_path):
    c = start_central(tmp_path / "central")
    yield c
    c.stop()


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cli_enrols_writes_token_key_profile_and_the_sync_then_uploads(tmp_path, central):
    config = gate_config(tmp_path / "gate")
    etc = config.parent
    fill(tmp_path / "gate/data/edge.db", 3)  # a log from before: kept, uploaded under the new identity
    cli = Cli("--central", central.url, "--config", str(config))
    code = cli.wait_code()
    assert f"{PUBLIC_URL}/devices/enrol?code={code}" in cli.text  # the approve URL, and a QR above it
    assert "▀" in cli.text or "█" in cli.text
    device_id = approve(central, code)
    assert cli.wait() == 0, cli.text
    token = (etc / "credentials/device-token").read_text().strip()
    assert _mode(etc / "credentials/device-token") == 0o600 and token not in cli.text
    assert _mode(etc / "central-public-key.pem") == 0o644
    assert _mode(etc / "enrolled.toml") == 0o640
    assert not (etc / "credentials/enrolment.json").exists()  # the secret is forgotten
    assert (etc / "central-public-key.pem").read_text().strip() == central.public_pem().strip()
    from sync.enrolment import key_fingerprint

    assert key_fingerprint(central.public_pem()) in cli.text
    # the profile is merged over edge.toml, whose hand edits survive
    edge = load_settings(EdgeSettings, config)
    assert (edge.device_id, edge.gate.id, edge.gate.community, edge.gate.name) == (device_id, "east", "丽景苑", "东门")
    assert (edge.gate.direction, edge.gate.mode, edge.gate.vehicle_lane, edge.gate.both_default) == \
        ("in", "unattended", True, "out")
    assert "# hand-edited" in config.read_text()
    # the sync, given the token as systemd gives its credential, reaches central and uploads the old log
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "gatepass_sync_device_token").write_text(token)
    env = {**clean_env(), "CREDENTIALS_DIRECTORY": str(creds)}
    os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
    try:
        sync = load_settings(SyncSettings, etc / "sync.toml")  # central's URL and key come from the profile
    finally:
        del os.environ["CREDENTIALS_DIRECTORY"]
    assert sync.central_url == central.url + "/" and sync.central_public_key.endswith("central-public-key.pem")
    proc = subprocess.Popen([sys.executable, "-m", "gatepass", "sync", "run", "--config", str(etc / "sync.toml")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(central.entries(device_id)) == 3, 30)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert token not in err


def test_ctrl_c_then_a_second_run_resumes_the_same_code(tmp_path, central):
    config = gate_config(tmp_path / "gate")
    first = Cli("--central", central.url, "--config", str(config))
    code = first.wait_code()
    first.proc.send_signal(signal.SIGINT)
    assert first.wait() == 130
    assert "再次运行" in first.text and "Traceback" not in first.text
    pending = config.parent / "credentials/enrolment.json"
    assert _mode(pending) == 0o600
    second = Cli("--central", central.url, "--config", str(config))
    assert second.wait_code() == code  # the same request, not a new one
    approve(central, code)
    assert second.wait() == 0, second.text
    assert (config.parent / "credentials/device-token").exists()


def test_an_enrolled_gate_refuses_to_enrol_again_without_again(tmp_path, central):
    config = gate_config(tmp_path / "gate")
    (config.parent / "credentials").mkdir()
    (config.parent / "credentials/device-token").write_text("x" * 32)
    cli = Cli("--central", central.url, "--config", str(config))
    assert cli.wait() == 1
    assert "--again" in cli.text and "已有设备令牌" in cli.text


class Recorder:
    """A ``show`` callback keeping every state."""

    def __init__(self) -> None:
        self.states: list[ScreenState] = []

    def __call__(self, state: ScreenState) -> None:
        self.states.append(state)

    def codes(self) -> list[str]:
        return list(dict.fromkeys(s.code for s in self.states if s.status == "waiting" and s.code))


def _run_in_thread(enroller: Enroller) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def target() -> None:
        try:
            out["result"] = enroller.run()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def test_an_expired_code_is_replaced_by_a_new_one_by_itself(tmp_path):
    clock = ManualClock(wall=time.time())
    central = start_central(tmp_path / "central", clock=clock)
    try:
        paths = EnrolPaths(tmp_path / "etc", tmp_path / "data", tmp_path / "etc/enrolled.toml")
        shown = Recorder()
        stop = threading.Event()
        client = EnrolClient(central.url)
        enroller = Enroller(client, paths, shown, clock=clock, stop=stop)
        thread, out = _run_in_thread(enroller)
        assert wait_until(lambda: len(shown.codes()) == 1, 20)
        old = shown.codes()[0]
        clock.advance(31 * 60)  # past central's 30 minutes
        assert wait_until(lambda: len(shown.codes()) == 2, 20), shown.states
        new = shown.codes()[1]
        assert new != old
        from central.enrolment import EnrolmentRefused

        with pytest.raises(EnrolmentRefused):  # the old code cannot be approved any more
            approve(central, old, now=clock.time())
        device_id = approve(central, new, now=clock.time())
        thread.join(20)
        offer, approved = out["result"]
        assert approved.device_id == device_id and offer.code == new
        client.close()
    finally:
        central.stop()


def test_central_unreachable_is_said_in_plain_words_and_retried_until_it_answers(tmp_path):
    port = free_port(0)
    paths = EnrolPaths(tmp_path / "etc", tmp_path / "data", tmp_path / "etc/enrolled.toml")
    shown = Recorder()
    client = EnrolClient(f"http://127.0.0.1:{port}")
    enroller = Enroller(client, paths, lambda s: (_write(paths, s), shown(s)), stop=threading.Event())
    thread, out = _run_in_thread(enroller)
    assert wait_until(lambda: any(s.status == "unreachable" for s in shown.states), 20)
    on_screen = read_screen(paths.screen)
    assert on_screen is not None and on_screen.status == "unreachable"
    assert "连不上中心服务器" in on_screen.message_zh and "自动重试" in on_screen.message_zh
    assert "Cannot reach central" in on_screen.message_en
    central = start_central(tmp_path / "central", port=port)
    try:
        assert wait_until(lambda: shown.codes(), 30), shown.states
        approve(central, shown.codes()[0])
        thread.join(30)
        assert "result" in out, out
    finally:
        enroller.stop.set()
        client.close()
        central.stop()


def _write(paths: EnrolPaths, state: ScreenState) -> None:
    from edge.enrol import write_screen

    write_screen(paths, state)


def test_a_stopped_enrolment_keeps_its_request(tmp_path, central):
    paths = EnrolPaths(tmp_path / "etc", tmp_path / "data", tmp_path / "etc/enrolled.toml")
    shown = Recorder()
    stop = threading.Event()
    client = EnrolClient(central.url)
    thread, out = _run_in_thread(Enroller(client, paths, shown, stop=stop))
    assert wait_until(lambda: shown.codes(), 20)
    stop.set()
    thread.join(20)
    assert isinstance(out.get("error"), Stopped)
    assert paths.pending.exists() and _mode(paths.pending) == 0o600
    client.close()


def test_a_re_enrolled_gate_names_its_previous_device_and_keeps_its_log(tmp_path, central):
    config = gate_config(tmp_path / "gate")
    first = Cli("--central", central.url, "--config", str(config))
    old_device = approve(central, first.wait_code())
    assert first.wait() == 0
    db = tmp_path / "gate/data/edge.db"
    fill(db, 2)
    before = db.read_bytes()
    again = Cli("--central", central.url, "--config", str(config), "--again")
    code = again.wait_code()
    assert f"previous device: {old_device}" in again.text
    row = central.db.execute("SELECT previous_device_id FROM enrolments WHERE code = ?",
                             [code.replace("-", "")]).fetchone()
    assert row[0] == old_device
    new_device = approve(central, code, replaces=old_device)
    assert again.wait() == 0, again.text
    assert new_device != old_device
    assert load_settings(EdgeSettings, config).device_id == new_device
    assert db.read_bytes() == before  # the old local log is kept untouched


def test_a_new_sd_card_sends_no_previous_device(tmp_path, central):
    config = gate_config(tmp_path / "gate")
    cli = Cli("--central", central.url, "--config", str(config))
    code = cli.wait_code()
    assert "previous device: -" in cli.text
    row = central.db.execute("SELECT previous_device_id FROM enrolments WHERE code = ?",
                             [code.replace("-", "")]).fetchone()
    assert row[0] is None
    cli.proc.send_signal(signal.SIGINT)
    cli.wait()


_NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in
                                                                               (*range(32), *range(127, 160))]),
                min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(community=_NAME, gate_id=_NAME, name=_NAME, url=st.text(max_size=60))
def test_the_profile_is_valid_toml_and_round_trips_any_names(tmp_path, community, gate_id, name, url):
    from edge.enrol import Offer
    from sync.enrolment import GateAssignment, PollApproved

    paths = EnrolPaths(tmp_path / "etc", tmp_path / "data", tmp_path / "etc/enrolled.toml")
    gate = GateAssignment(community=community, gate_id=gate_id, gate_name=name, direction="both", mode="guarded")
    approved = PollApproved(status="approved", device_id=gate_id, token="t" * 32, central_public_key="PEM",
                            central_key_fingerprint="abcd", gate=gate)
    install_result(paths, Offer(url, "a" * 64, "ABCD-2345", 0, 5, None), approved, 1.0)
    data = tomllib.loads(paths.profile.read_text())
    assert data["edge"]["gate"] == {"community": community, "id": gate_id, "name": name, "direction": "both",
                                    "mode": "guarded"}
    assert data["edge"]["device_id"] == gate_id and data["sync"]["central_url"] == url
    assert os.stat(paths.token).st_mode & 0o077 == 0
