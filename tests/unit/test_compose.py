"""docker/compose.yaml names commands and modules that exist (no Docker engine runs here)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from click.testing import CliRunner

from forms_service.cli import cli

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def test_compose_runs_every_process_of_prod_local() -> None:
    # make prod-local supervises the same processes; the outbox deliverer is the one that
    # retries failed write-backs, so a compose file without it would lose them silently.
    assert {"db", "redis", "migrate", "web", "worker", "outbox"} <= set(_services())


@pytest.mark.parametrize(
    "name",
    [n for n, s in _services().items() if (s.get("command") or [""])[0] == "forms-service"],
)
def test_forms_service_commands_exist(name: str) -> None:
    arguments = _services()[name]["command"][1:]
    options = [i for i, a in enumerate(arguments) if a.startswith("--")]
    command = arguments[: options[0]] if options else arguments
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_worker_names_the_celery_application() -> None:
    command = _services()["worker"]["command"]
    module = command[command.index("-A") + 1]
    assert isinstance(importlib.import_module(module).app, Celery)
