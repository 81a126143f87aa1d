"""Unit tests of forms_service.definitions."""
