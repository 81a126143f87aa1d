"""Letters go into today's print files and are recorded handed to the printer, one by one:
the first channel's, and a fallback's after the e-mail failed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pypdf
from flask import Flask

from forms_service.cli.delivery import delivery as delivery_group
from forms_service.delivery.interfaces import PermanentFailure
from forms_service.delivery.letters import LetterPrints
from forms_service.runtime import Runtime
from forms_service.storage.events import EventKind
from forms_service.storage.messages import MessageStatus
from forms_service.storage.model import Document
from tests.integration.delivery_support import REACHABLE, Delivery, edit_crm

KEYS = ["C000001", "C000002", "C000003"]


def _prints(delivery: Delivery, directory: Path) -> LetterPrints:
    runtime = delivery.runtime
    return LetterPrints(
        runtime.sessions,
        runtime.printer,
        directory,
        clock=delivery.clock,
        delivery=delivery.service,
    )


def _text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)


def test_a_first_letter_and_a_fallback_letter_go_into_todays_print_file(
    runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    for key in KEYS:
        edit_crm(crm_url, key, **REACHABLE)
    edit_crm(crm_url, KEYS[0], preferred_channel="letter")
    # Its e-mail is refused for good and it has no mobile: the fallback is the letter.
    edit_crm(crm_url, KEYS[1], email="refused@example.org", phone=None)
    delivery = Delivery(runtime)
    delivery.email.refuse["refused@example.org"] = PermanentFailure("smtp_refused")
    first, fallen, emailed = delivery.issue(KEYS)
    delivery.service.send_campaign("spring")
    delivery.run_jobs()
    letters = {m.document_id: m for m in delivery.messages() if m.channel == "letter"}
    assert set(letters) == {first, fallen}
    assert all(m.status is MessageStatus.QUEUED for m in letters.values())

    run = _prints(delivery, tmp_path / "print").print_queued()
    day = delivery.clock().date().isoformat()
    [path] = run.files
    assert path == tmp_path / "print" / day / "letters-contact-update-001.pdf"
    assert run.printed == 2 and run.recovered == 0
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert [line["document_id"] for line in sidecar] == sorted(
        [first, fallen], key=lambda d: _reference(runtime, d)
    )
    # The pages are the letters of both documents, one after the other.
    pages = len(pypdf.PdfReader(path).pages)
    assert pages == sum(line["pages"] for line in sidecar)
    assert sidecar[1]["offset"] == sidecar[0]["pages"]
    text = _text(path)
    for document_id in (first, fallen):
        assert _reference(runtime, document_id) in text
    for document_id in (first, fallen):
        (letter,) = [m for m in delivery.messages(document_id) if m.channel == "letter"]
        assert letter.status is MessageStatus.SENT
        (printed,) = [e for e in delivery.events(document_id) if e.kind is EventKind.PRINTED]
        assert printed.detail["file"] == f"{day}/letters-contact-update-001.pdf"
        assert printed.detail["page"] in (1, sidecar[1]["offset"] + 1)
    assert emailed not in letters
    # Nothing is printed twice.
    again = _prints(delivery, tmp_path / "print").print_queued()
    assert again.files == () and again.printed == 0


def test_letters_printed_but_not_recorded_are_recorded_without_a_second_copy(
    runtime: Runtime, crm_url: str, tmp_path: Path
) -> None:
    edit_crm(crm_url, KEYS[0], **{**REACHABLE, "preferred_channel": "letter"})
    delivery = Delivery(runtime)
    (document_id,) = delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    prints = _prints(delivery, tmp_path / "print")
    # The run is cut short after the file is written, before the letters are recorded.
    recorded = prints._record
    prints._record = lambda *args, **kwargs: None  # type: ignore[method-assign]
    cut = prints.print_queued()
    prints._record = recorded  # type: ignore[method-assign]
    assert len(cut.files) == 1
    assert delivery.messages(document_id)[0].status is MessageStatus.QUEUED
    rerun = prints.print_queued()
    assert rerun.files == () and rerun.recovered == 1
    assert delivery.messages(document_id)[0].status is MessageStatus.SENT
    assert len(list((tmp_path / "print").rglob("*.pdf"))) == 1
    # Another day, another folder.
    delivery.clock.advance(days=1)
    assert prints.print_queued().files == ()


def test_the_command_writes_the_print_files(app: Flask, runtime: Runtime, crm_url: str) -> None:
    edit_crm(crm_url, KEYS[0], **{**REACHABLE, "preferred_channel": "letter"})
    delivery = Delivery(runtime)
    delivery.issue(KEYS[:1])
    delivery.service.send_campaign("spring")
    done = app.test_cli_runner().invoke(delivery_group, ["mark-printed", "--campaign", "spring"])
    assert done.exit_code == 0, done.output
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"print/{today}/letters-contact-update-001.pdf" in done.output
    assert "1 letter(s) recorded as handed to the printer" in done.output


def _reference(runtime: Runtime, document_id: str) -> str:
    with runtime.sessions() as session:
        return session.get_one(Document, document_id).reference
