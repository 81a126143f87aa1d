"""Unit tests of forms_service.issuing."""
