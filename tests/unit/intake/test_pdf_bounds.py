"""Untrusted PDFs: the byte-count pre-check, the padding check and the bounded child's refusals."""

from __future__ import annotations

import time

import pytest

from forms_service.config import load_settings
from forms_service.core.bounded import OverLimits
from forms_service.pdfforms import acroform
from forms_service.pdfforms.acroform import read_pdf_form, read_untrusted_pdf_form
from forms_service.pdfforms.guard import (
    CorruptPdf,
    PdfBomb,
    PdfLimits,
    PdfTooLarge,
    declared_objects,
    preflight,
    structure_check,
)
from tests.pdf_forms import Box, FormPdf, fill_with_pypdf

LARGE = PdfLimits(max_bytes=21 * 1024 * 1024)
SECONDS = 10
MEMORY = 512 * 1024 * 1024


@pytest.fixture(scope="module")
def filled() -> bytes:
    return fill_with_pypdf(FormPdf((Box("city"), Box("postcode"))).build(), {"city": "Lyon"})


def _padded(pdf: bytes, padding: bytes) -> bytes:
    """`padding` between the trailer and startxref: every offset of the file still holds."""
    cut = pdf.rindex(b"startxref")
    return pdf[:cut] + padding + pdf[cut:]


def test_a_flood_of_object_tokens_is_refused_by_byte_counts_alone() -> None:
    hostile = b"%PDF-1.7\n" + b"1 0 obj\n" * 2_500_000 + b"%%EOF\n"
    started = time.process_time()
    with pytest.raises(PdfBomb, match="declares 2500000 objects") as caught:
        structure_check(hostile, LARGE)
    assert time.process_time() - started < 0.5
    assert caught.value.field == "file" and caught.value.status == 422
    with pytest.raises(PdfBomb, match="declares"):
        preflight(hostile, LARGE)  # the preflight starts with the same counts


def test_objects_are_counted_by_their_openings_or_their_ends() -> None:
    assert declared_objects(b"1 0 obj\n<< >>\nendobj\n2 0 obj\n[ ]\nendobj\n") == 2
    assert declared_objects(b"1 0 obj endobj " * 10) == 10
    assert declared_objects(b"endobj " * 10) == 10
    assert declared_objects(b"1 0 obj " * 10) == 10


def test_too_dense_a_file_is_refused_under_the_total_limit() -> None:
    dense = b"%PDF-1.7\n" + b"1 0 obj 0 endobj\n" * 60_000 + b"%%EOF\n"  # ~1 MB
    with pytest.raises(PdfBomb, match="objects per MB"):
        structure_check(dense, LARGE)
    structure_check(dense, PdfLimits(max_objects_per_mb=100_000))
    with pytest.raises(PdfTooLarge):
        structure_check(dense, PdfLimits(max_bytes=1024))


def test_a_comment_padding_is_refused_stream_data_is_not(filled: bytes) -> None:
    with pytest.raises(PdfBomb, match="padding"):
        preflight(_padded(filled, b"%" + b"x" * 3_000_000 + b"\n"), LARGE)
    data = b"x" * 3_000_000
    stream = b"99 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(data), data)
    preflight(_padded(filled, stream), LARGE)


def test_the_bounded_reading_reads_as_the_reader_does(filled: bytes) -> None:
    bounded = read_untrusted_pdf_form(filled, LARGE, seconds=SECONDS, memory_bytes=MEMORY)
    assert bounded == read_pdf_form(filled, LARGE)
    assert bounded.fields["city"].value == "Lyon"


def test_a_refusal_in_the_child_comes_back_as_itself(filled: bytes) -> None:
    with pytest.raises(CorruptPdf, match="incomplete") as caught:
        read_untrusted_pdf_form(
            filled[: len(filled) * 2 // 3], LARGE, seconds=SECONDS, memory_bytes=MEMORY
        )
    assert caught.value.field == "file" and caught.value.code == "pdf_corrupt"


def test_out_of_time_in_the_child_is_a_clear_refusal(filled: bytes) -> None:
    # Padding let through: the readers lex 19 MB of comment for seconds, over the 1 s given.
    slow = _padded(filled, b"%" + b"x" * 19_000_000 + b"\n")
    lenient = PdfLimits(max_bytes=21 * 1024 * 1024, max_padding_bytes=20 * 1024 * 1024)
    started, cpu = time.monotonic(), time.process_time()
    with pytest.raises(PdfBomb, match="more time or memory") as caught:
        read_untrusted_pdf_form(slow, lenient, seconds=1, memory_bytes=MEMORY)
    assert time.monotonic() - started < 10 and time.process_time() - cpu < 1
    assert caught.value.field == "file" and caught.value.status == 422


def test_a_child_out_of_memory_is_the_same_refusal(
    filled: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How much a child can allocate before its limit depends on what its parent had mapped
    # (core/bounded.py's tests cover the limit itself): here the child's death is given.
    def out_of_memory(*_args: object, **_kwargs: object) -> None:
        raise OverLimits("the file needs more memory than one page may take")

    monkeypatch.setattr(acroform, "run_bounded", out_of_memory)
    with pytest.raises(PdfBomb, match="more time or memory") as caught:
        read_untrusted_pdf_form(filled, LARGE, seconds=SECONDS, memory_bytes=MEMORY)
    assert caught.value.field == "file" and caught.value.code == "pdf_too_complex"


def test_the_limits_default_to_the_settings() -> None:
    settings = load_settings(environ={})
    limits = PdfLimits()
    assert (limits.max_objects, limits.max_objects_per_mb, limits.max_padding_bytes) == (
        settings.pdf_max_objects,
        settings.pdf_max_objects_per_mb,
        settings.pdf_max_padding_bytes,
    )
