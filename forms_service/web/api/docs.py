"""The browsable API page at /api/docs: Swagger UI served from our own files, no CDN."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("api_docs", __name__, url_prefix="/api/docs")

#: The only files of the Swagger UI distribution the page needs.
_ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)


@blueprint.get("")
def page() -> ResponseReturnValue:
    """The Swagger UI page, reading /api/openapi.json from this server."""
    return render_template("api/docs.html")


@blueprint.get("/assets/<name>")
def asset(name: str) -> ResponseReturnValue:
    """One file of the bundled Swagger UI distribution."""
    if name not in _ASSETS:
        abort(404)
    return send_from_directory(Path(str(swagger_ui_path)), name, max_age=86400)
