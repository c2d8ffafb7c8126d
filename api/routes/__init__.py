"""REST routes, one module per topic; create_app registers each module's `router`."""
