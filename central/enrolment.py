"""Enrolment at central: the pending requests of new gates, their approval or refusal, and the one-time token.

The exchange itself is :mod:`sync.enrolment`. Central keeps one row per request in ``enrolments``, keyed by the
gate's *claim* (SHA-256 of its secret; the secret itself never reaches the database):

``pending`` -> ``approved`` (staff gave it a community, gate id, name, direction and mode; the device row exists,
with a random token nobody knows) -> ``used`` (the gate polled with its secret and received a fresh token, whose
hash alone is stored). ``pending`` may also become ``refused`` (by staff) or ``expired`` (its time ran out, marked
when next looked at). A code is unique among pending requests; once a request is over its code may come again.

A re-enrolled gate (new SD card) gets a new device id (``<gate_id>-2``, ...); its approval revokes the device it
replaces and records the link (``replaces``), so the device page shows the chain and entries stay filed under the
gate id. The rules are pure functions on plain data (:func:`poll_status`, :func:`approval_problem`,
:func:`next_device_id`, :func:`suggested_replacement`); the rest reads and writes the table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from central import ingest
from central.db import transaction
from central.errors import CentralError
from central.store import CentralDB
from central.store.migrations import Migrations
from sync import enrolment as wire

log = logging.getLogger(__name__)

MAX_PENDING = 200  # pending requests in all; beyond, a new one gets 429
MAX_PENDING_PER_ADDRESS = 20  # pending requests from one client address (the gates of a site share one NAT)
KEEP_ENDED_S = 7 * 86400  # expired and refused requests are deleted after this (the console explains a code till then)
CODE_ATTEMPTS = 20  # draws of a code before giving up (31^8 codes: a clash is already rare)

#: Reasons a request or an approval is refused: code -> (zh-CN, English).
REASONS: dict[str, tuple[str, str]] = {
    "bad_body": ("请求格式不对", "The request is malformed"),
    "too_large": ("请求太大", "The request is too large"),
    "too_many_from_address": ("这个地址待接入的设备太多，请先处理已有的接入码",
                              "Too many pending enrolments from this address: deal with those first"),
    "too_many": ("待接入的设备太多，请稍后再试", "Too many pending enrolments: try again later"),
    "busy": ("请求太频繁，请稍后再试", "Too many requests: try again later"),
    "unknown": ("没有这个接入请求", "No such enrolment request"),
    "no_code": ("没有这个接入码（请核对门岗屏幕上的码）", "No such code (check the code on the gate's screen)"),
    "expired": ("接入码已过期，请在门岗上重新获取", "The code has expired: get a new one on the gate"),
    "used": ("接入码已经用过", "The code has been used already"),
    "approved": ("接入码已经批准过", "The code has been approved already"),
    "refused": ("接入码已被拒绝", "The code was refused"),
    "bad_gate": ("门岗信息不完整或格式不对", "The gate's details are missing or malformed"),
    "unknown_replaces": ("要替换的设备不存在", "The device to replace does not exist"),
    "gate_has_device": ("这个门岗已有设备，请确认替换哪一台，或勾选“同一门岗再加一台”",
                        "This gate has a device already: say which one this replaces, or tick "
                        "'another device at this gate'"),
}


class EnrolmentRefused(CentralError):
    """A request or an approval refused; ``code`` names the reason (:data:`REASONS`)."""

    def __init__(self, code: str, extra: str = "") -> None:
        zh, en = REASONS[code]
        super().__init__(f"{zh} / {en}{(': ' + extra) if extra else ''}")
        self.code = code

    def detail(self) -> dict[str, str]:
        """The ``detail`` of the device API's refusal."""
        zh, en = REASONS[self.code]
        return {"code": self.code, "zh": zh, "en": en}


migrations = Migrations("central-enrolment")


