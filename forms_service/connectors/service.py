"""Build the configured connectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forms_service.connectors.interfaces import Connector
from forms_service.connectors.rest import RestConnector
from forms_service.connectors.sql import SqlConnector
from forms_service.core.errors import ConfigurationError


def build_connectors(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Connector]:
    """One connector per entry of the CONNECTORS setting."""
    connectors: dict[str, Connector] = {}
    for name, entry in config.items():
        kind = entry.get("type")
        if kind == "sql":
            connectors[name] = SqlConnector(name, entry["url"], entry["record_types"])
        elif kind == "rest":
            connectors[name] = RestConnector(
                name,
                entry["url"],
                entry["record_types"],
                timeout=float(entry.get("timeout", 10)),
                headers=entry.get("headers") or {},
            )
        else:
            raise ConfigurationError(
                f"connector {name!r}: unknown type {kind!r} (known: sql, rest)"
            )
    return connectors
