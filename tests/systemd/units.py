"""Helpers for the deployment tests: reading unit files, finding the tools."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO / "systemd"
TEMPLATE_BIN = "/opt/gatepass/venv/bin/gatepass"
VENV_BIN = Path(sys.executable).parent / "gatepass"


def unit_files() -> list[Path]:
    """Every unit shipped in systemd/."""
    return sorted(p for p in SYSTEMD_DIR.iterdir() if p.suffix in (".service", ".timer"))


def directives(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> every value given (unit files may repeat keys)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def have(*tools: str) -> bool:
    return all(shutil.which(t) for t in tools)


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``gatepass ARGS`` in this process (faster than a subprocess); returns (exit code, stdout, stderr)."""
    from gatepass.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
