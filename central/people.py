"""Staff and volunteers on duty (migration set ``central-people``): who they are, their guard id and gate PIN.

Each person has a guard id (what they type at a gate), a name, a phone, a duty group (:data:`GROUPS`), the unit
they were seconded from, a status (``active``, or ``called_back`` to their own unit) and whether they are
enabled. A PIN is set or reset at central (6-12 digits) and kept only as an argon2id hash; every change a gate
must know appends to the list change log (:mod:`central.passes.store`), which gates on list format 3 receive
signed (:mod:`sync.lists`):

- an enabled, active person with a PIN: ``guard`` with the hash. At the gate central's hash wins over a PIN set
  there with ``gatepass edge set-pin``;
- anyone else (disabled, called back, or no PIN set at central yet): ``guard_off``. The gate refuses them, even
  with a PIN set there: once central keeps a guard id, only central's PIN counts for it.

The gate's own PINs are peppered with a per-device secret; central cannot pepper (it does not know the gate's
secret), so a stolen copy of a gate's database holds central's hashes unpeppered. Those hashes therefore use
strong argon2id costs (:data:`HASHER`: 64 MiB, 3 passes), about a second per guess on a Pi and a fraction of
that on a PC: a 6-digit PIN (a million candidates) still falls within days to a determined attacker with the
file, so a stolen gate means resetting its guards' PINs at central (longer PINs help: 8 digits is 100 times
more work).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher

from central.errors import CentralError
from central.passes.store import append_change
from central.store import CentralDB
from central.store.migrations import Migrations

log = logging.getLogger(__name__)

migrations = Migrations("central-people")

#: Duty groups (the communities' own words), with English names.
GROUPS = {"watch": ("值守组", "Gate watch"), "patrol": ("巡逻组", "Patrol"),
          "support": ("应急保障组", "Emergency support"), "repair": ("维修组", "Repairs"),
          "mobile": ("机动组", "Mobile reserve")}
STATUSES = ("active", "called_back")
#: Strong costs for hashes the gate holds unpeppered (see the module doc); a Pi Zero 2 W checks one in ~1-2 s.
HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
_PIN = re.compile(r"[0-9]{6,12}")
_GUARD_ID = re.compile(r"[\w.@-]{1,64}")  # as the gate accepts (edge.shifts)
_PHONE = re.compile(r"[0-9+\- ]{0,20}")
FIRST_GUARD_ID = 1001
MAX_TEXT = 60


class PeopleError(CentralError):
    """A person cannot be added or changed as asked (the message says why, zh-CN / English)."""


@migrations()
def m001_people(db: CentralDB) -> None:
    """The people on duty."""
    db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, guard_id TEXT NOT NULL UNIQUE, "
               "name TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '', duty_group TEXT NOT NULL, "
               "unit TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'active' "
               "CHECK (status IN ('active', 'called_back')), enabled INTEGER NOT NULL DEFAULT 1, "
               "pin_hash TEXT, pin_set_at REAL, pin_set_by TEXT, created_at REAL NOT NULL, "
               "created_by TEXT NOT NULL DEFAULT '', updated_at REAL NOT NULL)")


def migrate(db: CentralDB) -> None:
    """Create or upgrade the people tables."""
    migrations.apply(db)


@dataclass(frozen=True)
class Person:
    """One person as central keeps them (the PIN hash itself is not carried)."""

    id: int
    guard_id: str
    name: str
    phone: str
    group: str
    unit: str
    status: str
    enabled: bool
    pin_set_at: float | None
    pin_set_by: str | None

    @property
    def may_sign_in(self) -> bool:
        """Whether the gates let them sign in (enabled, active and with a PIN from central)."""
        return self.enabled and self.status == "active" and self.pin_set_at is not None


_COLS = "id, guard_id, name, phone, duty_group, unit, status, enabled, pin_set_at, pin_set_by"


def _person(row: Any) -> Person:
    return Person(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]), row[8], row[9])


def everyone(db: CentralDB) -> list[Person]:
    """All people, enabled first, then by group and guard id."""
    rows = db.execute(f"SELECT {_COLS} FROM people ORDER BY enabled DESC, duty_group, guard_id").fetchall()
    return [_person(r) for r in rows]


def get(db: CentralDB, person_id: int) -> Person:
    """One person by id; :class:`PeopleError` when there is none."""
    row = db.execute(f"SELECT {_COLS} FROM people WHERE id = ?", [person_id]).fetchone()
    if row is None:
        raise PeopleError("没有这个人员 / no such person")
    return _person(row)


def by_guard(db: CentralDB, guard_id: str) -> Person | None:
    """The person with ``guard_id``, if central keeps one."""
    row = db.execute(f"SELECT {_COLS} FROM people WHERE guard_id = ?", [guard_id]).fetchone()
    return _person(row) if row else None


def next_guard_id(db: CentralDB) -> str:
    """A free numeric guard id to offer for a new person (from :data:`FIRST_GUARD_ID` up)."""
    numbers = [int(r[0]) for r in db.execute("SELECT guard_id FROM people") if str(r[0]).isdigit()]
    return str(max([FIRST_GUARD_ID - 1, *numbers]) + 1)


def _text(value: str, what: tuple[str, str], required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise PeopleError(f"请填写{what[0]} / {what[1]} is required")
    if len(value) > MAX_TEXT:
        raise PeopleError(f"{what[0]}最多 {MAX_TEXT} 个字 / {what[1]}: at most {MAX_TEXT} characters")
    return value


def _fields(name: str, phone: str, group: str, unit: str) -> list[str]:
    phone = (phone or "").strip()
    if not _PHONE.fullmatch(phone):
        raise PeopleError("电话只能含数字、+、- 和空格 / a phone has digits, '+', '-' and spaces only")
    if group not in GROUPS:
        raise PeopleError("请选择值班分组 / choose a duty group")
    return [_text(name, ("姓名", "the name"), required=True), phone, group, _text(unit, ("派出单位", "the unit"))]


def add(db: CentralDB, guard_id: str, name: str, phone: str, group: str, unit: str = "", *, by: str = "") -> int:
    """Add a person (active, enabled, no PIN yet: refused at the gates until one is set); returns their id."""
    guard_id = (guard_id or "").strip()
    if not _GUARD_ID.fullmatch(guard_id):
        raise PeopleError("工号为 1-64 个字母、数字或 . @ _ - / a guard id is 1-64 letters, digits, '.', '@', '_', '-'")
    values = _fields(name, phone, group, unit)
    now = time.time()
    with db.transaction():
        if by_guard(db, guard_id) is not None:
            raise PeopleError(f"工号 {guard_id} 已被使用 / guard id {guard_id} is taken")
        row = db.execute("INSERT INTO people (guard_id, name, phone, duty_group, unit, created_at, created_by, "
                         "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         [guard_id, *values, now, by, now]).fetchone()
        _tell_gates(db, int(row[0]))  # no PIN yet: refused at the gates until central sets one
    log.info("person %s added by %s", guard_id, by)
    return int(row[0])


def update(db: CentralDB, person_id: int, name: str, phone: str, group: str, unit: str, status: str,
           *, by: str = "") -> None:
    """Change a person's details and status (``active``/``called_back``); gates learn a status change."""
    if status not in STATUSES:
        raise PeopleError("状态须为在岗或已召回 / status is active or called back")
    values = _fields(name, phone, group, unit)
    with db.transaction():
        before = get(db, person_id)
        db.execute("UPDATE people SET name = ?, phone = ?, duty_group = ?, unit = ?, status = ?, updated_at = ? "
                   "WHERE id = ?", [*values, status, time.time(), person_id])
        if before.status != status:
            _tell_gates(db, person_id)
    log.info("person %s changed by %s", before.guard_id, by)


