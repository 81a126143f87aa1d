"""The WSGI entry point for gunicorn: `gunicorn forms_service.wsgi:app`."""

from __future__ import annotations

from forms_service.app import create_app

app = create_app()
