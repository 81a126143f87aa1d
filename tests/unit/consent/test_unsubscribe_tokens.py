"""Unsubscribe tokens: signed, rotated keys, no personal data, refused when altered."""

from __future__ import annotations

import pytest

from forms_service.consent.customers import Customer, CustomerReferences, UnknownCustomerReference
from forms_service.consent.unsubscribe import (
    TamperedUnsubscribeLink,
    UnsubscribeClaims,
    UnsubscribeTokens,
)
from forms_service.issuing.tokens import SigningKey, new_document_id

OLD = SigningKey("k1", b"o" * 32)
NEW = SigningKey("k2", b"n" * 32)


def test_a_token_names_the_document_purpose_and_channel_and_survives_rotation() -> None:
    document = new_document_id()
    token = UnsubscribeTokens([OLD]).sign(document, "commercial", "email")
    assert token.startswith(document + ".ce.k1.")
    rotated = UnsubscribeTokens([NEW, OLD])
    assert rotated.verify(token) == UnsubscribeClaims(document, "commercial", "email")
    assert rotated.sign(document, "regulatory", "sms").split(".")[1:3] == ["rs", "k2"]


@pytest.mark.parametrize("change", ["purpose", "signature", "key", "junk"])
def test_an_altered_token_is_refused(change: str) -> None:
    tokens = UnsubscribeTokens([OLD])
    token = tokens.sign(new_document_id(), "commercial", "email")
    document, kind, key, mac = token.split(".")
    altered = {
        "purpose": f"{document}.re.{key}.{mac}",
        "signature": f"{document}.{kind}.{key}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        "key": f"{document}.{kind}.k9.{mac}",
        "junk": "../../etc/passwd",
    }[change]
    with pytest.raises(TamperedUnsubscribeLink):
        tokens.verify(altered)


def test_a_document_link_opens_no_unsubscribe() -> None:
    import datetime as dt

    from forms_service.issuing.tokens import LinkSigner

    link = LinkSigner([OLD]).sign(new_document_id(), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(TamperedUnsubscribeLink):
        UnsubscribeTokens([OLD]).verify(link)


def test_a_customer_reference_hides_the_number_and_opens_only_here() -> None:
    customer = Customer("crm", "customer", "C000042")
    references = CustomerReferences("s" * 32)
    sealed = references.seal(customer)
    assert "C000042" not in sealed and "=" not in sealed
    assert references.open(sealed) == customer
    with pytest.raises(UnknownCustomerReference):
        CustomerReferences("t" * 32).open(sealed)
    with pytest.raises(UnknownCustomerReference):
        references.open("forged")
