"""The device-side sync (``gatepass sync run``): the local log is the outbox.

One loop, in its own process so a stuck network never slows the gate:

1. Take the next batch of unsynced entries (priority first, then by seq; capped
   by rows and bytes: ``batch_rows``/``batch_bytes``, or the larger ``drain_rows``/
   ``drain_bytes`` while more than ``batch_rows`` wait), give it a batch id and send it
   gzip-compressed. Until central answers, the very same batch is re-sent (same id,
   same content).
2. Central replies with the seqs of the batch it now holds (after its commit);
   only those rows, and never a seq outside the batch just sent, are marked synced.
   A lost reply means a harmless re-send. The reply is not signed: its ``server_time``
   is never used as time (only a verified list page's ``issued_at`` is).
3. Timeouts, connection errors and 5xx are retried forever with exponential
   backoff and full jitter (capped); 401/403/409/413/422 stop the uploads, keep
   the rows and raise an alarm (log + ``sync_state``), retried at the cap.
4. Whenever a reply reports a newer list version (and when no reply told it for
   ``lists_interval_s``, and every ``lists_refresh_s`` regardless: :func:`lists_wanted`)
   fetch the signed list pages, verify them against the pinned key and apply them.

The process writes its state to ``sync_state`` (:mod:`sync.state`) for the guard screen.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gatepass import __version__
from sync import lists as edge_lists
from sync import messages, state
from sync.backoff import ProbingWait, full_jitter
from sync.devicedb import open_db
from sync.errors import SyncError
from sync.locallog import Cursor, LocalLog, OutBatch
from sync.protocol import GZIP_LEVEL, ProtocolError, canonical, held_of, upload_head
from sync.salvage import RECOVERED_SUFFIX
from sync.settings import SyncSettings
from sync.signing import SignatureError, load_public_key, verify_envelope
from sync.timekeeping import Anchor

log = logging.getLogger(__name__)

MAX_RESEND_RANGES = 100  # gap ranges acted on per reply (a reset seq counter leaves one that holds nothing)
PERMANENT_STATUS = {400, 401, 403, 404, 409, 413, 422}



#: One connection to central, kept open between uploads and heartbeats (30-60 s apart) instead of a new TCP (and TLS)
#: connection each time; the gate closes it first, before central's keep-alive (gatepass.serve.KEEP_ALIVE_S, 75 s),
#: so a request never races the server closing its connection.
KEEP_ONE_CONNECTION = httpx.Limits(max_connections=4, max_keepalive_connections=1, keepalive_expiry=60.0)
#: Nagle's algorithm off on the gate's connection: an upload is written as a head and then a body, and a request
#: and its reply are all the traffic there is, so nothing is gained by holding the body's last piece back until
#: central has acknowledged the head (central's side: :func:`gatepass.serve.bind`).
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def http_transport() -> httpx.HTTPTransport:
    """The gate's connection to central: at most :data:`KEEP_ONE_CONNECTION`, with :data:`NO_DELAY`."""
    return httpx.HTTPTransport(limits=KEEP_ONE_CONNECTION, socket_options=NO_DELAY)


class TransientSyncError(SyncError):
    """Central is unreachable, slow or failing (5xx): retry with backoff.

    ``code`` names the plain-words text for the guard screen (:mod:`sync.messages`).
    """

    def __init__(self, message: str, hint: str = "", code: str = "offline") -> None:
        super().__init__(message, hint)
        self.code = code


class RejectedError(SyncError):
    """Central refused the request (bad credential, bad batch): stop, keep the rows, raise an alarm."""

    def __init__(self, message: str, hint: str = "", status: int | None = None, code: str = "upload_refused") -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code


