"""Who may reach the guard page: the ``Host`` and client checks of every request, and the paired kiosk.

Two layers, both needed against DNS rebinding and against other machines on the gate's network:

- :class:`HostGate` (ASGI middleware, every route and file): the ``Host`` header must name this page (loopback
  names and addresses, the listen address, ``[guard_page] server_names``), whatever the listen address; a client
  from elsewhere must be in ``[guard_page] allow_clients`` when that list is set. Refusals are a 403 in zh-CN and
  English.
- :func:`paired_kiosk` (a dependency of every read of personal data or of the action token, and of every guard
  action): a loopback client is the kiosk on the Pi itself (``[guard_page] local_kiosk``); any other must carry
  the cookie of a pairing made with a one-time code (:mod:`edge.kiosk`, ``/pair`` in :mod:`edge.web.pages`).
"""

from __future__ import annotations

import html
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.kiosk import COOKIE, KioskPairings
from edge.settings import GuardPageSection, is_loopback
from edge.web.errors import ScreenError
from gatepass.throttle import FailureCounter, Locked

log = logging.getLogger(__name__)

WILDCARDS = ("0.0.0.0", "::", "")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")



def not_paired() -> ScreenError:
    """The refusal of a read or an action from a browser that is not a paired kiosk."""
    return ScreenError(403, "not_paired", "此屏幕尚未配对，不能显示门岗信息：请在门岗设备上运行 "
                       "gatepass edge kiosk pair，再打开 /pair 输入配对码",
                       "This screen is not paired: run 'gatepass edge kiosk pair' on the gate device and enter the "
                       "code at /pair")


def allowed_hosts(section: GuardPageSection) -> frozenset[str]:
    """Host names (lower case, no port) the page answers to: loopback, the listen address, ``server_names``."""
    hosts = {*LOOPBACK_NAMES, *(normal_host(name) for name in section.server_names)}
    if section.host not in WILDCARDS:
        hosts.add(normal_host(section.host))
    return frozenset(hosts)


def normal_host(value: str) -> str:
    """The host part of a ``Host`` header or a name, in lower case.

    "[::1]:8080" -> "::1", "Gate.LAN.:80" -> "gate.lan", "::1" -> "::1".
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else ""
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@dataclass(frozen=True)
class ClientRule:
    """Which client addresses may connect: loopback (when it is the kiosk) and ``allow_clients`` (if set)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    local_kiosk: bool = True

    def allows(self, address: str | None) -> bool:
        """Whether a client at ``address`` may connect at all (pairing is checked afterwards)."""
        if address is not None and self.local_kiosk and is_loopback(address):
            return True
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


class HostGate:
    """ASGI middleware: a 403 (zh-CN and English) for a foreign ``Host`` or a client not allowed."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str], clients: ClientRule) -> None:
        self.app, self.hosts, self.clients = app, frozenset(hosts), clients

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the page has none: refused outright
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client")
        address = str(client[0]) if client else None
        if normal_host(headers.get("host", "")) not in self.hosts:
            log.warning("guard page: refused Host %r from %s", headers.get("host", "")[:100], address)
            error = ScreenError(403, "bad_host", "拒绝访问：网址中的主机名不是本门岗页面"
                                "（请用 127.0.0.1 或已配置的名称打开）",
                                "Refused: the host name in this address is not the guard page's (open it by "
                                "127.0.0.1 or a configured name)")
        elif not self.clients.allows(address):
            log.warning("guard page: refused client %s (not in [guard_page] allow_clients)", address)
            error = ScreenError(403, "bad_client", "拒绝访问：此终端不在允许的地址列表中",
                                "Refused: this client is not in the allowed addresses")
        else:
            await self.app(scope, receive, send)
            return
        await refusal(error, "text/html" in headers.get("accept", ""))(scope, receive, send)


def refusal(error: ScreenError, as_html: bool):  # noqa: ANN201 - a Starlette response
    """``error`` as a small HTML page (for a browser) or the page's JSON error."""
    from starlette.responses import HTMLResponse, JSONResponse

    if as_html:
        body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>gatepass</title>'
                f'<body style="font-family:sans-serif;font-size:22px;padding:24px"><p>{html.escape(error.zh)}</p>'
                f'<p lang="en" style="color:#555">{html.escape(error.en)}</p></body></html>')
        return HTMLResponse(body, status_code=error.status, headers={"Cache-Control": "no-store"})
    return JSONResponse({"error": error.code, "message_zh": error.zh, "message_en": error.en},
                        status_code=error.status, headers={"Cache-Control": "no-store"})


@dataclass
class KioskAccess:
    """The pairings and the rules deciding whether a request comes from a paired kiosk.

    ``codes``: wrong pairing codes counted before each check (5 per 10 minutes, then 5 minutes locked), so the
    8-digit code cannot be guessed within its lifetime.
    """

    pairings: KioskPairings
    local_kiosk: bool = True
    codes: FailureCounter = field(default_factory=lambda: FailureCounter(5, 600.0, 300.0))

    def is_local(self, request: Request) -> bool:
        """Whether the client is the browser on the Pi itself (the Host was checked by :class:`HostGate`)."""
        return self.local_kiosk and request.client is not None and is_loopback(request.client.host)

    def paired(self, request: Request) -> bool:
        """Whether the request comes from the local kiosk or carries a valid pairing cookie."""
        return self.is_local(request) or self.pairings.is_paired(request.cookies.get(COOKIE))

    def redeem(self, code: str, request: Request) -> str | None:
        """A pairing cookie for a right ``code``; :class:`ScreenError` 429 while wrong codes are locked out."""
        try:
            attempt = self.codes.begin("pair")
        except Locked as exc:
            raise ScreenError(429, "pair_locked", f"配对码错误次数过多，请{int(exc.retry_after_s) + 1}秒后再试",
                              f"Too many wrong codes: try again in {int(exc.retry_after_s) + 1} s") from None
        client = request.client.host if request.client else "?"
        token = self.pairings.redeem(code, f"{client} {request.headers.get('user-agent', '')[:120]}")
        if token is not None:
            self.codes.succeeded(attempt)
        return token


def same_origin(request: Request) -> bool:
    """Whether the request's ``Origin`` (if sent) is this page."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"
