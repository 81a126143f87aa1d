"""The worker's Celery app: `celery -A forms_service.runtime.celery_app worker --pool solo`.

Built from the settings of the environment (FORMS_* variables, FORMS_CONFIG) when imported;
the service itself never imports this module (it builds its own app with make_celery).
"""

from __future__ import annotations

from forms_service.config import load_settings
from forms_service.runtime import worker_celery

app = worker_celery(load_settings())
celery_app = app
