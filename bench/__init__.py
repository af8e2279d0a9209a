"""Benchmarks: one script per figure, run by run_all.py (make bench)."""
