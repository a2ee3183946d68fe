"""The guard's actions, JSON POSTs under ``/api/``: sign in and out, override, health code colour, visitor,
direction, mute.

Every action passes :func:`edge.web.deps.check_action` (a paired kiosk, the page's token, same origin, guarded
mode); all but sign-in need a signed-in shift, whose guard id is the one logged. Sign-in is throttled
(:class:`edge.web.pin_guard.PinGuard`: wrong PINs counted before the check, one argon2 check at a time).
Checkpoint calls run in a worker thread; their refusals (:class:`GatepassError`, ``ValueError``,
``LookupError``) answer 409, in plain words when known (:func:`edge.web.errors.refusal_error`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Request

from edge.handover import NoteError, clean_note
from edge.screen_forms import DirectionForm, HealthCodeForm, MuteForm, OverrideForm, SignInForm, VisitorForm
from edge.web.deps import Checkpoint, GuardId, Page, Settings, Voice, check_action, json_form
from edge.web.errors import ScreenError, refusal_error
from edge.web.handover import HandOverForm
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(prefix="/api", dependencies=[Depends(check_action)])

SignIn = Annotated[SignInForm, Depends(json_form(SignInForm))]
Override = Annotated[OverrideForm, Depends(json_form(OverrideForm))]
Visitor = Annotated[VisitorForm, Depends(json_form(VisitorForm))]
Direction = Annotated[DirectionForm, Depends(json_form(DirectionForm))]
Mute = Annotated[MuteForm, Depends(json_form(MuteForm))]
HealthCode = Annotated[HealthCodeForm, Depends(json_form(HealthCodeForm))]
HandOver = Annotated[HandOverForm, Depends(json_form(HandOverForm))]


async def run_action(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; a refusal becomes a 409 :class:`ScreenError` with its words."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except ScreenError:
        raise
    except (GatepassError, ValueError, LookupError) as exc:  # guard-desk, log and list errors
        log.warning("guard action %s refused: %s", getattr(fn, "__name__", fn), exc)
        raise refusal_error(exc) from None


@router.post("/shift/start")
async def shift_start(request: Request, body: SignIn, page: Page, checkpoint: Checkpoint) -> dict:
    """Sign a guard in: counted as a wrong PIN before the check (lockout), checked one at a time off the loop."""
    attempt = page.pins.begin()
    client = request.client.host if request.client else "?"
    ok = await run_action(page.pins.check, client, functools.partial(checkpoint.start_shift, body.guard_id, body.pin))
    if not ok:
        raise ScreenError(401, "bad_pin", "工号或PIN码错误", "Wrong guard ID or PIN")
    page.pins.succeeded(attempt)
    log.info("guard %s signed in", body.guard_id)
    last = await run_action(checkpoint.last_hand_over)
    handover = asdict(last) if last is not None and last.note and last.guard_id != body.guard_id else None
    return {"ok": True, "guard_id": body.guard_id, "handover": handover}


@router.post("/shift/end")
async def shift_end(guard_id: GuardId, body: HandOver, checkpoint: Checkpoint) -> dict:
    """Sign the guard out with their hand-over note (saved in the local log before this answers); the summary."""
    try:
        note = clean_note(body.note)
    except NoteError as exc:
        raise ScreenError(422, "bad_note", exc.zh, exc.en) from None
    summary = await run_action(checkpoint.end_shift, note)
    log.info("guard %s signed out", guard_id)
    return {"ok": True, "summary": asdict(summary) if summary is not None else None, "note": note}


@router.post("/override")
async def override(guard_id: GuardId, body: Override, page: Page, checkpoint: Checkpoint) -> dict:
    """Let a refused person through, once, within the override window (a reason, a note for "other", and the
    second confirmation for quarantine, fever and health-code refusals)."""
    page.window.claim(body.ref_uuid)
    try:
        outcome = await run_action(checkpoint.override, body.ref_uuid, guard_id, body.reason, body.note,
                                   body.confirmed)
    except BaseException:
        page.window.release(body.ref_uuid)
        raise
    return {"ok": True, "outcome": outcome.to_json()}


@router.post("/health_code")
async def health_code(guard_id: GuardId, body: HealthCode, checkpoint: Checkpoint) -> dict:
    """The city health code colour the guard saw for the scan held now; the decision follows as an outcome."""
    await run_action(checkpoint.health_code_colour, body.colour, guard_id)
    log.info("guard %s saw health code %s", guard_id, body.colour)
    return {"ok": True, "colour": body.colour}


@router.post("/visitor")
async def visitor(guard_id: GuardId, body: Visitor, checkpoint: Checkpoint) -> dict:
    """Register a visitor without a pass."""
    outcome = await run_action(checkpoint.register_visitor, guard_id, body.name, body.phone,
                               body.host_household, body.reason, body.temperature_c, body.details())
    return {"ok": True, "outcome": outcome.to_json()}


@router.post("/direction")
async def direction(guard_id: GuardId, body: Direction, settings: Settings, checkpoint: Checkpoint) -> dict:
    """Choose the direction at a "both" gate (None: automatic)."""
    if settings.gate.direction != "both":
        raise ScreenError(409, "fixed_direction", "本闸口方向固定，不能切换",
                          "This gate has a fixed direction: nothing to choose")
    await run_action(checkpoint.set_direction, body.direction, guard_id)
    return {"ok": True, "chosen_direction": body.direction}


@router.post("/mute")
async def mute(guard_id: GuardId, body: Mute, voice: Voice) -> dict:
    """Mute or unmute the voice prompts (the signed-in guard's choice, logged)."""
    if voice is None:
        raise ScreenError(409, "no_voice", "未启用语音提示", "Voice prompts are not enabled")
    voice.player.set_muted(body.muted)
    log.info("guard %s %s the voice prompts", guard_id, "muted" if body.muted else "unmuted")
    return {"ok": True, "muted": body.muted}
