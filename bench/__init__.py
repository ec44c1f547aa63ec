"""The benchmark suite: `make bench` runs `python -m bench.run` (see docs/PERFORMANCE.md)."""
