"""``packaging/check_wheels.py``, run by ``./run.sh test``: every pinned runtime dependency of a gate has a wheel
for 64-bit Raspberry Pi OS. Against a package index of made-up wheels in a folder (never the real index), and an
index on a closed loopback port for the unreachable case."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.sync.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "check_wheels.py"
_spec = importlib.util.spec_from_file_location("check_wheels", SCRIPT)
assert _spec is not None and _spec.loader is not None
cw = importlib.util.module_from_spec(_spec)
sys.modules["check_wheels"] = cw
_spec.loader.exec_module(cw)


def _wheel(folder: Path, name: str, version: str, tag: str) -> None:
    """A minimal valid wheel ``name-version-tag.whl``."""
    dist = f"{name}-{version}"
    with zipfile.ZipFile(folder / f"{dist}-{tag}.whl", "w") as z:
        z.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{dist}.dist-info/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                                              f"Tag: {tag}\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")


def _pip_env(**over: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "CI"}
    env.update(PIP_CONFIG_FILE=os.devnull, **over)
    return env


@pytest.fixture
def index(tmp_path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    _wheel(folder, "fastlib", "2.0", "cp311-cp311-manylinux_2_28_aarch64")  # needs glibc 2.28: bookworm has 2.36
    _wheel(folder, "purelib", "1.0", "py3-none-any")
    _wheel(folder, "x86only", "1.0", "cp311-cp311-manylinux_2_17_x86_64")
    _wheel(folder, "x86only", "0.9", "cp311-cp311-manylinux_2_17_aarch64")  # not the pinned version
    _wheel(folder, "armv7only", "1.0", "cp311-cp311-manylinux_2_17_armv7l")
    return folder


def test_the_runtime_closure_is_what_a_gate_installs():
    names = cw.runtime_closure()
    assert {"numpy", "opencv-python-headless", "pydantic-core", "cryptography", "zxing-cpp", "cffi"} <= names
    assert not names & {"pytest", "psycopg", "psycopg-binary", "ruff", "mypy", "colorama", "pip", "gatepass"}


def test_a_pin_without_an_aarch64_wheel_fails_naming_it_and_pure_python_passes(index, tmp_path):
    pinned = {"fastlib": "2.0", "purelib": "1.0", "x86only": "1.0", "armv7only": "1.0"}
    names = {*pinned, "notpinned"}
    local = _pip_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(index))
    outcome = cw.check(pinned, names, tmp_path / "cache.json", env=local)
    assert sorted(outcome.found) == ["fastlib==2.0", "purelib==1.0"]
    assert outcome.found["fastlib==2.0"].endswith("manylinux_2_28_aarch64.whl")
    assert sorted(outcome.missing) == ["armv7only==1.0", "x86only==1.0"] and outcome.unpinned == ["notpinned"]
    lines = cw.problems(outcome)
    assert len(lines) == 3 and all(line.startswith("wheel check FAILED: ") for line in lines)
    assert any("x86only==1.0 has no wheel for 64-bit Raspberry Pi OS" in line for line in lines)


def test_pins_found_once_are_not_looked_up_again(index, tmp_path):
    cache = tmp_path / "cache.json"
    pinned = {"fastlib": "2.0", "purelib": "1.0"}
    assert not cw.check(pinned, set(pinned), cache, env=_pip_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(index))).missing
    nowhere = _pip_env(PIP_INDEX_URL=f"http://127.0.0.1:{free_port()}/simple")
    again = cw.check(pinned, set(pinned), cache, env=nowhere)  # the index is gone: the cache answers
    assert sorted(again.found) == ["fastlib==2.0", "purelib==1.0"] and not again.missing
    with pytest.raises(cw.IndexUnreachable):
        cw.check({**pinned, "newlib": "1.0"}, {*pinned, "newlib"}, cache, env=nowhere)


@pytest.mark.parametrize("ci", [False, True])
def test_an_unreachable_index_skips_with_a_clear_line_but_fails_under_ci(tmp_path, ci):
    env = _pip_env(PIP_INDEX_URL=f"http://127.0.0.1:{free_port()}/simple", **({"CI": "1"} if ci else {}))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cache", str(tmp_path / "empty.json")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert "wheel check SKIPPED: the package index cannot be reached" in proc.stderr, proc.stderr
    assert proc.returncode == (1 if ci else 0)


def test_run_sh_test_runs_the_check_before_the_suite():
    script = (ROOT / "run.sh").read_text()
    test_branch = script[script.index("    test)"):script.index("    bench)")]
    assert "packaging/check_wheels.py" in test_branch
    assert test_branch.index("check_wheels.py") < test_branch.index("pytest")
    assert "./run.sh test" in (ROOT / ".ci" / "run").read_text()
