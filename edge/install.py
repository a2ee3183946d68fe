"""Installing the gate's services on a Raspberry Pi: ``gatepass edge install`` / ``uninstall``.

The installer is a list of :class:`Step` objects planned up front, so ``--dry-run``
prints exactly what would be done, and ``--root DIR`` carries out the same steps
inside a staging directory (users via ``systemd-sysusers --root``, units enabled
with ``systemctl --root``), which is how the tests run it without touching the
machine. Against the real root (``/``) it also reloads systemd and udev and
starts the checkpoint.

What it installs (paths relative to the root):

- ``/usr/lib/sysusers.d/gatepass.conf`` and the ``gatepass`` user (groups dialout, video, gpio, audio)
- ``/etc/systemd/system/gatepass-edge.service``, ``gatepass-sync.service`` (ExecStart rewritten to
  this installation's ``gatepass``), enabled
- ``/etc/udev/rules.d/99-gatepass.rules`` (stable device names; an example to adapt)
- ``/etc/gatepass/edge.toml``, ``sync.toml`` from templates (never overwritten; mode 0640, group gatepass), the
  credentials directory (root only) and, when given, the device token and central's public key
- ``/var/lib/gatepass`` owned by gatepass
- without a token (none given, none there: a new gate or a new SD card), *enrol mode*: ``gatepass-enrol.service``
  (enabled always, a no-op once the token exists) asks central for a code, the guard screen shows it
  (``/var/lib/gatepass/enrolment.json``, written here so the screen shows it from the first start) and, once staff
  approve it in the console, writes the token, central's key and the profile and restarts the services
- with ``--kiosk``: the ``gatepass-kiosk`` user (``/usr/lib/sysusers.d/gatepass-kiosk.conf``; groups video, render,
  input, audio, gatepass) and ``gatepass-kiosk.service`` (cage + chromium on the guard page, tty1; see
  edge/kiosk_screen.py), enabled; refused in one line when cage or chromium is not installed

``uninstall`` stops, disables and removes the units, the udev rule and the sysusers file; the
configuration, the data (entries perhaps not yet synced!) and the user stay unless ``purge``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import shutil
import sqlite3
import string
from dataclasses import dataclass, field
from pathlib import Path

import click

from gatepass.installer import (
    InstallError,
    Step,
    carry_out,
    check_machine,
    default_bin,
    give_to,
    lookup_ids,
    need_root_for_real,
    write_file,
)
from gatepass.installer import render_unit as render_bin
from gatepass.installer import run_command as _run
from gatepass.private_files import write_private
from gatepass.resources import systemd_dir

_write = write_file

log = logging.getLogger(__name__)

USER = "gatepass"
ENROL_UNIT = "gatepass-enrol.service"  # enrols a gate installed without a token (edge/enrol_cli.py)
UNITS = ("gatepass-edge.service", "gatepass-sync.service", ENROL_UNIT)
UDEV_RULE = "99-gatepass.rules"
SYSUSERS = "gatepass.conf"
KIOSK_UNIT = "gatepass-kiosk.service"
KIOSK_SYSUSERS = "gatepass-kiosk.conf"
#: What the kiosk screen runs: program -> the Debian package that brings it. cage 0.1.4 (bookworm) will not start
#: without the Xwayland binary, which neither it nor its libraries depend on or recommend.
KIOSK_PROGRAMS = {"cage": "cage", "Xwayland": "xwayland", "chromium": "chromium"}


def units_source() -> Path:
    """The packaged ``systemd/`` folder (:func:`gatepass.resources.systemd_dir`): wheel or editable install alike."""
    return systemd_dir()


@dataclass
class Options:
    """What to install and where."""

    root: Path = Path("/")
    bin: Path = field(default_factory=default_bin)
    source: Path = field(default_factory=units_source)
    device_id: str = "gate-1"
    gate_id: str = "gate-1"
    gate_name: str = "东门"
    community: str = "community"
    central_url: str = "https://central.example/"
    device_token_file: Path | None = None
    central_public_key_file: Path | None = None
    start: bool = True
    purge: bool = False
    discard_unsynced: bool = False
    machine: str | None = None  # platform.machine() when None (tests pretend to be a 32-bit Pi)
    bits: int | None = None  # the running Python's pointer size when None (32 on a 32-bit OS with a 64-bit kernel)

    @property
    def real(self) -> bool:
        """True when installing into the running system (not a staging root)."""
        return self.root.resolve() == Path("/")

    def path(self, absolute: str) -> Path:
        """``absolute`` (e.g. ``/etc/gatepass``) inside the root."""
        return self.root / absolute.lstrip("/")


def _root_arg(opts: Options) -> list[str]:
    return [] if opts.real else [f"--root={opts.root}"]


def _chown(opts: Options, path: Path, user: str) -> None:
    give_to(opts.root, path, user)


def render_unit(text: str, opts: Options) -> str:
    """A unit file with ExecStart pointing at this installation's gatepass."""
    return render_bin(text, opts.bin)


