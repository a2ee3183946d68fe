"""Benchmarks: each prints ratios against a baseline measured in the same run.

Machines here are shared and noisy, so no benchmark passes or fails on an
absolute time. Each module ``bench/bench_*.py`` defines ``run(quick: bool) -> list[Result]``.
"""
