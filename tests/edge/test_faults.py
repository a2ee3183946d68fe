"""The fault board on plain data."""

from __future__ import annotations

from edge.faults import LOG_FAULTS, FaultBoard


def test_faults_are_raised_cleared_and_listed_oldest_first():
    board = FaultBoard()
    board.raise_("disk_low", "disk_low")
    board.raise_("loop_failed", "frames")
    assert board.codes() == ["disk_low", "loop_failed"] and "disk_low" in board
    assert board.get("loop_failed") == "frames" and board.get("lists_failed") is None
    assert not board.clear("loop_failed", "decide")  # another loop's fault stays
    assert board.clear("loop_failed", "frames") and "loop_failed" not in board
    assert not board.clear("loop_failed")
    assert not board.any_of(LOG_FAULTS)
    board.raise_("db_locked", "database is locked")
    assert board.any_of(LOG_FAULTS) and board.clear("db_locked") and board.codes() == ["disk_low"]
