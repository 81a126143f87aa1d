"""The field-type registry: each type defined once, in its own module, for every channel.

A field type is a `FieldType` subclass (base.py) whose attributes and methods answer every
per-type question of the service: parsing and checking, the online control and HTML
attributes, the PDF widget and the value written into an organisation's own PDF, comb cells,
their groups and captions on paper, the check of a value read on paper, whether that check is
a checksum, single or multiple marks. Nothing outside this package compares type names.

To add a type: write its module (a subclass of FieldType) and register an instance with
`register_field_type`, or name the class in your package's `forms_service.field_types` entry
point group, which every process loads with its definitions (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from types import MappingProxyType

from forms_service.definitions.fieldtypes.base import (
    Choice,
    FieldType,
    FieldValueError,
    OnlineControl,
    OptionMarks,
    OptionProblem,
    PairCheck,
    PaperCheck,
    PaperChoice,
    Rules,
    WidgetKind,
    edit_distance,
)
from forms_service.definitions.fieldtypes.date import DATE_CAPTIONS, DateType, check_date_spec
from forms_service.definitions.fieldtypes.iban import IbanType
from forms_service.definitions.fieldtypes.marks import (
    CheckboxType,
    MultipleChoiceType,
    SignatureType,
    SingleChoiceType,
)
from forms_service.definitions.fieldtypes.phone import PhoneType
from forms_service.definitions.fieldtypes.postcode import PostcodeType
from forms_service.definitions.fieldtypes.text import EmailType, TextType

__all__ = [
    "CHOICE_TYPES",
    "DATE_CAPTIONS",
    "FIELD_TYPES",
    "Choice",
    "FieldType",
    "FieldValueError",
    "OnlineControl",
    "OptionMarks",
    "OptionProblem",
    "PairCheck",
    "PaperCheck",
    "PaperChoice",
    "Rules",
    "WidgetKind",
    "check_date_spec",
    "edit_distance",
    "email_address",
    "register_field_type",
    "register_installed_field_types",
    "type_for_acroform",
    "type_named_by",
    "unregister_field_type",
]

_REGISTRY: dict[str, FieldType] = {}
#: Every registered type by name (a read-only view: register with `register_field_type`).
FIELD_TYPES: Mapping[str, FieldType] = MappingProxyType(_REGISTRY)


def register_field_type(field_type: FieldType) -> FieldType:
    """Make a type known to definitions and every channel; returns it.

    Register before the definitions that use it are loaded.

    Raises:
        ValueError: another type already has this name.
    """
    known = _REGISTRY.get(field_type.name)
    if known is not None and type(known) is not type(field_type):
        raise ValueError(f"a field type named {field_type.name!r} is already registered")
    _REGISTRY[field_type.name] = field_type
    return field_type


#: The entry point group of field types shipped by other installed packages.
ENTRY_POINT_GROUP = "forms_service.field_types"


def register_installed_field_types() -> list[str]:
    """Register the types that installed packages name in ENTRY_POINT_GROUP; returns problems.

    Each entry point names a FieldType subclass (or an instance), as in a package's
    pyproject.toml: `[project.entry-points."forms_service.field_types"] siret =
    "acme_types.siret:SiretType"`. Loading again is harmless; a problem (a module that does
    not import, an object that is no field type, a name already taken) is returned as one
    line naming the entry point, and the other types are still registered.
    """
    problems: list[str] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {point.name!r} ({point.value})"
        try:
            loaded = point.load()
        except Exception as exc:  # any import error of a plug-in is reported, not raised
            problems.append(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}")
            continue
        field_type = (
            loaded() if isinstance(loaded, type) and issubclass(loaded, FieldType) else loaded
        )
        if not isinstance(field_type, FieldType):
            problems.append(f"{where}: names no FieldType subclass")
            continue
        try:
            register_field_type(field_type)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def unregister_field_type(name: str) -> None:
    """Forget a registered type (a test's); definitions using it no longer load."""
    _REGISTRY.pop(name, None)


def type_named_by(words: str) -> str | None:
    """The type whose name hint `words` (an imported PDF field's name and tooltip) match."""
    for field_type in FIELD_TYPES.values():
        if field_type.name_hint is not None and field_type.name_hint.search(words):
            return field_type.name
    return None


def type_for_acroform(kind: str, *, multiple: bool = False) -> str:
    """The type an imported AcroForm field of `kind` (a `PdfFieldKind` value) becomes.

    Among the types that take that kind, the one whose `multiple` matches (a list that
    allows several selections), else the first.

    Raises:
        KeyError: no type takes that kind.
    """
    takers = [t for t in FIELD_TYPES.values() if kind in t.acroform_kinds]
    if not takers:
        raise KeyError(kind)
    return next((t for t in takers if t.multiple == multiple), takers[0]).name


# The order is the one in which an imported PDF field's name hints are tried.
for _type in (
    TextType(),
    EmailType(),
    IbanType(),
    PhoneType(),
    PostcodeType(),
    DateType(),
    SingleChoiceType(),
    MultipleChoiceType(),
    CheckboxType(),
    SignatureType(),
):
    register_field_type(_type)

#: The built-in types whose definition must list choices (see FieldType.takes_choices).
CHOICE_TYPES = frozenset(name for name, t in FIELD_TYPES.items() if t.takes_choices)


def email_address(text: str) -> str:
    """An e-mail address typed outside any form field (a receipt's copy), canonical.

    Raises:
        FieldValueError: not an e-mail address (the e-mail type's own check).
    """
    value = _EMAIL.parse(text, Rules(), ())
    if value is None:
        raise FieldValueError("required")
    return value


_EMAIL = EmailType()
