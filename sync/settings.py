"""Settings of the device-side sync service."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from gatepass.config import ServiceSettings, read_toml
from sync.protocol import MAX_BATCH_BYTES, MAX_ENTRIES

log = logging.getLogger(__name__)

INSECURE_HTTP = ("中心服务器地址 central_url 是明文 http://，且不是本机：设备令牌、通行记录和名单会被网络上的人看到或篡改。"
                 "请改用 https://；确需明文时（例如隔离的内网）在 sync.toml 中设置 allow_insecure_http = true。"
                 " / central_url is plain http:// to a host that is not this machine: the device token, the entries "
                 "and the lists could be read or changed on the network. Use https://, or set "
                 "allow_insecure_http = true in sync.toml if you really must (e.g. an isolated network).")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a URL's host name, no brackets) names this machine: ``localhost`` or a loopback address."""
    host = host.strip().lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: The gate profile written by ``gatepass edge enroll`` (edge/enrol.py): its ``[edge]`` table is merged over
#: edge.toml, its ``[sync]`` table over sync.toml (the profile wins over the file; GATEPASS_* variables win over
#: both). A missing file merges nothing, so gates set up by hand work as before.
DEFAULT_PROFILE = Path("/etc/gatepass/enrolled.toml")
PROFILE_HELP = ("The gate profile written by 'gatepass edge enroll' (device id, gate, central URL); merged over "
                "this file, its keys win. Missing: nothing merged.")


class ProfileSource(PydanticBaseSettingsSource):
    """One table (``[edge]`` or ``[sync]``) of the enrolled profile, as a settings source.

    Its path is the ``enrolled_profile`` key of the config file (default :data:`DEFAULT_PROFILE`).
    """

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource, table: str) -> None:
        super().__init__(settings_cls)
        self.init = init
        self.table = table

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything comes from __call__

    def __call__(self) -> dict[str, Any]:
        kwargs = self.init.init_kwargs if isinstance(self.init, InitSettingsSource) else {}
        path = Path(kwargs.get("enrolled_profile") or DEFAULT_PROFILE)
        if not path.is_file():
            return {}
        table = read_toml(path).get(self.table, {})
        return table if isinstance(table, dict) else {}


def with_profile(table: str, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                 env_settings: PydanticBaseSettingsSource,
                 file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources of a service's settings in falling priority: variables, the enrolled profile, the file."""
    return env_settings, ProfileSource(settings_cls, init_settings, table), init_settings, file_secret_settings


class SyncSettings(ServiceSettings):
    """``gatepass sync run`` on the device; file ``sync.toml``, variables ``GATEPASS_SYNC_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEPASS_SYNC_", extra="forbid", env_nested_delimiter="__")

    central_url: str = Field(description="Base URL of the central server, e.g. https://central.example/ .")
    device_token: SecretStr = Field(description="This device's credential (printed once by "
                                    "'gatepass central add-device'). Secret: no default.")
    data_dir: Path = Field(Path("/var/lib/gatepass"), description="Directory holding the edge's SQLite log.")
    batch_rows: int = Field(500, description="Most entries per upload batch (rows).", ge=1, le=10000)
    batch_bytes: int = Field(256_000, description="Most bytes per upload batch before gzip (bytes; central "
                             "refuses bodies over 4 MiB).", ge=1024, le=MAX_BATCH_BYTES)
    drain_rows: int = Field(5000, description="Most entries per upload batch while the gate drains a backlog "
                            "larger than batch_rows (rows): fewer uploads, each one durable commit at central. "
                            "The steady state keeps batch_rows/batch_bytes.", ge=1,
                            le=MAX_ENTRIES)
    drain_bytes: int = Field(MAX_BATCH_BYTES, description="Most bytes per upload batch before gzip while draining "
                             "(bytes; a 2 MiB batch peaks at about 13 MB of the sync process's Python memory).",
                             ge=1024, le=MAX_BATCH_BYTES)
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
    lists_interval_s: float = Field(60.0, description="How often to ask central for list changes when no reply "
                                    "of central's has told the gate its list version in that time (seconds). "
                                    "Every upload and heartbeat reply tells it, and a newer version is fetched at "
                                    "once.", gt=0)
    lists_refresh_s: float = Field(600.0, description="While central's replies say its lists are unchanged, fetch "
                                   "a signed page anyway this often: its signed time keeps the gate's clock "
                                   "anchored and the screen's list age fresh (seconds).", gt=0)
    heartbeat_s: float = Field(60.0, description="Report to central at least this often even with nothing "
                               "to send (seconds).", gt=0)
    lists_max_age_h: float = Field(24.0, description="Lists older than this are shown as stale on the guard "
                                   "screen (hours).", gt=0)

    enrolled_profile: Path = Field(DEFAULT_PROFILE, description=PROFILE_HELP)
    allow_insecure_http: bool = Field(False, description="Allow a plain http:// central_url to another machine "
                                      "(the token and entries cross the network unencrypted; logged as a warning "
                                      "at every start). http:// to this machine is always allowed.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return with_profile("sync", settings_cls, init_settings, env_settings, file_secret_settings)

    @model_validator(mode="after")
    def _central_url_is_safe(self) -> SyncSettings:
        """``central_url`` is https://, or http:// to this machine, or http:// explicitly allowed (warned)."""
        parts = urlsplit(self.central_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("central_url 必须是 https://主机/ 形式的地址 / central_url must be an https:// "
                             f"(or http://) URL with a host, not {self.central_url!r}")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            if not self.allow_insecure_http:
                raise ValueError(INSECURE_HTTP)
            log.warning("central_url %s is plain http:// to another machine (allow_insecure_http = true): the "
                        "device token and the entries cross the network unencrypted", self.central_url)
        return self

    @property
    def db_path(self) -> Path:
        """The edge's local log database file (shared in WAL mode)."""
        return self.data_dir / "edge.db"
