"""Vehicles at central: the ledger of the gates' vehicle lanes, and their drivers as people to call.

A gate's vehicle record (:mod:`edge.vehicle_book`) reaches central as a ``vehicle`` entry: its plate, purpose and
driver (``driver_kind`` resident | visitor | person, ``driver_name``, ``driver_phone``, a ``note``) in the JSON
``extra``; a resident driver's pass, household and person, or a visitor driver's reference and host household, in
the entry's own columns. Its exit is a ``vehicle_exit`` information entry whose ``ref_uuid`` is the vehicle's entry.

On the way in (:func:`link_uploaded`, called by :func:`central.ingest.ingest` in its transaction) a driver with a
phone is linked like a visitor (:mod:`central.visitors`): the entry's ``visitor_key`` is the HMAC of the phone and the
``visitors`` row holds the name and phone of their latest entry. So contact tracing groups a driver with their
visits on foot into one person to call, by name and phone, and a trace by phone finds their passages by car; and
retention (:mod:`central.retention`) erases a driver's details with the visitors' (``visitor_days``, default 28).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from central import visitors
from central.store import CentralDB
from sync.plates import normalise

log = logging.getLogger(__name__)

EVENT = "vehicle"
EXIT_EVENT = "vehicle_exit"
LEDGER_LIMIT = 5000  # vehicles one ledger query returns at most
SCAN_LIMIT = 50_000  # vehicle entries one ledger query reads at most (texts are matched in Python)
#: The purposes of :data:`edge.vehicle_fields.PURPOSES` (central does not import the gate): zh-CN, English.
PURPOSES = {"resident": ("业主车辆", "Resident's car"), "delivery": ("配送", "Delivery"),
            "medical": ("医疗/急救", "Medical / ambulance"), "works": ("工程", "Works"), "other": ("其他", "Other")}
DRIVER_KINDS = {"resident": ("住户", "Resident"), "visitor": ("访客", "Visitor"), "person": ("登记人员", "Registered")}


def details(extra: str | None) -> dict[str, str]:
    """The vehicle form's text fields of a ``vehicle`` entry's ``extra`` (anything else dropped)."""
    return visitors.visit_details(extra)


def link_uploaded(db: CentralDB, uuids: Iterable[str]) -> int:
    """Link the vehicle entries among ``uuids`` whose driver has a phone to that person (``visitors``, keyed by the
    phone's HMAC); the number linked."""
    wanted = list(uuids)
    if not wanted:
        return 0
    key_secret = visitors.secret(db)
    touched: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT uuid, wall_ts, extra FROM entries WHERE uuid IN ({marks}) AND event = ? "
                          "AND visitor_key IS NULL AND extra IS NOT NULL", [*chunk, EVENT]).fetchall()
        for uuid, wall_ts, extra in rows:
            found = details(extra)
            phone = found.get("driver_phone", "").strip()
            if not phone:
                continue
            key = visitors.visitor_key(key_secret, phone)
            _upsert(db, key, found.get("driver_name", "").strip()[:100],
                    visitors.normalise_phone(phone) or phone[:40], float(wall_ts))
            db.execute("UPDATE entries SET visitor_key = ? WHERE uuid = ?", [key, uuid])
            touched.add(key)
    return len(touched)


def _upsert(db: CentralDB, key: str, name: str, phone: str, wall_ts: float) -> None:
    """The driver as a person to call: created, or their name and phone taken when this entry is their latest (a
    driver whose name was not given keeps the one known)."""
    db.execute("INSERT INTO visitors (visitor_key, name, phone, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (visitor_key) DO UPDATE SET "
               "name = CASE WHEN excluded.last_seen >= visitors.last_seen AND excluded.name <> '' "
               "THEN excluded.name ELSE visitors.name END, "
               "phone = CASE WHEN excluded.last_seen >= visitors.last_seen THEN excluded.phone "
               "ELSE visitors.phone END, "
               "first_seen = CASE WHEN excluded.first_seen < visitors.first_seen THEN excluded.first_seen "
               "ELSE visitors.first_seen END, "
               "last_seen = CASE WHEN excluded.last_seen > visitors.last_seen THEN excluded.last_seen "
               "ELSE visitors.last_seen END",
               [key, name, phone, wall_ts, wall_ts])


