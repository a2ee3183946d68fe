"""The patrol log (issue 17): a patrol post's rounds and defects, recorded on a phone page at /patrol, visible
at central; bad input is a 400 with its reason, viewers read only, every step audited as ``patrol_round``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from central import duty, patrol
from central.console import audit
from tests.central.console.conftest import PASSWORDS, csrf_of

SHOTS = Path("/tmp/h12")


def _post(central, name: str) -> int:
    existing = {p.name: p.id for p in duty.posts(central.db)}
    return existing[name] if name in existing else duty.add_post(central.db, name, "patrol")


def _round_of(html: str, rid: int) -> str:
    part = html.split(f'<article class="round" data-round="{rid}"', 1)[1].split("</article>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


def test_a_round_start_defects_finish_and_listing(central):
    pid = _post(central, "东区围挡巡查")
    with central.client("staff") as c:
        page = c.get("/patrol")
        assert page.status_code == 200 and "开始巡查" in page.text and "东区围挡巡查" in page.text
        token = csrf_of(page.text)
        started = c.post("/patrol/start", data={"csrf": token, "post_id": pid, "area": "巡查围挡安全"})
        assert started.status_code == 303, started.text
        mine = patrol.open_round(central.db, "staff")
        assert mine is not None and mine.area == "巡查围挡安全" and mine.post_id == pid
        page = c.get("/patrol")
        assert 'id="round-under-way"' in page.text and "结束巡查" in page.text
        for button in ("围挡松动", "门锁损坏", "照明故障", "积水", "其他"):
            assert f'name="what" value="{button}"' in page.text
        one = c.post(f"/patrol/{mine.id}/defects", data={"csrf": token, "what": "围挡松动", "place": "3号楼东侧",
                                                        "fixed": "1"})
        two = c.post(f"/patrol/{mine.id}/defects", data={"csrf": token, "what": "其他", "detail": "井盖缺失"})
        assert one.status_code == 303 and two.status_code == 303
        again = c.post("/patrol/start", data={"csrf": token, "post_id": pid})  # one open round at a time
        assert again.status_code == 400 and "未结束的巡查" in again.text
        done = c.post(f"/patrol/{mine.id}/finish", data={"csrf": token})
        assert done.status_code == 303
        assert patrol.open_round(central.db, "staff") is None
        late = c.post(f"/patrol/{mine.id}/defects", data={"csrf": token, "what": "积水"})
        assert late.status_code == 400 and "已结束" in late.text
    with central.client("viewer") as v:  # visible at central, read only
        listing = v.get("/patrol")
        assert listing.status_code == 200 and 'id="read-only"' in listing.text and "/patrol/start" not in listing.text
        row = _round_of(listing.text, mine.id)
        assert "东区围挡巡查" in row and "巡查围挡安全" in row
        assert "围挡松动 · 3号楼东侧 · 已当场处理" in row and "其他：井盖缺失 · 未处理" in row
    [got] = [r for r in patrol.rounds(central.db) if r.id == mine.id]
    assert got.finished_at is not None and got.finished_at >= got.started_at and len(got.defects) == 2
    rows = [r for r in audit.recent(central.db, 200) if r["action"] == "patrol_round"]
    text = " ".join(str(r) for r in rows)
    assert '"start"' in text and '"defect"' in text and '"finish"' in text


@pytest.mark.parametrize("data, reason", [
    ({"area": "x" * 101}, "最多 100 个字"),
    ({"area": "围挡\u200b安全"}, "控制字符"),
    ({"post_id": "999999"}, "请选择巡查岗位"),
])
def test_bad_start_is_a_400_with_its_reason(central, data, reason):
    pid = _post(central, "南区巡查")
    with central.client("staff") as c:
        token = csrf_of(c.get("/patrol").text)
        bad = c.post("/patrol/start", data={"csrf": token, "post_id": pid, **data})
        assert bad.status_code == 400, bad.text
        assert reason in bad.text
    assert patrol.open_round(central.db, "staff") is None


def test_bad_defects_are_400_with_reasons_and_gate_posts_are_refused(central):
    pid = _post(central, "西区巡查")
    gate = duty.add_post(central.db, "临时卡点", "point")
    with central.client("staff") as c:
        token = csrf_of(c.get("/patrol").text)
        refused = c.post("/patrol/start", data={"csrf": token, "post_id": gate})
        assert refused.status_code == 400 and "请选择巡查岗位" in refused.text
        assert c.post("/patrol/start", data={"csrf": token, "post_id": pid}).status_code == 303
        rid = patrol.open_round(central.db, "staff").id
        empty = c.post(f"/patrol/{rid}/defects", data={"csrf": token, "what": "  "})
        assert empty.status_code == 400 and "请填写问题" in empty.text
        long = c.post(f"/patrol/{rid}/defects", data={"csrf": token, "what": "积水", "place": "楼" * 61})
        assert long.status_code == 400 and "最多 60 个字" in long.text
        ctrl = c.post(f"/patrol/{rid}/defects", data={"csrf": token, "what": "积水\x07"})
        assert ctrl.status_code in (400, 422) and ctrl.status_code != 500
        assert c.post(f"/patrol/{rid}/finish", data={"csrf": token}).status_code == 303
        assert c.post(f"/patrol/{rid}/finish", data={"csrf": token}).status_code == 400
    assert [d for r in patrol.rounds(central.db) if r.id == rid for d in r.defects] == []
    with pytest.raises(patrol.PatrolError, match="控制字符"):
        patrol.clean_text("a\x00b", "问题", "the defect", 10)


def test_viewer_cannot_write_and_others_rounds_are_not_theirs(central):
    pid = _post(central, "北区巡查")
    with central.client("viewer") as v:
        token = csrf_of(v.get("/patrol").text) if 'name="csrf"' in v.get("/patrol").text else ""
        assert v.post("/patrol/start", data={"csrf": token, "post_id": pid}).status_code == 403
    with central.client("admin") as a:
        atoken = csrf_of(a.get("/patrol").text)
        assert a.post("/patrol/start", data={"csrf": atoken, "post_id": pid}).status_code == 303
        rid = patrol.open_round(central.db, "admin").id
    with central.client("viewer") as v:
        token = csrf_of(v.get("/patrol").text)
        assert v.post(f"/patrol/{rid}/defects", data={"csrf": token, "what": "积水"}).status_code == 403
        assert v.post(f"/patrol/{rid}/finish", data={"csrf": token}).status_code == 403
    with central.client("staff") as c:  # another member's round is not theirs to change
        token = csrf_of(c.get("/patrol").text)
        other = c.post(f"/patrol/{rid}/finish", data={"csrf": token})
        assert other.status_code == 400 and "没有您的这次巡查" in other.text
    with central.client("admin") as a:
        assert a.post(f"/patrol/{rid}/finish", data={"csrf": csrf_of(a.get("/patrol").text)}).status_code == 303
    assert PASSWORDS["viewer"]


def test_the_phone_page_at_390x844(central):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    from tests.central.console.test_browser import ARGS

    _post(central, "东区围挡巡查")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        ctx = b.new_context(base_url=central.url, viewport={"width": 390, "height": 844}, locale="zh-CN",
                            device_scale_factor=1, is_mobile=True, has_touch=True)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", PASSWORDS["staff"])
        page.click("button[type=submit]")
        page.wait_for_url(central.url + "/")
        page.goto("/patrol")
        page.select_option("select[name=post_id]", label="东区围挡巡查")
        page.fill("input[name=area]", "巡查围挡安全")
        page.click("text=开始巡查")
        page.wait_for_selector("#round-under-way")
        page.fill("input[name=place]", "2号门")
        page.click("button[value=照明故障]")
        page.wait_for_selector("#round-under-way .defects li")
        box = page.locator("button[value=积水]").bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 120  # big enough for a thumb
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # one column, no sideways scrolling
        page.screenshot(path=str(SHOTS / f"patrol-{central.db.__class__.__name__}.png"), full_page=True)
        page.click("text=结束巡查")
        page.wait_for_selector("#start-form")
        assert "照明故障 · 2号门" in page.inner_text("#rounds")
        b.close()
