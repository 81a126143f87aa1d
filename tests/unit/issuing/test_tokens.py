"""Signed link tokens: format, key rotation, tampering, expiry; document ids and references."""

from __future__ import annotations

import base64
import datetime as dt
import re
import string

import pytest

from forms_service.core.errors import FormsError
from forms_service.issuing.tokens import (
    ExpiredLink,
    LinkSigner,
    SigningKey,
    TamperedLink,
    new_document_id,
    new_reference,
    normalise_reference,
)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=60)
K1 = SigningKey.parse("k1:" + "a" * 40)
K2 = SigningKey.parse("k2:" + "b" * 40)


def test_token_names_the_document_only_and_verifies() -> None:
    document_id = new_document_id()
    token = LinkSigner([K1]).sign(document_id, LATER)
    assert token.startswith(document_id + ".")
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token)  # URL-safe as is
    assert len(token) < 70  # short links give small QR codes
    claims = LinkSigner([K1]).verify(token, NOW)
    assert claims.document_id == document_id
    assert claims.expires_at == LATER
    assert claims.key_id == "k1"


def test_document_ids_carry_128_random_bits() -> None:
    ids = {new_document_id() for _ in range(2000)}
    assert len(ids) == 2000
    for document_id in list(ids)[:50]:
        assert len(document_id) == 22
        raw = base64.urlsafe_b64decode(document_id + "==")
        assert len(raw) == 16


def test_rotation_first_key_signs_every_key_verifies() -> None:
    document_id = new_document_id()
    old_token = LinkSigner([K1]).sign(document_id, LATER)
    rotated = LinkSigner([K2, K1])
    assert rotated.verify(old_token, NOW).key_id == "k1"  # links already sent keep working
    new_token = rotated.sign(document_id, LATER)
    assert new_token.split(".")[2] == "k2"
    assert rotated.verify(new_token, NOW).key_id == "k2"
    retired = LinkSigner([K2])
    with pytest.raises(TamperedLink):
        retired.verify(old_token, NOW)  # once k1 is retired its links stop working
    assert retired.verify(new_token, NOW).document_id == document_id


def test_a_key_with_the_same_id_but_another_secret_refuses_the_token() -> None:
    token = LinkSigner([K1]).sign(new_document_id(), LATER)
    impostor = SigningKey.parse("k1:" + "c" * 40)
    with pytest.raises(TamperedLink):
        LinkSigner([impostor]).verify(token, NOW)


def _flip(text: str, index: int) -> str:
    # Document ids and MACs are URL-safe base 64: "-" and "_" are theirs too (a random id
    # starting with one of them made the expired-token test fail about once in 32 runs).
    alphabet = string.ascii_letters + string.digits + "-_"
    replacement = alphabet[(alphabet.index(text[index]) + 1) % len(alphabet)]
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("part", [0, 1, 2, 3])
def test_changing_any_part_of_the_token_is_tampering(part: int) -> None:
    signer = LinkSigner([K1, K2])
    token = signer.sign(new_document_id(), LATER)
    parts = token.split(".")
    for index in range(len(parts[part])):
        if parts[part][index] not in string.ascii_letters + string.digits:
            continue
        changed = [*parts]
        changed[part] = _flip(parts[part], index)
        with pytest.raises(TamperedLink):
            signer.verify(".".join(changed), NOW)


def test_a_later_expiry_cannot_be_forged() -> None:
    signer = LinkSigner([K1])
    document_id, expiry, key_id, mac = signer.sign(new_document_id(), LATER).split(".")
    far = format(int(expiry, 36) * 2, "x")  # hex digits are base-36 digits too
    with pytest.raises(TamperedLink):
        signer.verify(f"{document_id}.{far}.{key_id}.{mac}", NOW)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a" * 22,
        "a" * 22 + ".1.k1",
        "a" * 22 + ".1.k1." + "b" * 21,
        "a" * 22 + ".1.k1." + "b" * 22 + ".extra",
        "a" * 22 + ".ZZ.k1." + "b" * 22,  # upper-case expiry is not base 36 as signed
        "<script>.1.k1." + "b" * 22,
        "a" * 22 + ".1.k-1." + "b" * 22,
    ],
)
def test_malformed_tokens_are_tampered(token: str) -> None:
    with pytest.raises(TamperedLink) as caught:
        LinkSigner([K1]).verify(token, NOW)
    assert caught.value.status == 400
    assert caught.value.code == "tampered_link"


def test_expiry_is_checked_at_the_given_time() -> None:
    signer = LinkSigner([K1])
    token = signer.sign(new_document_id(), LATER)
    assert signer.verify(token, LATER - dt.timedelta(seconds=1)).expires_at == LATER
    with pytest.raises(ExpiredLink) as caught:
        signer.verify(token, LATER)
    assert caught.value.status == 410
    with pytest.raises(ExpiredLink):
        signer.verify(token, LATER + dt.timedelta(days=365))


def test_an_expired_tampered_token_is_reported_as_tampered() -> None:
    # The signature is checked first: an attacker learns nothing from the expiry answer.
    signer = LinkSigner([K1])
    token = _flip(signer.sign(new_document_id(), NOW - dt.timedelta(days=1)), 0)
    with pytest.raises(TamperedLink):
        signer.verify(token, NOW)


def test_link_errors_are_forms_errors_with_reasons() -> None:
    for error in (TamperedLink("x"), ExpiredLink("y")):
        assert isinstance(error, FormsError)
        assert error.reason in ("x", "y")


@pytest.mark.parametrize(
    "text", ["k1:short", "k1", ":" + "a" * 40, "k-1:" + "a" * 40, "k" * 17 + ":" + "a" * 40]
)
def test_signing_keys_must_read_id_colon_long_secret(text: str) -> None:
    with pytest.raises(ValueError, match="id:secret"):
        SigningKey.parse(text)


def test_a_secret_may_contain_colons() -> None:
    key = SigningKey.parse("k9:" + "x:" * 20)
    assert key.id == "k9"
    assert key.secret == ("x:" * 20).encode()


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError):
        LinkSigner([])


def test_references_are_readable_and_forgiving_to_type() -> None:
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    for reference in list(references)[:100]:
        assert re.fullmatch(
            r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}", reference
        )
        assert normalise_reference(reference.lower().replace("-", " ")) == reference
    assert normalise_reference("7q4k2m98x") == "7Q4-K2M-98X"
    assert normalise_reference("7Q4-K2M-9OX") == "7Q4-K2M-90X"  # letter O read as zero
    assert normalise_reference("1L4-K2M-98X") == "114-K2M-98X"
    assert normalise_reference("not a reference") == "not a reference"
