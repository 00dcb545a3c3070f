"""Benchmarks of LUKHAS Ops: `make bench` runs every bench_*.py module here."""
