"""What every route of the guard page shares, built once per app and kept in ``app.state.page``."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from fastapi.templating import Jinja2Templates

from edge.events import CheckpointAPI
from edge.kiosk import KioskPairings
from edge.settings import EdgeSettings
from edge.voice import VoiceAnnouncer
from edge.web.access import KioskAccess
from edge.web.override_window import OverrideWindow
from edge.web.pin_guard import PinGuard


@dataclass
class GuardPage:
    """The guard page's context: the checkpoint, the settings, the templates, the voice and the action state.

    ``stopping``: set before stopping the server, so open event streams end within a second (uvicorn waits
    for them); the checkpoint's own ``stop_event`` (edge.checkpoint.Checkpoint has one) ends them too.
    """

    checkpoint: CheckpointAPI
    settings: EdgeSettings
    templates: Jinja2Templates
    voice: VoiceAnnouncer | None
    pins: PinGuard
    window: OverrideWindow
    kiosks: KioskAccess
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # guard actions carry it
    instance: str = field(default_factory=lambda: secrets.token_hex(8))  # a restarted service has a new one
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def build(cls, checkpoint: CheckpointAPI, settings: EdgeSettings, voice: VoiceAnnouncer | None,
              templates: Jinja2Templates) -> GuardPage:
        """The context with a fresh token, PIN lockout and override window from ``[screen]``, and the kiosk
        pairings in the device database."""
        screen = settings.screen
        kiosks = KioskAccess(KioskPairings(settings.db_path), settings.guard_page.local_kiosk)
        return cls(checkpoint, settings, templates, voice, PinGuard(screen.pin_attempts, screen.pin_lockout_s),
                   OverrideWindow(checkpoint, screen.override_window_s), kiosks)

    @property
    def guarded(self) -> bool:
        """True when a guard is at the gate (there are guard actions at all)."""
        return self.settings.gate.mode == "guarded"

    def stops(self) -> tuple[threading.Event | None, ...]:
        """The events that end the open event streams."""
        return (self.stopping, getattr(self.checkpoint, "stop_event", None))

    def start(self) -> None:
        """Subscribe the override window and start the voice (the app's startup)."""
        self.window.start()
        if self.voice is not None:
            self.voice.start()

    def stop(self) -> None:
        """Undo :meth:`start` (the app's shutdown; blocks while the voice thread ends)."""
        self.window.stop()
        self.kiosks.pairings.close()
        self.pins.close()
        if self.voice is not None:
            self.voice.stop()
