"""The source's opt-in columns read into the ledger, and the two compared both ways.

`import_opt_ins` streams a form's records a batch at a time and, for each opt-in column of its
`contact:` section: a customer the ledger knows nothing about gets an `import` event (the
column's value, at the time of the import, wording unknown); one whose ledger state agrees
gets nothing; one who disagrees is counted, and settled when asked: `prefer="ledger"` writes
the ledger's state to the source (the ledger holds the evidence), `prefer="crm"` records the
source's value as a new event. Customers the ledger holds but the source no longer has are
counted, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from forms_service.connectors.interfaces import Connector, Selection
from forms_service.consent.customers import Customer
from forms_service.consent.interfaces import ConsentState
from forms_service.consent.ledger import ConsentEntry, ConsentLedger, Source
from forms_service.consent.service import ConsentService, WriteBack, is_true
from forms_service.core.clock import Clock, utc_now
from forms_service.core.errors import InvalidInput
from forms_service.definitions.model import FormDefinition
from forms_service.storage.consent import ConsentStateRow

#: Records read per connector query (and written per transaction).
IMPORT_BATCH = 500
Prefer = Literal["crm", "ledger"] | None


@dataclass
class ImportReport:
    """What an import found, per outcome (summed over the opt-in columns)."""

    records: int = 0
    imported: int = 0
    agreed: int = 0
    disagreed: int = 0
    blank: int = 0
    written_to_source: int = 0
    recorded_from_source: int = 0
    not_in_source: int = 0
    per_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, channel: str, outcome: str) -> None:
        """Add one to an outcome, overall and for the channel."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        counts = self.per_channel.setdefault(channel, {})
        counts[outcome] = counts.get(outcome, 0) + 1


def import_opt_ins(
    sessions: sessionmaker[Session],
    ledger: ConsentLedger,
    consents: ConsentService,
    definition: FormDefinition,
    connector: Connector,
    *,
    purpose: str = "commercial",
    prefer: Prefer = None,
    clock: Clock = utc_now,
    batch: int = IMPORT_BATCH,
) -> ImportReport:
    """Read the opt-in columns of `definition`'s records into the ledger (see the module)."""
    contact = definition.contact
    if contact is None or not contact.opt_in:
        raise InvalidInput(
            f"form {definition.id!r} maps no opt-in column (contact.opt_in)", field="form"
        )
    source = definition.source
    report = ImportReport()
    seen: set[str] = set()
    keys = connector.keys(source.record_type, Selection(all=True))
    for chunk in _chunks(keys, batch):
        records = connector.read_many(source.record_type, chunk)
        report.records += len(records)
        customers = {key: Customer(source.connector, source.record_type, key) for key in records}
        seen.update(c.key for c in customers.values())
        now = clock()
        entries: list[ConsentEntry] = []
        repairs: list[tuple[Customer, str, ConsentState, Mapping[str, Any]]] = []
        with sessions() as session, session.begin():
            for channel, column in contact.opt_in.items():
                held = ledger.states(session, [c.key for c in customers.values()], purpose, channel)
                for key, record in records.items():
                    customer = customers[key]
                    value = record.get(column)
                    if value is None or value == "":
                        report.count(channel, "blank")
                        continue
                    crm = ConsentState.GRANTED if is_true(value) else ConsentState.WITHDRAWN
                    ledger_state = held.get(customer.key)
                    entry = ConsentEntry(
                        customer=customer.key,
                        purpose=purpose,
                        channel=channel,
                        state=crm,
                        at=now,
                        source=Source.IMPORT,
                        via="crm",
                        detail={"form": definition.id, "column": column},
                    )
                    if ledger_state is None:
                        entries.append(entry)
                        report.count(channel, "imported")
                    elif ledger_state is crm:
                        report.count(channel, "agreed")
                    else:
                        report.count(channel, "disagreed")
                        if prefer == "crm":
                            entries.append(entry)
                            report.count(channel, "recorded_from_source")
                        elif prefer == "ledger":
                            repairs.append((customer, channel, ledger_state, record))
            ledger.record(session, entries)
        for customer, channel, state, record in repairs:
            if consents.write_back(customer, purpose, channel, state, record) == WriteBack.WRITTEN:
                report.count(channel, "written_to_source")
    report.not_in_source = _ledger_only(sessions, f"{source.connector}/{source.record_type}/", seen)
    return report


def _ledger_only(sessions: sessionmaker[Session], prefix: str, seen: set[str]) -> int:
    """Customers of the source the ledger holds states of and the source did not list."""
    with sessions() as session:
        held = session.scalars(
            select(ConsentStateRow.customer)
            .where(ConsentStateRow.customer.startswith(prefix, autoescape=True))
            .distinct()
        )
        return sum(1 for customer in held if customer not in seen)


def _chunks(keys: Iterator[str], size: int) -> Iterator[Sequence[str]]:
    while chunk := list(islice(keys, size)):
        yield chunk
