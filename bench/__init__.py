"""`make bench`: load generator, raw reference relay and report for allied-c2.

Run with ``.venv/bin/python -m bench.run --out var/bench``; see docs/benchmarks.md.
"""
