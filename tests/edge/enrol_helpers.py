"""Shared parts of the enrolment tests: a real central on loopback, a gate's config folder, the CLI as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from central import enrolment as central_enrolment
from sync import enrolment as wire
from tests.sync.helpers import Central
from tests.waiting import wait_until

PUBLIC_URL = "https://console.test"


def start_central(path: Path, port: int = 0, clock=None, public_url: str = PUBLIC_URL) -> Central:
    """Central in a thread on loopback (on ``port``, 0: any), with a public URL (so codes come with an approve URL)
    and ``clock`` as its clock when given."""
    from central.server import create_app
    from gatepass import serve as serving

    central = Central(path)
    central.settings = central.settings.model_copy(update={"public_url": public_url})
    sock = serving.bind("127.0.0.1", port)
    central.port = sock.getsockname()[1]
    app = create_app(central.settings)
    if clock is not None:
        app.state.clock = clock
    central._server = server = serving.make_server(app, sock)
    central._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    central._thread.start()
    assert wait_until(lambda: server.started, 20)
    return central


def approve(central: Central, code: str, gate_id: str = "east", replaces: str = "", now: float | None = None) -> str:
    """Approve ``code`` as staff do in the console; the new device id."""
    gate = central_enrolment.assignment("丽景苑", gate_id, "东门", "in", "unattended")
    return central_enrolment.approve(central.db, wire.parse_code(code), gate, replaces=replaces, alongside=False,
                                     by="admin", now=time.time() if now is None else now)


def gate_config(root: Path, central_url: str = "https://central.example/") -> Path:
    """A gate's config folder: edge.toml (with a hand edit that must survive) and sync.toml, nothing secret."""
    etc, data = root / "etc", root / "data"
    etc.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    common = f'data_dir = "{data}"\nenrolled_profile = "{etc / "enrolled.toml"}"\n'
    (etc / "edge.toml").write_text(common + "# hand-edited\n[gate]\nvehicle_lane = true\nboth_default = \"out\"\n"
                                   "[voice]\nenabled = false\n")
    (etc / "sync.toml").write_text(f'central_url = "{central_url}"\n' + common
                                   + "interval_s = 0.1\nheartbeat_s = 1.0\nlists_interval_s = 1.0\n")
    return etc / "edge.toml"


def clean_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "CREDENTIALS_"))},
            "GATEPASS_ALLOW_ROOT": "1", "PYTHONUNBUFFERED": "1"}


class Cli:
    """``gatepass edge enroll ...`` as a process, its output collected line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gatepass", "edge", "enroll", *args], env=clean_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def codes(self) -> list[str]:
        """Every code printed so far, in order."""
        marker = "enrolment code:"
        return [line.split(marker)[1].split()[0] for line in self.lines if marker in line]

    def wait_code(self, timeout: float = 30) -> str:
        def shown() -> bool:  # the code and everything printed with it
            return bool(self.codes()) and self.lines[-1].endswith("resume)")

        assert wait_until(lambda: shown() or self.proc.poll() is not None, timeout), self.text
        assert self.codes(), self.text
        return self.codes()[-1]

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(5)
        return code