def render_template(text: str, opts: Options) -> str:
    """A config template with the options filled in as TOML strings."""
    values = {"device_id": opts.device_id, "gate_id": opts.gate_id, "gate_name": opts.gate_name,
              "community": opts.community, "central_url": opts.central_url}
    return string.Template(text).substitute({k: _toml_string(v) for k, v in values.items()})


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escaping, plus DEL, which TOML (unlike JSON) forbids raw."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


# -- install -------------------------------------------------------------------------------------------


def plan_install(opts: Options, kiosk: bool = False) -> list[Step]:
    """Every step of an installation, in order (a 32-bit system is refused first); with ``kiosk`` also the guard
    screen on the Pi's own display (``gatepass-kiosk.service``), refused when cage or chromium is missing."""
    check_machine(opts.machine, opts.bits)
    if not (opts.source / UNITS[0]).exists():
        raise InstallError(f"unit files not found in {opts.source}", "reinstall gatepass (its package data is missing)")
    if not opts.bin.exists():
        raise InstallError(f"{opts.bin} does not exist", "pass --bin with the installed gatepass executable")
    if kiosk:
        check_kiosk_programs()
    return [*_user_and_dir_steps(opts), *_config_steps(opts), *_unit_steps(opts),
            *(_kiosk_steps(opts) if kiosk else []), *_service_steps(opts, kiosk)]


def check_kiosk_programs(path: str | None = None) -> None:
    """Refuse ``--kiosk`` in one line (zh-CN, then English) when cage, Xwayland or chromium is not installed."""
    missing = [name for name in KIOSK_PROGRAMS if shutil.which(name, path=path) is None]
    if missing:
        apt = f"sudo apt-get install -y {' '.join(KIOSK_PROGRAMS.values())}"
        raise InstallError(f"未安装 {'、'.join(missing)}，无法设置屏幕：请先运行 {apt} / {', '.join(missing)} "
                           f"not installed, the screen cannot be set up: run {apt} first")


def _kiosk_steps(opts: Options) -> list[Step]:
    """The kiosk user and the screen's unit (``--kiosk`` only)."""
    sysusers = opts.path(f"/usr/lib/sysusers.d/{KIOSK_SYSUSERS}")

    def create_user() -> None:
        _write(sysusers, (opts.source / "sysusers.d" / KIOSK_SYSUSERS).read_text(), 0o644)
        _run(["systemd-sysusers", *_root_arg(opts), str(sysusers)])

    unit = opts.path("/etc/systemd/system") / KIOSK_UNIT
    return [Step("create user gatepass-kiosk (groups video, render, input, audio, gatepass) from "
                 f"{sysusers}", create_user),
            Step(f"install {unit} (cage + chromium on tty1, ExecStart={opts.bin})",
                 functools.partial(_write_unit, opts, KIOSK_UNIT))]


