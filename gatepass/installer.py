"""What ``gatepass edge install`` and ``gatepass central install`` share: steps planned up front, then carried out.

An installer is a list of :class:`Step` objects, so ``--dry-run`` prints exactly what would be done and ``--root
DIR`` carries out the same steps inside a staging directory (users via ``systemd-sysusers --root``, units enabled
with ``systemctl --root``): how the tests run them without touching the machine.
"""

from __future__ import annotations

import logging
import os
import platform
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatepass.errors import GatepassError

log = logging.getLogger(__name__)

#: The ExecStart path the unit files in ``systemd/`` name; replaced by this installation's ``gatepass``.
TEMPLATE_BIN = "/opt/gatepass/venv/bin/gatepass"
#: Machines gatepass runs on: 64-bit only (several pinned dependencies have no 32-bit ARM wheels).
SUPPORTED_MACHINES = ("aarch64", "arm64", "x86_64", "amd64")


class InstallError(GatepassError):
    """An installation step cannot be done or failed."""


@dataclass
class Step:
    """One installation step: what it does, in words, and the action."""

    description: str
    action: Callable[[], None]


def carry_out(steps: list[Step], dry_run: bool, say: Callable[[str], None]) -> None:
    """Do (or with ``dry_run`` only describe) each step, saying what it does."""
    for n, step in enumerate(steps, 1):
        say(f"[{n}/{len(steps)}] {'would ' if dry_run else ''}{step.description}")
        if not dry_run:
            step.action()


def default_bin() -> Path:
    """The ``gatepass`` executable of the running installation."""
    return Path(sys.executable).parent / "gatepass"


def check_machine(machine: str | None = None, bits: int | None = None) -> None:
    """Refuse a 32-bit system in one clear line, in Chinese and English (the wheels gatepass needs exist for 64-bit
    systems only). ``bits``: the running Python's pointer size; 32 on a 32-bit OS even under a 64-bit kernel (the
    32-bit Raspberry Pi OS boots one on a Pi 4 or 5, and ``machine`` then says aarch64)."""
    machine = (machine or platform.machine()).lower()
    bits = bits or struct.calcsize("P") * 8
    if machine not in SUPPORTED_MACHINES or bits != 64:
        what = machine if bits == 64 or machine not in SUPPORTED_MACHINES else f"{bits}-bit on {machine}"
        raise InstallError(f"这是 32 位系统（{what}），gatepass 需要 64 位系统 / this is a 32-bit system ({what}): "
                           "gatepass needs a 64-bit one",
                           "请刷写 Raspberry Pi OS Lite（64 位，bookworm）后重新安装 / flash Raspberry Pi OS Lite "
                           "(64-bit, bookworm) and install again")


def run_command(argv: list[str]) -> None:
    """Run a system tool; a missing tool or a failure is an :class:`InstallError` with its message."""
    log.debug("running %s", argv)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as exc:
        raise InstallError(f"{argv[0]} is not installed", "install systemd (and udev) first") from exc
    if proc.returncode != 0:
        raise InstallError(f"{' '.join(argv)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def write_file(path: Path, text: str, mode: int) -> None:
    """Write ``path`` atomically with ``mode`` (its folder made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(mode)
    os.replace(tmp, path)


def lookup_ids(root: Path, user: str) -> tuple[int, int] | None:
    """uid and gid of ``user`` in ``root``'s /etc/passwd (None when missing)."""
    try:
        for line in (root / "etc/passwd").read_text().splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[0] == user and parts[2].isdecimal() and parts[3].isdecimal():
                return int(parts[2]), int(parts[3])
    except OSError:
        return None
    return None


def give_to(root: Path, path: Path, user: str) -> None:
    """Make ``user`` (of ``root``) own ``path``; a warning when that is not possible."""
    ids = lookup_ids(root, user)
    if ids is None:
        log.warning("user %s not found in %s; leaving %s owned by the installer", user, root, path)
        return
    try:
        os.chown(path, *ids)
    except PermissionError:
        log.warning("not allowed to give %s to %s (run as root)", path, user)


def render_unit(text: str, bin_path: Path) -> str:
    """A unit file with ExecStart pointing at this installation's gatepass."""
    return text.replace(TEMPLATE_BIN, str(bin_path))


def need_root_for_real(root: Path, dry_run: bool) -> None:
    """Installing into the running system needs root."""
    if not dry_run and root.resolve() == Path("/") and os.geteuid() != 0:
        raise InstallError("installing into the running system needs root", "run it with sudo, or use --root/--dry-run")
