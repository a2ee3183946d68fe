"""Enrolling a new gate with central: no token or key copied by hand (``gatepass edge enroll``).

The gate draws a secret, sends its claim to central and gets a short code (:mod:`sync.enrolment` holds the
wire format); staff approve the code in the console; the gate polls with its secret until central hands over
the device token, central's list-signing key and the gate profile, and writes them where the services read them
(:func:`install_result`):

- the token to ``<config dir>/credentials/device-token`` (mode 0600; ``gatepass-sync.service`` loads it as its
  systemd credential),
- central's public key to ``<config dir>/central-public-key.pem`` (0644),
- the profile (device id, community, gate id, name, direction, mode, central URL) to the *enrolled profile*,
  ``/etc/gatepass/enrolled.toml`` (0640, group gatepass). ``edge.toml`` and ``sync.toml`` are never rewritten:
  the settings loaders merge the profile over them (see :func:`sync.settings.profile_source`).

The request in progress (secret, code, expiry) is kept in ``<config dir>/credentials/enrolment.json`` (0600),
so a second run before the code expires resumes the same request (Ctrl-C safe). What the guard screen shows
while the gate waits (code, approve URL, time left, a plain-words status; never the secret) is written to
``<data dir>/enrolment.json`` (:class:`ScreenState`, read by :mod:`edge.web.enrolment`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.errors import EdgeError
from gatepass import __version__
from gatepass.clock import SYSTEM, Clock
from gatepass.config import read_toml
from gatepass.private_files import write_private
from sync.enrolment import (
    CREATE_PATH,
    POLL_PATH,
    EnrolmentCreated,
    EnrolmentError,
    EnrolmentRequest,
    PollApproved,
    PollClosed,
    PollPending,
    PollRequest,
    claim_of,
    new_secret,
    read_created,
    read_poll_reply,
)
from sync.settings import DEFAULT_PROFILE

log = logging.getLogger(__name__)


SERVICE_USER = "gatepass"  # the services' user and group (edge/install.py, systemd/sysusers.d)
SCREEN_FILE = "enrolment.json"
PENDING_FILE = "enrolment.json"
RETRY_CAP_S = 60.0


class EnrolError(EdgeError):
    """Enrolment cannot go on (central refused the request, or the files cannot be written)."""


class CentralUnreachable(EnrolError):
    """Central did not answer (network down, wrong URL, server error): try again later."""


class Stopped(EnrolError):
    """The enrolment was asked to stop (Ctrl-C, service stop); the request is kept for the next run."""


@dataclass(frozen=True)
class EnrolPaths:
    """Where enrolment keeps its state and writes its results."""

    config_dir: Path
    data_dir: Path
    profile: Path = DEFAULT_PROFILE

    @property
    def token(self) -> Path:
        """The device token: the systemd credential of ``gatepass-sync.service``."""
        return self.config_dir / "credentials" / "device-token"

    @property
    def public_key(self) -> Path:
        """Central's list-signing public key (PEM)."""
        return self.config_dir / "central-public-key.pem"

    @property
    def pending(self) -> Path:
        """The request in progress, with its secret (root only)."""
        return self.config_dir / "credentials" / PENDING_FILE

    @property
    def screen(self) -> Path:
        """What the guard screen shows while the gate waits (no secret)."""
        return self.data_dir / SCREEN_FILE


@dataclass
class Offer:
    """A request central accepted: the code to show and the secret that fetches the result."""

    central_url: str
    secret: str
    code: str
    expires_at: float
    poll_after_s: float
    approve_url: str | None

    def expired(self, now: float) -> bool:
        """Whether the code is past its expiry at wall time ``now``."""
        return now >= self.expires_at