def set_pin(db: CentralDB, person_id: int, pin: str, *, by: str = "") -> int:
    """Set or reset a person's gate PIN (6-12 digits, stored hashed); returns the list version gates get it in."""
    if not _PIN.fullmatch(pin or ""):
        raise PeopleError("PIN 须为 6-12 位数字 / a PIN is 6 to 12 digits")
    pin_hash = HASHER.hash(pin)  # outside the transaction: it takes a while
    with db.transaction():
        person = get(db, person_id)
        db.execute("UPDATE people SET pin_hash = ?, pin_set_at = ?, pin_set_by = ?, updated_at = ? WHERE id = ?",
                   [pin_hash, time.time(), by, time.time(), person_id])
        version = _tell_gates(db, person_id)
    log.info("PIN of %s set by %s", person.guard_id, by)
    return version


def set_enabled(db: CentralDB, person_id: int, enabled: bool, *, by: str = "") -> int:
    """Enable or disable a person; a disabled person is refused at every gate after its next sync."""
    with db.transaction():
        person = get(db, person_id)
        db.execute("UPDATE people SET enabled = ?, updated_at = ? WHERE id = ?",
                   [int(enabled), time.time(), person_id])
        version = _tell_gates(db, person_id)
    log.info("person %s %s by %s", person.guard_id, "enabled" if enabled else "disabled", by)
    return version


def _gate_op(guard_id: str, status: str, enabled: bool, pin_hash: str | None) -> dict[str, Any]:
    """What a gate must hold for a person (see the module doc)."""
    if enabled and status == "active" and pin_hash:
        return {"op": "guard", "guard_id": guard_id, "pin_hash": pin_hash}
    return {"op": "guard_off", "guard_id": guard_id}


def _tell_gates(db: CentralDB, person_id: int) -> int:
    row = db.execute("SELECT guard_id, status, enabled, pin_hash FROM people WHERE id = ?", [person_id]).fetchone()
    op = _gate_op(row[0], row[1], bool(row[2]), row[3])
    return append_change(db, op.pop("op"), **op)


def gate_ops(db: CentralDB) -> list[dict[str, Any]]:
    """Every guard change a gate on list format 3 holds (for a snapshot)."""
    rows = db.execute("SELECT guard_id, status, enabled, pin_hash FROM people ORDER BY guard_id").fetchall()
    return [_gate_op(r[0], r[1], bool(r[2]), r[3]) for r in rows]
