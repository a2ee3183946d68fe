"""The screening and returnee register (排查登记): people named by questionnaire exports (问卷星, 50,000+ answers)
and by the street office's lists (密接 / 次密接 / 返乡人员名单), the phone round that reaches them, and the step that
turns one of them into a home quarantine (migration set ``central-screening``).

Tables:

- ``screening_sources``: one row per list (its kind and the name staff gave it, e.g. "问卷星 4月3日"); re-importing
  a list of the same kind and name updates its rows instead of adding new ones (idempotent re-import);
- ``screening_people``: one row per person, **keyed by the normalised phone number**
  (:func:`central.visitors.normalise_phone`): whatever lists name the same number are the same person. Their values
  are the latest non-empty ones of their rows; their category the most severe (密接 before 次密接 before 返乡);
- ``screening_rows``: each list's row about a person (one per person and list), as it was written;
- ``screening_calls``: the phone round's calls (outcome, note, who called, when); the person keeps their latest
  outcome, so the worklist is one indexed query;
- ``screening_tally``: what retention leaves of people it deleted: counts by category and last outcome.

Households: a household written on a row is linked when it names a household file (:mod:`central.homes`) as
written or as ``楼-单元-房`` from its numbers (``3号楼2单元401`` → ``3-2-401``); a phone that is a member's in
the household files links the person to that member. An address that names no household file is **kept as
written** (``address``), not refused: questionnaires are typed by residents, and refusing a returnee for the
spelling of their address would drop someone who must be phoned; the phone round needs only the phone, and staff
choose the household when they turn the person into a quarantine.

Imports run in one transaction (:func:`import_rows`): every row of a file is in, or none is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from central import care, homes
from central.errors import CentralError
from central.passes import quarantine
from central.screening_parse import CATEGORIES, household_candidates, severest
from central.store import CentralDB
from central.store.migrations import Migrations
from central.timeline import TimelineEvent

log = logging.getLogger(__name__)

migrations = Migrations("central-screening")

#: Kinds of list: code → (zh-CN, English, the category its people have when a row does not say).
SOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    "questionnaire": ("问卷调查", "questionnaire", "returnee"),
    "returnee_list": ("返乡人员名单", "returnee list", "returnee"),
    "close_contact_list": ("密接名单", "close-contact list", "close_contact"),
    "secondary_list": ("次密接名单", "secondary-contact list", "secondary_contact"),
    "other": ("其他名单", "other list", "other"),
}
#: Outcomes of a call: code → (zh-CN, English).
OUTCOMES: dict[str, tuple[str, str]] = {
    "reached": ("已联系", "reached"), "no_answer": ("无人接听", "no answer"), "empty": ("空号", "number not in use"),
    "refused": ("拒接", "refused"), "left": ("已离开本地", "has left"), "other": ("其他", "other"),
}
#: Outcomes after which the phone round is over for the person (redialling an unused number does not help: such a
#: person stays on the register, marked 空号, for the grid worker to find).
CLOSED = ("reached", "empty", "left")
RETRY_S = 2 * 3600.0  # a failed call is due again this long after it
LIST_LIMIT = 500  # people one register or worklist page shows at most
EXPORT_LIMIT = 200_000  # people one export holds at most
BATCH = 500  # people written per statement by an import
_RANK = ("CASE {} WHEN 'close_contact' THEN 1 WHEN 'secondary_contact' THEN 2 WHEN 'returnee' THEN 3 ELSE 4 END")


class ScreeningError(CentralError):
    """A screening action refused; the message is for staff (zh-CN / English)."""


@migrations()
def m001_screening(db: CentralDB) -> None:
    """Lists, people keyed by phone, their rows per list, calls and the counts retention keeps."""
    db.execute("CREATE TABLE screening_sources (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
               "label TEXT NOT NULL, created_at REAL NOT NULL, imported_at REAL NOT NULL, "
               "imported_by TEXT NOT NULL DEFAULT '', row_count INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, label))")
    db.execute("CREATE TABLE screening_people (id INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL UNIQUE, "
               "name TEXT NOT NULL DEFAULT '', household TEXT, person INTEGER, address TEXT NOT NULL DEFAULT '', "
               "origin_city TEXT NOT NULL DEFAULT '', return_date TEXT NOT NULL DEFAULT '', "
               "travel TEXT NOT NULL DEFAULT '', health TEXT NOT NULL DEFAULT '', contact TEXT NOT NULL DEFAULT '', "
               "category TEXT NOT NULL DEFAULT 'other', last_outcome TEXT NOT NULL DEFAULT '', last_call_at REAL, "
               "calls INTEGER NOT NULL DEFAULT 0, quarantine_id INTEGER, quarantine_first TEXT NOT NULL DEFAULT '', "
               "quarantine_last TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL)")
    db.execute("CREATE INDEX screening_people_household ON screening_people (household)")
    db.execute("CREATE INDEX screening_people_round ON screening_people (last_outcome, last_call_at)")
    db.execute("CREATE INDEX screening_people_updated ON screening_people (updated_at)")
    db.execute("CREATE TABLE screening_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "source_id INTEGER NOT NULL REFERENCES screening_sources(id), "
               "person_id INTEGER NOT NULL REFERENCES screening_people(id), row_no INTEGER NOT NULL, "
               "name TEXT NOT NULL DEFAULT '', household TEXT, address TEXT NOT NULL DEFAULT '', "
               "origin_city TEXT NOT NULL DEFAULT '', return_date TEXT NOT NULL DEFAULT '', "
               "travel TEXT NOT NULL DEFAULT '', health TEXT NOT NULL DEFAULT '', contact TEXT NOT NULL DEFAULT '', "
               "category TEXT NOT NULL DEFAULT 'other', imported_at REAL NOT NULL, UNIQUE (source_id, person_id))")
    db.execute("CREATE INDEX screening_rows_person ON screening_rows (person_id)")
    db.execute("CREATE TABLE screening_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "person_id INTEGER NOT NULL REFERENCES screening_people(id), at REAL NOT NULL, "
               "called_by TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')")
    db.execute("CREATE INDEX screening_calls_person ON screening_calls (person_id, at)")
    db.execute("CREATE TABLE screening_tally (category TEXT NOT NULL, outcome TEXT NOT NULL, "
               "people INTEGER NOT NULL, PRIMARY KEY (category, outcome))")


def migrate(db: CentralDB) -> None:
    """Apply pending ``central-screening`` migrations (after ``central-homes``)."""
    migrations.apply(db)


# -- import ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenRow:
    """One checked row of a list: ``phone`` normalised; ``household`` the written household or address (linked at
    import); dates ISO; '' where the list says nothing."""

    phone: str
    name: str = ""
    household: str = ""
    origin_city: str = ""
    return_date: str = ""
    travel: str = ""
    health: str = ""
    contact: str = ""
    category: str = ""
    row_no: int = 0


def merge_by_phone(rows: Iterable[ScreenRow]) -> list[ScreenRow]:
    """One row per phone number, in first-seen order: a later row's non-empty values replace an earlier one's
    (the category is the most severe); pure."""
    merged: dict[str, ScreenRow] = {}
    for row in rows:
        old = merged.get(row.phone)
        if old is None:
            merged[row.phone] = row
            continue
        values = {f.name: getattr(row, f.name) or getattr(old, f.name) for f in fields(ScreenRow)}
        values["category"] = severest([c for c in (old.category, row.category) if c]) if (
            old.category or row.category) else ""
        values["row_no"] = old.row_no
        merged[row.phone] = ScreenRow(**values)
    return list(merged.values())


@dataclass
class ImportResult:
    """What one import did."""

    source_id: int = 0
    rows: int = 0
    new_people: int = 0
    merged_people: int = 0
    linked_households: int = 0


def _source(db: CentralDB, kind: str, label: str, by: str, now: float, count: int) -> int:
    row = db.execute("INSERT INTO screening_sources (kind, label, created_at, imported_at, imported_by, row_count) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, label) DO UPDATE SET "
                     "imported_at = excluded.imported_at, imported_by = excluded.imported_by, "
                     "row_count = excluded.row_count RETURNING id", [kind, label, now, now, by, count]).fetchone()
    return int(row[0])


@dataclass
class _Links:
    """The household files and members' phones an import links rows to."""

    households: set[str] = field(default_factory=set)
    phones: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, db: CentralDB) -> _Links:
        links = cls({str(r[0]) for r in db.execute("SELECT household FROM household_files")})
        for household, person, phone in db.execute(
                "SELECT household, person, phone FROM household_members WHERE phone <> '' ORDER BY household, person"):
            links.phones.setdefault(str(phone), (str(household), int(person)))
        return links

    def link(self, row: ScreenRow) -> tuple[str | None, int | None]:
        """The household file and member a row names (None where it names none)."""
        written = next((c for c in household_candidates(row.household) if c in self.households), None)
        member = self.phones.get(row.phone)
        if member and (written is None or written == member[0]):
            return member
        return written, None


