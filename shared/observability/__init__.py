"""Prometheus metrics (metrics.py), their HTTP side for the services (http.py) and the worker (exporter.py,
db_gauges.py). Import the module you need: metrics.py is free of the web framework, domain code counts
through it."""
