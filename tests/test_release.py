"""The release as a person installs it: ``./run.sh bundle`` for this machine, installed with ``--no-index`` into a
fresh virtualenv (non-editable, outside the source tree), then the smoke set run against that installation."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import gatepass

ROOT = Path(__file__).resolve().parent.parent
HAVE_SYSTEMD_TOOLS = all(shutil.which(t) for t in ("systemd-sysusers", "systemctl"))


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without pip's settings (so only the bundle is looked in) and gatepass's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GATEPASS_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", GATEPASS_ALLOW_ROOT="1", **extra)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding gatepass from a bundle made now by ``./run.sh bundle <this arch>``."""
    made = subprocess.run(["bash", "run.sh", "bundle", platform.machine()], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200, env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"})
    assert made.returncode == 0, made.stderr[-4000:]
    tarball = ROOT / made.stdout.strip().splitlines()[-1]
    where = tmp_path_factory.mktemp("release")
    with tarfile.open(tarball) as tar:
        tar.extractall(where, filter="data")
    bundle = where / tarball.name.removesuffix(".tar.gz")
    target = where / "venv"
    done = subprocess.run([str(bundle / "install.sh"), str(target)], cwd=where, capture_output=True, text=True,
                          timeout=900, env=_clean_env())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return target


def _run(venv: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_clean_env())


def test_the_changelog_names_the_version():
    first = re.search(r"^## (\S+) — \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert first is not None and first.group(1) == gatepass.__version__


def test_the_installed_package_is_the_wheel_with_its_version_and_license(venv, tmp_path):
    version = _run(venv, "gatepass", "--version", cwd=tmp_path)
    assert version.returncode == 0 and gatepass.__version__ in version.stdout
    shown = _run(venv, "python", "-m", "pip", "show", "-f", "gatepass", cwd=tmp_path).stdout
    assert f"Version: {gatepass.__version__}" in shown
    assert "Apache-2.0" in shown
    assert "Editable project location" not in shown
    where = _run(venv, "python", "-c", "import gatepass, edge, central; print(gatepass.__file__, edge.__file__)",
                 cwd=tmp_path).stdout
    assert str(ROOT) not in where and str(venv) in where
    for packaged in ("gatepass/systemd/gatepass-edge.service", "gatepass/systemd/templates/edge.toml",
                     "gatepass/systemd/udev/99-gatepass.rules", "gatepass/systemd/sysusers.d/gatepass.conf",
                     "edge/web/static/guard.js", "edge/audio/zh-CN/", "central/console/templates/"):
        assert packaged in shown, packaged


@pytest.mark.skipif(not HAVE_SYSTEMD_TOOLS, reason="needs systemd's offline tools (systemd-sysusers, systemctl)")
def test_edge_install_works_from_the_wheel(venv, tmp_path):
    dry = _run(venv, "gatepass", "edge", "install", "--root", str(tmp_path / "dry"), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "gatepass-edge.service" in dry.stdout and not (tmp_path / "dry" / "etc").exists()
    real = _run(venv, "gatepass", "edge", "install", "--root", str(tmp_path / "root"), "--gate-id", "north",
                "--gate-name", "北门", cwd=tmp_path)
    assert real.returncode == 0, real.stderr
    unit = (tmp_path / "root/etc/systemd/system/gatepass-edge.service").read_text()
    assert f"ExecStart={venv}/bin/gatepass" in unit
    assert '"north"' in (tmp_path / "root/etc/gatepass/edge.toml").read_text()
    assert (tmp_path / "root/etc/udev/rules.d/99-gatepass.rules").exists()


@pytest.fixture
def demo(venv: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """``gatepass demo`` of the installed wheel; yields its two URLs."""
    proc = subprocess.Popen([str(venv / "bin" / "gatepass"), "demo", "--data-dir", str(tmp_path / "demo"),
                             "--central-port", "0", "--guard-port", "0", "--duration", "120"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env())
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while len(urls) < 2 and time.monotonic() < deadline and proc.stdout is not None:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.match(r"(guard page|central console):\s+(\S+)", line)
            if m:
                urls[m.group(1)] = m.group(2)
        assert len(urls) == 2, proc.stderr.read() if proc.stderr and proc.poll() is not None else "no URLs"
        yield urls
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_demo_of_the_wheel_serves_both_pages_and_the_guard_page_files(demo):
    console = httpx.get(demo["central console"], timeout=10, follow_redirects=True)
    assert console.status_code == 200 and "登录" in console.text  # the sign-in page
    guard = httpx.get(demo["guard page"], timeout=10)
    assert guard.status_code == 200
    assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', guard.text))
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), guard.text[:500]
    for asset in assets:
        got = httpx.get(demo["guard page"].rstrip("/") + asset.split("?")[0], timeout=10)
        assert got.status_code == 200 and got.content, asset


def test_every_pinned_dependency_has_a_wheel_for_64_bit_raspberry_pi_os():
    """A dependency change can never break Pi installs silently: the offline bundle for aarch64 / cp311 is made
    from wheels only (``pip download --only-binary=:all: --platform manylinux…aarch64``)."""
    made = subprocess.run(["bash", "run.sh", "bundle", "aarch64"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"})
    assert made.returncode == 0, made.stderr[-4000:]
    tarball = ROOT / made.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        wheels = [n for n in tar.getnames() if n.endswith(".whl")]
    compiled = [w for w in wheels if not w.endswith(("-none-any.whl", "py2.py3-none-any.whl"))]
    assert compiled and all("aarch64" in w for w in compiled), compiled
    for name in ("numpy", "opencv_python_headless", "cryptography", "pydantic_core", "zxing"):
        assert any(name in w.split("/")[-1] for w in wheels), name
