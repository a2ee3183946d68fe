"""Entry ids: UUIDv7 (RFC 9562) by the time given, unique, in the order made; and the local log writes them."""

from __future__ import annotations

import random
import sys
import uuid

from hypothesis import given
from hypothesis import strategies as st

from gatepass.sqlitedb import connect
from sync.entryid import HOLD_BACK_MS, MAX_MS, EntryIds, clamp_ms, uuid7
from sync.locallog import LocalLog, migrate

T0 = 1_790_000_000.0  # unix seconds, 2026


def _ms(text: str) -> int:
    """The unix milliseconds an id holds (its first 48 bits)."""
    return uuid.UUID(text).int >> 80


def _is_v7(text: str) -> bool:
    parsed = uuid.UUID(text)
    return (parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text and len(text) == 36
            and text == text.lower())


@given(st.integers(0, MAX_MS), st.integers(0, (1 << 12) - 1), st.integers(0, (1 << 62) - 1))
def test_the_fields_are_where_rfc_9562_puts_them(ms, rand_a, rand_b):
    text = uuid7(ms, rand_a, rand_b)
    value = uuid.UUID(text).int
    assert _is_v7(text)
    assert (value >> 80, value >> 64 & 0xFFF, value & (1 << 62) - 1) == (ms, rand_a, rand_b)


def test_a_known_id_is_spelled_as_the_rfc_example():
    # RFC 9562, appendix A.6: 2022-02-22 19:22:22 UTC (0x017F22E279B0 ms), rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F
    assert uuid7(0x017F22E279B0, 0xCC3, 0x18C4DC0C0C07398F) == "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"


@given(st.lists(st.integers(0, MAX_MS), min_size=2, max_size=50, unique=True))
def test_ids_made_at_increasing_times_sort_in_that_order(times_ms):
    times_ms.sort()
    ids = EntryIds()
    made = [ids.new((ms + 0.5) / 1000) for ms in times_ms]  # mid-millisecond: no float rounding
    assert sorted(made) == made and [_ms(m) for m in made] == times_ms
    # independently of the generator's state too: any two ids of different milliseconds sort by time
    fresh = [EntryIds().new((ms + 0.5) / 1000) for ms in reversed(times_ms)]
    assert sorted(fresh) == list(reversed(fresh))


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.integers(-(10 ** 400), 10 ** 400))
def test_any_clock_reading_makes_a_valid_id_clamped_to_what_48_bits_hold(unix_s):
    text = EntryIds().new(unix_s)
    assert _is_v7(text) and 0 <= _ms(text) <= MAX_MS
    assert _ms(text) == clamp_ms(unix_s)


def test_clamps_before_1970_and_past_2_to_the_48_ms():
    assert clamp_ms(-1.0) == clamp_ms(float("-inf")) == clamp_ms(float("nan")) == 0
    assert clamp_ms(MAX_MS / 1000 + 1) == clamp_ms(float("inf")) == clamp_ms(1e300) == MAX_MS
    assert clamp_ms(sys.float_info.max) == clamp_ms(10 ** 400) == MAX_MS  # times 1000 would overflow a float
    assert clamp_ms(-(10 ** 400)) == 0 and clamp_ms(-0.0004) == 0
    assert clamp_ms(T0 + 0.0129) == int(T0 * 1000) + 12  # rounded down


def test_100000_in_one_millisecond_are_unique_and_in_the_order_made():
    ids = EntryIds()
    made = [ids.new(T0) for _ in range(100_000)]
    assert len(set(made)) == len(made)
    assert sorted(made) == made  # the counter; past 4,095 the id's time moves on a millisecond
    assert _ms(made[0]) == int(T0 * 1000) and _ms(made[-1]) - _ms(made[0]) <= 100_000 // 2048


def test_two_gates_in_the_same_millisecond_make_different_ids():
    # two processes (or gates) with the same clock and even the same counter seed: rand_b keeps them apart
    seeded = random.Random(7)
    a = EntryIds(lambda bits: seeded.getrandbits(bits) if bits < 62 else random.getrandbits(bits))
    b = EntryIds(lambda bits: 0 if bits < 62 else random.getrandbits(bits))
    made = [g.new(T0) for _ in range(50_000) for g in (a, b)]
    assert len(set(made)) == len(made)


def test_a_small_step_back_of_the_clock_keeps_the_order_a_big_one_follows_the_clock():
    ids = EntryIds()
    first = ids.new(T0)
    held = ids.new(T0 - HOLD_BACK_MS / 1000 / 2)
    assert held > first and _ms(held) == _ms(first)
    corrected = ids.new(T0 - 3600)
    assert _ms(corrected) == int((T0 - 3600) * 1000)  # a gate's clock put right by an hour: ids say the right time
    assert ids.new(T0 - 3600) > corrected


def test_at_the_end_of_time_ids_stay_valid_and_unique():
    ids = EntryIds()
    made = [ids.new(float("inf")) for _ in range(10_000)]
    assert len(set(made)) == len(made) and all(_is_v7(m) and _ms(m) == MAX_MS for m in made)


def test_the_local_log_writes_time_ordered_ids_by_the_entry_time(tmp_path):
    db = connect(tmp_path / "edge.db")
    migrate(db)
    log = LocalLog(db)
    base = dict(device_id="d1", gate_id="g1", mono_ts=1.0, boot_id="b1", clock_trusted=True, event="scan",
                direction="in", decision="pass", reason="ok")
    rows = [log.append(**base, wall_ts=T0 + i * 0.25) for i in range(8)]
    assert all(_is_v7(r["uuid"]) for r in rows)
    assert [_ms(r["uuid"]) for r in rows] == [int((T0 + i * 0.25) * 1000) for i in range(8)]
    stored = [u for (u,) in db.execute("SELECT uuid FROM entries ORDER BY seq")]
    assert stored == [r["uuid"] for r in rows] == sorted(stored)
    assert log.verify_chain().ok
