"""Unit tests of forms_service.demo."""
