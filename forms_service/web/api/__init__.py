"""The integrators' REST API under /api/v1, described by OpenAPI."""
