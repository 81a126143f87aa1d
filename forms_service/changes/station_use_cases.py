"""The verification station's use cases of a change service: its reading, choices, one key.

A part of `ChangeService` (service.py), kept apart to keep each module readable: these
methods use only what `_Reviewing` names of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from forms_service.changes import choices
from forms_service.changes.model import VALID, ChangeSetView, Reviewer, StaleChangeSet, error_kind
from forms_service.changes.policy import PolicySettings
from forms_service.changes.station import Station, station_of
from forms_service.connectors.interfaces import Connector
from forms_service.definitions.model import FormDefinition
from forms_service.storage.model import ChangeSet

log = logging.getLogger(__name__)

#: One review step (`choices.Step`) as the service's `_decide` runs it.
_Act = Callable[[Session, ChangeSet, FormDefinition, dt.datetime, Reviewer], None]


class _Reviewing(Protocol):
    """What these use cases need of the change service."""

    sessions: sessionmaker[Session]
    policy: PolicySettings

    def change_set(self, change_set_id: str, *, locale: str = "fr") -> ChangeSetView: ...

    def station(
        self,
        view: ChangeSetView,
        *,
        locale: str = "fr",
        editors: Mapping[str, str] | None = None,
    ) -> Station: ...

    def _decide(
        self, change_set_id: str, version: int, actor: str | Reviewer, act: _Act
    ) -> ChangeSetView: ...

    def _definition(self, form_id: str) -> FormDefinition: ...

    def _source_of(self, definition: FormDefinition) -> Connector: ...


class StationUseCases:
    """The station's reading of a change set, conflicts settled by a choice, valid lines."""

    def approve_valid(
        self: _Reviewing,
        change_set_id: str,
        *,
        actor: str | Reviewer,
        version: int,
        locale: str = "fr",
    ) -> ChangeSetView:
        """Accept the lines still waiting that are valid and pass every check (one key).

        What the station shows as needing a look stays waiting: an invalid or unread value,
        a failed cross-field check (a postcode its city contradicts), a conflict to settle.

        Raises:
            InvalidTransition: no such line waits for this person.
            StaleChangeSet: as for `accept`.
        """
        view = self.change_set(change_set_id, locale=locale)
        if view.version != version:
            raise StaleChangeSet(
                "this change set was changed by someone else: reload it", field="version"
            )
        lines = self.station(view, locale=locale).lines
        valid = [
            row.field
            for row in view.rows
            if row.field in lines
            and lines[row.field].approvable
            and row.verdict in (None, VALID)
            and row.proposed is not None
        ]
        return self._decide(change_set_id, version, actor, choices.approve_lines(valid))

    def take_answer(
        self: _Reviewing,
        change_set_id: str,
        field: str,
        *,
        reason: str,
        actor: str | Reviewer,
        version: int,
    ) -> ChangeSetView:
        """Settle a conflict: the answer wins over the source's newer value, for `reason`.

        Raises:
            ReasonRequired: no reason given (nothing changes).
            InvalidTransition: the line is not a conflict waiting for a decision.
            StaleChangeSet, SecondReviewerRequired, InvalidInput: as for `accept`.
        """
        return self._decide(change_set_id, version, actor, choices.take_answer(field, reason))

    def keep_source(
        self: _Reviewing,
        change_set_id: str,
        field: str,
        *,
        actor: str | Reviewer,
        version: int,
        reason: str = "",
    ) -> ChangeSetView:
        """Settle a conflict: the source keeps the value it holds now.

        Raises:
            InvalidTransition: the line is not a conflict waiting for a decision.
            StaleChangeSet: as for `accept`.
        """
        return self._decide(change_set_id, version, actor, choices.keep_source(field, reason))

    def station(
        self: _Reviewing,
        view: ChangeSetView,
        *,
        locale: str = "fr",
        editors: Mapping[str, str] | None = None,
    ) -> Station:
        """The verification station of a change set: customer, other fields, checks per line.

        Reads the live record for the customer's name and the fields left as they are;
        a source that cannot be read now shows the snapshot the customer saw instead.
        """
        definition = self._definition(view.form_id)
        try:
            source = self._source_of(definition).read(
                definition.source.record_type, view.record_key
            )
        except Exception as exc:  # the station still shows what it knows
            log.warning("cannot read the source for the station now (%s)", error_kind(exc))
            source = None
        return station_of(
            definition,
            view.rows,
            view.record_key,
            view.snapshot,
            source,
            locale=locale,
            editors=editors,
            review_below=self.policy.auto_apply_min_confidence,
        )
