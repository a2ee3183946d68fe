"""Alerts of issue 13: let-through overrides, suspected fever, health code, visitors to quarantined homes, a
gate without its thermometer; shift hand-over entries never confuse them."""

from __future__ import annotations

import json
import re
import time

import pytest

from central.console import alerts
from central.db import open_db
from tests.central.console.data import entry, ingest_entries

T = 1_795_104_000.0 + 9 * 3600  # 2026-11-20 09:00 local


def _scenario() -> tuple[list[dict], dict[str, str]]:
    q = entry(1, "dev-a", "north", T, pass_id="501", household="2-3-401", person=2, direction="out",
              decision="refuse", reason="quarantined", priority=1)
    lt = entry(2, "dev-a", "north", T + 30, event="override", pass_id="501", household="2-3-401", person=2,
               direction="out", decision="pass", reason="override", override_reason="other", guard_id="g3",
               ref_uuid=q["uuid"], priority=1, extra=json.dumps({"note": "送医院透析"}), temp_c=None)
    h1 = entry(3, "dev-a", "north", T + 100, pass_id="601", temp_c=37.6, decision="refuse", reason="temp_high")
    h2 = entry(4, "dev-a", "north", T + 200, pass_id="602", temp_c=37.5, decision="refuse", reason="temp_high")
    ok2 = entry(5, "dev-a", "north", T + 260, pass_id="602", temp_c=36.6)
    h3 = entry(6, "dev-a", "north", T + 300, pass_id="603", temp_c=37.8, decision="refuse", reason="temp_high")
    f3 = entry(7, "dev-a", "north", T + 350, pass_id="603", temp_c=38.1, decision="refuse", reason="fever", fever=1,
               ref_uuid=h3["uuid"])
    h4 = entry(8, "dev-a", "north", T + 400, pass_id="604", temp_c=37.9, decision="refuse", reason="temp_high")
    o4 = entry(9, "dev-a", "north", T + 420, event="override", pass_id="604", decision="pass", reason="override",
               override_reason="medical", guard_id="g4", ref_uuid=h4["uuid"], priority=1)
    y = entry(10, "dev-a", "north", T + 500, pass_id="701", decision="refuse", reason="health_code_yellow",
              extra=json.dumps({"health_code": "yellow"}))
    v = entry(11, "dev-a", "north", T + 600, event="visitor", visitor_ref="V-9", household="2-3-401",
              decision="refuse", reason="host_quarantined")
    ex = entry(12, "dev-a", "north", T + 700, pass_id="801", decision="refuse", reason="expired", temp_c=None)
    oex = entry(13, "dev-a", "north", T + 710, event="override", pass_id="801", decision="pass", reason="override",
                override_reason="staff", guard_id="g3", ref_uuid=ex["uuid"])
    h5 = entry(14, "dev-a", "north", T + 900, pass_id="605", temp_c=37.5, decision="refuse", reason="temp_high")
    shift = entry(15, "dev-a", "north", T + 950, event="shift_end", decision="info", reason="shift_end",
                  guard_id="g3", temp_c=None, direction="in",
                  extra=json.dumps({"started_at": T - 3600, "ended_at": T + 950, "entries": 14}))
    rows = [q, lt, h1, h2, ok2, h3, f3, h4, o4, y, v, ex, oex, h5, shift]
    return rows, {"q": q["uuid"], "lt": lt["uuid"], "h1": h1["uuid"], "h2": h2["uuid"], "h3": h3["uuid"],
                  "f3": f3["uuid"], "h4": h4["uuid"], "o4": o4["uuid"], "y": y["uuid"], "v": v["uuid"],
                  "oex": oex["uuid"], "h5": h5["uuid"]}


@pytest.fixture
def scenario(central_url):
    db = open_db(central_url)
    rows, ids = _scenario()
    ingest_entries(db, "dev-a", "Garden", rows)
    return db, ids


def test_a_let_through_is_a_priority_alert_and_its_refusal_says_it_was_overridden(scenario):
    db, ids = scenario
    items = {a.key: a for a in alerts.alerts(db, T - 60, T + 3600, now=T + 1000)}
    lt = items[f"let_through:{ids['lt']}"]
    assert lt.priority and lt.override.guard_id == "g3" and lt.override.reason == "other"
    assert lt.override.note == "送医院透析" and lt.refused_key == f"quarantine:{ids['q']}"
    assert lt.refused_reason == "quarantined" and lt.household == "2-3-401" and lt.person == 2
    refusal = items[f"quarantine:{ids['q']}"]
    assert refusal.override is not None and refusal.override.key == lt.key
    fever_lt = items[f"let_through:{ids['o4']}"]
    assert fever_lt.refused_key == f"suspected_fever:{ids['h4']}" and fever_lt.override.reason == "medical"
    assert f"let_through:{ids['oex']}" not in items  # an expired pass let through is no risk alert


