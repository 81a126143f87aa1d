"""Print stored documents: gather a document's content and render its PDF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forms_service.connectors.interfaces import SourceUnavailable
from forms_service.core.errors import Conflict, NotFound
from forms_service.definitions.model import FormDefinition
from forms_service.issuing.letter import LetterTemplate, letter_of
from forms_service.issuing.pagecode import PageCodes
from forms_service.issuing.pdf import DocumentContent, PdfRenderer
from forms_service.issuing.pdf_template import render_template_copy
from forms_service.issuing.service import IssuingService
from forms_service.storage.model import Document


@dataclass(frozen=True)
class PdfCopy:
    """A document's PDF as a customer downloads it: a file name without personal data."""

    filename: str
    content: bytes


class DocumentPrinter:
    """Renders documents issued by an IssuingService, with its definitions and signing keys."""

    def __init__(self, issuing: IssuingService, *, locale: str = "fr") -> None:
        self.issuing = issuing
        self.page_codes = PageCodes(issuing.signer.keys)
        self.renderer = PdfRenderer(self.page_codes, locale=locale, layouts=issuing.layouts)
        self._letters: dict[tuple[str, int], LetterTemplate] = {}

    def letter(self, definition: FormDefinition) -> LetterTemplate:
        """The (cached) covering letter of a definition."""
        key = (definition.id, definition.version)
        if key not in self._letters:
            self._letters[key] = letter_of(definition)
        return self._letters[key]

    def definition_of(self, document: Document) -> FormDefinition:
        """The definition a document was issued with.

        Raises:
            Conflict: the definition has changed version since (its layout would differ).
        """
        definition = self.issuing.definition(document.form_id)
        if definition.version != document.form_version:
            raise Conflict(
                f"document was issued with version {document.form_version} of "
                f"{document.form_id!r}, now at version {definition.version}",
                field="form_version",
            )
        return definition

    def content(
        self,
        document: Document,
        record: Mapping[str, Any] | None = None,
        short_links: Mapping[str, str] | None = None,
        access_codes: Mapping[str, str] | None = None,
    ) -> DocumentContent:
        """What the PDF of `document` shows; reads the source record when not given.

        `short_links` and `access_codes` are those of a batch of documents, looked up at once
        by a campaign (`IssuingService.short_links_for`, `access_codes_for`); without them
        the document's are looked up.
        """
        definition = self.issuing.definition(document.form_id)
        if record is None:
            connector = self.issuing.connectors[definition.source.connector]
            record = connector.read(definition.source.record_type, document.record_key) or {}
        if short_links is None:
            short_links = self.issuing.short_links_for([document.id])
        if access_codes is None:
            access_codes = self.issuing.access_codes_for([document.id])
        return DocumentContent(
            document_id=document.id,
            reference=document.reference,
            token=self.issuing.token_for(document),
            link=self.issuing.link_for(document),
            snapshot=dict(document.snapshot),
            record=record,
            issued_on=document.issued_at.astimezone(dt.UTC).date(),
            expires_on=document.expires_at.astimezone(dt.UTC).date(),
            short_link=short_links.get(document.id),
            access_code=access_codes.get(document.id),
        )

    def render(
        self,
        document: Document,
        record: Mapping[str, Any] | None = None,
        short_links: Mapping[str, str] | None = None,
        access_codes: Mapping[str, str] | None = None,
    ) -> bytes:
        """The fillable PDF of one stored document (`short_links`, `access_codes`: `content`)."""
        definition = self.definition_of(document)
        if definition.pdf_template:
            # An organisation's own form: a prefilled copy of its PDF instead of our letter.
            return render_template_copy(
                definition, document.snapshot, self.issuing.token_for(document)
            )
        return self.renderer.render(
            definition,
            self.letter(definition),
            self.content(document, record, short_links, access_codes),
        )

    def customer_copy(self, document: Document) -> PdfCopy:
        """The PDF a campaign prints for `document`, rendered again for its customer.

        Fillable, with the hidden token field, the current values of the snapshot, in the
        current layout version; named after the reference only. When the source cannot be
        read, the letter is printed without the record's data (name, address): the form
        pages come from the snapshot, so the copy can still be filled in and sent back.

        Raises:
            Conflict: the definition has changed version since the document was issued.
        """
        try:
            content = self.render(document)
        except SourceUnavailable:
            content = self.render(document, record={})
        return PdfCopy(f"{document.reference}.pdf", content)

    def pdf_for(self, document_id: str) -> bytes:
        """The fillable PDF of the document with that id.

        Raises:
            NotFound: no such document.
        """
        with self.issuing.sessions() as session:
            document = session.get(Document, document_id)
        if document is None:
            raise NotFound("unknown document", field="document")
        return self.render(document)
