"""Build the mailroom service of a runtime: its OCR engine, page codes and reading settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from forms_service.definitions.model import FormDefinition
from forms_service.intake.mailroom.reading import BlankPages, ReadingSettings
from forms_service.intake.mailroom.service import MailroomIntake
from forms_service.issuing.pagecode import PageCodes
from ocr.interfaces import OcrEngine

if TYPE_CHECKING:
    from forms_service.runtime import Runtime


def engine_provider(name: str) -> Callable[[], OcrEngine]:
    """The OCR engine of this process, created on first use (loading a model takes time).

    Args:
        name: "tesserocr" (the model stays loaded) or "pytesseract" (one process per box).
    """
    built: list[OcrEngine] = []
    lock = threading.Lock()

    def provide() -> OcrEngine:
        with lock:
            if not built:
                built.append(_make_engine(name))
            return built[0]

    return provide


def _make_engine(name: str) -> OcrEngine:
    if name == "pytesseract":
        from ocr.engines.pytesseract_engine import PytesseractEngine

        return PytesseractEngine()
    try:
        from ocr.engines.tesserocr_engine import TesserocrEngine

        return TesserocrEngine()
    except ImportError:  # tesserocr is optional: the slower engine reads the same boxes
        from ocr.engines.pytesseract_engine import PytesseractEngine

        return PytesseractEngine()


def blank_pages(runtime: Runtime) -> BlankPages:
    """Blank form pages drawn by the real renderer for a stand-in document."""
    from forms_service.issuing.letter import letter_of
    from forms_service.issuing.pdf import DocumentContent

    renderer = runtime.printer.renderer  # the printer's own: same layouts, same cache
    stand_in = DocumentContent(
        document_id="A" * 22,
        reference="XXX-XXX-XXX",
        token="",
        link=f"{runtime.settings.base_url.rstrip('/')}/f/",
        snapshot={},
    )

    def render(definition: FormDefinition, layout: int) -> bytes:
        # In the layout the page being read was printed with, which may be an old one.
        return renderer.render(definition, letter_of(definition), stand_in, layout_version=layout)

    return BlankPages(render)


def build_mailroom(runtime: Runtime) -> MailroomIntake:
    """The mailroom service on the runtime's database, files, definitions, keys and jobs.

    Settings: OCR_ENGINE (tesserocr), SCAN_READ_DPI (300), SCAN_REVIEW_THRESHOLD (the
    reader's, 0.99: handwriting is misread with high engine confidence, so it is stricter
    than AUTO_APPLY_MIN_CONFIDENCE), SCAN_BLANK_TEMPLATE (true: compare with the blank),
    MAILROOM_MAX_BATCH_BYTES (500 MB: a batch is not a customer's upload).
    """
    settings = runtime.settings
    return MailroomIntake(
        runtime.sessions,
        runtime.files,
        runtime.definitions,
        PageCodes(runtime.signer.keys),
        runtime.jobs,
        engine_provider(settings.ocr_engine),
        propose=runtime.changes.propose_quietly,
        signer=runtime.signer,
        blank=blank_pages(runtime) if settings.scan_blank_template else None,
        layouts=runtime.issuing.layouts,
        max_batch_bytes=settings.mailroom_max_batch_bytes,
        reading=ReadingSettings(
            dpi=settings.scan_read_dpi, threshold=settings.scan_review_threshold
        ),
    )
