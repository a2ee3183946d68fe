"""The lists the checkpoint verifies passes against, central's policy, and the time to judge passes by.

Lists are loaded with :func:`sync.lists.load` into a :class:`ListsSnapshot` and reloaded when their version
changes (a failure keeps the last good snapshot and raises the ``lists_failed`` fault). Central's policy
values win over the config for the keys in :data:`POLICY_KEYS` (logged when they differ): see
:meth:`Policy.with_central`. :meth:`ListsAndPolicy.now` is :func:`sync.passes.effective_now` over the injected
clock, the last time central confirmed and the service's clock floor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import sqlite_utils

from edge.faults import FaultBoard
from edge.settings import EdgeSettings
from edge.store import LocalStore
from gatepass.clock import Clock
from sync import lists as edgelists
from sync import state as sync_state
from sync.passes import DEFAULT_CLOCK_FLOOR, Lists, Now, TrustList
from sync.timekeeping import Anchor, best_now

log = logging.getLogger(__name__)

#: The sync state's time anchor is read at most this often (seconds): a reload runs before every scan.
ANCHOR_READ_EVERY_S = 1.0

#: Central policy keys that override the config (central wins when it sets them).
POLICY_KEYS = {"fever_c": float, "cooldown_s": float, "pair_window_s": float}


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy values central may set: fever threshold (deg C), cooldown and pairing window (s)."""

    fever_c: float
    cooldown_s: float
    pair_window_s: float

    @classmethod
    def from_settings(cls, settings: EdgeSettings) -> Policy:
        """The config's values."""
        return cls(settings.policy.fever_c, settings.scan.cooldown_s, settings.policy.pair_window_s)

    def with_central(self, central: Mapping[str, object]) -> Policy:
        """These values with central's (for the keys in :data:`POLICY_KEYS`) winning; bad values are logged
        and ignored."""
        values: dict[str, float] = {}
        for key in POLICY_KEYS:
            default: float = getattr(self, key)
            value = default
            if key in central:
                try:
                    value = float(central[key])  # type: ignore[arg-type]  # a bad type is caught below
                    if value != default:
                        log.info("policy %s: central's %s wins over the config's %s", key, value, default)
                except (TypeError, ValueError):
                    log.warning("policy %s from central is not a number (%r); using the config's %s", key,
                                central[key], default)
                    value = default
            values[key] = value
        return replace(self, **values)


@dataclass(frozen=True, slots=True)
class ListsSnapshot:
    """One consistent copy of the lists: trusted keys, revocations and quarantines, policy, version."""

    trust: TrustList = field(default_factory=TrustList)
    lists: Lists = field(default_factory=Lists)
    policy: Mapping[str, object] = field(default_factory=dict)
    meta: edgelists.ListMeta = field(default_factory=edgelists.ListMeta)


class ListsAndPolicy:
    """The current :class:`ListsSnapshot` and :class:`Policy`; ``on_policy`` hears every policy applied."""

    def __init__(self, settings: EdgeSettings, store: LocalStore, faults: FaultBoard, clock: Clock,
                 on_policy: Callable[[Policy], None] | None = None, boot_id: str = "") -> None:
        self.config_policy = Policy.from_settings(settings)
        self.store = store
        self.faults = faults
        self.clock = clock
        self.on_policy = on_policy
        self.snapshot: ListsSnapshot | None = None
        self.policy = self.config_policy
        #: The earliest believable wall time (unix s); set by the service from its start-up clock check.
        self.clock_floor = DEFAULT_CLOCK_FLOOR
        #: The gate's last good time of this boot (wall, monotonic, boot), set by the service from its clock guard
        #: (:meth:`gatepass.startup.ClockGuard.reference`): a clock stepped away from it is not trusted.
        self.last_good: Callable[[], tuple[float, float, str] | None] = lambda: None
        self.boot_id = boot_id
        self.anchor: Anchor | None = None  # central's latest time, as the sync process received it
        self._anchor_read = float("-inf")  # when the anchor was last read (monotonic s)

    def reload(self, force: bool = False) -> None:
        """Load the lists when their version changed (``force``: always); keep the last copy on failure."""
        try:
            with self.store.lock:
                db = self.store.require_db()
                if self.clock.monotonic() - self._anchor_read >= ANCHOR_READ_EVERY_S:  # not on every scan
                    self.anchor, self._anchor_read = _anchor(db), self.clock.monotonic()
                version = edgelists.meta(db).version
                if not force and self.snapshot is not None and self.snapshot.meta.version == version:
                    return
                snapshot = ListsSnapshot(*edgelists.load(db))
            self.snapshot = snapshot
            self.faults.clear("lists_failed")
        except Exception as exc:  # keep the last good snapshot
            self.faults.raise_("lists_failed", str(exc))
            log.warning("cannot load the lists (keeping the last copy): %s", exc)
            return
        log.info("lists version %d loaded", snapshot.meta.version)
        self.policy = self.config_policy.with_central(snapshot.policy)
        if self.on_policy is not None:
            self.on_policy(self.policy)

    def current(self) -> ListsSnapshot:
        """The snapshot in use (empty lists before the first load)."""
        return self.snapshot or ListsSnapshot()

    def server_time(self) -> float | None:
        """When central last confirmed the time (unix s), if it did."""
        return self.snapshot.meta.server_time if self.snapshot else None

    def anchored(self) -> bool:
        """Whether central's time is anchored to the monotonic clock in this boot (:mod:`sync.timekeeping`)."""
        return self.anchor is not None and self.anchor.boot == self.boot_id

    def clock_off_s(self) -> float | None:
        """How far the system clock is from central's time carried forward (s; None: not anchored this boot)."""
        if self.anchor is None or not self.anchored():
            return None
        return self.clock.time() - (self.anchor.t + self.clock.monotonic() - self.anchor.mono)

    def now(self) -> Now:
        """The best estimate of the time and whether it can be trusted (:func:`sync.timekeeping.best_now`)."""
        ref = self.last_good()
        return best_now(self.clock.time(), self.clock.monotonic(), self.boot_id, self.anchor, self.server_time(),
                        self.clock_floor, reference=Anchor(*ref) if ref else None)


def _anchor(db: sqlite_utils.Database) -> Anchor | None:
    """This boot's anchor in the sync state, if the sync process wrote one (a missing table: none yet)."""
    try:
        return Anchor.from_json(sync_state.read_key(db, "server_anchor"))
    except Exception:  # noqa: BLE001 - no sync state yet (a fresh database) or a half-written value
        return None
