"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over intake: the service list (our categories),
service definitions, requests read from the public subset of cases, the updates extension, and requests
submitted by integrator keys bound to an intake code or a station. Routes live in intake_api.open311."""
