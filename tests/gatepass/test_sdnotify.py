"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatepass.sdnotify import Notifier, watchdog_interval_s


@pytest.fixture
def listener(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield str(path), sock
    sock.close()


def test_ready_status_watchdog_stopping_arrive(listener):
    path, sock = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_environment(env)
    assert notifier.enabled and notifier.watchdog_s == 2.0
    assert notifier.ready("scanning")
    assert sock.recv(4096) == b"READY=1\nSTATUS=scanning"
    assert notifier.watchdog(now=100.0)
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("backlog 3\nignored")
    assert sock.recv(4096) == b"STATUS=backlog 3"
    assert notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_watchdog_is_rate_limited_to_half_the_period(listener):
    path, sock = listener
    notifier = Notifier(path, watchdog_s=2.0)
    sent = [notifier.watchdog(now=t) for t in (10.0, 10.5, 10.99, 11.0, 11.2, 12.1)]
    assert sent == [True, False, False, True, False, True]
    assert [sock.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3


def test_abstract_namespace_socket():
    name = f"gatepass-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2)
    try:
        assert Notifier("@" + name).ready()
        assert sock.recv(64) == b"READY=1"
    finally:
        sock.close()


def test_no_op_outside_systemd():
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.ready() is False and notifier.watchdog() is False and notifier.stopping() is False
    assert notifier.sent == 0


def test_a_vanished_socket_does_not_raise(tmp_path):
    notifier = Notifier(str(tmp_path / "gone.sock"), watchdog_s=1.0)
    try:
        assert notifier.ready() is False
        assert notifier.watchdog(now=1.0) is False
    finally:
        notifier.close()


def test_watchdog_of_another_pid_is_ignored():
    assert watchdog_interval_s({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None or os.getpid() == 1
    assert watchdog_interval_s({"WATCHDOG_USEC": "1500000"}) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None


@given(usec=st.text(max_size=12), pid=st.one_of(st.none(), st.text(max_size=8)))
def test_watchdog_env_parser_never_raises(usec, pid):
    env = {"WATCHDOG_USEC": usec} | ({"WATCHDOG_PID": pid} if pid is not None else {})
    value = watchdog_interval_s(env)
    assert value is None or (value > 0 and usec.isdecimal())


def test_extend_start_timeout_during_a_long_start(listener):
    path, sock = listener
    assert Notifier(path).extend_start("recovering the local database", seconds=90)
    assert sock.recv(4096) == b"EXTEND_TIMEOUT_USEC=90000000\nSTATUS=recovering the local database"
