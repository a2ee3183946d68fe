"""Settings of the device-side sync service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from gatepass.config import ServiceSettings


class SyncSettings(ServiceSettings):
    """``gatepass sync run`` on the device; file ``sync.toml``, variables ``GATEPASS_SYNC_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEPASS_SYNC_", extra="forbid", env_nested_delimiter="__")

    central_url: str = Field(description="Base URL of the central server, e.g. https://central.example/ .")
    device_token: SecretStr = Field(description="This device's credential (printed once by "
                                    "'gatepass central add-device'). Secret: no default.")
    data_dir: Path = Field(Path("/var/lib/gatepass"), description="Directory holding the edge's SQLite log.")
    batch_rows: int = Field(500, description="Most entries per upload batch (rows).", ge=1, le=10000)
    batch_bytes: int = Field(256_000, description="Most bytes per upload batch before gzip (bytes).", ge=1024)
    interval_s: float = Field(2.0, description="Pause between sync rounds when idle (seconds).", gt=0)
    backoff_cap_s: float = Field(300.0, description="Longest wait between retries after failures (seconds).", gt=0)
    timeout_s: float = Field(15.0, description="HTTP timeout per request (seconds).", gt=0)
    central_public_key: str = Field(description="Central's list-signing public key (PEM text, or the path of a "
                                    "PEM file), printed by 'gatepass central add-device'; every list page "
                                    "must verify against it.")
    backoff_base_s: float = Field(1.0, description="First retry wait after a failure; doubles per failure, "
                                  "with full jitter, up to backoff_cap_s (seconds).", gt=0)
    probe_interval_s: float = Field(2.0, description="While a retry waits after a network failure, ask central's "
                                    "/healthz this often and retry at once when it answers, so entries flow seconds "
                                    "after the network is back (seconds; 0: no probing).", ge=0)
    lists_interval_s: float = Field(60.0, description="How often to ask central for list changes when it "
                                    "reports none (seconds).", gt=0)
    heartbeat_s: float = Field(60.0, description="Report to central at least this often even with nothing "
                               "to send (seconds).", gt=0)
    lists_max_age_h: float = Field(24.0, description="Lists older than this are shown as stale on the guard "
                                   "screen (hours).", gt=0)

    @property
    def db_path(self) -> Path:
        """The edge's local log database file (shared in WAL mode)."""
        return self.data_dir / "edge.db"
