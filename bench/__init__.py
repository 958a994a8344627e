"""Benchmarks: each script prints its figures (bench/README.md)."""
