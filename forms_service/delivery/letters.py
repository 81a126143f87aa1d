"""Letters: the queued letter messages written into today's print files, then recorded printed.

A letter message (the first channel of a document, its fallback or a reminder's) waits
`queued` until a print run takes it: `print_queued` renders every queued letter into today's
print files, `<print dir>/<YYYY-MM-DD>/letters-<form>-<nnn>.pdf`, one merged PDF per form and
up to `PER_FILE` letters (the pages of `issue --pdf --merge`: the letter for a window envelope,
then the form, not fillable), each with a sidecar `.json` saying which message and document
start at which page. Only then is each letter recorded as handed to the printer: status
`sent`, and a `printed` event naming its file and first page.

A run cut short between the file and the record leaves letters in a file but still queued:
the next run finds them in today's sidecars and records them without printing them again,
so no customer gets two copies of one letter.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.consent.pressure import count_contact
from forms_service.core.clock import Clock, utc_now
from forms_service.delivery.followup import FollowUp, Sending
from forms_service.delivery.interfaces import Channel
from forms_service.issuing.printing import DocumentPrinter
from forms_service.storage.events import EventKind, record_event
from forms_service.storage.messages import Message, MessageStatus
from forms_service.storage.model import Document

#: Letters per print file (a print shop's batch; a rerun of the day adds files).
PER_FILE = 500


@dataclass(frozen=True)
class PrintedLetter:
    """One letter of a print file: whose it is and where its pages start (from 0)."""

    message_id: str
    document_id: str
    reference: str
    file: str
    offset: int
    pages: int


@dataclass(frozen=True)
class PrintRun:
    """What a print run did: the files written and the letters recorded as printed."""

    files: tuple[Path, ...]
    printed: int
    #: Letters found in a file of the day that an earlier run wrote but did not record.
    recovered: int


class LetterPrints:
    """Print runs of the queued letters into the print files under `directory`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        printer: DocumentPrinter,
        directory: Path,
        *,
        clock: Clock = utc_now,
        per_file: int = PER_FILE,
        delivery: Sending | None = None,
    ) -> None:
        self.sessions = sessions
        #: The gate letters pass before the printer (consent, caps, capacity); None: none.
        self.delivery = delivery
        self.printer = printer
        self.directory = directory
        self.clock = clock
        self.per_file = per_file

    def print_queued(self, campaign: str | None = None, *, actor: str = "system") -> PrintRun:
        """Print the queued letters (of `campaign`, else all) and record them handed over."""
        now = self.clock()
        folder = self.directory / now.date().isoformat()
        in_files = {letter.message_id: letter for letter in self.printed_today(folder)}
        released = (
            FollowUp(self.delivery).release_letters(campaign) if self.delivery is not None else None
        )
        queued = [
            (m, d)
            for m, d in self._queued(campaign, now)
            if released is None or m.id in released or m.id in in_files
        ]
        recovered = [in_files[m.id] for m, _ in queued if m.id in in_files]
        new = [(m, d) for m, d in queued if m.id not in in_files]
        files: list[Path] = []
        printed: list[PrintedLetter] = []
        by_form: dict[str, list[tuple[Message, Document]]] = {}
        for message, document in new:
            by_form.setdefault(document.form_id, []).append((message, document))
        for form_id, letters in sorted(by_form.items()):
            for start in range(0, len(letters), self.per_file):
                path, lines = self._print_file(
                    folder, form_id, letters[start : start + self.per_file]
                )
                files.append(path)
                printed.extend(lines)
        self._record([*recovered, *printed], folder.name, actor, now, released or {})
        return PrintRun(tuple(files), len(printed), len(recovered))

    def printed_today(self, folder: Path) -> Iterator[PrintedLetter]:
        """The letters in the print files of a day's folder (their sidecars)."""
        for sidecar in sorted(folder.glob("letters-*.json")):
            if not sidecar.with_suffix(".pdf").exists():
                continue  # a sidecar without its PDF is of a file that was not finished
            for item in json.loads(sidecar.read_text(encoding="utf-8")):
                yield PrintedLetter(**item)

    def _queued(self, campaign: str | None, now: dt.datetime) -> list[tuple[Message, Document]]:
        with self.sessions() as session:
            query = (
                select(Message, Document)
                .join(Document, Document.id == Message.document_id)
                .where(
                    Message.channel == Channel.LETTER.value,
                    Message.status == MessageStatus.QUEUED,
                    Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now),
                )
                .order_by(Document.form_id, Document.reference, Message.reminder)
            )
            if campaign is not None:
                query = query.where(Message.campaign == campaign)
            rows = [(message, document) for message, document in session.execute(query)]
            session.expunge_all()
            return rows

    def _print_file(
        self, folder: Path, form_id: str, letters: Sequence[tuple[Message, Document]]
    ) -> tuple[Path, list[PrintedLetter]]:
        """One merged print file of `letters` (one form), written atomically, with its sidecar."""
        folder.mkdir(parents=True, exist_ok=True)
        index = 1 + len(list(folder.glob(f"letters-{form_id}-*.pdf")))
        target = folder / f"letters-{form_id}-{index:03d}.pdf"
        partial = target.with_name(f".{target.name}.partial")
        printer = self.printer
        renderer = printer.renderer
        definition = printer.definition_of(letters[0][1])
        letter = printer.letter(definition)
        short_links = printer.issuing.short_links_for([d.id for _, d in letters])
        canvas = renderer.new_canvas(
            str(partial), title=definition.title_in(renderer.locale), author=letter.sender[:1]
        )
        lines = []
        offset = 0
        for message, document in letters:
            content = printer.content(document, None, short_links)
            pages = renderer.draw(canvas, definition, letter, content, fillable=False)
            lines.append(
                PrintedLetter(
                    message.id, document.id, document.reference, target.name, offset, pages
                )
            )
            offset += pages
        canvas.save()
        sidecar = target.with_suffix(".json")
        sidecar.write_text(json.dumps([asdict(line) for line in lines]), encoding="utf-8")
        os.replace(partial, target)  # the PDF last: a sidecar counts only beside its PDF
        return target, lines

    def _record(
        self,
        letters: Sequence[PrintedLetter],
        day: str,
        actor: str,
        now: dt.datetime,
        customers: Mapping[str, str],
    ) -> None:
        """Each letter still queued: sent, with a `printed` event naming its file and page.

        A letter the gate released is counted against its customer's contact caps.
        """
        if not letters:
            return
        with self.sessions() as session, session.begin():
            for printed in letters:
                message = session.get(Message, printed.message_id)
                if message is None or message.status is not MessageStatus.QUEUED:
                    continue
                message.status = MessageStatus.SENT
                message.sent_at = now
                message.attempts += 1
                message.provider_ref = f"{day}/{printed.file}#{printed.offset + 1}"
                message.updated_at = now
                if message.id in customers:
                    count_contact(
                        session,
                        message.id,
                        customers[message.id],
                        message.channel,
                        message.purpose,
                        now,
                    )
                record_event(
                    session,
                    message.document_id,
                    EventKind.PRINTED,
                    at=now,
                    channel=Channel.LETTER.value,
                    message_id=message.id,
                    detail={
                        "reminder": message.reminder,
                        "by": actor[:64],
                        "file": f"{day}/{printed.file}",
                        "page": printed.offset + 1,
                    },
                )