@migrations()
def m001_enrolments(db: CentralDB) -> None:
    """Requests of new gates, and what staff decided about them."""
    db.execute("""
        CREATE TABLE enrolments (
            claim TEXT PRIMARY KEY,            -- sha256 hex of the gate's secret (never the secret)
            code TEXT NOT NULL,                -- bare, 8 characters of sync.enrolment.CODE_ALPHABET
            status TEXT NOT NULL,              -- pending | approved | used | refused | expired
            hostname TEXT NOT NULL, software_version TEXT NOT NULL, previous_device_id TEXT,
            address TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, expires_at REAL NOT NULL,
            decided_at REAL, decided_by TEXT,
            community TEXT, gate_id TEXT, gate_name TEXT, direction TEXT, mode TEXT,
            device_id TEXT,                    -- the device the approval created
            replaces TEXT,                     -- the device it revoked and took over from
            token_issued_at REAL
        )""")
    db.execute("CREATE UNIQUE INDEX enrolments_pending_code ON enrolments (code) WHERE status = 'pending'")
    db.execute("CREATE INDEX enrolments_code ON enrolments (code)")
    db.execute("CREATE INDEX enrolments_device ON enrolments (device_id)")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-enrolment`` migrations."""
    migrations.apply(db)


# -- pure rules ----------------------------------------------------------------------------------

def poll_status(row: dict[str, Any] | None, now: float) -> str:
    """What a poll of this request answers: ``unknown``, ``pending``, ``approved`` (the one time), ``used``,
    ``refused`` or ``expired``. Approval outlives the code's expiry: the gate may poll a little late."""
    if row is None:
        return "unknown"
    if row["status"] == "pending" and now >= row["expires_at"]:
        return "expired"
    return str(row["status"])


#: A gate whose poll reply was lost (network cut, power cut before it wrote the token) polls again with its secret:
#: within this many seconds of the first token, while the device has not been seen with it, it gets a new token
#: (the first one stops working), so nobody has to start over with a new code.
REISSUE_S = 15 * 60


def may_reissue(row: dict[str, Any], device_seen: bool, now: float) -> bool:
    """Whether a poll of a ``used`` request gets a fresh token: the reply of the first was lost (see
    :data:`REISSUE_S`). Only the gate holding the secret can poll, so a new token goes to the same gate."""
    issued = row.get("token_issued_at")
    return (row["status"] == "used" and not device_seen and issued is not None
            and 0 <= now - float(issued) <= REISSUE_S)


def approval_problem(row: dict[str, Any] | None, now: float) -> str | None:
    """Why this request cannot be approved or refused now (a :data:`REASONS` code), or None."""
    status = poll_status(row, now)
    if status == "unknown":
        return "no_code"
    return None if status == "pending" else status


def next_device_id(gate_id: str, taken: set[str]) -> str:
    """The id for a new device at ``gate_id``: the gate id itself when free, else ``<gate_id>-2``, ``-3`` ..."""
    if gate_id not in taken:
        return gate_id
    n = 2
    while f"{gate_id}-{n}" in taken:
        n += 1
    return f"{gate_id}-{n}"


def suggested_replacement(previous_device_id: str | None, gate_id: str, devices: list[dict[str, Any]]) -> str:
    """The device a new request most likely replaces ('' for none): the one it names when central knows it, else
    the active device of ``gate_id`` when there is exactly one."""
    known = {d["device_id"]: d for d in devices}
    if previous_device_id and previous_device_id in known:
        return previous_device_id
    active = [d["device_id"] for d in devices if d["gate_id"] == gate_id and not d.get("revoked_at")]
    return active[0] if gate_id and len(active) == 1 else ""


def assignment(community: str, gate_id: str, gate_name: str, direction: str, mode: str) -> wire.GateAssignment:
    """The gate assignment staff typed, checked (:class:`EnrolmentRefused` ``bad_gate`` with what is wrong)."""
    try:
        return wire.GateAssignment(community=community.strip(), gate_id=gate_id.strip(),
                                   gate_name=gate_name.strip(), direction=direction, mode=mode)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise EnrolmentRefused("bad_gate", fields) from None


# -- the table -----------------------------------------------------------------------------------

def _row(db: CentralDB, where: str, params: list[Any]) -> dict[str, Any] | None:
    found = list(db.query(f"SELECT * FROM enrolments WHERE {where}", params))
    return found[0] if found else None


def by_code(db: CentralDB, code: str) -> dict[str, Any] | None:
    """The request of a bare code: the pending one, else the latest that had it."""
    return _row(db, "code = ? ORDER BY (status = 'pending') DESC, created_at DESC LIMIT 1", [code])


