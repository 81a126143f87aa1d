"""The demo: a fake CRM, demo accounts and documents, for `make run`."""
