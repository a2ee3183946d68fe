"""The guard screen: a local web page served on the Pi, opened full-screen in a kiosk browser.

Outcomes reach the page as Server-Sent Events (``/events``) straight from
:meth:`CheckpointAPI.subscribe`; the page polls ``/status`` for devices, sync, lists, faults and the shift,
and ``/preview.jpg`` for the camera. Guard actions are JSON POSTs under ``/api/``: each needs the page's
per-process token (``X-Gatepass-Token``), a same-origin ``Origin`` when the browser sends one, and (except
sign-in and mute) a signed-in shift, whose guard id is the one logged. In unattended mode there are no
actions at all. Everything (scripts, styles) is served locally: there is no network at the gate.

Besides ``outcome`` events (new decisions) the stream carries ``notice`` events (:class:`edge.events.Notice`:
a pass shown again within the cooldown, the direction chosen at a "both" gate); the page never takes a
notice for a decision.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from starlette.middleware.trustedhost import TrustedHostMiddleware

from drivers.texts import status_text
from edge.errors import EdgeError
from edge.events import CheckpointAPI, Notice, Outcome
from edge.screen_forms import DirectionForm, MuteForm, OverrideForm, SignInForm, VisitorForm, describe_errors
from edge.settings import EdgeSettings
from edge.voice import VoiceAnnouncer, make_voice
from gatepass.errors import GatepassError
from sync.reasons import FAULTS

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
TOKEN_HEADER = "X-Gatepass-Token"
KEEPALIVE_S = 15.0
STREAM_MAX_S = 600.0  # an event stream ends after this long and the browser reconnects (bounded shutdown)


class ScreenError(EdgeError):
    """A guard action the page must refuse, with the words to show."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en


class PinGuard:
    """Locks sign-in for a while after too many wrong PINs in a row."""

    def __init__(self, attempts: int, lockout_s: float) -> None:
        self.attempts, self.lockout_s = attempts, lockout_s
        self.failures = 0
        self.locked_until = 0.0

    def check(self) -> None:
        """Raise if sign-in is locked."""
        left = self.locked_until - time.monotonic()
        if left > 0:
            raise ScreenError(429, "pin_locked", f"PIN错误次数过多，请{int(left) + 1}秒后再试",
                              f"Too many wrong PINs: try again in {int(left) + 1} s")

    def record(self, ok: bool) -> None:
        """Count a sign-in attempt."""
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.attempts:
            self.failures = 0
            self.locked_until = time.monotonic() + self.lockout_s


class OverrideWindow:
    """Which refusals the guard may still override: decided within ``window_s`` and not overridden yet.

    Fed from a checkpoint subscription drained on every status poll and override request (no thread of its
    own); the newest outcome (``checkpoint.last_outcome()``) always counts, even before the first drain.
    The page hides the override button outside the window; this makes the server refuse it too, so an old
    or already overridden refusal cannot open the gate through the API.
    """

    MAX_REMEMBERED = 256

    def __init__(self, checkpoint: CheckpointAPI, window_s: float) -> None:
        self.checkpoint, self.window_s = checkpoint, window_s
        self.sub: queue.Queue[Outcome] | None = None
        self._refusals: dict[str, float] = {}  # uuid -> t_decided (monotonic), oldest first
        self._overridden: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Subscribe to the checkpoint's outcomes."""
        if self.sub is None:
            self.sub = self.checkpoint.subscribe()

    def stop(self) -> None:
        """Unsubscribe."""
        sub, self.sub = self.sub, None
        if sub is not None:
            self.checkpoint.unsubscribe(sub)

    def _note(self, outcome: Outcome) -> None:
        if outcome.decision != "pass" and outcome.event != "override":
            self._refusals[outcome.uuid] = outcome.t_decided
            while len(self._refusals) > self.MAX_REMEMBERED:
                del self._refusals[next(iter(self._refusals))]

    def drain(self) -> None:
        """Take in the outcomes published since the last call."""
        with self._lock:
            while self.sub is not None:
                try:
                    self._note(self.sub.get_nowait())
                except queue.Empty:
                    break
            last = self.checkpoint.last_outcome()
            if last is not None:
                self._note(last)

    def claim(self, ref_uuid: str) -> None:
        """Reserve ``ref_uuid`` for one override; raises :class:`ScreenError` if it may not be overridden."""
        self.drain()
        with self._lock:
            decided = self._refusals.get(ref_uuid)
            if ref_uuid in self._overridden:
                raise ScreenError(409, "already_overridden", "该记录已放行过", "That refusal was already overridden")
            if decided is None:
                raise ScreenError(409, "refused", f"操作未完成：没有可放行的拒绝记录 {ref_uuid}",
                                  f"Not done: no refusal {ref_uuid} to override")
            if time.monotonic() - decided > self.window_s:
                raise ScreenError(409, "override_too_late", "已超过可放行时间，请让其重新扫码",
                                  "Too late to override: ask the person to scan again")
            self._overridden.add(ref_uuid)

    def release(self, ref_uuid: str) -> None:
        """Give a claim back (the override itself failed)."""
        with self._lock:
            self._overridden.discard(ref_uuid)


