"""Paper change sets for the verification station's tests, with the recogniser's notes.

Until the handprint recogniser (issue 16, points 1-3) writes them, no pipeline reading holds
per-character probabilities: these helpers store a paper submission whose evidence does, as
the mailroom would, and let the service propose it as it proposes every answer.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from forms_service.runtime import Runtime
from forms_service.storage.model import Submission, SubmissionStatus
from tests.integration.changes_support import issue

#: A 300 dpi comb of 5 cells of 5 mm, 6 mm high: the crop size of a postcode at 300 dpi.
POSTCODE_CROP = (295, 71)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def crop_png(text: str, size: tuple[int, int] = POSTCODE_CROP) -> bytes:
    """A scanned answer box at 300 dpi: the text in large capitals on white, as PNG."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    try:
        font: Any = ImageFont.truetype(FONT, int(size[1] * 0.7))
    except OSError:
        font = ImageFont.load_default()
    draw.rectangle((0, 0, size[0] - 1, size[1] - 1), outline=0, width=2)
    draw.text((8, size[1] * 0.1), text, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def characters(value: str, doubtful: Mapping[int, tuple[float, Sequence[Any]]]) -> list[Any]:
    """The recogniser's `characters` note: `doubtful` index -> (probability, alternatives)."""
    return [
        {"c": char, "p": doubtful[i][0], "alt": [list(a) for a in doubtful[i][1]]}
        if i in doubtful
        else {"c": char, "p": 0.99, "alt": []}
        for i, char in enumerate(value)
    ]


def paper_change_set(
    runtime: Runtime,
    values: Mapping[str, str],
    key: str = "C000001",
    *,
    notes: Mapping[str, Mapping[str, Any]] | None = None,
    confidence: float = 0.6,
    form_id: str = "contact-update",
) -> str:
    """A paper answer of `values` to a form issued to `key`, proposed; the change set id.

    Each field's evidence is a scan with a crop of its value, `confidence`, and the
    recogniser's `notes` for it (characters, suggestion_probability, ocr_value,
    cross_checks) when given.
    """
    document = issue(runtime, form_id, key)
    evidence = {
        field: {
            "kind": "scan",
            "crop": runtime.files.put(crop_png(value), suffix=".png"),
            "confidence": confidence,
            "engine": "test",
            "warnings": [],
            "read": value,
            **dict((notes or {}).get(field, {})),
        }
        for field, value in values.items()
    }
    submission_id = secrets.token_urlsafe(16)
    with runtime.sessions() as session, session.begin():
        session.add(
            Submission(
                id=submission_id,
                document_id=document.id,
                channel="paper",
                status=SubmissionStatus.RECEIVED,
                raw_values=dict(values),
                values=dict(values),
                base={},
                evidence=evidence,
                locale="fr",
                opened_at=None,
                received_at=dt.datetime.now(dt.UTC),
            )
        )
    return runtime.changes.propose(submission_id).id
