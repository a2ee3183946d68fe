"""Does every pinned runtime dependency of a gate have a wheel for 64-bit Raspberry Pi OS? (``./run.sh test``)

A gate runs Raspberry Pi OS Lite 64-bit (bookworm): CPython 3.11 on aarch64 with glibc 2.36, so a wheel tagged
``manylinux2014``/``manylinux_2_17`` ... ``manylinux_2_36`` for aarch64 installs there, and so does a pure-Python
one (``py3-none-any``). A dependency without such a wheel would have to be compiled on the Pi (hours, or not at
all), so a change of ``constraints.txt`` must never get in without one.

What is checked: gatepass's runtime requirements (no extras: the dev tools and the PostgreSQL driver are not on a
gate) and theirs (but pip and setuptools, which every virtualenv has), as pip would resolve them on the Pi (markers
evaluated for linux/aarch64/3.11), each at the version pinned in ``constraints.txt``. pip looks each one up
(``pip install --dry-run --target`` with the Pi's tags and ``--only-binary=:all: --no-deps``: only the metadata is
fetched where the index serves it, no wheel is installed); the manylinux tags go up to glibc 2.36 because numpy 2.3
and later publish ``manylinux_2_28`` wheels only for aarch64.
The pins found are remembered in a cache file (``$XDG_CACHE_HOME/gatepass``), so a later run looks up only new pins.

Exit status: 0 when every one has a wheel; 1 naming each package without one (or not pinned); when the package index
cannot be reached, a line saying the check was SKIPPED and 0, except with ``CI`` set (then 1: CI must check).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
GLIBC_MINORS = (17, 24, 26, 27, 28, 31, 34, 35, 36)  # manylinux_2_N tags pip publishes that glibc 2.36 runs
PLATFORMS = ("manylinux2014_aarch64", *(f"manylinux_2_{n}_aarch64" for n in GLIBC_MINORS))
TARGET = "aarch64-cp311"
#: What every virtualenv has already and ``pip freeze`` (``./run.sh lock``) leaves out: pure Python, never pinned.
BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})
#: Markers of the target (Raspberry Pi OS 64-bit, bookworm).
ENVIRONMENT = {"python_version": "3.11", "python_full_version": "3.11.2", "platform_machine": "aarch64",
               "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
               "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
_NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)")
_UNREACHABLE = ("NewConnectionError", "Could not fetch URL", "Connection refused", "Failed to establish",
                "Temporary failure in name resolution", "Network is unreachable", "ConnectTimeout",
                "Max retries exceeded", "ProxyError")


class IndexUnreachable(Exception):
    """The package index could not be reached."""


@dataclass
class Outcome:
    """What the check found."""

    found: dict[str, str] = field(default_factory=dict)  # "name==version" -> wheel file name
    missing: list[str] = field(default_factory=list)  # "name==version" without a wheel for the Pi
    unpinned: list[str] = field(default_factory=list)  # runtime dependencies constraints.txt does not pin


def pins(constraints: Path) -> dict[str, str]:
    """``constraints.txt`` as {canonical name: version} (its ``name==version`` lines)."""
    out: dict[str, str] = {}
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[canonicalize_name(name.split("[")[0])] = version.strip()
    return out


def runtime_closure(dist: str = "gatepass") -> set[str]:
    """Canonical names of ``dist``'s runtime requirements and theirs, without extras, as resolved on the Pi."""
    seen: set[str] = set()
    todo = [(dist, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            requires = []
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and not any(req.marker.evaluate({**ENVIRONMENT, "extra": e})
                                                  for e in (extras or {""})):
                continue
            key = canonicalize_name(req.name)
            if key not in seen:
                seen.add(key)
                todo.append((req.name, frozenset(req.extras)))
    seen.discard(canonicalize_name(dist))
    return seen - BOOTSTRAP


def _pip_dry_run(requirements: list[str], env: dict[str, str] | None) -> tuple[int, str, dict]:
    """``pip install --dry-run`` of ``requirements`` for the Pi; (exit status, pip's output, its report). ``-vv``:
    pip tells a connection failure ("Could not fetch URL") only at that level, else it looks like no wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        argv = [sys.executable, "-m", "pip", "install", "-vv", "--dry-run", "--ignore-installed",
                "--disable-pip-version-check", "--retries", "0", "--timeout", "15", "--target", str(Path(tmp) / "t"),
                "--report", str(report), "--only-binary=:all:", "--no-deps", "--python-version", "3.11",
                "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
                *(arg for p in PLATFORMS for arg in ("--platform", p)), *requirements]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
        data = json.loads(report.read_text()) if proc.returncode == 0 and report.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, data


def look_up(wanted: list[str], env: dict[str, str] | None = None) -> Outcome:
    """Which of ``wanted`` ("name==version") have a wheel for the Pi. Raises :class:`IndexUnreachable`."""
    outcome = Outcome()
    todo = list(wanted)
    while todo:
        code, output, report = _pip_dry_run(todo, env)
        if code == 0:
            for item in report.get("install", []):
                name = canonicalize_name(item["metadata"]["name"])
                key = next(w for w in todo if canonicalize_name(w.split("==")[0]) == name)
                outcome.found[key] = item["download_info"]["url"].rsplit("/", 1)[-1].split("#")[0]
            return outcome
        unreachable = [line for line in output.splitlines() if any(m in line for m in _UNREACHABLE)]
        if unreachable:
            raise IndexUnreachable(unreachable[0].strip()[:300])
        match = _NO_MATCH.search(output)
        if match is None:
            raise RuntimeError(f"pip failed: {output.strip()[-2000:]}")
        bad = next((w for w in todo if canonicalize_name(w.split("==")[0])
                    == canonicalize_name(match.group(1).split("==")[0])), None)
        if bad is None:
            raise RuntimeError(f"pip named a package that was not asked for: {match.group(1)}")
        outcome.missing.append(bad)
        todo.remove(bad)
    return outcome


def cache_file() -> Path:
    """Where the pins already found are remembered."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gatepass" / f"wheels-{TARGET}.json"


def check(pinned: dict[str, str], names: set[str], cache: Path, env: dict[str, str] | None = None) -> Outcome:
    """Check the ``names`` at their ``pinned`` versions, looking up only those not in ``cache``."""
    known: dict[str, str] = json.loads(cache.read_text()) if cache.exists() else {}
    outcome = Outcome(unpinned=sorted(n for n in names if n not in pinned))
    wanted = [f"{n}=={pinned[n]}" for n in sorted(names) if n in pinned]
    outcome.found = {w: known[w] for w in wanted if w in known}
    new = look_up([w for w in wanted if w not in known], env) if len(outcome.found) < len(wanted) else Outcome()
    outcome.found.update(new.found)
    outcome.missing = new.missing
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({**known, **new.found}, indent=1, sort_keys=True))
    return outcome


def say(line: str) -> None:
    """One line for the person running ``./run.sh test`` (on stderr, like the other steps)."""
    sys.stderr.write(line + "\n")


def problems(outcome: Outcome) -> list[str]:
    """One line per package that fails the check, naming it."""
    return ([f"wheel check FAILED: {item} has no wheel for 64-bit Raspberry Pi OS (manylinux aarch64, CPython "
             "3.11): pick a version that has one" for item in outcome.missing]
            + [f"wheel check FAILED: {name} is a runtime dependency but constraints.txt does not pin it "
               "(./run.sh lock)" for name in outcome.unpinned])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--cache", type=Path, default=None, help="the cache file (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        outcome = check(pins(args.constraints), runtime_closure(), args.cache or cache_file())
    except IndexUnreachable as exc:
        say(f"wheel check SKIPPED: the package index cannot be reached ({exc}); the aarch64 wheels of the "
            "pinned dependencies were not checked" + (" (CI is set: failing)" if os.environ.get("CI") else ""))
        return 1 if os.environ.get("CI") else 0
    lines = problems(outcome)
    for line in lines:
        say(line)
    if lines:
        return 1
    say(f"wheel check: all {len(outcome.found)} pinned runtime dependencies have a wheel for aarch64 / cp311")
    return 0


if __name__ == "__main__":
    sys.exit(main())
