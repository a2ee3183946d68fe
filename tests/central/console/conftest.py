"""Console fixtures: a real central server (central.server.create_app) on loopback with a seeded database."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from central.console import auth
from central.db import open_db
from central.settings import CentralSettings
from gatepass.procs import free_port
from tests.central.console.data import entry, ingest_entries
from tests.pgserver import new_central_target

PASSWORDS = {"admin": "admin-pass-1", "staff": "staff-pass-1", "viewer": "viewer-pass-1"}
# A fixed day in Asia/Shanghai: 2026-11-20 00:00 local = 2026-11-19 16:00 UTC.
DAY0 = 1_795_104_000.0


@dataclass
class Central:
    """A running central server."""

    url: str
    settings: CentralSettings
    db: object
    server: uvicorn.Server
    thread: threading.Thread

    @contextlib.contextmanager
    def client(self, role: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client, signed in as ``role`` (if given)."""
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=10) as c:
            if role:
                login(c, role, PASSWORDS[role])
            yield c


def login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    """Sign in through the real login form (fetching its CSRF token first)."""
    page = c.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return c.post("/login", data={"username": username, "password": password, "csrf": token, "next": "/"})


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def seed(db) -> dict:
    """Two communities, three gates, a known pattern of entries on DAY0 (local 2026-11-20)."""
    t = DAY0 + 8 * 3600  # 08:00 local
    north = [
        entry(1, "dev-n", "north", t + 0, pass_id="101", household="3-2-401", person=1, pass_kind="resident"),
        entry(2, "dev-n", "north", t + 120, pass_id="102", household="3-2-402", person=1, pass_kind="resident"),
        entry(3, "dev-n", "north", t + 300, pass_id="103", household="5-1-101", person=2, pass_kind="resident"),
        entry(4, "dev-n", "north", t + 3 * 3600, pass_id="104", household="6-1-101", person=1),   # far away in time
        entry(5, "dev-n", "north", t + 600, pass_id="105", household="7-7-707", person=1, temp_c=38.2,
              fever=1, decision="refuse", reason="fever"),
        entry(6, "dev-n", "north", t + 900, pass_id="106", household="8-8-808", person=1, direction="out",
              decision="refuse", reason="quarantined"),
        entry(7, "dev-n", "north", t + 1000, pass_id="101", household="3-2-401", person=1),        # 101 in again
        entry(8, "dev-n", "north", t + 1200, event="visitor", visitor_ref="V-0001", reason="visitor_ok",
              guard_id="g7"),
        entry(9, "dev-n", "north", t + 1300, event="override", pass_id="105", household="7-7-707", person=1,
              guard_id="g7", override_reason="medical", reason="override"),
    ]
    south = [
        entry(1, "dev-s", "south", t + 60, pass_id="201", household="9-9-909", person=1, direction="out"),
        entry(2, "dev-s", "south", t + 1060, pass_id="101", household="3-2-401", person=1, direction="out"),
    ]
    east = [entry(1, "dev-e", "east", t + 200, pass_id="301", household="A-1", person=1, direction="in")]
    ingest_entries(db, "dev-n", "Garden", north)
    ingest_entries(db, "dev-s", "Garden", south)
    ingest_entries(db, "dev-e", "Riverside", east, backlog=42)
    return {"t": t}


def start_central(tmp: Path, seed_data: bool = True, database_url: str | None = None) -> Central:
    """Create the database (SQLite in ``tmp``, or PostgreSQL at ``database_url``), users and data, then serve
    ``central.server.create_app`` on 127.0.0.1."""
    from central.server import create_app

    settings = CentralSettings(data_dir=tmp / "central", session_secret="test-secret-" + "x" * 32,
                               port=free_port(0), database_url=database_url)
    settings.data_dir.mkdir(parents=True)
    db = open_db(settings.db_target)
    for role, pw in PASSWORDS.items():
        auth.add_user(db, role, pw, role, display_name=f"{role.title()} 王")
    if seed_data:
        seed(db)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("central test server did not start")
        time.sleep(0.02)
    return Central(f"http://127.0.0.1:{settings.port}", settings, db, server, thread)


def stop_central(c: Central) -> None:
    """Stop the server thread."""
    c.server.should_exit = True
    c.thread.join(10)


@pytest.fixture(autouse=True, scope="session")
def cheap_argon2():
    """Real argon2id with small parameters, so the many sign-ins of the suite stay fast."""
    from argon2 import PasswordHasher

    auth.set_hasher(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    yield
    auth.set_hasher(PasswordHasher())


@pytest.fixture(scope="module")
def central(tmp_path_factory, central_backend):
    """A seeded central server shared by a test module (tests must not depend on each other's changes), on
    each central backend."""
    tmp = tmp_path_factory.mktemp("central")
    url = None if central_backend == "sqlite" else new_central_target(central_backend, tmp)
    c = start_central(tmp, database_url=url)
    yield c
    stop_central(c)
