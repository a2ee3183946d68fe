"""The kiosk screen for real: ``cage`` 0.1.4 (headless backend) running Debian's chromium with exactly the unit's
command line on a real guard page, a ``grim`` screenshot of it, and the installed ``gatepass-kiosk.service`` under
real systemd (``tests/systemdns.py``).

What this machine cannot give, and what stands in for it:

* no display and no GPU: cage runs with wlroots' headless backend (``WLR_BACKENDS=headless``, one 1280x720
  output), the pixman software renderer (``WLR_RENDERER=pixman``; there is no ``/dev/dri`` here) and no input
  devices (``WLR_LIBINPUT_NO_DEVICES=1``, which the unit sets anyway).
* cage refuses to run as root, so the direct test runs it as ``nobody`` (``setpriv``) in a private mount namespace
  whose ``/tmp/.X11-unix`` is a fresh tmpfs (cage 0.1.4 starts Xwayland and refuses a socket directory owned by
  another user); the unit gets the same from ``User=`` and ``PrivateTmp=yes``.
* the screenshot: grim through cage's wlr-screencopy works (kept in /tmp/gatepass-shots/kiosk-grim.png), but with
  the headless backend and pixman, cage 0.1.4 draws only the damaged parts of each frame: the window's growth from
  chromium's first 532x129 buffer to the full output is never damaged as a whole, so the output keeps that first
  white buffer and black around what changes (the camera preview, the clock). Neither a reload nor a DevTools
  repaint makes it redraw the rest (a second window mapped over it does, but its area then stays stale when it
  closes). So the whole page is read through chromium's DevTools port (``--remote-debugging-port`` on 127.0.0.1,
  the one flag the test adds to the unit's command line): its screenshot must be the output's size (the kiosk
  fills the screen) and match a Playwright screenshot of the same page (kiosk-page.png, kiosk-reference.png);
  grim's picture must show chromium's surface (not all black) and no bubble (translate, restore) in the top
  right, where chromium puts them (before the profile turned translation off, one showed there).
* under the systemd harness, ``TTYPath=/dev/tty1`` would take this machine's own console: the test drop-in points
  it at a pseudo-terminal of the test's own (besides the headless backend, the log file and the checkout bound
  back as for the edge unit). No logind runs there, so cage gets no seat: the headless backend needs none.
"""

from __future__ import annotations

import contextlib
import os
import pty
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from edge import kiosk_screen as ks
from edge.settings import EdgeSettings
from gatepass.procs import free_port
from tests import systemdns
from tests.systemd.units import SYSTEMD_DIR, have, invoke
from tests.waiting import wait_until

SHOTS = Path("/tmp/gatepass-shots")
HEADLESS = {"WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman"}
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not have("cage", "grim", "chromium", "setpriv", "unshare"),
                                reason="needs root (cage runs as another user), cage, grim, chromium, util-linux")


def _user_dir(parent: Path, name: str, user: str) -> Path:
    path = parent / name
    path.mkdir(mode=0o700)
    shutil.chown(path, user)
    return path


def _grim(runtime: Path, user: str, group: str, out: Path) -> Path:
    """A screenshot of cage's output with grim, as the compositor's user (the socket is that user's)."""
    env = {"XDG_RUNTIME_DIR": str(runtime), "WAYLAND_DISPLAY": "wayland-0", "PATH": os.environ["PATH"]}
    proc = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "grim", "-t", "png",
                           "-"], env=env, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(proc.stdout)
    return out


class _WatchedCheckpoint:
    """The guard page tests' fake checkpoint, telling when a browser's page script asks for the preview."""

    def __new__(cls):
        from tests.edge.web.fakes import FakeCheckpoint

        class Watched(FakeCheckpoint):
            def __init__(self) -> None:
                super().__init__()
                self.previews = 0

            def preview_jpeg(self) -> bytes | None:
                self.previews += 1
                return super().preview_jpeg()

        return Watched()


@pytest.fixture
def guard_page(tmp_path):
    from tests.edge.web.conftest import Server, settings_for

    checkpoint = _WatchedCheckpoint()
    with Server(checkpoint, settings_for(tmp_path)) as server:
        yield server, checkpoint


