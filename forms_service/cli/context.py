"""What every command group shares: the runtime of the app the command runs in."""

from __future__ import annotations

from flask import current_app

from forms_service.runtime import Runtime


def app_runtime() -> Runtime:
    """The runtime of the app the command runs in."""
    built: Runtime = current_app.extensions["forms_service"]
    return built
