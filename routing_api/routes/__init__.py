"""routing_api's routers, one module per resource."""
