"""Contact tracing: where a pass, household or visitor passed, and who passed the same gate nearby in time.

Passages are entries of the subject that were not refused within the window (``decision`` neither ``refuse``
nor ``info``: a record such as a shift hand-over is no passage).
Contacts are other people's non-refused entries at the same gate within plus/minus ``minutes`` of each
passage (index ``(gate_id, wall_ts)``). A contact seen near several passages appears once per passage.
:attr:`Trace.people` groups the contacts into one row per person to call (a visitor by their phone,
:mod:`central.visitors`, with name and phone; a resident by pass and person), their passages under them; a visitor
can also be traced by phone (``visitor_phone``).
Times are ``wall_ts``: central's best date of each entry (a row stamped on a gate's untrusted clock is re-dated in
place once a trusted time of its boot arrives, :mod:`central.redating`; the gate's own stamp is in ``corrections``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from central import vehicles, visitors
from central.console import entries, exports
from central.console.errors import ConsoleError
from central.console.exports import DECIMAL, TIME, Column
from central.store import CentralDB

SUBJECT_KINDS = ("pass_id", "household", "visitor_ref", "visitor_phone")
MAX_PASSAGES = 2000
MAX_CONTACTS = 50_000
MAX_MINUTES = 24 * 60

PASSAGE_COLUMNS = ("wall_ts", "community", "gate_id", "direction", "event", "pass_id", "household", "person",
                   "visitor_ref", "temp_c", "fever", "uuid")
CONTACT_COLUMNS = ("passage_ts", "gate_id", "wall_ts", "delta_min", "direction", "pass_id", "household", "person",
                   "pass_kind", "visitor_ref", "temp_c", "fever", "uuid")


# Export columns (conventions of :mod:`central.console.exports`): the XLSX has a sheet of the subject's passages and
# a sheet of the contacts; the CSV is one table, a "类别" column telling the subject's passages (delta 0) from the
# contacts.
_W = exports.Words
PASSAGE_EXPORT: exports.Spec = (
    ("wall_ts", Column("时间", "Time", TIME), None),
    ("community", Column("社区", "Community"), None),
    ("gate_id", Column("门岗", "Gate", width=14), _W.gate),
    ("gate_id", Column("门岗编号", "Gate id"), None),
    ("direction", Column("方向", "Direction", width=6), _W.direction),
    ("event", Column("事件", "Event", width=10), _W.event),
    ("pass_id", Column("通行证号", "Pass no."), None),
    ("household", Column("户号", "Household"), None),
    ("person", Column("人员", "Person", width=6), None),
    ("visitor_name", Column("访客姓名", "Visitor name", width=10), None),
    ("visitor_ref", Column("访客编号", "Visitor ref."), None),
    ("temp_c", Column("体温(℃)", "Temp. (°C)", DECIMAL), None),
    ("fever", Column("发热", "Fever", width=6), _W.fever),
    ("uuid", Column("记录编号", "Record id", width=38), None),
)
CONTACT_EXPORT: exports.Spec = (
    ("passage_ts", Column("对象通行时间", "Subject passed at", TIME), None),
    ("gate_id", Column("门岗", "Gate", width=14), _W.gate),
    ("gate_id", Column("门岗编号", "Gate id"), None),
    ("wall_ts", Column("时间", "Time", TIME), None),
    ("delta_min", Column("相差(分钟)", "Δ min", DECIMAL), None),
    ("direction", Column("方向", "Direction", width=6), _W.direction),
    ("pass_id", Column("通行证号", "Pass no."), None),
    ("household", Column("户号", "Household"), None),
    ("person", Column("人员", "Person", width=6), None),
    ("pass_kind", Column("通行证类型", "Pass kind"), _W.pass_kind),
    ("visitor_name", Column("访客姓名", "Visitor name", width=10), None),
    ("visitor_ref", Column("访客编号", "Visitor ref."), None),
    ("temp_c", Column("体温(℃)", "Temp. (°C)", DECIMAL), None),
    ("fever", Column("发热", "Fever", width=6), _W.fever),
    ("uuid", Column("记录编号", "Record id", width=38), None),
)
SECTION = Column("类别", "Section", width=14)
SECTIONS = {"passage": ("本人通行", "subject passage"), "contact": ("同门岗前后通行", "contact")}
SHEETS = {"passage": ("通行记录", "Passages"), "contact": ("同门岗前后通行人员", "Others at the same gate")}
KIND_NAMES = {"pass_id": ("通行证号", "pass no."), "household": ("户号", "household"),
              "visitor_ref": ("访客编号", "visitor ref.")}


@dataclass
class Trace:
    """The result of one trace."""

    kind: str
    value: str
    since: float
    until: float
    minutes: int
    passages: list[dict]
    contacts: list[dict]
    truncated: bool
    people: list[dict] = field(default_factory=list)  # the contacts, one per person (:func:`group_people`)


def trace(db: CentralDB, kind: str, value: str, since: float, until: float, minutes: int) -> Trace:
    """Trace ``kind`` (pass_id | household | visitor_ref | visitor_phone) = ``value`` between ``since`` and
    ``until``."""
    if kind not in SUBJECT_KINDS:
        raise ConsoleError(f"cannot trace by {kind!r}", f"use one of {', '.join(SUBJECT_KINDS)}")
    value = (value or "").strip()
    if not value:
        raise ConsoleError("nothing to trace", "enter a pass number, household or visitor reference")
    if until <= since:
        raise ConsoleError("the end of the time window is before its start")
    if not 0 <= minutes <= MAX_MINUTES:
        raise ConsoleError("the time margin must be 0-1440 minutes")
    kind, match = ("visitor_key", visitors.visitor_key(visitors.secret(db), value)) if kind == "visitor_phone" \
        else (kind, value)
    passages = list(db.query(
        f"SELECT {', '.join(PASSAGE_COLUMNS)} FROM entries WHERE {kind} = ? AND wall_ts >= ? AND wall_ts < ? "
        "AND decision NOT IN ('refuse', 'info') ORDER BY wall_ts LIMIT ?", [match, since, until, MAX_PASSAGES + 1]))
    truncated = len(passages) > MAX_PASSAGES
    passages = passages[:MAX_PASSAGES]
    contacts, cut = _contacts(db, passages, kind, match, minutes * 60.0)
    entries.with_visitor_names(db, passages + contacts, True)  # tracing is for staff: names in full
    kind = "visitor_phone" if kind == "visitor_key" else kind
    return Trace(kind, value, since, until, minutes, passages, contacts, truncated or cut,
                 group_people(db, contacts))


def _contacts(db: CentralDB, passages: list[dict], column: str, match: str,
              margin: float) -> tuple[list[dict], bool]:
    """Other people's passages at the same gate within ``margin`` seconds of each passage; whether cut short at
    :data:`MAX_CONTACTS`."""
    contacts: list[dict] = []
    for p in passages:
        rows = db.query(
            "SELECT wall_ts, direction, pass_id, household, person, pass_kind, visitor_ref, temp_c, fever, uuid, "
            "visitor_key, event FROM entries WHERE gate_id = ? AND wall_ts >= ? AND wall_ts <= ? "
            f"AND decision NOT IN ('refuse', 'info') AND uuid != ? AND ({column} IS NULL OR {column} != ?) "
            "ORDER BY wall_ts", [p["gate_id"], p["wall_ts"] - margin, p["wall_ts"] + margin, p["uuid"], match])
        for r in rows:
            r["passage_ts"] = p["wall_ts"]
            r["gate_id"] = p["gate_id"]
            r["delta_min"] = round((r["wall_ts"] - p["wall_ts"]) / 60.0, 1)
            contacts.append(r)
            if len(contacts) > MAX_CONTACTS:
                return contacts[:MAX_CONTACTS], True
    return contacts, False


def _person_of(c: dict) -> tuple[Any, ...] | None:
    """Who a contact is: a visitor (by key, else reference), a pass holder, or a household member."""
    if c.get("visitor_key"):
        return ("visitor", c["visitor_key"])
    if c.get("pass_id"):
        return ("pass", c["pass_id"], c.get("person"))
    if c.get("visitor_ref"):
        return ("visitor_ref", c["visitor_ref"])
    if c.get("household"):
        return ("household", c["household"], c.get("person"))
    return None


def group_people(db: CentralDB, contacts: list[dict]) -> list[dict]:
    """The contacts as people to call, closest in time first: ``kind`` (visitor | pass | visitor_ref | household),
    visitor's ``name`` and ``phone``, ``pass_id``, ``household``, ``person``, and their ``passages`` (the contact
    rows, oldest first, each with the ``gate_name`` people know the gate by)."""
    groups: dict[tuple[Any, ...], list[dict]] = {}
    for c in contacts:
        key = _person_of(c)
        if key is not None:
            groups.setdefault(key, []).append(c)
    known = visitors.people(db, [k[1] for k in groups if k[0] == "visitor"])
    names = visitors.gate_names(db)
    plates = vehicles.plates(db, [c["uuid"] for c in contacts if c.get("event") == vehicles.EVENT])
    out = []
    for key, rows in groups.items():
        rows = sorted(rows, key=lambda r: r["wall_ts"])
        for r in rows:
            r["gate_name"] = names.get(r["gate_id"]) or r["gate_id"]
            r["plate"] = plates.get(r["uuid"], "")  # a vehicle's passage: its plate (the driver is the person)
        who = known.get(key[1], {}) if key[0] == "visitor" else {}
        drives_only = key[0] == "visitor" and all(r.get("event") == vehicles.EVENT for r in rows)
        out.append({"kind": "driver" if drives_only else key[0],
                    "name": who.get("name") or rows[-1].get("visitor_name", ""),
                    "phone": who.get("phone", ""),
                    "pass_id": rows[0].get("pass_id"), "household": rows[-1].get("household"),
                    "person": rows[0].get("person"), "visitor_ref": rows[-1].get("visitor_ref"), "passages": rows,
                    "closest_min": min(abs(r["delta_min"]) for r in rows)})
    return sorted(out, key=lambda p: (p["closest_min"], p["passages"][0]["wall_ts"]))


def title(result: Trace, lang: str, fmt_day: Callable[[float], str]) -> str:
    """"密接追踪 通行证号 101 2026-11-20 – 2026-11-21" (in ``lang``)."""
    idx = 1 if lang == "en" else 0
    head = ("密接追踪", "Contact trace")[idx]
    return f"{head} {KIND_NAMES[result.kind][idx]} {result.value} {fmt_day(result.since)} – {fmt_day(result.until)}"


def tables(result: Trace, words: exports.Words, heading: str) -> list[exports.Table]:
    """The XLSX sheets: the subject's passages and the contacts."""
    idx = 1 if words.lang == "en" else 0
    passages = [exports.spec_row(PASSAGE_EXPORT, p, words) for p in result.passages]
    contacts = [exports.spec_row(CONTACT_EXPORT, c, words) for c in result.contacts]
    return [exports.Table(SHEETS["passage"][idx], heading, exports.spec_columns(PASSAGE_EXPORT), passages),
            exports.Table(SHEETS["contact"][idx], heading, exports.spec_columns(CONTACT_EXPORT), contacts)]


def csv_table(result: Trace, words: exports.Words, heading: str) -> exports.Table:
    """The CSV export: one table, the subject's passages (section "本人通行", delta 0) then the contacts."""
    idx = 1 if words.lang == "en" else 0

    def row(section: str, rec: dict) -> tuple:
        return (SECTIONS[section][idx], *exports.spec_row(CONTACT_EXPORT, rec, words))

    out = [row("passage", {**p, "passage_ts": p["wall_ts"], "delta_min": 0.0}) for p in result.passages]
    out += [row("contact", c) for c in result.contacts]
    return exports.Table(SHEETS["passage"][idx], heading, [SECTION, *exports.spec_columns(CONTACT_EXPORT)], out)