_PERSON_UPSERT = (
    "INSERT INTO screening_people (phone, name, household, person, address, origin_city, return_date, travel, "
    "health, contact, category, created_at, updated_at) VALUES {values} "
    "ON CONFLICT (phone) DO UPDATE SET "
    + ", ".join(f"{c} = CASE WHEN excluded.{c} <> '' THEN excluded.{c} ELSE screening_people.{c} END"
                for c in ("name", "address", "origin_city", "return_date", "travel", "health", "contact"))
    + ", household = COALESCE(excluded.household, screening_people.household), "
    "person = CASE WHEN excluded.household IS NULL THEN screening_people.person ELSE excluded.person END, "
    f"category = CASE WHEN {_RANK.format('excluded.category')} < {_RANK.format('screening_people.category')} "
    "THEN excluded.category ELSE screening_people.category END, updated_at = excluded.updated_at "
    "RETURNING id, phone, created_at")
_ROW_UPSERT = (
    "INSERT INTO screening_rows (source_id, person_id, row_no, name, household, address, origin_city, return_date, "
    "travel, health, contact, category, imported_at) VALUES {values} "
    "ON CONFLICT (source_id, person_id) DO UPDATE SET row_no = excluded.row_no, name = excluded.name, "
    "household = excluded.household, address = excluded.address, origin_city = excluded.origin_city, "
    "return_date = excluded.return_date, travel = excluded.travel, health = excluded.health, "
    "contact = excluded.contact, category = excluded.category, imported_at = excluded.imported_at")


