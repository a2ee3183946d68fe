"""The staff console of the central server: sign-in with roles, entries search, contact tracing,
the daily report, alerts, devices, households and passes, and the audit log.

``router(app_state)`` returns the FastAPI router the central app includes. ``app_state`` is the
central settings (:class:`sync.settings.CentralSettings`) or any object with a ``settings`` attribute
holding them; the console opens its own connection to ``settings.db_target`` per worker thread (the
schema is brought up to date by :func:`central.db.open_db` when the server starts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["router", "make_console", "install_error_pages"]


def install_error_pages(app: Any, ctx: Any) -> None:
    """HTML error pages for the console's pages (see :func:`central.console.web.install_error_pages`)."""
    from central.console.web import install_error_pages as _install

    _install(app, ctx)


def make_console(app_state: Any):
    """The :class:`central.console.web.Console` for ``app_state`` (settings, or an object holding them)."""
    from central.console.web import Console

    settings = getattr(app_state, "settings", app_state)
    return Console(settings.db_target, settings.session_secret.get_secret_value(), settings.data_dir,
                   tz=settings.timezone, lists_max_age_s=settings.lists_max_age_h * 3600)


def router(app_state: Any) -> APIRouter:
    """All console pages and console APIs as one router."""
    from fastapi import APIRouter

    from central.console import routes_admin, routes_auth, routes_data

    ctx = make_console(app_state)
    r = APIRouter(include_in_schema=False)
    routes_auth.add_routes(r, ctx)
    routes_data.add_routes(r, ctx)
    routes_admin.add_routes(r, ctx)
    r.console = ctx  # type: ignore[attr-defined]  # for tests and the CLI
    return r