def _user_and_dir_steps(opts: Options) -> list[Step]:
    """The service user (systemd-sysusers) and the config, credentials and data directories."""
    sysusers = opts.path(f"/usr/lib/sysusers.d/{SYSUSERS}")

    def create_user() -> None:
        _write(sysusers, (opts.source / "sysusers.d" / SYSUSERS).read_text(), 0o644)
        opts.path("/etc").mkdir(parents=True, exist_ok=True)
        _run(["systemd-sysusers", *_root_arg(opts), str(sysusers)])

    def make_dirs() -> None:
        for path, mode in (("/etc/gatepass", 0o755), ("/etc/gatepass/credentials", 0o700),
                           ("/var/lib/gatepass", 0o750)):
            opts.path(path).mkdir(parents=True, exist_ok=True)
            opts.path(path).chmod(mode)
        _chown(opts, opts.path("/var/lib/gatepass"), USER)

    return [Step(f"create user {USER} (groups dialout, video, gpio, audio) from {sysusers}", create_user),
            Step(f"create {opts.path('/etc/gatepass')}, its credentials/ (0700) and "
                 f"{opts.path('/var/lib/gatepass')} (0750)", make_dirs)]


CONFIG_MODE = 0o640  # root:gatepass: the services read it, nobody else (it names the devices and central)


def _write_config(opts: Options, name: str, target: Path) -> None:
    if target.exists():
        log.info("keeping the existing %s", target)
        return
    write_group_file(target, render_template((opts.source / "templates" / name).read_text(encoding="utf-8"), opts),
                     lookup_ids(opts.root, USER))


def write_group_file(path: Path, text: str, ids: tuple[int, int] | None) -> None:
    """Write ``path`` atomically, mode 0640, group ``ids[1]`` (the service user's) when we may; never readable
    by others, not even for a moment (the file is created with its mode)."""
    write_private(path, text, CONFIG_MODE, ids[1] if ids is not None else None)


def _copy_secret(option: Path, target: Path) -> None:
    _write(target, option.read_text().strip() + "\n", 0o600 if "credentials" in str(target) else 0o644)


TOKEN = "/etc/gatepass/credentials/device-token"
ENROL_SCREEN = "/var/lib/gatepass/enrolment.json"


def _enter_enrol_mode(opts: Options) -> None:
    """The guard screen's enrolment state, "starting", until gatepass-enrol.service has a code to show."""
    from edge.enrol import ScreenState

    state = ScreenState(status="starting", message_zh="本设备尚未接入，正在向中心服务器申请接入码…",
                        message_en="This gate is not enrolled yet; asking central for an enrolment code...")
    write_group_file(opts.path(ENROL_SCREEN), json.dumps(dataclasses.asdict(state), ensure_ascii=False),
                     lookup_ids(opts.root, USER))


def _config_steps(opts: Options) -> list[Step]:
    """edge.toml and sync.toml from their templates (kept if present), and the secrets given on the command line."""
    steps = []
    for name in ("edge.toml", "sync.toml"):
        target = opts.path(f"/etc/gatepass/{name}")
        steps.append(Step(f"write {target} from the template (kept if it exists)",
                          functools.partial(_write_config, opts, name, target)))
    if opts.device_token_file is None and not opts.path(TOKEN).exists():
        steps.append(Step(f"enrol mode: no device token yet, the guard screen shows an enrolment code "
                          f"({opts.path(ENROL_SCREEN)}; {ENROL_UNIT} fetches the token)",
                          functools.partial(_enter_enrol_mode, opts)))
    for option, dest in ((opts.device_token_file, TOKEN),
                         (opts.central_public_key_file, "/etc/gatepass/central-public-key.pem")):
        if option is not None:
            steps.append(Step(f"copy {option} to {opts.path(dest)}",
                              functools.partial(_copy_secret, option, opts.path(dest))))
    return steps


def _write_unit(opts: Options, unit: str) -> None:
    _write(opts.path("/etc/systemd/system") / unit, render_unit((opts.source / unit).read_text(), opts), 0o644)


def _write_rule(opts: Options, rule: Path) -> None:
    if rule.exists():
        log.info("keeping the existing %s", rule)
        return
    _write(rule, (opts.source / "udev" / UDEV_RULE).read_text(), 0o644)


def _unit_steps(opts: Options) -> list[Step]:
    """The systemd units (ExecStart pointing at this installation) and the udev rule."""
    units_dir = opts.path("/etc/systemd/system")
    rule = opts.path(f"/etc/udev/rules.d/{UDEV_RULE}")
    return [*(Step(f"install {units_dir / unit} (ExecStart={opts.bin})", functools.partial(_write_unit, opts, unit))
              for unit in UNITS),
            Step(f"install the udev rule {rule} (kept if it exists)", functools.partial(_write_rule, opts, rule))]


