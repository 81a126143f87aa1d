"""Issuing documents: snapshots, signed links, references."""
