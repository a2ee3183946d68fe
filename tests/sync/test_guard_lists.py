"""Guards' PINs from central to the gate (issue 17), end to end: a real central on loopback, the gate's sync
client fetching signed list pages (format 3), and the gate's ShiftBook checking PINs."""

from __future__ import annotations

import httpx
import pytest

from central import people
from central.passes import issuance
from edge.shifts import ShiftBook, ShiftError
from sync import client as sync_client
from sync import lists as edge_lists
from sync.signing import verify_envelope

from .helpers import Central, sync_settings

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


@pytest.fixture
def gate(central, tmp_path):
    token = central.add_device("gate-a")
    client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), tmp_path / "dev"))
    yield client, ShiftBook(client.db, pepper_file=tmp_path / "pepper")
    client.close()


def _person(central, guard_id="2001"):
    return people.add(central.db, guard_id, "王强", "13800001111", "watch", "区税务局", by="admin")


def test_pin_set_at_central_works_at_the_gate_after_sync(central, gate):
    client, book = gate
    pid = _person(central)
    people.set_pin(central.db, pid, "13572468", by="admin")
    assert not book.verify("2001", "13572468")  # not synced yet
    client.fetch_lists()
    assert book.verify("2001", "13572468")
    assert not book.verify("2001", "24681357")
    stored = client.db.execute("SELECT pin_hash FROM list_guards WHERE guard_id = '2001'").fetchone()[0]
    assert "13572468" not in stored  # the gate holds the hash only


def test_reset_at_central_ends_the_old_pin(central, gate):
    client, book = gate
    pid = _person(central)
    people.set_pin(central.db, pid, "13572468")
    client.fetch_lists()
    people.set_pin(central.db, pid, "97531864")
    client.fetch_lists()
    assert not book.verify("2001", "13572468")
    assert book.start("2001", "97531864", last_seq=0)


def test_disabled_at_central_is_refused_even_with_a_local_pin(central, gate):
    client, book = gate
    pid = _person(central)
    people.set_pin(central.db, pid, "13572468")
    book.set_pin("2001", "11223344")  # set at the gate with `gatepass edge set-pin`
    client.fetch_lists()
    assert not book.verify("2001", "11223344")  # central keeps this guard: its hash wins
    assert book.verify("2001", "13572468") and book.allowed("2001")
    people.set_enabled(central.db, pid, False, by="admin")
    client.fetch_lists()
    assert not book.verify("2001", "13572468") and not book.verify("2001", "11223344")
    assert not book.start("2001", "13572468", last_seq=0) and not book.allowed("2001")
    people.set_enabled(central.db, pid, True)
    client.fetch_lists()
    assert book.verify("2001", "13572468")


def test_called_back_or_without_a_central_pin_is_refused_and_other_guards_use_the_local_pin(central, gate):
    client, book = gate
    pid = _person(central)
    people.set_pin(central.db, pid, "13572468")
    _person(central, "2002")  # kept at central, no PIN yet: refused until central sets one
    book.set_pin("2002", "55667788")
    book.set_pin("1001", "24681012")  # not kept at central: the gate's own PIN counts
    people.update(central.db, pid, "王强", "", "watch", "", "called_back")
    client.fetch_lists()
    assert not book.verify("2001", "13572468") and not book.verify("2002", "55667788")
    assert book.verify("1001", "24681012")
    people.update(central.db, pid, "王强", "", "watch", "", "active")  # back on duty: central's PIN again
    client.fetch_lists()
    assert book.verify("2001", "13572468")


def test_a_gate_that_held_format_2_takes_a_snapshot_and_gets_earlier_guards(central, gate):
    client, book = gate
    issuance.set_policy(central.db, "fever_c", 37.3)
    pid = _person(central)
    people.set_pin(central.db, pid, "13572468")
    token = client.settings.device_token.get_secret_value()
    old = httpx.get(central.url + "/api/v1/changes", params={"since": 0, "format": 2},
                    headers={"Authorization": f"Bearer {token}"}).json()
    edge_lists.apply_page(client.db, verify_envelope(client.public_key, old))  # what the gate held before
    assert edge_lists.meta(client.db).version == 3 and edge_lists.ask_since(client.db) == 0
    client.fetch_lists()
    assert book.verify("2001", "13572468")
    assert edge_lists.ask_since(client.db) == edge_lists.meta(client.db).version


def test_a_local_pin_for_a_guard_central_keeps_is_refused_in_plain_words(central, gate):
    client, book = gate
    people.set_pin(central.db, _person(central), "13572468")
    client.fetch_lists()
    with pytest.raises(ShiftError, match="由中心管理"):
        book.set_pin("2001", "11223344")
    assert book.verify("2001", "13572468")
