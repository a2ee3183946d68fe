"""The guides in ``docs/`` stay true to the pages they show.

Every image a guide shows is one of ``tools/make_guide_shots.py``'s shots and is committed with its manifest entry;
the script takes the shots again from the real demo (guard page, console, phone) and each committed image must
still match its page: the same size, the same visible text of the page's stable parts (digits aside: times and
counts change from run to run), and a picture that differs only a little (anti-aliasing, times, the camera's
frame). A changed page fails here with the advice to run the script. The printable guard guide fits on one sheet.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
IMG = DOCS / "img"
GUARD_GUIDE = DOCS / "保安使用说明.md"
STAFF_GUIDE = DOCS / "社区工作人员使用说明.md"
GUIDES = (GUARD_GUIDE, STAFF_GUIDE, DOCS / "guard-guide.en.md", DOCS / "staff-guide.en.md")
REGENERATE = "run tools/make_guide_shots.py (and commit docs/img/)"
IMAGE_REF = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+)\)")
# Mean absolute difference (0-255) of two shots of one page, in grey at a quarter of their size: a new run of the
# demo moves times and the camera's frame (measured: at most 1.3); a page laid out anew moves far more.
PICTURE_TOLERANCE = 6.0


def _load(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "tools"))


@pytest.fixture(scope="module")
def shots() -> ModuleType:
    return _load("make_guide_shots")


def _refs(guide: Path) -> list[str]:
    return IMAGE_REF.findall(guide.read_text(encoding="utf-8"))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_every_image_a_guide_shows_is_a_committed_shot_of_the_script(shots):
    names = {s.name for s in shots.SHOTS}
    shown = set()
    for guide in GUIDES:
        refs = _refs(guide)
        assert refs, f"{guide.name} shows no screenshot"
        for ref in refs:
            path = DOCS / ref
            assert path.suffix == ".png" and path.stem in names, f"{guide.name}: {ref} is not made by the script"
            assert path.exists(), f"{guide.name}: {ref} is missing: {REGENERATE}"
            shown.add(path.stem)
    assert shown == names, f"shots no guide shows: {sorted(names - shown)}"
    committed = {p.stem for p in IMG.glob("*.png")}
    assert committed == names, f"images in docs/img the script does not make: {sorted(committed - names)}"


def test_the_manifest_lists_every_shot_with_its_size(shots):
    manifest = json.loads((IMG / shots.MANIFEST).read_text(encoding="utf-8"))
    assert list(manifest) == [s.name for s in shots.SHOTS], REGENERATE
    for shot in shots.SHOTS:
        assert tuple(manifest[shot.name]["size"]) == shot.viewport
        assert _png_size(IMG / f"{shot.name}.png") == shot.viewport, f"{shot.name}.png: {REGENERATE}"


def test_both_guides_are_linked_from_the_readme_top():
    top = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    for guide in (GUARD_GUIDE, STAFF_GUIDE):
        assert f"docs/{guide.name}" in top


def test_normalise_keeps_words_and_drops_what_changes_between_runs(shots):
    assert shots.normalise("值班：1001 · 01:26起\n  待上传 0 条") == "值班：# · #:#起 待上传 # 条"


def _picture_difference(a: Path, b: Path) -> float:
    from PIL import Image, ImageChops, ImageStat

    with Image.open(a) as one, Image.open(b) as two:
        size = (one.width // 4, one.height // 4)
        grey = [im.convert("L").resize(size, Image.Resampling.BOX) for im in (one, two)]
    return float(ImageStat.Stat(ImageChops.difference(*grey)).mean[0])


@pytest.mark.browser
@pytest.mark.timeout(600)  # ~30 s of CPU; wall time grows with the load (over 3 min seen at load 20)
def test_the_committed_shots_still_match_the_real_pages(shots, tmp_path):
    fresh = tmp_path / "img"
    manifest = shots.take_all(fresh, tmp_path / "work", optimise=False)
    committed = json.loads((IMG / shots.MANIFEST).read_text(encoding="utf-8"))
    changed = []
    for shot in shots.SHOTS:
        old, new = committed.get(shot.name), manifest[shot.name]
        if old != new:
            changed.append(f"{shot.name}: text {old and old['text']} -> {new['text']}")
            continue
        if shot.by_the_hour:  # its picture depends on the time of day the test runs
            continue
        diff = _picture_difference(IMG / f"{shot.name}.png", fresh / f"{shot.name}.png")
        if diff > PICTURE_TOLERANCE:
            changed.append(f"{shot.name}: the picture differs by {diff:.1f} (tolerance {PICTURE_TOLERANCE})")
    assert not changed, "the pages changed, " + REGENERATE + ":\n" + "\n".join(changed)


@pytest.mark.browser
def test_the_printable_guard_guide_fits_on_one_sheet(tmp_path):
    pdf = _load("make_guide_pdf").render_guard_guide(tmp_path / "guide.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert 1 <= pages <= 2, f"the guard guide prints on {pages} A4 pages (at most both sides of one sheet)"
    assert "A4" in info
    committed = DOCS / "保安使用说明.pdf"
    assert committed.exists(), "run tools/make_guide_pdf.py"
    words = [subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout
             for p in (committed, pdf)]
    assert words[0] == words[1], "docs/保安使用说明.pdf is not the current guide: run tools/make_guide_pdf.py"


def test_the_demo_says_where_the_guides_are():
    import inspect

    from gatepass import demo

    paths = demo.guides_location().split(", ")
    assert [Path(p) for p in paths] == [GUARD_GUIDE, STAFF_GUIDE]
    assert "guides_location()" in inspect.getsource(demo.demo_command.callback)


#: What the guides tell people to tap or click, as the pages say it (a renamed button makes the guide wrong).
GUARD_LABELS = ("声音：开", "声音故障", "保安签到", "签到", "知道了", "绿码", "黄码", "红码", "放行", "确认放行",
                "再次确认放行", "登记访客", "登记车辆", "快递", "待取件", "在场人车", "离开", "交班", "写交接事项",
                "确认交班", "English")
STAFF_LABELS = ("登录", "查询", "导出 CSV", "导出 Excel", "确认", "未处理告警", "开始追踪", "前后分钟数",
                "查看", "保存", "添加成员", "签发通行证", "打印通行证卡片", "停用", "导入花名册",
                "下载模板（Excel）", "上传并识别列", "设为居家隔离", "登记居家隔离", "今日测温工作单", "记录",
                "办结", "打印居家隔离告知书", "解除隔离", "打印解除隔离通知书", "自助上报链接", "导入名单",
                "电话排查", "拨打", "记录通话结果", "转居家隔离", "生成报表", "只看未离开的",
                "需工作人员送上门", "添加排班", "复制上周排班到本周", "打印排班表", "导出排班表 Excel",
                "顶岗、补岗", "在岗看板", "门岗设备", "排查登记", "居家隔离", "住户与通行证", "密接追踪",
                "出入记录", "接入新设备", "查找", "批准接入", "拒绝", "等待批准的设备", "门岗编号", "门岗名称",
                "值守方式", "替换设备")


def _texts(*patterns: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for pattern in patterns for p in sorted(ROOT.glob(pattern)))


@pytest.mark.parametrize(("guide", "labels", "sources"), [
    (GUARD_GUIDE, GUARD_LABELS, ("edge/web/static/*.js", "edge/web/templates/*.html")),
    (STAFF_GUIDE, STAFF_LABELS, ("central/console/*.py", "central/console/templates/*.html")),
], ids=["guard", "staff"])
def test_the_buttons_a_guide_names_are_on_the_pages(guide, labels, sources):
    text, pages = guide.read_text(encoding="utf-8"), _texts(*sources)
    assert [w for w in labels if w not in text] == [], f"{guide.name} no longer names these"
    assert [w for w in labels if w not in pages] == [], f"the pages no longer say these: update {guide.name}"
