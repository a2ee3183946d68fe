"""Power cuts under the real edge and sync processes (the test and ``python -m bench powercut``).

The checkpoint service (``gatepass edge run``: simulated camera fed with real signed passes by the demo
feeder, the recording relay, a gate where people only leave so no thermometer is needed) and the sync
(``gatepass sync run``) run on one ``edge.db`` inside a :class:`~tests.powercut.lazyfs.LazyMount`, against a
real central on loopback whose data stays on the real disk. At a random moment (sometimes while the edge is
still starting, mostly while it scans and the sync uploads) both processes are frozen (SIGSTOP), the file
system loses everything not fsynced, the processes are killed, and the file system is mounted again from
what "the disk" kept. Then, before the next run:

- the database passes ``PRAGMA integrity_check`` and its hash chain verifies;
- every gate pulse of the run has its entry: the relay's pulses are counted from the edge's log on the real
  disk ("fake gate: open", written as the relay closes), as are the decisions published after each pulse
  (pass ids); the durable log must hold at least as many "pass" entries made during the run (by their
  ``mono_ts``: one monotonic clock for all processes) and every such pass id;
- every entry central holds for the device is in the device's log under the same seq (central
  acknowledged it: the device must never lose it, nor reuse its seq), and every entry that was on disk
  after an earlier cut still is.

At the end the sync alone drains the backlog and central must hold exactly the device's entries, each once,
all marked synced, with no open sequence gap.
"""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from central import ingest
from central.passes import changelog, issuance
from gatepass.procs import free_port
from sync.devicedb import open_db as open_edge
from sync.lists import apply_page
from sync.locallog import LocalLog

from ..sync.helpers import Central, sync_toml
from ..waiting import wait_until
from .lazyfs import LazyMount

DEVICE = "gate-p"
GATE = "gate-1"
PULSE = "fake gate: open"
DECIDED = re.compile(r"edge\.entry_recorder: \w+ (?:in|out) (\S+): pass \(")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CutReport:
    """What the runs did and every broken invariant (``problems`` empty: all held)."""

    cuts: int = 0
    pulses: int = 0  # gate pulses seen in the edge's logs
    entries: int = 0  # entries in the device's log at the end
    acknowledged: int = 0  # entries central held at the end
    startup_cuts: int = 0  # cuts before the edge answered /healthz
    recovered: int = 0  # runs whose start moved a damaged database aside (an alarm)
    drained: bool = False
    central_equals_gate: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.cuts} cuts survived, {self.pulses} pulses, {self.entries} entries, {self.acknowledged} "
                f"at central, {self.startup_cuts} cuts during start-up, lost={len(self.problems)} "
                f"({'; '.join(self.problems[:5]) or 'none'}), {self.seconds:.0f} s")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    return {**env, "GATEPASS_ALLOW_ROOT": "1", "PYTHONPATH": str(ROOT)}


