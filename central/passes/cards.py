"""Printable pass cards: an A4 print-ready HTML sheet, 8 cards per page (2 x 4, about 97 x 70 mm each).

Each card shows the QR (SVG, so it prints sharp), the unit, person, kind,
validity in local time, allowed gates and a slot for a photo. Open the file in
a browser and print at 100 % scale (or save as PDF).
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import jinja2

from central.passes.issuance import DEFAULT_TZ, IssuedPass, make_qr
from sync.passes.model import KIND_NAMES_ZH

CARDS_PER_PAGE = 8


def when_text(t: float, tz: ZoneInfo) -> str:
    """Local date, with the time of day unless it is midnight."""
    moment = datetime.fromtimestamp(t, tz)
    return moment.strftime("%Y-%m-%d") if moment.hour == moment.minute == 0 else moment.strftime("%Y-%m-%d %H:%M")


def _card(issued: IssuedPass, tz: ZoneInfo) -> dict[str, object]:
    info = issued.info
    return {
        "pass_id": info.pass_id, "household": info.household, "person": info.person, "name": issued.name,
        "kind": info.kind, "kind_zh": KIND_NAMES_ZH[info.kind],
        "valid_from": when_text(info.valid_from, tz), "valid_to": when_text(info.valid_to, tz),
        "gates": "全部 all" if info.gates is None else ", ".join(info.gates),
        "svg": make_qr(issued.text).svg_inline(border=2, omitsize=True, dark="#000"),
    }


def render_cards(passes: list[IssuedPass], title: str = "小区通行证", tz: str = DEFAULT_TZ) -> str:
    """The HTML of a sheet of cards for ``passes`` (in the given order)."""
    zone = ZoneInfo(tz)
    cards = [_card(p, zone) for p in passes]
    sheets = [cards[i:i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("central.passes").joinpath("templates/cards.html").read_text("utf-8"))
    return template.render(title=title, sheets=sheets)
