"""Load and check form definitions; every error names the file, the field and the problem."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forms_service.core.i18n import LOCALES
from forms_service.definitions.attachment import parse_attachment
from forms_service.definitions.consent_fields import parse_field_consent
from forms_service.definitions.fieldtypes import (
    FIELD_TYPES,
    Choice,
    FieldType,
    Rules,
    check_date_spec,
    register_installed_field_types,
)
from forms_service.definitions.mandate import parse_mandate
from forms_service.definitions.messages import parse_message, parse_purpose
from forms_service.definitions.model import (
    CONTACT_CHANNELS,
    ChallengeQuestion,
    Channel,
    ContactMapping,
    FieldDefinition,
    FormDefinition,
    Policy,
    ReminderRules,
    SourceBinding,
)

_ID = re.compile(r"[a-z][a-z0-9-]{1,62}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_FORM_KEYS = frozenset(
    {
        "id",
        "version",
        "title",
        "intro",
        "source",
        "key",
        "fields",
        "link_lifetime_days",
        "challenge",
        "letter",
        "pdf_template",
        "sepa_mandate",
        "attachment",
        "message",
        "purpose",
        "contact",
        "reminders",
    }
)
_FIELD_KEYS = frozenset(
    {
        "name",
        "type",
        "label",
        "help",
        "required",
        "rules",
        "choices",
        "maps_to",
        "policy",
        "channels",
        "pdf_field",
        "autocomplete",
        "confirms",
        "consent",
    }
)
_CHALLENGE_KEYS = frozenset({"name", "type", "label", "maps_to", "rules"})
#: HTML autofill tokens a customer-facing field may use (WCAG 1.3.5, identify input purpose).
_AUTOCOMPLETE = frozenset(
    {
        "off",
        "name",
        "honorific-prefix",
        "given-name",
        "additional-name",
        "family-name",
        "organization",
        "street-address",
        "address-line1",
        "address-line2",
        "address-line3",
        "address-level1",
        "address-level2",
        "country",
        "country-name",
        "postal-code",
        "email",
        "tel",
        "bday",
        "sex",
        "language",
    }
)
#: What each rule's value must be: (accepted Python types, how the problem is told).
_RULE_VALUES: dict[str, tuple[tuple[type, ...], str]] = {
    "min_length": ((int,), "a whole number"),
    "max_length": ((int,), "a whole number"),
    "pattern": ((str,), "a regular expression in quotes"),
    "country": ((str,), "a country code such as FR"),
    "countries": ((list,), "a list of country codes such as [FR, BE]"),
    "country_field": ((str,), "the name of the form's field choosing the country"),
    "region": ((str,), "a country code such as FR"),
    "min_date": ((str, dt.date), "an ISO date, 'today' or 'today-18y'"),
    "max_date": ((str, dt.date), "an ISO date, 'today' or 'today-18y'"),
    "must_tick": ((bool,), "true or false"),
}


@dataclass(frozen=True)
class DefinitionProblem:
    """One thing wrong with a definition file."""

    file: str
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: field {self.field!r}" if self.field else self.file
        return f"{where}: {self.problem}"


class DefinitionError(Exception):
    """One or more definition files are wrong; str() lists every problem on its own line."""

    def __init__(self, problems: Sequence[DefinitionProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


class DefinitionSet(Mapping[str, FormDefinition]):
    """The loaded definitions, by form id."""

    def __init__(self, definitions: Iterable[FormDefinition]) -> None:
        self._by_id = {d.id: d for d in definitions}

    def __getitem__(self, form_id: str) -> FormDefinition:
        return self._by_id[form_id]

    def __iter__(self) -> Any:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[DefinitionProblem] = []

    def add(self, problem: str, field: str | None = None) -> None:
        self.problems.append(DefinitionProblem(self.file, field, problem))


def load_definitions(
    directory: Path, *, connectors: Mapping[str, Iterable[str]] | None = None
) -> DefinitionSet:
    """Load every `*.yaml` of `directory` and check it.

    Args:
        directory: the folder of definition files.
        connectors: configured connector names with their record types; when given, each
            definition's source must name one of them.

    Raises:
        DefinitionError: listing every problem found in every file.
    """
    problems = [
        DefinitionProblem("field types", None, problem)
        for problem in register_installed_field_types()
    ]
    definitions: list[FormDefinition] = []
    if not directory.is_dir():
        raise DefinitionError([DefinitionProblem(str(directory), None, "no such directory")])
    for path in sorted(directory.glob("*.yaml")):
        definition, found = load_definition(path, connectors=connectors)
        problems += found
        if definition is not None:
            definitions.append(definition)
    seen: dict[str, str] = {}
    for definition in definitions:
        if definition.id in seen:
            problems.append(
                DefinitionProblem(
                    definition.path,
                    None,
                    f"form id {definition.id!r} is also used by {seen[definition.id]}",
                )
            )
        seen[definition.id] = definition.path
    if problems:
        raise DefinitionError(problems)
    return DefinitionSet(definitions)


def load_definition(
    path: Path, *, connectors: Mapping[str, Iterable[str]] | None = None
) -> tuple[FormDefinition | None, list[DefinitionProblem]]:
    """Load one file; return the definition (None when unusable) and the problems found."""
    out = _Collector(path.name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        out.add(f"cannot be read as YAML: {exc}".replace("\n", " "))
        return None, out.problems
    if not isinstance(raw, dict):
        out.add("must be a mapping of keys (id, version, title, source, key, fields)")
        return None, out.problems
    definition = _build(raw, out, connectors, str(path))
    return (definition if not out.problems else None), out.problems


def _build(
    raw: dict[str, Any],
    out: _Collector,
    connectors: Mapping[str, Iterable[str]] | None,
    path: str,
) -> FormDefinition | None:
    for key in sorted(set(raw) - _FORM_KEYS):
        out.add(f"unknown key {key!r} (allowed: {', '.join(sorted(_FORM_KEYS))})")
    form_id = raw.get("id")
    if not isinstance(form_id, str) or not _ID.fullmatch(form_id):
        out.add("'id' must be lower-case letters, digits and dashes, e.g. contact-update")
        form_id = "?"
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        out.add("'version' must be a whole number from 1")
        version = 1
    title = _texts(raw.get("title"), out, "title", None, required=True)
    intro = _texts(raw.get("intro"), out, "intro", None, required=False)
    source = _source(raw.get("source"), out, connectors)
    raw_key = raw.get("key")
    key = raw_key if isinstance(raw_key, str) and raw_key else "?"
    if key == "?":
        out.add("'key' must name the source column that identifies a record")
    lifetime = raw.get("link_lifetime_days", 60)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 1 <= lifetime <= 3660:
        out.add("'link_lifetime_days' must be a whole number of days between 1 and 3660")
        lifetime = 60
    raw_fields = raw.get("fields")
    fields: list[FieldDefinition] = []
    if not isinstance(raw_fields, list) or not raw_fields:
        out.add("'fields' must be a non-empty list")
    else:
        names: set[str] = set()
        for index, item in enumerate(raw_fields):
            built = _field(item, index, out)
            if built is None:
                continue
            if built.name in names:
                out.add("is defined twice", built.name)
            names.add(built.name)
            fields.append(built)
        for built in fields:
            if built.confirms is not None and built.confirms not in names:
                out.add(f"'confirms' names {built.confirms!r}, which is not a field", built.name)
            _check_country_field(built, fields, out)
    challenge = _challenge(raw.get("challenge", []), out)
    pdf_template = _pdf_template(raw.get("pdf_template"), out, path)
    mandate = parse_mandate(raw.get("sepa_mandate"), out.add, {f.name for f in fields})
    attachment = parse_attachment(
        raw.get("attachment"),
        out.add,
        {f.name for f in fields},
        lambda value, what, required: _texts(value, out, what, None, required=required),
    )
    message = parse_message(
        raw.get("message"),
        out.add,
        lambda value, what, required: _texts(value, out, what, None, required=required),
    )
    purpose = parse_purpose(raw.get("purpose"), out.add)
    contact = _contact(raw.get("contact"), out)
    reminders = _reminders(raw.get("reminders"), out, [f.name for f in fields])
    if out.problems or source is None:
        return None
    return FormDefinition(
        id=form_id,
        version=version,
        title=title,
        intro=intro,
        source=source,
        key=key,
        fields=tuple(fields),
        link_lifetime_days=lifetime,
        challenge=challenge,
        path=path,
        pdf_template=pdf_template,
        sepa_mandate=mandate,
        attachment=attachment,
        message=message,
        purpose=purpose,
        contact=contact,
        reminders=reminders,
    )


def _texts(
    raw: object, out: _Collector, what: str, field: str | None, *, required: bool
) -> dict[str, str]:
    if raw is None:
        if required:
            out.add(f"'{what}' is missing: give it in {' and '.join(LOCALES)}", field)
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()):
        out.add(f"'{what}' must map each language ({', '.join(LOCALES)}) to a text", field)
        return {}
    missing = [loc for loc in LOCALES if loc not in raw]
    if missing:
        out.add(f"'{what}' has no {', '.join(missing)} text", field)
    unknown = sorted(set(raw) - set(LOCALES))
    if unknown:
        out.add(f"'{what}' has unknown languages {unknown}", field)
    return {str(k): str(v) for k, v in raw.items()}


def _source(
    raw: object, out: _Collector, connectors: Mapping[str, Iterable[str]] | None
) -> SourceBinding | None:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("connector"), str)
        or not isinstance(raw.get("record_type"), str)
    ):
        out.add("'source' must give 'connector' and 'record_type'")
        return None
    binding = SourceBinding(connector=raw["connector"], record_type=raw["record_type"])
    if connectors is not None:
        if binding.connector not in connectors:
            out.add(
                f"source connector {binding.connector!r} is not configured "
                f"(configured: {', '.join(sorted(connectors)) or 'none'})"
            )
        elif binding.record_type not in set(connectors[binding.connector]):
            out.add(f"connector {binding.connector!r} has no record type {binding.record_type!r}")
    return binding


def _field(item: object, index: int, out: _Collector) -> FieldDefinition | None:
    if not isinstance(item, dict):
        out.add(f"fields[{index}] must be a mapping")
        return None
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        out.add(f"fields[{index}] needs a 'name' of lower-case letters, digits and _")
        return None
    for key in sorted(set(item) - _FIELD_KEYS):
        out.add(f"unknown key {key!r} (allowed: {', '.join(sorted(_FIELD_KEYS))})", name)
    type_name = item.get("type")
    if not isinstance(type_name, str) or type_name not in FIELD_TYPES:
        out.add(f"unknown type {type_name!r} (known: {', '.join(sorted(FIELD_TYPES))})", name)
        return None
    label = _texts(item.get("label"), out, "label", name, required=True)
    help_texts = _texts(item.get("help"), out, "help", name, required=False)
    rules = _rules(item.get("rules", {}), out, name)
    for problem in FIELD_TYPES[type_name].rule_problems(rules):
        out.add(problem, name)
    choices = _choices(item.get("choices"), FIELD_TYPES[type_name], out, name)
    policy_raw = item.get("policy", "review")
    try:
        policy = Policy(policy_raw)
    except ValueError:
        out.add(f"policy {policy_raw!r} must be one of auto, review, four_eyes", name)
        policy = Policy.REVIEW
    channels_raw = item.get("channels", [c.value for c in Channel])
    try:
        channels = frozenset(Channel(c) for c in channels_raw)
    except (ValueError, TypeError):
        out.add(f"channels {channels_raw!r} must be a list among online, pdf, paper", name)
        channels = frozenset(Channel)
    maps_to = item.get("maps_to")
    field_type = FIELD_TYPES[type_name]
    if maps_to is not None and not isinstance(maps_to, str):
        out.add("'maps_to' must name a source column", name)
        maps_to = None
    if maps_to and not field_type.writable:
        out.add(f"a {type_name} field cannot be written to a source ('maps_to' must go)", name)
    if not maps_to and field_type.writable:
        out.add("'maps_to' is missing: name the source column this field updates", name)
    autocomplete = item.get("autocomplete")
    if autocomplete is not None and autocomplete not in _AUTOCOMPLETE:
        out.add(
            f"autocomplete {autocomplete!r} is not an HTML autofill token "
            "(e.g. given-name, family-name, address-line1, address-level2, bday)",
            name,
        )
        autocomplete = None
    pdf_field = item.get("pdf_field")
    if pdf_field is not None and (not isinstance(pdf_field, str) or not pdf_field.strip()):
        out.add("'pdf_field' must give the full name of a field of the form's PDF", name)
        pdf_field = None
    required = item.get("required", False)
    if not isinstance(required, bool):
        out.add("'required' must be true or false", name)
        required = False
    confirms = item.get("confirms")
    if confirms is not None and (not isinstance(confirms, str) or confirms == name):
        out.add("'confirms' must name another field of the form (the city, say)", name)
        confirms = None
    if confirms is not None and not field_type.confirmable:
        out.add(f"a {type_name} field cannot be confirmed by another ('confirms' must go)", name)
        confirms = None
    consent = parse_field_consent(item.get("consent"), lambda p: out.add(p, name), field_type)
    return FieldDefinition(
        name=name,
        type_name=type_name,
        label=label,
        help=help_texts,
        required=required,
        rules=rules,
        choices=choices,
        maps_to=maps_to,
        policy=policy,
        channels=channels,
        pdf_field=pdf_field,
        autocomplete=autocomplete,
        confirms=confirms,
        consent=consent,
    )


def _check_country_field(
    built: FieldDefinition, fields: Sequence[FieldDefinition], out: _Collector
) -> None:
    """A `country_field` names a one-answer choice field whose options are in `countries`."""
    name = built.rules.country_field
    if name is None:
        return
    other = next((f for f in fields if f.name == name), None)
    if other is None:
        out.add(f"'country_field' names {name!r}, which is not a field", built.name)
    elif not other.type.takes_choices or other.type.multiple:
        out.add(f"'country_field' {name!r} must be a choice field (one country)", built.name)
    else:
        extra = sorted({c.value.upper() for c in other.choices} - set(built.rules.countries))
        if extra:
            out.add(f"'country_field' {name!r} offers {extra}, not in 'countries'", built.name)


def _rules(raw: object, out: _Collector, name: str) -> Rules:
    if not isinstance(raw, dict):
        out.add("'rules' must be a mapping", name)
        return Rules()
    for key, value in raw.items():
        accepted, wanted = _RULE_VALUES.get(key, ((object,), ""))
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            out.add(f"rule {key!r} must be {wanted}, not {value!r}", name)
            return Rules()
    try:
        rules = Rules.from_mapping(raw)
    except KeyError as exc:
        allowed = ", ".join(sorted(Rules.__dataclass_fields__))
        out.add(f"unknown rule {exc.args[0]!r} (allowed: {allowed})", name)
        return Rules()
    except TypeError as exc:
        out.add(f"rules: {exc}", name)
        return Rules()
    if rules.pattern is not None:
        try:
            re.compile(rules.pattern)
        except re.error as exc:
            out.add(f"rule 'pattern' is not a valid regular expression: {exc}", name)
    for spec in (rules.min_date, rules.max_date):
        if spec is not None:
            try:
                check_date_spec(spec)
            except ValueError:
                out.add(f"date rule {spec!r}: use an ISO date, 'today' or 'today-18y'", name)
    for limit in ("min_length", "max_length"):
        value = getattr(rules, limit)
        if value is not None and (not isinstance(value, int) or value < 0):
            out.add(f"rule {limit!r} must be a whole number", name)
    return rules


def _choices(raw: object, field_type: FieldType, out: _Collector, name: str) -> tuple[Choice, ...]:
    if not field_type.takes_choices:
        if raw is not None:
            out.add(f"a {field_type.name} field takes no 'choices'", name)
        return ()
    if not isinstance(raw, list) or not raw:
        out.add("'choices' must list the options (value and label)", name)
        return ()
    choices = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            out.add("each choice needs a 'value' and a 'label'", name)
            continue
        labels = _texts(
            item.get("label"), out, f"label of choice {item['value']!r}", name, required=True
        )
        choices.append(Choice(value=item["value"], labels=labels))
    values = [c.value for c in choices]
    if len(set(values)) != len(values):
        out.add("choice values must be unique", name)
    return tuple(choices)


def _challenge(raw: object, out: _Collector) -> tuple[ChallengeQuestion, ...]:
    if not isinstance(raw, list):
        out.add("'challenge' must be a list of questions")
        return ()
    questions = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            out.add(f"challenge[{index}] needs a 'name'")
            continue
        name = f"challenge.{item['name']}"
        for key in sorted(set(item) - _CHALLENGE_KEYS):
            out.add(f"unknown key {key!r}", name)
        type_name = item.get("type")
        challengeable = isinstance(type_name, str) and type_name in FIELD_TYPES
        if not challengeable or not FIELD_TYPES[str(type_name)].challengeable:
            out.add(
                f"challenge type {type_name!r} must be a typed value (date, postcode, text…)", name
            )
            continue
        if not isinstance(item.get("maps_to"), str):
            out.add("'maps_to' must name the source column holding the answer", name)
            continue
        questions.append(
            ChallengeQuestion(
                name=item["name"],
                type_name=str(type_name),
                label=_texts(item.get("label"), out, "label", name, required=True),
                maps_to=item["maps_to"],
                rules=_rules(item.get("rules", {}), out, name),
            )
        )
    return tuple(questions)


def _pdf_template(raw: object, out: _Collector, path: str) -> str | None:
    """The form's own PDF, relative to the definition file; it must exist."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        out.add("'pdf_template' must give the path of the form's PDF (relative to this file)")
        return None
    template = (Path(path).parent / raw).resolve()
    if not template.is_file():
        out.add(f"'pdf_template' {raw!r} does not exist (looked for {template})")
        return None
    return str(template)