def _values(statement: str, rows: int, width: int) -> str:
    """``statement`` with ``rows`` tuples of ``width`` parameters (a multi-row insert: one round trip)."""
    return statement.format(values=", ".join(["(" + ", ".join("?" * width) + ")"] * rows))


def _import_batch(db: CentralDB, links: _Links, kind: str, batch: list[ScreenRow], result: ImportResult,
                  now: float) -> None:
    """Upsert a batch of people (phones unique within it) and their rows of this list, two statements."""
    people: list[Any] = []
    rows: list[list[Any]] = []
    for row in batch:
        row = row if row.category else replace(row, category=SOURCE_KINDS[kind][2])
        household, person = links.link(row)
        values = [row.name, household, "" if household else row.household, row.origin_city, row.return_date,
                  row.travel, row.health, row.contact, row.category]
        people += [row.phone, row.name, household, person, *values[2:], now, now]
        rows.append([row.phone, row.row_no, *values])
        result.linked_households += household is not None
    ids: dict[str, int] = {}
    for pid, phone, created in db.execute(_values(_PERSON_UPSERT, len(batch), 13), people).fetchall():
        ids[str(phone)] = int(pid)
        result.new_people += created == now
    params = [v for phone, *rest in rows for v in (result.source_id, ids[phone], *rest, now)]
    db.execute(_values(_ROW_UPSERT, len(batch), 13), params)


def import_rows(db: CentralDB, kind: str, label: str, rows: Iterable[ScreenRow], *, by: str,
                now: float) -> ImportResult:
    """Import checked rows of one list (``kind`` of :data:`SOURCE_KINDS`, named ``label``) in one transaction:
    rows with the same phone are one person (merged with what other lists said of them); re-importing the same
    list updates its rows. Rows without a category take the list's."""
    if kind not in SOURCE_KINDS:
        raise ScreeningError(f"未知的名单类型：{kind} / unknown kind of list")
    label = " ".join(label.split())[:100]
    if not label:
        raise ScreeningError("请填写名单名称 / name the list")
    merged = merge_by_phone(rows)
    result = ImportResult(rows=len(merged))
    with db.transaction():
        links = _Links.load(db)
        result.source_id = _source(db, kind, label, by, now, len(merged))
        for start in range(0, len(merged), BATCH):
            _import_batch(db, links, kind, merged[start:start + BATCH], result, now)
        result.merged_people = result.rows - result.new_people
    log.info("screening import %s/%s by %s: %s", kind, label, by, result)
    return result


