"""Form definitions as immutable values, read from form_definitions/*.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from forms_service.core.i18n import pick
from forms_service.definitions.attachment import Attachment
from forms_service.definitions.consent_fields import FieldConsent
from forms_service.definitions.fieldtypes import (
    FIELD_TYPES,
    Choice,
    FieldType,
    FieldValueError,
    PairCheck,
    PaperCheck,
    Rules,
)
from forms_service.definitions.mandate import SepaMandate
from forms_service.definitions.messages import MessagePurpose, MessageTemplate


class Policy(StrEnum):
    """Who must look at a change before it reaches the source."""

    AUTO = "auto"
    REVIEW = "review"
    FOUR_EYES = "four_eyes"


class Channel(StrEnum):
    """The ways a customer can answer."""

    ONLINE = "online"
    PDF = "pdf"
    PAPER = "paper"


Texts = Mapping[str, str]


@dataclass(frozen=True)
class FieldDefinition:
    """One field of a form."""

    name: str
    type_name: str
    label: Texts
    help: Texts = field(default_factory=dict)
    required: bool = False
    rules: Rules = field(default_factory=Rules)
    choices: tuple[Choice, ...] = ()
    maps_to: str | None = None
    policy: Policy = Policy.REVIEW
    channels: frozenset[Channel] = frozenset(Channel)
    #: The fully qualified AcroForm field name in the form's own PDF (`pdf_template`).
    pdf_field: str | None = None
    #: The HTML autocomplete token (address-line1, family-name…) that lets browsers fill it.
    autocomplete: str | None = None
    #: The field whose value, read beside this one, confirms it (a postcode's city).
    confirms: str | None = None
    #: The consent its answer gives or withdraws (`consent:`), written to the ledger.
    consent: FieldConsent | None = None

    @property
    def type(self) -> FieldType:
        """The registry entry of this field's type."""
        return FIELD_TYPES[self.type_name]

    def parse(self, raw: object) -> str | None:
        """Canonical value of raw input; raises FieldValueError."""
        return self.type.parse(raw, self.rules, self.choices)

    def consent_wording(self, locale: str) -> str:
        """The text a customer agrees to by ticking the field: its label, then its help."""
        return "\n".join(t for t in (self.label_in(locale), self.help_in(locale)) if t)

    def parse_answer(self, raw: object, shown: str | None, country: object = None) -> str | None:
        """Canonical value of an answer to a form that showed `shown`; raises FieldValueError.

        A stored value this type refuses (a dirty source value) is kept when it comes back
        untouched: the customer is not blocked by a value they did not change, and an
        unchanged value is no change to review. `country` is the same answer's value of the
        rules' `country_field` (a postcode is then checked against that country alone).
        """
        if self.type.masked and shown is not None and (raw is None or raw == ""):
            return shown  # the box of a masked value starts empty: empty keeps it
        rules = self.type.in_country(self.rules, country)
        try:
            return self.type.parse(raw, rules, self.choices)
        except FieldValueError:
            if self.type.is_shown(raw, shown, self.choices):
                return shown
            raise

    def display(self, value: str | None, locale: str) -> str:
        """A canonical value as a person reads it."""
        return self.type.display(value, locale, self.choices)

    def customer_display(self, value: str | None, locale: str) -> str:
        """A canonical value as a customer may see it (bank details masked)."""
        return self.type.masked_display(value, locale, self.choices)

    def paper_check(self) -> PaperCheck | None:
        """The check of this field's values read on paper (its type's, with its rules)."""
        return self.type.paper_check(self.rules, self.choices)

    def pair_check(self) -> PairCheck | None:
        """The check of this field against the one it `confirms`, when it names one."""
        if self.confirms is None:
            return None
        return PairCheck(self.type, self.name, self.confirms)

    def label_in(self, locale: str) -> str:
        """The label in `locale`."""
        return pick(self.label, locale)

    def help_in(self, locale: str) -> str:
        """The help text in `locale` (empty when none)."""
        return pick(self.help, locale) if self.help else ""

    def same(self, a: str | None, b: str | None) -> bool:
        """Whether two canonical values are the same answer."""
        return self.type.comparison_key(a) == self.type.comparison_key(b)


