"""Every route but the public ones needs a session (console) or a device token (device API); every console form
post checks its CSRF token. Checked on the routers' dependency trees (no server, no database), so a route added
later without its dependency fails here, and over HTTP on the running app's route table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from central import api
from central import deps as central_deps
from central.console import (
    deps,
    routes_admin,
    routes_auth,
    routes_care,
    routes_data,
    routes_duty,
    routes_enrolment,
    routes_homes,
    routes_people,
    routes_screening,
    routes_screening_import,
    routes_selfreport,
)

CONSOLE_ROUTERS = (routes_auth.router, routes_data.router, routes_admin.router, routes_people.router,
                   routes_duty.router, routes_homes.router, routes_care.router, routes_selfreport.router,
                   routes_screening.router, routes_screening_import.router, routes_enrolment.router)


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    """Every dependency callable of a route, sub-dependencies included."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _api_routes(routers) -> list[APIRoute]:
    return [r for router in routers for r in router.routes if isinstance(r, APIRoute)]


@pytest.mark.parametrize("route", _api_routes(CONSOLE_ROUTERS), ids=lambda r: f"{sorted(r.methods)}{r.path}")
def test_every_console_route_depends_on_a_session(route):
    calls = set(_calls(route.dependant))
    if route.path in PUBLIC:
        assert deps.signed_in not in calls
        return
    assert deps.signed_in in calls, route.path
    if "POST" in route.methods:
        assert calls & set(deps.FORM_CHECKS), f"{route.path}: a form post without its CSRF check"


@pytest.mark.parametrize("route", _api_routes([api.router]), ids=lambda r: f"{sorted(r.methods)}{r.path}")
def test_every_device_api_route_depends_on_the_device_token(route):
    assert central_deps.device in set(_calls(route.dependant)), route.path


@pytest.mark.parametrize("route", _api_routes([routes_enrolment.router]), ids=lambda r: f"{sorted(r.methods)}{r.path}")
def test_enrolment_pages_are_for_administrators_only(route):
    calls = set(_calls(route.dependant))
    assert deps.need_admin in calls or route.path == "/static/enrol.css", route.path


def test_the_routers_hold_every_page():
    assert len(_api_routes(CONSOLE_ROUTERS)) >= 30 and len(_api_routes([api.router])) == 3


def _routes(routes, prefix=""):
    """(prefix, route) of every route, inside included routers too (kept nested by newer FastAPI)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        else:
            yield prefix, route


PUBLIC = {"/login", "/lang/{code}", "/static/console.css", "/static/patrol.css", "/static/alerts.js", "/healthz",
          "/static/menu.js",
          "/r/{token}", "/static/care.css",
          "/static/screening.css", "/static/enrol.css",
          "/api/v1/enrolments", "/api/v1/enrolments/poll"}  # /r/{token}: the resident's self-report page (a signed
# token); /api/v1/enrolments*: a new gate has no token yet (central.api_enrol)


def test_every_route_needs_a_session_or_a_device_token(central):
    """Walks the app's real route table, so a route added later without a role check fails here."""
    app = central.server.config.app
    checked = 0
    with central.client() as c:
        for prefix, route in _routes(app.routes):
            path = prefix + getattr(route, "path", "")
            if path in PUBLIC or not getattr(route, "methods", None):
                continue
            url = path.replace("{household:path}", "3-2-401").replace("{device_id:path}", "dev-n")
            url = url.replace("{username:path}", "admin").replace("{fmt_}", "csv").replace("{pass_id}", "1")
            url = (url.replace("{template_id}", "1").replace("{pid}", "1").replace("{slot_id}", "1")
                   .replace("{round_id}", "1").replace("{job}", "job-12345678")
                   .replace("{quarantine_id}", "1").replace("{need_id}", "1")
                   .replace("{person}", "0").replace("{notice}", "release").replace("{token}", "token-12345678")
                   .replace("{person_id}", "1"))
            assert "{" not in url, path
            for method in route.methods - {"HEAD"}:
                r = c.request(method, url, data={"csrf": "x"} if method == "POST" else None)
                expected = (401,) if path.startswith(("/api/", "/console/api/")) else (303,)
                assert r.status_code in expected, (method, path, r.status_code)
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/login?next=")
                checked += 1
    assert checked >= 30
