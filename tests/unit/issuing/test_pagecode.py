"""Page QR payloads: short, signed with the link keys, refused when altered."""

from __future__ import annotations

import pytest

from forms_service.issuing.pagecode import PageCodes, TamperedPageCode
from forms_service.issuing.tokens import SigningKey

KEY1 = SigningKey.parse("k1:" + "a" * 40)
KEY2 = SigningKey.parse("k2:" + "b" * 40)


def test_page_code_round_trip_and_key_rotation() -> None:
    old = PageCodes([KEY1])
    payload = old.encode("AbCdEfGhIjKlMnOpQrStUv", 2, 7, layout=1)
    assert len(payload) <= 50  # a version 4 QR code at error correction M
    claims = PageCodes([KEY2, KEY1]).decode(payload)  # rotated: the old key still verifies
    assert (claims.document_id, claims.page, claims.version, claims.key_id) == (
        "AbCdEfGhIjKlMnOpQrStUv",
        2,
        7,
        "k1",
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p.replace(".2.7.", ".3.7."),  # another page
        lambda p: p.replace(".2.7.", ".2.8."),  # another version
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # signature
        lambda p: "http://example.org/f/x",  # the letter's link, not a page code
        lambda p: "",
    ],
)
def test_altered_page_codes_are_refused(mangle: object) -> None:
    codes = PageCodes([KEY1])
    payload = codes.encode("AbCdEfGhIjKlMnOpQrStUv", 2, 7, layout=1)
    assert callable(mangle)
    with pytest.raises(TamperedPageCode):
        codes.decode(mangle(payload))
    with pytest.raises(TamperedPageCode):
        PageCodes([KEY2]).decode(payload)  # unknown key
