"""Loading and checking form definitions: every error names the file, the field, the problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from forms_service.config import DEMO_CRM_RECORD_TYPES
from forms_service.definitions.model import Channel, Policy
from forms_service.definitions.service import (
    DefinitionError,
    DefinitionProblem,
    load_definition,
    load_definitions,
)

SHIPPED = Path(__file__).resolve().parents[3] / "form_definitions"
CONNECTORS = {"crm": DEMO_CRM_RECORD_TYPES}

VALID: dict[str, Any] = {
    "id": "address-check",
    "version": 2,
    "title": {"fr": "Votre adresse", "en": "Your address"},
    "source": {"connector": "crm", "record_type": "customer"},
    "key": "customer_no",
    "link_lifetime_days": 30,
    "challenge": [
        {
            "name": "birth_date",
            "type": "date",
            "maps_to": "birth_date",
            "label": {"fr": "Date de naissance", "en": "Date of birth"},
        }
    ],
    "fields": [
        {
            "name": "postcode",
            "type": "postcode",
            "label": {"fr": "Code postal", "en": "Postcode"},
            "required": True,
            "rules": {"country": "FR"},
            "maps_to": "postcode",
            "policy": "auto",
        },
        {
            "name": "channel",
            "type": "choice",
            "label": {"fr": "Canal", "en": "Channel"},
            "maps_to": "preferred_channel",
            "choices": [
                {"value": "email", "label": {"fr": "E-mail", "en": "E-mail"}},
                {"value": "post", "label": {"fr": "Courrier", "en": "Post"}},
            ],
        },
        {
            "name": "signature",
            "type": "signature",
            "label": {"fr": "Signature", "en": "Signature"},
            "channels": ["paper"],
        },
    ],
}


def write(directory: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = directory / f"{name}.yaml"
    text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, name: str, content: dict[str, Any] | str) -> list[str]:
    definition, problems = load_definition(write(tmp_path, name, content), connectors=CONNECTORS)
    assert definition is None
    assert problems, "a broken definition must report at least one problem"
    return [str(p) for p in problems]


# -- the shipped definitions --------------------------------------------------------------


def test_shipped_definitions_load_against_the_demo_crm() -> None:
    loaded = load_definitions(SHIPPED, connectors=CONNECTORS)
    assert {"contact-update", "bank-details", "consent-preferences"} <= set(loaded)
    contact = loaded["contact-update"]
    assert contact.title_in("en") == "Update your contact details"
    assert contact.title_in("fr") == "Mise à jour de vos coordonnées"
    assert [q.name for q in contact.challenge] == ["birth_date"]
    assert "signature" not in [f.name for f in contact.fields_for(Channel.ONLINE)]
    assert [f.name for f in contact.fields_for(Channel.PAPER)][-1] == "signature"
    assert contact.field("email").policy is Policy.AUTO
    assert "birth_date" in contact.source_columns
    bank = loaded["bank-details"]
    assert {f.policy for f in bank.fields if f.maps_to} == {Policy.FOUR_EYES}
    assert bank.field("iban").rules.countries[0] == "FR"
    assert bank.field("mandate").rules.must_tick
    consent = loaded["consent-preferences"]
    assert consent.challenge == ()
    assert [c.value for c in consent.field("preferred_channel").choices] == [
        "email",
        "sms",
        "post",
    ]
    for definition in loaded.values():
        for field in definition.fields:
            assert field.label_in("fr") and field.label_in("en"), (definition.id, field.name)


def test_a_valid_definition_is_built_with_defaults(tmp_path: Path) -> None:
    minimal = copy.deepcopy(VALID)
    del minimal["link_lifetime_days"]
    definition, problems = load_definition(write(tmp_path, "ok", minimal), connectors=CONNECTORS)
    assert problems == []
    assert definition is not None
    assert definition.link_lifetime_days == 60
    assert definition.version == 2
    channel = definition.field("channel")
    assert channel.policy is Policy.REVIEW  # the safe default
    assert channel.channels == frozenset(Channel)
    assert not channel.required
    assert channel.parse("POST") == "post"
    assert definition.field("postcode").parse("75 011") == "75011"
    assert definition.intro_in("fr") == ""
    with pytest.raises(KeyError):
        definition.field("nope")


# -- broken definitions: file + field + problem -------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(raw: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = raw
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is _DELETE:
            if isinstance(target, list):
                del target[int(last)]
            else:
                del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()

BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str | None, str]] = [
    ("unknown-type", _set("fields/0/type", "zipcode"), "postcode", "unknown type 'zipcode'"),
    ("unknown-field-key", _set("fields/0/mapsto", "x"), "postcode", "unknown key 'mapsto'"),
    (
        "bad-autocomplete",
        _set("fields/0/autocomplete", "zip"),
        "postcode",
        "autocomplete 'zip' is not an HTML autofill token",
    ),
    ("bad-policy", _set("fields/0/policy", "two_eyes"), "postcode", "policy 'two_eyes'"),
    ("bad-channel", _set("fields/0/channels", ["fax"]), "postcode", "channels ['fax']"),
    ("no-maps-to", _set("fields/0/maps_to", _DELETE), "postcode", "'maps_to' is missing"),
    (
        "signature-maps-to",
        _set("fields/2/maps_to", "signature"),
        "signature",
        "cannot be written to a source",
    ),
    ("label-missing-en", _set("fields/0/label", {"fr": "Code"}), "postcode", "no en text"),
    ("label-plain", _set("fields/0/label", "Code postal"), "postcode", "must map each language"),
    ("label-missing", _set("fields/0/label", _DELETE), "postcode", "'label' is missing"),
    ("label-extra-lang", _set("fields/0/label/de", "PLZ"), "postcode", "unknown languages"),
    ("unknown-rule", _set("fields/0/rules", {"max_lenght": 5}), "postcode", "unknown rule"),
    ("rule-pattern-number", _set("fields/0/rules", {"pattern": 5}), "postcode", "'pattern'"),
    ("rule-bad-regex", _set("fields/0/rules", {"pattern": "(["}), "postcode", "regular expr"),
    ("rule-length-text", _set("fields/0/rules", {"max_length": "5"}), "postcode", "whole number"),
    ("rule-bool-length", _set("fields/0/rules", {"max_length": True}), "postcode", "whole number"),
    ("rule-countries", _set("fields/0/rules", {"countries": "FR"}), "postcode", "list of country"),
    ("rule-date-spec", _set("fields/0/rules", {"min_date": "yesterday"}), "postcode", "ISO date"),
    ("rule-tick-text", _set("fields/0/rules", {"must_tick": "yes"}), "postcode", "true or false"),
    ("rules-list", _set("fields/0/rules", ["max_length"]), "postcode", "must be a mapping"),
    ("required-text", _set("fields/0/required", "yes"), "postcode", "true or false"),
    ("choices-missing", _set("fields/1/choices", _DELETE), "channel", "'choices' must list"),
    (
        "choices-duplicate",
        _set("fields/1/choices/1/value", "email"),
        "channel",
        "choice values must be unique",
    ),
    ("choices-on-text", _set("fields/0/choices", [{"value": "x"}]), "postcode", "takes no"),
    ("choice-no-label", _set("fields/1/choices/0/label", _DELETE), "channel", "choice 'email'"),
    ("duplicate-field", _set("fields/1/name", "postcode"), "postcode", "defined twice"),
    (
        "challenge-type",
        _set("challenge/0/type", "checkbox"),
        "challenge.birth_date",
        "challenge type 'checkbox'",
    ),
    (
        "challenge-maps-to",
        _set("challenge/0/maps_to", _DELETE),
        "challenge.birth_date",
        "'maps_to' must name",
    ),
    ("challenge-key", _set("challenge/0/hint", "x"), "challenge.birth_date", "unknown key 'hint'"),
    ("bad-id", _set("id", "Contact Update"), None, "'id' must be lower-case"),
    ("bad-version", _set("version", "1.0"), None, "'version' must be a whole number"),
    ("zero-version", _set("version", 0), None, "'version' must be a whole number"),
    # Probe of issue 18: `version: 1.5` must not be taken as 1.
    ("fractional-version", _set("version", 1.5), None, "'version' must be a whole number"),
    ("float-version", _set("version", 2.0), None, "'version' must be a whole number"),
    ("bool-version", _set("version", True), None, "'version' must be a whole number"),
    ("no-title", _set("title", _DELETE), None, "'title' is missing"),
    ("no-key", _set("key", _DELETE), None, "'key' must name the source column"),
    ("bad-lifetime", _set("link_lifetime_days", 0), None, "'link_lifetime_days'"),
    ("no-fields", _set("fields", []), None, "'fields' must be a non-empty list"),
    ("unknown-form-key", _set("reviewers", 2), None, "unknown key 'reviewers'"),
    ("no-source", _set("source", _DELETE), None, "'source' must give"),
    (
        "unknown-connector",
        _set("source/connector", "erp"),
        None,
        "source connector 'erp' is not configured",
    ),
    ("unknown-record", _set("source/record_type", "contract"), None, "no record type 'contract'"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "field", "problem"), BROKEN, ids=[case[0] for case in BROKEN]
)
def test_broken_definition_names_file_field_and_problem(
    tmp_path: Path,
    case: str,
    mutate: Callable[[dict[str, Any]], None],
    field: str | None,
    problem: str,
) -> None:
    raw = copy.deepcopy(VALID)
    mutate(raw)
    messages = problems_of(tmp_path, case, raw)
    matching = [m for m in messages if problem in m]
    assert matching, f"no message mentions {problem!r}: {messages}"
    message = matching[0]
    assert message.startswith(f"{case}.yaml: ")
    if field is not None:
        assert f"field {field!r}" in message


@pytest.mark.parametrize(
    ("case", "text", "problem"),
    [
        ("not-yaml", "id: x\nfields: [\n  - name: a\n", "cannot be read as YAML"),
        ("a-list", "- id: contact\n", "must be a mapping of keys"),
        ("empty", "", "must be a mapping of keys"),
        ("tabs", "id: x\n\tversion: 1\n", "cannot be read as YAML"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, case: str, text: str, problem: str) -> None:
    (message,) = problems_of(tmp_path, case, text)
    assert message.startswith(f"{case}.yaml: ")
    assert problem in message
    assert "\n" not in message  # one line per problem


def test_a_problem_reads_as_file_field_problem() -> None:
    problem = DefinitionProblem("x.yaml", "iban", "unknown type 'ibn'")
    assert str(problem) == "x.yaml: field 'iban': unknown type 'ibn'"
    assert str(DefinitionProblem("x.yaml", None, "no id")) == "x.yaml: no id"


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    first = copy.deepcopy(VALID)
    first["fields"][0]["type"] = "zipcode"
    first["fields"][1]["policy"] = "never"
    write(tmp_path, "first", first)
    second = copy.deepcopy(VALID)
    second["version"] = "two"
    write(tmp_path, "second", second)
    write(tmp_path, "third", copy.deepcopy(VALID))
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path, connectors=CONNECTORS)
    lines = str(caught.value).splitlines()
    assert len(caught.value.problems) == len(lines) == 3
    assert lines[0].startswith("first.yaml: field 'postcode': unknown type 'zipcode'")
    assert lines[1].startswith("first.yaml: field 'channel': policy 'never'")
    assert lines[2].startswith("second.yaml: 'version'")


def test_the_same_form_id_twice_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a", VALID)
    write(tmp_path, "b", VALID)
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path, connectors=CONNECTORS)
    (problem,) = caught.value.problems
    assert "form id 'address-check' is also used by" in problem.problem
    assert problem.file.endswith("b.yaml")


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such directory"):
        load_definitions(tmp_path / "missing")


def test_sources_are_only_checked_when_connectors_are_given(tmp_path: Path) -> None:
    raw = copy.deepcopy(VALID)
    raw["source"]["connector"] = "erp"
    definition, problems = load_definition(write(tmp_path, "erp", raw))
    assert problems == []
    assert definition is not None
    assert definition.source.connector == "erp"


def test_only_yaml_files_are_read(tmp_path: Path) -> None:
    write(tmp_path, "ok", VALID)
    (tmp_path / "notes.txt").write_text("not a definition")
    (tmp_path / "draft.yml.bak").write_text("id: [")
    assert list(load_definitions(tmp_path, connectors=CONNECTORS)) == ["address-check"]


def test_definitions_check_refuses_a_fractional_version_naming_it(tmp_path: Path) -> None:
    """Probe: `version: 1.5` in a definition must fail `definitions check`, not run as v1."""
    from click.testing import CliRunner

    from forms_service.cli import cli

    folder = tmp_path / "definitions"
    folder.mkdir()
    source = (SHIPPED / "contact-update.yaml").read_text(encoding="utf-8")
    assert "\nversion: 1\n" in source
    (folder / "contact-update.yaml").write_text(
        source.replace("\nversion: 1\n", "\nversion: 1.5\n")
    )
    env = {"FORMS_VAR_DIR": str(tmp_path / "var"), "FORMS_CONFIG": None}
    done = CliRunner().invoke(cli, ["definitions", "check", str(folder)], env=env)
    assert done.exit_code == 1
    assert "error: contact-update.yaml: 'version' must be a whole number from 1" in done.output
    assert "ok:" not in done.output