def test_a_high_reading_without_a_normal_remeasure_is_a_suspected_fever(scenario):
    db, ids = scenario
    items = {a.key: a for a in alerts.alerts(db, T - 60, T + 3600, now=T + 1000)}
    suspected = {k.split(":", 1)[1] for k in items if k.startswith("suspected_fever:")}
    assert suspected == {ids["h1"], ids["h4"]}  # h2 re-measured normal, h3 became a fever, h5 still in its window
    assert items[f"suspected_fever:{ids['h4']}"].override is not None  # ... and was let through
    assert items[f"fever:{ids['f3']}"].temp_c == 38.1
    later = {a.key for a in alerts.alerts(db, T - 60, T + 3600, now=T + 900 + 181)}
    assert f"suspected_fever:{ids['h5']}" in later


def test_health_code_and_visitor_to_a_quarantined_home_alerts(scenario):
    db, ids = scenario
    items = {a.key: a for a in alerts.alerts(db, T - 60, T + 3600, now=T + 1000)}
    assert items[f"health_code:{ids['y']}"].detail == "health_code_yellow"
    visitor = items[f"host_quarantined:{ids['v']}"]
    assert visitor.household == "2-3-401" and visitor.visitor_ref == "V-9"
    assert not [a for a in items.values() if a.detail == "shift_end"]


def test_the_remeasure_window_comes_from_centrals_policy(scenario):
    from central.passes.issuance import set_policy

    db, ids = scenario
    set_policy(db, "remeasure_window_s", 30)  # h2's normal re-measure came 60 s later: too late now
    items = {a.key for a in alerts.alerts(db, T - 60, T + 3600, now=T + 1000)}
    assert f"suspected_fever:{ids['h2']}" in items and f"suspected_fever:{ids['h5']}" in items


def test_a_gate_without_its_thermometer_for_over_5_minutes_raises_an_alert(central_url):
    db = open_db(central_url)
    now = time.time()
    ingest_entries(db, "dev-t", "Garden", [], faults=[{"code": "thermometer", "since": now - 400},
                                                      {"code": "camera", "since": now - 900}])
    ingest_entries(db, "dev-u", "Garden", [], faults=[{"code": "thermometer", "since": now - 60}])
    down = [a for a in alerts.alerts(db, now - 3600, now + 60) if a.kind == "thermometer_down"]
    assert [(a.gate_id, a.until) for a in down] == [("gate", None)] and down[0].key.startswith("thermometer_down:dev-t")
    ingest_entries(db, "dev-t", "Garden", [], faults=[])  # working again: the alert stays, closed
    again = [a for a in alerts.alerts(db, now - 3600, now + 60) if a.kind == "thermometer_down"]
    assert [a.key for a in again] == [down[0].key] and again[0].until is not None
    alerts.acknowledge(db, down[0].key, "staff", "换了体温计")


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_alerts_page_says_who_let_whom_through_and_why_in_plain_words(central):
    rows, ids = _scenario()
    now = time.time()
    for r in rows:
        r["wall_ts"] += now - T - 1000
    ingest_entries(central.db, "dev-a", "Garden", rows)
    with central.client("viewer") as c:
        html = c.get("/alerts").text
        en = c.get("/alerts", params={"lang": "en"}).text
    lt_row = html.split(f'id="a-let_through:{ids["lt"]}"', 1)[1].split("</tr>", 1)[0]
    assert "此人已被放行" in lt_row and "g3" in lt_row and "其他" in lt_row and "送医院透析" in lt_row
    assert f'href="#a-quarantine:{ids["q"]}"' in lt_row and "居家隔离" in _text(lt_row)
    q_row = html.split(f'id="a-quarantine:{ids["q"]}"', 1)[1].split("</tr>", 1)[0]
    assert "此人随后已被保安放行" in q_row and f'href="#a-let_through:{ids["lt"]}"' in q_row
    v_row = html.split(f'id="a-host_quarantined:{ids["v"]}"', 1)[1].split("</tr>", 1)[0]
    assert "2-3-401" in v_row and "居家隔离" in _text(v_row)
    text = _text(html)
    assert "疑似发热" in text and "健康码" in text
    for code in ("temp_high", "host_quarantined", "health_code_yellow", "let_through", "quarantined", "other"):
        assert code not in text, code
    assert "Let through by the guard" in en and "other" in _text(en)
