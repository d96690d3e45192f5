"""Benchmarks of the pipeline against the floor: run `./run bench` (see bench/README.md)."""
