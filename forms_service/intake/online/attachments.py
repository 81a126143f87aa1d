"""A document attached to an online answer (a RIB): checked by content, kept in the private store.

A file is taken when its content is a PDF, PNG or JPEG (the name and the type the browser
claims are not trusted), no larger than the definition allows; a PDF passes the returned PDFs'
preflight (pdfforms/guard.py: truncated, padded, nested or object-flooded files are refused
unread), an image must decode in full within 40 megapixels. It is stored in the file store
(files 0600, named by their SHA-256); the answer's evidence for the field it stands beside
names it, so that the reviewers of that field see it. Nothing of it is logged.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image

from forms_service.core.errors import InvalidInput
from forms_service.definitions.attachment import TYPES, Attachment
from forms_service.pdfforms.guard import PdfLimits, PdfRejected, preflight
from forms_service.storage.filestore import FileStore

#: An image larger than this is refused before it is decoded (a decompression bomb).
MAX_PIXELS = 40_000_000


class AttachmentRefused(InvalidInput):
    """A file that is not taken as an attachment; `code` says why."""

    code = "attachment_type"


class AttachmentTooLarge(AttachmentRefused):
    """Larger than the definition allows."""

    code = "attachment_too_large"


class AttachmentDamaged(AttachmentRefused):
    """A PDF or an image that cannot be read in full."""

    code = "attachment_damaged"


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment kept in the file store: its key, media type and size."""

    key: str
    media_type: str
    size: int

    def evidence(self) -> dict[str, Any]:
        """What the answer's evidence for the field says of it."""
        return {"attachment": self.key, "attachment_type": self.media_type, "size": self.size}

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> StoredAttachment | None:
        """Read back what `evidence` (or a draft) keeps; None when nothing."""
        if not stored or not isinstance(stored.get("attachment"), str):
            return None
        media_type = str(stored.get("attachment_type", ""))
        if media_type not in TYPES:
            return None
        return cls(str(stored["attachment"]), media_type, int(stored.get("size", 0)))


def media_type_of(content: bytes) -> str | None:
    """The attachment type the content is, by its first bytes; None when none of them."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def check_attachment(content: bytes, attachment: Attachment) -> str:
    """The media type of an acceptable attachment.

    Raises:
        AttachmentTooLarge: larger than the definition allows.
        AttachmentRefused: not a PDF, PNG or JPEG.
        AttachmentDamaged: a PDF or an image that cannot be read in full.
    """
    if len(content) > attachment.max_bytes:
        raise AttachmentTooLarge(
            "The file is larger than %(max)s MB.",
            field="attachment",
            params={"max": attachment.max_megabytes},
        )
    media_type = media_type_of(content)
    if media_type is None:
        raise AttachmentRefused("The file is not a PDF, PNG or JPEG.", field="attachment")
    if media_type == "application/pdf":
        try:
            preflight(content, PdfLimits(max_bytes=attachment.max_bytes))
        except PdfRejected as refused:
            raise AttachmentDamaged(refused.reason, field="attachment") from refused
        return media_type
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise AttachmentDamaged("The image is too large.", field="attachment")
                image.load()  # decodes it in full: a cut file fails here
    except AttachmentDamaged:
        raise
    except Exception as exc:
        raise AttachmentDamaged("The image cannot be read.", field="attachment") from exc
    return media_type


def store_attachment(files: FileStore, content: bytes, attachment: Attachment) -> StoredAttachment:
    """Check the file and keep it in the private store (see `check_attachment` for refusals)."""
    media_type = check_attachment(content, attachment)
    key = files.put(content, suffix=TYPES[media_type])
    return StoredAttachment(key, media_type, len(content))
