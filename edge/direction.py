"""Which way a person passes: the direction logged for an entry and the one the rules apply.

The rule, for a gate configured ``direction``:

* an ``"in"`` or ``"out"`` gate: that direction (certain);
* a ``"both"`` gate, first match wins:

  1. the direction the guard chose on the guard screen (:meth:`edge.checkpoint.Checkpoint.set_direction`);
     it is logged, and the entry names the guard who chose it;
  2. the opposite of the pass holder's last *passed* direction at this gate in the local log (someone who
     went in comes out next; inferred);
  3. the configured default ``[gate] both_default`` (inferred).

Verification and the decision use a single direction only when the gate itself is one-way. At a "both"
gate they always use ``"both"``, the conservative union (a guard's choice is what people are *said* to do at
the moment; it never turns a rule off: a household under quarantine is refused there whichever way the guard
set): :func:`sync.passes.verify` refuses a household under home quarantine
at a ``"both"`` gate (an exit cannot be ruled out) and the temperature is measured (an entry cannot be
ruled out). The entry logs the chosen direction, except that a refusal for home quarantine is logged as
``"out"``: it refuses an exit.

:class:`DirectionChoice` holds the guard's choice (set through :mod:`edge.guard_desk`) and publishes every
change as a :class:`~edge.events.Notice` ``"direction"`` so every open guard page follows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Literal

import sqlite_utils

from edge.events import Fanout, Notice
from gatepass.clock import Clock

log = logging.getLogger(__name__)

Way = Literal["in", "out"]
GateWay = Literal["in", "out", "both"]
Source = Literal["gate", "guard", "history", "default"]


@dataclass(frozen=True, slots=True)
class Direction:
    """``logged``: the direction written to the entry; ``rules``: the one verification and the decision use;
    ``source``: where it came from (gate, guard, history, default)."""

    logged: Way
    rules: GateWay
    source: Source

    def for_verdict(self, code: str) -> Way:
        """The direction to log for an entry refused or passed with the verifier's ``code``."""
        return "out" if code == "quarantined" else self.logged


def opposite(way: str) -> Way:
    """``"out"`` for ``"in"`` and ``"in"`` for anything else."""
    return "out" if way == "in" else "in"


def resolve(gate: GateWay, guard_choice: str | None, last_passed: str | None, default: Way) -> Direction:
    """Apply the rule of the module docstring (pure)."""
    if gate in ("in", "out"):
        return Direction(gate, gate, "gate")
    if guard_choice == "in":  # the rules stay "both": a guard's choice turns no rule off
        return Direction("in", "both", "guard")
    if guard_choice == "out":
        return Direction("out", "both", "guard")
    if last_passed in ("in", "out"):
        return Direction(opposite(last_passed), "both", "history")
    return Direction(default, "both", "default")


INDEX_SQL = "CREATE INDEX IF NOT EXISTS entries_holder ON entries (pass_id, person, gate_id, seq)"


def ensure_index(db: sqlite_utils.Database) -> None:
    """Create the index :func:`last_passed` uses (idempotent)."""
    db.execute(INDEX_SQL)


def last_passed(db: sqlite_utils.Database, gate_id: str, pass_id: str | None, person: int | None) -> str | None:
    """The direction of the holder's newest passed entry at ``gate_id`` (None: none in the local log)."""
    if pass_id is None:
        return None
    row = db.execute("SELECT direction FROM entries WHERE pass_id = ? AND person IS ? AND gate_id = ? "
                     "AND decision = 'pass' ORDER BY seq DESC LIMIT 1", [pass_id, person, gate_id]).fetchone()
    return row[0] if row else None


class DirectionChoice:
    """The direction the guard chose at a "both" gate ("in", "out"; None: inferred), published on change."""

    def __init__(self, notices: Fanout[Notice], clock: Clock) -> None:
        self.notices = notices
        self.clock = clock
        self._choice: str | None = None
        self._by: str | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> str | None:
        """The guard's choice now (None: infer it)."""
        with self._lock:
            return self._choice

    @property
    def chosen_by(self) -> str | None:
        """The guard whose choice is in force (None: no choice)."""
        with self._lock:
            return self._by if self._choice is not None else None

    def choose(self, direction: str | None, guard_id: str) -> None:
        """Set the choice of ``guard_id`` and publish it."""
        with self._lock:
            self._choice, self._by = direction, guard_id
        log.info("guard %s set the direction to %s", guard_id, direction or "automatic")
        self.notices.publish(Notice("direction", self.clock.monotonic(), chosen_direction=direction,
                                    guard_id=guard_id))

    def drop(self, why: str) -> None:
        """Back to the inferred direction (the choosing guard's shift is over); published if there was one."""
        with self._lock:
            was, self._choice = self._choice, None
        if was is None:
            return
        log.info("direction choice %s dropped: %s", was, why)
        self.notices.publish(Notice("direction", self.clock.monotonic()))