def _expire(db: CentralDB, now: float) -> None:
    """Mark the requests whose time ran out; forget those that ended long ago and made no device (bounded table)."""
    db.execute("UPDATE enrolments SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?", [now])
    db.execute("DELETE FROM enrolments WHERE status IN ('expired', 'refused') AND expires_at <= ?",
               [now - KEEP_ENDED_S])


@dataclass(frozen=True)
class Created:
    """A new pending request: its bare code and when it expires."""

    code: str
    expires_at: float


def create(db: CentralDB, req: wire.EnrolmentRequest, address: str, now: float, minutes: float) -> Created:
    """Record a gate's request and draw its code; :class:`EnrolmentRefused` when too many are pending. A claim
    seen before (the gate asked again) gets a new code; the old request is over."""
    with transaction(db):
        db.lock("enrolments")
        _expire(db, now)
        pending = [r["address"] for r in db.query("SELECT address FROM enrolments WHERE status = 'pending' "
                                                  "AND claim != ?", [req.claim])]  # a gate asking again: not twice
        if len(pending) >= MAX_PENDING:
            raise EnrolmentRefused("too_many")
        if pending.count(address) >= MAX_PENDING_PER_ADDRESS:
            raise EnrolmentRefused("too_many_from_address")
        taken = {r["code"] for r in db.query("SELECT code FROM enrolments WHERE status = 'pending'")}
        code = next((c for c in (wire.new_code() for _ in range(CODE_ATTEMPTS)) if c not in taken), None)
        if code is None:
            raise EnrolmentRefused("too_many")
        old = _row(db, "claim = ?", [req.claim])
        if old is not None and old["status"] in ("approved", "used"):
            raise EnrolmentRefused("used")  # a claim that got a device is never reused
        db.execute("DELETE FROM enrolments WHERE claim = ?", [req.claim])
        expires_at = now + minutes * 60
        db.execute("INSERT INTO enrolments (claim, code, status, hostname, software_version, previous_device_id, "
                   "address, created_at, expires_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                   [req.claim, code, req.hostname, req.software_version, req.previous_device_id, address[:64], now,
                    expires_at])
    log.info("enrolment %s requested by %s (%s) from %s", wire.format_code(code), req.hostname,
             req.software_version, address)
    return Created(code, expires_at)


def list_pending(db: CentralDB, now: float) -> list[dict[str, Any]]:
    """The requests waiting for staff, oldest first, each with its shown ``code_shown`` and ``left_s``."""
    rows = db.query("SELECT * FROM enrolments WHERE status = 'pending' AND expires_at > ? ORDER BY created_at", [now])
    return [{**r, "code_shown": wire.format_code(r["code"]), "left_s": r["expires_at"] - now} for r in rows]


def _pending(db: CentralDB, code: str, now: float) -> dict[str, Any]:
    """The request of ``code``, locked for a decision (in the caller's transaction); :class:`EnrolmentRefused`
    when it cannot be approved or refused now."""
    db.lock("enrolments")
    row = by_code(db, code)
    problem = approval_problem(row, now)
    if problem or row is None:
        raise EnrolmentRefused(problem or "no_code")
    return row


def approve(db: CentralDB, code: str, gate: wire.GateAssignment, *, replaces: str, alongside: bool, by: str,
            now: float) -> str:
    """Approve the pending request of ``code``: create its device (a token nobody knows until the gate's poll),
    revoke the device it ``replaces``; returns the new device id. :class:`EnrolmentRefused` with the reason."""
    with transaction(db):
        row = _pending(db, code, now)
        devices = list(db.query("SELECT device_id, gate_id, revoked_at FROM devices"))
        if replaces and replaces not in {d["device_id"] for d in devices}:
            raise EnrolmentRefused("unknown_replaces", replaces)
        if not replaces and not alongside and any(d["gate_id"] == gate.gate_id and not d["revoked_at"]
                                                  for d in devices):
            raise EnrolmentRefused("gate_has_device", gate.gate_id)
        device_id = next_device_id(gate.gate_id, {d["device_id"] for d in devices})
        ingest.add_device(db, device_id, name=gate.gate_name, community=gate.community, gate_id=gate.gate_id,
                          now=now)  # its token is dropped: the gate gets a fresh one at its poll
        if replaces:
            ingest.revoke_device(db, replaces, now=now)
        db.execute("UPDATE enrolments SET status = 'approved', decided_at = ?, decided_by = ?, community = ?, "
                   "gate_id = ?, gate_name = ?, direction = ?, mode = ?, device_id = ?, replaces = ? "
                   "WHERE claim = ?", [now, by, gate.community, gate.gate_id, gate.gate_name, gate.direction,
                                       gate.mode, device_id, replaces or None, row["claim"]])
    log.info("enrolment %s approved by %s: device %s at gate %s%s", wire.format_code(code), by, device_id,
             gate.gate_id, f", replacing {replaces}" if replaces else "")
    return device_id


