"""The vehicle lane on the guard page: register a vehicle, the vehicles now inside and the one-tap exit (JSON POSTs
under ``/api/vehicles/``).

Every route passes :func:`edge.web.deps.check_action`; all but ``lane`` need a signed-in guard (plates, names and
phones). A form with bad fields answers 422 with ``fields``: ``{field: {"zh-CN", "en"}}``, the reason the page shows
under each field, and nothing is recorded. The vehicle and its exit are committed to the local log before the answer
(:class:`edge.vehicle_book.VehicleDesk`); the checkpoint's refusals answer 409 in plain words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.vehicle_fields import PURPOSES, VehicleForm, field_errors
from edge.web.deps import Checkpoint, GuardId, check_action, json_form
from edge.web.errors import ScreenError, refusal_error
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(prefix="/api/vehicles", dependencies=[Depends(check_action)])

#: The vehicle desk's refusals (by the start of their message) in the page's words: (code, zh-CN, English).
REFUSALS: tuple[tuple[str, str, str, str], ...] = (
    ("this gate is not a vehicle lane", "not_vehicle_lane", "本门岗不是车辆通道，不能登记车辆",
     "This gate is no vehicle lane: vehicles are not registered here"),
    ("no recent resident scan for the driver", "no_resident_scan", "找不到刚才扫码通过的住户，请让驾驶人重新扫码",
     "No resident was let through by a scan just now: scan the driver's pass again"),
    ("no such visitor on the now-inside list", "not_inside", "在场访客名单中没有这位访客，请刷新",
     "This visitor is not on the now-inside list: refresh it"),
    ("no such vehicle on the now-inside list", "vehicle_not_inside", "在场车辆名单中没有这辆车，请刷新",
     "This vehicle is not on the now-inside list: refresh it"),
    ("this vehicle has already left", "vehicle_left", "这辆车已登记离开", "This vehicle has already left"),
)


class ExitForm(BaseModel):
    """The vehicle that left (the uuid of its entry, from the list)."""

    model_config = ConfigDict(extra="forbid")

    vehicle_uuid: str = Field(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")


Exit = Annotated[ExitForm, Depends(json_form(ExitForm))]


async def _run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; a refusal becomes a 409 in the page's words."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except (GatepassError, ValueError, LookupError) as exc:
        text = str(exc)
        log.warning("vehicle action %s refused: %s", getattr(fn, "__name__", fn), text)
        for start, code, zh, en in REFUSALS:
            if text.startswith(start):
                raise ScreenError(409, code, zh, en) from None
        raise refusal_error(exc) from None


@router.post("/lane")
async def lane(checkpoint: Checkpoint) -> dict:
    """Whether this gate is a vehicle lane and the purposes it admits (with their names), in the page's order."""
    allowed = set(await _run(checkpoint.vehicle_lane))
    return {"ok": True, "lane": bool(allowed),
            "purposes": [{"key": k, "zh-CN": v["zh-CN"], "en": v["en"], "allowed": k in allowed}
                         for k, v in PURPOSES.items()]}


@router.post("/register", response_model=None)
async def register(request: Request, guard_id: GuardId, checkpoint: Checkpoint) -> dict | JSONResponse:
    """Register a vehicle: let in (its outcome) or refused for its purpose (logged, the reason in ``detail``);
    bad fields: 422 with each field's reason, nothing recorded."""
    try:
        form = VehicleForm.model_validate(await request.json())
    except ValueError as exc:  # not JSON, or a ValidationError
        fields = field_errors(exc) if isinstance(exc, ValidationError) else {}
        zh = "；".join(f["zh-CN"] for f in fields.values()) or "请求格式错误"
        en = "; ".join(f["en"] for f in fields.values()) or "Request is not JSON"
        return JSONResponse({"error": "invalid", "message_zh": zh, "message_en": en, "fields": fields},
                            status_code=422)
    outcome = await _run(checkpoint.register_vehicle, guard_id, form)
    return {"ok": True, "outcome": outcome.to_json(), "plate": form.plate}  # the plate as written (京AD12345)


@router.post("/inside")
async def inside(guard_id: GuardId, checkpoint: Checkpoint) -> dict:
    """Vehicles let in (within a day) that have not left, longest inside first, with their minutes inside."""
    return {"ok": True, "inside": await _run(checkpoint.vehicles_inside)}


@router.post("/exit")
async def vehicle_exit(guard_id: GuardId, body: Exit, checkpoint: Checkpoint) -> dict:
    """Record that a vehicle left; the list as it is now."""
    done = await _run(checkpoint.record_vehicle_exit, guard_id, body.vehicle_uuid)
    return {"ok": True, "exit": done, "inside": await _run(checkpoint.vehicles_inside)}
