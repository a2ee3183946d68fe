"""Fixtures for the checkpoint tests: a signing key known to the edge database, passes, settings."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge.settings import EdgeSettings
from sync.passes import PassInfo, sign_pass

KID = bytes.fromhex("0badcafe")
SEED = bytes(range(1, 33))


@pytest.fixture(scope="session")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(SEED)


def key_page(key: Ed25519PrivateKey, version: int = 1, extra: list[dict] | None = None) -> dict:
    """A lists page that trusts ``key`` (plus ``extra`` changes)."""
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    changes = [{"v": 1, "op": "key_add", "kid": KID.hex(), "public_key": pub, "not_before": 0}]
    for i, change in enumerate(extra or [], start=2):
        changes.append({"v": i, **change})
    return {"format": "gatepass-lists/1", "version": max(version, len(changes)), "since": 0, "snapshot": True,
            "issued_at": time.time(), "changes": changes}


def make_pass(key: Ed25519PrivateKey, **changes) -> str:
    """A pass valid now for a day (override any :class:`PassInfo` field)."""
    start = int(time.time()) // 60 * 60 - 3600
    info = PassInfo(pass_id=1001, household="3-2-401", person=1, kind="resident", valid_from=start,
                    valid_to=start + 86400, issued_at=start, gates=None, kid=KID)
    return sign_pass(dataclasses.replace(info, **changes), key)


@pytest.fixture
def edge_db():
    """``edge_db(path)`` opens an edge database that is closed when the test ends (no fds left behind)."""
    from sync.devicedb import open_db

    opened = []

    def open_(path):
        db = open_db(path)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        db.conn.close()


def edge_settings(tmp_path: Path, **sections) -> EdgeSettings:
    """Settings for a test checkpoint in ``tmp_path`` (sections as dicts)."""
    base: dict = {"data_dir": str(tmp_path / "edge"), "gate": {"id": "north", "direction": "in"},
                  "camera": {"source": "sim://", "fps": 30}, "relay": {"kind": "fake", "pulse_s": 0.2},
                  "policy": {"pair_window_s": 1.5, "pair_lookback_s": 0.5, "samples": 2},
                  "scan": {"cooldown_s": 30, "same_scan_gap_s": 0.4}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values} if isinstance(values, dict) else values
    return EdgeSettings(**base)


class PtyThermometer:
    """The far end of a real pseudo-terminal, speaking the GY-MCU90614 wire protocol.

    ``temperature`` (deg C, object temperature; None: stay silent) is sent ~20 times a second;
    ``unplug()`` closes the terminal (the driver sees the device vanish), ``replug()`` makes a new one
    at the same path (a symlink, as udev gives).
    """

    def __init__(self, link: Path) -> None:
        self.link = link
        self.temperature: float | None = 36.5
        self._stop = threading.Event()
        self._fd: int | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PtyThermometer:
        self._open_pty()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _open_pty(self) -> None:
        import tty

        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        self._slave = slave
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(name)
        self._fd = master

    def _run(self) -> None:
        from drivers.thermometer.mcu90614 import encode_reading

        while not self._stop.wait(0.05):
            fd, temp = self._fd, self.temperature
            if fd is None or temp is None:
                continue
            try:
                os.write(fd, encode_reading(temp, 24.0))
            except OSError:
                pass
            try:  # drain what the driver sends (commands), so the pty never fills up
                import select

                while select.select([fd], [], [], 0)[0]:
                    if not os.read(fd, 1024):
                        break
            except OSError:
                pass

    def unplug(self) -> None:
        fd, self._fd = self._fd, None
        if self.link.is_symlink():
            self.link.unlink()
        for f in (fd, self._slave):
            if f is not None:
                try:
                    os.close(f)
                except OSError:
                    pass

    def replug(self) -> None:
        self._open_pty()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self.unplug()


@pytest.fixture
def pty_thermometer(tmp_path):
    therm = PtyThermometer(tmp_path / "thermometer").start()
    yield therm
    therm.stop()


@pytest.fixture
def opened_store(tmp_path, key):
    """``opened_store(**sections)``: an open :class:`edge.store.LocalStore` whose lists trust ``key``, and its
    settings; closed when the test ends."""
    from edge.store import LocalStore
    from sync import lists

    made = []

    def open_(extra_page: list[dict] | None = None, **sections):
        settings = edge_settings(tmp_path, camera={"source": "none"}, **sections)
        store = LocalStore(settings)
        store.open()
        lists.apply_page(store.db, key_page(key, extra=extra_page))
        made.append(store)
        return store, settings

    yield open_
    for store in made:
        store.close()