def refuse(db: CentralDB, code: str, *, by: str, now: float) -> None:
    """Refuse the pending request of ``code``; :class:`EnrolmentRefused` when it is not pending."""
    with transaction(db):
        row = _pending(db, code, now)
        db.execute("UPDATE enrolments SET status = 'refused', decided_at = ?, decided_by = ? WHERE claim = ?",
                   [now, by, row["claim"]])
    log.info("enrolment %s refused by %s", wire.format_code(code), by)


def poll(db: CentralDB, secret: str, now: float, public_pem: str) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body answering a gate's poll with ``secret`` (see :mod:`sync.enrolment`). The device
    token is made here, once: the request becomes ``used`` in the same transaction."""
    claim = wire.claim_of(secret)
    with transaction(db):
        db.lock(f"enrolment:{claim}")
        row = _row(db, "claim = ?", [claim])
        status = poll_status(row, now)
        if status == "unknown" or row is None:
            return 404, {"detail": EnrolmentRefused("unknown").detail()}
        if status == "pending":
            return 200, wire.PollPending(status="pending", expires_at=row["expires_at"]).model_dump()
        device = db.execute("SELECT revoked_at, last_seen_at FROM devices WHERE device_id = ?",
                            [row["device_id"]]).fetchone() if row["device_id"] else None
        if status != "approved" and not (device is not None and may_reissue(row, device[1] is not None, now)):
            return 410, wire.PollClosed(status=status).model_dump()
        if device is None or device[0] is not None:  # staff revoked the new device before the gate came
            db.execute("UPDATE enrolments SET status = 'refused' WHERE claim = ?", [claim])
            return 410, wire.PollClosed(status="refused").model_dump()
        token = ingest.rotate_token(db, row["device_id"])  # a re-issue: the lost first token stops working
        if status == "approved":  # a re-issue keeps the first time: the grace does not grow with each poll
            db.execute("UPDATE enrolments SET status = 'used', token_issued_at = ? WHERE claim = ?", [now, claim])
    log.info("enrolment %s: device %s fetched its token", wire.format_code(row["code"]), row["device_id"])
    gate = wire.GateAssignment(community=row["community"], gate_id=row["gate_id"], gate_name=row["gate_name"],
                               direction=row["direction"], mode=row["mode"])
    return 200, wire.PollApproved(status="approved", device_id=row["device_id"], token=token,
                                  central_public_key=public_pem,
                                  central_key_fingerprint=wire.key_fingerprint(public_pem), gate=gate).model_dump()


def links(db: CentralDB) -> dict[str, dict[str, Any]]:
    """For each device made by an enrolment or replaced by one: ``code``, ``approved_at``, ``approved_by``,
    ``replaces`` and ``replaced_by`` (missing keys: none)."""
    out: dict[str, dict[str, Any]] = {}
    for r in db.query("SELECT code, device_id, replaces, decided_at, decided_by FROM enrolments "
                      "WHERE device_id IS NOT NULL ORDER BY decided_at"):
        mine = out.setdefault(r["device_id"], {})
        mine.update(code=wire.format_code(r["code"]), approved_at=r["decided_at"], approved_by=r["decided_by"])
        if r["replaces"]:
            mine["replaces"] = r["replaces"]
            out.setdefault(r["replaces"], {})["replaced_by"] = r["device_id"]
    return out
