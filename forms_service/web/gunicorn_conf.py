"""gunicorn's settings for the web service: docker/, `make prod-local` and the load benchmark.

The benchmark's "hello" ceiling is served with these very settings.

    gunicorn -c python:forms_service.web.gunicorn_conf --bind … --workers N forms_service.wsgi:app

Threads: a request spends much of its time waiting for PostgreSQL, the source system and Redis;
threaded workers (gthread) let another request run meanwhile. On the 2-core benchmark machine,
4 threads per worker served about three times the form pages of the sync worker, for the same CPU
per request (docs/load.md). FORMS_WEB_THREADS changes the count.
"""

from __future__ import annotations

from forms_service.config import load_settings

worker_class = "gthread"
threads = load_settings().web_threads
timeout = 30
graceful_timeout = 10
# Behind the TLS proxy (the production topology) each upstream request comes on a connection of
# its own, as with the sync worker before: no keep-alive to hold between them.
keepalive = 0
