"""Loading a service's settings from a TOML file plus ``GATEPASS_*`` variables.

Every service (edge, sync, central) has one pydantic-settings model deriving
from :class:`ServiceSettings`. Values come, in rising priority, from field
defaults, the TOML file, then environment variables (``GATEPASS_EDGE_...``,
nested fields joined with ``__``). Unknown keys are an error, so a typo in a
config file is reported instead of silently ignored.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gatepass.errors import ConfigError


class Section(BaseModel):
    """Base for nested config sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ServiceSettings(BaseSettings):
    """Base for a service's settings; subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(extra="forbid", env_nested_delimiter="__")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; environment variables win over it.
        return env_settings, init_settings, file_secret_settings


S = TypeVar("S", bound=ServiceSettings)


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a :class:`ConfigError`."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "pass --config with the right path") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable", "check its owner and mode") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source: field.path: message``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the example config)"
        elif err["type"] == "missing":
            msg = "required, no default (set it in the file or a GATEPASS_ variable)"
        lines.append(f"{source}: {where}: {msg}")
    return "; ".join(lines)


def load_settings(model: type[S], path: str | os.PathLike | None) -> S:
    """Build ``model`` from the TOML file at ``path`` (optional) and the environment."""
    data: dict[str, Any] = read_toml(Path(path)) if path else {}
    source = str(path) if path else "environment"
    try:
        # systemd LoadCredential= hands secrets over as files named like the variables (systemd/*.service).
        creds = os.environ.get("CREDENTIALS_DIRECTORY", "")
        if creds and os.path.isdir(creds):
            return model(**data, _secrets_dir=creds)
        return model(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None
