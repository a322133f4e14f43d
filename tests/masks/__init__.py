"""Mask tests; a package so that test_sampling.py cannot clash with tests/ops/test_sampling.py."""
