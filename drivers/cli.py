"""``gatepass sim ...`` (device simulators) and ``gatepass doctor`` (hardware check)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import click


@click.group("sim")
def sim_group() -> None:
    """Run a device simulator on a pseudo-terminal or TCP port, speaking the real wire protocol."""


def _transport_options(func):
    func = click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False, exists=True), default=None,
                        help="TOML scenario file (format: drivers/sim/scenario.py); default: a plausible demo.")(func)
    func = click.option("--link", "link", type=click.Path(dir_okay=False), default=None,
                        help="Keep this symlink pointing at the current pty (like udev), removed on unplug.")(func)
    func = click.option("--tcp", "tcp_port", type=click.IntRange(0, 65535), default=None,
                        help="Serve on 127.0.0.1:PORT instead (0: any free port) for socket:// URLs.")(func)
    func = click.option("--pty", "use_pty", is_flag=True, help="Serve on a new pseudo-terminal (the default).")(func)
    return func


def _serve(device, use_pty: bool, tcp_port: int | None, link: str | None) -> None:
    from drivers.sim.host import PtyHost, TcpHost

    if use_pty and tcp_port is not None:
        raise click.UsageError("choose one of --pty and --tcp")

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=_stop_when_orphaned, args=(stop,), daemon=True).start()
    host: TcpHost | PtyHost
    if tcp_port is not None:
        host = TcpHost(device, announce, tcp_port)
        host.listen()
    else:
        host = PtyHost(device, announce, Path(link) if link else None)
        host.plug()
    host.serve(stop)


def _stop_when_orphaned(stop: threading.Event) -> None:
    """Stop serving if the parent process dies (e.g. a killed ``gatepass demo``): no stray simulators."""
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            stop.set()


def _scenario(path: str | None, default):
    from drivers.sim.scenario import Scenario

    return Scenario.load(path) if path else default()


@sim_group.command("thermometer")
@click.option("--model", type=click.Choice(["gy-mcu90614", "gy-mcu90640", "ascii-line"]), default="gy-mcu90614",
              show_default=True, help="Which module (wire protocol) to simulate.")
@_transport_options
def sim_thermometer(model: str, use_pty: bool, tcp_port: int | None, link: str | None,
                    scenario_path: str | None) -> None:
    """Simulate a serial infrared thermometer; prints "pty: /dev/pts/N" (or "tcp: HOST:PORT") first."""
    from drivers.sim.scenario import default_thermometer
    from drivers.sim.thermometer import ThermometerSim

    _serve(ThermometerSim(model, _scenario(scenario_path, default_thermometer)), use_pty, tcp_port, link)


@sim_group.command("scanner")
@_transport_options
def sim_scanner(use_pty: bool, tcp_port: int | None, link: str | None, scenario_path: str | None) -> None:
    """Simulate a GM65/GM805 serial QR scanner module sending the scenario's texts."""
    from drivers.sim.scanner import ScannerSim
    from drivers.sim.scenario import default_scanner

    _serve(ScannerSim(_scenario(scenario_path, default_scanner)), use_pty, tcp_port, link)


@sim_group.command("relay")
@_transport_options
def sim_relay(use_pty: bool, tcp_port: int | None, link: str | None, scenario_path: str | None) -> None:
    """Simulate an LCUS USB relay board; prints "relay: chN on/off" for every command received."""
    from drivers.sim.relay import RelaySim
    from drivers.sim.scenario import default_relay

    _serve(RelaySim(_scenario(scenario_path, default_relay)), use_pty, tcp_port, link)
