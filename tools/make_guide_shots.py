"""The screenshots of the guides in ``docs/`` (保安使用说明, 社区工作人员使用说明), taken from the real pages.

Starts the demo exactly as ``gatepass demo`` does (central, a thermometer simulator, one simulated gate and the
sync, as separate processes on loopback) in a temporary folder, drives the guard page (800×480), the console
(1366×768) and the console's phone pages (390×844) in Debian's chromium (zh-CN) through Playwright, and saves each
shot as a small palette PNG under ``docs/img/``. Next to them ``shots.json`` records, per shot, its size and the
visible text of the part of the page that does not change from run to run (headings, labels, buttons, the
outcome shown); ``tests/docs/test_guides.py`` takes the shots again into a temporary folder and compares.

    .venv/bin/python tools/make_guide_shots.py                 # all shots into docs/img/
    .venv/bin/python tools/make_guide_shots.py --out /tmp/x    # elsewhere (what the test does)
    .venv/bin/python tools/make_guide_shots.py --pdf           # also docs/保安使用说明.pdf (A4, for printing)

The demo's simulated camera is shown one pass at a time: the demo feeder reads ``passes.txt`` at every turn,
so this script empties it and writes the one pass it wants next.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMG = DOCS / "img"
MANIFEST = "shots.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--font-render-hinting=none", "--lang=zh-CN"]
GUARD, CONSOLE, PHONE = (800, 480), (1366, 768), (390, 844)
COLOURS = 48  # palette size: flat UI colours and anti-aliased CJK text stay legible, files stay small
WAIT_MS = 20_000


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file name (without .png), the viewport, and the selectors whose visible text is kept in
    the manifest (the parts of the page that stay the same from run to run)."""

    name: str
    viewport: tuple[int, int]
    check: tuple[str, ...]
    #: what the page shows depends on the hour the shots are taken (the care round: a morning slot is due before
    #: noon and missed after it), so only its text, not its picture, is compared with the committed shot
    by_the_hour: bool = False


def _guard(name: str, *check: str) -> Shot:
    return Shot(name, GUARD, check or ("#headline", "#reason", "#actions"))


def _console(name: str, *check: str) -> Shot:
    return Shot(name, CONSOLE, check or ("main h1", "main form label", "main table thead"))


#: Every shot, in the order taken. The guides may only show these.
SHOTS: tuple[Shot, ...] = (
    _guard("guard-idle", "#headline", "#reason", "#actions", "#shift-info"),
    _guard("guard-signin", "#dlg-signin h2", "#dlg-signin label", "#keypad"),
    _guard("guard-health-code", "#headline", "#reason", "#hc-buttons", "#shift-info"),
    _guard("guard-pass"),
    _guard("guard-refuse"),
    _guard("guard-override", "#dlg-override h2", "#override-reasons", "#note-hint", "#dlg-override .row"),
    _guard("guard-override-confirm", "#dlg-override h2", "#confirm-q", "#confirm-sub", "#dlg-override .row"),
    _guard("guard-visitor", "#dlg-visitor h2", "#dlg-visitor label", "#visitor-reasons", "#dlg-visitor .row"),
    _guard("guard-vehicle", "#dlg-vehicle h2", "#dlg-vehicle label", "#dlg-vehicle .row"),
    _guard("guard-parcel", "#dlg-delivery h2", "#delivery-tabs", "#dlg-delivery label", "#dlg-delivery .row"),
    _guard("guard-inside", "#dlg-inside h2", "#dlg-inside .row"),
    _guard("guard-fault", "#headline", "#reason", "#faults"),
    _guard("guard-handover", "#dlg-summary h2", "#summary-table", "#dlg-summary .row"),
    _guard("guard-handover-note", "#dlg-note h2", "#note-phrases", "#dlg-note .row"),
    _console("console-login", "main h1", "main label", "main button"),
    _console("console-home", "main h1", "main .actions, main a.button"),
    _console("console-alerts", "main h1", "main table thead"),
    _console("console-entries"),
    _console("console-trace", "main h1", "main form label", "main h2", "main .actions"),
    _console("console-households", "main h1", "main h2", "main table thead"),
    _console("console-household", "main h1", "main h2", "main table thead"),
    _console("console-passes", "#passes thead", "#issue-form label"),
    _console("console-cards", "body"),
    _console("console-care", "main h1", "main h2", "#care-active thead", "#round-link"),
    Shot("phone-care-round", PHONE, ("main h1",), by_the_hour=True),
    _console("console-roster", "main h1", "#roster-upload"),
    _console("console-screening", "main h1", "main table thead"),
    _console("console-report", "main h1", "main h2", "main form label"),
    _console("console-visitors"),
    _console("console-vehicles"),
    _console("console-deliveries"),
    _console("console-duty", "main h1", "main h2"),
    _console("console-devices", "main h1", "main table thead"),
    _console("console-enrol", "main h1", "main h2", "#enrol-approve label", "#enrol-pending thead"),
)
SHOT_BY_NAME = {s.name: s for s in SHOTS}


