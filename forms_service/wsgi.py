"""The WSGI entry point for gunicorn: `gunicorn forms_service.wsgi:app`."""

from __future__ import annotations

import gc

from forms_service.app import create_app

app = create_app()
# What the app built (definitions, compiled templates, SQLAlchemy's metadata and caches) lives as
# long as the process: the cyclic collector, which pauses every thread of the worker, need not
# walk it again and again.
gc.freeze()
