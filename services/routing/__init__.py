"""Routing: the taxonomy and units, routing rules, automatic dispatch and the departments' work on their
assignments (the domain behind routing_api)."""
