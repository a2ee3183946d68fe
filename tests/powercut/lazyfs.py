"""A FUSE file system that loses un-synced writes on a "power cut", the way LazyFS does for Jepsen.

Run as ``python -m tests.powercut.lazyfs STATE MOUNTPOINT [--writeback P] [--seed N]`` (or through
:class:`LazyMount`). Everything under MOUNTPOINT is passed through to ``STATE/live`` (so processes see their
own writes at once, as through a page cache), while ``STATE/durable`` holds what a disk would hold after the
power went off:

- file data: every write since the file's last ``fsync``/``fdatasync`` is "in the page cache" (the 4 KiB
  pages it touched are noted as dirty); ``fsync`` copies the file's dirty pages and its size to
  ``durable/data/<id>``. Truncations count as writes.
- directory entries: create, mkdir, unlink, rmdir, rename and symlink are "in the page cache" too, in order;
  ``fsync`` of a directory makes its pending operations durable (a rename across directories: at the
  fsync of the destination). This is POSIX's strict reading, harsher than ext4's ordered journal.
- the cut: writing ``cut`` to ``MOUNTPOINT/.lazyfs`` freezes the file system (every later change or fsync
  fails with EIO, reads still work) after, with ``--writeback P``, letting some of the un-synced state
  reach the disk first, as the kernel's background writeback and journal commits would have: each dirty page
  of each file independently with probability P (so torn, out-of-order page writes happen), and a random
  prefix of the pending directory operations. With P = 0 (the default) every un-synced byte is dropped.
- the restart: a new mount rebuilds ``live`` from ``durable`` (names whose directory never became durable
  are gone; a file whose name is durable but whose data never was is empty).

Not modelled: hard links, xattrs, sector-level tearing inside a page, lost reads or bit rot, a disk that
acknowledges fsync and keeps nothing (but ``--lie`` is one, to show that the checks catch a loss). Writing
``sync`` to the control file makes everything durable (as ``sync(1)``). The control file is the only way in:
POSIX signals cannot reach Python while libfuse's loop runs in C.

Bindings: mfusepy, maintained ctypes bindings to Debian's libfuse3 (fusepy is unmaintained and libfuse 2
only; pyfuse3 is a C extension on trio, built against libfuse3-dev).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import mfusepy
from mfusepy import FuseOSError, Operations

PAGE = 4096
CONTROL = "/.lazyfs"
CONTROL_FH = 2**31 - 7  # the control file's handle: no real descriptor gets this high


@dataclass
class Op:
    """A pending directory operation, durable at the fsync of ``home`` (its directory, or the destination's)."""

    kind: str  # create | mkdir | symlink | unlink | rmdir | rename
    path: str
    home: str
    new: str = ""
    entry: dict | None = None


def _parent(path: str) -> str:
    return os.path.dirname(path.rstrip("/")) or "/"


class Durable:
    """What the disk holds: ``names`` (path -> entry) in ``state.json`` and file data in ``data/<id>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.state = root / "state.json"
        saved = json.loads(self.state.read_text()) if self.state.exists() else {"names": {"/": {"kind": "dir"}},
                                                                                  "next_id": 1}
        self.names: dict[str, dict] = saved["names"]
        self.next_id: int = saved["next_id"]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def save(self) -> None:
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"names": self.names, "next_id": self.next_id}))
        os.replace(tmp, self.state)

    def apply(self, op: Op) -> None:
        if op.kind in ("create", "mkdir", "symlink"):
            self.names[op.path] = dict(op.entry or {})
        elif op.kind in ("unlink", "rmdir"):
            self.names.pop(op.path, None)
        elif op.kind == "rename":
            moved = {p: e for p, e in self.names.items() if p == op.path or p.startswith(op.path + "/")}
            for p in moved:
                del self.names[p]
            self.names.pop(op.new, None)
            if op.entry and op.entry.get("kind") == "dir":
                for p, e in moved.items():
                    self.names[op.new + p[len(op.path):]] = e
            self.names[op.new] = dict(op.entry or {})  # known even if its create is not durable yet

    def file(self, ident: int) -> Path:
        return self.data / str(ident)

    def rebuild(self, live: Path) -> dict[int, int]:
        """Lay ``live`` anew from the durable state; returns live inode -> file id."""
        if live.exists():
            shutil.rmtree(live)
        live.mkdir(parents=True)
        inodes: dict[int, int] = {}
        present = {"/"}
        for path in sorted(self.names, key=lambda p: (p.count("/"), p)):
            entry = self.names[path]
            if path == "/" or _parent(path) not in present:
                continue
            target = live / path.lstrip("/")
            if entry["kind"] == "dir":
                target.mkdir()
            elif entry["kind"] == "symlink":
                target.symlink_to(entry["target"])
            else:
                src = self.file(entry["id"])
                if src.exists():
                    shutil.copyfile(src, target)
                else:
                    target.touch()
                os.chmod(target, entry.get("mode", 0o644))
                inodes[target.stat().st_ino] = entry["id"]
            present.add(path)
        return inodes


class LazyFS(Operations):
    """The pass-through file system with a page cache that a power cut empties (see the module docstring)."""

    use_ns = True

    def __init__(self, state: Path, writeback: float = 0.0, seed: int | None = None, lie: bool = False) -> None:
        self.lie = lie  # a disk that acknowledges fsync and keeps nothing: to show the checks catch a loss
        self.live = state / "live"
        self.durable = Durable(state / "durable")
        self.ids = self.durable.rebuild(self.live)  # live inode -> file id
        self.fh_ids: dict[int, int] = {}  # open handle -> file id
        self.dirty: dict[int, set[int]] = {}  # file id -> dirty page numbers
        self.pending: list[Op] = []
        self.frozen = False
        self.writeback = writeback
        self.rng = random.Random(seed)
        self._mutex = threading.RLock()
        self.stats = {"fsyncs": 0, "dir_fsyncs": 0}

    # -- helpers --------------------------------------------------------------------------------
    def _real(self, path: str) -> str:
        return str(self.live) + path

    def _check(self) -> None:
        if self.frozen:
            raise FuseOSError(errno.EIO)

    def _id_of(self, path: str) -> int | None:
        try:
            return self.ids.get(os.lstat(self._real(path)).st_ino)
        except FileNotFoundError:
            return None

    def _mark(self, ident: int | None, start: int, end: int) -> None:
        if ident is not None and end > start:
            self.dirty.setdefault(ident, set()).update(range(start // PAGE, (end - 1) // PAGE + 1))

    def _flush_file(self, ident: int, real: int | str, pages: set[int] | None = None) -> None:
        """Copy ``pages`` (default: every dirty page and the size) of the live file to the durable copy.

        ``real``: an open handle (read through /proc: it may be write-only or unlinked) or a live path."""
        dirty = self.dirty.get(ident, set())
        chosen = dirty if pages is None else pages
        fd = os.open(f"/proc/self/fd/{real}" if isinstance(real, int) else real, os.O_RDONLY)
        out = os.open(self.durable.file(ident), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            for page in sorted(chosen):
                os.pwrite(out, os.pread(fd, PAGE, page * PAGE), page * PAGE)
            if pages is None:
                os.ftruncate(out, size)
            elif os.fstat(out).st_size > size:
                os.ftruncate(out, size)
        finally:
            os.close(out)
            os.close(fd)
        self.dirty[ident] = dirty - chosen

    def _flush_dir(self, directory: str) -> None:
        keep = []
        for op in self.pending:
            if op.home == directory:
                self.durable.apply(op)
            else:
                keep.append(op)
        self.pending = keep
        self.durable.save()

    def _entry(self, path: str, kind: str) -> dict:
        st = os.lstat(self._real(path))
        if kind == "file":
            ident = self.durable.new_id()
            self.ids[st.st_ino] = ident
            return {"kind": "file", "id": ident, "mode": stat.S_IMODE(st.st_mode)}
        if kind == "symlink":
            return {"kind": "symlink", "target": os.readlink(self._real(path))}
        return {"kind": "dir"}

    def _entry_of(self, path: str) -> dict:
        st = os.lstat(self._real(path))
        if stat.S_ISDIR(st.st_mode):
            return {"kind": "dir"}
        if stat.S_ISLNK(st.st_mode):
            return {"kind": "symlink", "target": os.readlink(self._real(path))}
        return {"kind": "file", "id": self.ids.get(st.st_ino), "mode": stat.S_IMODE(st.st_mode)}

    # -- the power -------------------------------------------------------------------------------
    def cut(self) -> None:
        """Power off: some writeback first (``writeback`` > 0), then nothing more reaches the disk."""
        with self._mutex:
            if self.frozen:
                return
            if self.writeback > 0:
                done = self.rng.randint(0, len(self.pending))
                for op in self.pending[:done]:
                    self.durable.apply(op)
                self.pending = self.pending[done:]
                self.durable.save()
                by_id = {i: p for p, i in self.ids.items()}
                for ident, pages in list(self.dirty.items()):
                    chosen = {p for p in pages if self.rng.random() < self.writeback}
                    path = self._path_of_inode(by_id.get(ident))
                    if chosen and path is not None:
                        self._flush_file(ident, path, chosen)
            self.frozen = True

    def _path_of_inode(self, ino: int | None) -> str | None:
        if ino is None:
            return None
        for top, _dirs, files in os.walk(self.live):
            for name in files:
                full = os.path.join(top, name)
                if os.lstat(full).st_ino == ino:
                    return full
        return None  # unlinked: its data can no longer be reached after the restart anyway

    def sync_all(self) -> None:
        with self._mutex:
            self._check()
            by_id = {i: p for p, i in self.ids.items()}
            for ident in list(self.dirty):
                path = self._path_of_inode(by_id.get(ident))
                if path is not None:
                    self._flush_file(ident, path)
            for op in self.pending:
                self.durable.apply(op)
            self.pending = []
            self.durable.save()

    # -- metadata --------------------------------------------------------------------------------
    def getattr(self, path, fh=None):
        if path == CONTROL:
            now = time.time_ns()
            return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": 0, "st_atime": now,
                    "st_mtime": now, "st_ctime": now}
        try:
            st = os.lstat(self._real(path))
        except OSError as exc:
            raise FuseOSError(exc.errno) from None
        return {"st_mode": st.st_mode, "st_nlink": st.st_nlink, "st_size": st.st_size, "st_uid": st.st_uid,
                "st_gid": st.st_gid, "st_atime": st.st_atime_ns, "st_mtime": st.st_mtime_ns,
                "st_ctime": st.st_ctime_ns, "st_ino": st.st_ino}

    def access(self, path, amode):
        if path != CONTROL and not os.access(self._real(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._real(path))]

    def readlink(self, path):
        return os.readlink(self._real(path))

    def statfs(self, path):
        sv = os.statvfs(self._real(path))
        return {k: getattr(sv, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                                              "f_files", "f_flag", "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        with self._mutex:
            self._check()
            os.chmod(self._real(path), mode)
        return 0

    def chown(self, path, uid, gid):
        with self._mutex:
            self._check()
            os.lchown(self._real(path), uid, gid)
        return 0

    def utimens(self, path, times=None):
        with self._mutex:
            self._check()
            if times is None:
                os.utime(self._real(path))
            else:
                os.utime(self._real(path), ns=(int(times[0]), int(times[1])))
        return 0

    # -- directory operations (pending until the directory's fsync) ---------------------------
    def mkdir(self, path, mode):
        with self._mutex:
            self._check()
            os.mkdir(self._real(path), mode)
            self.pending.append(Op("mkdir", path, _parent(path), entry={"kind": "dir"}))
        return 0

    def rmdir(self, path):
        with self._mutex:
            self._check()
            os.rmdir(self._real(path))
            self.pending.append(Op("rmdir", path, _parent(path)))
        return 0

    def unlink(self, path):
        with self._mutex:
            self._check()
            os.unlink(self._real(path))
            self.pending.append(Op("unlink", path, _parent(path)))
        return 0

    def symlink(self, target, source):
        with self._mutex:
            self._check()
            os.symlink(source, self._real(target))
            self.pending.append(Op("symlink", target, _parent(target), entry=self._entry(target, "symlink")))
        return 0

    def rename(self, old, new):
        with self._mutex:
            self._check()
            entry = self._entry_of(old)
            os.rename(self._real(old), self._real(new))
            self.pending.append(Op("rename", old, _parent(new), new=new, entry=entry))
        return 0

    def fsyncdir(self, path, datasync, fh):
        with self._mutex:
            self._check()
            if not self.lie:
                self._flush_dir(path)
            self.stats["dir_fsyncs"] += 1
        return 0

    # -- files ---------------------------------------------------------------------------------
    def create(self, path, mode, fi=None):
        with self._mutex:
            self._check()
            fd = os.open(self._real(path), os.O_RDWR | os.O_CREAT, mode)
            entry = self._entry(path, "file")
            self.pending.append(Op("create", path, _parent(path), entry=entry))
            self.fh_ids[fd] = entry["id"]
        return fd

    def open(self, path, flags):
        if path == CONTROL:
            return CONTROL_FH
        with self._mutex:
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC):
                self._check()
            real = self._real(path)
            fd = os.open(real, flags & ~(os.O_APPEND | os.O_CREAT | os.O_EXCL))
            ident = self.ids.get(os.fstat(fd).st_ino)
            if ident is not None:
                self.fh_ids[fd] = ident
                if flags & os.O_TRUNC:
                    self._mark(ident, 0, max(os.fstat(fd).st_size, 1))
        return fd

    def read(self, path, size, offset, fh):
        if fh == CONTROL_FH:
            return b""
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        if fh == CONTROL_FH:
            command = bytes(data).strip().decode()
            if command == "cut":
                self.cut()
            elif command == "sync":
                self.sync_all()
            else:
                raise FuseOSError(errno.EINVAL)
            return len(data)
        with self._mutex:
            self._check()
            written = os.pwrite(fh, data, offset)
            self._mark(self.fh_ids.get(fh), offset, offset + written)
        return written

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return 0
        with self._mutex:
            self._check()
            real = fh if fh is not None else self._real(path)
            old = os.stat(real).st_size
            os.truncate(real, length)
            ident = self.fh_ids.get(fh) if fh is not None else self._id_of(path)
            self._mark(ident, min(old, length), max(old, length))
        return 0

    def fsync(self, path, datasync, fh):
        if fh == CONTROL_FH:
            return 0
        with self._mutex:
            self._check()
            ident = self.fh_ids.get(fh)
            if ident is not None and not self.lie:
                self._flush_file(ident, fh)
            self.stats["fsyncs"] += 1
        return 0

    def flush(self, path, fh):
        return 0  # close() is not fsync()

    def release(self, path, fh):
        if fh != CONTROL_FH:
            with self._mutex:
                self.fh_ids.pop(fh, None)
                os.close(fh)
        return 0


class LazyMount:
    """Mount a :class:`LazyFS` in a child process; :meth:`cut` the power, :meth:`unmount`, mount again."""

    def __init__(self, state: Path, mountpoint: Path, *, writeback: float = 0.0, seed: int | None = None,
                 lie: bool = False, log: Path | None = None) -> None:
        self.state, self.mountpoint = Path(state), Path(mountpoint)
        self.writeback, self.seed, self.lie = writeback, seed, lie
        self.log = log or self.state / "lazyfs.log"
        self.proc: subprocess.Popen | None = None

    def mount(self) -> LazyMount:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tests.powercut.lazyfs", str(self.state), str(self.mountpoint),
               "--writeback", str(self.writeback)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.lie:
            cmd.append("--lie")
        root = Path(__file__).resolve().parents[2]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lazyfs did not mount: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def control(self, command: str) -> None:
        fd = os.open(self.mountpoint / CONTROL.lstrip("/"), os.O_WRONLY)
        try:
            os.write(fd, command.encode())
        finally:
            os.close(fd)

    def cut(self) -> None:
        """The power goes off: un-synced writes are lost (some written back first if ``writeback``)."""
        self.control("cut")

    def unmount(self) -> None:
        if self.proc is None:
            return
        for lazy in (False, True):
            args = ["fusermount3", "-u", *(["-z"] if lazy else []), str(self.mountpoint)]
            if subprocess.run(args, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path)
    parser.add_argument("mountpoint", type=Path)
    parser.add_argument("--writeback", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--lie", action="store_true", help="fsync keeps nothing (a disk that lies)")
    args = parser.parse_args(argv)
    fs = LazyFS(args.state, args.writeback, args.seed, args.lie)
    mfusepy.FUSE(fs, str(args.mountpoint), foreground=True, nothreads=False, fsname="lazyfs", auto_unmount=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
