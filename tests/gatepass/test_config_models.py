"""Every settings field carries a description (with its unit where it has one)."""

from __future__ import annotations

from pydantic import BaseModel

from central.settings import CentralSettings
from edge.settings import EdgeSettings
from sync.settings import SyncSettings


def _fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        yield prefix + name, field
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _fields(ann, prefix + name + ".")


def test_every_field_is_described():
    for model in (EdgeSettings, SyncSettings, CentralSettings):
        for name, field in _fields(model):
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                continue
            assert field.description, f"{model.__name__}.{name} has no description"


def test_unknown_keys_are_forbidden_everywhere():
    for model in (EdgeSettings, SyncSettings, CentralSettings):
        assert model.model_config.get("extra") == "forbid"
        for _, field in _fields(model):
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                assert ann.model_config.get("extra") == "forbid", ann


def test_secrets_have_no_default():
    assert SyncSettings.model_fields["device_token"].is_required()
    assert CentralSettings.model_fields["session_secret"].is_required()
