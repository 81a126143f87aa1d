"""Identify a scanned page by its code: the code must be ours and name a document that takes answers.

A page code is signed (issuing/pagecode.py) and names a document, its form version, the page
and the layout version it was printed with. The covering letter's QR code is the document's
short link (or, printed before short links, its signed link) instead: it is told apart from
a foreign page so that it can be set aside.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.core.i18n import N_
from forms_service.definitions.model import FormDefinition
from forms_service.intake.mailroom.reasons import Reason
from forms_service.issuing.layout import LAYOUTS, LayoutVersions
from forms_service.issuing.pagecode import PageCodes, TamperedPageCode
from forms_service.issuing.shortcodes import normalise_code
from forms_service.issuing.tokens import ExpiredLink, LinkSigner, TamperedLink
from forms_service.storage.model import Document, DocumentStatus
from forms_service.storage.shortlinks import ShortLink, code_digest

#: The signed link in the covering letter's QR code.
_LINK = re.compile(r"/f/([A-Za-z0-9_.-]{40,120})")
#: The short link in the covering letter's QR code.
_SHORT_LINK = re.compile(r"/r/([A-Za-z0-9-]{20,30})$")
#: The exception of a well-signed page code naming a layout version this service lacks.
UNKNOWN_LAYOUT = "unknown_layout"


class PageException(Exception):
    """A page an operator must look at; `code` is stable, `reason` is shown to them.

    Attributes:
        code: the page's exception code.
        message: the reason as a msgid (`%(name)s` for a figure), `params` its figures.
        reason: the reason in English, its figures in place.
        document_id: the document the page was found to belong to, when it was.
    """

    def __init__(
        self,
        code: str,
        reason: str,
        params: Mapping[str, str | int] | None = None,
        *,
        document_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = reason
        self.params = dict(params or {})
        self.reason = Reason(reason, self.params).text
        super().__init__(self.reason)
        self.document_id = document_id

    @property
    def why(self) -> Reason:
        """The reason, to be recorded with the page."""
        return Reason(self.message, self.params)


@dataclass(frozen=True)
class Identity:
    """Which document, form and page a scanned page is."""

    document_id: str
    form_id: str
    version: int
    page: int
    #: The layout version the page was printed with: its zones are that version's.
    layout: int


def identify(
    payload: str,
    *,
    codes: PageCodes,
    find_document: Callable[[str], Document | None],
    definitions: Mapping[str, FormDefinition],
    letter_of: Callable[[str], str | None] | None = None,
    layouts: LayoutVersions = LAYOUTS,
) -> Identity:
    """Check a page code and the document it names.

    `letter_of` tells the covering letter (its QR code is the document's link) from a
    foreign page: it returns the document id of one of our links, None otherwise.

    Raises:
        PageException: not our code, unknown or withdrawn document, retired form version,
            or a layout version this service does not have (`unknown_layout`: a page printed
            by a newer deployment is never read with another layout's boxes).
    """
    try:
        claims = codes.decode(payload)
    except TamperedPageCode:
        letter = letter_of(payload) if letter_of else None
        if letter is not None:
            raise PageException(
                "covering_letter",
                N_("the covering letter (its code is the link): it carries no answers"),
                document_id=letter,
            ) from None
        raise PageException(
            "foreign_code", N_("the QR code is not one of this service's page codes")
        ) from None
    document = find_document(claims.document_id)
    if document is None:
        raise PageException("unknown_document", N_("the code names a document that does not exist"))
    if document.status is DocumentStatus.REVOKED:
        raise PageException(
            "revoked_document",
            N_("document %(reference)s was withdrawn"),
            {"reference": document.reference},
            document_id=document.id,
        )
    definition = definitions.get(document.form_id)
    if definition is None or definition.version != claims.version:
        raise PageException(
            "retired_version",
            N_("document %(reference)s was printed with a form version no longer served"),
            {"reference": document.reference},
            document_id=document.id,
        )
    if claims.layout not in layouts:
        raise PageException(
            UNKNOWN_LAYOUT,
            N_(
                "document %(reference)s was printed with paper layout version %(layout)s, "
                "which this service does not know (known: %(known)s): its boxes cannot be "
                "located"
            ),
            {
                "reference": document.reference,
                "layout": claims.layout,
                "known": ", ".join(map(str, layouts.versions)),
            },
            document_id=document.id,
        )
    return Identity(document.id, document.form_id, claims.version, claims.page, claims.layout)


def letter_document(
    payload: str,
    signer: LinkSigner,
    now: dt.datetime,
    *,
    short_link: Callable[[str], str | None] = lambda _code: None,
) -> str | None:
    """The document whose covering letter carries this QR code (its short or signed link).

    `short_link` gives the document of a short link's code (`short_link_document`).
    """
    short = _SHORT_LINK.search(payload)
    if short is not None:
        return short_link(short.group(1))
    found = _LINK.search(payload)
    if found is None:
        return None
    token = found.group(1)
    try:
        return signer.verify(token, now).document_id
    except ExpiredLink:  # well signed, only late: still our letter
        return token.split(".", 1)[0]
    except TamperedLink:
        return None


def short_link_document(session: Session, code: str) -> str | None:
    """The document of a short link's code, withdrawn or expired included (None: not ours)."""
    canonical = normalise_code(code)
    if canonical is None:
        return None
    return session.scalar(
        select(ShortLink.document_id).where(ShortLink.digest == code_digest(canonical))
    )
