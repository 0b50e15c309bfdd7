"""Benchmarks: measured speeds and sizes (run with ``make bench``), never asserted in tests."""