def normalise(text: str) -> str:
    """The text of a page part as the manifest keeps it: digits (times, counts, dates) as ``#``, blanks collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text)).strip()


def optimise_png(path: Path, colours: int = COLOURS) -> None:
    """Rewrite ``path`` as a palette PNG of ``colours`` colours (Pillow's median cut, no dithering)."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                                            dither=Image.Dither.NONE)
    small.save(path, optimize=True)


class Camera:
    """Takes the shots into ``out`` and keeps the manifest."""

    def __init__(self, out: Path, optimise: bool = True) -> None:
        self.out = out
        self.optimise = optimise
        self.started = time.monotonic()
        self.manifest: dict[str, dict[str, Any]] = {}

    def take(self, page: Any, name: str) -> None:
        """Screenshot the page's viewport as ``name``.png and record the text of the shot's check selectors."""
        shot = SHOT_BY_NAME[name]
        page.wait_for_timeout(150)  # transitions and the last paint
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path))
        if self.optimise:
            optimise_png(path)
        parts = []
        for selector in shot.check:
            texts = page.locator(selector).all_inner_texts()
            if not texts:
                raise RuntimeError(f"shot {name}: nothing matches {selector!r}")
            parts.append(" | ".join(normalise(t) for t in texts))
        self.manifest[name] = {"size": list(shot.viewport), "text": parts}
        sys.stderr.write(f"  {name}.png  {path.stat().st_size // 1024} KB  ({time.monotonic() - self.started:.1f} s)\n")

    def save_manifest(self) -> Path:
        """Write ``shots.json`` (the order of SHOTS)."""
        missing = [s.name for s in SHOTS if s.name not in self.manifest]
        if missing:
            raise RuntimeError(f"shots not taken: {missing}")
        path = self.out / MANIFEST
        data = {s.name: self.manifest[s.name] for s in SHOTS}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path


# --- the demo ---------------------------------------------------------------------------------------------------


@dataclass
class Demo:
    """The running demo: its folder, the URLs, the console sign-in and the passes it issued."""

    data_dir: Path
    urls: dict[str, str]
    login: tuple[str, str]
    passes: list[str]  # valid 1-1-101, expired 1-1-102, revoked 1-1-103, quarantined 2-3-401

    def present(self, index: int) -> None:
        """Have the feeder show pass ``index`` (at its next turn, within 6 s)."""
        (self.data_dir / "passes.txt").write_text(self.passes[index] + "\n", encoding="utf-8")

    def quiet(self) -> None:
        """Have the feeder show nothing."""
        (self.data_dir / "passes.txt").write_text("", encoding="utf-8")

    def unplug_speaker(self) -> None:
        """From now on the stand-in player fails, as ``aplay`` does with the speaker's cable out."""
        (self.data_dir / UNPLUGGED).touch()


