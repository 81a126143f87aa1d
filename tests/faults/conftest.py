"""One prod-local stack on a private PostgreSQL for every fault test of the package.

Starting it takes ~15 s, so the files share it (they use distinct customers). Its settings
shorten what a fault test would otherwise wait for, and say why:

- FORMS_JOBS_VISIBILITY_TIMEOUT_SECONDS=8 and FORMS_JOBS_RESTORE_INTERVAL_SECONDS=1: the page
  job of a killed worker comes back to the next one after ~8 s instead of 10 minutes. A page
  takes well under a second; a job that outlived 8 s would be handed out again, which the
  jobs survive (they are idempotent), so nothing else changes.
- FORMS_SWEEP_INTERVAL_SECONDS=1 and FORMS_SWEEP_AFTER_SECONDS=15: the worker's recovery
  sweep sends again, within a second, the pages whose job has waited 15 s (a flushed Redis)
  instead of 10 minutes. A page is read in well under that, so a page being read is never
  sent again; the killed worker's page comes back through the visibility timeout first.
- FORMS_OUTBOX_FIRST_DELAY_SECONDS=2: a failed write-back is tried again after 2, 4, 8 s...
  instead of 5, 10, 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.faults.private_services import PrivatePostgres, private_postgres
from tests.prod_stack import Stack, prod_local

VISIBILITY_TIMEOUT_SECONDS = 8
OUTBOX_FIRST_DELAY_SECONDS = 2
SWEEP_AFTER_SECONDS = 15


@pytest.fixture(scope="package")
def server() -> Iterator[PrivatePostgres]:
    """The private PostgreSQL server the stack runs on (tests may stop and start it)."""
    with private_postgres() as started:
        yield started


@pytest.fixture(scope="package")
def stack(server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running stack: gunicorn (2 workers), the job worker, the outbox deliverer."""
    tmp: Path = tmp_path_factory.mktemp("faults")
    settings = {
        "FORMS_JOBS_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT_SECONDS),
        "FORMS_JOBS_RESTORE_INTERVAL_SECONDS": "1",
        "FORMS_OUTBOX_FIRST_DELAY_SECONDS": str(OUTBOX_FIRST_DELAY_SECONDS),
        "FORMS_SWEEP_INTERVAL_SECONDS": "1",
        "FORMS_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_SECONDS),
    }
    with prod_local(
        tmp, admin_url=server.url, redis_url=REDIS_URL, customers=120, extra_env=settings
    ) as started:
        yield started
