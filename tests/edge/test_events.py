"""The outcome the guard page receives: flat JSON, the same keys and values as ever."""

from __future__ import annotations

import json

from edge.events import Holder, Messages, Notice, Outcome

FLAT = {"seq": 7, "uuid": "u7", "event": "scan", "decision": "refuse", "code": "temp_high",
        "message_zh": "体温偏高", "message_en": "High", "wall_ts": 1.78e9, "clock_trusted": True, "t_decided": 12.5,
        "temperature_c": 38.1, "fever": False, "remeasure": True, "pass_kind": "resident",
        "household": "3-2-401", "valid_to": 1.79e9, "guard_id": "g7", "detail": ""}


def test_as_json_is_flat_and_in_the_original_field_order():
    outcome = Outcome(**FLAT)
    assert json.dumps(outcome.as_json(), ensure_ascii=False) == json.dumps(FLAT, ensure_ascii=False)
    assert outcome.to_json() == FLAT
    assert outcome.messages == Messages("体温偏高", "High")
    assert outcome.holder == Holder("resident", "3-2-401", 1.79e9)
    assert (outcome.message_zh, outcome.pass_kind, outcome.household, outcome.valid_to) == (
        "体温偏高", "resident", "3-2-401", 1.79e9)


def test_defaults_equality_and_the_notice_json():
    short = Outcome(1, "u1", "scan", "pass", "temp_ok", "zh", "en", 0.0, True, 1.0)
    assert short.as_json()["valid_to"] is None and not short.fever and short.guard_id is None
    assert short == Outcome(1, "u1", "scan", "pass", "temp_ok", "zh", "en", 0.0, True, 1.0)
    assert len({short, Outcome(1, "u1", "scan", "pass", "temp_ok", "zh", "en", 0.0, True, 1.0)}) == 1
    assert Notice("rescan", 2.0, entry=short).to_json() == {"kind": "rescan", "entry": short.as_json(),
                                                            "chosen_direction": None, "guard_id": None}


def test_outcome_holds_at_most_15_attributes():
    assert len(Outcome.__dataclass_fields__) <= 15
