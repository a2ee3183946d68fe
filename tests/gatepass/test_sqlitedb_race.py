"""Several processes creating the same new database at once (on a new gate the checkpoint and the sync service
start together): none may fail with "database is locked"."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


def _open(path: str, out: mp.Queue) -> None:
    try:
        from sync.devicedb import open_db

        db = open_db(path)
        db.execute("SELECT count(*) FROM entries").fetchone()
        db.close()
        out.put("")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(repr(exc))


def test_processes_creating_one_new_database_together_all_open_it(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    failures: list[str] = []
    for i in range(25):  # SQLite refused about 1 in 100 such opens at once, before the WAL switch waited
        path = str(tmp_path / f"edge-{i}.db")
        out = ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, out)) for _ in range(4)]
        for p in procs:
            p.start()
        failures += [r for r in (out.get(timeout=60) for _ in procs) if r]
        for p in procs:
            p.join(30)
    assert failures == []
