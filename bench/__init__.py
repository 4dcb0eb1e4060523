"""Benchmarks (`make bench` / `python -m bench [case ...]`): never run by the test suite."""
