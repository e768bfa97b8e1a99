"""Helpers of the modelseal benchmark (see benchmarks/README.md); run benchmarks/run.py."""
