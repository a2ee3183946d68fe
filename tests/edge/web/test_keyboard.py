"""The on-screen keyboard of the guard page (keyboard.js) in chromium at 800x480: pinyin with candidates and pages,
the digit pad and the plate keyboard, typed by taps only; the physical keyboard still types."""

from __future__ import annotations

import pytest

from tests.edge.web.conftest import shot
from tests.edge.web.test_browser import open_page, sign_in

pytestmark = pytest.mark.browser

KB = "#kb:not([hidden])"


def open_visitor(page, server):
    open_page(page, server)
    sign_in(page)
    page.click("#btn-visitor")
    page.wait_for_selector("#dlg-visitor:not([hidden])")
    page.wait_for_selector(KB)  # the name field has the focus: the pinyin keyboard is up at once


def tap_keys(page, text: str) -> None:
    for ch in text:
        page.click(f"#kb button.kb-key[data-k='t:{ch}']")


def tap(page, k: str) -> None:
    page.click(f"#kb button.kb-key[data-k='{k}']")


def candidates(page) -> list[str]:
    return page.locator("#kb button.kb-cand:not(.kb-blank)").all_inner_texts()


def pick(page, ch: str) -> None:
    page.locator("#kb button.kb-cand", has_text=ch).first.click()


def value(page, sel: str) -> str:
    return page.input_value(sel)


def test_pinyin_name_surname_then_given_name(page, server):
    open_visitor(page, server)
    assert page.get_attribute("#in-v-name", "inputmode") == "none"  # no system keyboard over ours
    tap_keys(page, "zhang")
    assert page.inner_text("#kb .kb-typed") == "zhang"
    assert candidates(page)[0] == "张"  # a name's first character: surnames first
    shot(page, "kb0-keyboard-pinyin-zhang")
    pick(page, "张")
    assert value(page, "#in-v-name") == "张" and page.inner_text("#kb .kb-typed") == ""
    tap_keys(page, "wei")
    assert candidates(page)[0] == "伟"  # then common given-name characters
    pick(page, "伟")
    assert value(page, "#in-v-name") == "张伟"
    # two syllables typed at once: the first is offered, the rest stays typed
    tap_keys(page, "xiaoming")
    assert page.inner_text("#kb .kb-typed") == "xiao'ming"
    pick(page, "小")
    assert page.inner_text("#kb .kb-typed") == "ming" and candidates(page)[0] == "明"
    tap(page, "space")  # space takes the first candidate
    assert value(page, "#in-v-name") == "张伟小明"


def test_pinyin_paging_backspace_and_modes(page, server):
    open_visitor(page, server)
    page.click("#in-v-city")
    tap_keys(page, "shang")
    first = candidates(page)
    assert first[0] == "上" and len(first) == 7 and page.is_disabled("#kb [data-k='prev']")
    tap(page, "next")
    second = candidates(page)
    assert second and not set(second) & set(first) and page.is_enabled("#kb [data-k='prev']")
    shot(page, "kb1-keyboard-pinyin-page2")
    pick(page, second[0])
    assert value(page, "#in-v-city") == second[0]
    tap(page, "back")  # nothing typed: the character before the caret goes
    assert value(page, "#in-v-city") == ""
    tap_keys(page, "hai")
    tap(page, "back")  # letters typed: the last letter goes, the field is untouched
    assert page.inner_text("#kb .kb-typed") == "ha" and value(page, "#in-v-city") == ""
    tap_keys(page, "i")
    pick(page, "海")
    assert value(page, "#in-v-city") == "海"
    tap_keys(page, "zh")  # an unfinished syllable offers the characters of every syllable it starts
    assert "这" in candidates(page)
    tap(page, "next")
    assert "中" in candidates(page)  # zhong: the first character of each syllable comes first
    tap(page, "back")
    tap(page, "back")
    tap(page, "mode:num")
    tap_keys(page, "12")
    tap(page, "mode:abc")
    tap_keys(page, "ab")
    assert value(page, "#in-v-city") == "海12ab"
    tap(page, "mode:py")
    tap(page, "done")
    page.wait_for_selector("#kb", state="hidden")


def test_digit_pad_for_the_phone_and_the_id_card(page, server):
    open_visitor(page, server)
    page.click("#in-v-phone")
    page.wait_for_selector("#kb[data-kind='digits']")
    box = page.locator("#kb [data-k='t:5']").bounding_box()
    assert box["height"] >= 56 and box["width"] >= 100  # big keys for gloves
    tap_keys(page, "13800138000")
    tap(page, "back")
    tap_keys(page, "1")
    assert value(page, "#in-v-phone") == "13800138001"
    assert page.locator("#kb [data-k='t:X']").count() == 0  # no X on a phone number
    shot(page, "kb2-keyboard-digits")
    page.click("#in-v-id4")
    tap_keys(page, "123X")
    tap_keys(page, "4")  # maxlength 4: refused
    assert value(page, "#in-v-id4") == "123X"
    tap(page, "done")
    page.wait_for_selector("#kb", state="hidden")


def test_the_input_stays_visible_above_the_keyboard(page, server):
    open_visitor(page, server)
    for sel in ("#in-v-name", "#in-v-phone", "#in-v-city", "#in-v-id4"):
        page.click(sel)
        kb_top = page.locator("#kb").bounding_box()["y"]
        field = page.locator(sel).bounding_box()
        assert field["y"] >= 0 and field["y"] + field["height"] <= kb_top, sel
    # the reason buttons and the confirm button can still be reached (the dialog scrolls above the keyboard)
    page.click("#visitor-reasons .choice >> nth=0")
    assert "picked" in page.get_attribute("#visitor-reasons .choice >> nth=0", "class")
    page.wait_for_selector("#kb", state="hidden")  # the focus left the input: the keyboard went with it
    page.click("#in-v-city")
    page.wait_for_selector(KB)


