"""The covering letter's QR code is told apart from a foreign code: short link or signed link."""

from __future__ import annotations

import datetime as dt

from forms_service.intake.mailroom.identification import letter_document
from forms_service.issuing.tokens import LinkSigner, SigningKey, new_document_id

SIGNER = LinkSigner([SigningKey("k1", b"s" * 40)])
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_a_short_link_is_looked_up_by_its_code() -> None:
    asked: list[str] = []

    def lookup(code: str) -> str | None:
        asked.append(code)
        return "D1" if code == "0123456789abcdefghjk" else None

    found = letter_document(
        "https://hz.example/r/0123456789abcdefghjk", SIGNER, NOW, short_link=lookup
    )
    assert found == "D1"
    assert (
        letter_document("https://hz.example/r/zzzzzzzzzzzzzzzzzzzz", SIGNER, NOW, short_link=lookup)
        is None
    )
    assert asked == ["0123456789abcdefghjk", "zzzzzzzzzzzzzzzzzzzz"]


def test_a_letter_printed_before_short_links_carries_its_signed_link() -> None:
    document_id = new_document_id()
    token = SIGNER.sign(document_id, NOW + dt.timedelta(days=3))
    assert letter_document(f"http://localhost/f/{token}", SIGNER, NOW) == document_id
    late = NOW + dt.timedelta(days=30)
    assert letter_document(f"http://localhost/f/{token}", SIGNER, late) == document_id
    assert letter_document(f"http://localhost/f/{token[:-2]}xx", SIGNER, NOW) is None
    assert letter_document("https://elsewhere.example/page", SIGNER, NOW) is None
