"""Drop-off mode on the guard page (JSON POSTs under ``/api/deliveries/``): record a delivery left for a household,
the list of what is waiting, and the one-tap pickup.

Every route passes :func:`edge.web.deps.check_action` and needs a signed-in guard. A field that is wrong (company,
count, courier's phone, note, household, name) is refused with 422 and the error code ``bad_<field>``, so the page
shows the reason on that field; nothing is recorded. Records are committed to the local log before the answer
(:class:`edge.delivery_book.DeliveryDesk`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from edge import delivery_fields as f
from edge.delivery_book import Parcel
from edge.visitor_fields import FieldError
from edge.web.deps import Checkpoint, GuardId, check_action, json_form
from edge.web.errors import ScreenError, refusal_error
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(prefix="/api/deliveries", dependencies=[Depends(check_action)])

#: The desk's refusals in the page's words (by the start of their message): (code, zh-CN, English).
REFUSALS = (
    ("couriers may enter at this gate", "not_drop_off", "本闸口允许快递员进入，无需代收登记",
     "Couriers may enter at this gate: no drop-off here"),
    ("this delivery was recorded a moment ago", "repeated", "刚刚已登记过这件快递，请稍等几秒",
     "This parcel was recorded a moment ago: wait a few seconds"),
    ("no such delivery waiting", "not_waiting", "待取件名单中没有这件快递，请刷新",
     "That delivery is not waiting: refresh"),
    ("this delivery was already picked up", "already_picked_up", "这件快递已经取走了",
     "That delivery was already picked up"),
    ("no pass of this household was scanned just now", "scan_first", "请住户先扫通行证，或点“填写姓名”登记取件人",
     "Have the resident scan their pass first, or write who picks it up"),
    ("the delivery could not be saved", "not_saved", "记录未能保存（本地存储故障），请稍后重试",
     "Not saved (local storage fault): try again shortly"),
)


class DeliveryForm(BaseModel):
    """A delivery left at the gate, as the page sends it (checked by :mod:`edge.delivery_fields`)."""

    model_config = ConfigDict(extra="forbid")

    household: str = Field(max_length=200)
    company: str = Field(max_length=200)
    count: Any = None  # a number or the digits typed
    courier_phone: str = Field("", max_length=200)
    note: str = Field("", max_length=200)

    def parcel(self) -> Parcel:
        """The parsed parcel; :class:`FieldError` on the first wrong field (in the form's order)."""
        return Parcel(f.parse_household(self.household), f.parse_company(self.company), f.parse_count(self.count),
                      f.parse_courier_phone(self.courier_phone), f.parse_note(self.note))


class PickupForm(BaseModel):
    """A pickup: the delivery (its uuid, from the list), by whom ("pass", "name" with a name, "staff")."""

    model_config = ConfigDict(extra="forbid")

    delivery_uuid: str = Field(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")
    kind: Literal["pass", "name", "staff"]
    name: str = Field("", max_length=200)


Drop = Annotated[DeliveryForm, Depends(json_form(DeliveryForm))]
Pickup = Annotated[PickupForm, Depends(json_form(PickupForm))]


def field_error(exc: FieldError) -> ScreenError:
    """A 422 naming the wrong field (``bad_<field>``) with its reason."""
    return ScreenError(422, f"bad_{exc.field}", exc.zh, exc.en)


async def _act(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; a wrong field or a refusal becomes a :class:`ScreenError` in plain words."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except FieldError as exc:
        raise field_error(exc) from None
    except (GatepassError, ValueError, LookupError) as exc:
        log.warning("delivery action %s refused: %s", getattr(fn, "__name__", fn), exc)
        for start, code, zh, en in REFUSALS:
            if str(exc).startswith(start):
                raise ScreenError(409, code, zh, en) from None
        raise refusal_error(exc) from None


@router.post("")
async def record(guard_id: GuardId, body: Drop, checkpoint: Checkpoint) -> dict:
    """Record a delivery left for a household; the waiting list as it is now."""
    try:
        parcel = body.parcel()
    except FieldError as exc:
        raise field_error(exc) from None
    done = await _act(checkpoint.record_delivery, guard_id, parcel)
    return {"ok": True, "delivery": done, **await _act(checkpoint.deliveries_waiting)}


@router.post("/waiting")
async def waiting(guard_id: GuardId, checkpoint: Checkpoint) -> dict:
    """Whether this gate is in drop-off mode, and the deliveries waiting here (quarantined households first)."""
    return {"ok": True, **await _act(checkpoint.deliveries_waiting)}


@router.post("/pickup")
async def pickup(guard_id: GuardId, body: Pickup, checkpoint: Checkpoint) -> dict:
    """Record a pickup (one tap); the waiting list as it is now."""
    try:
        name = f.parse_pickup_name(body.name)
    except FieldError as exc:
        raise field_error(exc) from None
    done = await _act(checkpoint.record_pickup, guard_id, body.delivery_uuid, body.kind, name)
    return {"ok": True, "pickup": done, **await _act(checkpoint.deliveries_waiting)}
