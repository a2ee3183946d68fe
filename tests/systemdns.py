"""Real systemd as PID 1 of a private PID + mount + UTS + cgroup namespace, for tests and benchmarks.

Debian's ``/lib/systemd/systemd`` runs here as the init of a new PID namespace (we are root). To keep the
host untouched:

* ``/etc`` and ``/var`` are overlay mounts whose upper layers live in ``work`` (users, ``/etc/gatepass``,
  ``/var/lib/gatepass`` and whatever systemd writes end up there, readable from outside as
  :attr:`SystemdNamespace.etc_upper` / :attr:`var_upper`); ``/run`` and ``/var/tmp`` are fresh tmpfs;
  ``/tmp`` is the host's (the checkout and pytest's ``tmp_path`` may be there; the service has ``PrivateTmp``).
* systemd sees only the units given here (``SYSTEMD_UNIT_PATH`` points at a directory of ours, no
  ``/lib/systemd/system``), plus empty stand-ins for the targets a service depends on by default, so nothing
  of the host's boot (udev triggers, sysctl, module loading, remounts, time sync) can start.
* each cgroup hierarchy gets a fresh ``gptest-*`` child of our own cgroup, bind-mounted over the hierarchy's
  mount point inside a new cgroup namespace: systemd manages that subtree only (removed again in :meth:`stop`).

:meth:`stop` kills the namespace's init with SIGKILL (SIGTERM would make PID 1 re-execute itself); the kernel
then kills every process of the namespace.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the launcher, before exec: SIGKILL when our process dies (PR_SET_PDEATHSIG), so that a killed test run
    takes the namespace with it (``unshare --kill-child`` passes it on to systemd)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, 9)

SYSTEMD = "/lib/systemd/systemd"
#: The only unit directory the namespace's systemd reads (inside; in the /etc overlay).
UNIT_DIR = "/etc/systemd/gp-units"
#: Empty stand-ins for the targets a unit with default dependencies (and the shipped units) refers to.
BASE_TARGETS = ("gp.target", "sysinit.target", "basic.target", "sockets.target", "shutdown.target",
                "local-fs.target", "network.target", "network-online.target", "multi-user.target",
                "timers.target", "paths.target", "slices.target", "time-sync.target")
SHOW_PROPS = ("MainPID", "ActiveState", "SubState", "NRestarts", "Result", "ExecMainStartTimestampMonotonic",
              "ExecMainExitTimestampMonotonic", "ExecMainCode", "ExecMainStatus", "WatchdogTimestampMonotonic")


def available() -> tuple[bool, str]:
    """Whether a systemd namespace can run here; (False, reason) when not."""
    if os.geteuid() != 0:
        return False, "needs root (unshare of PID/mount/cgroup namespaces)"
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return False, f"{tool} (util-linux) is not installed"
    if not os.access(SYSTEMD, os.X_OK):
        return False, f"{SYSTEMD} is missing (apt-get install systemd)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return False, "the kernel has no overlay filesystem (needed to keep /etc and /var untouched)"
    hierarchies = _hierarchies()
    if not hierarchies:
        return False, "no cgroup filesystem mounted under /sys/fs/cgroup"
    for mount_point, rel in hierarchies:
        if not os.access(mount_point / rel.lstrip("/"), os.W_OK):
            return False, f"cgroup {mount_point / rel.lstrip('/')} is not writable"
    return True, ""


def _hierarchies() -> list[tuple[Path, str]]:
    """(mount point, our cgroup in it) for every cgroup hierarchy mounted under /sys/fs/cgroup."""
    ours: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            ours[name] = path
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, (fstype, _source, options) = left.split(), right.split(" ", 2)
        if fstype not in ("cgroup", "cgroup2") or fields[3] != "/":
            continue
        if fstype == "cgroup2":
            rel = ours.get("")
        else:
            names = [o for o in options.split(",") if o in ours or o.startswith("name=")]
            rel = next((ours[n] for n in names if n in ours), None)
        if rel is not None:
            out.append((Path(fields[4]), rel))
    return out


def _sweep_stale_cgroups() -> None:
    """Remove the empty ``gptest-<pid>-*`` cgroups of runs whose process died without :meth:`stop`."""
    for mount_point, rel in _hierarchies():
        for top in (mount_point / rel.lstrip("/")).glob("gptest-*-*"):
            if Path(f"/proc/{top.name.split('-')[1]}").exists():
                continue
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                try:
                    d.rmdir()
                except OSError:
                    pass
            try:
                top.rmdir()
            except OSError as exc:
                log.warning("stale cgroup %s not removed: %s", top, exc)


class SystemdNamespace:
    """systemd as PID 1 of its own namespaces, running the given units; use as a context manager.

    ``units``: file name -> text (placed in the only unit directory systemd reads);
    ``dropins``: unit name -> {drop-in file name -> text}. Files for the services go in :attr:`etc_upper`
    (seen inside as ``/etc``) and :attr:`var_upper` (``/var``) before :meth:`start`; ``passwd``/``group``
    lines are appended to copies of the host's files there.
    """

    def __init__(self, work: Path, units: dict[str, str], dropins: dict[str, dict[str, str]] | None = None,
                 passwd: list[str] = (), group: list[str] = (), overlays: tuple[str, ...] = ()) -> None:
        self.work = Path(work)
        #: further top-level directories overlaid like /etc and /var (e.g. ``("opt",)`` for /opt/gatepass)
        self.overlays = tuple(overlays)
        self.units = units
        self.dropins = dropins or {}
        self.passwd, self.group = list(passwd), list(group)
        self.etc_upper = self.work / "etc-upper"
        self.var_upper = self.work / "var-upper"
        self.log_path = self.work / "systemd.log"  # the launcher's output
        self.console_path = self.work / "console.log"  # systemd's own log (its /dev/console)
        self.pid: int | None = None  # systemd, as seen from outside
        self._launcher: subprocess.Popen | None = None
        self._cgroups: list[Path] = []

    def upper(self, name: str) -> Path:
        """The upper layer of the overlay on ``/name`` (``etc``, ``var`` or one of :attr:`overlays`)."""
        return self.work / f"{name}-upper"

    # -- set-up -----------------------------------------------------------------------------------------
    def _write_units(self) -> None:
        unit_dir = self.etc_upper / UNIT_DIR.removeprefix("/etc/")
        unit_dir.mkdir(parents=True, exist_ok=True)
        for target in BASE_TARGETS:
            (unit_dir / target).write_text(f"[Unit]\nDescription=stand-in {target}\nDefaultDependencies=no\n")
        for name in ("-.slice", "system.slice"):
            if Path("/lib/systemd/system", name).exists():
                shutil.copy(Path("/lib/systemd/system", name), unit_dir / name)
        for name, text in self.units.items():
            (unit_dir / name).write_text(text)
        for unit, files in self.dropins.items():
            (unit_dir / f"{unit}.d").mkdir(exist_ok=True)
            for name, text in files.items():
                (unit_dir / f"{unit}.d" / name).write_text(text)

    def _write_users(self) -> None:
        for name, extra in (("passwd", self.passwd), ("group", self.group)):
            if extra:
                text = Path("/etc", name).read_text()
                (self.etc_upper / name).write_text(text.rstrip("\n") + "\n" + "\n".join(extra) + "\n")

    def _make_cgroups(self) -> list[Path]:
        _sweep_stale_cgroups()
        token = f"gptest-{os.getpid()}-{secrets.token_hex(3)}"
        pairs = []
        for mount_point, rel in _hierarchies():
            parent = mount_point / rel.lstrip("/")
            sub = parent / token
            sub.mkdir()
            self._cgroups.append(sub)
            for knob in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset child is unusable until these are set
                if (parent / knob).exists():
                    (sub / knob).write_text((parent / knob).read_text())
            pairs.append((mount_point, sub))
        return pairs

    def _inner_script(self, pairs: list[tuple[Path, Path]]) -> str:
        q = shlex.quote
        lines = ["set -e"]
        for mount_point, sub in pairs:
            lines.append(f"mount --bind {q(str(sub))} {q(str(mount_point))}")
        for name, upper in (("etc", self.etc_upper), ("var", self.var_upper),
                            *((o, self.upper(o)) for o in self.overlays)):
            wdir = self.work / f"{name}-work"
            lines.append(f"mount -t overlay overlay -o lowerdir=/{name},upperdir={q(str(upper))},"
                         f"workdir={q(str(wdir))} /{name}")
        # whatever is written to the namespace's /dev/console lands in our file, not on the host's console
        lines.append(f"mount --bind {shlex.quote(str(self.console_path))} /dev/console")
        lines += ["mount -t tmpfs tmpfs /run", "mkdir -p /run/systemd /run/lock",
                  # /tmp stays the host's: the checkout, its venv and pytest's tmp_path may live there (CI clones
                  # under /tmp). Nothing here cleans it: no host unit (systemd-tmpfiles-setup) can start.
                  "mount -t tmpfs tmpfs /var/tmp",
                  f"export container=gptest SYSTEMD_UNIT_PATH={UNIT_DIR}",
                  f"exec {SYSTEMD} --system --unit=gp.target --log-target=console --log-level=info"]
        return "\n".join(lines)

    def start(self, timeout_s: float = 30.0) -> SystemdNamespace:
        """Start systemd; returns once ``systemctl is-system-running`` answers running (or degraded)."""
        ok, why = available()
        if not ok:
            raise RuntimeError(f"systemd namespace unavailable: {why}")
        for d in (self.etc_upper, self.var_upper, self.work / "etc-work", self.work / "var-work",
                  *(self.upper(o) for o in self.overlays), *(self.work / f"{o}-work" for o in self.overlays)):
            d.mkdir(parents=True, exist_ok=True)
        self.console_path.touch()
        self._write_units()
        self._write_users()
        pairs = self._make_cgroups()
        procs = " ".join(shlex.quote(str(sub / "cgroup.procs")) for _, sub in pairs)
        launcher = (f"for f in {procs}; do echo $$ > \"$f\"; done; "
                    "exec unshare --kill-child=SIGKILL --pid --fork --mount --mount-proc --uts --cgroup "
                    f"--propagation private sh -c {shlex.quote(self._inner_script(pairs))}")
        with open(self.log_path, "ab") as out:
            self._launcher = subprocess.Popen(["sh", "-c", launcher], stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True,
                                              preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._launcher.poll() is not None:
                raise RuntimeError(f"systemd namespace exited: {self.log_tail()}")
            if self.pid is None:
                self.pid = self._systemd_pid()
            elif self.systemctl("is-system-running").stdout.strip() in ("running", "degraded"):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"systemd did not come up within {timeout_s} s: {self.log_tail()}")

    def _systemd_pid(self) -> int | None:
        assert self._launcher is not None
        try:
            children = Path(f"/proc/{self._launcher.pid}/task/{self._launcher.pid}/children").read_text().split()
        except OSError:
            return None
        for pid in children:
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(SYSTEMD):
                    return int(pid)
            except OSError:
                continue
        return None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines systemd (and the launcher) wrote."""
        out = []
        for path in (self.log_path, self.console_path):
            try:
                out += path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(out)

    # -- inside -----------------------------------------------------------------------------------------
    def run(self, *argv: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
        """Run a command inside the namespace (its PID and mount namespaces)."""
        if self.pid is None:
            raise RuntimeError("systemd namespace not started")
        return subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-C", *argv],
                              capture_output=True, text=True, timeout=timeout_s)

    def write_file(self, path: str, text: str) -> None:
        """Write ``text`` to ``path`` as seen inside the namespace (e.g. a drop-in under ``/etc``)."""
        if self.pid is None:
            raise RuntimeError("systemd namespace not started")
        subprocess.run(["nsenter", "-t", str(self.pid), "-m", "sh", "-c", 'mkdir -p "$(dirname "$0")" && cat > "$0"',
                        path], input=text, text=True, check=True, timeout=30)

    def systemctl(self, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
        """``systemctl ARGS`` against the namespace's systemd."""
        return self.run("systemctl", *args, timeout_s=timeout_s)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        """Unit properties (``systemctl show -p ...``); all of :data:`SHOW_PROPS` by default."""
        result = self.systemctl("show", unit, "-p", ",".join(props or SHOW_PROPS))
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    def wait_for(self, unit: str, predicate: Callable[[dict[str, str]], bool], timeout_s: float = 60.0,
                 poll_s: float = 0.05) -> dict[str, str]:
        """Poll :meth:`show` until ``predicate(props)`` holds; raises TimeoutError with the last props."""
        deadline = time.monotonic() + timeout_s
        props = self.show(unit)
        while not predicate(props):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{unit}: {props}\n{self.log_tail()}")
            time.sleep(poll_s)
            props = self.show(unit)
        return props

    # -- teardown ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Kill the namespace (SIGKILL to its init), wait for it, remove its cgroups."""
        if self.pid is not None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass
        for sub in self._cgroups if self.pid is None else ():  # systemd not found yet: kill what was started
            for proc_file in sub.rglob("cgroup.procs"):
                for pid in proc_file.read_text().split():
                    try:
                        os.kill(int(pid), 9)
                    except ProcessLookupError:
                        pass
        if self._launcher is not None:
            try:
                self._launcher.wait(30)
            except subprocess.TimeoutExpired:
                log.warning("systemd namespace launcher %d did not exit", self._launcher.pid)
        self._remove_cgroups()
        self.pid = None

    def _remove_cgroups(self) -> None:
        deadline = time.monotonic() + 10
        for top in self._cgroups:
            while top.exists():
                dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
                try:
                    for d in [*dirs, top]:
                        d.rmdir()
                except OSError as exc:  # processes still leaving
                    if time.monotonic() > deadline:
                        log.warning("could not remove cgroup %s: %s", top, exc)
                        break
                    time.sleep(0.05)
        self._cgroups = []

    def __enter__(self) -> SystemdNamespace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the shipped edge unit as tests and benchmarks run it ---------------------------------------------------
EDGE_UNIT = "gatepass-edge.service"
REPO = Path(__file__).resolve().parents[1]
_TEMPLATE_BIN = "/opt/gatepass/venv/bin/gatepass"
_PYENV = "/root/.pyenv"


def edge_unit() -> str:
    """The shipped ``systemd/gatepass-edge.service`` with only ExecStart's binary rewritten to this venv's."""
    text = (REPO / "systemd" / EDGE_UNIT).read_text()
    if f"ExecStart={_TEMPLATE_BIN} " not in text:
        raise RuntimeError(f"{EDGE_UNIT}: ExecStart no longer starts with {_TEMPLATE_BIN}")
    venv_bin = Path(sys.executable).parent / "gatepass"
    return text.replace(f"ExecStart={_TEMPLATE_BIN} ", f"ExecStart={venv_bin} ")


def edge_env_dropin() -> str:
    """The drop-in the test environment needs: output to a file (no journald in the namespace), the checkout bound
    back read-only, and, when this venv's interpreter or the checkout lives under /root or /home (hidden by
    ProtectHome=yes), ``ProtectHome=tmpfs`` with only those bound back."""
    lines = ["[Service]", "StandardOutput=append:/var/log/gatepass-edge.log", "StandardError=inherit"]
    # the checkout holds the venv and (editable install) the code: PrivateTmp=yes hides it when it was cloned under
    # /tmp (as CI may), ProtectHome=yes when under /root or /home, so it is bound back read-only
    binds = [str(Path(__file__).resolve().parents[1])]
    if os.path.realpath(Path(sys.executable).parent / "python").startswith(_PYENV + "/"):
        binds.append(_PYENV)
    if any(b.startswith(("/root/", "/home/")) for b in binds):
        lines.append("ProtectHome=tmpfs")
    lines.append("BindReadOnlyPaths=" + " ".join(binds))
    return "\n".join(lines) + "\n"


def start_thermometer(work: Path) -> tuple[object, str]:
    """``gatepass sim thermometer`` on a pty; returns (its :class:`gatepass.procs.Child`, the ``/dev/pts/N`` path).
    The pty is given to group ``dialout`` (mode 0660), as the shipped udev rule does for the USB adapter."""
    from gatepass.procs import Child, gatepass_command

    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    link = work / "thermometer"
    child = Child("thermometer", gatepass_command("sim", "thermometer", "--pty", "--link", str(link)), logs).start()
    deadline = time.monotonic() + 20
    while not link.exists() and child.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not link.exists():
        child.stop()
        raise RuntimeError(f"thermometer simulator did not start: {child.tail()}")
    pts = os.path.realpath(link)
    shutil.chown(pts, group="dialout")
    os.chmod(pts, 0o660)
    return child, pts