@dataclass
class ScreenState:
    """The guard screen's view of the enrolment: plain data, nothing secret."""

    status: str  # starting | waiting | unreachable | approved
    code: str | None = None
    approve_url: str | None = None
    expires_at: float | None = None
    fingerprint: str | None = None
    central_url: str | None = None
    message_zh: str = ""
    message_en: str = ""
    updated_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _detail(response: httpx.Response) -> tuple[str, str]:
    """The zh/en reason of a device-API refusal, or the bare status when the body has none."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict) and isinstance(detail.get("zh"), str) and isinstance(detail.get("en"), str):
        return detail["zh"][:300], detail["en"][:300]
    return f"中心服务器拒绝了请求（HTTP {response.status_code}）", f"central refused (HTTP {response.status_code})"


class EnrolClient:
    """The two calls of the exchange, against central at ``central_url`` (no device token)."""

    def __init__(self, central_url: str, timeout_s: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.central_url = central_url.rstrip("/") + "/"
        self.http = httpx.Client(base_url=self.central_url, timeout=timeout_s, transport=transport,
                                 headers={"User-Agent": f"gatepass-edge/{__version__}"})

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self.http.post(path.lstrip("/"), json=body)
        except httpx.HTTPError as exc:
            raise CentralUnreachable(f"连不上中心服务器 {self.central_url}：{type(exc).__name__} / cannot reach "
                                     f"central at {self.central_url}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            zh, en = _detail(response)
            raise CentralUnreachable(f"{zh} / {en}")
        return response

    def create(self, request: EnrolmentRequest) -> EnrolmentCreated:
        """Ask for a code; :class:`EnrolError` when central refuses the request itself."""
        response = self._post(CREATE_PATH, request.model_dump())
        if response.status_code != 201:
            zh, en = _detail(response)
            raise EnrolError(f"{zh} / {en}")
        try:
            return read_created(response.json())
        except (ValueError, EnrolmentError) as exc:
            raise CentralUnreachable(f"中心服务器的回答看不懂 / central's reply is unreadable: {exc}") from None

    def poll(self, secret: str) -> PollPending | PollApproved | PollClosed | None:
        """Ask whether the request was approved; None when central does not know the secret (404)."""
        response = self._post(POLL_PATH, PollRequest(secret=secret).model_dump())
        if response.status_code == 404:
            return None
        if response.status_code not in (200, 410):
            zh, en = _detail(response)
            raise EnrolError(f"{zh} / {en}")
        try:
            return read_poll_reply(response.json())
        except (ValueError, EnrolmentError) as exc:
            raise CentralUnreachable(f"中心服务器的回答看不懂 / central's reply is unreadable: {exc}") from None


# -- files -----------------------------------------------------------------------------------------------------


def service_group() -> int | None:
    """The gid of the ``gatepass`` service group on this machine (None when it does not exist)."""
    from gatepass.installer import lookup_ids

    ids = lookup_ids(Path("/"), SERVICE_USER)
    return ids[1] if ids else None


def load_offer(paths: EnrolPaths) -> Offer | None:
    """The request in progress, if one was saved (None when missing or unreadable)."""
    try:
        return Offer(**json.loads(paths.pending.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring the unreadable enrolment request %s: %s", paths.pending, exc)
        return None


def save_offer(paths: EnrolPaths, offer: Offer) -> None:
    """Keep the request (with its secret) for a later run: mode 0600."""
    paths.pending.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(paths.pending, json.dumps(asdict(offer)), 0o600)


def write_screen(paths: EnrolPaths, state: ScreenState) -> None:
    """What the guard screen shows (0640, group gatepass: the checkpoint service reads it)."""
    write_private(paths.screen, json.dumps(asdict(state), ensure_ascii=False), 0o640, service_group())


def read_screen(path: Path) -> ScreenState | None:
    """The screen state at ``path`` (None when missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ScreenState(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("unreadable enrolment screen state %s: %s", path, exc)
        return None


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping plus DEL)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_profile(paths: EnrolPaths, central_url: str, approved: PollApproved, when: float) -> str:
    """The enrolled profile as TOML: ``[edge]`` merged over edge.toml, ``[sync]`` over sync.toml."""
    gate = approved.gate
    q = toml_string
    return "\n".join([
        "# 由 gatepass edge enroll 写入，请勿手改（要更改请在控制台重新接入）。",
        "# Written by 'gatepass edge enroll'; the edge and sync settings loaders merge it over edge.toml and",
        "# sync.toml (these keys win over the files; GATEPASS_* variables win over both). Re-enrol to change it.",
        f"# central key fingerprint: {approved.central_key_fingerprint}; enrolled at epoch {when:.0f}",
        "", "[edge]", f"device_id = {q(approved.device_id)}",
        "", "[edge.gate]", f"community = {q(gate.community)}", f"id = {q(gate.gate_id)}",
        f"name = {q(gate.gate_name)}", f"direction = {q(gate.direction)}", f"mode = {q(gate.mode)}",
        "", "[sync]", f"central_url = {q(central_url)}", f"central_public_key = {q(str(paths.public_key))}",
        "", "[enrolment]", f"central_key_fingerprint = {q(approved.central_key_fingerprint)}",
        f"enrolled_at = {when:.0f}", ""])


def install_result(paths: EnrolPaths, offer: Offer, approved: PollApproved, when: float) -> None:
    """Write the token (0600), central's key (0644) and the profile (0640), then forget the request."""
    paths.token.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(paths.token, approved.token + "\n", 0o600)
    write_private(paths.public_key, approved.central_public_key.strip() + "\n", 0o644)
    write_private(paths.profile, render_profile(paths, offer.central_url, approved, when), 0o640, service_group())
    paths.pending.unlink(missing_ok=True)
    log.info("enrolled as device %s (gate %s); central key %s", approved.device_id, approved.gate.gate_id,
             approved.central_key_fingerprint)


def previous_device_id(paths: EnrolPaths, edge_config: Path | None) -> str | None:
    """The device id this gate had, when it still knows it: the enrolled profile's, else an old install's
    ``device_id`` in edge.toml when that install had a token; None otherwise (staff pick it at central)."""
    for source, key_path in ((paths.profile, ("edge", "device_id")), (edge_config, ("device_id",))):
        if source is None or not source.exists():
            continue
        if source == edge_config and not paths.token.exists():
            continue
        try:
            value: Any = read_toml(source)
            for key in key_path:
                value = value.get(key) if isinstance(value, dict) else None
        except EdgeError:
            value = None
        except Exception:  # noqa: BLE001 - a broken old file must not stop enrolment
            value = None
        if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
            return value
    return None


# -- the exchange ----------------------------------------------------------------------------------------------


class Enroller:
    """Runs the exchange to its end: request (or resume) a code, poll, new code on expiry, retry when central
    is unreachable; reports each change through ``show`` (a :class:`ScreenState`)."""

    def __init__(self, client: EnrolClient, paths: EnrolPaths, show: Callable[[ScreenState], None],
                 previous: str | None = None, clock: Clock = SYSTEM,
                 stop: threading.Event | None = None) -> None:
        self.client = client
        self.paths = paths
        self.show = show
        self.previous = previous
        self.clock = clock
        self.stop = stop or threading.Event()
        self.failures = 0

    def _wait(self, seconds: float) -> None:
        if self.stop.wait(max(0.0, seconds)):
            raise Stopped("enrolment stopped; run it again to resume the same code before it expires")

    def _new_offer(self) -> Offer:
        secret = new_secret()
        request = EnrolmentRequest(claim=claim_of(secret), hostname=socket.gethostname()[:64] or "gate",
                                   software_version=__version__[:32], previous_device_id=self.previous)
        created = self.client.create(request)
        offer = Offer(central_url=self.client.central_url, secret=secret, code=created.code,
                      expires_at=created.expires_at, poll_after_s=created.poll_after_s,
                      approve_url=created.approve_url)
        save_offer(self.paths, offer)
        return offer

    def _resumable(self) -> Offer | None:
        offer = load_offer(self.paths)
        if offer is None or offer.central_url != self.client.central_url or offer.expired(self.clock.time()):
            return None
        return offer

    def _state(self, status: str, offer: Offer | None, zh: str, en: str) -> ScreenState:
        return ScreenState(status=status, code=offer.code if offer else None,
                           approve_url=offer.approve_url if offer else None,
                           expires_at=offer.expires_at if offer else None, central_url=self.client.central_url,
                           message_zh=zh, message_en=en, updated_at=self.clock.time())

    def _unreachable(self, offer: Offer | None, exc: EnrolError) -> None:
        self.failures += 1
        wait = min(RETRY_CAP_S, 5.0 * 2 ** min(self.failures - 1, 4))
        log.warning("enrolment: %s; retrying in %.0f s", exc, wait)
        self.show(self._state("unreachable", offer,
                              f"暂时连不上中心服务器，{wait:.0f} 秒后自动重试。请检查网线或网络。",
                              f"Cannot reach central right now; retrying by itself in {wait:.0f} s. Check the "
                              "network cable or Wi-Fi."))
        self._wait(wait)

    def run(self) -> tuple[Offer, PollApproved]:
        """Until approved: returns the request and central's answer (not yet written: :func:`install_result`).

        Raises :class:`Stopped` when ``stop`` is set, :class:`EnrolError` when central refuses the request.
        """
        offer = self._resumable()
        if offer is not None:
            self._show_waiting(offer)
        while True:
            try:
                if offer is None or offer.expired(self.clock.time()):
                    offer = self._new_offer()
                    self._show_waiting(offer)
                reply = self.client.poll(offer.secret)
            except CentralUnreachable as exc:
                self._unreachable(offer, exc)
                continue
            self.failures = 0
            if isinstance(reply, PollApproved):
                return offer, reply
            if isinstance(reply, PollPending):
                self._show_waiting(offer)
                self._wait(offer.poll_after_s)
                continue
            self._closed(offer, reply)
            offer = None

    def _show_waiting(self, offer: Offer) -> None:
        self.show(self._state("waiting", offer, "请工作人员在管理后台输入此接入码或扫描二维码，批准本设备接入。",
                              "Staff: enter this code in the console (or scan the QR) to approve this gate."))

    def _closed(self, offer: Offer, reply: PollClosed | None) -> None:
        """A request that is over: a new code next round (refused: say so first)."""
        status = reply.status if reply is not None else "unknown"
        log.info("enrolment request %s is %s; asking for a new code", offer.code, status)
        self.paths.pending.unlink(missing_ok=True)
        if status == "refused":
            self.show(self._state("refused", None, "中心已拒绝这个接入码，正在申请新的接入码。",
                                  "Central refused this code; asking for a new one."))
            self._wait(offer.poll_after_s)


def screen_writer(paths: EnrolPaths) -> Callable[[ScreenState], None]:
    """A ``show`` callback that keeps the guard screen's state file current."""
    return lambda state: write_screen(paths, state)
