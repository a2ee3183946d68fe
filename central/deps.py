"""What the device API's routes depend on (FastAPI ``Depends``), read from ``request.app.state``.

``app.state.central`` (:class:`CentralState`, the device API's connections and signing key) is set by
:func:`central.server.create_app`. A route takes
``dev: Device`` for the device of the request's ``Authorization: Bearer <device token>`` (401 without a valid
one), ``state: State`` for the connections and ``pages: Pages`` for the signed list pages
(``app.state.list_pages``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central import ingest
from central.signing import SignedPages
from central.state import CentralState

_bearer = HTTPBearer(auto_error=False)


async def central_state(request: Request) -> CentralState:
    """The device API's database connections and signing key."""
    return request.app.state.central


State = Annotated[CentralState, Depends(central_state)]


async def signed_pages(request: Request) -> SignedPages:
    """The signed list pages this server process hands out (:class:`central.signing.SignedPages`)."""
    return request.app.state.list_pages


Pages = Annotated[SignedPages, Depends(signed_pages)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def device(creds: Credentials, state: State) -> dict[str, Any]:
    """The device of this request's bearer token; 401 when it is missing, unknown or revoked."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "missing device token", headers={"WWW-Authenticate": "Bearer"})
    with state.connection() as db:
        found = ingest.authenticate(db, creds.credentials)
    if found is None:
        raise HTTPException(401, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
    return found


Device = Annotated[dict[str, Any], Depends(device)]
