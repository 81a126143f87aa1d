"""`definitions check` refuses a `contact:` column the source's record type does not have."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Boolean, Column, MetaData, String, Table, create_engine

from forms_service.cli import cli
from forms_service.definitions.model import ContactMapping
from forms_service.delivery.channels import contact_problems

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"


def test_every_mapped_column_is_looked_for() -> None:
    contact = ContactMapping(
        email="mail",
        mobile="phone",
        address=("address_line", "zip"),
        preferred_channel="channel",
        opt_in={"sms": "sms_ok"},
        locale="language",
    )
    columns = {"phone", "address_line", "sms_ok"}
    assert contact_problems(contact, columns) == [
        "contact.email: the source has no column 'mail'",
        "contact.address[1]: the source has no column 'zip'",
        "contact.preferred_channel: the source has no column 'channel'",
        "contact.locale: the source has no column 'language'",
    ]
    assert contact_problems(contact, columns | {"mail", "zip", "channel", "language"}) == []


def _check(tmp_path: Path, source: str, **env: str) -> Result:
    folder = tmp_path / "definitions"
    folder.mkdir(exist_ok=True)
    (folder / "contact-update.yaml").write_text(source, encoding="utf-8")
    base = {"FORMS_VAR_DIR": str(tmp_path / "var"), "FORMS_CONFIG": None}
    return CliRunner().invoke(cli, ["definitions", "check", str(folder)], env={**base, **env})


def _contact_update(**replaced: str) -> str:
    source = (SHIPPED / "contact-update.yaml").read_text(encoding="utf-8")
    for old, new in replaced.items():
        assert old in source
        source = source.replace(old, new)
    return source


def test_a_contact_column_missing_from_the_configured_columns_is_refused(
    tmp_path: Path,
) -> None:
    # The embedded default's CRM lists its columns: checked before the CRM even exists.
    done = _check(
        tmp_path,
        _contact_update(**{"opt_in: {email: consent_email,": "opt_in: {email: consent_mail,"}),
    )
    assert done.exit_code == 1, done.output
    assert (
        "error: contact-update.yaml: contact.opt_in.email: the source has no column 'consent_mail'"
    ) in done.output
    assert _check(tmp_path, _contact_update()).exit_code == 0


def test_without_configured_columns_the_connector_reads_them_from_its_table(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("customer_no", String, primary_key=True),
        *(Column(name, String) for name in ("title", "first_name", "last_name", "email")),
        *(Column(name, String) for name in ("address_line", "postcode", "city", "phone")),
        *(Column(name, String) for name in ("address_extra", "birth_date", "preferred_channel")),
        *(Column(name, Boolean) for name in ("consent_email", "consent_post")),
    )
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    connectors = {
        "crm": {
            "type": "sql",
            "url": url,
            "record_types": {"customer": {"table": "customers", "key": "customer_no"}},
        }
    }
    done = _check(tmp_path, _contact_update(), FORMS_CONNECTORS=json.dumps(connectors))
    assert done.exit_code == 1, done.output
    assert (
        "error: contact-update.yaml: contact.opt_in.sms: the source has no column 'consent_sms'"
    ) in done.output
    # A source that cannot say (its table not there yet) is not a refusal: a note.
    (tmp_path / "crm.sqlite").unlink()
    absent = _check(tmp_path, _contact_update(), FORMS_CONNECTORS=json.dumps(connectors))
    assert "the contact: columns are not checked" in absent.output
    assert "contact.opt_in.sms" not in absent.output