@dataclass(frozen=True)
class ChallengeQuestion:
    """A question asked before personal data is shown, answered from the source record."""

    name: str
    type_name: str
    label: Texts
    maps_to: str
    rules: Rules = field(default_factory=Rules)

    @property
    def type(self) -> FieldType:
        """The registry entry of this question's type."""
        return FIELD_TYPES[self.type_name]

    def parse(self, raw: object) -> str | None:
        """Canonical value of an answer; raises FieldValueError."""
        return self.type.parse(raw, self.rules, ())


@dataclass(frozen=True)
class SourceBinding:
    """Where a form's records live: a configured connector and one of its record types."""

    connector: str
    record_type: str


#: The outbound channels a contact mapping can make usable (delivery's Channel values).
CONTACT_CHANNELS = ("email", "sms", "letter")


@dataclass(frozen=True)
class ContactMapping:
    """The source columns delivery reads to reach a customer (the `contact:` section).

    Attributes:
        email: the e-mail address column.
        mobile: the mobile phone column (read in `region` when not in E.164).
        address: the postal address columns that must all be filled for a letter.
        preferred_channel: the column naming the customer's preferred channel (email, sms,
            letter; `post`, `paper` and `mail` are read as letter).
        opt_in: channel -> the boolean column saying the customer accepts that channel.
        locale: the column giving the customer's language (fr, en); French when none.
        region: the country a national phone number is read in.
    """

    email: str | None = None
    mobile: str | None = None
    address: tuple[str, ...] = ()
    preferred_channel: str | None = None
    opt_in: Mapping[str, str] = field(default_factory=dict)
    locale: str | None = None
    region: str = "FR"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column the mapping reads."""
        named = [self.email, self.mobile, *self.address, self.preferred_channel, self.locale]
        named += list(self.opt_in.values())
        return tuple(dict.fromkeys(c for c in named if c))


@dataclass(frozen=True)
class ReminderRules:
    """What stops a reminder besides an answer (the `reminders:` section).

    Attributes:
        skip_when_source_confirms: the fields whose source values, once every one is filled
            and one of them differs from the document's snapshot, mean the source has been
            confirmed elsewhere since the document was issued: no reminder then.
    """

    skip_when_source_confirms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormDefinition:
    """A whole form, as loaded from one YAML file."""

    id: str
    version: int
    title: Texts
    source: SourceBinding
    key: str
    fields: tuple[FieldDefinition, ...]
    intro: Texts = field(default_factory=dict)
    link_lifetime_days: int = 60
    challenge: tuple[ChallengeQuestion, ...] = ()
    path: str = ""
    #: An organisation's own fillable PDF, issued prefilled and read back (absolute path).
    pdf_template: str | None = None
    #: The SEPA mandate its agreement box signs, shown whole before it (definitions/mandate.py).
    sepa_mandate: SepaMandate | None = None
    #: The document the customer may attach beside a field (definitions/attachment.py).
    attachment: Attachment | None = None
    #: The message its documents are sent with (e-mail, SMS; `message:`), None when none.
    message: MessageTemplate | None = None
    #: Why its messages are sent (`purpose:`): service messages carry no unsubscribe link.
    purpose: MessagePurpose = MessagePurpose.SERVICE
    #: Where delivery finds the customer's e-mail, mobile, address and choices (None: the
    #: form is only printed).
    contact: ContactMapping | None = None
    reminders: ReminderRules = field(default_factory=ReminderRules)

    def title_in(self, locale: str) -> str:
        """The title in `locale`."""
        return pick(self.title, locale)

    def intro_in(self, locale: str) -> str:
        """The introduction in `locale` (empty when none)."""
        return pick(self.intro, locale) if self.intro else ""

    def field(self, name: str) -> FieldDefinition:
        """The field called `name`; KeyError when there is none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def pdf_name(self, field_name: str) -> str:
        """The AcroForm field name that carries `field_name` in this form's PDF."""
        return self.field(field_name).pdf_field or field_name

    def fields_for(self, channel: Channel) -> tuple[FieldDefinition, ...]:
        """The fields a channel shows, in definition order."""
        return tuple(f for f in self.fields if channel in f.channels)

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every source column the form reads: mapped fields, then challenge answers."""
        columns = [f.maps_to for f in self.fields if f.maps_to]
        columns += [q.maps_to for q in self.challenge if q.maps_to not in columns]
        return tuple(columns)
