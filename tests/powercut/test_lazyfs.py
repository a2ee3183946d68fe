"""lazyfs keeps what was fsynced and drops the rest on a power cut (file data and directory entries)."""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.powercut.lazyfs import LazyMount


@pytest.fixture
def lazy(fuse, tmp_path):
    mount = LazyMount(tmp_path / "state", tmp_path / "mnt").mount()
    yield mount
    mount.unmount()


def _fsync(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _restart(mount: LazyMount, conn: sqlite3.Connection | None = None) -> None:
    mount.cut()
    if conn is not None:  # the process "dies" with the power (an open file keeps the mount busy)
        conn.close()
    mount.unmount()
    mount.mount()


def test_only_fsynced_data_and_entries_survive_a_cut(lazy):
    root = lazy.mountpoint
    kept, late, moved = root / "kept", root / "late", root / "moved"
    kept.write_bytes(b"on disk")
    _fsync(kept)
    _fsync(root)  # its name too
    late.write_bytes(b"only in the page cache")
    _fsync(late)  # its data, but its name never reached the disk
    with open(kept, "ab") as fh:
        fh.write(b" + cached")
    assert kept.read_bytes() == b"on disk + cached"  # processes see their writes at once
    os.rename(kept, moved)  # never made durable by an fsync of the directory
    _restart(lazy)
    assert sorted(os.listdir(root)) == ["kept"]
    assert kept.read_bytes() == b"on disk"


def test_a_durable_name_without_durable_data_is_an_empty_file(lazy):
    path = lazy.mountpoint / "f"
    path.write_bytes(b"x" * 10000)
    _fsync(lazy.mountpoint)
    _restart(lazy)
    assert path.read_bytes() == b""


def test_after_the_cut_nothing_more_is_written(lazy):
    path = lazy.mountpoint / "f"
    path.write_bytes(b"before")
    lazy.cut()
    with pytest.raises(OSError):
        path.write_bytes(b"after")
    with pytest.raises(OSError):
        (lazy.mountpoint / "new").write_bytes(b"after")


def test_committed_sqlite_rows_survive_and_uncommitted_ones_do_not(lazy):
    conn = sqlite3.connect(lazy.mountpoint / "t.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (x)")
    for i in range(50):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    conn.execute("PRAGMA synchronous=OFF")  # no fsync: this one stays in the page cache
    conn.execute("INSERT INTO t VALUES (50)")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 51
    _restart(lazy, conn)
    conn = sqlite3.connect(lazy.mountpoint / "t.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 50
    conn.close()


def test_a_lying_disk_loses_even_committed_rows(fuse, tmp_path):
    mount = LazyMount(tmp_path / "state", tmp_path / "mnt", lie=True).mount()
    try:
        conn = sqlite3.connect(mount.mountpoint / "t.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (x)")
        _restart(mount, conn)
        assert os.listdir(mount.mountpoint) == []
    finally:
        mount.unmount()


def test_writeback_lets_part_of_the_cache_reach_the_disk(fuse, tmp_path):
    mount = LazyMount(tmp_path / "state", tmp_path / "mnt", writeback=0.5, seed=5).mount()
    try:
        path = mount.mountpoint / "f"
        path.write_bytes(b"")
        _fsync(path)
        _fsync(mount.mountpoint)
        path.write_bytes(bytes(range(1, 101)) * 41 * 64)  # 64 pages of non-zero bytes
        _restart(mount)
        data = path.read_bytes()
        pages = [data[i:i + 4096] for i in range(0, len(data), 4096)]
        written = sum(1 for p in pages if any(p))
        assert 0 < written < 64  # some pages, torn out of order: holes of zeros between them
    finally:
        mount.unmount()