#: The demo's speaker: a stand-in for ``aplay`` on the PATH of the demo's processes (this machine may have no sound
#: card): it takes the sound and succeeds, or fails once ``<data_dir>/speaker-unplugged`` exists.
UNPLUGGED = "speaker-unplugged"
STAND_IN_PLAYER = f"""#!/bin/sh
cat > /dev/null
[ ! -e "{{data_dir}}/{UNPLUGGED}" ]
"""


@contextlib.contextmanager
def _speaker(data_dir: Path) -> Iterator[None]:
    """The stand-in ``aplay`` first on PATH while the demo's processes start (they keep the environment)."""
    folder = data_dir.parent / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    player = folder / "aplay"
    player.write_text(STAND_IN_PLAYER.replace("{data_dir}", str(data_dir)), encoding="utf-8")
    player.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{old}"
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _start(start_demo: Any, data_dir: Path, attempts: int = 2) -> Any:
    """``start_demo`` again when a process was too slow to answer (a machine busy with other builds)."""
    from gatepass.errors import GatepassError

    for attempt in range(1, attempts + 1):
        try:
            return start_demo(data_dir, 0, 0)
        except GatepassError as exc:
            if attempt == attempts:
                raise
            sys.stderr.write(f"the demo did not start ({exc}); once more\n")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_demo(data_dir: Path) -> Iterator[Demo]:
    """``gatepass demo`` in ``data_dir`` (on free loopback ports) until the block ends."""
    from central.console.demo import demo_login
    from gatepass.demo import _demo_passes, start_demo, stop_all

    started = time.monotonic()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    feeder = _demo_passes(data_dir)  # issued before the demo starts, as a second run of the demo finds them
    if feeder is None:
        raise RuntimeError("the demo's passes were not issued (see the warning above)")
    passes = [line for line in feeder.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(passes) != 4:
        raise RuntimeError(f"the demo issued {len(passes)} passes, expected 4")
    feeder.write_text("", encoding="utf-8")  # the gate starts with nothing shown to its camera
    with _speaker(data_dir):
        children, urls = _start(start_demo, data_dir)
    try:
        sys.stderr.write(f"demo started in {time.monotonic() - started:.1f} s\n")
        user, password = demo_login(data_dir.resolve() / "central").split(" / ", 1)
        yield Demo(data_dir, urls, (user, password), passes)
    finally:
        stop_all(children)


# --- the guard page ---------------------------------------------------------------------------------------------


def _state(page: Any, state: str, head: str | None = None) -> None:
    cond = f"document.getElementById('result').dataset.state === '{state}'"
    if head is not None:
        cond += f" && document.getElementById('headline').textContent === '{head}'"
    page.wait_for_function(cond, timeout=WAIT_MS)


def _open(page: Any, button: str, dialog: str) -> None:
    page.click(button)
    page.wait_for_selector(f"{dialog}:not([hidden])", timeout=WAIT_MS)


def _close(page: Any, dialog: str) -> None:
    page.click(f"{dialog} [data-close]")
    page.wait_for_selector(dialog, state="hidden", timeout=WAIT_MS)


def guard_shots(demo: Demo, page: Any, cam: Camera) -> None:
    """The guard's tasks on the guard page, in the order a shift meets them."""
    page.goto(demo.urls["guard"])
    page.wait_for_function("document.getElementById('headline').textContent !== ''", timeout=WAIT_MS)
    _state(page, "idle")
    sys.stderr.write(f"guard page idle after {time.monotonic() - cam.started:.1f} s\n")
    cam.take(page, "guard-idle")
    _open(page, "#btn-shift", "#dlg-signin")
    page.fill("#in-guard", "1001")
    page.fill("#in-pin", "246810")
    cam.take(page, "guard-signin")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-signin", state="hidden", timeout=WAIT_MS)
    _dismiss_handover_in(page)
    demo.present(0)  # the valid pass: the gate asks for the health-code colour
    page.wait_for_selector("#hc-buttons:not([hidden])", timeout=WAIT_MS)
    demo.quiet()
    page.wait_for_selector("#toast", state="hidden", timeout=WAIT_MS)  # "1001 已签到" covers the headline a moment
    cam.take(page, "guard-health-code")
    page.click("#hc-buttons [data-colour='green']")
    _state(page, "pass")
    cam.take(page, "guard-pass")
    demo.present(3)  # the household under home quarantine
    _state(page, "refuse")
    page.wait_for_function("document.getElementById('unit').textContent.includes('2-3-401')", timeout=WAIT_MS)
    demo.quiet()
    cam.take(page, "guard-refuse")
    _override(page, cam)
    _forms(page, cam)
    demo.unplug_speaker()
    demo.present(1)  # the expired pass: refused, and its voice prompt fails
    page.wait_for_selector("#faults:not([hidden])", timeout=WAIT_MS)
    page.wait_for_function("document.getElementById('unit').textContent.includes('1-1-102')", timeout=WAIT_MS)
    demo.quiet()
    cam.take(page, "guard-fault")
    _handover(page, cam)


def _dismiss_handover_in(page: Any) -> None:
    """The notes of the last shift show after sign-in when there are some."""
    with contextlib.suppress(Exception):
        page.wait_for_selector("#dlg-handover-in:not([hidden])", timeout=1500)
        page.click("#dlg-handover-in [data-close]")


def _blur(page: Any, heading: str) -> None:
    """Close the on-screen keyboard (it closes when its input loses the focus) to show the whole dialog."""
    page.click(heading)
    page.wait_for_function("!document.body.classList.contains('kb-open')", timeout=WAIT_MS)


def _override(page: Any, cam: Camera) -> None:
    _open(page, "#btn-override", "#dlg-override")
    page.click("[data-reason='other']")
    page.fill("#in-o-note", "社区书记电话同意")
    _blur(page, "#dlg-override h2")
    cam.take(page, "guard-override")
    page.click("#override-ok")
    page.wait_for_selector("#override-step2:not([hidden])", timeout=WAIT_MS)
    cam.take(page, "guard-override-confirm")
    _close(page, "#dlg-override")


def _forms(page: Any, cam: Camera) -> None:
    _open(page, "#btn-visitor", "#dlg-visitor")
    page.fill("#in-v-name", "王小明")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "3-2-401")
    page.fill("#in-v-temp", "36.5")
    page.click("#visitor-reasons .choice >> nth=0")
    _blur(page, "#dlg-visitor h2")
    cam.take(page, "guard-visitor")
    _close(page, "#dlg-visitor")
    _open(page, "#btn-vehicle", "#dlg-vehicle")
    _blur(page, "#dlg-vehicle h2")
    cam.take(page, "guard-vehicle")
    _close(page, "#dlg-vehicle")
    _open(page, "#btn-delivery", "#dlg-delivery")
    _blur(page, "#dlg-delivery h2")
    cam.take(page, "guard-parcel")
    _close(page, "#dlg-delivery")
    _open(page, "#btn-inside", "#dlg-inside")
    page.wait_for_selector("#inside-list li", timeout=WAIT_MS)
    cam.take(page, "guard-inside")
    _close(page, "#dlg-inside")