def test_the_physical_keyboard_still_types(page, server):
    open_visitor(page, server)
    page.keyboard.type("Li Lei")
    assert value(page, "#in-v-name") == "Li Lei"
    page.click("#in-v-phone")
    page.keyboard.type("139")
    assert value(page, "#in-v-phone") == "139"


def test_closing_the_dialog_closes_the_keyboard(page, server):
    open_visitor(page, server)
    tap_keys(page, "wang")
    page.click("#dlg-visitor [data-close]")
    page.wait_for_selector("#kb", state="hidden")
    assert not page.evaluate("document.body.classList.contains('kb-open')")


def test_plate_keyboard_attaches_to_any_input_marked_plate(page, server):
    """The vehicle form (another part) marks its plate input data-kb="plate": the keyboard attaches to it."""
    open_page(page, server)
    page.evaluate("""() => {
        const d = document.createElement('div'); d.className = 'dialog'; d.id = 'dlg-test';
        d.innerHTML = '<div class="panel"><input id="in-plate" maxlength="8" data-kb="plate">'
            + '<input id="in-num" type="number" data-kb="digits"></div>';
        document.body.appendChild(d);
    }""")
    page.click("#in-plate")
    page.wait_for_selector("#kb[data-kind='plate'][data-mode='prov']")
    shot(page, "kb3-keyboard-plate-provinces")
    # plates the parser refuses (embassy 使, consulate 领) are not offered; those it takes are
    assert page.locator("#kb [data-k='t:使']").count() == 0 and page.locator("#kb [data-k='t:领']").count() == 0
    assert page.locator("#kb [data-k='t:港']").count() == 1
    tap_keys(page, "粤")
    page.wait_for_selector("#kb[data-mode='plate']")  # after the province: letters and digits
    assert page.locator("#kb [data-k='t:I']").count() == 0 and page.locator("#kb [data-k='t:O']").count() == 0
    tap_keys(page, "BD12345")
    shot(page, "kb4-keyboard-plate-letters")
    assert value(page, "#in-plate") == "粤BD12345"
    tap(page, "back")
    assert value(page, "#in-plate") == "粤BD1234"
    tap(page, "mode:prov")
    page.wait_for_selector("#kb[data-mode='prov']")
    tap(page, "done")
    page.wait_for_selector("#kb", state="hidden")
    page.click("#in-num")  # an input without a caret (type="number") takes digits too
    tap_keys(page, "42")
    tap(page, "back")
    assert value(page, "#in-num") == "4"


def test_the_table_loads_small_and_fast(page, server):
    """Kiosk budget (a Pi Zero 2 W): the table is well under 300 KB; its download and parse are timed here."""
    open_page(page, server)
    size = page.evaluate("performance.getEntriesByName(location.origin + '/static/pinyin-table.js')[0]"
                         ".decodedBodySize")
    assert 0 < size < 300_000
    assert page.evaluate("Object.keys(window.GP_PINYIN.syllables).length") > 400
    assert page.evaluate("window.GPPinyin.candidates('wang', '').list[0]") == "王"


def test_the_keys_speak_english_on_an_english_page(page, server):
    open_page(page, server, "en")
    sign_in(page)
    page.click("#btn-visitor")
    page.wait_for_selector(KB)
    assert page.inner_text("#kb [data-k='done']") == "Done" and page.inner_text("#kb [data-k='space']") == "Space"
    tap_keys(page, "li")
    shot(page, "kb8-keyboard-pinyin-en")
    assert candidates(page)[0] == "李"
    page.click("#in-v-id4")
    assert page.inner_text("#kb [data-k='t:X']") == "X"


def test_the_pinyin_parser_takes_any_letters_and_consumes_syllables(page, server):
    """Property test of keyboard.js's pinyin parsing on its real table, in the page: for any typed letters it
    answers without error and never consumes more than was typed; for typed syllables, taking the first
    candidate again and again consumes everything (fan'gu is not taken as fang'u)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    open_page(page, server)
    syllables = page.evaluate("Object.keys(window.GP_PINYIN.syllables)")
    assert page.evaluate("window.GPPinyin.syllableAt('fangu')") == "fan"  # "u" starts no syllable
    assert page.evaluate("window.GPPinyin.syllableAt('fanga')") == "fang"
    assert page.evaluate("window.GPPinyin.syllableAt('zhangw')") == "zhang"  # "w": still being typed
    check = """(words) => words.map((w) => {
        const first = window.GPPinyin.candidates(w, '');
        if (first.used > w.length || first.used < 0) return 'bad used for ' + w;
        let buf = w, steps = 0;
        while (buf && steps++ < 40) { const c = window.GPPinyin.candidates(buf, ''); if (!c.used) break;
                                      buf = buf.slice(c.used); }
        return buf;
    })"""

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=14), min_size=1, max_size=20),
           st.lists(st.lists(st.sampled_from(syllables), min_size=1, max_size=4), min_size=1, max_size=20))
    def run(letters, spoken):
        left = page.evaluate(check, letters)
        assert not any(str(x).startswith("bad used") for x in left)
        assert page.evaluate(check, ["".join(s) for s in spoken]) == [""] * len(spoken)

    run()
