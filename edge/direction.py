"""Which way a person passes: the direction logged for an entry and the one the rules apply.

The rule, for a gate configured ``direction``:

* an ``"in"`` or ``"out"`` gate: that direction (certain);
* a ``"both"`` gate, first match wins:

  1. the direction the guard chose on the guard screen (:meth:`edge.checkpoint.Checkpoint.set_direction`;
     certain while it is set);
  2. the opposite of the pass holder's last *passed* direction at this gate in the local log (someone who
     went in comes out next; inferred);
  3. the configured default ``[gate] both_default`` (inferred).

Verification and the decision use the direction only when it is certain. When it is inferred they use
``"both"``, the conservative union: :func:`sync.passes.verify` refuses a household under home quarantine
at a ``"both"`` gate (an exit cannot be ruled out) and the temperature is measured (an entry cannot be
ruled out). The entry logs the chosen direction, except that a refusal for home quarantine is logged as
``"out"``: it refuses an exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
        return Direction(gate, gate, "gate")  # type: ignore[arg-type]
    if guard_choice in ("in", "out"):
        return Direction(guard_choice, guard_choice, "guard")  # type: ignore[arg-type]
    if last_passed in ("in", "out"):
        return Direction(opposite(last_passed), "both", "history")
    return Direction(default, "both", "default")


INDEX_SQL = "CREATE INDEX IF NOT EXISTS entries_holder ON entries (pass_id, person, gate_id, seq)"


def ensure_index(db: Any) -> None:
    """Create the index :func:`last_passed` uses (idempotent)."""
    db.execute(INDEX_SQL)


def last_passed(db: Any, gate_id: str, pass_id: str | None, person: int | None) -> str | None:
    """The direction of the holder's newest passed entry at ``gate_id`` (None: none in the local log)."""
    if pass_id is None:
        return None
    row = db.execute("SELECT direction FROM entries WHERE pass_id = ? AND person IS ? AND gate_id = ? "
                     "AND decision = 'pass' ORDER BY seq DESC LIMIT 1", [pass_id, person, gate_id]).fetchone()
    return row[0] if row else None
