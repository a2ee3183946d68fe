"""Fixtures for the guard page: a real uvicorn server on loopback, Debian's chromium through playwright."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from edge.settings import EdgeSettings
from edge.webapp import create_app
from gatepass.procs import free_port
from tests.edge.web.fakes import FakeCheckpoint
from tests.waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SHOTS = Path("/tmp/gatepass-shots")


class Server:
    """A uvicorn server in a thread, serving the guard page on 127.0.0.1."""

    def __init__(self, checkpoint, settings: EdgeSettings, voice=None) -> None:
        self.checkpoint = checkpoint
        self.settings = settings
        self.app = create_app(checkpoint, settings, voice)
        self.port = free_port(0)
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None,
                                timeout_graceful_shutdown=1, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=20)
        if not self.server.started:
            raise RuntimeError("guard page server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.app.state.page.stopping.set()
        self.server.should_exit = True
        self.thread.join(10)

    def token(self) -> str:
        """The page's action token, read from the page as the browser would."""
        html = httpx.get(self.url + "/").text
        start = html.index('"token": "') + len('"token": "')
        return html[start:html.index('"', start)]


def settings_for(tmp_path: Path, mode: str = "guarded", **sections) -> EdgeSettings:
    """Edge settings for a page test (voice off unless given)."""
    data = {"data_dir": str(tmp_path / "edge"), "gate": {"mode": mode, "name": "东门"},
            "voice": {"enabled": False}, **sections}
    return EdgeSettings(**data)


@pytest.fixture
def fake() -> FakeCheckpoint:
    return FakeCheckpoint()


@pytest.fixture
def server(tmp_path, fake) -> Iterator[Server]:
    with Server(fake, settings_for(tmp_path)) as srv:
        yield srv


def ensure_cjk_font() -> None:
    """Chinese glyphs need a CJK font (fonts-noto-cjk on the Pi); install it with apt when missing and root."""
    if subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip():
        return
    if shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fonts-noto-cjk"],
                       capture_output=True, timeout=600)
    if not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip():
        pytest.fail("no CJK font: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: install Debian's chromium (apt-get install chromium)")
    ensure_cjk_font()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 800, "height": 480}, has_touch=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    try:
        yield pg
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> Path:
    """Save a screenshot of the page under /tmp/gatepass-shots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