@pytest.fixture
def cage_session(guard_page):
    """cage + chromium exactly as ``gatepass edge screen`` builds them, as ``nobody``."""
    server, checkpoint = guard_page
    work = Path(tempfile.mkdtemp(prefix="gp-kiosk-", dir="/tmp"))
    work.chmod(0o711)
    runtime = _user_dir(work, "run", "nobody")
    settings = EdgeSettings(guard_page={"port": server.port})
    argv, env = ks.screen_process(settings, runtime, {**HEADLESS, "PATH": os.environ["PATH"]})
    devtools = free_port(0)
    argv.insert(-1, f"--remote-debugging-port={devtools}")  # test only: a full repaint before the screenshot
    subprocess.run(["chown", "-R", "nobody", str(runtime)], check=True)
    # Xwayland's socket folder: a fresh machine has none yet (the mkdir is on the shared /tmp, the mount private)
    inner = "mkdir -p /tmp/.X11-unix && mount -t tmpfs -o mode=1777 tmpfs /tmp/.X11-unix && " \
            "exec setpriv --reuid=nobody --regid=nogroup " \
            '--clear-groups "$@"'
    log = (work / "cage.log").open("wb")
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh", *argv],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: (runtime / "wayland-0").exists() or proc.poll() is not None, timeout=30)
        assert proc.poll() is None, (work / "cage.log").read_text(errors="replace")[-3000:]
        yield proc, runtime, server, checkpoint, work / "cage.log", devtools
    finally:
        with contextlib.suppress(ProcessLookupError):  # cage already gone (a failed start)
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def _png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path))
    assert img is not None, path
    return img


def _differs(shown: np.ndarray, expected: np.ndarray) -> float:
    """The share of pixels differing visibly (a channel by more than 40 of 255)."""
    return float((np.abs(shown.astype(int) - expected.astype(int)).max(axis=2) > 40).mean())


def test_cage_shows_the_guard_page_with_the_units_command_line(cage_session):
    proc, runtime, server, checkpoint, log, devtools = cage_session
    reference = _png(_off_loop(_playwright_shot, server.url + "/", (1280, 720)))
    # the kiosk's page runs its script (it polls the preview); then its picture must settle on the page
    assert wait_until(lambda: checkpoint.previews > 0 or proc.poll() is not None, timeout=60), \
        log.read_text(errors="replace")[-3000:]
    assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
    page_png = _off_loop(_kiosk_page_shot, devtools, server.url + "/")
    shown, expected = _png(page_png), reference
    assert shown.shape == expected.shape == (720, 1280, 3)  # the page fills cage's 1280x720 output
    # at most the clock and the sync time differ
    assert _differs(shown, expected) < 0.005, f"{_differs(shown, expected):.2%} differs: look at {page_png}"
    grim = _png(_grim(runtime, "nobody", "nogroup", SHOTS / "kiosk-grim.png"))
    deadline = time.monotonic() + 15  # cage repaints its output on damage: on a loaded box a frame may come late
    while grim.max() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        grim = _png(_grim(runtime, "nobody", "nogroup", SHOTS / "kiosk-grim.png"))
    assert grim.shape[:2] == (720, 1280)
    assert grim.max() > 0, "cage's output is black: chromium's surface is not on it"
    corner = grim[0:60, 840:1280]  # a translate or restore bubble: a white card in the top right
    assert ((corner > 230).all(axis=2)).mean() < 0.1, "a bubble shows over the page"


def _off_loop(fn, *args):
    """``fn(*args)`` in a thread of its own: Playwright's sync API refuses to run where an event loop runs (the
    browser tests' session-wide Playwright leaves one in this thread when they ran first)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _kiosk_page_shot(devtools: int, url: str) -> Path:
    """The kiosk's page as its chromium paints it (through DevTools), checking it is the trusted kiosk's page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        kiosk = pw.chromium.connect_over_cdp(f"http://127.0.0.1:{devtools}")
        pages = [p for c in kiosk.contexts for p in c.pages]
        page = next((p for p in pages if p.url == url), None)
        assert page is not None, [p.url for p in pages]
        assert page.title() == "gatepass · 东门"  # the trusted local kiosk's page, not "配对此屏幕" (pairing)
        page.wait_for_timeout(1500)  # as long as the reference had
        out = SHOTS / "kiosk-page.png"
        page.screenshot(path=str(out))
        return out


def _playwright_shot(url: str, size: tuple[int, int]) -> Path:
    from playwright.sync_api import sync_playwright

    from tests.edge.web.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.goto(url)
            page.wait_for_selector("#signin-ok", state="attached")
            page.wait_for_load_state("load")
            page.wait_for_timeout(1500)  # the status poll fills the header
            SHOTS.mkdir(parents=True, exist_ok=True)
            out = SHOTS / "kiosk-reference.png"
            page.screenshot(path=str(out))
            return out
        finally:
            browser.close()


# -- the installed unit under real systemd -----------------------------------------------------------------

KIOSK = "gatepass-kiosk.service"
EDGE = systemdns.EDGE_UNIT
OK, WHY = systemdns.available()


def _installed_units(tmp_path, capsys) -> dict[str, str]:
    stage = tmp_path / "stage"
    code, _, err = invoke(capsys, "edge", "install", "--kiosk", "--root", str(stage), "--no-start")
    assert code == 0, err
    return {unit: (stage / "etc/systemd/system" / unit).read_text() for unit in (EDGE, KIOSK)}


