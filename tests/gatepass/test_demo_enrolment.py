"""The demo shows a new gate waiting on the console's 接入新设备 page (issue 19), once however often it starts."""

from __future__ import annotations

import time

from central import enrolment
from central.db import open_db
from gatepass import demo


def test_the_demo_leaves_one_enrolment_waiting(tmp_path):
    db = open_db(tmp_path / "central.db")
    demo._demo_enrolment(db)
    demo._demo_enrolment(db)
    pending = enrolment.list_pending(db, time.time())
    assert len(pending) == 1 and pending[0]["hostname"] == "gatepass-west"
