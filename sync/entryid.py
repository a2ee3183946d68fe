"""Entry ids: time-ordered UUIDs (version 7, RFC 9562) for the rows of the local log.

An entry's uuid is the key central keeps it by (``entries.uuid``, UNIQUE, on SQLite and PostgreSQL) and the gate's
own log indexes it too. A random uuid4 lands anywhere in that index, so every durable commit of a batch touches (and
writes to the WAL) hundreds of scattered index pages; a UUIDv7 starts with the time, so new ids of all gates land
near the right edge of the index (measured on SQLite, 500-row commits of 100,000 rows: 10,657 rows/s with uuid4,
17,172 with time-ordered ids).

Layout (RFC 9562, section 5.7), 128 bits, most significant first::

    unix_ts_ms (48) | ver = 0b0111 (4) | rand_a (12) | var = 0b10 (2) | rand_b (62)

written in the standard 36-character dashed form (``str(uuid.UUID(...))``). One implementation on every Python
(3.14's ``uuid.uuid7`` reads the system clock itself and its counter layout differs): the same ids everywhere.

The time is an argument (the row's best estimate of when it happened, ``wall_ts``), never read here. It only orders
ids; uniqueness never depends on it: ``rand_b`` is 62 fresh random bits (:mod:`secrets`) in every id, and a gate
whose clock is wrong (1970 after a power cut, or years ahead) still makes unique ids. A time outside what 48 bits of
milliseconds hold (before 1970, after the year 10889, NaN) is clamped to 0 or ``2**48 - 1`` ms: the id is still
valid and unique, only its place in the order is the clamp's.

Order within one millisecond (RFC 9562, section 6.2, method 1, "fixed bit-length dedicated counter"): ``rand_a`` is a
12-bit counter, seeded with 11 random bits (the top bit 0 leaves at least 2,048 steps) whenever the time moves past
the last id's, and incremented for each further id in the same millisecond. So the ids one :class:`EntryIds` makes
sort as strings in the order it made them, also for thousands in one millisecond: when the counter would pass
4,095, the id's time moves one millisecond ahead of the clock (the RFC's overflow rule) and the counter is seeded
again. A clock that steps back a little (up to :data:`HOLD_BACK_MS`, e.g. a time correction) keeps the last id's
time and counts on, so the order holds; a bigger step back (a gate's clock put right by hours) follows the clock,
because holding would stamp every later entry with the wrong time until the clock caught up. Cheap: one lock, a
comparison, an increment.
"""

from __future__ import annotations

import math
import secrets
import threading
import uuid
from collections.abc import Callable

#: The largest time a UUIDv7 holds, in unix milliseconds (48 bits: the year 10889).
MAX_MS = (1 << 48) - 1

#: A clock stepping back at most this much keeps the previous id's time (and the order); beyond, the ids follow it.
HOLD_BACK_MS = 10_000

_COUNTER_MAX = (1 << 12) - 1
_SEED_BITS = 11  # the counter's seed: the top bit 0 leaves at least 2**11 increments before it overflows
_RAND_B_BITS = 62
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def clamp_ms(unix_s: float) -> int:
    """Unix seconds as whole milliseconds (rounded down) within what a UUIDv7 holds: 0 before 1970 (and for NaN),
    :data:`MAX_MS` past it."""
    if isinstance(unix_s, int):  # exact, and no float overflow for a huge one
        return min(max(unix_s * 1000, 0), MAX_MS)
    if math.isnan(unix_s) or unix_s < 0:
        return 0
    if unix_s >= (MAX_MS + 1) / 1000:  # also infinity, and what times 1000 would overflow to it
        return MAX_MS
    return min(math.floor(unix_s * 1000), MAX_MS)


def uuid7(unix_ms: int, rand_a: int, rand_b: int) -> str:
    """The UUIDv7 with these fields, in the standard dashed form: ``unix_ms`` in 0..2**48-1, ``rand_a`` 12 bits,
    ``rand_b`` 62 bits (each is masked to its width; :func:`clamp_ms` makes a valid ``unix_ms`` of any time)."""
    value = ((unix_ms & MAX_MS) << 80 | _VERSION_7 | (rand_a & _COUNTER_MAX) << 64 | _VARIANT_RFC
             | rand_b & ((1 << _RAND_B_BITS) - 1))
    return str(uuid.UUID(int=value))


class EntryIds:
    """Makes entry ids (UUIDv7) in order: each id sorts after the one made before it, as a string and as a UUID,
    except after a step back of the clock of more than :data:`HOLD_BACK_MS` (see the module docstring).
    Thread-safe. ``randbits`` is :func:`secrets.randbits` unless a test gives another source."""

    def __init__(self, randbits: Callable[[int], int] = secrets.randbits) -> None:
        self._randbits = randbits
        self._lock = threading.Lock()
        self._ms = -1  # the time of the last id (may be ahead of the clock after a counter overflow)
        self._counter = 0  # its rand_a

    def new(self, unix_s: float) -> str:
        """A new id for an entry that happened at ``unix_s`` (unix seconds; any float, see :func:`clamp_ms`)."""
        ms = clamp_ms(unix_s)
        rand_b = self._randbits(_RAND_B_BITS)
        with self._lock:
            ms, counter = self._next(ms)
        return uuid7(ms, counter, rand_b)

    def _next(self, ms: int) -> tuple[int, int]:
        """The (time, counter) of the next id for a clock reading ``ms``; updates the state (lock held)."""
        if ms > self._ms or ms < self._ms - HOLD_BACK_MS:
            self._ms, self._counter = ms, self._randbits(_SEED_BITS)
        elif self._counter < _COUNTER_MAX:
            self._counter += 1
        elif self._ms < MAX_MS:  # the counter is used up: the id's time moves one millisecond ahead
            self._ms, self._counter = self._ms + 1, self._randbits(_SEED_BITS)
        else:  # at the end of time: no order any more, still unique by rand_b
            self._counter = self._randbits(12)
        return self._ms, self._counter


#: The ids of this process: every local log in it shares them, so its entries' ids are in the order written.
ENTRY_IDS = EntryIds()
