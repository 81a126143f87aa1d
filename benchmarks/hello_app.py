"""The ceiling of the load benchmark: a bare Flask app served by the same gunicorn settings."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The cheapest answer Flask can give."""
    return "hello"
