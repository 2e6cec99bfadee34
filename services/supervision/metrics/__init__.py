"""Metrics (DOMAIN.md "Metrics"): the facts behind every rate computed from the raw rows, the daily rollup the
worker keeps from them, the queries, traces and exports over both, and the jurisdiction's metric settings."""
