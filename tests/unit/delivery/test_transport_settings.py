"""The transport's settings: production refuses Kannel without its secrets; development derives them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from forms_service.config import Settings, check_production, load_settings
from forms_service.core.errors import ConfigurationError
from forms_service.delivery.interfaces import OutgoingSms, PermanentFailure, Purpose, SmsRendition
from forms_service.delivery.providers.kannel import (
    DLR_MASK,
    KannelProvider,
    checked_number,
    kannel_password,
    needs_ucs2,
)
from forms_service.delivery.providers.smtp import one_line, verp_address
from forms_service.delivery.reports import dlr_secret, parse_kannel_dlr
from tests.unit.test_production_settings import SAFE

DLR_SECRET = "Qm4r7ZtXw2cV9bN1kL5pH8sD3fG6jA0yE"


def _production(tmp_path: Path, **changes: object) -> Settings:
    return load_settings(environ={}, overrides={"VAR_DIR": str(tmp_path), **SAFE, **changes})


def test_production_with_kannel_needs_its_password_and_dlr_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_production(_production(tmp_path, SMS_PROVIDER="kannel"))
    assert "FORMS_KANNEL_PASSWORD" in str(refused.value)
    assert "FORMS_KANNEL_DLR_SECRET" in str(refused.value)
    check_production(
        _production(
            tmp_path, SMS_PROVIDER="kannel", KANNEL_PASSWORD="x" * 12, KANNEL_DLR_SECRET=DLR_SECRET
        )
    )
    check_production(_production(tmp_path))  # the file sink needs neither


def test_a_guessable_or_reused_dlr_secret_is_refused_in_production(tmp_path: Path) -> None:
    common = {"SMS_PROVIDER": "kannel", "KANNEL_PASSWORD": "p" * 12}
    with pytest.raises(ConfigurationError, match="KANNEL_DLR_SECRET is not random enough"):
        check_production(_production(tmp_path, **common, KANNEL_DLR_SECRET="a" * 40))
    with pytest.raises(ConfigurationError, match="SECRET_KEY and KANNEL_DLR_SECRET are the same"):
        check_production(_production(tmp_path, **common, KANNEL_DLR_SECRET=SAFE["SECRET_KEY"]))


def test_development_derives_the_dlr_secret_and_kannel_password_from_the_secret_key() -> None:
    one = Settings(secret_key="s" * 10 + "one-secret-key-of-32-characters!!")
    other = Settings(secret_key="s" * 10 + "another-secret-key-of-32-chars!!!")
    assert dlr_secret(one) == dlr_secret(one) != dlr_secret(other)
    assert len(dlr_secret(one)) == 32
    assert kannel_password(one) == kannel_password(one) != kannel_password(other)
    assert dlr_secret(Settings(kannel_dlr_secret=DLR_SECRET)) == DLR_SECRET.encode()
    with pytest.raises(ConfigurationError):
        dlr_secret(Settings())


def test_the_sendsms_query() -> None:
    settings = Settings(
        secret_key="k" * 40,
        kannel_password="pw",
        kannel_smsc="smsc1",
        base_url="https://forms.example.org",
    )
    provider = KannelProvider(settings)
    sms = OutgoingSms(
        "m3", "06 12 34 56 78", SmsRendition("Prénom ?", "MUTUELLE", Purpose.SERVICE, "fr")
    )
    query = {k: v[0] for k, v in parse_qs(provider.query(sms)).items()}
    dlr_url = query.pop("dlr-url")
    assert query == {
        "username": "forms",
        "password": "pw",
        "from": "MUTUELLE",
        "to": "+33612345678",
        "text": "Prénom ?",
        "charset": "UTF-8",
        "coding": "0",
        "dlr-mask": str(DLR_MASK),
        "smsc": "smsc1",
    }
    assert dlr_url.startswith("https://forms.example.org/hooks/kannel/dlr?m=m3&s=")
    callback = {k: v[0] for k, v in parse_qs(dlr_url.split("?", 1)[1].replace("%d", "1")).items()}
    assert parse_kannel_dlr(callback, dlr_secret(settings)).message_id == "m3"
    provider.close()


@pytest.mark.parametrize(
    ("text", "ucs2"),
    [
        ("Bonjour, réponse avant le 31/12 : https://f.example/r/x", False),
        ("Prix : 10 € {promo} [x] ~ ^ | \\", False),  # the extension table
        ("Ça va ? Où ? ÄÖÜ äöü ñ à è é ù ì ò", False),
        ("garçon", True),  # ç is not GSM 03.38 (Ç is)
        ("l’apostrophe typographique", True),
        ("emoji 🙂", True),
        ("Ελλάδα", True),  # Greek capitals ΔΦΓΛΩΠΨΣΘΞ are GSM, lower case is not
    ],
)
def test_the_coding_follows_gsm_03_38(text: str, ucs2: bool) -> None:
    assert needs_ucs2(text) is ucs2


def test_numbers_are_e164_or_refused() -> None:
    assert checked_number("06 12 34 56 78", "FR") == "+33612345678"
    assert checked_number("+44 7400 123456", "FR") == "+447400123456"
    assert checked_number("0033 6 12 34 56 78", "FR") == "+33612345678"
    for bad in ("", "0612", "+33 6 12", "abc", "+1 555 0100 999999"):
        with pytest.raises(PermanentFailure, match="invalid_number"):
            checked_number(bad, "FR")


def test_header_values_are_one_line_and_verp_keeps_the_domain() -> None:
    assert one_line("a\r\nBcc: x\u2028y\x00z\tw") == "a Bcc: x y z w"
    assert verp_address("bounces@bounce.example.org", "m42") == "bounces+m42@bounce.example.org"
