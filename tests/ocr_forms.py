"""The service's own paper forms, issued, printed (rasterised) and filled in, for OCR tests.

Uses the real renderer (forms_service/issuing/pdf.py), the real layout geometry and the real
signed page codes; the answers are written with tests/ocr_pages.py at the zone positions.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definitions
from forms_service.issuing.layout import form_geometry
from forms_service.issuing.letter import letter_of
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.pdf import DocumentContent, PdfRenderer
from forms_service.issuing.tokens import SigningKey
from ocr.geometry import FormGeometry, PageGeometry
from ocr.pipeline import PageContext
from ocr.raster import rasterise_pdf
from tests.ocr_pages import GrayImage

DEFINITIONS = Path(__file__).resolve().parent.parent / "form_definitions"


@dataclass(frozen=True)
class PrintedPage:
    """One form page of an issued document as the printer put it on paper."""

    form_id: str
    document_id: str
    page: PageGeometry
    field_types: dict[str, str]
    image: GrayImage


def paper_context(definition: FormDefinition) -> PageContext:
    """The reading context the mailroom builds: each field's check, the confirming pairs."""
    checks = {f.name: c for f in definition.fields if (c := f.paper_check()) is not None}
    pairs = tuple(p for f in definition.fields if (p := f.pair_check()) is not None)
    return PageContext(checks=checks, pairs=pairs)


class IssuedForms:
    """Issues and prints the project's form definitions without a database."""

    def __init__(self, directory: Path = DEFINITIONS) -> None:
        self.definitions = load_definitions(directory)
        self.codes = PageCodes([SigningKey("bench", secrets.token_bytes(32))])
        self.renderer = PdfRenderer(self.codes, locale="fr")
        self._geometry: dict[str, FormGeometry] = {}
        self._issued: dict[str, str] = {}

    def definition(self, form_id: str) -> FormDefinition:
        """The loaded definition."""
        definition: FormDefinition = self.definitions[form_id]
        return definition

    def geometry(self, form_id: str) -> FormGeometry:
        """The layout geometry the renderer used."""
        if form_id not in self._geometry:
            self._geometry[form_id] = form_geometry(self.definition(form_id))
        return self._geometry[form_id]

    def resolve(self, payload: str) -> PageGeometry:
        """Page template of a verified page code (KeyError for a document never issued)."""
        claims = self.codes.decode(payload)
        form_id = self._issued[claims.document_id]
        return self.geometry(form_id).page(claims.page)

    def print_form(self, form_id: str, dpi: int, seed: int = 0) -> list[PrintedPage]:
        """Issue one document of `form_id` and print its form pages (not the letter)."""
        definition = self.definition(form_id)
        document_id = secrets.token_urlsafe(16)
        self._issued[document_id] = form_id
        rng = random.Random(seed)
        reference = "-".join(
            "".join(rng.choice("34679ACDEFHJKMNPRTWXY") for _ in range(3)) for _ in range(3)
        )
        content = DocumentContent(
            document_id=document_id,
            reference=reference,
            token="paper-benchmark",
            link="https://forms.example.org/f/paper-benchmark",
            snapshot={},
            record={},
            issued_on=dt.date(2026, 11, 23),
        )
        pdf = self.renderer.render(definition, letter_of(definition), content)
        sheets = list(rasterise_pdf(pdf, dpi=dpi))
        geometry = self.geometry(form_id)
        types = {f.name: f.type_name for f in definition.fields}
        # The first sheet is the covering letter; form pages follow, numbered from 1.
        return [
            PrintedPage(form_id, document_id, geometry.page(number), types, sheets[number])
            for number in range(1, len(sheets))
            if any(p.number == number for p in geometry.pages)
        ]
