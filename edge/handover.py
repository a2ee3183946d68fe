"""Hand-over notes: what the guard going off duty tells the next one ("确保执勤交接不出现任何问题").

At the end of a shift the guard types a note or picks common phrases (:data:`PHRASES`); the note is saved with the
``shift_end`` entry (``extra["handover_note"]``) in the local log before the page answers, so it syncs to central
like every entry, and the next guard who signs in on this gate sees it (:func:`last_hand_over`).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

import sqlite_utils

from edge.errors import EdgeError

NOTE_MAX = 300
#: Common phrases a guard can pick (the gate's own words; central shows whatever the note says).
PHRASES: tuple[str, ...] = ("3-2-401 隔离户需送菜", "东侧围挡松动已报修", "体温计电量低", "扫码器需清洁",
                            "有快递待居民领取", "一切正常，无特殊情况")


class NoteError(EdgeError):
    """A hand-over note the gate refuses, with the reason in zh-CN and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def _allowed(c: str) -> bool:
    """Printable, a line break or a space (control, format, private and unassigned characters are not)."""
    return c == "\n" or c.isprintable() or unicodedata.category(c) in ("Zs", "Zl", "Zp")


def clean_note(text: str) -> str:
    """The note as stored: lines stripped, blank lines dropped; refuses control characters and over-long notes."""
    if any(not _allowed(c) for c in text):
        raise NoteError("交接事项中含有不可见的控制字符，请重新输入", "The note has control characters: type it again")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    note = "\n".join(line for line in lines if line)
    if len(note) > NOTE_MAX:
        raise NoteError(f"交接事项太长（最多{NOTE_MAX}字），请写短一些",
                        f"The note is too long (at most {NOTE_MAX} characters)")
    return note


@dataclass(frozen=True)
class HandOverNote:
    """The latest hand-over at this gate: who handed over, when, and their note."""

    guard_id: str
    ended_at: float
    note: str
    seq: int


def last_hand_over(db: sqlite_utils.Database) -> HandOverNote | None:
    """The latest hand-over logged at this gate (its ``shift_end`` entry), or None."""
    row = db.execute("SELECT guard_id, wall_ts, extra, seq FROM entries WHERE event = 'shift_end' "
                     "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    try:
        extra = json.loads(row[2]) if row[2] else {}
    except (ValueError, RecursionError):
        extra = {}
    note = extra.get("handover_note") if isinstance(extra, dict) else None
    return HandOverNote(str(row[0] or ""), float(row[1]), note if isinstance(note, str) else "", int(row[3]))
