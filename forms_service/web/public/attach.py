"""The file a form takes beside a field (a RIB): read from the request, handed to the domain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext

from forms_service.definitions.model import FormDefinition
from forms_service.intake.online.attachments import (
    AttachmentRefused,
    StoredAttachment,
    store_attachment,
)
from forms_service.web.context import runtime

#: The file input's name, and the hidden input saying "keep the file of my draft".
FILE_FIELD = "attachment"
KEPT_FIELD = "attachment_kept"


@dataclass(frozen=True)
class PostedAttachment:
    """What a form post brings of the attachment: a file taken, or why it was refused."""

    stored: StoredAttachment | None = None
    error: str | None = None


def _said(refused: AttachmentRefused) -> str:
    words = {
        "attachment_too_large": gettext(
            "This file is larger than %(max)s MB: send a smaller one.", max=refused.params["max"]
        )
        if refused.params
        else gettext("This file is too large."),
        "attachment_type": gettext("This file is not a PDF, PNG or JPEG: send one of those."),
        "attachment_damaged": gettext(
            "This file is incomplete or damaged: save it again and send it again."
        ),
    }
    return str(words.get(refused.code, words["attachment_type"]))


def posted_attachment(
    definition: FormDefinition, kept: Mapping[str, Any] | None
) -> PostedAttachment:
    """The file posted with the form (checked and stored), else `kept` when the page keeps it.

    `kept` is what a draft or the answer being corrected holds of its file.
    """
    if definition.attachment is None:
        return PostedAttachment()
    upload = request.files.get(FILE_FIELD)
    content = b""
    if upload is not None:
        try:  # no more than one byte over the limit is read
            content = upload.read(definition.attachment.max_bytes + 1)
        finally:
            upload.close()
    if content:
        try:
            return PostedAttachment(
                store_attachment(runtime().files, content, definition.attachment)
            )
        except AttachmentRefused as refused:
            return PostedAttachment(error=_said(refused))
    if request.form.get(KEPT_FIELD) == "1" and kept is not None:
        return PostedAttachment(StoredAttachment.of(kept))
    return PostedAttachment()
