"""The guard's "now inside" list of visitors, the one-tap exit and the recent visitor by phone (JSON POSTs under
``/api/visitors/``).

Both pass :func:`edge.web.deps.check_action` and need a signed-in guard (the list holds names and phones). The exit
is committed to the local log before the answer (:meth:`edge.guard_desk.GuardDesk.record_visitor_exit`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from edge.web.actions import run_action
from edge.web.deps import Checkpoint, GuardId, check_action, json_form

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/visitors", dependencies=[Depends(check_action)])


class ExitForm(BaseModel):
    """The visit whose visitor left (the uuid of its entry, from the list)."""

    model_config = ConfigDict(extra="forbid")

    visit_uuid: str = Field(pattern=r"^[0-9A-Za-z_.:-]{1,64}$")


class RecentForm(BaseModel):
    """A phone number typed on the visitor form."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=30)


Exit = Annotated[ExitForm, Depends(json_form(ExitForm))]
Recent = Annotated[RecentForm, Depends(json_form(RecentForm))]


@router.post("/recent")
async def recent(guard_id: GuardId, body: Recent, checkpoint: Checkpoint) -> dict:
    """The latest visit at this gate of the visitor with this phone (to pick them again), or ``visitor: null``."""
    return {"ok": True, "visitor": await run_action(checkpoint.recent_visitor, guard_id, body.phone)}


@router.post("/inside")
async def inside(guard_id: GuardId, checkpoint: Checkpoint) -> dict:
    """Visitors let in (within a day) who have not left, longest inside first, with their minutes inside."""
    return {"ok": True, "inside": await run_action(checkpoint.visitors_inside)}


@router.post("/exit")
async def visitor_exit(guard_id: GuardId, body: Exit, checkpoint: Checkpoint) -> dict:
    """Record that a visitor left; the list as it is now."""
    done = await run_action(checkpoint.record_visitor_exit, guard_id, body.visit_uuid)
    return {"ok": True, "exit": done, "inside": await run_action(checkpoint.visitors_inside)}
