"""Layout versions: a registered version never changes, and page codes name theirs.

The guard: layout_fingerprints.json holds, per layout version, a digest of the layout of
every shipped definition (and of a synthetic form with every field type over several
pages). Pages printed with a version are read back with that version's geometry, so a
version whose output changes misreads every page already posted.

Run `python -m tests.unit.issuing.test_layout_versions` to record definitions (or
definition versions) that are not in the file yet; it never rewrites a recorded digest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path

import pytest

from forms_service.definitions.model import FormDefinition
from forms_service.definitions.service import load_definitions
from forms_service.issuing.barcodes import qr_code
from forms_service.issuing.layout import (
    CURRENT_LAYOUT,
    LAYOUTS,
    LayoutVersions,
    UnknownLayoutVersion,
    layout,
)
from forms_service.issuing.layout_v1 import layout as layout_v1
from forms_service.issuing.pagecode import PageCodes, TamperedPageCode
from forms_service.issuing.tokens import SigningKey
from tests.layout_versions import TEST_LAYOUT, fingerprint, shifted_layout, with_test_layout
from tests.unit.issuing.test_layout import _many_fields

ROOT = Path(__file__).resolve().parents[3]
FINGERPRINTS = Path(__file__).with_name("layout_fingerprints.json")
KEY = SigningKey.parse("k1:" + "a" * 40)
DOCUMENT = "AbCdEfGhIjKlMnOpQrStUv"


def _inputs() -> dict[str, FormDefinition]:
    definitions = load_definitions(ROOT / "form_definitions")
    found = {f"{d.id}@{d.version}": d for d in definitions.values()}
    synthetic = _many_fields(30)
    found[f"synthetic:{synthetic.id}@{synthetic.version}"] = synthetic
    return found


def _measured(registry: LayoutVersions = LAYOUTS) -> dict[str, dict[str, str]]:
    return {
        str(version): {
            name: fingerprint(registry.layout(definition, version))
            for name, definition in sorted(_inputs().items())
        }
        for version in registry.versions
    }


def _recorded() -> dict[str, dict[str, str]]:
    recorded: dict[str, dict[str, str]] = json.loads(FINGERPRINTS.read_text())
    return recorded


def test_no_registered_layout_version_changes_its_geometry() -> None:
    recorded = _recorded()
    for version, digests in _measured().items():
        known = recorded.get(version, {})
        for name, digest in digests.items():
            if name not in known:
                pytest.fail(
                    f"layout version {version} has no fingerprint for {name}: run "
                    "`python -m tests.unit.issuing.test_layout_versions` to record it"
                )
            assert digest == known[name], (
                f"layout version {version} now places the boxes of {name} differently. "
                "Pages already printed with this version would be read with the new "
                "geometry and misread. If you changed the layout code: copy the old module "
                "back (it is frozen), put your change in a new layout_v<N+1>.py, register "
                "it in forms_service/issuing/layout.py as the current version and keep the "
                "old one; then record the new version's fingerprints. If you changed the "
                "definition: give it a new version number."
            )


def test_every_fingerprinted_version_is_still_registered() -> None:
    # Removing a version leaves its posted pages unreadable.
    assert set(_recorded()) <= {str(v) for v in LAYOUTS.versions}
    assert CURRENT_LAYOUT in LAYOUTS


def test_the_guard_sees_a_layout_that_moves_boxes() -> None:
    for definition in _inputs().values():
        assert fingerprint(shifted_layout(definition)) != fingerprint(layout_v1(definition))
        assert fingerprint(layout_v1(definition)) == fingerprint(layout_v1(definition))


def test_the_current_layout_is_what_layout_gives() -> None:
    for definition in _inputs().values():
        assert layout(definition) == LAYOUTS.layout(definition, CURRENT_LAYOUT)
        assert layout(definition).layout_version == CURRENT_LAYOUT


def test_registry_keeps_old_versions_and_refuses_unknown_ones() -> None:
    registry = with_test_layout()
    definition = next(iter(_inputs().values()))
    assert registry.versions == (1, 2, TEST_LAYOUT) and registry.current == TEST_LAYOUT
    assert registry.layout(definition, 1) == layout_v1(definition)
    assert registry.layout(definition).layout_version == TEST_LAYOUT
    assert registry.geometry(definition, 1) != registry.geometry(definition, TEST_LAYOUT)
    with pytest.raises(UnknownLayoutVersion, match="layout version 7 is unknown"):
        registry.layout(definition, 7)
    with pytest.raises(ValueError, match="already registered"):
        registry.with_version(1, shifted_layout)
    with pytest.raises(ValueError, match="not registered"):
        LayoutVersions({1: layout_v1}, current=2)
    assert LAYOUTS.current == 2  # the shipped registry is untouched


def test_page_codes_printed_before_layout_versions_still_verify_as_layout_1() -> None:
    # The exact format printed until now: F1.<document>.<page>.<version>.<key>.<mac>.
    message = f"F1.{DOCUMENT}.2.7.k1"
    digest = hmac.new(KEY.secret, f"page:{message}".encode(), hashlib.sha256).digest()[:8]
    old = f"{message}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
    claims = PageCodes([KEY]).decode(old)
    assert (claims.document_id, claims.page, claims.version, claims.layout) == (DOCUMENT, 2, 7, 1)
    assert PageCodes([KEY]).encode(DOCUMENT, 2, 7, layout=1) == old


@pytest.mark.parametrize("layout_version", [1, 2, 999])
def test_page_codes_carry_the_layout_version_under_the_mac(layout_version: int) -> None:
    codes = PageCodes([KEY])
    payload = codes.encode(DOCUMENT, 3, 12, layout=layout_version)
    assert payload.startswith(f"F{layout_version}.")
    assert len(payload) <= 50
    # An 8-character key id, page 99 and definition version 9999 still fit (a 16-character
    # key id with six-digit versions did not fit version 4 even before layout versions).
    longest = PageCodes([SigningKey.parse("k" * 8 + ":" + "c" * 40)]).encode(
        DOCUMENT, 99, 9999, layout=layout_version
    )
    version = qr_code(longest).version  # an int: Micro QR codes ("M1".."M4") are not made
    assert isinstance(version, int) and version <= 4 and qr_code(longest).error == "M"
    assert codes.decode(payload).layout == layout_version
    other = 2 if layout_version != 2 else 3
    with pytest.raises(TamperedPageCode):  # the layout digit cannot be altered
        codes.decode(f"F{other}." + payload.split(".", 1)[1])


@pytest.mark.parametrize("layout_version", [0, 1000])
def test_a_layout_version_that_does_not_fit_a_page_code_is_refused(layout_version: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        PageCodes([KEY]).encode(DOCUMENT, 1, 1, layout=layout_version)


def _record_missing() -> int:
    recorded = _recorded() if FINGERPRINTS.exists() else {}
    added = 0
    for version, digests in _measured().items():
        known = recorded.setdefault(version, {})
        for name, digest in digests.items():
            if name not in known:  # never overwrite: a recorded digest is the contract
                known[name] = digest
                added += 1
    FINGERPRINTS.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    return added


if __name__ == "__main__":
    print(f"{_record_missing()} fingerprint(s) recorded in {FINGERPRINTS}", file=sys.stderr)
