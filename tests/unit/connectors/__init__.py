"""Unit tests of forms_service.connectors."""
