"""Build forms_service/definitions/fieldtypes/fr_postcodes.csv from the countrystatecity-postal-codes wheel (offline).

Provenance: the PyPI package countrystatecity-postal-codes 2.0.1 ships
countrystatecity_postal_codes/data/by-country/FR/postcodes.json (ODbL 1.0, from the
countries-states-cities-database project). Run once by hand, with the wheel unpacked:

    pip download --no-deps countrystatecity-postal-codes==2.0.1 && unzip the wheel
    python scripts/build_french_postcodes.py path/to/FR/postcodes.json forms_service/definitions/fieldtypes/fr_postcodes.csv
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def main(source: Path, target: Path) -> None:
    """Write one `postcode,locality` row per French postcode, sorted by postcode."""
    records = json.loads(source.read_text(encoding="utf-8"))
    rows = sorted(
        {
            (r["code"], r["localityName"].strip().upper())
            for r in records
            if r["countryCode"] == "FR"
        }
    )
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["postcode", "locality"])
        writer.writerows(rows)
    print(f"{len(rows)} postcodes written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
