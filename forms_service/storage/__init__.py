"""Persistence: SQLAlchemy models, sessions, migrations and the file store.

Every table is declared here: model.py (documents, submissions, change sets, the outbox, the
audit log, accounts, PDF returns), scans.py (the mailroom's batches, files, pages and
corrections) and events.py (each document's history). Importing the package registers them
all with `Base.metadata`, so that migrations, the schema check and the tests see every table
whatever else was imported.
"""

from forms_service.storage import events, messages, model, scans  # noqa: F401 - registers every table
