"""Write a synthetic HR-system export (CSV or XLSX) of N employees, for benchmarks and
demos: ``python bench/hr_export.py 20000 /tmp/personal.csv [--seed 1]``.

Rows spread over the six municipalities and a few dozen units per municipality, with hire
dates over ten years, one in twenty with an end date, managers named by e-mail, Swedish
headers, ``;`` separated, UTF-8 with BOM (what Swedish Excel writes)."""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training_tracker.demo.names_people import FIRST_NAMES, LAST_NAMES

MUNICIPALITIES = [
    "Järfälla",
    "Sigtuna",
    "Sollentuna",
    "Sundbyberg",
    "Upplands-Bro",
    "Upplands Väsby",
]
SECTORS = [
    ("Socialtjänst", ["Individ- och familjeomsorg", "Försörjningsstöd", "Barn och unga"]),
    ("Skola och förskola", ["Förskola", "Grundskola", "Gymnasium", "Elevhälsa"]),
    ("Fritid", ["Fritidsgård", "Bibliotek"]),
    ("Hälso- och sjukvård / omsorg", ["Hemtjänst", "Särskilt boende", "LSS-boende"]),
    ("Övrigt", ["Kommunledning", "Teknik"]),
]
HEADERS = [
    "Förnamn",
    "Efternamn",
    "E-post",
    "Kommun",
    "Enhet",
    "Sektor",
    "Anställningsdatum",
    "Anställningsnummer",
    "Chefens e-post",
    "Slutdatum",
]


def rows(count: int, seed: int, today: date) -> list[list[str]]:
    rng = random.Random(seed)
    result: list[list[str]] = []
    managers: dict[tuple[str, str], str] = {}
    for n in range(count):
        municipality = MUNICIPALITIES[n % len(MUNICIPALITIES)]
        sector, kinds = rng.choice(SECTORS)
        unit = f"{rng.choice(kinds)} {rng.randint(1, 6)}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{n}@{municipality.lower().replace(' ', '')}.example".lower()
        email = unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode()
        email = email.replace(" ", "")
        hired = today - timedelta(days=rng.randint(0, 3650))
        manager = managers.setdefault((municipality, unit), email)
        ended = hired + timedelta(days=rng.randint(30, 900)) if rng.random() < 0.05 else None
        result.append(
            [
                first,
                last,
                email,
                municipality,
                unit,
                sector,
                hired.isoformat(),
                f"A{n:06d}",
                "" if manager == email else manager,
                ended.isoformat() if ended and ended > hired else "",
            ]
        )
    return result


def write(path: Path, count: int, seed: int = 1, today: date | None = None) -> None:
    data = rows(count, seed, today or date(2026, 11, 1))
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Personal")
        sheet.append(HEADERS)
        for row in data:
            sheet.append(row)
        workbook.save(path)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(data)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write(args.path, args.count, args.seed)


if __name__ == "__main__":
    main()