def _reload_udev() -> None:
    _run(["udevadm", "control", "--reload-rules"])
    _run(["udevadm", "trigger", "--action=add"])


def _service_steps(opts: Options, kiosk: bool = False) -> list[Step]:
    """Reload udev and systemd (on a real system), enable the units and, if asked, start them."""
    steps = []
    if opts.real:
        steps.append(Step("reload udev rules", _reload_udev))
        steps.append(Step("reload systemd", functools.partial(_run, ["systemctl", "daemon-reload"])))
    enabled = (*UNITS, KIOSK_UNIT) if kiosk else UNITS
    steps.append(Step(f"enable {', '.join(enabled)}",
                      functools.partial(_run, ["systemctl", *_root_arg(opts), "enable", *enabled])))
    if opts.real and opts.start:
        token = opts.path(TOKEN)

        def start() -> None:
            # the sync needs its token: without one the gate enrols first (gatepass-enrol.service starts both)
            _run(["systemctl", "restart", *(UNITS[:2] if token.exists() else (UNITS[0], ENROL_UNIT))])
            if kiosk:
                _run(["systemctl", "restart", KIOSK_UNIT])

        screen = f", {KIOSK_UNIT}" if kiosk else ""
        steps.append(Step(f"start {UNITS[0]}{screen} and {UNITS[1]} (or {ENROL_UNIT} while {token} is missing)",
                          start))
    return steps


# -- uninstall -----------------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def unsynced_entries(db_path: Path) -> int | None:
    """How many entries of the local log central does not hold yet (0: no log; None: it cannot be read)."""
    if not db_path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return int(conn.execute("SELECT count(*) FROM entries WHERE synced = 0").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("cannot count the unsynced entries in %s: %s", db_path, exc)
        return None


def _check_purge_loses_nothing(opts: Options) -> None:
    """Refuse to purge a local log holding entries central does not have (unless told to discard them)."""
    db_path = opts.path("/var/lib/gatepass/edge.db")
    unsynced = unsynced_entries(db_path)
    if unsynced == 0 or opts.discard_unsynced:
        return
    what = f"{unsynced} entries not yet synced" if unsynced else "entries that cannot be read to check their sync"
    raise InstallError(f"{db_path} holds {what}: --purge would delete them",
                       "let 'gatepass sync run' upload them first, or add --discard-unsynced")


def plan_uninstall(opts: Options) -> list[Step]:
    """Every step of an uninstallation, in order; data and config stay unless ``opts.purge``.

    With ``purge``, refuses (:class:`InstallError`) while the local log holds unsynced entries,
    unless ``opts.discard_unsynced``.
    """
    if opts.purge:
        _check_purge_loses_nothing(opts)
    steps: list[Step] = []
    units_dir = opts.path("/etc/systemd/system")
    installed = [u for u in (*UNITS, KIOSK_UNIT) if (units_dir / u).exists()]

    def stop_and_disable() -> None:
        if not installed:
            return
        if opts.real:
            _run(["systemctl", "stop", *installed])
        _run(["systemctl", *_root_arg(opts), "disable", *installed])

    steps.append(Step(f"{'stop and ' if opts.real else ''}disable {', '.join(installed) or '(no units installed)'}",
                      stop_and_disable))
    for path in [units_dir / u for u in (*UNITS, KIOSK_UNIT)] + [
            opts.path(f"/etc/udev/rules.d/{UDEV_RULE}"), opts.path(f"/usr/lib/sysusers.d/{SYSUSERS}"),
            opts.path(f"/usr/lib/sysusers.d/{KIOSK_SYSUSERS}")]:
        steps.append(Step(f"remove {path}", functools.partial(_remove, path)))
    if opts.real:
        steps.append(Step("reload systemd", functools.partial(_run, ["systemctl", "daemon-reload"])))
    if opts.purge:
        for path in (opts.path("/etc/gatepass"), opts.path("/var/lib/gatepass")):
            steps.append(Step(f"DELETE {path} (config, credentials, the local log)", functools.partial(_remove, path)))
        prefix = [] if opts.real else ["--prefix", str(opts.root)]

        def remove_user() -> None:
            if lookup_ids(opts.root, USER) is not None:
                _run(["userdel", *prefix, USER])
            if any(line.startswith(f"{USER}:") for line in _read_lines(opts.path("/etc/group"))):
                _run(["groupdel", *prefix, USER])

        steps.append(Step(f"remove the user and group {USER}", remove_user))
    else:
        steps.append(Step("keep /etc/gatepass, /var/lib/gatepass and the gatepass user (use --purge to delete)",
                          lambda: None))
    return steps


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


# -- the commands (registered on ``gatepass edge`` by edge/cli.py) -------------------------------------

_root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
                            show_default=True, help="Install into this staging root instead of the running system.")
