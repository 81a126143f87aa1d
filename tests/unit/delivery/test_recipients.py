"""The recipient check's fast path says what email_validator says of the whole address."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from forms_service.delivery.interfaces import PermanentFailure
from forms_service.delivery.providers.smtp import checked_recipient

_LOCAL_CHARS = "abcXYZ019.._-+!#$%&'*/=?^`{|}~\"(),:;<>@[\\] é\t"
_DOMAINS = [
    "example.org",
    "Example.ORG",
    "mail.example.co.uk",
    "münchen.de",
    "xn--mnchen-3ya.de",
    "localhost",
    "x.invalid",
    "-bad.org",
    "bad-.org",
    "a..b.org",
    "example.org.",
    "[127.0.0.1]",
    "b" * 250 + ".org",
    "sub." + "c" * 63 + ".fr",
    "sub." + "c" * 64 + ".fr",
    "",
    "1.2.3.4",
    "exa mple.org",
]


def _verdict(check: object, address: str) -> str:
    try:
        if check is validate_email:
            return validate_email(address, check_deliverability=False).normalized
        return checked_recipient(address)
    except (EmailNotValidError, PermanentFailure):
        return "refused"


def _addresses(count: int, seed: int) -> list[str]:
    """Dot-atoms of words (most valid), and strings of any of the characters (most not)."""
    rng = random.Random(seed)
    atext = _LOCAL_CHARS[:30].replace(".", "")
    addresses = []
    for _ in range(count):
        length = rng.choice([1, 2, 5, 12, 40, 63, 64, 65, 70])
        if rng.random() < 0.6:
            words = ["".join(rng.choice(atext) for _ in range(rng.randint(1, 9)))
                     for _ in range(max(1, length // 6))]  # fmt: skip
            local = ".".join(words)[:length]
        else:
            local = "".join(rng.choice(_LOCAL_CHARS) for _ in range(length))
        addresses.append(f"{local}@{rng.choice(_DOMAINS)}")
    return addresses


@pytest.mark.parametrize(
    "address",
    [
        "anne.martin@example.org",
        "Anne.Martin@EXAMPLE.org",
        "a..b@example.org",
        ".a@example.org",
        "a.@example.org",
        "a@localhost",
        "a@x.invalid",
        "a" * 64 + "@example.org",
        "a" * 65 + "@example.org",
        "a" * 60 + "@" + "b" * 190 + ".org",
        "claire+spring@münchen.de",
        "a b@example.org",
        "a@b@example.org",
        "@example.org",
        "anne.martin@",
        "anne.martin",
    ],
)
def test_a_known_address_gets_email_validators_verdict(address: str) -> None:
    assert _verdict(checked_recipient, address) == _verdict(validate_email, address)


def test_random_addresses_get_email_validators_verdict() -> None:
    addresses = _addresses(4000, seed=13)
    verdicts = [(_verdict(checked_recipient, a), _verdict(validate_email, a)) for a in addresses]
    assert [a for a, (fast, full) in zip(addresses, verdicts, strict=True) if fast != full] == []
    # Both verdicts occur, and the fast path's own kind (dot-atoms on a valid domain) too.
    accepted = sum(1 for fast, _ in verdicts if fast != "refused")
    assert 0.1 * len(addresses) < accepted < 0.9 * len(addresses)
