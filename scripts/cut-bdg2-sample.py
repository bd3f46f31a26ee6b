#!/usr/bin/env python3
"""Cut the committed BDG2 sample (data/bdg2-sample/) from the developer slice of BDG2.

Rows and columns are selected; the bytes of every kept cell and the CRLF line ends are left
exactly as they are upstream (the files are split on raw bytes, never parsed into numbers).
metadata.csv is copied whole so that `eaio import` is exercised on all 1,636 buildings.

Usage: python3 scripts/cut-bdg2-sample.py [SOURCE_DIR] [TARGET_DIR]
       (defaults: /work/shared/data/bdg2 and data/bdg2-sample)
"""
import shutil
import sys
from pathlib import Path

SOURCE = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/bdg2")
TARGET = Path(sys.argv[2] if len(sys.argv) > 2 else "data/bdg2-sample")

# Five weeks: the all-Panther electricity gap of 2017-02-14 evening and the US spring-forward
# of 2017-03-12 (02:00 local does not exist) are both inside.
FIRST, LAST = b"2017-02-12 00:00:00", b"2017-03-18 23:00:00"

# Wide meter files: which building columns to keep (upstream column order is preserved).
METER_COLUMNS = {
    "meters/raw/electricity.csv": [
        b"Panther_office_Catherine", b"Panther_office_Karla", b"Panther_education_Enriqueta",
        b"Panther_lodging_Cora", b"Rat_office_Lora", b"Rat_education_Cinthia",
    ],
    "meters/cleaned/electricity_cleaned.csv": [b"Panther_office_Catherine", b"Panther_office_Karla"],
    "meters/raw/irrigation.csv": [b"Panther_education_Aurora", b"Panther_parking_Adela"],
    "meters/cleaned/irrigation_cleaned.csv": [b"Panther_education_Aurora", b"Panther_parking_Adela"],
    "meters/raw/solar.csv": [b"Bobcat_education_Coleman", b"Bobcat_education_Dylan", b"Bobcat_office_Justine"],
    "meters/cleaned/solar_cleaned.csv": [b"Bobcat_education_Coleman", b"Bobcat_education_Dylan", b"Bobcat_office_Justine"],
}
EOL = b"\r\n"


def split_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if not data.endswith(EOL):
        raise SystemExit(f"{path}: expected CRLF line ends")
    return data[: -len(EOL)].split(EOL)


def in_period(line: bytes) -> bool:
    stamp = line[:19]
    return FIRST <= stamp <= LAST


def cut_wide(rel: str, keep: list[bytes]) -> None:
    header, *rows = split_lines(SOURCE / rel)
    names = header.split(b",")
    missing = [k for k in keep if k not in names]
    if missing:
        raise SystemExit(f"{rel}: columns not found: {missing}")
    indexes = [0] + sorted(names.index(k) for k in keep)
    out = [b",".join(names[i] for i in indexes)]
    for row in rows:
        if in_period(row):
            cells = row.split(b",")
            out.append(b",".join(cells[i] for i in indexes))
    write(rel, out)


def cut_long(rel: str) -> None:
    header, *rows = split_lines(SOURCE / rel)
    write(rel, [header] + [r for r in rows if in_period(r)])


def write(rel: str, lines: list[bytes]) -> None:
    path = TARGET / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(EOL.join(lines) + EOL)
    print(f"{rel}: {len(lines) - 1} rows, {path.stat().st_size} bytes")


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE / "metadata.csv", TARGET / "metadata.csv")
    print("metadata.csv: copied whole")
    cut_long("weather.csv")
    for rel, keep in METER_COLUMNS.items():
        cut_wide(rel, keep)


if __name__ == "__main__":
    main()
