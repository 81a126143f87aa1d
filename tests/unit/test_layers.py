"""The import contracts of pyproject.toml hold on the tree, and each one catches its breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `tree`, with the contracts of its pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _python_only(directory: str, names: list[str]) -> list[str]:
    """shutil.copytree's ignore: keep folders and Python files (what the import graph reads)."""
    return [n for n in names if n == "__pycache__" or (not n.endswith(".py") and "." in n)] + [
        n for n in names if not n.endswith(".py") and not Path(directory, n).is_dir()
    ]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and of pyproject.toml, to add a forbidden import to."""
    for package in ("forms_service", "ocr"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


#: (module, the line added to it, the contract it breaks, what the report must name).
BREACHES = [
    # storage reaching up to the web layer: the kind of back-edge that fused nine packages.
    (
        "forms_service/storage/service.py",
        "import forms_service.web.context",
        "Layers (docs/architecture.md)",
        "forms_service.storage.service -> forms_service.web.context",
    ),
    # a domain package importing the composition root (a lazy import counts too).
    (
        "forms_service/issuing/campaign.py",
        "def _late() -> None:\n    from forms_service.runtime import build_runtime",
        "Layers (docs/architecture.md)",
        "forms_service.issuing.campaign -> forms_service.runtime",
    ),
    # two sibling packages importing each other (web.mailroom uses web.backoffice).
    (
        "forms_service/web/backoffice/__init__.py",
        "import forms_service.web.mailroom",
        "No import cycle between sibling packages or modules",
        ".backoffice -> .mailroom",
    ),
    ("ocr/align.py", "import forms_service.core.errors", "ocr imports nothing", "ocr.align"),
    (
        "forms_service/pdfforms/model.py",
        "import ocr.model",
        "pdfforms, the AcroForm reader",
        "forms_service.pdfforms.model -> ocr.model",
    ),
    (
        "forms_service/intake/mailroom/service.py",
        "import flask",
        "No Flask outside web/",
        "forms_service.intake.mailroom.service -> flask",
    ),
]


def test_each_forbidden_import_breaks_its_contract(tree: Path) -> None:
    # One run for all of them: lint-imports reports every broken contract.
    for module, line, _contract, _named in BREACHES:
        _append(tree / module, line)
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    for _module, _line, contract, named in BREACHES:
        assert contract in broken, result.stdout
        assert named in broken, result.stdout


def test_a_new_root_module_must_be_given_a_layer(tree: Path) -> None:
    (tree / "forms_service" / "helpers.py").write_text('"""Anything."""\n', encoding="utf-8")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "forms_service.helpers" in result.stdout
