"""The queue's filter, built once for the back office's queue and the API's listing."""

from __future__ import annotations

import datetime as dt

from forms_service.changes.model import QueueFilter
from forms_service.changes.queries import queue_filter
from forms_service.storage.model import ChangeSetStatus


def test_no_parameter_is_the_default_queue() -> None:
    assert queue_filter() == QueueFilter()
    assert queue_filter(form_id="", channel="", status="", older_than_days=0) == QueueFilter()


def test_every_parameter_filters() -> None:
    wanted = queue_filter(
        form_id="contact-update",
        channel="paper",
        status="approved",
        older_than_days=3,
        limit=20,
        offset=40,
    )
    assert wanted == QueueFilter(
        form_id="contact-update",
        channel="paper",
        statuses=(ChangeSetStatus.APPROVED,),
        older_than=dt.timedelta(days=3),
        limit=20,
        offset=40,
    )


def test_a_status_that_is_no_change_sets_keeps_the_default() -> None:
    assert queue_filter(status="nonsense").statuses == QueueFilter().statuses
