"""Making central whole again with a gate: after central is restored from an older backup, and after a gate's
local log restarted its numbering (a new SD card). Used by :func:`central.ingest.ingest` inside its transaction.

**After a central restore.** Every upload and heartbeat report says how far the gate's log goes (``last_seq``) and
the first entry it still has pending (``pending_min_seq``). Every seq below that has been acknowledged by *some*
central, so each one central does not hold now is lost at central (a restore from a backup older than the
acknowledgement) or on the gate. Central opens a gap alarm for it (``seq_gaps``) and asks for it in the reply's
``open_gaps`` (seq ranges in the gate's numbering); the gate marks what it still retains as not yet sent
(:meth:`sync.locallog.LocalLog.resend`) and uploads it again in its ordinary batches. Intake is idempotent by the
entry's ``uuid``: a row central already holds is never stored twice nor changed (an entry a gate re-sends after it
erased the visitor's personal details, ``extra`` NULL, leaves central's stored details as they are; if central had
lost that entry, it gets it back without those details: the ``extra_hash`` still proves there were some).

What the gate no longer retains (purged after its retention period, or lost on the gate) cannot come back. A gate
reports the first seq it still retains (report ``retained_from_seq``, :func:`ask_ranges`): central does not ask for
anything below it, and the gap alarm for it stays open: the console shows those entries as lost. A gate that does
not report it (older software) is asked again with each reply; it answers by resending nothing, which costs nothing.

**After a gate's log restarted** (a new SD card with the old token, a database rebuilt without its entries): the
gate numbers its entries from 1 again, so central holds *other* entries (other uuids) under the numbers it uploads.
The rule (:func:`numbering`): when an uploaded entry's number is held by central under another uuid and its own
uuid is unknown at central for this device, the gate's log restarted. Central does not refuse it (that blocked the
gate until someone stepped in): the new log is filed *after* everything central holds for the device. Central keeps
``devices.seq_offset`` = the highest seq it held then, stores the gate's seq ``s`` as ``s + seq_offset`` and
answers in the gate's numbering; the old log's entries stay as they were (its open gap alarms stay open: those
entries went with the old card). Entries below the first clashing one that central already holds by uuid (an old
SD image put back) count as held, and any entry of the current log central holds under an earlier numbering
(sent before central noticed the restart) is moved to its place in the new one when it comes again
(:func:`refile`), so no gap stays open for it. A later restart moves the offset again. Two gates
sharing one token (a cloned card) would keep restarting each other: every entry is still stored once, each restart
is logged at WARNING, and the device list shows ``log_reset_at``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from central.store import CentralDB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Numbering:
    """How a device's seqs are stored now: central's seq = the gate's seq + ``offset``."""

    offset: int = 0
    restarted: bool = False  # this upload started a new numbering

    def stored(self, seq: int) -> int:
        """Central's seq for the gate's ``seq``."""
        return seq + self.offset

    def gate(self, stored_seq: int) -> int:
        """The gate's seq for central's ``stored_seq`` (0 when it belongs to an earlier log)."""
        return max(0, stored_seq - self.offset)


@dataclass(frozen=True)
class Known:
    """What the upload's transaction read of the device already (:func:`central.ingest._device_state`)."""

    offset: int  # devices.seq_offset
    top: int     # the highest seq central holds for the device (0: none)


def _chunks(items: list[int], size: int = 500) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _clashing(db: CentralDB, device_id: str, offset: int, want: dict[int, str]) -> list[int]:
    """Uploaded seqs whose stored number central holds for this device under another uuid."""
    out: list[int] = []
    for chunk in _chunks(sorted(s + offset for s in want)):
        lo, hi = chunk[0], chunk[-1]
        if hi - lo < 2 * len(chunk):  # dense, as a gate's seqs are: one range scan (an IN of 500 costs ~50 x more)
            cur = db.execute("SELECT seq, uuid FROM entries WHERE device_id = ? AND seq BETWEEN ? AND ?",
                             [device_id, lo, hi])
        else:
            q = ",".join("?" * len(chunk))
            cur = db.execute(f"SELECT seq, uuid FROM entries WHERE device_id = ? AND seq IN ({q})",
                             [device_id, *chunk])
        out += [seq - offset for seq, uuid in cur if want.get(seq - offset, uuid) != uuid]
    return out


