"""一户一档: the household file at central: address, grid, members, flags and notes (migration set ``central-homes``).

A household's id is the one its passes carry (``households.household``, e.g. ``3-2-401``); its file adds what the
staff keep about it:

- ``household_files``: one row per household: building / unit / room, grid (网格) and grid worker (网格员), notes;
- ``household_members``: one row per member, numbered like the passes' ``person`` (0, 1, 2 …, unique within the
  household), so a pass, a per-person quarantine and a member are the same person: name, phone (normalised, see
  :func:`central.visitors.normalise_phone`), relation to the head of household, owner or tenant (and a tenant's
  landlord), care flags (:data:`FLAGS`), a note.

Other casework modules (home-quarantine care, the screening register, deliveries …) key their rows by
``(household, person)`` and read members through :func:`member` / :func:`members`; the household's timeline is
assembled by :mod:`central.timeline`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from central.passes.store import note_household
from central.store import CentralDB
from central.store.migrations import Migrations

migrations = Migrations("central-homes")

#: Care flags: code → (zh-CN, English). Stored in ``household_members.flags`` as codes joined by ``,``.
FLAGS: dict[str, tuple[str, str]] = {
    "elderly_alone": ("独居老人", "elderly, living alone"),
    "elderly": ("高龄老人", "elderly"),
    "pregnant": ("孕妇", "pregnant"),
    "infant": ("婴幼儿", "infant"),
    "dialysis": ("需透析", "needs dialysis"),
    "chronic": ("慢病", "chronic illness"),
    "disabled": ("残疾", "disability"),
    "no_smartphone": ("无智能手机", "no smartphone"),
}
#: Owner or tenant: code → (zh-CN, English); '' unknown.
TENURES: dict[str, tuple[str, str]] = {"owner": ("业主", "owner"), "tenant": ("租户", "tenant")}


@migrations()
def m001_household_file(db: CentralDB) -> None:
    """The household file and its members."""
    db.execute("CREATE TABLE household_files (household TEXT PRIMARY KEY, building TEXT NOT NULL DEFAULT '', "
               "unit TEXT NOT NULL DEFAULT '', room TEXT NOT NULL DEFAULT '', grid TEXT NOT NULL DEFAULT '', "
               "grid_worker TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '', "
               "updated_at REAL NOT NULL, updated_by TEXT NOT NULL DEFAULT '')")
    db.execute("CREATE INDEX household_files_grid ON household_files (grid)")
    db.execute("CREATE TABLE household_members (household TEXT NOT NULL, person INTEGER NOT NULL, "
               "name TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', relation TEXT NOT NULL DEFAULT '', "
               "tenure TEXT NOT NULL DEFAULT '' CHECK (tenure IN ('', 'owner', 'tenant')), "
               "landlord TEXT NOT NULL DEFAULT '', flags TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', "
               "updated_at REAL NOT NULL, PRIMARY KEY (household, person))")
    db.execute("CREATE INDEX household_members_phone ON household_members (phone)")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-homes`` migrations."""
    migrations.apply(db)


@dataclass(frozen=True)
class Member:
    """A member of a household as its file keeps them."""

    household: str
    person: int
    name: str = ""
    phone: str = ""
    relation: str = ""
    tenure: str = ""
    landlord: str = ""
    flags: tuple[str, ...] = ()
    note: str = ""


_MEMBER_COLS = "household, person, name, phone, relation, tenure, landlord, flags, note"


def _member(row) -> Member:
    return Member(household=row[0], person=int(row[1]), name=row[2], phone=row[3], relation=row[4], tenure=row[5],
                  landlord=row[6], flags=tuple(f for f in row[7].split(",") if f), note=row[8])


def member(db: CentralDB, household: str, person: int) -> Member | None:
    """The member ``person`` of ``household`` (None: not in the file)."""
    row = db.execute(f"SELECT {_MEMBER_COLS} FROM household_members WHERE household = ? AND person = ?",
                     [household, person]).fetchone()
    return _member(row) if row else None


def members(db: CentralDB, household: str) -> list[Member]:
    """The members of ``household`` by person number."""
    rows = db.execute(f"SELECT {_MEMBER_COLS} FROM household_members WHERE household = ? ORDER BY person",
                      [household]).fetchall()
    return [_member(r) for r in rows]


def ensure_household(db: CentralDB, household: str, now: float | None = None) -> None:
    """Make sure ``household`` exists (``households``, the table passes refer to); a new one reaches the gates
    (list format 4), which check a visitor's host against them."""
    note_household(db, household, time.time() if now is None else now)


def save_member(db: CentralDB, m: Member, now: float | None = None) -> None:
    """Insert or update a member (the household is created when missing). Callers check the values first."""
    at = time.time() if now is None else now
    ensure_household(db, m.household, at)
    db.execute(f"INSERT INTO household_members ({_MEMBER_COLS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (household, person) DO UPDATE SET name = excluded.name, phone = excluded.phone, "
               "relation = excluded.relation, tenure = excluded.tenure, landlord = excluded.landlord, "
               "flags = excluded.flags, note = excluded.note, updated_at = excluded.updated_at",
               [m.household, m.person, m.name, m.phone, m.relation, m.tenure, m.landlord, ",".join(m.flags), m.note,
                at])
