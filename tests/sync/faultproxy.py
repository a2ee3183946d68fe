"""A fault-injecting TCP proxy on loopback, between the sync client and the central server.

Per connection it may drop the connection at once, hang it (accept, never
answer), make it a slow link (small pieces with pauses), cut it while the
request goes up, or lose the reply: forward the request, let the server commit
and answer, then close the client's connection without passing the answer on.
``faults`` switches everything off at once (the link heals).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass


@dataclass
class FaultRates:
    """Probabilities per new connection (drop, hang, slow) and per forwarded chunk (cut, lose_reply)."""

    drop: float = 0.1
    hang: float = 0.05
    slow: float = 0.2
    cut: float = 0.05
    lose_reply: float = 0.2


class FaultProxy:
    """``127.0.0.1:<port>`` -> ``127.0.0.1:<upstream_port>`` with injected faults; runs in its own thread."""

    def __init__(self, upstream_port: int, rates: FaultRates | None = None, seed: int = 1) -> None:
        self.upstream_port = upstream_port
        self.rates = rates or FaultRates()
        self.rng = random.Random(seed)
        self.faults = True
        self.stats: Counter[str] = Counter()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    def _roll(self, p: float) -> bool:
        return self.faults and self.rng.random() < p

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        if self._roll(self.rates.drop):
            self.stats["dropped"] += 1
            cwriter.transport.abort()
            return
        if self._roll(self.rates.hang):
            self.stats["hung"] += 1
            try:
                while await creader.read(65536):
                    pass  # swallow everything, answer nothing, until the client gives up
            finally:
                cwriter.transport.abort()
            return
        slow = self._roll(self.rates.slow)
        self.stats["slow"] += slow
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self.stats["upstream_down"] += 1
            cwriter.transport.abort()
            return

        def abort_both() -> None:
            cwriter.transport.abort()
            uwriter.transport.abort()

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            try:
                while data := await src.read(65536):
                    if up and self._roll(self.rates.cut):
                        self.stats["cut"] += 1
                        abort_both()
                        return
                    if not up and self._roll(self.rates.lose_reply):
                        self.stats["reply_lost"] += 1  # the server has committed and answered
                        abort_both()
                        return
                    if slow and self.faults:
                        for i in range(0, len(data), 2048):
                            dst.write(data[i:i + 2048])
                            await dst.drain()
                            await asyncio.sleep(0.01)
                    else:
                        dst.write(data)
                        await dst.drain()
                if dst.can_write_eof():
                    dst.write_eof()
            except (ConnectionError, OSError):
                abort_both()

        try:
            await asyncio.gather(pipe(creader, uwriter, True), pipe(ureader, cwriter, False))
        finally:
            abort_both()
