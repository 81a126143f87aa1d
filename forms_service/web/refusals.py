"""What a refusal of the domain (a FormsError, by its code) says, per audience.

The domain's own reason is English and technical; these are the words shown, translated
when shown. A code without words here falls back to the audience's generic one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from flask_babel import gettext, lazy_gettext

from forms_service.core.errors import FormsError

#: The customers' pages (links, identity questions, PDF uploads).
CUSTOMER: Final[Mapping[str, object]] = {
    "tampered_link": lazy_gettext(
        "This link is incomplete or has been altered. Check that you copied all of it."
    ),
    "expired_link": lazy_gettext("This link has expired."),
    "revoked_link": lazy_gettext("This form was withdrawn."),
    "unknown_document": lazy_gettext("This link does not lead to any form."),
    "closed_link": lazy_gettext(
        "Your answer has already been processed: this link accepts no more answers."
    ),
    "too_many_attempts": lazy_gettext("Too many attempts. Try again in a few minutes."),
    "identity_locked": lazy_gettext(
        "Too many wrong answers: this form is locked for a while. Each new lock lasts longer, "
        "and the last one lasts until you contact us."
    ),
    "identity_blocked": lazy_gettext(
        "Too many wrong answers: this form is locked. Contact us: an adviser can unlock it "
        "once they have checked who you are."
    ),
    "csrf": lazy_gettext("The page has expired. Reload it and try again."),
    "generic": lazy_gettext("The request could not be processed."),
    "not_found": lazy_gettext("Page not found."),
    "source_unavailable": lazy_gettext(
        "Our systems are not answering right now. Please try again later."
    ),
    "not_a_pdf": lazy_gettext("This file is not a PDF. Send the form's PDF."),
    "too_large": lazy_gettext("This file is too large."),
    "pdf_encrypted": lazy_gettext(
        "This PDF is protected by a password. Save a copy without a password and send it."
    ),
    "pdf_corrupt": lazy_gettext(
        "This PDF is incomplete or damaged. Save it again and send it again."
    ),
    "pdf_too_complex": lazy_gettext(
        "This PDF is too complex to read. Send the form's PDF you received."
    ),
    "pdf_other_document": lazy_gettext(
        "This PDF was sent to someone else: send the PDF you received."
    ),
    "pdf_unidentified": lazy_gettext("This PDF is not the one we sent you."),
    "pdf_not_this_form": lazy_gettext("This PDF is not the form of this letter."),
}

#: The back office and the mailroom.
OFFICE: Final[Mapping[str, object]] = {
    "stale_change_set": lazy_gettext(
        "This change set changed since it was shown: reload the page and decide again."
    ),
    "invalid_transition": lazy_gettext("This field is not in a state that allows this action."),
    "four_eyes": lazy_gettext("This field needs a second, different reviewer."),
    "choice_required": lazy_gettext(
        "The source changed since the customer saw this field: choose keep source, take "
        "answer (with a reason) or edit; accepting is not enough."
    ),
    "reason_required": lazy_gettext("Say why the answer wins over the value the source holds now."),
    "not_found": lazy_gettext("Not found: nothing has this name."),
    "conflict": lazy_gettext("The operation cannot be done in the present state."),
    "forbidden": lazy_gettext("You may not do this."),
    "source_unavailable": lazy_gettext("The source system does not answer; try again later."),
    "too_many_attempts": lazy_gettext("Too many attempts: try again later."),
    "bad_request": lazy_gettext("Bad request."),
    "csrf": lazy_gettext("The page has expired. Reload it and try again."),
    "unsupported_file": lazy_gettext("Unsupported file: PDF, TIFF, PNG or JPEG only."),
}


def said(error: FormsError) -> str:
    """The domain's own reason for `error`, translated (as it was said when not a msgid)."""
    return str(gettext(error.message, **error.params) if error.params else gettext(error.message))


def for_customer(code: str, otherwise: FormsError | None = None) -> str:
    """The customers' words for a refusal `code`; else `otherwise`'s reason, else generic ones."""
    words = CUSTOMER.get(code)
    if words is not None:
        return str(words)
    return said(otherwise) if otherwise is not None else str(CUSTOMER["generic"])


def for_office(error: FormsError) -> str:
    """The back office's words for `error`: by its code, else its own reason (translated)."""
    words = OFFICE.get(error.code)
    return str(words) if words is not None else said(error)