def _handover(page: Any, cam: Camera) -> None:
    _open(page, "#btn-shift", "#dlg-summary")
    page.wait_for_selector("#summary-table tr", timeout=WAIT_MS)
    cam.take(page, "guard-handover")
    page.click("#summary-note")
    page.wait_for_selector("#dlg-note:not([hidden])", timeout=WAIT_MS)
    cam.take(page, "guard-handover-note")
    _close(page, "#dlg-note")


# --- the console ------------------------------------------------------------------------------------------------


def _goto(page: Any, demo: Demo, path: str) -> None:
    page.goto(demo.urls["central"].rstrip("/") + path)
    page.wait_for_load_state("load")


def console_shots(demo: Demo, page: Any, phone: Any, cam: Camera) -> None:
    """The staff's tasks in the console, one shot per task."""
    _goto(page, demo, "/login")
    page.fill("input[name=username]", demo.login[0])
    page.fill("input[name=password]", demo.login[1])
    cam.take(page, "console-login")
    page.click("main button[type=submit]")
    page.wait_for_selector("#menu", timeout=WAIT_MS)
    _goto(page, demo, "/")
    cam.take(page, "console-home")
    for name, path in (("console-alerts", "/alerts"), ("console-entries", "/entries"),
                       ("console-trace", "/trace?kind=household&value=3-2-401&minutes=15"),
                       ("console-households", "/households"), ("console-household", "/households/2-3-401")):
        _goto(page, demo, path)
        cam.take(page, name)
    _goto(page, demo, "/households/1-1-101")
    page.evaluate("document.getElementById('passes').closest('.table-scroll').previousElementSibling.scrollIntoView()")
    cam.take(page, "console-passes")
    _goto(page, demo, "/households/1-1-101/cards")
    cam.take(page, "console-cards")
    _goto(page, demo, "/care")
    cam.take(page, "console-care")
    _phone_round(demo, page, phone, cam)
    for name, path in (("console-roster", "/roster"), ("console-screening", "/screening"),
                       ("console-report", "/report"), ("console-visitors", "/visitors"),
                       ("console-vehicles", "/vehicles"), ("console-deliveries", "/deliveries"),
                       ("console-duty", "/duty"), ("console-devices", "/devices")):
        _goto(page, demo, path)
        cam.take(page, name)
    _goto(page, demo, "/devices/enrol")  # the demo's gate waiting for approval: its code opens the form
    page.click("#enrol-pending tbody a")
    page.wait_for_selector("#enrol-approve", timeout=WAIT_MS)
    cam.take(page, "console-enrol")