def _kiosk_dropin(tty: str) -> str:
    """The test's drop-in: the headless backend, a tty of the test's own, output to a file and the checkout bound
    back (as the edge's test drop-in does)."""
    env = systemdns.edge_env_dropin().replace("gatepass-edge.log", "gatepass-kiosk.log")
    return env + "Environment=" + " ".join(f"{k}={v}" for k, v in HEADLESS.items()) + f"\nTTYPath={tty}\n"


@pytest.fixture
def kiosk_ns(tmp_path, capsys):
    if not OK:
        pytest.skip(f"real systemd cannot run here: {WHY}")
    units = _installed_units(tmp_path, capsys)
    master, slave = pty.openpty()
    port = free_port(0)
    ns = systemdns.SystemdNamespace(tmp_path / "ns", units, dropins={
        EDGE: {"10-test-env.conf": systemdns.edge_env_dropin()}, KIOSK: {"10-test.conf": _kiosk_dropin(
            os.ttyname(slave))}})
    try:
        ns.start()
        for conf in ("gatepass.conf", "gatepass-kiosk.conf"):
            users = ns.run("systemd-sysusers", str(SYSTEMD_DIR / "sysusers.d" / conf))
            assert users.returncode == 0, users.stderr
        ns.write_file("/etc/gatepass/edge.toml", f'data_dir = "/var/lib/gatepass"\n[guard_page]\nport = {port}\n'
                      '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n[thermometer]\nurl = "/dev/null"\n'
                      "[kiosk]\nrotation = 90\n")
        yield ns, port
    finally:
        ns.stop()
        os.close(master)
        os.close(slave)


def _running(props: dict[str, str]) -> bool:
    return props.get("ActiveState") == "active" and props.get("SubState") == "running"


def _chromium(ns) -> str:
    """The PID of the kiosk's browser process (the oldest chromium of the kiosk user), or ''."""
    return ns.run("pgrep", "-o", "-u", "gatepass-kiosk", "-x", "chromium").stdout.strip()


def _exe(ns, pid: str) -> str:
    return os.path.basename(ns.run("readlink", f"/proc/{pid}/exe").stdout.strip())


def _kiosk_log(ns) -> str:
    return ns.run("tail", "-n", "40", "/var/log/gatepass-kiosk.log").stdout + ns.log_tail()


def test_installed_kiosk_starts_after_the_ready_edge_and_comes_back_after_kill_9(kiosk_ns):
    ns, port = kiosk_ns
    started = ns.systemctl("start", KIOSK, timeout_s=180)  # pulls in the edge (Wants=) and waits for it (After=)
    assert started.returncode == 0, f"{started.stderr}\n{_kiosk_log(ns)}"
    edge = ns.show(EDGE, "ActiveState", "ActiveEnterTimestampMonotonic")
    assert edge["ActiveState"] == "active", edge
    before = ns.wait_for(KIOSK, _running, timeout_s=60)
    ready_at = int(edge["ActiveEnterTimestampMonotonic"])  # Type=notify: active from READY=1
    assert int(before["ExecMainStartTimestampMonotonic"]) >= ready_at > 0, (before, edge)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    # gatepass edge screen replaces itself with cage: the unit's main process becomes the compositor
    assert wait_until(lambda: _exe(ns, before["MainPID"]) == "cage", timeout=60), _kiosk_log(ns)
    assert wait_until(lambda: _chromium(ns) != "", timeout=60), _kiosk_log(ns)
    # cage's Wayland socket in the unit's RuntimeDirectory (no logind here to give /run/user/UID)
    assert ns.run("test", "-S", "/run/gatepass-kiosk/wayland-0").returncode == 0, _kiosk_log(ns)
    assert "-r" in ns.run("cat", f"/proc/{before['MainPID']}/cmdline").stdout.split("\0")  # [kiosk] rotation = 90
    rule = ns.run("cat", "/etc/udev/rules.d/98-gatepass-touch.rules").stdout  # ExecStartPre=+ ran, as root
    assert 'LIBINPUT_CALIBRATION_MATRIX}="0 -1 1 1 0 0"' in rule, rule
    browser = _chromium(ns)
    assert ns.run("kill", "-9", browser).returncode == 0
    after = ns.wait_for(KIOSK, lambda p: _running(p) and p["MainPID"] != before["MainPID"]
                        and int(p["NRestarts"]) == int(before["NRestarts"]) + 1, timeout_s=90)
    assert wait_until(lambda: _chromium(ns) not in ("", browser), timeout=60), _kiosk_log(ns)
    assert int(after["ExecMainStartTimestampMonotonic"]) > int(before["ExecMainStartTimestampMonotonic"])
