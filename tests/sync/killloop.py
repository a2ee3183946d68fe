"""kill -9 the device's writer process and the sync process at random points (test and bench).

The writer appends entries with :class:`sync.locallog.LocalLog` and records each
one whose ``append`` returned (an acknowledged entry) in an ack file. Both run
as forked children of the caller so that hundreds of kills fit in seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from sync.devicedb import open_db as open_edge
from sync.locallog import LocalLog

from .helpers import entry, rng


def _child(fn, *args) -> int:
    pid = os.fork()
    if pid == 0:  # the child: run, never return into the caller's code
        code = 0
        try:
            fn(*args)
        except BaseException:  # noqa: BLE001 - a child must exit, whatever happened
            code = 1
        os._exit(code)
    return pid


def writer(db_path: Path, ack_path: Path, pause_s: float) -> None:
    """Append entries forever; every acknowledged one goes into the ack file as 'seq uuid'."""
    log = LocalLog(open_edge(db_path))
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    i = 0
    while True:
        urgent = i % 23 == 0
        row = log.append(**entry(i, fever=urgent, priority=urgent, temp_c=38.2 if urgent else 36.5))
        os.write(fd, f"{row['seq']} {row['uuid']}\n".encode())
        i += 1
        if pause_s:
            time.sleep(pause_s)


def syncer(settings) -> None:
    """The sync process's main loop (what ``gatepass sync run`` runs)."""
    from sync.client import run

    run(settings)


@dataclass
class KillReport:
    kills: int = 0
    integrity_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sync_pid: int = 0  # the sync process left running, to drain the backlog


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def kill_loop(settings, kills: int, *, seed: int | None = None, pause_s: float = 0.003,
              max_delay_s: float = 0.12) -> KillReport:
    """Run writer + sync, SIGKILL one of them (sometimes both) ``kills`` times, restarting each."""
    r = rng(seed)
    db_path = settings.db_path
    ack = settings.data_dir / "acked.txt"
    open_edge(db_path).close()  # migrations done once, before any child starts
    procs = {"writer": _child(writer, db_path, ack, pause_s), "sync": _child(syncer, settings)}
    starters = {"writer": lambda: _child(writer, db_path, ack, pause_s), "sync": lambda: _child(syncer, settings)}
    report = KillReport()
    t0 = time.monotonic()
    try:
        while report.kills < kills:
            time.sleep(r.uniform(0.005, max_delay_s))
            victims = ["writer", "sync"] if r.random() < 0.2 else [r.choice(["writer", "sync"])]
            for name in victims:
                os.kill(procs[name], signal.SIGKILL)
                os.waitpid(procs[name], 0)
                report.kills += 1
            result = integrity(db_path)
            if result != "ok":
                report.integrity_failures.append(result)
            for name in victims:
                procs[name] = starters[name]()
    except BaseException:  # do not leave the sync child running behind a failed loop
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(procs["sync"], signal.SIGKILL)
            os.waitpid(procs["sync"], 0)
        raise
    finally:
        os.kill(procs["writer"], signal.SIGKILL)
        os.waitpid(procs["writer"], 0)
        report.kills += 1
    report.seconds = time.monotonic() - t0
    report.sync_pid = procs["sync"]
    return report


def stop_sync(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


def acked(settings) -> dict[int, str]:
    """seq -> uuid of every acknowledged entry (complete lines only)."""
    out = {}
    for line in (settings.data_dir / "acked.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 36:
            out[int(parts[0])] = parts[1]
    return out
