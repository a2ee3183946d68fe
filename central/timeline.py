"""One timeline per household: everything that happened to it, newest first, from every casework source.

Each source is a function ``(db, household, since) -> list[TimelineEvent]`` (``since``: unix seconds, the oldest
event wanted). Modules with something to say about a household (passes, passages at the gates, quarantine,
temperatures, needs, deliveries, calls, alerts …) provide one and are listed in :data:`SOURCES` by dotted name (so
this module imports none of them at import time).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from central.store import CentralDB

log = logging.getLogger(__name__)

MAX_EVENTS = 500


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened to a household.

    ``kind`` names what it is (a console i18n key ``timeline_<kind>`` gives its label, e.g. ``temperature`` →
    "体温"); ``summary`` holds values only (a temperature, a name, a gate's name, a note typed by staff), never words
    that need translating; ``person`` is the member it concerns (None: the household); ``link`` a console path to
    the record, if it has a page.
    """

    at: float
    kind: str
    summary: str = ""
    person: int | None = None
    link: str | None = None
    alert: bool = False
    detail: dict[str, str] = field(default_factory=dict)


Source = Callable[[CentralDB, str, float], list[TimelineEvent]]

#: "module:function" of each source, in no particular order (events are merged by time).
SOURCES: tuple[str, ...] = (
    "central.deliveries:timeline_events",
)


def _load(spec: str) -> Source:
    module, _, name = spec.partition(":")
    source: Source = getattr(importlib.import_module(module), name)
    return source


def household_timeline(db: CentralDB, household: str, since: float = 0.0, *,
                       sources: tuple[str, ...] | None = None, limit: int = MAX_EVENTS) -> list[TimelineEvent]:
    """The household's events from every source since ``since``, newest first, at most ``limit``."""
    events: list[TimelineEvent] = []
    for spec in SOURCES if sources is None else sources:
        events.extend(_load(spec)(db, household, since))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
