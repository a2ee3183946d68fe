"""The staff console of the central server: sign-in with roles, entries search, contact tracing,
the daily report, alerts, devices, households and passes, and the audit log.

Its routes are module-level routers (``routes_auth``, ``routes_data``, ``routes_admin``) that
:func:`central.server.create_app` includes; they get the console's context
(:class:`central.console.web.Console` at ``app.state.console``), the signed-in member, roles and CSRF checks
through :mod:`central.console.deps`. Errors on pages are HTML (:mod:`central.console.errorpages`).
The console opens its own connection to the central database per worker thread (the schema is brought
up to date by :func:`central.db.open_db` when the server starts).
"""
