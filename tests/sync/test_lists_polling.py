"""When the gate asks central for list pages: at once when a reply says central holds a newer version; otherwise
only when no reply told it central's version for ``lists_interval_s``, or its last signed page is
``lists_refresh_s`` old (:func:`sync.client.lists_wanted`), so a gate hearing "unchanged" in every heartbeat does not
also fetch an empty page every minute."""

from __future__ import annotations

import time
from datetime import date

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.passes import issuance
from sync import client as sync_client
from sync import lists as edge_lists
from sync.client import lists_wanted
from sync.devicedb import open_db as open_edge

from .helpers import Central, sync_settings

pytestmark = pytest.mark.usefixtures("central_database")  # the loop's tests on SQLite and PostgreSQL

RULES = {"interval_s": 60.0, "refresh_s": 600.0}


def _wanted(now, *, due=0.0, behind=False, heard_at=float("-inf"), fetched_at=float("-inf")):
    return lists_wanted(now, due=due, behind=lambda: behind, heard_at=heard_at, fetched_at=fetched_at, **RULES)


def test_a_new_gate_fetches_at_once():
    assert _wanted(5.0)


def test_a_gate_hearing_unchanged_in_its_replies_skips_the_minutely_page_until_the_refresh():
    fetched = 1000.0
    assert not _wanted(fetched + 61, due=fetched + 60, heard_at=fetched + 58, fetched_at=fetched)
    assert not _wanted(fetched + 599, due=fetched + 60, heard_at=fetched + 598, fetched_at=fetched)
    assert _wanted(fetched + 600, due=fetched + 60, heard_at=fetched + 599, fetched_at=fetched)  # refresh


def test_a_gate_no_reply_has_told_the_version_fetches_when_due():
    fetched = 1000.0
    assert not _wanted(fetched + 59, due=fetched + 60, fetched_at=fetched)  # not yet due
    assert _wanted(fetched + 60, due=fetched + 60, heard_at=fetched - 1, fetched_at=fetched)


def test_a_newer_version_at_central_is_fetched_at_once_even_before_it_is_due():
    assert _wanted(1001.0, due=1060.0, behind=True, heard_at=1000.5, fetched_at=1000.0)
    assert _wanted(1100.0, due=1060.0, behind=True, heard_at=1099.0, fetched_at=1000.0)


times = st.floats(0, 1e6, allow_nan=False)


@given(times, times, st.booleans(), times, times)
def test_the_rule(now, due, behind, heard_at, fetched_at):
    wanted = _wanted(now, due=due, behind=behind, heard_at=heard_at, fetched_at=fetched_at)
    if behind:
        assert wanted  # a change is never held back
    elif now < due:
        assert not wanted
    else:
        assert wanted == (now - heard_at >= RULES["interval_s"] or now - fetched_at >= RULES["refresh_s"])


class Counting(httpx.BaseTransport):
    """The gate's real transport, counting the requests by path."""

    def __init__(self) -> None:
        self.inner = sync_client.http_transport()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _loop(central, tmp_path, **over):
    """A gate's sync loop (its real client over a counting transport) against ``central``."""
    token = central.add_device("gate-a", community="c1")
    settings = sync_settings(central.url, token, central.public_pem(), tmp_path / "gate-a", **over)
    settings.data_dir.mkdir(parents=True)
    counting = Counting()
    client = sync_client.SyncClient(settings, transport=counting)
    return sync_client._Loop(client, settings, time.time), counting


def _rounds(loop, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if loop.upload_round().answered:
            loop.lists_round()
        time.sleep(0.02)


def test_the_loop_fetches_lists_once_while_heartbeats_say_unchanged_and_at_once_after_a_change(central, tmp_path):
    loop, counting = _loop(central, tmp_path, heartbeat_s=0.1, lists_interval_s=0.3, lists_refresh_s=600.0)
    try:
        _rounds(loop, 1.5)  # five lists intervals, a heartbeat every 0.1 s
        heartbeats = counting.paths.count("/api/v1/upload")
        assert heartbeats >= 5 and counting.paths.count("/api/v1/changes") == 1  # only the first, at start
        issuance.quarantine(central.db, "3-2-401", date(2026, 11, 20), date(2026, 12, 4))
        _rounds(loop, 0.5)  # the next heartbeat's reply tells the new version; the loop fetches it then
        assert counting.paths.count("/api/v1/changes") >= 2
        db = open_edge(loop.settings.db_path)
        assert "3-2-401" in edge_lists.load(db)[1].quarantine
        db.close()
    finally:
        loop.client.close()


def test_the_loop_refreshes_the_signed_page_every_lists_refresh_s(central, tmp_path):
    loop, counting = _loop(central, tmp_path, heartbeat_s=0.1, lists_interval_s=0.2, lists_refresh_s=0.5)
    try:
        _rounds(loop, 2.2)
        assert 3 <= counting.paths.count("/api/v1/changes") <= 6  # at start, then about every 0.5 s
    finally:
        loop.client.close()


def test_a_gate_whose_heartbeats_fail_still_fetches_when_due(central, tmp_path):
    """No reply has told the version (here: heartbeats are not due), so the page is fetched every interval."""
    loop, counting = _loop(central, tmp_path, heartbeat_s=600.0, lists_interval_s=0.2, lists_refresh_s=600.0)
    try:
        _rounds(loop, 1.1)
        assert counting.paths.count("/api/v1/upload") == 1  # the first report only
        assert counting.paths.count("/api/v1/changes") >= 4
    finally:
        loop.client.close()
