"""The web layer reads the time from the service clock (the runtime's), never the system's."""

from __future__ import annotations

import re
from pathlib import Path

import forms_service.web

#: Reading the system's time directly (a duration's `perf_counter` is not a time of day).
_SYSTEM_TIME = re.compile(r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")


def test_no_view_reads_the_system_time() -> None:
    root = Path(forms_service.web.__file__).parent
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _SYSTEM_TIME.search(line)
    ]
    assert found == []
