"""The guard page's direction control at a "both" gate and its re-scan notice, in Debian's chromium at 800x480
(screenshots under /tmp/gatepass-shots/), plus the routes behind them."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.screen_forms import DirectionForm, describe_errors
from tests.edge.web.conftest import Server, settings_for, shot
from tests.edge.web.fakes import FakeCheckpoint, make_outcome
from tests.edge.web.test_browser import REFUSED, open_page, show, sign_in, text
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def srv(tmp_path, fake):
    with Server(fake, settings_for(tmp_path, screen={"result_hold_s": 30})) as s:
        yield s


def pressed(page) -> list[str]:
    return page.eval_on_selector_all("#dir-control button[aria-pressed='true']", "bs => bs.map(b => b.dataset.dir)")


def test_direction_control_needs_a_shift_and_reaches_every_page(page, browser, srv, fake):
    open_page(page, srv)
    assert pressed(page) == ["auto"] and text(page, "#dir-now") == "方向：自动"
    assert not page.is_enabled("#dir-control [data-dir='in']")
    assert text(page, "#dir-hint") == "签到后才能切换方向"
    shot(page, "30-direction-no-shift")

    other = browser.new_context(viewport={"width": 800, "height": 480}, has_touch=True).new_page()
    try:
        open_page(other, srv)
        sign_in(page)
        assert page.is_hidden("#dir-hint")
        page.click("#dir-control [data-dir='in']")
        page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'in'")
        assert fake.calls[-1] == ("set_direction", "in", "1001") and fake.chosen_direction == "in"
        assert pressed(page) == ["in"] and text(page, "#dir-now") == "方向：进"
        shot(page, "31-direction-in")
        # the other open page follows through the event stream
        other.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'in'", timeout=5000)
        assert text(other, "#dir-now") == "方向：进"

        page.click("#btn-lang")
        page.click("#dir-control [data-dir='out']")
        page.wait_for_function("document.getElementById('dir-now').textContent === 'Direction: out'")
        assert fake.chosen_direction == "out"
        shot(page, "32-direction-out-en")
        page.click("#btn-lang")

        page.reload()  # the choice lives in the checkpoint, not in the page
        page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'out'", timeout=5000)

        page.click("#dir-control [data-dir='auto']")
        page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'auto'")
        assert fake.calls[-1] == ("set_direction", None, "1001")

        page.click("#dir-control [data-dir='in']")
        page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'in'")
        page.click("#btn-shift")
        page.click("#summary-ok")  # hand over: the choice ends with the shift
        page.wait_for_function("document.getElementById('summary-ok').textContent === '完成'")
        page.click("#summary-ok")
        other.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'auto'", timeout=5000)
        page.wait_for_function("document.getElementById('dir-control').dataset.chosen === 'auto'", timeout=5000)
        assert not page.is_enabled("#dir-control [data-dir='out']")
    finally:
        other.context.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_direction_buttons_are_glove_sized_and_fit_the_screen(page, srv, fake, lang):
    open_page(page, srv, lang=lang)
    for sel in ("auto", "in", "out"):
        box = page.locator(f"#dir-control [data-dir='{sel}']").bounding_box()
        assert box["height"] >= 60 and box["width"] >= 70, (sel, box)
    hint = page.locator("#dir-hint")
    assert page.evaluate("e => e.scrollWidth <= e.clientWidth", hint.element_handle())  # the hint is not cut
    fake.shift = {"guard_id": "1001", "since": 0}
    page.reload()
    page.wait_for_function("!document.getElementById('dir-control').querySelector('button').disabled")
    for sel in ("#side", "#main"):  # nothing in the side panel is cut off or spills out of the screen
        assert page.eval_on_selector(sel, "e => e.scrollHeight <= e.clientHeight"), sel
    assert page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")


def test_no_direction_control_at_a_one_way_gate_and_the_route_refuses(page, tmp_path):
    fake = FakeCheckpoint(direction="in")
    with Server(fake, settings_for(tmp_path, gate={"direction": "in", "name": "东门"})) as s:
        open_page(page, s)
        assert page.query_selector("#dir-control") is None and page.query_selector("#dir-now") is None
        assert text(page, "#direction") == "入口"
        fake.shift = {"guard_id": "1001", "since": 0}
        r = httpx.post(s.url + "/api/direction", json={"direction": "in"}, headers={"X-Gatepass-Token": s.token()})
        assert r.status_code == 409 and r.json()["error"] == "fixed_direction"
    assert not any(c[0] == "set_direction" for c in fake.calls)


def test_direction_route_has_the_guard_action_protections(server, fake):
    url, token = server.url + "/api/direction", server.token()
    assert httpx.post(url, json={"direction": "in"}).json()["error"] == "bad_token"
    r = httpx.post(url, json={"direction": "in"}, headers={"X-Gatepass-Token": token, "Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "cross_site"
    r = httpx.post(url, json={"direction": "in"}, headers={"X-Gatepass-Token": token})
    assert r.status_code == 403 and r.json()["error"] == "no_shift"
    fake.shift = {"guard_id": "1001", "since": 0}
    r = httpx.post(url, json={"direction": "sideways"}, headers={"X-Gatepass-Token": token})
    assert r.status_code == 422 and "通行方向" in r.json()["message_zh"]
    r = httpx.post(url, json={"direction": None}, headers={"X-Gatepass-Token": token})
    assert r.status_code == 200 and r.json() == {"ok": True, "chosen_direction": None}
    r = httpx.post(url, json={"direction": "out"}, headers={"X-Gatepass-Token": token})
    assert r.status_code == 200 and fake.calls[-1] == ("set_direction", "out", "1001")
    assert httpx.get(server.url + "/status").json()["gate"]["chosen_direction"] == "out"
    assert [c for c in fake.calls if c[0] == "set_direction"] == [("set_direction", None, "1001"),
                                                                 ("set_direction", "out", "1001")]


def test_unattended_both_gate_has_no_direction_control(page, tmp_path):
    fake = FakeCheckpoint(mode="unattended")
    with Server(fake, settings_for(tmp_path, mode="unattended")) as s:
        open_page(page, s)
        assert page.query_selector("#dir-control") is None and page.query_selector_all("button") == []


def test_rescan_notice_is_calm_and_leaves_the_outcome_alone(page, srv, fake):
    open_page(page, srv)
    first = show(page, fake, 1)
    fake.notice_rescan(first)
    page.wait_for_selector("#result[data-state='notice']")
    assert text(page, "#headline") == "已登记，请通行"
    assert "已记录 · 通行" in text(page, "#reason") and "通行证有效" in text(page, "#reason")
    assert page.get_attribute("#result", "data-seq") == "1"  # not taken for a new decision
    shot(page, "33-rescan-notice")
    # it goes after a few seconds, back to the outcome still within its hold time
    page.wait_for_function("document.getElementById('result').dataset.state === 'pass'", timeout=8000)

    refused = show(page, fake, 2, **REFUSED)
    page.click("#btn-lang")
    fake.notice_rescan(refused)
    page.wait_for_selector("#result[data-state='notice']")
    assert text(page, "#headline") == "Already recorded: no need to scan again"
    assert "refused: Pass expired" in text(page, "#reason")
    assert page.is_enabled("#btn-override")  # the refusal on screen can still be let through
    shot(page, "34-rescan-notice-refused-en")
    show(page, fake, 3)  # a new decision replaces the notice at once
    assert page.get_attribute("#result", "data-state") == "pass"


def test_event_stream_carries_notices_as_their_own_kind_and_unsubscribes(server, fake):
    got: list[str] = []
    opened = threading.Event()
    outcome_subs = len(fake.subscribers)  # the override window's own subscription

    def read() -> None:
        with httpx.stream("GET", server.url + "/events", timeout=10) as r:
            opened.set()
            for line in r.iter_lines():
                got.append(line)
                if line.startswith("data:") and '"kind"' in line:
                    return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    assert opened.wait(10)
    assert wait_until(lambda: len(fake.notices) == 1)
    fake.notice_rescan(make_outcome(7, **REFUSED))
    t.join(10)
    assert "event: notice" in got
    data = json.loads(next(line for line in got if line.startswith("data:"))[5:])
    assert data["kind"] == "rescan" and data["entry"]["seq"] == 7 and data["entry"]["decision"] == "refuse"
    assert not any(line.startswith("id:") for line in got)  # a notice is not an outcome to resume from
    assert wait_until(lambda: len(fake.notices) == 0 and len(fake.subscribers) == outcome_subs)


def test_every_text_exists_in_both_languages(page, srv):
    open_page(page, srv)
    missing = page.evaluate("""() => {
        const zh = window.GP_TEXTS["zh-CN"], en = window.GP_TEXTS.en;
        return Object.keys(zh).filter((k) => !(k in en)).concat(Object.keys(en).filter((k) => !(k in zh)));
    }""")
    assert missing == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                    max_leaves=6)


@given(st.one_of(JSON, st.fixed_dictionaries({"direction": JSON}),
                 st.sampled_from([{"direction": "in"}, {"direction": "out"}, {"direction": None}])))
def test_direction_form_accepts_in_out_or_null_only(body):
    try:
        form = DirectionForm.model_validate(body)
    except ValidationError as exc:
        words = describe_errors(exc)
        assert words["message_zh"] and words["message_en"]
        return
    assert isinstance(body, dict) and set(body) == {"direction"} and body["direction"] in ("in", "out", None)
    assert form.direction == body["direction"]
