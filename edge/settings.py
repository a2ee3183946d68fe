"""Settings of the checkpoint service (``gatepass edge run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from drivers.config import CameraConfig, RelayConfig, ScannerConfig, ThermometerConfig
from gatepass.config import Section, ServiceSettings


class GateSection(Section):
    """What this gate is and how it is kept."""

    id: str = Field("gate-1", description="This gate's id, as passes name it in their allowed-gates list.")
    community: str = Field("community", description="The community (residential compound) this gate belongs to.")
    name: str = Field("东门", description="Name shown on the guard screen.")
    direction: Literal["in", "out", "both"] = Field("both", description="Which way people pass here.")
    mode: Literal["guarded", "unattended"] = Field("guarded", description="guarded: a guard may override; "
                                                   "unattended: policy alone, lights and voice.")


class GuardPageSection(Section):
    """The local guard screen web server."""

    host: str = Field("127.0.0.1", description="Listen address (127.0.0.1 for a kiosk on the Pi itself).")
    port: int = Field(8080, description="Listen TCP port.", ge=1, le=65535)


class EdgeSettings(ServiceSettings):
    """Everything ``gatepass edge run`` needs; file ``edge.toml``, variables ``GATEPASS_EDGE_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEPASS_EDGE_", extra="forbid", env_nested_delimiter="__")

    device_id: str = Field("gate-1", description="Device id registered at central (informational; "
                           "central identifies the device by its token).")
    data_dir: Path = Field(Path("/var/lib/gatepass"), description="Directory of the local SQLite log and state.")
    gate: GateSection = Field(default_factory=GateSection)
    thermometer: ThermometerConfig = Field(default_factory=ThermometerConfig)
    camera: CameraConfig = Field(default_factory=CameraConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    relay: RelayConfig = Field(default_factory=RelayConfig)
    guard_page: GuardPageSection = Field(default_factory=GuardPageSection)

    @property
    def db_path(self) -> Path:
        """The local log database file."""
        return self.data_dir / "edge.db"
