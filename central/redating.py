"""Dating a gate's entries by the best time central knows: pure rules, and the pass that applies them.

A gate without a battery clock may stamp entries while its clock is not trusted (``clock_trusted = 0``: 1970 after
a power cut, or an hour behind before NTP). Every row carries its ``boot_id`` and ``mono_ts`` (the gate's
``CLOCK_MONOTONIC``, which never jumps within one boot). Once central learns one *trusted* time of the same boot
together with its monotonic time (an uploaded row with ``clock_trusted = 1``, or a report's ``trusted_now`` at
``mono_now``), every untrusted row of that boot can be dated exactly::

    corrected = trusted_wall - (trusted_mono - row_mono)                      (:func:`redated`)

Central re-dates in place: ``wall_ts`` (what tracing, reports and exports read) becomes the corrected time, the
gate's original stamp is kept in ``corrections`` (``{"wall_ts": <original>}``), ``time_suspect`` is cleared and
``time_source`` says how the time was obtained (:data:`TIME_SOURCES`):

* ``gate_trusted``: the gate's own trusted estimate (central's signed time carried on its monotonic clock, or NTP);
* ``corrected_by_anchor``: re-dated by a trusted time of the same boot (this module);
* ``central_receive``: the stamp was absurd and central put its receive-time estimate (:mod:`central.intake`);
* ``untrusted``: the gate's untrusted stamp, kept as it is until an anchor of its boot arrives.

The latest trusted point of each (device, boot) is kept in ``boot_anchors`` so rows that arrive later (another
batch, a re-send) are re-dated too. Re-dating is idempotent: a row once corrected is never touched again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from central.intake import plausible_time
from central.store import CentralDB

log = logging.getLogger(__name__)

GATE_TRUSTED = "gate_trusted"
CORRECTED_BY_ANCHOR = "corrected_by_anchor"
CENTRAL_RECEIVE = "central_receive"
UNTRUSTED = "untrusted"
TIME_SOURCES = (GATE_TRUSTED, CORRECTED_BY_ANCHOR, CENTRAL_RECEIVE, UNTRUSTED)
#: Rows still waiting for a trusted time of their boot.
UNDATED = (UNTRUSTED, CENTRAL_RECEIVE)


@dataclass(frozen=True)
class TrustedPoint:
    """A trusted wall time ``wall`` (unix s) of boot ``boot_id``, at the gate's monotonic time ``mono`` (s)."""

    boot_id: str
    wall: float
    mono: float


def redated(row_mono: float, point: TrustedPoint) -> float:
    """The time of a row stamped at monotonic ``row_mono`` in ``point``'s boot."""
    return point.wall - (point.mono - row_mono)


def time_source(clock_trusted: int, time_suspect: int) -> str:
    """How an incoming row's ``wall_ts`` was obtained, once :mod:`central.intake` screened it."""
    if time_suspect:
        return CENTRAL_RECEIVE
    return GATE_TRUSTED if clock_trusted else UNTRUSTED


def latest_points(points: Iterable[TrustedPoint]) -> dict[str, TrustedPoint]:
    """Per boot, the point with the greatest monotonic time (the freshest trusted time of that boot)."""
    out: dict[str, TrustedPoint] = {}
    for p in points:
        if p.boot_id not in out or p.mono > out[p.boot_id].mono:
            out[p.boot_id] = p
    return out


def corrected_row(row: dict[str, Any], point: TrustedPoint, now: float) -> dict[str, Any] | None:
    """``row`` (``wall_ts``, ``mono_ts``, ``corrections``, ``time_suspect``, ``time_source``) re-dated by
    ``point``, or None when it is not to be changed: another boot, already dated, or a corrected time that is not
    plausible (central's clock ``now``; see :func:`central.intake.plausible_time`)."""
    if row.get("boot_id") != point.boot_id or row.get("time_source") not in UNDATED:
        return None
    t = redated(float(row["mono_ts"]), point)
    if not plausible_time(t, now):
        return None
    kept = json.loads(row["corrections"]) if row.get("corrections") else {}
    kept.setdefault("wall_ts", row["wall_ts"])  # the gate's own stamp: intake may have replaced it already
    return {**row, "wall_ts": t, "time_suspect": 0, "time_source": CORRECTED_BY_ANCHOR,
            "corrections": json.dumps(kept, ensure_ascii=True, sort_keys=True, allow_nan=False)}


# -- applying it (inside the ingest's transaction) -------------------------------------------------------------


def note_points(db: CentralDB, device_id: str, points: Iterable[TrustedPoint]) -> None:
    """Keep the freshest trusted point of each boot of ``device_id`` (``boot_anchors``)."""
    for p in latest_points(points).values():
        db.execute("INSERT INTO boot_anchors (device_id, boot_id, wall, mono) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (device_id, boot_id) DO UPDATE SET wall = excluded.wall, mono = excluded.mono "
                   "WHERE excluded.mono > boot_anchors.mono", [device_id, p.boot_id, p.wall, p.mono])


def redate_device(db: CentralDB, device_id: str, now: float) -> int:
    """Re-date every undated row of ``device_id`` whose boot has a trusted point; returns how many changed."""
    # the states written out, not bound: only then may the engine use the partial index entries_undated (a bound
    # list made this scan all of the device's entries on every upload)
    marks = ", ".join(f"'{s}'" for s in UNDATED)
    boots = [b for (b,) in db.execute(f"SELECT DISTINCT boot_id FROM entries WHERE device_id = ? "
                                      f"AND time_source IN ({marks})", [device_id]).fetchall()]
    changed = 0
    for boot in boots:
        found = db.execute("SELECT wall, mono FROM boot_anchors WHERE device_id = ? AND boot_id = ?",
                           [device_id, boot]).fetchone()
        if found is None:
            continue
        point = TrustedPoint(boot, float(found[0]), float(found[1]))
        cur = db.execute(f"SELECT seq, boot_id, wall_ts, mono_ts, corrections, time_suspect, time_source "
                         f"FROM entries WHERE device_id = ? AND boot_id = ? AND time_source IN ({marks})",
                         [device_id, boot])
        cols = [d[0] for d in cur.description]
        for values in cur.fetchall():
            new = corrected_row(dict(zip(cols, values, strict=True)), point, now)
            if new is None:
                continue
            db.execute("UPDATE entries SET wall_ts = ?, time_suspect = 0, time_source = ?, corrections = ? "
                       "WHERE device_id = ? AND seq = ?",
                       [new["wall_ts"], new["time_source"], new["corrections"], device_id, new["seq"]])
            changed += 1
    if changed:
        log.info("device %s: %d entries stamped on an untrusted clock re-dated by a trusted time of their boot "
                 "(originals kept in entries.corrections)", device_id, changed)
    return changed
