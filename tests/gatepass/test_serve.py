"""Serving: an occupied port is a one-line error; a server in a thread stops through an Event."""

from __future__ import annotations

import os
import socket
import threading

import httpx
import pytest
from fastapi import FastAPI

from gatepass.errors import GatepassError
from gatepass.serve import bind, serve


def test_occupied_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(GatepassError, match=f"port {port} on 127.0.0.1 is already in use"):
            bind("127.0.0.1", port)


@pytest.mark.parametrize("workers", [1, 3])
def test_occupied_port_from_the_command_line(gatepass_cli, tmp_path, workers):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "central.toml"
        cfg.write_text(f'data_dir = "{tmp_path}"\nport = {port}\nsession_secret = "0123456789abcdef0123"\n'
                       f'workers = {workers}\n')
        out = gatepass_cli("central", "serve", "--config", str(cfg), env={"GATEPASS_ALLOW_ROOT": "1"})
    assert out.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_in_a_thread_answers_and_stops():
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"pong": True}

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", port, stop))
    thread.start()
    try:
        for _ in range(100):
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).json() == {"pong": True}
                break
            except httpx.TransportError:
                stop.wait(0.05)
        else:
            pytest.fail("server did not answer")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("service", ["central", "sync"])
def test_the_servers_refuse_root_without_the_override(gatepass_cli, tmp_path, service):
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    cfg = tmp_path / f"{service}.toml"
    if service == "central":
        cfg.write_text(f'data_dir = "{tmp_path}"\nport = 1\nsession_secret = "0123456789abcdef0123"\n')
        out = gatepass_cli("central", "serve", "--config", str(cfg))
    else:
        (tmp_path / "pub.pem").write_text("unused")
        cfg.write_text(f'central_url = "http://127.0.0.1:1/"\ndevice_token = "t"\ndata_dir = "{tmp_path}"\n'
                       f'central_public_key = "{tmp_path / "pub.pem"}"\n')
        out = gatepass_cli("sync", "run", "--config", str(cfg))
    assert out.returncode == 2, out.stderr
    assert "refusing to run as root" in out.stderr and "GATEPASS_ALLOW_ROOT" in out.stderr


def test_the_servers_run_on_asyncios_loop_whatever_is_installed():
    """uvicorn's "auto" would take uvloop when the bench extra installed it (the fleet simulator's loop); the
    product's servers stay on the loop they are tested on."""
    from gatepass.serve import LOOP, make_server

    sock = bind("127.0.0.1", 0)
    try:
        assert LOOP == "asyncio"
        assert make_server(FastAPI(), sock).config.loop == "asyncio"
    finally:
        sock.close()


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY of the connection asyncio accepts on ``listener``, as uvicorn serves it (``sock=``)."""
    import asyncio
    import concurrent.futures

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Note(asyncio.Protocol):
            def connection_made(self, transport) -> None:  # type: ignore[override]
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Note, sock=listener)
        try:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(accepted, 10)
            writer.close()
            return value
        finally:
            server.close()

    # in a thread of its own: an earlier test of the session may have left an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, accept_one()).result(30)


def test_connections_the_servers_accept_send_without_nagles_delay():
    """A reply is written as a head and a body; with Nagle's algorithm on, the body waited for the client's delayed
    ACK, 40 ms on every request (issue 20). asyncio turns it off only for a socket whose proto says TCP."""
    sock = bind("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert _nodelay_of_accepted(sock)
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # how bind() made it before
    plain.bind(("127.0.0.1", 0))
    plain.listen()
    assert not _nodelay_of_accepted(plain), "the cause: asyncio leaves Nagle on for proto 0"
