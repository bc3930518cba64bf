"""Benchmarks (``make bench``): each ``bench_*.py`` module has ``run() -> dict`` that
prints and returns its figures. Not collected by pytest: figures are measured, not
asserted (a test that times things is a flaky test)."""
