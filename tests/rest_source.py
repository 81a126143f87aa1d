"""A small real HTTP source system for tests: JSON records with ETags, served on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response


class RestSource:
    """Records {key: {member: value}} under /<collection>/<key>, each with a version ETag.

    GET answers the record and its ETag; PATCH needs a matching If-Match (412 otherwise) and
    merges the JSON body. `down` makes every request answer 503; `stop()`/`start()` close and
    reopen the port (connection refused in between). `patches` counts writes that took effect.
    """

    def __init__(self, collection: str, key: str, records: Mapping[str, Mapping[str, Any]]):
        self.collection = collection
        self.key = key
        self.records = {k: dict(v) for k, v in records.items()}
        self.versions = dict.fromkeys(self.records, 1)
        self.patches = 0
        self.down = False
        self.lock = threading.Lock()
        self.port = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def change(self, key: str, **values: Any) -> None:
        """Another writer changes a record (bumps its ETag)."""
        with self.lock:
            self.records[key].update(values)
            self.versions[key] += 1

    def _etag(self, key: str) -> str:
        return f'"{key}-{self.versions[key]}"'

    def _json(self, body: Any, status: int = 200, etag: str | None = None) -> Response:
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        if etag:
            response.headers["ETag"] = etag
        return response

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if self.down:
            return self._json({"error": "maintenance"}, 503)
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] != self.collection or len(parts) > 2:
            return self._json({"error": "not found"}, 404)
        with self.lock:
            if len(parts) == 1:
                if request.method != "GET":
                    return self._json({"error": "method"}, 405)
                return self._json({"items": [copy.deepcopy(self.records[k]) for k in self.records]})
            key = parts[1]
            if key not in self.records:
                return self._json({"error": "not found"}, 404)
            if request.method == "GET":
                return self._json(copy.deepcopy(self.records[key]), etag=self._etag(key))
            if request.method == "PATCH":
                if request.headers.get("If-Match") != self._etag(key):
                    return self._json({"error": "precondition failed"}, 412)
                body = request.get_json(force=True)
                self.records[key].update(body)
                self.versions[key] += 1
                self.patches += 1
                return self._json(copy.deepcopy(self.records[key]), etag=self._etag(key))
        return self._json({"error": "method"}, 405)
