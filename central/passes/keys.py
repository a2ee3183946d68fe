"""Central signing keys: Ed25519 pass-signing keys with short key ids, and the root list-signing key.

Private keys are PEM files under ``<data_dir>/keys/`` (directory 0700, files
0600); their metadata and status live in the ``pass_keys`` table:

* ``active``  -- signs new passes (exactly one once any pass was issued);
* ``verify``  -- rotated out: no longer signs, still verifies the passes it
  signed, until ``not_after`` (the last expiry among them), after which gates
  drop it on their own, offline;
* ``retired`` -- no longer trusted at all (e.g. its file leaked): gates refuse
  every pass it signed as soon as they get the change.

Key ids are the first 4 bytes of SHA-256 of the raw public key (8 hex digits).
The root key signs list pages for devices (the sync service does the signing);
devices pin :func:`root_public_pem`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from central.passes.errors import PassAdminError
from central.passes.store import append_change
from central.store import CentralDB

log = logging.getLogger(__name__)

KID_BYTES = 4


@dataclass(frozen=True)
class KeyRecord:
    """One pass-signing key's metadata."""

    kid: str
    public_key: str  # raw Ed25519 public key, hex
    created_at: float
    not_before: float
    not_after: float | None
    status: str


def keys_dir(data_dir: Path) -> Path:
    """The private key directory, created with mode 0700."""
    path = Path(data_dir) / "keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The key id (hex) of a key."""
    return hashlib.sha256(_raw_public(key)).digest()[:KID_BYTES].hex()


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Written in full under a temporary name, then linked into place: a key file that exists is complete, and
    # of two processes creating the same key the second gets FileExistsError (never a half-written file).
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PassAdminError(f"key file {path} is missing", "restore it from the backup of the data dir") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PassAdminError(f"key file {path} does not hold an Ed25519 key")
    return key


def root_key(data_dir: Path) -> Ed25519PrivateKey:
    """The root list-signing key, created on first use."""
    path = keys_dir(data_dir) / "root.pem"
    if not path.exists():
        try:
            _write_private(path, Ed25519PrivateKey.generate())
            log.info("created the root list-signing key %s", path)
        except FileExistsError:  # another process (the server, a CLI command) made it first: use theirs
            pass
    return _read_private(path)


def root_public_pem(data_dir: Path) -> str:
    """The root public key as PEM text, for devices to pin."""
    return root_key(data_dir).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def list_keys(db: CentralDB) -> list[KeyRecord]:
    """Every pass-signing key, oldest first."""
    rows = db.execute("SELECT kid, public_key, created_at, not_before, not_after, status FROM pass_keys "
                      "ORDER BY created_at, kid").fetchall()
    return [KeyRecord(*row) for row in rows]


def _create(db: CentralDB, data_dir: Path) -> KeyRecord:
    key = Ed25519PrivateKey.generate()
    kid = kid_of(key)
    now = time.time()
    _write_private(keys_dir(data_dir) / f"pass-{kid}.pem", key)
    record = KeyRecord(kid, _raw_public(key).hex(), now, now - 300, None, "active")
    db.execute("INSERT INTO pass_keys (kid, public_key, created_at, not_before, not_after, status) "
               "VALUES (?, ?, ?, ?, ?, ?)", [record.kid, record.public_key, now, record.not_before, None, "active"])
    append_change(db, "key_add", kid=kid, public_key=record.public_key, not_before=record.not_before,
                  not_after=None)
    log.info("new pass-signing key %s", kid)
    return record


def active_key(db: CentralDB, data_dir: Path) -> tuple[str, Ed25519PrivateKey]:
    """The key id and private key that sign new passes (created on first use)."""
    with db.transaction():
        db.lock("pass_keys")  # PostgreSQL: two first issuers must not both create an active key
        row = db.execute("SELECT kid FROM pass_keys WHERE status = 'active'").fetchone()
        kid = row[0] if row else _create(db, data_dir).kid
    return kid, _read_private(keys_dir(data_dir) / f"pass-{kid}.pem")


def rotate(db: CentralDB, data_dir: Path) -> tuple[KeyRecord, KeyRecord | None]:
    """Start signing with a new key; the old one keeps verifying its passes until the last expires.

    Returns (new key, previous key or None).
    """
    with db.transaction():
        db.lock("pass_keys")  # PostgreSQL: concurrent rotations (or a first issue) must leave one active key
        row = db.execute("SELECT kid FROM pass_keys WHERE status = 'active'").fetchone()
        previous = None
        if row:
            kid = row[0]
            last = db.execute("SELECT MAX(valid_to) FROM passes WHERE kid = ?", [kid]).fetchone()[0]
            not_after = float(max(last or 0, time.time()))
            db.execute("UPDATE pass_keys SET status = 'verify', not_after = ? WHERE kid = ?", [not_after, kid])
            pub, nbf = db.execute("SELECT public_key, not_before FROM pass_keys WHERE kid = ?", [kid]).fetchone()
            append_change(db, "key_add", kid=kid, public_key=pub, not_before=nbf, not_after=not_after)
        new = _create(db, data_dir)
        if row:
            previous = next(k for k in list_keys(db) if k.kid == row[0])
    return new, previous


def retire(db: CentralDB, kid: str) -> KeyRecord:
    """Stop trusting key ``kid`` everywhere: gates refuse every pass it signed."""
    kid = kid.lower()
    with db.transaction():
        row = db.execute("SELECT status FROM pass_keys WHERE kid = ?", [kid]).fetchone()
        if row is None:
            raise PassAdminError(f"no key with id {kid}", "see 'gatepass central keys list'")
        if row[0] == "active":
            raise PassAdminError(f"key {kid} is the active signing key", "rotate first: gatepass central keys rotate")
        if row[0] != "retired":
            db.execute("UPDATE pass_keys SET status = 'retired' WHERE kid = ?", [kid])
            append_change(db, "key_retire", kid=kid)
    return next(k for k in list_keys(db) if k.kid == kid)
