"""Every benchmark line names its baseline and the ratio, also when the baseline is 0."""

from __future__ import annotations

from bench.harness import Result


def test_a_line_gives_value_baseline_and_ratio():
    assert Result("drain", 3.0, "s", "direct insert", 1.5).line() == \
        "drain: 3 s  | baseline direct insert: 1.5 s  | ratio 2"


def test_a_zero_baseline_is_printed_not_dropped():
    # before: the old path's 0 % (dark-mode frames) printed no baseline at all
    line = Result("decoded: dark mode", 100.0, "%", "old path", 0.0, notes={"frames": 25}).line()
    assert line == "decoded: dark mode: 100 %  | baseline old path: 0 %  | ratio: none (baseline 0)  | frames: 25"


def test_a_figure_without_a_baseline_has_no_ratio():
    assert Result("kill -9 loop", 1000, "kills").line() == "kill -9 loop: 1000 kills"
