"""Settings of the checkpoint service (``gatepass edge run``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from drivers.config import DeviceSettings
from edge.screen_settings import ScreenSection, VoiceSection
from gatepass.config import Section, ServiceSettings
from sync.settings import DEFAULT_PROFILE, PROFILE_HELP, with_profile


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
    vehicle_lane: bool = Field(False, description="A vehicle lane: the guard registers vehicles here (plate, "
                               "driver, purpose); central's policy 'vehicle_lanes' wins when it names this gate.")
    vehicle_purposes: list[Literal["resident", "delivery", "medical", "works", "other"]] = Field(
        ["resident", "delivery", "medical", "works", "other"], description="At a vehicle lane, the purposes vehicles "
        "may enter for (resident, delivery, medical, works, other); others are refused with the reason.")


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


SET_PIN = "gatepass edge set-pin --config /etc/gatepass/edge.toml --guard"
PINS_IN_CONFIG = (f"PIN 不能写在配置文件里：请删除 [guards] pins，用 `{SET_PIN} 工号` 设置（PIN 加密存于设备数据库）"
                  f" / PINs may not be in a config file: remove [guards] pins and set each with `{SET_PIN} ID` "
                  "(kept peppered and hashed in the device database)")


class GuardsSection(Section):
    """Guards who may sign in at this gate. Their PINs are never in this file: set each with
    ``gatepass edge set-pin --guard ID`` (stored peppered and hashed in the device database)."""

    @model_validator(mode="before")
    @classmethod
    def _no_pins_here(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pins" in data:
            raise ValueError(PINS_IN_CONFIG)
        return data


class DemoSection(Section):
    """Demo only: present passes from a file to the simulated camera in turn."""

    passes_file: Path | None = Field(None, description="File with one pass text per line (empty: no feeder).")
    interval_s: float = Field(6.0, description="Seconds between two presented passes (seconds).", gt=0)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a listen or client address, or ``localhost``) is this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class GuardPageSection(Section):
    """The local guard screen web server (see edge/web/README.md: "Who may see the page")."""

    host: str = Field("127.0.0.1", description="Listen address (127.0.0.1 for a kiosk on the Pi itself; any other "
                      "needs allow_remote, and allow_clients or TLS).")
    port: int = Field(8080, description="Listen TCP port.", ge=1, le=65535)
    allow_remote: bool = Field(False, description="Listen on a non-loopback address (a kiosk on another machine; "
                               "it must be paired with `gatepass edge kiosk pair`) (true/false).")
    allow_clients: list[IPvAnyNetwork] = Field(default_factory=list, description="Client addresses or networks "
                                               "that may connect from elsewhere, e.g. [\"192.168.1.50/32\"] "
                                               "(empty: any, only with TLS).")
    server_names: list[str] = Field(default_factory=list, description="Extra host names or addresses the page is "
                                    "opened by (its URL's host, e.g. \"192.168.1.20\" or \"gate1.lan\"); loopback "
                                    "names and the listen address are always allowed.")
    tls_cert: Path | None = Field(None, description="TLS certificate (PEM) to serve the page over https.")
    tls_key: Path | None = Field(None, description="TLS private key (PEM) of tls_cert.")
    local_kiosk: bool = Field(True, description="A browser on the Pi itself (a loopback client) counts as the paired "
                              "kiosk; set false when a proxy on the Pi forwards other clients (true/false).")

    @model_validator(mode="after")
    def _remote_needs_care(self) -> GuardPageSection:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert 和 tls_key 须同时设置 / set both tls_cert and tls_key, or neither")
        if is_loopback(self.host):
            return self
        if not self.allow_remote:
            raise ValueError(f"监听 {self.host} 会让局域网访问保安页面：确需如此请设置 allow_remote = true 并配置 "
                             f"allow_clients 或 TLS / listening on {self.host} exposes the guard page to the "
                             "network: set allow_remote = true with allow_clients and/or tls_cert + tls_key")
        if not self.allow_clients and self.tls_cert is None:
            raise ValueError("allow_remote 需要 allow_clients（允许的终端地址）或 TLS 证书 / allow_remote needs "
                             "allow_clients (the kiosk's address) or tls_cert + tls_key")
        return self


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
    enrolled_profile: Path = Field(DEFAULT_PROFILE, description=PROFILE_HELP)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Variables, then the enrolled profile's ``[edge]`` table, then edge.toml (see sync.settings)."""
        return with_profile("edge", settings_cls, init_settings, env_settings, file_secret_settings)

    @property
    def db_path(self) -> Path:
        """The local log database file."""
        return self.data_dir / "edge.db"