@dataclass(frozen=True)
class LedgerQuery:
    """What the ledger shows: vehicles between ``since`` and ``until`` (unix s) matching the optional texts."""

    since: float
    until: float
    plate: str | None = None
    name: str | None = None
    phone: str | None = None
    household: str | None = None
    inside_only: bool = False


def _matches(r: dict[str, Any], q: LedgerQuery) -> bool:
    """Whether a ledger row matches the query's texts (plate and name anywhere, phone by its digits)."""
    if q.plate and normalise(q.plate) not in r["plate"]:
        return False
    if q.name and q.name.strip() not in (r["driver_name"] or ""):
        return False
    if q.phone:
        digits = "".join(ch for ch in q.phone if ch.isdigit())
        normal = visitors.normalise_phone(q.phone)
        if not digits or (digits not in (r["driver_phone"] or "") and normal != r["driver_phone"]):
            return False
    return not (q.inside_only and (r["decision"] != "pass" or r["out_ts"] is not None))


def ledger(db: CentralDB, q: LedgerQuery, limit: int = LEDGER_LIMIT) -> list[dict[str, Any]]:
    """Vehicles matching ``q``, newest first: time in and out (None: no exit recorded), gate (its name), plate,
    purpose, driver (kind, name, phone; a resident driver's pass and household), decision and the refusal's words."""
    where, args = ["e.event = ?", "e.wall_ts >= ?", "e.wall_ts < ?"], [EVENT, q.since, q.until]
    if q.household:
        where.append("e.household = ?")
        args.append(q.household.strip())
    out_ts = f"(SELECT MIN(x.wall_ts) FROM entries x WHERE x.ref_uuid = e.uuid AND x.event = '{EXIT_EVENT}')"
    rows = db.query(
        f"SELECT e.uuid, e.wall_ts, e.gate_id, e.community, e.household, e.pass_id, e.person, e.decision, e.reason, "
        f"e.guard_id, e.extra, e.visitor_key, v.name AS known_name, v.phone AS known_phone, {out_ts} AS out_ts "
        f"FROM entries e LEFT JOIN visitors v ON v.visitor_key = e.visitor_key WHERE {' AND '.join(where)} "
        "ORDER BY e.wall_ts DESC LIMIT ?", [*args, SCAN_LIMIT])
    names = visitors.gate_names(db)
    out = []
    for r in rows:
        found = details(r.pop("extra"))
        known_name, known_phone = r.pop("known_name"), r.pop("known_phone")
        r.update(plate=found.get("plate", ""), purpose=found.get("purpose", ""), note=found.get("note", ""),
                 driver_kind=found.get("driver_kind", ""),
                 driver_name=found.get("driver_name") or known_name or "",
                 driver_phone=visitors.normalise_phone(found.get("driver_phone", "")) or known_phone or "",
                 gate_name=names.get(r["gate_id"]) or r["gate_id"])
        if _matches(r, q):
            out.append(r)
            if len(out) >= limit:
                break
    return out


def purpose_name(key: str, lang: str = "zh") -> str:
    """The purpose's name in ``lang`` (the key itself when unknown)."""
    names = PURPOSES.get(key)
    return names[1 if lang == "en" else 0] if names else key


def driver_kind_name(key: str, lang: str = "zh") -> str:
    """The driver's kind in ``lang`` (the key itself when unknown)."""
    names = DRIVER_KINDS.get(key)
    return names[1 if lang == "en" else 0] if names else key


def plates(db: CentralDB, uuids: Iterable[str]) -> dict[str, str]:
    """The plates of the vehicle entries among ``uuids`` (those whose details are still held), by uuid."""
    wanted = sorted(set(uuids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for uuid, extra in db.execute(f"SELECT uuid, extra FROM entries WHERE uuid IN ({marks}) AND event = ?",
                                      [*chunk, EVENT]):
            plate = details(extra).get("plate")
            if plate:
                found[str(uuid)] = plate
    return found
