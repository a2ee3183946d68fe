"""Bulk issuance from a household register: the good rows are issued, bad ones reported by line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from central.passes.errors import PassAdminError
from central.passes.issuance import IssuedPass, issue
from central.passes.register import RegisterRow, read_register
from central.store import CentralDB

log = logging.getLogger(__name__)


@dataclass
class BulkReport:
    """What a bulk run did: passes issued, rows skipped (already hold a pass) and rows refused, by line."""

    issued: list[IssuedPass] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _current_pass(db: CentralDB, row: RegisterRow) -> int | None:
    found = db.execute("SELECT pass_id FROM passes WHERE household = ? AND person = ? AND kind = ? "
                       "AND revoked_at IS NULL AND valid_to > ? AND text IS NOT NULL ORDER BY pass_id DESC LIMIT 1",
                       [row.household, row.person, row.kind, time.time()]).fetchone()
    return found[0] if found else None


def issue_rows(db: CentralDB, data_dir: Path, rows: list[RegisterRow], *, default_days: float = 30,
               reissue: bool = False, on_row: Callable[[RegisterRow], None] | None = None,
               report: BulkReport | None = None) -> BulkReport:
    """Issue a pass per row; a person who already holds a valid pass of that kind is skipped unless ``reissue``."""
    report = report or BulkReport()
    for row in rows:
        try:
            existing = None if reissue else _current_pass(db, row)
            if existing is not None:
                report.skipped.append((row.line, f"{row.household} #{row.person} already holds valid pass "
                                                 f"{existing} (use --reissue to issue another)"))
            else:
                days = row.days if row.valid_to is None and row.days is not None else default_days
                report.issued.append(issue(db, data_dir, household=row.household, person=row.person,
                                           kind=row.kind, valid_from=row.valid_from, valid_to=row.valid_to,
                                           days=None if row.valid_to is not None else days, gates=row.gates,
                                           name=row.name))
        except PassAdminError as exc:
            report.errors.append((row.line, str(exc)))
        if on_row is not None:
            on_row(row)
    return report


def issue_register(db: CentralDB, data_dir: Path, path: Path, *, default_days: float = 30, reissue: bool = False,
                   tz: str = "Asia/Shanghai",
                   on_start: Callable[[int], None] | None = None,
                   on_row: Callable[[RegisterRow], None] | None = None) -> BulkReport:
    """Read the register at ``path`` and issue its good rows; ``on_start(n)``/``on_row`` drive a progress bar."""
    rows, errors = read_register(path, tz)
    report = BulkReport(errors=list(errors))
    if on_start is not None:
        on_start(len(rows))
    issue_rows(db, data_dir, rows, default_days=default_days, reissue=reissue, on_row=on_row, report=report)
    report.errors.sort()
    log.info("bulk issuance from %s: %d issued, %d skipped, %d refused", path, len(report.issued),
             len(report.skipped), len(report.errors))
    return report
