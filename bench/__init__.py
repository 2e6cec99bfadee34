"""Benchmarks: a realistic 1M-case dataset, the hot reads timed against it, and the runner (`make bench`)."""
