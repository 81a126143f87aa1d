"""Issue 17 (3): a page whose code cannot be read is turned by its box grid, never read at 0°.

The service's own form page is filled, its code blanked out (unreadable), and scanned
upside down: the operator assigns it, and the reader must find which way up it is from
what is printed, or set it aside with a reason, never read its zones at 0 degrees.
"""

from __future__ import annotations

import pytest

from forms_service.intake.mailroom.reading import WITHOUT_CODE, read_without_code
from ocr.engines.tesserocr_engine import TesserocrEngine
from ocr.geometry import PageGeometry, ZoneKind
from ocr.identify import find_code
from ocr.model import CodeNotFound
from ocr.orientation import OrientationUncertain, orient_without_code
from tests.ocr_forms import IssuedForms, PrintedPage, paper_context
from tests.ocr_pages import Answers, Degradation, GrayImage, degrade, fill_page

DPI = 200
ANSWERS = Answers(
    texts={"address_line": "12 RUE DES LILAS", "city": "BORDEAUX", "phone": "0612345678"},
    signed=True,
)


@pytest.fixture(scope="module")
def forms() -> IssuedForms:
    return IssuedForms()


@pytest.fixture(scope="module")
def printed(forms: IssuedForms) -> PrintedPage:
    return forms.print_form("contact-update", dpi=DPI)[0]


def _without_code(image: GrayImage, page: PageGeometry) -> GrayImage:
    """The page with its code blanked out (torn off, smudged, printed over)."""
    blanked = image.copy()
    scale = DPI / 72
    qr = page.qr
    top = round((page.height - qr.y - qr.height) * scale)
    bottom = round((page.height - qr.y) * scale)
    blanked[
        top - 4 : bottom + 4, round(qr.x * scale) - 4 : round((qr.x + qr.width) * scale) + 4
    ] = 255
    return blanked


@pytest.mark.parametrize("turn", [2, 0, 1])
def test_an_upside_down_page_without_its_code_is_turned_right_and_read(
    forms: IssuedForms, printed: PrintedPage, turn: int
) -> None:
    filled = _without_code(fill_page(printed.image, printed.page, DPI, ANSWERS), printed.page)
    scan = degrade(filled, Degradation(turn=turn, rotation=1.0, noise=4), seed=1)
    with pytest.raises(CodeNotFound):
        find_code(scan)
    context = paper_context(forms.definition("contact-update"))
    result = read_without_code(scan, printed.page, TesserocrEngine(), context)
    assert result.rotation == (-90 * turn) % 360
    texts = {r.field: r.value for r in result.readings if r.kind in (ZoneKind.TEXT, ZoneKind.COMB)}
    assert texts == {
        "address_line": "12 RUE DES LILAS", "address_extra": None, "postcode": None,
        "city": "BORDEAUX", "email": None, "phone": "0612345678",
    }  # fmt: skip
    assert all(WITHOUT_CODE in r.warnings for r in result.readings if r.value is not None)


def test_a_page_whose_orientation_nothing_settles_is_not_read(printed: PrintedPage) -> None:
    # Only the four squares are left (the boxes faded out of a pale copy): both ways up
    # align equally well, so the page must go to an operator, not be read at 0 degrees.
    page = printed.page
    scale = DPI / 72
    pale = _without_code(printed.image, page).copy()
    band = round(25 * scale * 72 / 25.4)
    pale[band:-band, :] = 255
    pale[:, band:-band] = 255
    scan = degrade(pale, Degradation(turn=2, rotation=0.5), seed=1)
    with pytest.raises(OrientationUncertain, match="which way up"):
        orient_without_code(scan, page, 300)
