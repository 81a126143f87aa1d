"""Persistence: SQLAlchemy models, sessions, migrations and the file store."""