class PowerCutRig:
    """One central, one gate on a lazy file system, and the cut loop."""

    def __init__(self, tmp: Path, *, seed: int | None = None, writeback: float = 0.0, lie: bool = False,
                 passes: int = 40, feed_interval_s: float = 0.3, startup_share: float = 0.2) -> None:
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.lazy = LazyMount(tmp / "lazy", tmp / "mnt", writeback=writeback, seed=seed, lie=lie,
                              log=self.logs / "lazyfs.log")
        self.data = self.lazy.mountpoint / "data"
        self.passes = passes
        self.feed_interval_s = feed_interval_s
        self.startup_share = startup_share  # the share of cuts made at a random moment of the start-up
        self.central: Central | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.on_disk: dict[int, str] = {}  # seq -> uuid of every entry found on disk after a cut
        self.report = CutReport()

    # -- set-up ----------------------------------------------------------------------------------
    def start(self) -> PowerCutRig:
        self.central = Central(self.tmp / "central").start_process()
        token = self.central.add_device(DEVICE, community="c", gate_id=GATE)
        texts = [issuance.issue(self.central.db, self.central.data_dir, household=f"1-1-{100 + i}", person=1,
                                kind="resident", days=30).text for i in range(self.passes)]
        passes_file = self.tmp / "passes.txt"
        passes_file.write_text("\n".join(texts) + "\n")
        self.lazy.mount()
        self.data.mkdir()
        db = open_edge(self.data / "edge.db")  # the lists, so the edge can check passes from its first scan
        try:
            apply_page(db, changelog.snapshot(self.central.db))
        finally:
            db.close()
        self.lazy.control("sync")  # the installed state is on disk before the first cut
        sync_toml(self.tmp / "sync.toml", self.central.url, token, self.central.public_pem(), self.data,
                  batch_rows=20, drain_rows=20)
        self.passes_file = passes_file
        return self

    def _edge_config(self) -> Path:
        cfg = self.tmp / "edge.toml"
        cfg.write_text(f'device_id = "{DEVICE}"\ndata_dir = "{self.data}"\n'
                       f'[gate]\nid = "{GATE}"\ndirection = "out"\n'
                       f'[guard_page]\nport = {free_port(0)}\n'
                       '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\npulse_s = 0.1\n'
                       '[scan]\ncooldown_s = 0\n'
                       f'[demo]\npasses_file = "{self.passes_file}"\ninterval_s = {self.feed_interval_s}\n')
        return cfg

    def _spawn(self, name: str, argv: list[str], run: int) -> None:
        with open(self.logs / f"{name}-{run}.log", "wb") as log:
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "gatepass", *argv], env=_env(), cwd=ROOT,
                                                stdout=subprocess.DEVNULL, stderr=log)

    # -- one run and its cut -------------------------------------------------------------------
    def run_once(self, run: int, max_run_s: float) -> None:
        """Start edge and sync, cut the power at a random moment, mount again and check."""
        t_start = time.monotonic()
        self._spawn("edge", ["edge", "run", "--config", str(self._edge_config())], run)
        self._spawn("sync", ["sync", "run", "--config", str(self.tmp / "sync.toml")], run)
        edge_log = self.logs / f"edge-{run}.log"
        if self.rng.random() < self.startup_share:  # while starting (the salvage check, migrations, the first writes)
            time.sleep(self.rng.uniform(0.1, 2.5))
        else:  # while scanning and syncing: once this run has pulsed the gate at least once
            wait_until(lambda: PULSE in edge_log.read_text(errors="replace"), 60, 0.05)
            time.sleep(self.rng.uniform(0.0, max_run_s))
        if PULSE not in edge_log.read_text(errors="replace"):
            self.report.startup_cuts += 1
        for name, proc in self.procs.items():
            if proc.poll() is not None:  # e.g. it could not open what the last cut left
                tail = (self.logs / f"{name}-{run}.log").read_text(errors="replace")[-1500:]
                self._problem(f"run {run}: {name} exited with {proc.returncode} before the cut: {tail}")
        self._cut()
        t_cut = time.monotonic()
        self.report.cuts += 1
        self._check(run, t_start, t_cut)

    def _cut(self) -> None:
        live = [p for p in self.procs.values() if p.poll() is None]
        for proc in live:
            os.kill(proc.pid, signal.SIGSTOP)  # nothing more happens after the power is gone
        self.lazy.cut()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.procs.clear()
        self.lazy.unmount()
        self.lazy.mount()

    # -- the invariants --------------------------------------------------------------------------
    def _problem(self, text: str) -> None:
        self.report.problems.append(text)

    def _check(self, run: int, t_start: float, t_cut: float) -> None:
        text = (self.logs / f"edge-{run}.log").read_text(errors="replace")
        pulses = text.count(PULSE)
        decided = collections.Counter(DECIDED.findall(text))
        self.report.pulses += pulses
        if "database_recovered" in text:
            self.report.recovered += 1
            self._problem(f"run {run}: the edge found its database damaged and moved it aside")
        path = self.data / "edge.db"
        if not path.exists():
            self._problem(f"run {run}: edge.db is gone")
            return
        conn = sqlite3.connect(path, timeout=30)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        if integrity != "ok":
            self._problem(f"run {run}: integrity_check: {integrity}")
        db = open_edge(path)
        try:
            chain = LocalLog(db).verify_chain()
            if not chain.ok:
                self._problem(f"run {run}: chain: {chain.problems[:3]}")
            rows = db.execute("SELECT seq, uuid, decision, pass_id, mono_ts FROM entries ORDER BY seq").fetchall()
        finally:
            db.close()
        held = {seq: u for seq, u, *_ in rows}
        passed = [pid for _, _, decision, pid, mono in rows if decision == "pass" and t_start <= mono <= t_cut]
        if pulses > len(passed):
            self._problem(f"run {run}: {pulses} gate pulses but {len(passed)} pass entries on disk")
        missing = decided - collections.Counter(passed)
        if missing:
            self._problem(f"run {run}: passed but not on disk: {sorted(missing)}")
        assert self.central is not None
        for _, seq, u in self.central.entries(DEVICE):
            if held.get(seq) != u:
                self._problem(f"run {run}: central holds seq {seq} ({u}), the device {held.get(seq)}")
        for seq, u in self.on_disk.items():
            if held.get(seq) != u:
                self._problem(f"run {run}: seq {seq} ({u}) was on disk after an earlier cut, now {held.get(seq)}")
        self.on_disk = held

    # -- the end -----------------------------------------------------------------------------------
    def drain(self, run: int, timeout_s: float = 120) -> None:
        """The sync alone until the backlog is 0; then central must equal the device exactly."""
        self._spawn("sync", ["sync", "run", "--config", str(self.tmp / "sync.toml")], run)

        def backlog() -> int:
            db = open_edge(self.data / "edge.db")
            try:
                return LocalLog(db).backlog()
            finally:
                db.close()

        self.report.drained = wait_until(lambda: backlog() == 0, timeout_s, 0.2)
        proc = self.procs.pop("sync")
        proc.terminate()
        proc.wait(30)
        assert self.central is not None
        db = open_edge(self.data / "edge.db")
        try:
            dev = db.execute("SELECT seq, uuid, synced FROM entries ORDER BY seq").fetchall()
        finally:
            db.close()
        cen = self.central.entries(DEVICE)
        self.report.entries, self.report.acknowledged = len(dev), len(cen)
        self.report.central_equals_gate = (
            [(r[1], r[2]) for r in cen] == [(r[0], r[1]) for r in dev] and len({r[2] for r in cen}) == len(cen)
            and all(r[2] == 1 for r in dev) and ingest.open_gaps(self.central.db) == []
            and self.central.db.integrity_check() == "ok")
        if not self.report.central_equals_gate:
            self._problem(f"after the drain central ({len(cen)} rows) differs from the gate ({len(dev)} rows)")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.procs.clear()
        self.lazy.unmount()
        if self.central is not None:
            self.central.stop()


def power_cuts(tmp: Path, cuts: int, *, seed: int | None = None, writeback: float = 0.0, lie: bool = False,
               max_run_s: float = 3.0) -> CutReport:
    """``cuts`` power cuts of the edge and the sync, then the drain; the report."""
    rig = PowerCutRig(tmp, seed=seed, writeback=writeback, lie=lie)
    t0 = time.monotonic()
    try:
        rig.start()
        for run in range(cuts):
            rig.run_once(run, max_run_s)
        rig.drain(cuts)
    finally:
        rig.stop()
    rig.report.seconds = time.monotonic() - t0
    return rig.report
