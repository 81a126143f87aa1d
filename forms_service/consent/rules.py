"""The contact rules (pressure caps, calendars, channel capacity): read and checked at start.

They live beside the definitions, in `<definitions>/consent/contact_rules.yaml` (a folder of
its own: every `*.yaml` at the top is a form). Without the file there are no caps. Every
problem names the file and the line, as a definition problem does; the runtime and
`forms-service definitions check` refuse a file with any.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from forms_service.consent.interfaces import CHANNELS, PURPOSES
from forms_service.definitions.service import DefinitionError, DefinitionProblem

FOLDER = "consent"
FILE = "contact_rules.yaml"
#: Purposes before others when capacity is short: the lower, the earlier.
DEFAULT_PRIORITIES: Mapping[str, int] = {"service": 0, "regulatory": 1, "commercial": 2}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOP_KEYS = {"time_zone", "holidays", "priorities", "caps", "calendars", "capacity"}
_CAP_KEYS = {"id", "purposes", "channels", "counts", "limit", "window_days", "over", "weights"}
_CALENDAR_KEYS = {"id", "purposes", "channels", "days", "hours", "public_holidays", "over"}
_CAPACITY_KEYS = {"channel", "per_day", "per_hour", "expected_return_rate", "scans_per_day"}


class Over(StrEnum):
    """What becomes of a message a rule does not let go now."""

    DEFER = "defer"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class Cap:
    """At most `limit` messages in a rolling `window`, per customer.

    Attributes:
        id: the rule's name, shown in the history (`commercial-3-per-30d`).
        purposes: the purposes of the messages it holds back.
        channels: the channels it holds back (all channels together).
        counts: the purposes of the past messages counted (service and regulatory messages
            do not count against a commercial cap unless listed here).
        limit: the most messages (weights added up) in the window, 1 or more.
        window: the rolling window.
        over: defer to when the window has room again, or suppress.
        weights: channel -> what one message weighs (1 when not given).
        line: the rule's line in the file.
    """

    id: str
    purposes: frozenset[str]
    channels: frozenset[str]
    counts: frozenset[str]
    limit: int
    window: dt.timedelta
    over: Over = Over.DEFER
    weights: Mapping[str, int] = field(default_factory=dict)
    line: int = 0

    def holds(self, purpose: str, channel: str) -> bool:
        """Whether a message of `purpose` on `channel` is limited by this cap."""
        return purpose in self.purposes and channel in self.channels

    def counted(self, purpose: str, channel: str) -> bool:
        """Whether a past message of `purpose` on `channel` counts against this cap."""
        return purpose in self.counts and channel in self.channels

    def weight(self, channel: str) -> int:
        """What one message on `channel` weighs."""
        return self.weights.get(channel, 1)

    def describe(self) -> str:
        """`commercial 3/30d`: the rule in a few characters (the history's detail)."""
        return f"{'+'.join(sorted(self.purposes))} {self.limit}/{self.window.days}d"


@dataclass(frozen=True)
class Calendar:
    """When messages of some purposes and channels may go (in the rules' time zone).

    Attributes:
        days: the weekdays allowed (0 Monday ... 6 Sunday).
        hours: the allowed times of day, as (start, end) minutes since midnight.
        public_holidays: whether they may go on public holidays.
    """

    id: str
    purposes: frozenset[str]
    channels: frozenset[str]
    days: frozenset[int]
    hours: tuple[tuple[int, int], ...]
    public_holidays: bool = False
    over: Over = Over.DEFER
    line: int = 0

    def holds(self, purpose: str, channel: str) -> bool:
        """Whether this calendar governs a message of `purpose` on `channel`."""
        return purpose in self.purposes and channel in self.channels


@dataclass(frozen=True)
class Capacity:
    """How many messages a channel takes per day and per hour (None: no limit)."""

    channel: str
    per_day: int | None = None
    per_hour: int | None = None
    line: int = 0


@dataclass(frozen=True)
class ContactRules:
    """Every contact rule, checked; `NO_RULES` when the file does not exist."""

    time_zone: zoneinfo.ZoneInfo
    holiday_country: str | None = None
    priorities: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    caps: tuple[Cap, ...] = ()
    calendars: tuple[Calendar, ...] = ()
    capacity: Mapping[str, Capacity] = field(default_factory=dict)
    path: str = ""

    @property
    def longest_window(self) -> dt.timedelta:
        """How far back the pressure counts must read."""
        return max((cap.window for cap in self.caps), default=dt.timedelta(0))

    def priority(self, purpose: str) -> int:
        """The purpose's rank when capacity is short (lower goes first)."""
        return self.priorities.get(purpose, len(PURPOSES))


NO_RULES = ContactRules(time_zone=zoneinfo.ZoneInfo("UTC"))


class _Marked(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _MarkedList(list[Any]):
    line: int = 0


class _Loader(yaml.SafeLoader):
    """A safe loader whose mappings and lists know their lines."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> _Marked:
    loader.flatten_mapping(node)
    out = _Marked()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> _MarkedList:
    out = _MarkedList(loader.construct_sequence(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[DefinitionProblem] = []

    def add(self, line: int, problem: str) -> None:
        self.found.append(DefinitionProblem(f"{self.name}, line {line}", None, problem))


def rules_path(definitions_dir: Path) -> Path:
    """Where the contact rules of a definitions folder are."""
    return definitions_dir / FOLDER / FILE


def load_contact_rules(definitions_dir: Path) -> ContactRules:
    """Read and check the contact rules beside the definitions (`NO_RULES` without a file).

    Raises:
        DefinitionError: every problem, each naming the file and the line.
    """
    path = rules_path(definitions_dir)
    if not path.is_file():
        return NO_RULES
    return parse_contact_rules(path.read_text(encoding="utf-8"), f"{FOLDER}/{FILE}")


def parse_contact_rules(text: str, name: str) -> ContactRules:
    """The rules of one file's text; DefinitionError naming `name` and the lines."""
    out = _Problems(name)
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        out.add(mark.line + 1 if mark else 1, f"cannot be read as YAML: {exc}".replace("\n", " "))
        raise DefinitionError(out.found) from exc
    if not isinstance(raw, _Marked):
        out.add(1, "must be a mapping (time_zone, caps, calendars, capacity)")
        raise DefinitionError(out.found)
    for key in sorted(set(raw) - _TOP_KEYS):
        out.add(
            raw.key_lines[key], f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    zone = _zone(raw, out)
    country = raw.get("holidays")
    if country is not None and not _known_country(country):
        out.add(raw.key_lines["holidays"], f"'holidays' {country!r} is not a country code (FR)")
        country = None
    priorities = _priorities(raw, out)
    caps = tuple(_cap(item, out) for item in _items(raw, "caps", out))
    calendars = tuple(_calendar(item, out) for item in _items(raw, "calendars", out))
    capacity: dict[str, Capacity] = {}
    for item in _items(raw, "capacity", out):
        entry = _capacity(item, out)
        if entry is None:
            continue
        if entry.channel in capacity:
            out.add(
                entry.line,
                f"overlapping rules: the capacity of {entry.channel!r} is also given on line "
                f"{capacity[entry.channel].line}",
            )
        capacity[entry.channel] = entry
    _overlaps([c for c in caps if c is not None], [c for c in calendars if c is not None], out)
    if out.found:
        raise DefinitionError(out.found)
    return ContactRules(
        time_zone=zone or zoneinfo.ZoneInfo("UTC"),
        holiday_country=country,
        priorities=priorities,
        caps=tuple(c for c in caps if c is not None),
        calendars=tuple(c for c in calendars if c is not None),
        capacity=capacity,
        path=name,
    )


def _zone(raw: _Marked, out: _Problems) -> zoneinfo.ZoneInfo | None:
    name = raw.get("time_zone")
    if name is None:
        out.add(raw.line, "'time_zone' is missing: give the customers' zone, e.g. Europe/Paris")
        return None
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        out.add(raw.key_lines["time_zone"], f"'time_zone' {name!r} is not a known time zone")
        return None


def _known_country(code: object) -> bool:
    import holidays

    return isinstance(code, str) and code in holidays.list_supported_countries()


def _priorities(raw: _Marked, out: _Problems) -> dict[str, int]:
    given = raw.get("priorities")
    if given is None:
        return dict(DEFAULT_PRIORITIES)
    if not isinstance(given, _Marked):
        out.add(raw.key_lines["priorities"], "'priorities' maps purposes to ranks (0 first)")
        return dict(DEFAULT_PRIORITIES)
    ranks = dict(DEFAULT_PRIORITIES)
    for purpose, rank in given.items():
        if purpose not in PURPOSES:
            out.add(given.key_lines[purpose], _unknown("purpose", purpose, PURPOSES))
        elif not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
            out.add(given.key_lines[purpose], f"the rank of {purpose!r} must be 0 or more")
        else:
            ranks[purpose] = rank
    return ranks


def _items(raw: _Marked, key: str, out: _Problems) -> list[_Marked]:
    items = raw.get(key)
    if items is None:
        return []
    if not isinstance(items, _MarkedList):
        out.add(raw.key_lines[key], f"'{key}' must be a list of rules")
        return []
    good = []
    for item in items:
        if isinstance(item, _Marked):
            good.append(item)
        else:
            out.add(items.line, f"each entry of '{key}' must be a mapping, not {item!r}")
    return good


def _unknown(kind: str, value: object, allowed: tuple[str, ...]) -> str:
    return f"unknown {kind} {value!r} (known: {', '.join(allowed)})"


def _names(
    item: _Marked, key: str, allowed: tuple[str, ...], kind: str, out: _Problems
) -> frozenset[str] | None:
    value = item.get(key)
    line = item.key_lines.get(key, item.line)
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        out.add(line, f"'{key}' must be a list of {kind}s")
        return frozenset()
    for name in values:
        if name not in allowed:
            out.add(line, _unknown(kind, name, allowed))
    return frozenset(str(v) for v in values if v in allowed)


def _common(item: _Marked, keys: set[str], out: _Problems) -> tuple[str, Over]:
    for key in sorted(set(item) - keys):
        out.add(item.key_lines[key], f"unknown key {key!r} (allowed: {', '.join(sorted(keys))})")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        out.add(item.line, "each rule needs an 'id' of lower-case letters, digits and dashes")
        rule_id = "?"
    over = item.get("over", Over.DEFER.value)
    if over not in {o.value for o in Over}:
        out.add(item.key_lines.get("over", item.line), "'over' must be defer or suppress")
        over = Over.DEFER.value
    return rule_id, Over(over)


def _cap(item: _Marked, out: _Problems) -> Cap | None:
    rule_id, over = _common(item, _CAP_KEYS, out)
    purposes = _names(item, "purposes", PURPOSES, "purpose", out)
    if purposes is None:
        out.add(item.line, f"cap {rule_id!r} needs 'purposes'")
        purposes = frozenset()
    channels = _names(item, "channels", CHANNELS, "channel", out) or frozenset(CHANNELS)
    counts = _names(item, "counts", PURPOSES, "purpose", out) or purposes
    limit = item.get("limit")
    line = item.key_lines.get("limit", item.line)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        out.add(
            line,
            f"cap {rule_id!r}: 'limit' must be 1 or more, not {limit!r} (to send nothing, "
            "withdraw the consent or leave the channel out of the campaign)",
        )
        limit = 0
    days = item.get("window_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        out.add(
            item.key_lines.get("window_days", item.line),
            f"cap {rule_id!r}: 'window_days' must be 1 to 366 days",
        )
        days = 0
    weights: dict[str, int] = {}
    given = item.get("weights")
    if given is None:
        given = _Marked()
        given.key_lines = {}
    elif not isinstance(given, _Marked):
        out.add(item.key_lines.get("weights", item.line), "'weights' maps channels to numbers")
        given = _Marked()
        given.key_lines = {}
    for channel, weight in given.items():
        if channel not in CHANNELS:
            out.add(given.key_lines[channel], _unknown("channel", channel, CHANNELS))
        elif not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            out.add(given.key_lines[channel], f"the weight of {channel!r} must be 1 or more")
        else:
            weights[channel] = weight
    if not purposes or limit < 1 or days < 1:
        return None
    return Cap(
        id=rule_id,
        purposes=purposes,
        channels=channels,
        counts=counts | purposes,
        limit=limit,
        window=dt.timedelta(days=days),
        over=over,
        weights=weights,
        line=item.line,
    )


def _calendar(item: _Marked, out: _Problems) -> Calendar | None:
    rule_id, over = _common(item, _CALENDAR_KEYS, out)
    purposes = _names(item, "purposes", PURPOSES, "purpose", out)
    if purposes is None:
        out.add(item.line, f"calendar {rule_id!r} needs 'purposes'")
        purposes = frozenset()
    channels = _names(item, "channels", CHANNELS, "channel", out) or frozenset(CHANNELS)
    days = _names(item, "days", _DAYS, "day", out)
    hours: list[tuple[int, int]] = []
    raw_hours = item.get("hours", ["00:00-24:00"])
    line = item.key_lines.get("hours", item.line)
    for text in raw_hours if isinstance(raw_hours, list) else [raw_hours]:
        match = _HOURS.fullmatch(str(text))
        start = int(match[1]) * 60 + int(match[2]) if match else 0
        end = int(match[3]) * 60 + int(match[4]) if match else 0
        if not match or start >= end or end > 24 * 60:
            out.add(line, f"calendar {rule_id!r}: hours {text!r} must read like 08:00-20:00")
            continue
        hours.append((start, end))
    public_holidays = item.get("public_holidays", False)
    if not isinstance(public_holidays, bool):
        out.add(item.key_lines.get("public_holidays", item.line), "'public_holidays' is true/false")
        public_holidays = False
    if not purposes or not hours:
        return None
    return Calendar(
        id=rule_id,
        purposes=purposes,
        channels=channels,
        days=frozenset(_DAYS.index(d) for d in days) if days else frozenset(range(7)),
        hours=tuple(sorted(hours)),
        public_holidays=public_holidays,
        over=over,
        line=item.line,
    )


def _capacity(item: _Marked, out: _Problems) -> Capacity | None:
    for key in sorted(set(item) - _CAPACITY_KEYS):
        out.add(
            item.key_lines[key],
            f"unknown key {key!r} (allowed: {', '.join(sorted(_CAPACITY_KEYS))})",
        )
    channel = item.get("channel")
    if channel not in CHANNELS:
        out.add(item.key_lines.get("channel", item.line), _unknown("channel", channel, CHANNELS))
        return None
    limits: dict[str, int | None] = {}
    for key in ("per_day", "per_hour", "scans_per_day"):
        value = item.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            out.add(item.key_lines[key], f"capacity of {channel!r}: '{key}' must be 1 or more")
            value = None
        limits[key] = value
    rate = item.get("expected_return_rate")
    per_day = limits["per_day"]
    if limits["scans_per_day"] is not None:
        # The mailroom scans so many returns a day: letters beyond what it can take back
        # wait for the next days.
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1:
            out.add(
                item.key_lines.get("expected_return_rate", item.line),
                f"capacity of {channel!r}: 'expected_return_rate' (0 to 1) goes with "
                "'scans_per_day'",
            )
        else:
            by_returns = int(limits["scans_per_day"] / rate)
            per_day = by_returns if per_day is None else min(per_day, by_returns)
    if per_day is None and limits["per_hour"] is None:
        out.add(item.line, f"capacity of {channel!r} gives no 'per_day' nor 'per_hour'")
        return None
    return Capacity(channel=channel, per_day=per_day, per_hour=limits["per_hour"], line=item.line)


def _overlaps(caps: list[Cap], calendars: list[Calendar], out: _Problems) -> None:
    """Two caps on the same purpose, channel and window, or two calendars on one pair."""
    for index, cap in enumerate(caps):
        for other in caps[:index]:
            shared = (cap.purposes & other.purposes) and (cap.channels & other.channels)
            if shared and cap.window == other.window:
                out.add(
                    cap.line,
                    f"overlapping rules: cap {cap.id!r} and cap {other.id!r} (line {other.line}) "
                    f"both limit {_pairs(cap.purposes & other.purposes, cap.channels & other.channels)} "
                    f"over {cap.window.days} days",
                )
    for index, calendar in enumerate(calendars):
        for other_calendar in calendars[:index]:
            purposes = calendar.purposes & other_calendar.purposes
            channels = calendar.channels & other_calendar.channels
            if purposes and channels:
                out.add(
                    calendar.line,
                    f"overlapping rules: calendar {calendar.id!r} and calendar "
                    f"{other_calendar.id!r} (line {other_calendar.line}) both govern "
                    f"{_pairs(purposes, channels)}",
                )


def _pairs(purposes: frozenset[str], channels: frozenset[str]) -> str:
    return f"{'/'.join(sorted(purposes))} on {'/'.join(sorted(channels))}"