_dry_run_option = click.option("--dry-run", is_flag=True, help="Only print what would be done.")


@click.command("install")
@_root_option
@_dry_run_option
@click.option("--gate-id", default="gate-1", show_default=True, help="This gate's id (as passes name it).")
@click.option("--device-id", default=None, help="Device id registered at central (default: the gate id).")
@click.option("--gate-name", default="东门", show_default=True, help="Name shown on the guard screen.")
@click.option("--community", default="community", show_default=True, help="The community this gate belongs to.")
@click.option("--central-url", default="https://central.example/", show_default=True, help="Central server URL.")
@click.option("--device-token-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="File holding the device token from 'gatepass central add-device' (copied, mode 0600).")
@click.option("--central-public-key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Central's list-signing public key (PEM) from 'gatepass central add-device'.")
@click.option("--bin", "bin_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The gatepass executable the units run (default: this installation's).")
@click.option("--no-start", is_flag=True, help="Enable the services but do not start them now.")
@click.option("--kiosk", is_flag=True, help="Also show the guard page on the Pi's own screen (cage + chromium on "
              "tty1, [kiosk] in edge.toml; needs: apt-get install cage xwayland chromium).")
def install_command(root: Path, dry_run: bool, gate_id: str, device_id: str | None, gate_name: str, community: str,
                    central_url: str, device_token_file: Path | None, central_public_key_file: Path | None,
                    bin_path: Path | None, no_start: bool, kiosk: bool) -> None:
    """Install the gate's services: user, directories, config, udev rule, systemd units."""
    need_root_for_real(root, dry_run)
    opts = Options(root=root.absolute(), device_id=device_id or gate_id, gate_id=gate_id, gate_name=gate_name,
                   community=community, central_url=central_url, device_token_file=device_token_file,
                   central_public_key_file=central_public_key_file, start=not no_start)
    if bin_path is not None:
        opts.bin = bin_path
    carry_out(plan_install(opts, kiosk), dry_run, click.echo)
    if not dry_run:
        click.echo(f"installed into {opts.root}; edit {opts.path('/etc/gatepass/edge.toml')} for your devices")
        if device_token_file is None and not opts.path(TOKEN).exists():
            click.echo("下一步：设备屏幕会显示接入码和二维码，请工作人员在管理后台批准（或运行 gatepass edge enroll "
                       "--central 中心地址）。/ next: the gate's screen shows an enrolment code and QR; approve it in "
                       "the console (or run 'gatepass edge enroll --central URL'); no token to copy by hand")


@click.command("uninstall")
@_root_option
@_dry_run_option
@click.option("--purge", is_flag=True, help="Also DELETE the config, the local log and the gatepass user "
              "(refused while the log holds unsynced entries).")
@click.option("--discard-unsynced", is_flag=True, help="With --purge: delete the local log even if it holds "
              "entries central does not have yet.")
def uninstall_command(root: Path, dry_run: bool, purge: bool, discard_unsynced: bool) -> None:
    """Remove the gate's services (the config, data and user stay unless --purge)."""
    need_root_for_real(root, dry_run)
    opts = Options(root=root.absolute(), purge=purge, discard_unsynced=discard_unsynced)
    carry_out(plan_uninstall(opts), dry_run, click.echo)
