"""``bench sync``'s drain and ingest figures measure what they say: every row drained and every posted row stored."""

from __future__ import annotations

from bench import bench_sync


def test_the_ingest_figures_store_every_posted_row(tmp_path):
    # before: the ingest figure posted the drained gate's own uuids again under a second device, which central
    # refuses as a clash (nothing stored): it measured refusing, not storing
    drain_s, rows = bench_sync._drain(1200, tmp_path)  # asserts 1200 rows at central
    one, many = bench_sync._ingest_rates(tmp_path, rows, 1200, lambda: None)  # asserts 1200 rows at each central
    assert len(rows) == 1200 and drain_s > 0 and one > 0 and many > 0
