"""The hand-over form of the guard page: the note the guard going off duty leaves for the next one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from edge.handover import NOTE_MAX


class HandOverForm(BaseModel):
    """Signing out: an optional hand-over note (checked again by :func:`edge.handover.clean_note`)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=NOTE_MAX * 2)  # spaces are squeezed before the limit counts
