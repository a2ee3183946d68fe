"""The scan intake alone: de-duplication, the bounded queue (drop and count), re-scan notices; manual clock."""

from __future__ import annotations

from edge.dedupe import Deduper, Seen
from edge.events import Fanout, Notice, Outcome
from edge.scan_intake import RESCAN_NOTICE_GAP_S, ScanIntake
from gatepass.clock import ManualClock


def outcome(seq: int, t: float, remeasure: bool = False) -> Outcome:
    return Outcome(seq, f"u{seq}", "scan", "pass", "temp_ok", "zh", "en", 0.0, True, t, remeasure=remeasure)


def make(queue_size: int = 4, cooldown_s: float = 10.0) -> tuple[ScanIntake, ManualClock, Fanout[Notice]]:
    clock = ManualClock()
    notices: Fanout[Notice] = Fanout()
    return ScanIntake(Deduper(1.0, cooldown_s), notices, clock, queue_size), clock, notices


def test_new_scans_are_queued_in_order_with_the_clock_time():
    intake, clock, _ = make()
    assert intake.submit("A") is Seen.NEW
    assert intake.submit("A") is Seen.SAME
    assert intake.submit("B", 5.0, "camera") is Seen.NEW
    a, b = intake.next(0), intake.next(0)
    assert (a.text, a.t_seen, a.source) == ("A", clock.monotonic(), "manual")
    assert (b.text, b.t_seen, b.source) == ("B", 5.0, "camera")
    assert intake.next(0) is None


def test_a_full_queue_drops_the_oldest_counts_it_and_forgets_its_pass():
    intake, clock, _ = make(queue_size=1)
    t = clock.monotonic()
    assert [intake.submit(x, t) for x in "ABC"] == [Seen.NEW] * 3
    assert intake.dropped == 2
    assert intake.submit("A", t + 5) is Seen.NEW  # dropped, so not in the cooldown
    assert intake.submit("C", t + 5) is Seen.NEW  # C was dropped by A's new scan in turn
    assert intake.dropped == 4 and intake.next(0).text == "C"


def test_a_rescan_of_a_decided_pass_is_noticed_at_most_once_per_gap():
    intake, clock, notices = make()
    q = notices.subscribe()
    t = clock.monotonic()
    assert intake.submit("A", t) is Seen.NEW
    intake.remember_decided("A", outcome(1, t))
    assert intake.submit("A", t + 2) is Seen.COOLDOWN
    note = q.get_nowait()
    assert (note.kind, note.entry.uuid) == ("rescan", "u1")
    assert intake.submit("A", t + 3.5) is Seen.IGNORED and q.empty()  # within the gap
    assert intake.submit("A", t + 2 + RESCAN_NOTICE_GAP_S) is Seen.IGNORED
    assert q.get_nowait().entry.uuid == "u1"


def test_no_notice_for_a_remeasure_request_a_failed_commit_or_an_undecided_pass():
    intake, clock, notices = make()
    q = notices.subscribe()
    t = clock.monotonic()
    for text, seq, remeasure in (("A", 1, True), ("B", -1, False), ("C", None, False)):
        intake.submit(text, t)
        if seq is not None:
            intake.remember_decided(text, outcome(seq, t, remeasure))
        assert intake.submit(text, t + 2) is Seen.COOLDOWN
    assert q.empty()


def test_allow_rescan_forget_and_the_cooldown_central_sets():
    intake, clock, _ = make(cooldown_s=300)
    t = clock.monotonic()
    intake.submit("A", t)
    intake.allow_rescan("A")
    assert intake.submit("A", t + 2) is Seen.NEW  # a re-measure: no cooldown
    intake.forget("A")
    assert intake.submit("A", t + 2.1) is Seen.NEW
    intake.set_cooldown(1.5)
    assert intake.submit("A", t + 4) is Seen.NEW
