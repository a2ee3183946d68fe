"""Serving a FastAPI app with uvicorn on a socket we bind ourselves.

Binding first turns "address already in use" into a one-line
:class:`~gatepass.errors.GatepassError` naming the address, before uvicorn
starts, instead of a log line and a bare exit code. :func:`run_workers` serves
one bound socket from several processes under uvicorn's supervisor.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from gatepass.errors import GatepassError

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Made with ``proto=IPPROTO_TCP`` and ``TCP_NODELAY``: asyncio turns Nagle's algorithm off only on sockets whose
    ``proto`` says TCP, and a socket made with ``proto`` 0 (and every connection accepted on it) kept it on, so a
    reply uvicorn writes in two pieces (head, then body) waited for the client's delayed ACK: 40 ms added to every
    request to central (an upload, a heartbeat, a console page), found by ``bench sync``. (The guard page lets
    uvicorn bind its socket, which gets the proto right.)
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


#: Idle HTTP connections stay open this long (uvicorn's default is 5 s): a gate uploads or heartbeats every 30-60 s
#: on one connection instead of a new TCP connection each time (``bench fleet``: with 5 s, most requests of a large
#: fleet raced the server's close); above the 60 s a reverse proxy in front commonly keeps its upstreams.
KEEP_ALIVE_S = 75
#: The event loop of every gatepass server: asyncio's, whatever else is installed (uvicorn's "auto" would take
#: uvloop, which ``bench fleet``'s simulator uses; with it, processes stopped by Ctrl-C hung in CI).
LOOP = "asyncio"


def make_server(app, sock: socket.socket) -> uvicorn.Server:
    """A uvicorn server for ``app`` that will serve on the already bound ``sock``."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, loop=LOOP,
                            timeout_graceful_shutdown=3, timeout_keep_alive=KEEP_ALIVE_S)
    return uvicorn.Server(config)


def serve(app, host: str, port: int, stop: threading.Event | None = None) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (or ``stop`` is set, when run in a thread)."""
    sock = bind(host, port)
    server = make_server(app, sock)
    if stop is not None:
        def stop_when_told() -> None:
            stop.wait()
            server.should_exit = True

        threading.Thread(target=stop_when_told, name="serve-stop", daemon=True).start()
    log.info("listening on http://%s:%d/", *sock.getsockname()[:2])
    server.run(sockets=[sock])


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its supervisor dies (even by SIGKILL): no orphan keeps the port."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's SIGTERM is the only stop
        return


class _WorkerApp:
    """Picklable app factory run in each worker process: logging, parent-death signal, then ``factory()``.

    A factory that raises makes the worker exit with uvicorn's startup-failure code, so the supervisor stops
    instead of restarting a worker that can only fail again.
    """

    def __init__(self, factory: Callable[[], Any], log_level: str, parent_pid: int) -> None:
        self.factory = factory
        self.log_level = log_level
        self.parent_pid = parent_pid

    def __call__(self) -> Any:
        from gatepass import logsetup

        logsetup.configure(self.log_level)
        _die_with_parent()
        if os.getppid() != self.parent_pid:  # the supervisor died before we asked to follow it
            sys.exit(0)
        try:
            return self.factory()
        except Exception:
            log.exception("server process %d could not start", os.getpid())
            sys.exit(STARTUP_FAILURE)


class _Supervisor(Multiprocess):
    """uvicorn's supervisor (restarts dead or hung workers, SIGTERM/SIGINT stop all, SIGHUP restarts them,
    SIGTTIN/SIGTTOU add/remove one) that logs each replacement and remembers a failed start."""

    failed_start = False

    def keep_subprocess_alive(self) -> None:
        before = list(self.processes)
        super().keep_subprocess_alive()
        for old, new in zip(before, self.processes, strict=False):
            if old is not new:
                log.warning("server process %s ended (exit code %s); started %s in its place",
                            old.pid, old.exitcode, new.pid)
        if any(p.exitcode == STARTUP_FAILURE for p in before):
            self.failed_start = True


def run_workers(factory: Callable[[], Any], sock: socket.socket, workers: int) -> None:
    """Serve on ``sock`` with ``workers`` processes until SIGINT/SIGTERM; each builds its app with ``factory``.

    ``factory`` must be picklable (a module-level function, or a :func:`functools.partial` of one): the workers
    are fresh interpreters (multiprocessing "spawn"). Whatever must happen once (schema, keys) must be done by
    the caller before this. A worker that dies is replaced. Raises :class:`GatepassError` if a worker fails
    to start.
    """
    host, port = sock.getsockname()[:2]
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    config = uvicorn.Config(_WorkerApp(factory, level, os.getpid()), factory=True, host=host, port=port,
                            workers=workers, log_config=None, access_log=False, loop=LOOP, timeout_graceful_shutdown=3,
                            timeout_keep_alive=KEEP_ALIVE_S,
                            # a worker still importing on a busy machine is not hung (5 s killed them in a loop)
                            timeout_worker_healthcheck=30)
    supervisor = _Supervisor(config, sockets=[sock])
    log.info("listening on http://%s:%d/ with %d server processes", host, port, workers)
    supervisor.run()
    if supervisor.failed_start:
        raise GatepassError("a server process could not start", "see the log lines above for the reason")
