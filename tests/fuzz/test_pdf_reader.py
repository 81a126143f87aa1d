"""Fuzzing the returned-PDF reader: damaged real forms give a PdfRejected or a reading, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_service.pdfforms.acroform import read_pdf_form
from forms_service.pdfforms.guard import PdfLimits, PdfRejected
from tests.fuzz.mutations import damaged

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pdf-forms"
SEEDS = {
    path.name: path.read_bytes()
    for path in (
        FIXTURES / "pypdf" / "FormTestFromOo.pdf",
        FIXTURES / "pdf-lib" / "create_form.pdf",
        FIXTURES / "pdfbox" / "CombTest.pdf",
        FIXTURES / "pdfjs" / "issue15818.pdf",
    )
}
#: Bounded in time: raise FUZZ_EXAMPLES for a longer run on a developer's machine.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
LIMITS = PdfLimits()


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_the_seeds_read_cleanly(seed: str) -> None:
    assert read_pdf_form(SEEDS[seed], LIMITS).fields  # the fuzzing starts from real forms


@pytest.mark.parametrize("reader", ["auto", "pypdf"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_damaged_pdfs_are_read_or_refused_clearly(reader: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(sorted(SEEDS)))
    content = data.draw(damaged(SEEDS[seed]))
    try:
        form = read_pdf_form(content, LIMITS, reader=reader)
    except PdfRejected as refusal:
        assert refusal.status in (413, 415, 422)
        assert refusal.reason
        return
    assert len(form.fields) <= LIMITS.max_fields
    assert form.page_count <= LIMITS.max_pages
