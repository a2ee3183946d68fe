"""Serving a FastAPI app with uvicorn on a socket we bind ourselves.

Binding first turns "address already in use" into a one-line
:class:`~gatepass.errors.GatepassError` naming the address, before uvicorn
starts, instead of a log line and a bare exit code.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading

import uvicorn

from gatepass.errors import GatepassError

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GatepassError(f"port {port} on {host} is already in use",
                                "stop the other program or set another port in the config") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise GatepassError(f"address {host} is not on this machine", "check the host setting") from None
        if exc.errno == errno.EACCES:
            raise GatepassError(f"not allowed to listen on port {port}", "use a port above 1023") from None
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(app, sock: socket.socket) -> uvicorn.Server:
    """A uvicorn server for ``app`` that will serve on the already bound ``sock``."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=3)
    return uvicorn.Server(config)


def serve(app, host: str, port: int, stop: threading.Event | None = None) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (or ``stop`` is set, when run in a thread)."""
    sock = bind(host, port)
    server = make_server(app, sock)
    if stop is not None:
        threading.Thread(target=lambda: (stop.wait(), setattr(server, "should_exit", True)),
                         name="serve-stop", daemon=True).start()
    log.info("listening on http://%s:%d/", *sock.getsockname()[:2])
    server.run(sockets=[sock])
