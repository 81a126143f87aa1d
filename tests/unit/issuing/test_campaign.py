"""Campaign plumbing that needs no database: batching a key stream, checking a plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.connectors.interfaces import Selection
from forms_service.core.errors import InvalidInput
from forms_service.issuing.campaign import CampaignPlan, batches


def test_batches_cut_a_stream_without_reading_ahead() -> None:
    pulled: list[str] = []

    def keys() -> Iterator[str]:
        for n in range(7):
            pulled.append(str(n))
            yield str(n)

    stream = batches(keys(), 3)
    assert next(stream) == ["0", "1", "2"]
    assert pulled == ["0", "1", "2"]  # the fourth key is not read before it is needed
    assert list(stream) == [["3", "4", "5"], ["6"]]
    assert list(batches(iter([]), 3)) == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"merge": 0}, "merge"),
        ({"jobs": 0}, "jobs"),
        ({"jobs": 65}, "jobs"),
        ({"campaign": ""}, "campaign"),
    ],
)
def test_a_plan_refuses_impossible_options(options: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "form_id": "contact-update",
        "campaign": "spring",
        "selection": Selection(all=True),
        "out_dir": Path("out"),
        **options,
    }
    with pytest.raises(InvalidInput) as refused:
        CampaignPlan(**values)  # type: ignore[arg-type]
    assert refused.value.field == field