_CONTACT_KEYS = frozenset(
    {"email", "mobile", "address", "preferred_channel", "opt_in", "locale", "region"}
)


def _column_name(raw: object, out: _Collector, what: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        out.add(f"'contact.{what}' must name a source column")
        return None
    return raw


def _contact(raw: object, out: _Collector) -> ContactMapping | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        out.add("'contact' must map email, mobile, address, preferred_channel, opt_in to columns")
        return None
    for key in sorted(set(raw) - _CONTACT_KEYS):
        out.add(f"unknown key 'contact.{key}' (allowed: {', '.join(sorted(_CONTACT_KEYS))})")
    address = raw.get("address", [])
    if isinstance(address, str):
        address = [address]
    if not isinstance(address, list) or not all(isinstance(a, str) and a for a in address):
        out.add("'contact.address' must list the postal address columns")
        address = []
    opt_in = raw.get("opt_in", {})
    if not isinstance(opt_in, dict) or not all(
        k in CONTACT_CHANNELS and isinstance(v, str) and v for k, v in opt_in.items()
    ):
        out.add(f"'contact.opt_in' must map channels ({', '.join(CONTACT_CHANNELS)}) to columns")
        opt_in = {}
    region = raw.get("region", "FR")
    if not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}", region):
        out.add("'contact.region' must be a country code such as FR")
        region = "FR"
    return ContactMapping(
        email=_column_name(raw.get("email"), out, "email"),
        mobile=_column_name(raw.get("mobile"), out, "mobile"),
        address=tuple(address),
        preferred_channel=_column_name(raw.get("preferred_channel"), out, "preferred_channel"),
        opt_in={str(k): str(v) for k, v in opt_in.items()},
        locale=_column_name(raw.get("locale"), out, "locale"),
        region=region,
    )


def _reminders(raw: object, out: _Collector, fields: Sequence[str]) -> ReminderRules:
    if raw is None:
        return ReminderRules()
    if not isinstance(raw, dict) or set(raw) - {"skip_when_source_confirms"}:
        out.add("'reminders' may only give 'skip_when_source_confirms'")
        return ReminderRules()
    skip = raw.get("skip_when_source_confirms", False)
    if skip is True:
        return ReminderRules(skip_when_source_confirms=tuple(fields))
    if skip is False:
        return ReminderRules()
    if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
        out.add("'reminders.skip_when_source_confirms' must be true, false or a list of fields")
        return ReminderRules()
    unknown = [name for name in skip if name not in fields]
    if unknown:
        out.add(f"'reminders.skip_when_source_confirms' names unknown fields {unknown}")
    return ReminderRules(skip_when_source_confirms=tuple(skip))