def outcome_event(outcome: Outcome) -> str:
    """One SSE message for ``outcome`` (``age_s``: seconds since the decision, on this host's clock)."""
    data = outcome.to_json()
    data["age_s"] = max(0.0, time.monotonic() - outcome.t_decided)
    return f"id: {outcome.seq}\nevent: outcome\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def notice_event(notice: Notice) -> str:
    """One SSE message for ``notice`` (event ``notice``, no id: it is not a decision to resume from)."""
    data = notice.to_json()
    data["age_s"] = max(0.0, time.monotonic() - notice.t_noticed)
    if data["entry"] is not None and notice.entry is not None:
        data["entry"]["age_s"] = max(0.0, time.monotonic() - notice.entry.t_decided)
    return f"event: notice\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _allowed_hosts(host: str) -> list[str] | None:
    """Host names the page answers to (None: any, when listening on every interface)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    return sorted({"127.0.0.1", "localhost", "[::1]", host})


def create_app(checkpoint: CheckpointAPI, settings: EdgeSettings, voice: VoiceAnnouncer | None = None) -> FastAPI:
    """Build the guard page for ``checkpoint``.

    ``voice``: the announcer to start and stop with the app; by default one is built from ``[voice]``
    (when enabled), so voice prompts follow the checkpoint without further wiring.
    """
    if voice is None and settings.voice.enabled:
        voice = make_voice(checkpoint, settings.voice, settings.data_dir)
    token = secrets.token_urlsafe(32)
    pins = PinGuard(settings.screen.pin_attempts, settings.screen.pin_lockout_s)
    window = OverrideWindow(checkpoint, settings.screen.override_window_s)
    guarded = settings.gate.mode == "guarded"

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        window.start()
        if voice is not None:
            voice.start()
        try:
            yield
        finally:
            window.stop()
            if voice is not None:
                await anyio.to_thread.run_sync(voice.stop)

    app = FastAPI(title="gatepass guard screen", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    hosts = _allowed_hosts(settings.guard_page.host)
    if hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    app.state.checkpoint = checkpoint
    app.state.voice = voice
    app.state.pins = pins
    app.state.override_window = window
    # Set before stopping the server: open event streams end within a second (uvicorn waits for them). The
    # checkpoint's own ``stop_event`` (edge.checkpoint.Checkpoint has one) ends them too.
    app.state.stopping = stopping = threading.Event()
    checkpoint_stop: threading.Event | None = getattr(checkpoint, "stop_event", None)

    @app.exception_handler(ScreenError)
    async def screen_error(_request: Request, exc: ScreenError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "message_zh": exc.zh, "message_en": exc.en}, status_code=exc.status)

    def page_config() -> dict[str, Any]:
        return {"mode": settings.gate.mode, "language": settings.screen.language, "token": token,
                "hold_s": settings.screen.result_hold_s, "override_window_s": settings.screen.override_window_s,
                "poll_s": settings.screen.status_poll_s, "preview": settings.screen.preview,
                "preview_interval_s": settings.screen.preview_interval_s, "gate_name": settings.gate.name,
                "direction": settings.gate.direction, "voice": voice is not None}

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True, "gate": settings.gate.id}

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        cfg = page_config()
        return templates.TemplateResponse(request, "index.html", {"cfg": cfg, "guarded": guarded,
                                                                   "lang": cfg["language"]},
                                          headers={"Cache-Control": "no-store"})

    instance = secrets.token_hex(8)  # the page reloads when this changes (a restarted service has a new token)

    @app.get("/status")
    def status() -> JSONResponse:
        window.drain()  # keeps the subscription from overflowing between overrides
        data = _status(checkpoint, voice)
        data["instance"] = instance
        return JSONResponse(data, headers={"Cache-Control": "no-store"})

    @app.get("/events")
    async def events(request: Request) -> StreamingResponse:
        stream = _event_stream(checkpoint, request, (stopping, checkpoint_stop))
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/preview.jpg")
    def preview() -> Response:
        jpeg = checkpoint.preview_jpeg() if settings.screen.preview != "off" else None
        if jpeg is None:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    def check_post(request: Request, need_shift: bool) -> str | None:
        """CSRF and mode checks; the signed-in guard's id when ``need_shift``."""
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            raise ScreenError(403, "cross_site", "拒绝来自其他网页的操作", "Cross-site request refused")
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            raise ScreenError(403, "bad_token", "页面已过期，请刷新", "Page expired: reload it")
        if not guarded:
            raise ScreenError(403, "unattended", "无人值守模式不能操作", "Unattended mode: no guard actions")
        if not need_shift:
            return None
        shift = checkpoint.status().get("shift")
        if not shift or not shift.get("guard_id"):
            raise ScreenError(403, "no_shift", "请先签到上岗", "Sign in to a shift first")
        return str(shift["guard_id"])

    async def form(request: Request, model: type[BaseModel]) -> Any:
        try:
            body = await request.json()
        except ValueError:
            raise ScreenError(400, "bad_json", "请求格式错误", "Request is not JSON") from None
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            words = describe_errors(exc)
            raise ScreenError(422, "invalid", words["message_zh"], words["message_en"]) from None

    async def call(fn: Any, *args: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except ScreenError:
            raise
        except (GatepassError, ValueError, LookupError) as exc:  # guard-desk, log and list errors
            log.warning("guard action %s refused: %s", getattr(fn, "__name__", fn), exc)
            raise ScreenError(409, "refused", f"操作未完成：{exc}", f"Not done: {exc}") from None

    @app.post("/api/shift/start")
    async def shift_start(request: Request) -> dict:
        check_post(request, need_shift=False)
        body: SignInForm = await form(request, SignInForm)
        pins.check()
        ok = await call(checkpoint.start_shift, body.guard_id, body.pin)
        pins.record(bool(ok))
        if not ok:
            raise ScreenError(401, "bad_pin", "工号或PIN码错误", "Wrong guard ID or PIN")
        log.info("guard %s signed in", body.guard_id)
        return {"ok": True, "guard_id": body.guard_id}

    @app.post("/api/shift/end")
    async def shift_end(request: Request) -> dict:
        guard_id = check_post(request, need_shift=True)
        summary = await call(checkpoint.end_shift)
        log.info("guard %s signed out", guard_id)
        return {"ok": True, "summary": asdict(summary) if summary is not None else None}

    @app.post("/api/override")
    async def override(request: Request) -> dict:
        guard_id = check_post(request, need_shift=True)
        body: OverrideForm = await form(request, OverrideForm)
        window.claim(body.ref_uuid)
        try:
            outcome = await call(checkpoint.override, body.ref_uuid, guard_id, body.reason)
        except BaseException:
            window.release(body.ref_uuid)
            raise
        return {"ok": True, "outcome": outcome.to_json()}

    @app.post("/api/visitor")
    async def visitor(request: Request) -> dict:
        guard_id = check_post(request, need_shift=True)
        body: VisitorForm = await form(request, VisitorForm)
        outcome = await call(checkpoint.register_visitor, guard_id, body.name, body.phone, body.host_household,
                             body.reason, body.temperature_c)
        return {"ok": True, "outcome": outcome.to_json()}

    @app.post("/api/direction")
    async def direction(request: Request) -> dict:
        guard_id = check_post(request, need_shift=True)
        body: DirectionForm = await form(request, DirectionForm)
        if settings.gate.direction != "both":
            raise ScreenError(409, "fixed_direction", "本闸口方向固定，不能切换",
                              "This gate has a fixed direction: nothing to choose")
        await call(checkpoint.set_direction, body.direction, guard_id)
        return {"ok": True, "chosen_direction": body.direction}

    @app.post("/api/mute")
    async def mute(request: Request) -> dict:
        check_post(request, need_shift=False)
        body: MuteForm = await form(request, MuteForm)
        if voice is None:
            raise ScreenError(409, "no_voice", "未启用语音提示", "Voice prompts are not enabled")
        voice.player.set_muted(body.muted)
        return {"ok": True, "muted": body.muted}

    return app


def _status(checkpoint: CheckpointAPI, voice: VoiceAnnouncer | None) -> dict[str, Any]:
    """``checkpoint.status()`` plus English device texts, the shift summary, voice state and the time."""
    data = dict(checkpoint.status())
    devices = {}
    for name, dev in (data.get("devices") or {}).items():
        dev = dict(dev)
        dev.setdefault("text_en", status_text(name, str(dev.get("status", "")), "en"))
        devices[name] = dev
    data["devices"] = devices
    data["faults_en"] = [_fault_en(str(f), devices) for f in data.get("faults") or []]
    summary = checkpoint.shift_summary() if data.get("shift") else None
    data["shift_summary"] = asdict(summary) if summary is not None else None
    data["voice"] = voice.player.stats() if voice is not None else None
    data["now"] = time.time()
    return data


def _fault_en(text: str, devices: dict[str, dict[str, Any]]) -> str:
    """The English words of a zh-CN fault text (the text itself when unknown)."""
    for entry in FAULTS.values():
        if entry.get("zh") == text:
            return entry.get("en", text)
    for dev in devices.values():
        if dev.get("text") == text:
            return str(dev.get("text_en") or text)
    return text


async def _event_stream(checkpoint: CheckpointAPI, request: Request,
                        stops: tuple[threading.Event | None, ...]) -> AsyncIterator[str]:
    """SSE messages: the newest outcome first, then every new outcome and notice; keep-alive comments in between.

    Ends when the client goes, when one of ``stops`` is set, or after :data:`STREAM_MAX_S` (the browser
    reconnects and gets the newest outcome again). The subscriptions are taken when the stream starts, so a
    response that is never sent (the client went first) leaves no subscriber behind.
    """
    sub: queue.Queue[Outcome] = checkpoint.subscribe()
    notes: queue.Queue[Notice] = checkpoint.subscribe_notices()

    def next_message() -> str | None:
        """The next outcome (first) or notice as an SSE message; None after a quarter second of nothing."""
        for _ in range(5):
            try:
                return outcome_event(sub.get(timeout=0.05))
            except queue.Empty:
                pass
            try:
                return notice_event(notes.get_nowait())
            except queue.Empty:
                pass
        return None

    try:
        yield "retry: 1000\n\n"
        last = checkpoint.last_outcome()
        if last is not None:
            yield outcome_event(last)
        quiet_since = opened = time.monotonic()
        while not any(s is not None and s.is_set() for s in stops) and time.monotonic() - opened < STREAM_MAX_S:
            message = await anyio.to_thread.run_sync(next_message)
            if message is not None:
                quiet_since = time.monotonic()
                yield message
                continue
            if await request.is_disconnected():
                break
            if time.monotonic() - quiet_since >= KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        checkpoint.unsubscribe(sub)
        checkpoint.unsubscribe_notices(notes)
