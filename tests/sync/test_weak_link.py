"""A gate draining a backlog over a link too weak for its large drain batches still drains, in ``batch_rows``."""

from __future__ import annotations

import socket
import threading

from sync.client import SyncClient, TransientSyncError

from .helpers import Central, bulk_fill, device_rows, free_port, sync_settings


class ShortLink:
    """A loopback TCP link to ``upstream`` that cuts a connection once the client has sent more than ``carries``
    bytes on it (a weak mobile link that never gets a long upload through before it drops)."""

    def __init__(self, upstream: int, carries: int) -> None:
        self.upstream, self.carries, self.port = upstream, carries, free_port()
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def start(self) -> ShortLink:
        self._threads[0].start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._threads[0].join(5)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                down, _ = self._server.accept()
            except TimeoutError:
                continue
            up = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pipe, args=(up, down, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(down, up, self.carries), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while chunk := src.recv(65536):
                sent += len(chunk)
                if limit is not None and sent > limit:
                    self.cuts += 1
                    break
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_a_drain_batch_too_large_for_the_link_goes_again_in_small_batches(tmp_path):
    # before: the large drain batch stayed in flight and was sent again, and cut again, forever
    central = Central(tmp_path / "central").start_thread()
    link = ShortLink(central.port, carries=60_000).start()  # a 500-row batch gets through, a 5,000-row one does not
    try:
        token = central.add_device("gate-w")
        settings = sync_settings(f"http://127.0.0.1:{link.port}", token, central.public_pem(), tmp_path / "dev",
                                 batch_rows=100, drain_rows=3000)
        settings.data_dir.mkdir()
        bulk_fill(settings.db_path, 1500)
        client = SyncClient(settings)
        failures = 0
        for _ in range(200):
            if client.log.backlog() == 0:
                break
            try:
                client.upload_once()
            except TransientSyncError:
                failures += 1
        assert client.log.backlog() == 0, f"{client.log.backlog()} entries still waiting after {failures} failures"
        assert failures >= 1 and link.cuts >= 1  # the first, large batch was cut
        assert not client.drain_failed  # the next backlog tries large batches again
        client.close()
        held = central.entries("gate-w")
        assert sorted(r[1] for r in held) == list(range(1, 1501))  # each entry once
        assert all(synced for *_, synced in device_rows(settings.db_path))
    finally:
        link.stop()
        central.stop()
