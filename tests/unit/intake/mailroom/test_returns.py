"""The final status of a PDF return from what its pages became (returns.outcome_of)."""

from __future__ import annotations

import pytest

from forms_service.intake.mailroom.returns import SettledPage, outcome_of
from forms_service.storage.model import PdfReturnStatus
from forms_service.storage.scans import PageStatus

MINE, THEIRS = "doc-mine", "doc-theirs"
SUBMITTED, REJECTED = PageStatus.SUBMITTED, PageStatus.REJECTED


def test_its_own_page_submitted_makes_it_scanned_with_that_submission() -> None:
    pages = [SettledPage(REJECTED, MINE), SettledPage(SUBMITTED, MINE, "sub-1")]
    assert outcome_of(pages, MINE) == (PdfReturnStatus.SCANNED, "sub-1")


def test_pages_submitted_only_into_other_documents_make_it_assigned_elsewhere() -> None:
    pages = [SettledPage(SUBMITTED, THEIRS, "sub-2"), SettledPage(REJECTED, None)]
    assert outcome_of(pages, MINE) == (PdfReturnStatus.ASSIGNED_ELSEWHERE, None)


def test_mixed_own_and_elsewhere_is_scanned() -> None:
    pages = [SettledPage(SUBMITTED, THEIRS, "sub-2"), SettledPage(SUBMITTED, MINE, "sub-1")]
    assert outcome_of(pages, MINE) == (PdfReturnStatus.SCANNED, "sub-1")


def test_every_page_set_aside_makes_it_rejected() -> None:
    pages = [SettledPage(REJECTED, MINE), SettledPage(REJECTED, None)]
    assert outcome_of(pages, MINE) == (PdfReturnStatus.REJECTED, None)


def test_a_return_never_identified_whose_pages_were_all_rejected_is_rejected() -> None:
    assert outcome_of([SettledPage(REJECTED)], None) == (PdfReturnStatus.REJECTED, None)


@pytest.mark.parametrize(
    "waiting",
    [PageStatus.QUEUED, PageStatus.PROCESSING, PageStatus.READ, PageStatus.EXCEPTION],
)
def test_no_outcome_while_a_page_waits_for_its_job_or_an_operator(waiting: PageStatus) -> None:
    pages = [SettledPage(SUBMITTED, THEIRS, "sub-2"), SettledPage(waiting, MINE)]
    assert outcome_of(pages, MINE) is None


def test_no_outcome_without_pages() -> None:
    assert outcome_of([], MINE) is None
