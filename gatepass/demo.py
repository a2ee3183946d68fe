"""``gatepass demo``: the whole system on one machine with simulated hardware.

Starts, as separate processes exactly as in production: the central server, a
thermometer simulator on a pseudo-terminal, one edge device using it (with the
simulated camera and a recording relay), and the sync between edge and
central. Prints the guard page and console URLs and runs until Ctrl-C.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

import click

from gatepass.procs import Child, free_port, gatepass_command, wait_http

log = logging.getLogger(__name__)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _session_secret(data_dir: Path) -> str:
    path = data_dir / "session-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def start_demo(data_dir: Path, central_port: int, guard_port: int) -> tuple[list[Child], dict[str, str]]:
    """Start every process of the demo; returns them and the URLs to open."""
    data_dir = data_dir.resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    central_port = free_port(central_port)
    guard_port = free_port(guard_port)
    children: list[Child] = []
    try:
        central_cfg = _write(data_dir / "central.toml", (
            f'data_dir = "{data_dir / "central"}"\nport = {central_port}\n'
            f'session_secret = "{_session_secret(data_dir)}"\n'))
        central = Child("central", gatepass_command("central", "serve", "--config", str(central_cfg)), logs).start()
        children.append(central)
        edge_cfg = _write(data_dir / "edge.toml", (
            f'device_id = "demo-gate-1"\ndata_dir = "{data_dir / "edge"}"\n'
            f'[guard_page]\nport = {guard_port}\n'
            '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n'))
        edge = Child("edge", gatepass_command("edge", "run", "--config", str(edge_cfg)), logs).start()
        children.append(edge)
        urls = {"guard": f"http://127.0.0.1:{guard_port}/", "central": f"http://127.0.0.1:{central_port}/"}
        wait_http(urls["central"] + "healthz", central)
        wait_http(urls["guard"] + "healthz", edge)
        return children, urls
    except BaseException:
        stop_all(children)
        raise


def stop_all(children: list[Child]) -> None:
    """Stop children in reverse start order."""
    for child in reversed(children):
        child.stop()


@click.command("demo")
@click.option("--data-dir", type=click.Path(file_okay=False), default="demo-data", show_default=True,
              help="Where the demo keeps its databases, configs and logs.")
@click.option("--central-port", default=8000, show_default=True, help="Central console TCP port (next free if taken).")
@click.option("--guard-port", default=8080, show_default=True, help="Guard page TCP port (next free if taken).")
@click.option("--duration", type=float, default=0, help="Stop after this many seconds (0: run until Ctrl-C).")
def demo_command(data_dir: str, central_port: int, guard_port: int, duration: float) -> None:
    """Run central, a simulated gate and the sync on this machine, with no hardware."""
    children, urls = start_demo(Path(data_dir), central_port, guard_port)
    click.echo(f"guard page:      {urls['guard']}")
    click.echo(f"central console: {urls['central']}")
    click.echo("press Ctrl-C to stop", err=True)
    deadline = time.monotonic() + duration if duration > 0 else None
    try:
        while deadline is None or time.monotonic() < deadline:
            dead = [c for c in children if not c.alive()]
            if dead:
                raise click.ClickException(f"{dead[0].name} stopped unexpectedly:\n{dead[0].tail()}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(children)
