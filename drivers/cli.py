"""``gatepass sim ...`` (device simulators) and ``gatepass doctor`` (hardware check)."""

from __future__ import annotations

import click

from gatepass.clickutil import config_option


@click.group("sim")
def sim_group() -> None:
    """Run a device simulator on a pseudo-terminal or TCP port, speaking the real wire protocol."""


@click.command("doctor")
@config_option
def doctor_command(config_path: str | None) -> None:
    """List serial ports and cameras, open the configured devices and give a verdict for each."""
    from serial.tools import list_ports

    for port in list_ports.comports():
        click.echo(f"serial: {port.device} {port.description}")
