"""Codec fuzzing: >= 1,000,000 random bytes per codec, with and without valid frames embedded.

For every codec in :mod:`drivers.catalog`:
- ``random``: 1 MB of random bytes in random chunks (1-4096 bytes): crashes must be 0;
  spurious messages (random bytes that happen to form a valid frame) are reported.
- ``embedded``: valid frames between random junk (junk with complete headers broken up,
  see ``drivers.catalog``), >= 1 MB of junk, random chunks: recovered must equal embedded.
Throughput is compared with a baseline measured on the same stream in the same run: a
"decoder" that only appends each chunk to a bytearray and clears it.
"""

from __future__ import annotations

import random
import time

from bench.harness import Result
from drivers.catalog import CASES, CodecCase, clean_junk


def _chunks(data: bytes, rng: random.Random) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 4096)
        out.append(data[i:i + n])
        i += n
    return out


def _baseline(chunks: list[bytes]) -> float:
    buf = bytearray()
    t0 = time.perf_counter()
    for chunk in chunks:
        buf += chunk
        del buf[:]
    return time.perf_counter() - t0


def _decode(case: CodecCase, chunks: list[bytes]) -> tuple[list, int, float]:
    decoder = case.decoder()
    got: list = []
    crashes = 0
    t0 = time.perf_counter()
    for chunk in chunks:
        try:
            got.extend(decoder.feed(chunk))
        except Exception:  # noqa: BLE001 - a crash is what we count
            crashes += 1
            decoder = case.decoder()
    return got, crashes, time.perf_counter() - t0


def _matched(wanted: list, got: list) -> int:
    n, it = 0, iter(got)
    for w in wanted:
        for g in it:
            if g == w:
                n += 1
                break
    return n


def _stream(case: CodecCase, rng: random.Random, junk_bytes: int) -> tuple[bytes, list]:
    parts, keys, total = [], [], 0
    while total < junk_bytes:
        junk = clean_junk(case, rng.randbytes(rng.randint(0, 400)))
        frame = case.make_frame(rng)
        parts += [junk, case.separator, frame]
        keys.append(case.frame_key(frame))
        total += len(junk)
    return b"".join(parts), keys


def run(quick: bool = False) -> list[Result]:
    size = 100_000 if quick else 1_000_000
    results = []
    for case in CASES:
        rng = random.Random(f"fuzz-{case.name}")
        chunks = _chunks(rng.randbytes(size), rng)
        got, crashes, seconds = _decode(case, chunks)
        base = _baseline(chunks)
        results.append(Result(f"{case.name} random {size:,} B", size / seconds / 1e6, "MB/s",
                              "append+clear", size / base / 1e6,
                              {"crashes": crashes, "spurious": len(got)}))
        stream, keys = _stream(case, rng, size)
        chunks = _chunks(stream, rng)
        got, crashes, seconds = _decode(case, chunks)
        base = _baseline(chunks)
        recovered = _matched(keys, [case.key(m) for m in got])
        results.append(Result(f"{case.name} embedded {len(stream):,} B", len(stream) / seconds / 1e6, "MB/s",
                              "append+clear", len(stream) / base / 1e6,
                              {"crashes": crashes, "embedded": len(keys), "recovered": recovered,
                               "spurious": len(got) - recovered}))
    return results
