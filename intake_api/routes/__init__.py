"""One module per resource; each route parses, calls one domain function and shapes the answer."""