def _phone_round(demo: Demo, page: Any, phone: Any, cam: Camera) -> None:
    """The care round on a phone: the same signed-in session in a phone-sized window."""
    phone.context.add_cookies(page.context.cookies())
    _goto(phone, demo, "/care/round")
    cam.take(phone, "phone-care-round")


# --- the whole run ----------------------------------------------------------------------------------------------


def take_all(out: Path, work: Path, optimise: bool = True) -> dict[str, dict[str, Any]]:
    """Start the demo in ``work``, take every shot into ``out`` (as palette PNGs unless not ``optimise``); returns
    the manifest."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    cam = Camera(out, optimise)
    with running_demo(work / "demo") as demo, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            guard = _context(browser, GUARD, touch=True).new_page()
            guard_shots(demo, guard, cam)
            console = _context(browser, CONSOLE).new_page()
            phone = _context(browser, PHONE, touch=True, scale=1).new_page()
            console_shots(demo, console, phone, cam)
        finally:
            browser.close()
    cam.save_manifest()
    return cam.manifest


def _context(browser: Any, size: tuple[int, int], touch: bool = False, scale: float = 1) -> Any:
    return browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN",
                               timezone_id="Asia/Shanghai", has_touch=touch, device_scale_factor=scale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=IMG, help="where the PNGs and shots.json go (docs/img)")
    parser.add_argument("--pdf", action="store_true", help="also render the guard guide to an A4 PDF")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gatepass-shots-") as work:
        take_all(args.out, Path(work))
    total = sum(p.stat().st_size for p in args.out.glob("*.png"))
    sys.stdout.write(f"{len(SHOTS)} shots in {args.out} ({total // 1024} KB) in {time.monotonic() - started:.0f} s\n")
    if args.pdf:
        from make_guide_pdf import render_guard_guide

        sys.stdout.write(f"{render_guard_guide()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
