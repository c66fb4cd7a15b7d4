"""Benchmarks and the load generator; `bench/run_all.py` runs them and writes RESULTS.md."""
