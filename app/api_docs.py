"""The API's documentation page: Swagger UI served from the installed package, never from a CDN.

The page works offline and under the Content-Security-Policy: the bundle and its stylesheet come from
flask-swagger-ui's copy of swagger-ui-dist, and the few lines that start it are a file in app/static.
"""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Flask, render_template, send_from_directory

SWAGGER_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png"})

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")


@bp.get("")
@bp.get("/")
def page():
    """The Swagger UI page over /api/v1/openapi.json."""
    return render_template("api/docs.html", version=swagger_ui_version())


@bp.get("/assets/<name>")
def asset(name: str):
    """One of Swagger UI's files, from the package (404 for anything else)."""
    from flask import abort

    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_DIST, name, max_age=86400)


def swagger_ui_version() -> str:
    """The bundled Swagger UI's version, shown on the page."""
    version = SWAGGER_DIST / "VERSION"
    return version.read_text().strip() if version.exists() else ""


def init_app(app: Flask) -> None:
    """Register the page."""
    app.register_blueprint(bp)
