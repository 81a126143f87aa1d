"""The back office: clerks sign in, review change sets and decide them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach sign-in (Flask-Login) and the back-office blueprint at /backoffice."""
    from forms_service.web.backoffice import (  # noqa: F401 - their routes join the blueprint
        accounts,
        campaigns,
        customers,
        local_mail,
        review,
    )
    from forms_service.web.backoffice.auth import init_login
    from forms_service.web.backoffice.views import blueprint

    init_login(app)
    app.register_blueprint(blueprint)
