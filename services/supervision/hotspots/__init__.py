"""Hot spots (热点): citizens' cases on one kind of matter clustering in one grid within a sliding window,
found by the worker (detect), listed for staff and for the deputies of the grid's stations (queries). Turning
one into a deputy suggestion happens on intake_api, which owns case creation."""
