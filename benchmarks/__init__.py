"""Benchmarks for Nextoria Hub: each measures the product against a floor taken in the same run.

Run them all with ``make bench`` (``python -m benchmarks``); the table lands in
``docs/performance.md``. Targets are goals for these numbers, never assertions in tests.
"""