# -- the register and the worklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the register or the worklist shows: all optional."""

    source_id: int | None = None
    grid: str = ""
    category: str = ""
    returned_from: str = ""  # ISO days, both included
    returned_to: str = ""
    text: str = ""  # a name, phone or household, anywhere
    status: str = ""  # '' all, 'todo' still to reach, 'closed' the round is over, 'quarantined'


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_DUE = "p.quarantine_id IS NULL AND p.last_outcome NOT IN ('reached', 'empty', 'left') " \
       "AND (p.last_call_at IS NULL OR p.last_call_at <= ?)"


def _where(f: Filters, now: float, retry_s: float) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    checks: list[tuple[bool, str, list[Any]]] = [
        (f.source_id is not None, "EXISTS (SELECT 1 FROM screening_rows r WHERE r.person_id = p.id "
                                  "AND r.source_id = ?)", [f.source_id]),
        (bool(f.grid), "h.grid = ?", [f.grid]),
        (bool(f.category), "p.category = ?", [f.category]),
        (bool(f.returned_from), "p.return_date >= ? AND p.return_date <> ''", [f.returned_from]),
        (bool(f.returned_to), "p.return_date <= ? AND p.return_date <> ''", [f.returned_to]),
        (bool(f.text), "(p.name LIKE ? ESCAPE '\\' OR p.phone LIKE ? ESCAPE '\\' OR p.household LIKE ? "
                       "ESCAPE '\\' OR p.address LIKE ? ESCAPE '\\')", [_like(f.text)] * 4),
        (f.status == "todo", _DUE, [now - retry_s]),
        (f.status == "closed", "p.last_outcome IN ('reached', 'empty', 'left')", []),
        (f.status == "quarantined", "p.quarantine_id IS NOT NULL", []),
    ]
    for wanted, sql, values in checks:
        if wanted:
            where.append(sql)
            args.extend(values)
    return where, args


_PEOPLE = ("SELECT p.*, h.grid AS grid, h.grid_worker AS grid_worker, (SELECT count(*) FROM screening_rows r "
           "WHERE r.person_id = p.id) AS sources FROM screening_people p "
           "LEFT JOIN household_files h ON h.household = p.household")


def people(db: CentralDB, f: Filters, *, now: float, retry_s: float = RETRY_S,
           limit: int = LIST_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """The people matching ``f`` (most severe category first, then latest return) and how many match in all."""
    where, args = _where(f, now, retry_s)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute("SELECT count(*) FROM screening_people p LEFT JOIN household_files h "
                           f"ON h.household = p.household{clause}", args).fetchone()[0])
    rows = list(db.query(f"{_PEOPLE}{clause} ORDER BY {_RANK.format('p.category')}, p.return_date DESC, p.id "
                         "LIMIT ?", [*args, limit]))
    return rows, total


