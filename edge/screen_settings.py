"""Settings of the guard screen (``[screen]``) and the voice prompts (``[voice]``) in ``edge.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from gatepass.config import Section

Language = Literal["zh-CN", "en"]


class ScreenSection(Section):
    """How the guard page looks and behaves."""

    language: Language = Field("zh-CN", description="Language the page starts in; the guard can switch.")
    result_hold_s: float = Field(6.0, description="How long a result stays on screen before the idle "
                                 "prompt returns (seconds).", ge=1, le=120)
    override_window_s: float = Field(120.0, description="How long after a refusal the guard may still override "
                                     "it from the screen (seconds).", ge=5, le=3600)
    status_poll_s: float = Field(2.0, description="How often the page asks for device and sync state (seconds).",
                                 ge=0.5, le=60)
    preview: Literal["jpeg", "off"] = Field("jpeg", description="Camera preview: jpeg = polled /preview.jpg; "
                                            "off = no preview (saves CPU on a Pi Zero).")
    preview_interval_s: float = Field(0.3, description="Pause between preview frames (seconds).", ge=0.05, le=10)
    pin_attempts: int = Field(5, description="Wrong PINs allowed before sign-in is locked (attempts).", ge=1, le=100)
    pin_lockout_s: float = Field(60.0, description="How long sign-in stays locked after too many wrong PINs "
                                 "(seconds).", ge=1, le=3600)


class VoiceSection(Section):
    """Spoken prompts for each outcome, played through ALSA."""

    enabled: bool = Field(True, description="Speak a prompt for every outcome.")
    language: Language = Field("zh-CN", description="Language of the prompts.")
    volume: int = Field(80, description="Loudness (percent of full scale).", ge=0, le=100)
    muted: bool = Field(False, description="Start muted (the guard can unmute on the screen).")
    player: list[str] = Field(["aplay", "-q"], description="Player command; the WAV file arrives on its stdin "
                              "(ALSA's aplay by default).", min_length=1)
    alsa_device: str | None = Field(None, description="ALSA device for aplay -D (e.g. plughw:1,0); none = default.")
    cache_dir: Path | None = Field(None, description="Where prompts generated with espeak-ng are kept; "
                                   "none = <data_dir>/voice.")
    max_age_s: float = Field(3.0, description="A prompt not started within this time is dropped as stale "
                             "(seconds).", gt=0, le=60)
    queue_size: int = Field(2, description="Prompts waiting to play (prompts); older ones are dropped and "
                            "counted.", ge=1, le=32)
