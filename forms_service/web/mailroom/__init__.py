"""Mailroom screens: upload scan batches, follow their pages, settle the exception queue."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the mailroom blueprint at /mailroom (sign-in is the back office's)."""
    from forms_service.web.mailroom import workload  # noqa: F401 - its routes join the blueprint
    from forms_service.web.mailroom.views import blueprint

    app.register_blueprint(blueprint)
