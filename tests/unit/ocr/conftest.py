"""Pages drawn from the sample geometry, shared by the OCR unit tests."""

from __future__ import annotations

import pytest

from ocr.geometry import FormGeometry, PageGeometry
from tests.ocr_pages import Answers, GrayImage, render_page, sample_geometry

PAYLOAD = "DOC-7Q4K2M98X.1.3"

FILLED = Answers(
    texts={
        "last_name": "MARTIN",
        "city": "BORDEAUX",
        "postcode": "33000",
        "phone": "0612345678",
        "birth_date": "14071989",
        "iban": "FR7630006000011234567890189",
        "email": "jean.martin@orange.fr",
    },
    ticks=frozenset({("consent", None), ("channel", "sms")}),
    signed=True,
)


@pytest.fixture(scope="session")
def geometry() -> FormGeometry:
    return sample_geometry()


@pytest.fixture(scope="session")
def page(geometry: FormGeometry) -> PageGeometry:
    return geometry.page(1)


@pytest.fixture(scope="session")
def blank_200(page: PageGeometry) -> GrayImage:
    return render_page(page, PAYLOAD, 200)


@pytest.fixture(scope="session")
def filled_200(page: PageGeometry) -> GrayImage:
    return render_page(page, PAYLOAD, 200, FILLED, seed=1)
