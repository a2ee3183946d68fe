"""The devices page's rows: the device registry (:func:`central.ingest.list_devices`) with every value a page
may compare or count made safe, whatever a gate's heartbeat stored (Infinity, NaN, text where numbers belong)."""

from __future__ import annotations

from typing import Any

from central import enrolment, ingest
from central.console import values
from central.store import CentralDB

SILENT_AFTER_S = 600.0  # a gate not heard of for longer is marked on the page


def device_rows(db: CentralDB, central_version: int | None, now: float, lists_max_age_s: float) -> list[dict]:
    """Every registered device with its alarms, ready for the devices page; ``enrolled`` tells the enrolment that
    created it and the devices it ``replaces`` or is ``replaced_by`` (:func:`central.enrolment.links`)."""
    links = enrolment.links(db)
    return [{**_safe(row, now), "enrolled": links.get(row["device_id"], {})}
            for row in ingest.list_devices(db, central_version, now, lists_max_age_s)]


def _safe(row: dict[str, Any], now: float) -> dict[str, Any]:
    seen = row.get("last_seen_at")
    seen_at = values.finite(seen)
    row["silent"] = seen is not None and (seen_at is None or now - seen_at > SILENT_AFTER_S)
    row["backlog"] = values.count(row.get("backlog"))
    if not isinstance(row.get("last_report"), dict):
        row["last_report"] = None
    if not isinstance(row.get("list_version"), int) or isinstance(row.get("list_version"), bool):
        row["list_version"], row["lists_behind"] = None, False
    if values.finite(row.get("behind_since")) is None:
        row["behind_since"] = None
    return row
