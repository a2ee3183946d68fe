"""Plain http:// to a central on another machine is refused at settings load unless explicitly allowed
(issue 18 item 5): the device token, the entries and the lists would cross the network in the clear."""

from __future__ import annotations

import logging

import pytest

from gatepass.config import load_settings
from gatepass.errors import ConfigError
from sync.settings import SyncSettings


def _settings(tmp_path, url: str, **over) -> SyncSettings:
    return SyncSettings(central_url=url, device_token="t", central_public_key="k", data_dir=tmp_path, **over)


@pytest.mark.parametrize("url", ["http://192.0.2.10:8000/", "http://central.example/", "http://[2001:db8::1]/",
                                 "http://127.0.0.1.example/"])
def test_plain_http_to_another_machine_is_refused_in_plain_words(tmp_path, url):
    with pytest.raises(ValueError, match="allow_insecure_http") as err:
        _settings(tmp_path, url)
    assert "明文" in str(err.value) and "plain http://" in str(err.value)
    cfg = tmp_path / "sync.toml"
    cfg.write_text(f'central_url = "{url}"\ndevice_token = "t"\ncentral_public_key = "k"\ndata_dir = "{tmp_path}"\n')
    with pytest.raises(ConfigError, match="明文"):
        load_settings(SyncSettings, cfg)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "http://localhost:8000", "http://[::1]:8000/",
                                 "http://127.3.2.1/", "https://central.example/", "https://192.0.2.10/"])
def test_https_and_http_to_this_machine_are_allowed(tmp_path, url):
    assert _settings(tmp_path, url).central_url == url


def test_plain_http_to_another_machine_when_explicitly_allowed_is_logged(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="sync.settings"):
        settings = _settings(tmp_path, "http://192.0.2.10:8000/", allow_insecure_http=True)
    assert settings.allow_insecure_http
    assert any("unencrypted" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("url", ["ftp://central.example/", "central.example", "http:///nohost"])
def test_a_central_url_that_is_not_http_is_refused(tmp_path, url):
    with pytest.raises(ValueError, match="central_url"):
        _settings(tmp_path, url)


def test_batch_bytes_stay_under_what_central_accepts(tmp_path):
    from sync.protocol import MAX_BATCH_BYTES, MAX_BODY_BYTES

    assert MAX_BATCH_BYTES < MAX_BODY_BYTES
    with pytest.raises(ValueError, match="batch_bytes"):
        _settings(tmp_path, "https://c.example/", batch_bytes=MAX_BATCH_BYTES + 1)