def held_at(db: CentralDB, device_id: str, uuids: list[str]) -> dict[str, int]:
    """Of ``uuids``, those central holds for this device, with the seq each is stored under."""
    found: dict[str, int] = {}
    for i in range(0, len(uuids), 500):
        chunk = uuids[i:i + 500]
        q = ",".join("?" * len(chunk))
        found.update((u, seq) for seq, u in db.execute(
            f"SELECT seq, uuid FROM entries WHERE device_id = ? AND uuid IN ({q})", [device_id, *chunk]))
    return found


def refile(db: CentralDB, device_id: str, numbering: Numbering, want: dict[int, str]) -> int:
    """Move the uploaded entries central holds under an earlier numbering to their place in the current one (an
    entry of the restarted log stored before central noticed the restart, e.g. a priority entry sent first), so
    that no gap stays open for it; an entry whose place is taken stays where it is. Returns how many moved."""
    if not numbering.offset or not want:
        return 0
    moved = 0
    gate_seq = {u: s for s, u in want.items()}
    for uuid, seq in held_at(db, device_id, list(gate_seq)).items():
        target = numbering.stored(gate_seq[uuid])
        if seq != target:
            moved += db.execute("UPDATE entries SET seq = ? WHERE device_id = ? AND uuid = ? AND NOT EXISTS "
                                "(SELECT 1 FROM entries AS e WHERE e.device_id = ? AND e.seq = ?)",
                                [target, device_id, uuid, device_id, target]).rowcount
    if moved:
        log.warning("device %s: %d entries of its restarted log moved to their place after central's seq %d",
                    device_id, moved, numbering.offset)
    return moved


def numbering(db: CentralDB, device_id: str, want: dict[int, str], now: float,
              known: Known | None = None) -> Numbering:
    """The numbering this upload's rows (``want``: gate seq -> uuid) are stored under; a restarted log gets a new
    offset here (see the module docstring). Call inside the upload's transaction, the device locked. ``known``:
    the device's offset and highest held seq, when read already; then rows that all land above that seq (the
    steady state: the next entries) cannot clash and nothing is read."""
    if known is None:
        offset = int(db.execute("SELECT seq_offset FROM devices WHERE device_id = ?", [device_id]).fetchone()[0])
    else:
        offset = known.offset
        if not want or min(want) + offset > known.top:
            return Numbering(offset)
    clashing = _clashing(db, device_id, offset, want) if want else []
    if not clashing:
        return Numbering(offset)
    held = held_at(db, device_id, [want[s] for s in clashing])
    restarted = sorted(s for s in clashing if want[s] not in held)
    if not restarted:
        return Numbering(offset)
    top = int(db.execute("SELECT max(seq) FROM entries WHERE device_id = ?", [device_id]).fetchone()[0])
    first = restarted[0]
    db.execute("UPDATE devices SET seq_offset = ?, log_reset_at = ?, highest_contiguous_seq = ? "
               "WHERE device_id = ?", [top, now, top + first - 1, device_id])
    log.warning("device %s: its log restarted its numbering (new SD card?): central holds other entries under "
                "seq %d; its entries are now filed after central's seq %d", device_id, first, top)
    return Numbering(top, restarted=True)


def ask_ranges(missing: list[list[int]], numbering: Numbering, retained_from: int | None) -> list[list[int]]:
    """What to ask the gate to send again: central's ``missing`` ranges (its own numbering) that belong to the
    gate's current log, in the gate's numbering, from ``retained_from`` (the first seq it still retains) on."""
    floor = max(1, retained_from or 1)
    out = []
    for a, b in missing:
        first, last = max(numbering.gate(a), floor), numbering.gate(b)
        if first <= last:
            out.append([first, last])
    return out
