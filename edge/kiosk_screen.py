"""The Pi's own touch screen: ``cage`` (a Wayland kiosk compositor) running Debian's chromium on the guard page.

``gatepass edge install --kiosk`` installs ``gatepass-kiosk.service``, which runs two commands of this module:

- ``gatepass edge screen --prepare`` (as root, ``ExecStartPre=+``): the touchscreen's calibration as a udev rule
  (``LIBINPUT_CALIBRATION_MATRIX``, following ``[kiosk] rotation`` unless ``touch_matrix`` is given), the ALSA
  default card for the voice prompts (``/etc/alsa/conf.d/60-gatepass.conf``), the mixer level (``amixer``), and
  no blanking of the text console on the service's tty (the ``setterm --blank 0 --powerdown 0`` sequences).
- ``gatepass edge screen`` (as the ``gatepass-kiosk`` user): replaces itself with ``cage`` running chromium, so
  cage is the service's main process and ``Restart=always`` brings both back when either dies.

Everything is read from ``edge.toml`` at each start, so after editing ``[kiosk]`` a ``systemctl restart
gatepass-kiosk`` applies it. The command line and environment are built by pure functions
(:func:`cage_command`, :func:`environment`, :func:`touch_rule`, :func:`alsa_config`, :func:`mixer_command`) tested
on plain settings.

Chromium is kept off the network but for loopback by its flags (:data:`CHROMIUM_FLAGS`: no background
networking, component updates, sync, translation, safe-browsing downloads, cast discovery; every host and address
but ``localhost`` and 127.0.0.1 resolves to nothing) and, on a cgroup-v2 system, by the unit's ``IPAddressDeny=any``.
The browser profile is made fresh at every start (:func:`write_profile`): translation off, a clean exit recorded.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import click

from edge.settings import EdgeSettings, KioskSection
from gatepass.clickutil import config_option

log = logging.getLogger(__name__)

CAGE = "/usr/bin/cage"
CHROMIUM = "/usr/bin/chromium"
#: Where the udev rule with the touchscreen's calibration goes (written by ``--prepare``, as root).
TOUCH_RULE = Path("/etc/udev/rules.d/98-gatepass-touch.rules")
#: The ALSA default card for the voice prompts (Debian's alsa.conf reads /etc/alsa/conf.d/*.conf).
ALSA_CONF = Path("/etc/alsa/conf.d/60-gatepass.conf")
#: ``setterm --blank 0 --powerdown 0``: the text console never blanks or powers the screen down.
NO_BLANK = "\033[9;0]\033[14;0]"

#: libinput calibration for each rotation (clockwise), as libinput's documentation gives them.
ROTATION_MATRICES: dict[int, tuple[float, ...]] = {
    0: (1, 0, 0, 0, 1, 0), 90: (0, -1, 1, 1, 0, 0), 180: (-1, 0, 1, 0, -1, 1), 270: (0, 1, 0, -1, 0, 1)}

#: Chromium's flags: kiosk, Wayland, nothing on the network but loopback, no bubbles, no pinch or swipe-back.
CHROMIUM_FLAGS = (
    "--kiosk", "--ozone-platform=wayland", "--noerrdialogs", "--disable-infobars", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-translate",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings",
    "--disable-breakpad", "--metrics-recording-only", "--safebrowsing-disable-auto-update",
    "--check-for-update-interval=31536000", "--password-store=basic",
    "--disable-features=Translate,TranslateUI,MediaRouter,DialMediaRouteProvider,OptimizationHints,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,"
    "PrivacySandboxSettings4,OverscrollHistoryNavigation,PullToRefresh",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",  # IP literals too
    "--disable-pinch", "--overscroll-history-navigation=0", "--pull-to-refresh=0",
    "--disable-session-crashed-bubble", "--hide-crash-restore-bubble", "--disable-restore-session-state",
    "--autoplay-policy=no-user-gesture-required",
)


def guard_url(settings: EdgeSettings) -> str:
    """The guard page as the browser on the Pi opens it: over loopback (the trusted local kiosk)."""
    page = settings.guard_page
    scheme = "https" if page.tls_cert is not None else "http"
    return f"{scheme}://127.0.0.1:{page.port}/"


def chromium_command(settings: EdgeSettings, profile: Path) -> list[str]:
    """Chromium on the guard page, its profile in ``profile`` (a fresh one at each start: nothing to restore)."""
    return [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", guard_url(settings)]


def cage_command(settings: EdgeSettings, profile: Path) -> list[str]:
    """``cage`` (no client decorations, rotated by ``[kiosk] rotation``) running :func:`chromium_command`."""
    turns = settings.kiosk.rotation // 90
    return [CAGE, "-d", *(["-r"] * turns), "--", *chromium_command(settings, profile)]


def environment(base: Mapping[str, str], runtime_dir: Path) -> dict[str, str]:
    """The environment cage and chromium run in: ``base`` (the unit's, e.g. a test's ``WLR_BACKENDS``) plus a
    Wayland runtime directory (logind's, or the service's own), its home there, and starting without any input
    device (a screen without touch still shows the page)."""
    env = dict(base)
    env.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    env["HOME"] = str(runtime_dir)
    env["WLR_LIBINPUT_NO_DEVICES"] = "1"
    env.pop("DISPLAY", None)
    return env


def profile_preferences() -> dict[str, object]:
    """The fresh profile's ``Default/Preferences``: chromium 156 still offers to translate the zh-CN page to the
    system's language despite ``--disable-features=Translate``; this preference turns the offer off. A clean exit
    recorded, so no "restore pages" bubble either."""
    return {"translate": {"enabled": False}, "translate_blocked_languages": ["zh-CN", "zh", "en"],
            "profile": {"exit_type": "Normal", "exited_cleanly": True},
            "browser": {"check_default_browser": False}}


def write_profile(profile: Path) -> None:
    """A fresh chromium profile in ``profile`` holding only :func:`profile_preferences`."""
    shutil.rmtree(profile, ignore_errors=True)
    (profile / "Default").mkdir(parents=True, mode=0o700)
    (profile / "Default" / "Preferences").write_text(json.dumps(profile_preferences()), encoding="utf-8")


def touch_matrix(kiosk: KioskSection) -> tuple[float, ...]:
    """The calibration matrix: ``touch_matrix`` when given, else the one of ``rotation``."""
    return kiosk.touch_matrix if kiosk.touch_matrix is not None else ROTATION_MATRICES[kiosk.rotation]


def _number(x: float) -> str:
    return f"{x:g}"


def touch_rule(kiosk: KioskSection) -> str:
    """The udev rule giving the touchscreen(s) their libinput calibration."""
    name = f', ATTRS{{name}}=="{kiosk.touch_device}"' if kiosk.touch_device else ""
    matrix = " ".join(_number(x) for x in touch_matrix(kiosk))
    return ("# Written by gatepass-kiosk.service from [kiosk] in /etc/gatepass/edge.toml at every start; "
            "edit that instead.\n"
            f'ACTION=="add|change", SUBSYSTEM=="input", ENV{{ID_INPUT_TOUCHSCREEN}}=="1"{name}, '
            f'ENV{{LIBINPUT_CALIBRATION_MATRIX}}="{matrix}"\n')


def alsa_config(kiosk: KioskSection) -> str | None:
    """ALSA's default card for every player (the voice prompts' aplay, chromium); None: the system's default."""
    if not kiosk.audio_card:
        return None
    card = kiosk.audio_card if kiosk.audio_card.isdecimal() else f'"{kiosk.audio_card}"'
    return (f"# Written by gatepass-kiosk.service from [kiosk] audio_card in /etc/gatepass/edge.toml.\n"
            f"defaults.pcm.card {card}\ndefaults.ctl.card {card}\n")


