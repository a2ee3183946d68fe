"""Property-based fuzzing of the staff console over its OpenAPI schema (schemathesis): no request a signed-in
admin can send gets a 5xx, whatever its integers, dates, cursors or text.

The console's routes are left out of the public schema (``include_in_schema=False``, no ``/openapi.json``); the
test builds the schema of the same routes on a copy of the app. Every request carries the admin's session cookie,
and form posts the session's CSRF token (else every post would stop at the 403 of the token check). The budget is
bounded: a few examples per operation, positive and negative (schema-violating) data.
"""

from __future__ import annotations

import copy
import time

import pytest
import requests
import schemathesis
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from central.console import routes_admin, routes_auth, routes_data, routes_enrolment
from tests.central.console.conftest import PASSWORDS, csrf_of, start_central, stop_central
from tests.pgserver import new_central_target

EXAMPLES_PER_OPERATION = 25
BUDGET_S = 80.0  # the whole fuzzing run (both modes) stops taking new operations after this
# Left out: sign-out ends the fuzzer's own session; the device API (/api/...) is fuzzed by its own test.
EXCLUDED = {("POST", "/logout")}


def _console_schema() -> dict:
    """The OpenAPI schema of the console's routes (copies of them, put into the schema)."""
    routes = []
    for router in (routes_auth.router, routes_data.router, routes_admin.router, routes_enrolment.router):
        for route in router.routes:
            if isinstance(route, APIRoute):
                route = copy.copy(route)
                route.include_in_schema = True
                routes.append(route)
    return get_openapi(title="gatepass console", version="1", routes=routes)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory, central_backend):
    tmp = tmp_path_factory.mktemp("fuzz")
    url = None if central_backend == "sqlite" else new_central_target(central_backend, tmp)
    c = start_central(tmp, database_url=url)
    session = requests.Session()
    token = session.get(f"{c.url}/login").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = session.post(f"{c.url}/login", data={"username": "admin", "password": PASSWORDS["admin"], "csrf": token,
                                             "next": "/"}, allow_redirects=False)
    assert r.status_code == 303
    csrf = csrf_of(session.get(f"{c.url}/devices").text)
    yield c, session, csrf
    stop_central(c)


def _operations(schema) -> list:
    ops = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) not in EXCLUDED:
            ops.append(op)
    return ops


def _fuzz(op, mode: GenerationMode, base_url: str, session: requests.Session, csrf: str) -> list[str]:
    failures: list[str] = []

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case) -> None:
        if isinstance(case.body, dict) and "csrf" in case.body:
            case.body["csrf"] = csrf
        response = case.call(base_url=base_url, session=session, allow_redirects=False, timeout=30)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.as_curl_command(base_url=base_url)}")

    try:
        run()
    except Unsatisfiable:  # negative mode, an operation without parameters: nothing can break its schema
        assert mode is GenerationMode.NEGATIVE
    return failures


def test_no_console_request_gets_a_server_error(fuzz_target):
    c, session, csrf = fuzz_target
    schema = schemathesis.openapi.from_dict(_console_schema())
    ops = _operations(schema)
    assert len(ops) > 25  # the console's pages, exports, forms and JSON API are all in the schema
    failures: list[str] = []
    deadline = time.monotonic() + BUDGET_S
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for op in ops:
            if time.monotonic() > deadline:
                break
            failures += _fuzz(op, mode, c.url, session, csrf)
    assert session.get(f"{c.url}/console/api/whoami").status_code == 200  # still signed in: the run was real
    assert not failures, "\n".join(failures[:20])
