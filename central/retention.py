"""How long central keeps personal data, and the purge at the end of an outbreak.

What is personal at central, and its limit (``[retention]`` in ``central.toml``, :class:`RetentionSection`):

- **visitors' details** (name, phone, reason: the ``extra`` of ``visitor`` entries) are erased
  ``visitor_days`` (default 28) after the visitor's *last* entry (visitors are told apart by phone number; vehicles'
  plates and drivers, the ``extra`` of ``vehicle`` entries, likewise, :mod:`central.vehicles`), and so
  is their row in ``visitors`` (:mod:`central.visitors`) and the entries' link to it; **couriers' phones** on
  deliveries (:mod:`central.deliveries`) are erased ``visitor_days`` after the delivery;
- **who passed** (pass, household, person, visitor ref., guard, temperatures and notes of an entry) is erased from
  entries older than ``identity_days`` (default 180): what the daily reports count stays (time, gate, community,
  direction, decision, reason, event, fever flag), and so does the shift hand-over summary;
- **quarantine records** whose last day ended ``identity_days`` ago are deleted, and so are the **names on passes**
  expired or revoked that long ago (the gates never had the names);
- **home-quarantine care** (:mod:`central.care`: temperatures, needs, care notes) of quarantines over or released
  ``care_days`` (default 30) ago is reduced to counts (how many readings, fevers, needs); the care rows go with
  their quarantine record;
- **the screening register** (:mod:`central.screening`): a person not imported, called or quarantined for
  ``screening_days`` (default 28) is deleted with what each list said and their calls; counts by category and last
  call outcome stay (``screening_tally``);
- expired **console sessions** are deleted.

Kept: staff accounts, the audit log (who looked at what, from which address: the accountability record of the
console; it holds household numbers searched but no names), device data, and the pass change log the gates sync
from (household numbers and instants only).

:class:`RetentionJob` applies the limits in the central server, once per ``interval_h``, in one thread stopped
through an :class:`threading.Event`. :func:`purge_outbreak_end` (``gatepass central purge --outbreak-end``)
removes all of it at once, keeping the anonymous counts. Entry times are the gate's ``wall_ts`` (the device API
bounds it to central's clock); every purge that removed something is in the audit log.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from central import care, deliveries, screening, tabular, visitors
from central.console import audit
from central.db import transaction
from central.settings import RetentionSection
from central.store import CentralDB
from gatepass.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

DAY_S = 86400.0
BATCH = 500  # entries erased per statement batch
# who passed: everything of an entry that points at a person (the rest is what the reports count)
_IDENTITY_SET = ("pass_id = NULL, household = NULL, person = NULL, visitor_ref = NULL, visitor_key = NULL, "
                 "guard_id = NULL, "
                 "temp_c = NULL, temps = NULL, extra = CASE WHEN event = 'shift_end' THEN extra ELSE NULL END")
_HAS_IDENTITY = ("(pass_id IS NOT NULL OR household IS NOT NULL OR person IS NOT NULL OR visitor_ref IS NOT NULL "
                 "OR visitor_key IS NOT NULL "
                 "OR guard_id IS NOT NULL OR temp_c IS NOT NULL OR temps IS NOT NULL "
                 "OR (extra IS NOT NULL AND event <> 'shift_end'))")


@dataclass
class PurgeReport:
    """What one purge removed."""

    visitor_details: int = 0
    visitor_records: int = 0
    anonymised_entries: int = 0
    quarantine_records: int = 0
    pass_names: int = 0
    sessions: int = 0
    care_reduced: int = 0
    screening_people: int = 0
    courier_phones: int = 0  # deliveries whose courier's phone was erased (central.deliveries)
    uploads: int = 0  # uploaded spreadsheets kept between mapping and import, past their expiry (central.tabular)

    @property
    def total(self) -> int:
        """Everything removed."""
        return sum(asdict(self).values())

    def lines(self) -> list[str]:
        """What was removed, for staff (zh-CN / English)."""
        return [f"访客个人信息（姓名、电话、事由）已删除：{self.visitor_details} 条（含车辆的车牌和驾驶人）/ visitor "
                f"details erased: {self.visitor_details} entries (vehicles' plates and drivers included)",
                f"访客档案（姓名、电话）已删除：{self.visitor_records} 人 / visitors deleted: {self.visitor_records}",
                f"出入记录已匿名（只保留统计所需字段）：{self.anonymised_entries} 条 / entries made anonymous: "
                f"{self.anonymised_entries}",
                f"隔离记录已删除：{self.quarantine_records} 条 / quarantine records deleted: {self.quarantine_records}",
                f"通行证上的姓名已删除：{self.pass_names} 张 / names erased from passes: {self.pass_names}",
                f"过期的登录会话已删除：{self.sessions} 个 / expired sessions deleted: {self.sessions}",
                f"居家隔离健康记录已删除、只保留统计：{self.care_reduced} 条隔离 / quarantine care data reduced to "
                f"counts: {self.care_reduced}",
                f"排查登记人员已删除（只保留统计数）：{self.screening_people} 人 / screening register people deleted "
                f"(counts kept): {self.screening_people}",
                f"快递员电话已删除：{self.courier_phones} 条 / courier phones erased: {self.courier_phones}",
                f"过期未导入的上传表格已删除：{self.uploads} 个 / expired uploaded spreadsheets deleted: "
                f"{self.uploads}"]


def _visitor_key(extra: str | None, device_id: str, seq: int, key: str | None = None) -> str:
    """Who a visitor entry is about: their visitor key (:mod:`central.visitors`), else their phone number, else the
    entry itself."""
    if key:
        return f"key:{key}"
    try:
        data = json.loads(extra) if extra else None
    except ValueError:
        data = None
    phone = data.get("phone") if isinstance(data, dict) else None
    return f"phone:{phone}" if isinstance(phone, str) and phone.strip() else f"entry:{device_id}/{seq}"


VisitorRow = tuple[str, int, float, str | None] | tuple[str, int, float, str | None, str | None]


def expired_visitors(rows: list[VisitorRow], cutoff: float) -> list[tuple[str, int]]:
    """Of visitor entries ``(device_id, seq, wall_ts, extra[, visitor_key])``, those of visitors whose last entry is
    before ``cutoff`` (a pure rule)."""
    last: dict[str, float] = {}
    keys = []
    for device_id, seq, wall_ts, extra, *linked in rows:
        key = _visitor_key(extra, device_id, seq, linked[0] if linked else None)
        keys.append(key)
        last[key] = max(last.get(key, float("-inf")), float(wall_ts))
    return [(r[0], r[1]) for r, key in zip(rows, keys, strict=True) if last[key] < cutoff]


def _erase_visitor_details(db: CentralDB, cutoff: float | None) -> int:
    """Erase the details of visitors last seen before ``cutoff`` (None: of every visitor)."""
    rows: list[VisitorRow] = [(str(r[0]), int(r[1]), float(r[2]), r[3], r[4]) for r in db.execute(
        "SELECT device_id, seq, wall_ts, extra, visitor_key FROM entries "
        "WHERE event IN ('visitor', 'vehicle') AND extra IS NOT NULL")]  # vehicles: plate and driver, like visitors
    targets = [(r[0], r[1]) for r in rows] if cutoff is None else expired_visitors(rows, cutoff)
    for start in range(0, len(targets), BATCH):
        with transaction(db):
            for device_id, seq in targets[start:start + BATCH]:
                db.execute("UPDATE entries SET extra = NULL, visitor_key = NULL WHERE device_id = ? AND seq = ?",
                           [device_id, seq])
    return len(targets)


def _anonymise_entries(db: CentralDB, cutoff: float | None) -> int:
    """Erase who passed from entries before ``cutoff`` (None: from every entry)."""
    where, args = (f"wall_ts < ? AND {_HAS_IDENTITY}", [cutoff]) if cutoff is not None else (_HAS_IDENTITY, [])
    with transaction(db):
        return db.execute(f"UPDATE entries SET {_IDENTITY_SET} WHERE {where}", args).rowcount


def _drop_old_records(db: CentralDB, cutoff: float, everything: bool = False) -> tuple[int, int]:
    """Delete quarantine records ended before ``cutoff`` and erase the names of passes expired or revoked before
    it (``everything``: every record over or released by ``cutoff``, every pass name)."""
    with transaction(db):
        if everything:
            care.forget_quarantines(db, [int(r[0]) for r in db.execute(
                "SELECT id FROM quarantines WHERE status = 'released' OR end_ts <= ?", [cutoff])])
            quarantines = db.execute("DELETE FROM quarantines WHERE status = 'released' OR end_ts <= ?",
                                     [cutoff]).rowcount
            names = db.execute("UPDATE passes SET name = '' WHERE name <> ''").rowcount
        else:
            care.forget_quarantines(db, [int(r[0]) for r in db.execute(
                "SELECT id FROM quarantines WHERE end_ts < ?", [cutoff])])
            quarantines = db.execute("DELETE FROM quarantines WHERE end_ts < ?", [cutoff]).rowcount
            names = db.execute("UPDATE passes SET name = '' WHERE name <> '' AND (valid_to < ? OR revoked_at < ?)",
                               [cutoff, cutoff]).rowcount
    return quarantines, names


def purge_expired(db: CentralDB, limits: RetentionSection, now: float) -> PurgeReport:
    """Apply the retention limits at ``now``; audited when something was removed."""
    visitor_cutoff = now - limits.visitor_days * DAY_S
    report = PurgeReport(visitor_details=_erase_visitor_details(db, visitor_cutoff))
    with transaction(db):
        report.visitor_records = visitors.erase_before(db, visitor_cutoff)
        report.courier_phones = deliveries.erase_courier_phones(db, visitor_cutoff)  # kept like visitors' phones
    report.care_reduced = care.reduce_before(db, now - limits.care_days * DAY_S)
    identity_cutoff = now - limits.identity_days * DAY_S
    report.anonymised_entries = _anonymise_entries(db, identity_cutoff)
    report.quarantine_records, report.pass_names = _drop_old_records(db, identity_cutoff)
    report.sessions = db.execute("DELETE FROM staff_sessions WHERE expires_at < ?", [now]).rowcount
    report.screening_people = screening.purge_before(db, now - limits.screening_days * DAY_S)
    report.uploads = tabular.purge_uploads(db, now)  # names and phones of a roster nobody imported
    if report.total:
        audit.record(db, "system", "system", "retention_purge", "", **asdict(report))
        log.info("retention: %s", asdict(report))
    return report


def active_quarantines(db: CentralDB, now: float) -> int:
    """Quarantine records still holding at ``now`` (the outbreak-end purge keeps them: release them first)."""
    return int(db.execute("SELECT count(*) FROM quarantines WHERE status = 'active' AND end_ts > ?",
                          [now]).fetchone()[0])


def purge_outbreak_end(db: CentralDB, by: str, now: float) -> PurgeReport:
    """Remove every piece of personal data listed in this module's doc at once (the outbreak is over): visitor
    details, who passed, quarantine records that are over or released, pass names. Reports keep their counts.
    Audited as ``by``."""
    report = PurgeReport(visitor_details=_erase_visitor_details(db, None))
    with transaction(db):
        report.visitor_records = visitors.erase_before(db, None)
        report.courier_phones = deliveries.erase_courier_phones(db, None)
    report.care_reduced = care.reduce_before(db, now)
    report.anonymised_entries = _anonymise_entries(db, None)
    report.quarantine_records, report.pass_names = _drop_old_records(db, now, everything=True)
    report.screening_people = screening.purge_before(db, None)
    audit.record(db, by, "cli", "outbreak_purge", "", **asdict(report))
    log.warning("outbreak-end purge by %s: %s", by, asdict(report))
    return report


class RetentionJob:
    """Applies the retention limits every ``interval_h`` in its own thread, with its own connection."""

    def __init__(self, connect: Callable[[], CentralDB], limits: RetentionSection, *, clock: Clock = SYSTEM,
                 stop: threading.Event | None = None) -> None:
        self.connect, self.limits, self.clock = connect, limits, clock
        self.stop_event = stop or threading.Event()
        self.runs = 0
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Purge now, then every interval, until the stop event is set (errors are logged, the loop goes on)."""
        db = self.connect()
        try:
            while not self.stop_event.is_set():
                try:
                    purge_expired(db, self.limits, self.clock.time())
                except Exception:  # noqa: BLE001 - a failed run (database busy, server restarting) waits for the next
                    log.exception("retention run failed; trying again in %.1f h", self.limits.interval_h)
                self.runs += 1
                self.stop_event.wait(self.limits.interval_h * 3600)
        finally:
            db.close()

    def start(self) -> RetentionJob:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="retention", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and wait for its thread."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