def mixer_command(kiosk: KioskSection) -> list[str] | None:
    """``amixer`` setting the output level of ``[kiosk] volume`` (and unmuting it); None when not set."""
    if kiosk.volume is None:
        return None
    card = ["-c", kiosk.audio_card] if kiosk.audio_card else []
    return ["amixer", "-q", *card, "sset", kiosk.mixer_control, f"{kiosk.volume}%", "unmute"]


# -- the service's two commands ---------------------------------------------------------------------------


def _write_if_changed(path: Path, text: str | None) -> bool:
    """Write (or with None remove) ``path``; True when it changed."""
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        return False
    if text is None:
        path.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return True


def _reapply_touch_rule() -> None:
    """Have udev re-read the rules and re-tag the touchscreens (only when udevd runs; else at the next boot)."""
    if not Path("/run/udev/control").exists() or shutil.which("udevadm") is None:
        log.info("udevd is not running: the touch calibration applies from the next boot")
        return
    for argv in (["udevadm", "control", "--reload"],
                 ["udevadm", "trigger", "--subsystem-match=input", "--property-match=ID_INPUT_TOUCHSCREEN=1",
                  "--action=change"]):
        subprocess.run(argv, check=False, timeout=30)


def _set_mixer(kiosk: KioskSection) -> None:
    argv = mixer_command(kiosk)
    if argv is None:
        return
    if shutil.which(argv[0]) is None:
        log.warning("amixer is missing (apt-get install alsa-utils): the volume is left as it is")
        return
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if proc.returncode != 0:
        log.warning("音量未能设置 / could not set the volume: %s", proc.stderr.strip())


def prepare(settings: EdgeSettings, root: Path = Path("/")) -> None:
    """As root before the screen starts: touch calibration, audio card and level, no console blanking."""
    kiosk = settings.kiosk
    if _write_if_changed(root / str(TOUCH_RULE).lstrip("/"), touch_rule(kiosk)) and root == Path("/"):
        _reapply_touch_rule()
    _write_if_changed(root / str(ALSA_CONF).lstrip("/"), alsa_config(kiosk))
    _set_mixer(kiosk)
    if os.isatty(0):  # systemd gives the service its tty (TTYPath=) as stdin
        os.write(0, NO_BLANK.encode())


def screen_process(settings: EdgeSettings, runtime: Path, base_env: Mapping[str, str]) -> tuple[list[str],
                                                                                               dict[str, str]]:
    """What the screen runs (argv, environment), with a fresh browser profile written in ``runtime``."""
    profile = runtime / "chromium"
    write_profile(profile)
    return cage_command(settings, profile), environment(base_env, runtime)


def launch(settings: EdgeSettings) -> None:
    """Replace this process with cage running chromium (its runtime directory: the unit's RuntimeDirectory)."""
    runtime = Path(os.environ.get("RUNTIME_DIRECTORY", "/run/gatepass-kiosk").split(":")[0])
    argv, env = screen_process(settings, runtime, os.environ)
    os.execve(argv[0], argv, env)


@click.command("screen")
@config_option
@click.option("--prepare", "do_prepare", is_flag=True,
              help="As root: touch calibration, audio card and volume, no console blanking; then exit.")
@click.option("--print", "do_print", is_flag=True, help="Only print the command the screen runs.")
def screen_command(config_path: str | None, do_prepare: bool, do_print: bool) -> None:
    """The guard page on the Pi's own screen (run by gatepass-kiosk.service)."""
    from gatepass.config import load_settings

    settings = load_settings(EdgeSettings, config_path)
    if do_print:
        click.echo(shlex.join(cage_command(settings, Path("/run/gatepass-kiosk/chromium"))))
    elif do_prepare:
        prepare(settings)
    else:
        launch(settings)
