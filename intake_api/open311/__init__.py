"""Open311 GeoReport v2 under /open311/v2/: routes (routes.py) and the spec's JSON/XML answers and error
arrays (responses.py). The domain is services.intake.open311."""