class DatabaseUnavailableError(TransientSyncError):
    """The edge database is missing (being rebuilt by the edge's start-up check): wait, never create it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="db_unavailable")


@dataclass
class Batch:
    """A batch being sent; kept until central confirms it so that re-sends are identical (same id, same entries).

    Its upload body is made once but for the report (fresh with every send): the gzip stream up to the report
    (``head``) and the compressor's state there (``rest``, copied for each send), so a batch holds its entries
    compressed (a few hundred kB for a 2 MiB batch), not as rows; :func:`sync.protocol.encode_upload` makes the
    same JSON in one go."""

    batch_id: str
    seqs: set[int]
    after: Cursor | None  # where the batch ends in the outbox's order (the next batch is read after it)
    head: bytes
    rest: Any  # zlib's compressor after ``head`` (its type is private)

    @classmethod
    def of(cls, out: OutBatch) -> Batch:
        """A new batch (a fresh id) of the rows ``out`` the log handed out."""
        batch_id = uuid.uuid4().hex
        rest = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip stream, as gzip.compress
        head = rest.compress(upload_head(batch_id, out.json))
        return cls(batch_id, {r["seq"] for r in out.rows}, out.cursor, head, rest)

    def body(self, report: dict[str, Any]) -> bytes:
        """The gzip-compressed upload body of this batch with ``report``."""
        tail = self.rest.copy()
        return self.head + tail.compress(canonical(report) + b"}") + tail.flush()


def boot_id() -> str:
    """This boot's id (Linux), or a random one per process elsewhere."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return uuid.uuid4().hex


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or None when there is none."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class SyncClient:
    """Uploads the local log and downloads lists for one device. Not thread-safe; one per process."""

    def __init__(self, settings: SyncSettings, *, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.public_key = load_public_key(settings.central_public_key)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_identity: tuple[int, int] | None = None
        self._state: dict[str, Any] = {}
        self._open_db(create=True)
        self.boot_id = boot_id()
        self.http = httpx.Client(
            base_url=settings.central_url.rstrip("/") + "/", timeout=settings.timeout_s,
            transport=transport or http_transport(),
            headers={"Authorization": f"Bearer {settings.device_token.get_secret_value()}",
                     "User-Agent": f"gatepass-sync/{__version__}"})
        self.inflight: Batch | None = None
        self.next_out: Batch | None = None  # the batch after ``inflight``, read while central stored that one
        self.next_backlog = 0  # entries waiting when ``next_out`` was read (``inflight``'s not counted)
        self._uploads: futures.ThreadPoolExecutor | None = None  # posts an upload (started by the first one)
        self.central_list_version: int | None = None
        self.list_version_heard_at = float("-inf")  # time.monotonic() of the last reply that told central's version
        self.list_format = edge_lists.FORMAT_QUERY  # lowered once if central is older (answers 422 to it)
        self.last_report_mono = float("-inf")
        self.drain_failed = False  # a large drain batch failed: batch_rows until this backlog is drained
        self.contacted = False  # set when central answered an upload (read and cleared by the loop)
        self.report_retained = True  # report retained_from_seq (cleared for a central that refuses it with 422)

    def close(self) -> None:
        """Wait for an upload still on its way (at most ``timeout_s``), then close the HTTP client and the database."""
        if self._uploads is not None:
            self._uploads.shutdown(wait=True)
            self._uploads = None
        self.http.close()
        self.db.close()

    # -- the edge database ----------------------------------------------------------------------

    def _open_db(self, create: bool) -> None:
        """Open the edge database; with ``create`` False a missing file is an error, not a new database.

        Never creates the file while the edge's start-up recovery has a finished copy waiting to be
        renamed into place (``edge.db.recovered``): that would hide the recovered entries.
        """
        path = self.settings.db_path
        recovered = path.with_name(path.name + RECOVERED_SUFFIX)
        if file_identity(path) is None and (not create or recovered.exists()):
            raise DatabaseUnavailableError(f"the edge database {path} is missing (being rebuilt?)")
        db = open_db(path)
        self.db = db
        self.log = LocalLog(db)
        self.db_identity = file_identity(path)
        self._state = {}
        self._write_state(lists_max_age_s=self.settings.lists_max_age_h * 3600)

    def reopen_if_replaced(self) -> bool:
        """Reopen the edge database when the file at its path is another one (device/inode changed),
        e.g. after the edge's start-up check moved a damaged file aside and built a new one.

        Returns True when it reopened. Raises :class:`DatabaseUnavailableError` while there is no file.
        The batch in flight is dropped: its rows are read again from the new file (central keeps
        whatever it already holds once, so nothing is lost or duplicated).
        """
        current = file_identity(self.settings.db_path)
        if current is not None and current == self.db_identity:
            return False
        old = self.db
        self._open_db(create=False)
        try:
            old.close()
        except sqlite3.Error as exc:
            log.debug("closing the replaced database: %s", exc)
        self.inflight = self.next_out = None
        log.warning("the edge database %s was replaced (rebuilt?); reopened it", self.settings.db_path)
        return True

    # -- upload -----------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """What the device tells central with every upload."""
        last_seq = self.log.last_seq()  # read first: a row appended meanwhile is >= last_seq + 1
        pending_min = self.log.pending_min()
        backlog = self.log.backlog()
        meta = edge_lists.meta(self.db)
        mono_now = time.monotonic()
        pending_min = pending_min if pending_min is not None else last_seq + 1
        report: dict[str, Any] = {
            "boot_id": self.boot_id, "mono_now": mono_now, "wall_now": self.clock(), "list_version": meta.version,
            "backlog": backlog, "last_seq": last_seq, "pending_min_seq": pending_min,
            "software_version": __version__, "lists_issued_at": meta.issued_at}
        if self.report_retained:  # after a central restore it asks again only what is retained (central.resync)
            report["retained_from_seq"] = min(self.log.retained_from(), pending_min)
        trusted = self._trusted_now(mono_now)
        if trusted is not None:  # central re-dates this boot's untrusted rows by it (central.redating)
            report["trusted_now"] = trusted
        faults = self._edge_faults()
        if faults is not None:  # the checkpoint's faults now (edge.fault_history), for central's devices page
            report["faults"] = faults
        return report

    def _trusted_now(self, mono_now: float) -> float | None:
        """Central's signed time carried to ``mono_now`` when this boot is anchored (:mod:`sync.timekeeping`)."""
        anchor = Anchor.from_json(state.read_key(self.db, "server_anchor"))
        if anchor is None or anchor.boot != self.boot_id or mono_now < anchor.mono:
            return None
        return anchor.t + (mono_now - anchor.mono)

    def _edge_faults(self) -> list[dict[str, Any]] | None:
        """The faults the checkpoint wrote to the sync state (``edge_faults``), well-formed ones only; None when
        the checkpoint has written none yet (an older gate, or not started)."""
        value = state.read_key(self.db, "edge_faults")
        if not isinstance(value, list):
            return None
        return [{"code": f["code"][:40], "since": float(f["since"])} for f in value[:20]
                if isinstance(f, dict) and isinstance(f.get("code"), str) and f["code"]
                and isinstance(f.get("since"), int | float) and math.isfinite(f["since"])]

    def _post(self, path: str, content: bytes) -> dict[str, Any]:
        try:
            resp = self.http.post(path, content=content, headers={"Content-Encoding": "gzip",
                                                                  "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise TransientSyncError(f"central not reachable: {type(exc).__name__}: {exc}") from None
        return self._reply(resp)

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise TransientSyncError(f"central not reachable: {type(exc).__name__}: {exc}") from None
        return self._reply(resp)

    @staticmethod
    def _reply(resp: httpx.Response) -> dict[str, Any]:
        if resp.status_code == 200:
            try:
                data = resp.json()
            except ValueError:
                raise TransientSyncError("central sent an unreadable reply", code="server_error") from None
            if not isinstance(data, dict):
                raise TransientSyncError("central sent an unexpected reply", code="server_error")
            return data
        try:
            detail = resp.json().get("detail", "")
        except (ValueError, AttributeError):
            detail = resp.text[:200]
        if resp.status_code in PERMANENT_STATUS:
            what = {401: "central does not accept this device's token (revoked or wrong)",
                    403: "central forbids this device"}.get(resp.status_code, "central refused the upload")
            code = "token_rejected" if resp.status_code in (401, 403) else "upload_refused"
            raise RejectedError(f"{what}: HTTP {resp.status_code} {detail}".strip(), status=resp.status_code,
                                code=code)
        raise TransientSyncError(f"central answered HTTP {resp.status_code} {detail}".strip(),
                                 code="offline" if resp.status_code in (502, 503, 504) else "server_error")

    def anchor_central_time(self, signed_t: float, received_mono: float) -> None:
        """Anchor this boot to central's time (:mod:`sync.timekeeping`: the checkpoint carries it forward on the
        monotonic clock). Only a time central *signed* (a list page's ``issued_at``) anchors: an upload reply's
        ``server_time`` is not authenticated, and a forged one must not move the gate's time."""
        if math.isfinite(signed_t):
            self._write_state(server_anchor=Anchor(signed_t, received_mono, self.boot_id).as_json())

    def resend_what_central_lacks(self, gaps: object) -> int:
        """Central reports seq ranges below the first pending entry that it does not hold (``open_gaps``): after a
        restore from an older backup it lost entries it had acknowledged. Send the ones still retained again."""
        if not isinstance(gaps, list):
            return 0
        ranges = [(int(g[0]), int(g[1])) for g in gaps[:MAX_RESEND_RANGES]
                  if isinstance(g, list) and len(g) == 2 and all(isinstance(v, int) and v > 0 for v in g)]
        again = self.log.resend(ranges) if ranges else 0
        if again:
            log.warning("central lacks %d entries it had acknowledged (restored from a backup?); sending them again",
                        again)
        return again

    def probe(self) -> bool:
        """Does central answer now? A cheap ``GET /healthz`` with a short timeout (for :class:`ProbingWait`)."""
        try:
            return self.http.get("healthz", timeout=min(2.0, self.settings.timeout_s)).status_code == 200
        except httpx.HTTPError:
            return False

    def _send(self, batch: Batch) -> dict[str, Any]:
        """Post the batch with a fresh report. A central older than this gate refuses the report's
        ``retained_from_seq`` with 422 naming it: the gate then stops reporting it and sends the same batch again
        at once (as the list format falls back, :meth:`_get_page`); that central never asks for lost entries."""
        try:
            return self._post_upload(self._encode(batch), batch)
        except RejectedError as exc:
            if exc.status != 422 or not self.report_retained or "retained_from_seq" not in str(exc):
                raise
        self.report_retained = False
        log.warning("central refused the report field retained_from_seq (an older central?): leaving it out")
        return self._post_upload(self._encode(batch), batch)

    def _post_upload(self, body: bytes, batch: Batch) -> dict[str, Any]:
        """Post an upload. The gate and central work in turn on one upload (the gate reads and encodes its rows,
        central stores them); so, for a batch of rows, the post goes from a worker thread and this thread reads
        the batch after it meanwhile (:meth:`_read_ahead`). Nothing is marked synced here: that waits for the
        reply, as before. At most two batches are held: this one and the next."""
        if not batch.seqs:
            return self._post("api/v1/upload", body)
        if self._uploads is None:
            self._uploads = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatepass-upload")
        posted = self._uploads.submit(self._post, "api/v1/upload", body)
        try:
            self.next_out = self._read_ahead(batch)
        except sqlite3.Error as exc:  # only a head start lost: the next batch is read when its turn comes
            log.warning("could not read the next batch ahead: %s", exc)
        finally:
            futures.wait([posted])
        return posted.result()

    def _read_ahead(self, batch: Batch) -> Batch | None:
        """The batch to send after ``batch`` (None when no entry waits beyond it), by the limits the gate will
        have once ``batch`` is confirmed."""
        beyond = self.log.backlog() - len(batch.seqs)
        if beyond <= 0 or batch.after is None:
            return None
        out = self.log.next_batch(*self._limits(beyond), after=batch.after)
        self.next_backlog = beyond
        return Batch.of(out) if out.rows else None

    def _encode(self, batch: Batch) -> bytes:
        return batch.body(self.report())

    def batch_limits(self) -> tuple[int, int]:
        """(rows, bytes) of the next batch: ``batch_rows``/``batch_bytes`` in the steady state (a batch within
        seconds of an entry); ``drain_rows``/``drain_bytes`` (when larger) while more than ``batch_rows`` entries
        wait, so a backlog drains in fewer uploads, each one durable commit at central; ``batch_rows`` again for the
        rest of a backlog once a large batch failed to get through (a link too weak for it)."""
        backlog = self.log.backlog()
        if backlog <= self.settings.batch_rows:
            self.drain_failed = False  # the next backlog tries large batches again
        return self._limits(backlog)

    def _limits(self, backlog: int) -> tuple[int, int]:
        """:meth:`batch_limits` for ``backlog`` entries waiting."""
        s = self.settings
        if s.drain_rows > s.batch_rows and backlog > s.batch_rows and not self.drain_failed:
            return s.drain_rows, max(s.drain_bytes, s.batch_bytes)
        return s.batch_rows, s.batch_bytes

    def upload_once(self) -> int:
        """Send one batch (or a heartbeat report when due); returns how many entries central confirmed.

        Raises :class:`TransientSyncError` (retry later) or :class:`RejectedError` (alarm).
        """
        self.reopen_if_replaced()
        if self.inflight is None:
            self.inflight, self.next_out = self.next_out, None
            if self.inflight is None:
                self.inflight = self._take()
                if self.inflight is None:
                    return 0
            elif self.next_backlog <= self.settings.batch_rows:
                self.drain_failed = False  # as batch_limits() does: the next backlog tries large batches again
        batch = self.inflight
        try:
            try:
                reply = self._send(batch)
            except SyncError as exc:
                self._send_failed(batch, exc)
                raise
            return self._confirmed(batch, reply)
        except BaseException:
            self.next_out = None  # read ahead on what did not go as planned: the next batch is read again
            raise

    def _take(self) -> Batch | None:
        """A new batch of the entries waiting (its rows are not kept: only the batch's compressed body), or None
        when none waits and no heartbeat is due."""
        out = self.log.next_batch(*self.batch_limits())
        if not out.rows and time.monotonic() - self.last_report_mono < self.settings.heartbeat_s:
            return None
        return Batch.of(out)

    def _send_failed(self, batch: Batch, exc: SyncError) -> None:
        """After a failed upload: keep ``batch`` for an identical re-send, except a batch central spoiled (409)
        and a large drain batch that did not get through (its rows go again in small batches)."""
        if isinstance(exc, RejectedError) and exc.status == 409:  # that id is spoiled; the rows go again in a new one
            self.inflight = None
        elif isinstance(exc, TransientSyncError) and len(batch.seqs) > self.settings.batch_rows:
            # a large drain batch did not get through: perhaps more than this link carries within the timeout
            # (a weak mobile link). Its rows go again in batches of batch_rows for the rest of this backlog:
            # central keeps each entry once by its uuid, whichever batch brings it
            self.inflight = None
            self.drain_failed = True

    def _confirmed(self, batch: Batch, reply: dict[str, Any]) -> int:
        """Central answered the upload of ``batch``: mark what it holds of it synced; returns how many."""
        self.last_report_mono = time.monotonic()
        self.contacted = True
        try:
            held = held_of(reply.get("held", []), batch.seqs)  # only rows of this very batch are marked synced
        except ProtocolError as exc:
            raise TransientSyncError(f"central sent a malformed reply: {exc}", code="server_error") from None
        if held:
            self.log.mark_synced(sorted(held))
        self.inflight = None
        if isinstance(reply.get("list_version"), int):
            self.central_list_version = reply["list_version"]
            self.list_version_heard_at = time.monotonic()
        # the reply's server_time is not signed: it neither anchors nor raises the gate's clock floor (only a
        # verified list page's issued_at does, in fetch_lists); a forged 2100 would make every pass expired
        if self.resend_what_central_lacks(reply.get("open_gaps")):
            self.next_out = None  # entries to send again: the next batch is read again, with them in their place
        missing = batch.seqs - held
        if missing:
            raise RejectedError(f"central holds these entries' ids {sorted(missing)[:5]}... under another device "
                                "(a copied log?); they stay here", code="seq_conflict")
        return len(held)

    # -- lists --------------------------------------------------------------------------------------

    def lists_behind(self) -> bool:
        """True when central said it has a newer list version than the one held."""
        return self.central_list_version is not None and \
            self.central_list_version > edge_lists.meta(self.db).version

    def fetch_lists(self) -> int:
        """Fetch, verify and apply list pages until up to date; returns the version held."""
        self.reopen_if_replaced()
        for _ in range(1000):
            held = edge_lists.meta(self.db)
            envelope = self._get_page()
            received = time.monotonic()
            try:
                page = verify_envelope(self.public_key, envelope)
            except SignatureError as exc:
                raise RejectedError(f"list page refused: {exc}", code="lists_refused") from None
            if held.server_time is not None and page["valid_until"] < held.server_time:
                raise RejectedError("list page refused: it expired before a time central already confirmed "
                                    "(a replayed old page?)", code="lists_refused")
            try:
                version = edge_lists.apply_page(self.db, page)
            except edge_lists.ListError as exc:
                raise RejectedError(f"list page refused: {exc}", code="lists_refused") from None
            self.central_list_version = max(self.central_list_version or 0, version)
            self._write_state(list_version=version, list_updated_at=float(page["issued_at"]))
            self.anchor_central_time(float(page["issued_at"]), received)
            if not page.get("more"):
                return version
        return edge_lists.meta(self.db).version

    def _get_page(self) -> dict[str, Any]:
        """The next signed list page, in the newest list format central answers: a central older than this
        gate refuses the newer format with 422, and the gate then asks the one before (a gate upgraded before
        its central keeps receiving lists; the guards central keeps arrive once central is upgraded too)."""
        while True:
            since = edge_lists.ask_since(self.db, self.list_format)
            try:
                return self._get("api/v1/changes", {"since": since, "format": self.list_format})
            except RejectedError as exc:
                if exc.status != 422 or self.list_format <= 1:
                    raise
                self.list_format -= 1
                log.warning("central refused list format %d (an older central?): asking format %d",
                            self.list_format + 1, self.list_format)

    # -- state for the guard screen -----------------------------------------------------------------

    def note_error(self, code: str, kind: str, detail: str = "") -> None:
        """Record a failure for the guard screen: ``last_error`` in plain zh-CN words (``last_error_en`` in
        English) for the message ``code`` of :mod:`sync.messages`, the technical ``detail`` apart.
        Never raises (the database may be the problem)."""
        try:
            self._write_state(last_error=messages.text(code, "zh"), last_error_en=messages.text(code, "en"),
                              last_error_code=code, last_error_detail=detail[:500], error_kind=kind,
                              backlog=self.log.backlog())
        except sqlite3.Error as exc:
            log.error("cannot record the sync state: %s", exc)

    def _write_state(self, **values: Any) -> None:
        changed = {k: v for k, v in values.items() if self._state.get(k, object()) != v}
        if changed:
            state.write(self.db, **changed)
            self._state.update(changed)


def _start_client(settings: SyncSettings, stop: threading.Event,
                  clock: Callable[[], float]) -> SyncClient | None:
    """The client, once the edge database can be opened (it may be being rebuilt); None if stopped first."""
    failures = 0
    while not stop.is_set():
        try:
            return SyncClient(settings, clock=clock)
        except (DatabaseUnavailableError, sqlite3.Error) as exc:
            failures += 1
            wait = full_jitter(failures, settings.backoff_base_s, settings.backoff_cap_s)
            log.warning("cannot open the edge database (%s); retry in %.1f s", exc, wait)
            stop.wait(wait)
    return None


def lists_wanted(now: float, *, due: float, behind: Callable[[], bool], heard_at: float, fetched_at: float,
                 interval_s: float, refresh_s: float) -> bool:
    """Whether the sync loop fetches list pages now (all times on one monotonic clock, s).

    At once when central said it holds a newer list version (``behind()``, asked only while the regular fetch is
    not ``due``). When due (``interval_s`` after the last attempt), only if no reply told central's version within
    ``interval_s`` (``heard_at``) or the last signed page is ``refresh_s`` old (``fetched_at``): every upload and
    heartbeat reply carries central's list version, so a gate that hears "unchanged" a minute does not also ask
    for an empty page every minute (a third of a busy fleet's requests), and a change still reaches it with the
    next reply."""
    if now < due:
        return behind()
    return now - heard_at >= interval_s or now - fetched_at >= refresh_s or behind()


@dataclass
class _Round:
    """What one upload round decided: how long to wait, whether central answered, whether to probe meanwhile."""

    wait: float
    answered: bool = False
    probing: bool = False


class _Loop:
    """The sync loop's state between rounds (failures, when lists and the state row are due)."""

    def __init__(self, client: SyncClient, settings: SyncSettings, clock: Callable[[], float]) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.failures = 0
        self.lists_due = 0.0
        self.lists_fetched_at = float("-inf")  # time.monotonic() of the last list fetch that succeeded
        self.state_written = float("-inf")

    def _backoff(self) -> float:
        self.failures += 1
        return full_jitter(self.failures, self.settings.backoff_base_s, self.settings.backoff_cap_s)

    def upload_round(self) -> _Round:
        """Send what is pending; never raises (every failure is reported on the guard screen and logged)."""
        client = self.client
        try:
            client.upload_once()
        except (TransientSyncError, sqlite3.Error) as exc:
            wait = self._backoff()
            log.warning("upload failed (%s); retry in %.1f s", exc, wait)
            client.note_error(exc.code if isinstance(exc, TransientSyncError) else "db_unavailable", "network",
                              str(exc))
            return _Round(wait, probing=isinstance(exc, TransientSyncError))
        except RejectedError as exc:
            self.failures += 1
            log.error("ALARM: %s; entries are kept, next try in %.0f s", exc, self.settings.backoff_cap_s)
            client.note_error(exc.code, "rejected", str(exc))
            # answered: a refused upload must not keep revocations and quarantine from the gate
            return _Round(self.settings.backoff_cap_s, answered=True)
        except Exception as exc:  # noqa: BLE001 - the loop reports and goes on; it must never die
            wait = self._backoff()
            log.exception("sync round failed unexpectedly; retry in %.1f s", wait)
            client.note_error("internal", "network", f"internal error: {exc}")
            return _Round(wait)
        self.failures = 0
        backlog = client.log.backlog()
        if client.contacted and (not backlog or client._state.get("last_error")
                                 or time.monotonic() - self.state_written > 5):
            client._write_state(last_upload_at=self.clock(), backlog=backlog, last_error=None, last_error_en=None,
                                last_error_code=None, last_error_detail=None, error_kind=None)
            self.state_written = time.monotonic()
        client.contacted = False
        return _Round(0 if backlog else self.settings.interval_s, answered=True)

    def lists_round(self) -> None:
        """Bring lists down when central says the gate is behind or they are due (:func:`lists_wanted`); never
        raises."""
        s, now = self.settings, time.monotonic()
        if not lists_wanted(now, due=self.lists_due, behind=self.client.lists_behind,
                            heard_at=self.client.list_version_heard_at, fetched_at=self.lists_fetched_at,
                            interval_s=s.lists_interval_s, refresh_s=s.lists_refresh_s):
            return
        try:
            self.client.fetch_lists()
            self.lists_fetched_at = time.monotonic()
            self.lists_due = self.lists_fetched_at + s.lists_interval_s
        except (SyncError, sqlite3.Error) as exc:
            self.lists_due = time.monotonic() + full_jitter(2, self.settings.backoff_base_s,
                                                            self.settings.backoff_cap_s)
            log.warning("lists not updated: %s", exc)
            code = "lists_refused" if isinstance(exc, RejectedError) else "lists_offline"
            self.client.note_error(code, "lists", f"lists: {exc}")


def run(settings: SyncSettings, stop: threading.Event | None = None, *,
        clock: Callable[[], float] = time.time) -> None:
    """Run the sync loop until ``stop`` is set (or SIGTERM/SIGINT when in the main thread)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = _start_client(settings, stop, clock)
    if client is None:
        return
    log.info("syncing %s with %s", settings.db_path, settings.central_url)
    loop = _Loop(client, settings, clock)
    waiting = ProbingWait(stop, client.probe, settings.probe_interval_s)
    try:
        while not stop.is_set():
            round_ = loop.upload_round()
            if round_.answered:
                loop.lists_round()
            if round_.wait:
                waiting.wait(round_.wait, probing=round_.probing)
    finally:
        client.close()
