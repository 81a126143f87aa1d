"""Who customers deal with, on every customer page: logo, colours, legal and privacy notices."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from forms_service.definitions.organisation import Organisation
from forms_service.web.context import locale, runtime

blueprint = Blueprint("organisation", __name__)
#: The logo and the colours change only with a new deployment: a browser may keep them a day.
_CACHE_SECONDS = 86_400


def organisation() -> Organisation:
    """The organisation of this process's runtime."""
    return runtime().organisation


def install(app: Flask) -> None:
    """Serve the organisation's files and notices; give every template the organisation."""
    app.register_blueprint(blueprint)

    @app.context_processor
    def organisation_context() -> dict[str, Any]:
        return {"organisation": organisation(), "switch_url": switch_url}


def switch_url(code: str) -> str:
    """The current page in language `code`, by a link that always works.

    A page shown in answer to a POST (a wrong identity answer, a refused form) cannot be
    asked for again with GET: the switch then leads to the form's own page (or to the
    entry page), whose language the session remembers.
    """
    if request.method == "GET":
        args = request.args.to_dict()
        args["lang"] = code
        return f"{request.path}?{urlencode(args)}"
    token = (request.view_args or {}).get("token")
    if isinstance(token, str):
        return url_for("public.form", token=token, lang=code)
    return f"/?{urlencode({'lang': code})}"


@blueprint.get("/organisation/logo")
def logo() -> ResponseReturnValue:
    """The organisation's logo (SVG or PNG, checked at start)."""
    current = organisation()
    if current.logo is None or current.logo_type is None:
        abort(404)
    response = send_file(current.logo, mimetype=current.logo_type, max_age=_CACHE_SECONDS)
    # An SVG opened on its own must not run anything even if a check missed it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@blueprint.get("/organisation/theme.css")
def theme() -> ResponseReturnValue:
    """The organisation's colours as CSS custom properties (the pages allow no inline style)."""
    current = organisation()
    css = f":root {{ --accent: {current.colour}; --accent-dark: {current.colour_dark}; }}\n"
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = _CACHE_SECONDS
    return response


@blueprint.get("/legal")
def legal_notice() -> ResponseReturnValue:
    """The legal notice (mentions légales)."""
    return _notice("legal")


@blueprint.get("/privacy")
def privacy() -> ResponseReturnValue:
    """The data-protection notice: who processes, why, how long, rights, the DPO."""
    return _notice("privacy")


def _notice(which: str) -> ResponseReturnValue:
    current = organisation()
    sections = current.legal_notice if which == "legal" else current.privacy
    return render_template("public/notice.html", which=which, sections=sections, lang=locale())
