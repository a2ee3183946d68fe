"""Files on the gate that only the service user may read: the device database, the PIN pepper.

In the core because both the edge and the sync open (and may create) the device database.

The service runs with ``UMask=0027`` under systemd, but the maintenance commands (``gatepass edge set-pin``,
``gatepass edge kiosk pair``) run in an administrator's shell with its umask (often 0022), perhaps as root. Every
file holding guards' PIN hashes, pairings or personal data therefore gets mode 0600 explicitly, and a file root
creates in the state directory is handed to that directory's owner, so the service can still open it.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """Mode 0600 for ``path`` (when it exists), owned like its folder when we are root."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mode & 0o777 != PRIVATE:
        path.chmod(PRIVATE)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        folder = path.parent.stat()
        if (st.st_uid, st.st_gid) != (folder.st_uid, folder.st_gid):
            os.chown(path, folder.st_uid, folder.st_gid)


def make_db_private(db_path: Path) -> None:
    """Mode 0600 for an SQLite database and its WAL, shared-memory and journal files."""
    for suffix in SQLITE_SUFFIXES:
        make_private(db_path.with_name(db_path.name + suffix))


def secret_bytes(path: Path, size: int = 32) -> bytes:
    """The random secret in ``path``, created (``size`` bytes, mode 0600, written once) on first use.

    Two processes creating it at once agree: the file is made with ``O_EXCL`` under a temporary name and linked
    into place, so the loser reads the winner's secret. A secret file others could read is made private again
    (and a warning logged).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = _create_secret(path, size)
    else:
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others: made private (0600)", path)
    make_private(path)
    if len(data) < 16:
        raise ValueError(f"{path} holds {len(data)} bytes: too short for a secret (delete it only if no PIN "
                         "was set with it; every PIN must then be set again)")
    return data


def _create_secret(path: Path, size: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        os.write(fd, secrets.token_bytes(size))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails when another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def write_private(path: Path, text: str, mode: int = 0o600, group: int | None = None) -> None:
    """Write ``path`` atomically with ``mode`` from the first byte (never readable by others, not even briefly);
    ``group``: give it to that group id when allowed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if group is not None:
            try:
                os.fchown(fd, -1, group)
            except PermissionError:
                log.warning("not allowed to give %s to group %d (run as root)", path, group)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
