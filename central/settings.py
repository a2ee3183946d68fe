"""Settings of the central server."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from gatepass.config import Section, ServiceSettings


class RetentionSection(Section):
    """How long central keeps personal data (``[retention]``); see :mod:`central.retention`."""

    visitor_days: float = Field(28.0, description="A visitor's name, phone and reason are erased this many days "
                                "after their last entry (days).", gt=0, le=3650)
    identity_days: float = Field(180.0, description="Entries older than this lose who passed (pass, household, "
                                 "person, visitor ref., guard, temperatures, notes) and keep only what the reports "
                                 "count; ended quarantine records and the names on expired or revoked passes go too "
                                 "(days).", gt=0, le=3650)
    care_days: float = Field(30.0, description="Temperatures, needs and care notes of a home quarantine are "
                             "deleted this many days after it ended or was released; counts stay (days).", gt=0,
                             le=3650)
    screening_days: float = Field(28.0, description="People on the screening register (names, phones, health, "
                                  "calls) not imported, called or quarantined for this long are deleted; counts by "
                                  "category and last call outcome stay (days).", gt=0, le=3650)
    interval_h: float = Field(1.0, description="How often the server applies these limits (hours).", gt=0, le=168)


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
    public_url: str = Field("", description="The address residents reach the console at from their phones, e.g. "
                            "https://jiankang.example.gov.cn (printed as the self-report QR code on quarantine "
                            "notices). Empty: the address of the request that printed the notice.",
                            max_length=200, pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")
    enrolment_minutes: float = Field(30.0, description="How long the enrolment code a new gate shows stays valid "
                                     "for staff to approve it in the console (minutes).", gt=0, le=24 * 60)
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

    retention: RetentionSection = Field(default_factory=RetentionSection)

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
        """What :func:`central.db.open_db` opens: the PostgreSQL URL, or the SQLite file's path."""
        return self.database_url.get_secret_value() if self.database_url else str(self.db_path)
