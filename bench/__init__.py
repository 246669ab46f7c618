"""Benchmarks at scale: a large synthetic book, and the speed of every accounting
workflow against a floor measured in the same run on the same data.

Run `python -m bench --help`; see bench/README.md.
"""
