"""Settings of the device-side sync service and of the central server."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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


class CentralSettings(ServiceSettings):
    """``gatepass central ...``; file ``central.toml``, variables ``GATEPASS_CENTRAL_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEPASS_CENTRAL_", extra="forbid", env_nested_delimiter="__")

    data_dir: Path = Field(Path("/var/lib/gatepass-central"), description="Directory of the central database and keys.")
    host: str = Field("127.0.0.1", description="Listen address (put TLS in a reverse proxy in front).")
    port: int = Field(8000, description="Listen TCP port.", ge=1, le=65535)
    session_secret: SecretStr = Field(description="Secret for signing staff sessions and CSRF tokens "
                                      "(32+ random bytes). Secret: no default.", min_length=16)
    timezone: str = Field("Asia/Shanghai", description="IANA time zone the console shows and reads times in "
                          "(the street office's, e.g. Asia/Shanghai); day reports run midnight to midnight here.")
    lists_max_age_h: float = Field(24.0, description="A gate whose lists are older than this is flagged "
                                   "'lists stale' on the devices page, even at the current version (hours).", gt=0)
    workers: int = Field(1, description="Server processes sharing the listening port (processes). 1: one process, "
                         "as on a small site; for a city on PostgreSQL about one per CPU core. A process that dies "
                         "is replaced.", ge=1, le=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
        return value

    database_url: SecretStr | None = Field(None, description="PostgreSQL connection URL for a central that "
                                           "outgrows one SQLite file, e.g. postgresql://gatepass@db.internal/gatepass "
                                           "(needs 'gatepass[postgres]'). Empty: SQLite in data_dir/central.db. "
                                           "May hold a password: keep it in the credentials file.")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (leave it out to use SQLite in data_dir)")
        return value

    @property
    def db_path(self) -> Path:
        """The central SQLite database file (when no ``database_url`` is set)."""
        return self.data_dir / "central.db"

    @property
    def db_target(self) -> str:
        """What :func:`sync.centraldb.open_db` opens: the PostgreSQL URL, or the SQLite file's path."""
        return self.database_url.get_secret_value() if self.database_url else str(self.db_path)
