"""Persistence: SQLAlchemy models, sessions, migrations and the file store.

Every table is declared here: model.py (documents, submissions, change sets, the outbox, the
audit log, accounts, PDF returns), scans.py (the mailroom's batches, files, pages and
corrections), events.py (each document's history), shortlinks.py (the short links of SMS
and QR codes, by digest), drafts.py (answers in progress), consent.py (the consent ledger) and
pressure.py (messages counted against the contact caps, channels' bookings). Importing the
package registers them all with `Base.metadata`, so that migrations, the schema check and the
tests see every table whatever else was imported.
"""

from forms_service.storage import (  # noqa: F401 - registers every table
    consent,
    drafts,
    events,
    messages,
    model,
    pressure,
    scans,
    shortlinks,
)
