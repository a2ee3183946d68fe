"""The fake gate's history is bounded (the demo and the memory bench run it for hours)."""

from drivers.gate.fake import FakeGate


def test_history_keeps_only_the_newest_changes() -> None:
    gate = FakeGate()
    for i in range(FakeGate.HISTORY_MAX * 3):
        gate._apply(i % 2 == 0)
    assert len(gate.history) == FakeGate.HISTORY_MAX
    assert [on for _, on in gate.history][-2:] == [True, False]  # the newest changes are the ones kept
