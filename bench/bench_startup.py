"""CLI start-up: ``gatepass --help`` against a bare ``python -c pass`` (the baseline)."""

from __future__ import annotations

import subprocess
import sys

from bench.harness import Result, interleaved


def run(quick: bool = False) -> list[Result]:
    def bare() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    def cli_help() -> None:
        subprocess.run([sys.executable, "-m", "gatepass", "--help"], check=True, capture_output=True)

    t = interleaved({"bare": bare, "cli": cli_help}, repeat=3 if quick else 7, number=1 if quick else 3)
    return [Result("gatepass --help", t["cli"] * 1e3, "ms", "python -c pass", t["bare"] * 1e3)]
