"""Benchmarks, run by `tousu bench`; each prints JSON. Not timed tests."""
