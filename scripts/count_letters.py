"""Count the letter bigram models shipped as forms_service/definitions/fieldtypes/letters.json.

    .venv/bin/python scripts/count_letters.py

The lists are Faker's (a dependency of the service, installed: nothing is downloaded):
French and English first names, last names and lorem words (see
forms_service/definitions/fieldtypes/letters.py). The same Faker gives the same tables.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forms_service.definitions.fieldtypes.letters import (  # noqa: E402
    SAMPLES,
    SYMBOLS,
    TABLE_PATH,
    count_letters,
)


def main() -> None:
    """Count the tables and write them with their record."""
    record = {
        "model": "letter trigram and bigram counts (letters, . - _ ' and space, digits as one, start, end)",
        "source": (
            f"faker {version('faker')}: person.fr_FR and person.en_US first and last names, "
            "lorem.fr_FR and lorem.en_US words, address.fr_FR departments, regions and street "
            "types, accents off; put together as e-mail local parts (first.last, firstlast, "
            "f.last, first-last, first_last, name and digits) and as text boxes (a name, one "
            "to three names, words or places, a hyphen, a number and a street type before), "
            f"{SAMPLES} of each, random seed 0; smoothed at load (letters.py: MIX, SMOOTHING)"
        ),
        "command": "python scripts/count_letters.py",
        "symbols": SYMBOLS,
        "models": {kind: model.as_json() for kind, model in count_letters().items()},
    }
    TABLE_PATH.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"Wrote {TABLE_PATH} ({TABLE_PATH.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
