"""Benchmarks: ``python -m bench [--db URL] [NAME...]`` prints one JSON line per benchmark.

Each ``bench/bench_*.py`` module exposes ``BENCHMARKS: list[Benchmark]``.  A benchmark times
*ours* (the program's own service call) and a *baseline* (the same result by hand-written SQL
through sqlite3/psycopg2, measured in the same run); the line carries both medians and
``ratio = ours / baseline``.
"""
