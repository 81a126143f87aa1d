"""Fuzzing the scanned-file readers: damaged images and PDFs give a clear page problem, never a crash."""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from forms_service.intake.mailroom.files import (
    PageProblem,
    UnsupportedFile,
    count_pages,
    load_page,
    media_type_of,
)
from ocr.align import set_upright
from ocr.identify import find_code
from ocr.model import ScanError
from tests.fuzz.mutations import damaged

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _page() -> Image.Image:
    """A small scanned-looking page: corner squares and a QR code."""
    page = Image.new("L", (420, 594), 255)
    draw = ImageDraw.Draw(page)
    for x, y in ((10, 10), (390, 10), (10, 564), (390, 564)):
        draw.rectangle((x, y, x + 20, y + 20), fill=0)
    code = Image.open(io.BytesIO(_qr_png())).convert("L")
    page.paste(code, (300, 40))
    draw.text((40, 200), "12 RUE DES LILAS", fill=0)
    return page


def _qr_png() -> bytes:
    out = io.BytesIO()
    segno.make("fs1.DOC123.p1.v1.sig", error="m").save(out, kind="png", scale=3, border=4)
    return out.getvalue()


def _encoded(kind: str) -> bytes:
    out = io.BytesIO()
    page = _page()
    if kind == "TIFF":
        page.save(out, format="TIFF", save_all=True, append_images=[page.rotate(180)])
    elif kind == "PDF":
        page.save(out, format="PDF", resolution=72)
    else:
        page.save(out, format=kind)
    return out.getvalue()


SEEDS = {kind: _encoded(kind) for kind in ("PNG", "JPEG", "TIFF", "PDF")}


def _read(content: bytes) -> None:
    media_type = media_type_of(content, "scan")
    pages = count_pages(content, media_type)
    assert pages >= 1
    for index in range(min(pages, 3)):
        try:
            gray = load_page(content, media_type, index, dpi=72)
        except PageProblem as problem:
            assert problem.code and problem.reason
            continue
        assert gray.dtype == np.uint8 and gray.ndim == 2
        with contextlib.suppress(ScanError):
            set_upright(gray, find_code(gray))


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_seeds_are_read_with_their_code(kind: str) -> None:
    media_type = media_type_of(SEEDS[kind])
    gray = load_page(SEEDS[kind], media_type, 0, dpi=72)
    assert find_code(gray).payload == "fs1.DOC123.p1.v1.sig"


@FUZZ
@given(data=st.data())
def test_damaged_scans_are_page_problems_not_crashes(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(SEEDS)))
    content = data.draw(damaged(SEEDS[kind], max_edits=4))
    try:
        _read(content)
    except UnsupportedFile as refusal:  # the leading bytes were damaged: not a scan type
        assert refusal.status == 422 and refusal.reason


@FUZZ
@given(noise=arrays(np.uint8, st.tuples(st.integers(1, 300), st.integers(1, 300))))
def test_any_pixels_give_a_code_or_code_not_found(noise: np.ndarray) -> None:
    try:
        found = find_code(noise)
    except ScanError:
        return
    assert isinstance(found.payload, str)
