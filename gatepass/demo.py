"""``gatepass demo``: the whole system on one machine with simulated hardware.

Starts, as separate processes exactly as in production: the central server, a
thermometer simulator on a pseudo-terminal, one edge device using it (with the
simulated camera and a recording relay), and the sync between edge and
central. Prints the guard page and console URLs and runs until Ctrl-C.

Everything the demo writes (configs with the session secret, the databases, the PIN pepper, logs) is private to
the user running it: the demo and its processes run with umask 077, and the files it writes itself get 0600.
The guard page listens on loopback only, so the browser on this machine is its paired kiosk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

import gatepass
from gatepass.procs import Child, free_port, gatepass_command, wait_http

log = logging.getLogger(__name__)

# The demo may run as root (CI containers); on a Pi the services run as their own users and refuse root.
ALLOW_ROOT = {"GATEPASS_ALLOW_ROOT": "1"}


PRIVATE_UMASK = 0o077


def _write(path: Path, text: str) -> Path:
    """Write ``path`` with mode 0600 (created so, never readable by others even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    return path


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """umask 077 while the demo starts its processes (they inherit it) and writes its files."""
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def _session_secret(data_dir: Path) -> str:
    path = data_dir / "session-secret"
    if not path.exists():
        _write(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def _start_thermometer_sim(data_dir: Path, logs: Path, children: list[Child]) -> Path | None:
    """Start ``gatepass sim thermometer`` on a pty linked at ``<data>/thermometer``; None if unavailable."""
    from drivers.cli import sim_group

    if "thermometer" not in sim_group.commands:
        return None
    link = data_dir / "thermometer"
    child = Child("thermometer", gatepass_command("sim", "thermometer", "--pty", "--link", str(link)), logs).start()
    children.append(child)
    deadline = time.monotonic() + 10
    while not link.exists() and child.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return link


def _demo_passes(data_dir: Path) -> Path | None:
    """Issue demo passes at central (valid, expired, revoked, quarantined household), write them to
    ``passes.txt`` for the edge's demo feeder, and give the edge central's current lists."""
    path = data_dir / "passes.txt"
    try:
        from datetime import date, timedelta

        from central.db import open_db as open_central_db
        from central.passes import changelog, issuance
        from central.passes.store import note_household
        from sync.devicedb import open_db as open_edge_db
        from sync.lists import ListError, apply_page

        central_dir = data_dir / "central"
        central_dir.mkdir(parents=True, exist_ok=True)
        db = open_central_db(central_dir / "central.db")
        if not path.exists():
            now = time.time()
            texts = [issuance.issue(db, central_dir, household="1-1-101", person=1, kind="resident", days=30).text,
                     issuance.issue(db, central_dir, household="1-1-102", person=1, kind="resident",
                                    valid_from=now - 3 * 86400, valid_to=now - 86400).text]
            revoked = issuance.issue(db, central_dir, household="1-1-103", person=1, kind="resident", days=30)
            issuance.revoke(db, revoked.info.pass_id, "demo: card lost")
            quarantined = issuance.issue(db, central_dir, household="2-3-401", person=1, kind="resident", days=30)
            today = date.today()
            issuance.quarantine(db, "2-3-401", today - timedelta(days=1), today + timedelta(days=13), "demo")
            with db.transaction():  # the demo visitors' hosts are households central knows (a gate checks them)
                for host in sorted({v[2] for v in DEMO_VISITORS}):
                    note_household(db, host, now)
            _write(path, "\n".join([*texts, revoked.text, quarantined.text]) + "\n")
        _demo_casework(db)
        page = changelog.snapshot(db)
        db.close()
        (data_dir / "edge").mkdir(parents=True, exist_ok=True)
        edge_db = open_edge_db(data_dir / "edge" / "edge.db")
        try:
            apply_page(edge_db, page)
        except ListError as exc:  # already newer (a previous run): keep it
            log.info("edge lists kept: %s", exc)
        finally:
            edge_db.conn.close()
        return path
    except Exception as exc:  # the demo still runs, only without scans
        log.warning("demo passes not issued: %s", exc)
        return None


def _demo_casework(db: Any) -> None:
    """The household files, a home quarantine and a screening list at central (once; the demo runs without them
    if that fails)."""
    try:
        from central import demo_casework

        demo_casework.seed(db)
    except Exception as exc:
        log.warning("demo casework not seeded: %s", exc)


def _demo_enrolment(db: Any) -> None:
    """A new gate waiting for approval on the console's 接入新设备 page (its secret is dropped: approving it only
    shows the page's flow)."""
    try:
        from central import enrolment
        from sync import enrolment as wire

        if not enrolment.list_pending(db, time.time()):
            req = wire.EnrolmentRequest(claim=wire.claim_of(wire.new_secret()), hostname="gatepass-west",
                                        software_version=gatepass.__version__, previous_device_id=None)
            enrolment.create(db, req, "127.0.0.1", time.time(), 30)
    except Exception as exc:  # the demo runs without it
        log.warning("demo enrolment not created: %s", exc)


def _start_sync(data_dir: Path, logs: Path, central_url: str) -> Child:
    """Register the demo gate at central (a new token each run), write ``sync.toml`` and start the sync."""
    from central import ingest
    from central.db import open_db as open_central_db
    from central.signing import root_public_pem

    central_dir = data_dir / "central"
    db = open_central_db(central_dir / "central.db")
    try:
        try:
            token = ingest.add_device(db, "demo-gate-1", name="东门", community="幸福里社区",
                                      gate_id="gate-1")
        except ingest.DeviceExistsError:
            token = ingest.rotate_token(db, "demo-gate-1")
        _demo_enrolment(db)
    finally:
        db.close()
    cfg = data_dir / "sync.toml"
    _write(cfg, (f'central_url = "{central_url}"\ndevice_token = "{token}"\ndata_dir = "{data_dir / "edge"}"\n'
                 f'interval_s = 1.0\nbackoff_cap_s = 10.0\n'
                 f'central_public_key = """\n{root_public_pem(central_dir).strip()}\n"""\n'))
    return Child("sync", gatepass_command("sync", "run", "--config", str(cfg)), logs, env=ALLOW_ROOT).start()


def _demo_guard(data_dir: Path) -> None:
    """The demo guard's PIN in the edge database (peppered and hashed, as ``gatepass edge set-pin`` does)."""
    from edge.shifts import ShiftBook
    from gatepass.private_files import make_db_private
    from sync.devicedb import open_db as open_edge_db

    path = data_dir / "edge" / "edge.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = open_edge_db(path)
    try:
        book = ShiftBook(db)
        if not book.verify(DEMO_GUARD, DEMO_PIN):
            book.set_pin(DEMO_GUARD, DEMO_PIN)
        _demo_visitors(db, time.time())
        _demo_vehicles(db, time.time())
        _demo_deliveries(db, time.time())
    finally:
        db.conn.close()
        make_db_private(path)


#: The demo's visitors (name, phone, host household, reason, hours ago, hours inside; None: still inside).
DEMO_VISITORS = (("王小明", "13800138000", "3-2-401", "探亲访友", 26.0, 2.0),
                 ("李秀英", "13912345678", "5-1-101", "维修服务", 3.0, 1.0),
                 ("王小明", "138 0013 8000", "3-2-401", "探亲访友", 1.0, None),
                 ("张师傅", "13700001111", "6-2-302", "快递外卖", 0.3, None))


def _demo_visitors(db: Any, now: float) -> None:
    """A few visitors in the gate's log (once): the ledger at central and the guard's "now inside" list show them."""
    from edge.visitor_book import EXIT_EVENT, Visit, VisitorBook
    from sync.locallog import LocalLog

    if db.execute("SELECT 1 FROM entries WHERE event = 'visitor' LIMIT 1").fetchone():
        return
    locallog, book = LocalLog(db), VisitorBook(db)
    common = {"device_id": "demo-gate-1", "gate_id": "gate-1", "mono_ts": 0.0, "boot_id": "demo-seed",
              "clock_trusted": True, "guard_id": DEMO_GUARD, "pass_kind": "visitor"}
    for n, (name, phone, host, reason, ago_h, stay_h) in enumerate(DEMO_VISITORS, 1):
        t_in = now - ago_h * 3600
        visit = locallog.append(**common, wall_ts=t_in, sys_ts=t_in, event="visitor", household=host,
                                visitor_ref=f"demo{n}", direction="in", temp_c=36.5, temps=[36.5], decision="pass",
                                reason="visitor_ok", extra={"name": name, "phone": phone, "host_household": host,
                                                            "reason": reason})
        t_out = None if stay_h is None else t_in + stay_h * 3600
        book.add(Visit(visit["uuid"], f"demo{n}", name, phone, host, reason, t_in, t_out))
        if t_out is not None:
            locallog.append(**common, wall_ts=t_out, sys_ts=t_out, event=EXIT_EVENT, household=host,
                            visitor_ref=f"demo{n}", direction="out", decision="info", reason=EXIT_EVENT,
                            ref_uuid=visit["uuid"])


#: The demo's vehicles (plate, purpose, driver's name, phone, hours ago, hours inside; None: still inside).
DEMO_VEHICLES = (("京AD12345", "delivery", "刘师傅", "13600001234", 5.0, 0.5),  # a new-energy van
                 ("京A8B123", "works", "陈工", "13512340000", 2.0, None),
                 ("京N12345", "medical", "急救中心", "01088881234", 0.5, None))


def _demo_vehicles(db: Any, now: float) -> None:
    """A few vehicles in the gate's log (once): the vehicle ledger at central and the guard's "now inside" list."""
    from edge.vehicle_book import EVENT, EXIT_EVENT, VehicleBook, VehicleVisit
    from sync.locallog import LocalLog

    if db.execute("SELECT 1 FROM entries WHERE event = ? LIMIT 1", [EVENT]).fetchone():
        return
    locallog, book = LocalLog(db), VehicleBook(db)
    common = {"device_id": "demo-gate-1", "gate_id": "gate-1", "mono_ts": 0.0, "boot_id": "demo-seed",
              "clock_trusted": True, "guard_id": DEMO_GUARD}
    for plate, purpose, name, phone, ago_h, stay_h in DEMO_VEHICLES:
        t_in = now - ago_h * 3600
        extra = {"plate": plate, "purpose": purpose, "driver_kind": "person", "driver_name": name,
                 "driver_phone": phone}
        car = locallog.append(**common, wall_ts=t_in, sys_ts=t_in, event=EVENT, direction="in", decision="pass",
                              reason="vehicle_ok", extra=extra)
        t_out = None if stay_h is None else t_in + stay_h * 3600
        book.add(VehicleVisit(car["uuid"], plate, purpose, "person", name, phone, None, t_in, t_out))
        if t_out is not None:
            locallog.append(**common, wall_ts=t_out, sys_ts=t_out, event=EXIT_EVENT, direction="out",
                            decision="info", reason=EXIT_EVENT, ref_uuid=car["uuid"])



#: The demo's deliveries (household, company, count, courier phone, note, quarantined home, hours ago, picked up by
#: the name, hours later; None: still waiting).
DEMO_DELIVERIES = (("1-1-101", "顺丰", 2, "13500001234", "", False, 5.0, ("李阿姨", 1.0)),
                   ("2-3-401", "美团", 1, "", "药品", True, 1.0, None),
                   ("3-2-401", "京东", 1, "13600002222", "生鲜", False, 0.5, None))


def _demo_deliveries(db: Any, now: float) -> None:
    """A few parcels left at the gate (once): one to the quarantined household, one picked up."""
    from edge.delivery_book import EVENT, PICKUP_EVENT, Delivery, DeliveryBook
    from sync.locallog import LocalLog

    if db.execute("SELECT 1 FROM entries WHERE event = ? LIMIT 1", [EVENT]).fetchone():
        return
    locallog, book = LocalLog(db), DeliveryBook(db)
    common = {"device_id": "demo-gate-1", "gate_id": "gate-1", "mono_ts": 0.0, "boot_id": "demo-seed",
              "clock_trusted": True, "guard_id": DEMO_GUARD, "pass_kind": "delivery", "decision": "info"}
    for household, company, count, phone, note, quarantined, ago_h, pickup in DEMO_DELIVERIES:
        t = now - ago_h * 3600
        extra = {"company": company, "count": count, "quarantined": quarantined,
                 **({"courier_phone": phone} if phone else {}), **({"note": note} if note else {})}
        row = locallog.append(**common, wall_ts=t, sys_ts=t, event=EVENT, household=household, direction="in",
                              reason=EVENT, extra=extra)
        book.add(Delivery(row["uuid"], household, company, count, phone, note, quarantined, t))
        if pickup is not None:
            name, later_h = pickup
            t_out = t + later_h * 3600
            locallog.append(**common, wall_ts=t_out, sys_ts=t_out, event=PICKUP_EVENT, household=household,
                            direction="out", reason=PICKUP_EVENT, ref_uuid=row["uuid"],
                            extra={"by": "name", "name": name})
            book.picked_up(row["uuid"], t_out, "name", name)


def _make_private(data_dir: Path) -> None:
    """The demo's folder and what an earlier run left in it: not readable by others."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o700)


def start_demo(data_dir: Path, central_port: int, guard_port: int) -> tuple[list[Child], dict[str, str]]:
    """Start every process of the demo (with umask 077: every file private); returns them and the URLs to open."""
    with private_umask():
        return _start_demo(data_dir.resolve(), central_port, guard_port)


def _start_demo(data_dir: Path, central_port: int, guard_port: int) -> tuple[list[Child], dict[str, str]]:
    _make_private(data_dir)
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    central_port = free_port(central_port)
    guard_port = free_port(guard_port)
    children: list[Child] = []
    try:
        central_cfg = _write(data_dir / "central.toml", (
            f'data_dir = "{data_dir / "central"}"\nport = {central_port}\n'
            f'session_secret = "{_session_secret(data_dir)}"\n'))
        central = Child("central", gatepass_command("central", "serve", "--config", str(central_cfg)), logs,
                        env=ALLOW_ROOT).start()
        children.append(central)
        thermometer = _start_thermometer_sim(data_dir, logs, children)
        passes_file = _demo_passes(data_dir)
        _demo_guard(data_dir)
        edge_cfg = _write(data_dir / "edge.toml", (
            f'device_id = "demo-gate-1"\ndata_dir = "{data_dir / "edge"}"\n'
            '[gate]\nid = "gate-1"\ncommunity = "幸福里社区"\nname = "东门"\nvehicle_lane = true\n'
            f'[guard_page]\nport = {guard_port}\n'
            '[policy]\nhealth_code = "record"\nhealth_code_wait_s = 8\n'  # 绿/黄/红 on each valid pass, 8 s
            '[camera]\nsource = "sim://"\n[relay]\nkind = "fake"\n'
            + (f'[thermometer]\nurl = "{thermometer}"\n' if thermometer else '')
            + (f'[demo]\npasses_file = "{passes_file}"\ninterval_s = 6\n' if passes_file else '')))
        edge = Child("edge", gatepass_command("edge", "run", "--config", str(edge_cfg)), logs, env=ALLOW_ROOT).start()
        children.append(edge)
        urls = {"guard": f"http://127.0.0.1:{guard_port}/", "central": f"http://127.0.0.1:{central_port}/"}
        wait_http(urls["central"] + "healthz", central)
        wait_http(urls["guard"] + "healthz", edge)
        children.append(_start_sync(data_dir, logs, urls["central"]))
        return children, urls
    except BaseException:
        stop_all(children)
        raise


def stop_all(children: list[Child]) -> None:
    """Stop children in reverse start order."""
    for child in reversed(children):
        child.stop()


#: The demo's guard and PIN (printed with the URLs): sign in on the guard page to override, register visitors,
#: tap the health-code colour, choose the direction and hand over. Six digits, as every new PIN needs.
DEMO_GUARD, DEMO_PIN = "1001", "246810"


#: The guides for people (docs/ of the source tree; a wheel does not carry them).
GUIDES = ("保安使用说明.md", "社区工作人员使用说明.md")


def guides_location() -> str:
    """Where the guard's and the staff's guides are: their paths in this source tree, else where to find them."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    if all((docs / name).exists() for name in GUIDES):
        return ", ".join(str(docs / name) for name in GUIDES)
    return ", ".join(f"docs/{name}" for name in GUIDES) + " in the gatepass source"


@click.command("demo")
@click.option("--data-dir", type=click.Path(file_okay=False), default="demo-data", show_default=True,
              help="Where the demo keeps its databases, configs and logs.")
@click.option("--central-port", default=8000, show_default=True, help="Central console TCP port (next free if taken).")
@click.option("--guard-port", default=8080, show_default=True, help="Guard page TCP port (next free if taken).")
@click.option("--duration", type=float, default=0, help="Stop after this many seconds (0: run until Ctrl-C).")
def demo_command(data_dir: str, central_port: int, guard_port: int, duration: float) -> None:
    """Run central, a simulated gate and the sync on this machine, with no hardware."""
    children, urls = start_demo(Path(data_dir), central_port, guard_port)
    deadline = time.monotonic() + duration if duration > 0 else None
    try:
        from central.console.demo import demo_login

        click.echo(f"guard page:      {urls['guard']}")
        click.echo(f"central console: {urls['central']}")
        click.echo(f"console sign-in: {demo_login(Path(data_dir).resolve() / 'central')}")
        click.echo(f"guard sign-in:   {DEMO_GUARD} / PIN {DEMO_PIN} (household 2-3-401 is under home quarantine)")
        click.echo(f"guides:          {guides_location()}")
        click.echo("press Ctrl-C to stop", err=True)
        while deadline is None or time.monotonic() < deadline:
            dead = [c for c in children if not c.alive()]
            if dead:
                raise click.ClickException(f"{dead[0].name} stopped unexpectedly:\n{dead[0].tail()}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(children)
