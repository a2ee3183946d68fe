"""Settings of the checkpoint service (``gatepass edge run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from drivers.config import DeviceSettings
from edge.screen_settings import ScreenSection, VoiceSection
from gatepass.config import Section, ServiceSettings


class GateSection(Section):
    """What this gate is and how it is kept."""

    id: str = Field("gate-1", description="This gate's id, as passes name it in their allowed-gates list.")
    community: str = Field("community", description="The community (residential compound) this gate belongs to.")
    name: str = Field("东门", description="Name shown on the guard screen.")
    direction: Literal["in", "out", "both"] = Field("both", description="Which way people pass here.")
    both_default: Literal["in", "out"] = Field("in", description="At a 'both' gate, the direction logged when "
                                               "neither the guard's choice nor the holder's last passage here "
                                               "tells it (see edge/direction.py).")
    mode: Literal["guarded", "unattended"] = Field("guarded", description="guarded: a guard may override; "
                                                   "unattended: policy alone, lights and voice.")


class ScanSection(Section):
    """How passes are read from camera frames and told apart."""

    decoder: Literal["zxing", "pyzbar"] = Field("zxing", description="QR decoder: zxing (zxing-cpp, primary, cheap "
                                               "on empty frames) or pyzbar (libzbar, alternative).")
    window: tuple[float, float, float, float] = Field(
        (0.0, 0.0, 1.0, 1.0), description="Scan window as fractions of the frame (x, y, width, height; 0-1); "
        "only this part of each frame is decoded.")
    same_scan_gap_s: float = Field(1.0, description="The same pass seen again within this many seconds of its "
                                   "last sighting is the same scan (seconds).", ge=0, le=60)
    cooldown_s: float = Field(10.0, description="A new scan of a pass within this many seconds of its first scan "
                              "is ignored (logged once) (seconds); central's policy 'cooldown_s' wins.", ge=0, le=3600)
    queue_size: int = Field(8, description="Scans waiting for a decision (scans); older ones are dropped and "
                            "counted.", ge=1, le=1000)

    @field_validator("window")
    @classmethod
    def _window_inside_frame(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x, y, w, h = v
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.0001 and y + h <= 1.0001):
            raise ValueError("the scan window must lie inside the frame: 0 <= x, y; 0 < w, h; x+w <= 1; y+h <= 1")
        return v


class PolicySection(Section):
    """Temperature and opening-hours policy (defaults; central's synced policy wins where it sets a key)."""

    fever_c: float = Field(37.3, description="Body temperature at or above which entry is refused (deg C); "
                           "central's policy 'fever_c' wins.", ge=35, le=42)
    pair_window_s: float = Field(5.0, description="After a scan, wait this long for a body-range reading "
                                 "(seconds).", gt=0, le=60)
    pair_lookback_s: float = Field(2.0, description="Readings taken up to this long before the scan also count "
                                   "(seconds).", ge=0, le=30)
    samples: int = Field(3, description="Body-range readings averaged (median) into one measurement (readings).",
                         ge=1, le=50)
    remeasure_window_s: float = Field(180.0, description="A second high measurement of the same person within "
                                      "this long makes a fever event (seconds).", gt=0, le=3600)
    no_reading: Literal["refuse", "guard"] = Field("refuse", description="No body reading in the window: refuse, "
                                                   "or let the guard decide (guarded gates only).")
    measure_on_exit: bool = Field(False, description="Also require a temperature from people leaving "
                                  "(at 'out' gates) (true/false).")
    open_hours: str = Field("", description="Opening hours, local time, e.g. '06:00-23:00' (empty: always open); "
                            "staff passes are let through outside them.")
    health_code: Literal["off", "record", "require"] = Field(
        "off", description="The city health code at a guarded gate: 'record': the guard taps the colour the phone "
        "shows after the pass is read (yellow and red refuse; no tap lets through, noted); 'require': no tap "
        "refuses; 'off': not asked.")
    health_code_wait_s: float = Field(30.0, description="How long a pass waits for the guard's health-code tap "
                                      "(seconds).", gt=0, le=300)

    @field_validator("open_hours")
    @classmethod
    def _hours_parse(cls, v: str) -> str:
        from edge.decision import parse_hours

        parse_hours(v)  # raises ValueError with the offending part
        return v


class HealthSection(Section):
    """Housekeeping: retention, disk-space floor, clock."""

    retention_days: float = Field(30.0, description="Synced entries older than this are purged (days); unsynced "
                                  "entries are never purged.", gt=0, le=3650)
    disk_floor_mb: float = Field(200.0, description="Raise an alarm when free space in data_dir falls below this "
                                 "(MB).", ge=0)
    check_interval_s: float = Field(60.0, description="How often the checks and the purge run (seconds).",
                                    gt=0, le=86400)


class IndicatorSection(Section):
    """Lights for unattended stations (green pass, red refuse, amber wait/guard)."""

    kind: Literal["none", "gpio", "fake"] = Field("none", description="none, gpio (gpiozero LEDs) or fake.")
    green_pin: int = Field(22, description="GPIO pin (BCM) of the green light.", ge=0)
    red_pin: int = Field(23, description="GPIO pin (BCM) of the red light.", ge=0)
    amber_pin: int = Field(24, description="GPIO pin (BCM) of the amber light.", ge=0)
    show_s: float = Field(3.0, description="How long a result light stays on (seconds).", gt=0, le=60)


class GuardsSection(Section):
    """Guards who may sign in at this gate (PINs are stored hashed; set with `gatepass edge set-pin`)."""

    pins: dict[str, str] = Field(default_factory=dict, description="guard id -> argon2 hash of the PIN (text); "
                                 "PINs set with `gatepass edge set-pin` live in the edge database instead.")


class DemoSection(Section):
    """Demo only: present passes from a file to the simulated camera in turn."""

    passes_file: Path | None = Field(None, description="File with one pass text per line (empty: no feeder).")
    interval_s: float = Field(6.0, description="Seconds between two presented passes (seconds).", gt=0)


class GuardPageSection(Section):
    """The local guard screen web server."""

    host: str = Field("127.0.0.1", description="Listen address (127.0.0.1 for a kiosk on the Pi itself).")
    port: int = Field(8080, description="Listen TCP port.", ge=1, le=65535)


class EdgeSettings(ServiceSettings, DeviceSettings):
    """Everything ``gatepass edge run`` needs; file ``edge.toml``, variables ``GATEPASS_EDGE_*``.

    The device sections (``[thermometer]``, ``[camera]``, ``[scanner]``, ``[relay]``) come from
    :class:`drivers.config.DeviceSettings`, so ``gatepass doctor`` and the drivers take just those.
    """

    model_config = SettingsConfigDict(env_prefix="GATEPASS_EDGE_", extra="forbid", env_nested_delimiter="__")

    device_id: str = Field("gate-1", description="Device id registered at central (informational; "
                           "central identifies the device by its token).")
    data_dir: Path = Field(Path("/var/lib/gatepass"), description="Directory of the local SQLite log and state.")
    gate: GateSection = Field(default_factory=GateSection)
    guard_page: GuardPageSection = Field(default_factory=GuardPageSection)
    scan: ScanSection = Field(default_factory=ScanSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    health: HealthSection = Field(default_factory=HealthSection)
    indicators: IndicatorSection = Field(default_factory=IndicatorSection)
    guards: GuardsSection = Field(default_factory=GuardsSection)
    demo: DemoSection = Field(default_factory=DemoSection)
    screen: ScreenSection = Field(default_factory=ScreenSection)
    voice: VoiceSection = Field(default_factory=VoiceSection)

    @property
    def db_path(self) -> Path:
        """The local log database file."""
        return self.data_dir / "edge.db"