def worklist(db: CentralDB, f: Filters, *, now: float, retry_s: float = RETRY_S,
             limit: int = LIST_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """Who the phone round still has to reach: not quarantined, never reached (nor known gone or unreachable),
    and not called in the last ``retry_s`` seconds."""
    return people(db, replace(f, status="todo"), now=now, retry_s=retry_s, limit=limit)


def person(db: CentralDB, person_id: int) -> dict[str, Any] | None:
    """One person of the register with their grid, or None."""
    rows = list(db.query(f"{_PEOPLE} WHERE p.id = ?", [person_id]))
    return rows[0] if rows else None


def person_rows(db: CentralDB, person_id: int) -> list[dict[str, Any]]:
    """What each list said of the person, newest import first (with the list's kind and name)."""
    return list(db.query("SELECT r.*, s.kind AS source_kind, s.label AS source_label FROM screening_rows r "
                         "JOIN screening_sources s ON s.id = r.source_id WHERE r.person_id = ? "
                         "ORDER BY r.imported_at DESC, r.id DESC", [person_id]))


def calls(db: CentralDB, person_id: int) -> list[dict[str, Any]]:
    """The person's calls, newest first."""
    return list(db.query("SELECT * FROM screening_calls WHERE person_id = ? ORDER BY at DESC, id DESC",
                         [person_id]))


def sources(db: CentralDB) -> list[dict[str, Any]]:
    """Every list imported, newest first."""
    return list(db.query("SELECT * FROM screening_sources ORDER BY imported_at DESC, id DESC"))


def grids(db: CentralDB) -> list[str]:
    """The grids (网格) of the household files, for the filters."""
    return [str(r[0]) for r in db.execute("SELECT DISTINCT grid FROM household_files WHERE grid <> '' ORDER BY grid")]


def record_call(db: CentralDB, person_id: int, outcome: str, note: str, *, by: str, now: float) -> int:
    """Record a call of the phone round; the call's id."""
    if outcome not in OUTCOMES:
        raise ScreeningError("请选择通话结果 / choose the outcome of the call")
    note = " ".join(note.split())[:200]
    with db.transaction():
        if db.execute("UPDATE screening_people SET last_outcome = ?, last_call_at = ?, calls = calls + 1, "
                      "updated_at = ? WHERE id = ?", [outcome, now, now, person_id]).rowcount != 1:
            raise ScreeningError("登记表中没有此人 / no such person on the register")
        row = db.execute("INSERT INTO screening_calls (person_id, at, called_by, outcome, note) "
                         "VALUES (?, ?, ?, ?, ?) RETURNING id", [person_id, now, by, outcome, note]).fetchone()
    return int(row[0])


# -- one click: a quarantine -----------------------------------------------------------------------------


def preset_period(return_date: str, today: date, days: int = quarantine.DEFAULT_DAYS) -> tuple[date, date]:
    """The quarantine a person is offered: ``days`` days from their return date, or from ``today`` when they have
    none, it is after today, or that period would already be over; pure."""
    try:
        first = date.fromisoformat(return_date) if return_date else today
    except ValueError:
        first = today
    if first > today or quarantine.last_day_of(first, days) < today:
        first = today
    return first, quarantine.last_day_of(first, days)


def care_source(category: str) -> str:
    """The quarantine source (central.care) of a register category."""
    return {"close_contact": "close_contact", "secondary_contact": "close_contact",
            "returnee": "returnee"}.get(category, "other")


@dataclass(frozen=True)
class QuarantineOrder:
    """What staff chose: the household, whom (``scope``: ``person`` the matched member, ``new_member`` the person
    added to the household file first, ``household`` everyone of it) and the days (both included)."""

    household: str
    scope: str
    first_day: date
    last_day: date


def _subject(db: CentralDB, p: dict[str, Any], order: QuarantineOrder) -> int | None:
    """The member number the quarantine is for (None: the whole household)."""
    if order.scope == "household":
        return None
    if order.scope == "person" and p["household"] == order.household and p["person"] is not None:
        return int(p["person"])
    if order.scope in ("person", "new_member"):
        current = homes.members(db, order.household)
        same = next((m for m in current if m.phone == p["phone"]), None)
        if same is not None:
            return same.person
        number = max([m.person for m in current] + [0]) + 1
        homes.save_member(db, homes.Member(order.household, number, name=p["name"], phone=p["phone"],
                                           note="排查登记 / screening register"))
        return number
    raise ScreeningError("请选择隔离对象 / choose whom to quarantine")


def to_quarantine(db: CentralDB, person_id: int, order: QuarantineOrder, *, by: str, now: float) -> int:
    """Turn a person of the register into a home quarantine (``central.care.start_quarantine``, source from their
    category, with their origin city); the register row then shows it. The quarantine's id."""
    p = person(db, person_id)
    if p is None:
        raise ScreeningError("登记表中没有此人 / no such person on the register")
    household = order.household.strip()
    if not db.execute("SELECT 1 FROM household_files WHERE household = ?", [household]).fetchone():
        raise ScreeningError(f"没有这个住户档案：{household[:40]} / no such household file")
    if order.last_day < order.first_day:
        raise ScreeningError("结束日期早于开始日期 / the last day is before the first")
    with db.transaction():
        number = _subject(db, p, order)
        qid = care.start_quarantine(db, household=household, person=number, first_day=order.first_day,
                                  last_day=order.last_day, source=care_source(p["category"]),
                                  origin_city=p["origin_city"][:40], note=f"排查登记 #{person_id}", by=by)
        db.execute("UPDATE screening_people SET quarantine_id = ?, quarantine_first = ?, quarantine_last = ?, "
                   "household = ?, person = ?, updated_at = ? WHERE id = ?",
                   [qid, order.first_day.isoformat(), order.last_day.isoformat(), household, number, now,
                    person_id])
    return qid


# -- the household timeline and retention ------------------------------------------------------------


def timeline_events(db: CentralDB, household: str, since: float) -> list[TimelineEvent]:
    """Screening events of a household (:mod:`central.timeline`): each call about a member of it (kind
    ``screening_call_<outcome>``, an :data:`OUTCOMES` code) and each list's row that named them (``screening_row``,
    the list's name as summary). No names, phones or notes: the household page shows its member by number, masked
    for viewers, and links to the register's person page."""
    events: list[TimelineEvent] = []
    for r in db.query("SELECT c.at, c.outcome, c.called_by, p.id, p.person FROM screening_calls c "
                      "JOIN screening_people p ON p.id = c.person_id WHERE p.household = ? AND c.at >= ?",
                      [household, since]):
        events.append(TimelineEvent(at=r["at"], kind=f"screening_call_{r['outcome']}", summary=r["called_by"],
                                    person=r["person"], link=f"/screening/people/{r['id']}",
                                    detail={"outcome": r["outcome"]}))
    for r in db.query("SELECT r.imported_at, r.category, p.id, p.person, s.label FROM screening_rows r "
                      "JOIN screening_people p ON p.id = r.person_id JOIN screening_sources s ON s.id = r.source_id "
                      "WHERE p.household = ? AND r.imported_at >= ?", [household, since]):
        events.append(TimelineEvent(at=r["imported_at"], kind="screening_row", summary=r["label"],
                                    person=r["person"], link=f"/screening/people/{r['id']}",
                                    alert=r["category"] in ("close_contact", "secondary_contact"),
                                    detail={"category": r["category"]}))
    return events


def purge_before(db: CentralDB, cutoff: float | None) -> int:
    """Delete the people not updated (imported, called, quarantined) since ``cutoff`` (None: everyone), with their
    rows and calls, adding them to ``screening_tally`` (counts by category and last outcome); how many."""
    where, args = ("updated_at < ?", [cutoff]) if cutoff is not None else ("1 = 1", [])
    with db.transaction():
        counts = db.execute(f"SELECT category, last_outcome, count(*) FROM screening_people WHERE {where} "
                            "GROUP BY category, last_outcome", args).fetchall()
        for category, outcome, n in counts:
            db.execute("INSERT INTO screening_tally (category, outcome, people) VALUES (?, ?, ?) ON CONFLICT "
                       "(category, outcome) DO UPDATE SET people = screening_tally.people + excluded.people",
                       [category, outcome or "none", n])
        for table in ("screening_calls", "screening_rows"):
            db.execute(f"DELETE FROM {table} WHERE person_id IN (SELECT id FROM screening_people WHERE {where})",
                       args)
        return db.execute(f"DELETE FROM screening_people WHERE {where}", args).rowcount


def tally(db: CentralDB) -> list[dict[str, Any]]:
    """What retention kept of deleted people: counts by category and last outcome."""
    return list(db.query("SELECT * FROM screening_tally ORDER BY category, outcome"))


__all__ = ["CATEGORIES", "CLOSED", "Filters", "ImportResult", "OUTCOMES", "QuarantineOrder", "SOURCE_KINDS",
           "ScreenRow", "ScreeningError", "calls", "import_rows", "merge_by_phone", "people", "person",
           "person_rows", "preset_period", "purge_before", "record_call", "sources", "tally", "timeline_events",
           "to_quarantine", "worklist"]
