"""Writes LEAD-format files of real, unlabelled BDG2 meters with synthetic anomalies injected.

    python models/anomaly/synth.py METERS.csv LEAD.csv METADATA.csv OUT_PREFIX [COPIES]

METERS.csv is a BDG2 wide meter file (timestamp, one column per building, empty = missing).
Buildings whose labels LEAD.csv holds (joined through metadata `building_id_kaggle`) are left out,
so no evaluated building ever feeds training. Each copy k (1..COPIES, default 3) injects a
different random set of anomalies (seed k) and is written to OUT_PREFIX-k.csv as
`building_id,timestamp,meter_reading,anomaly`, timestamps unchanged (naive local, as BDG2).
The anomaly types follow what LEAD 1.0 labels: near-zero stuck runs of about a day, zero runs,
holiday-like days (the working-hours load falls towards the night base), short dips, raised
levels, values frozen at the last reading, single spikes. Only hours that an injection changed
by at least MIN_CHANGE of the meter's level are labelled 1.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

EVENTS_PER_30_DAYS = 3.0
MIN_CHANGE = 0.05
KINDS = ["stuck_low", "zero", "holiday", "dip", "high", "frozen", "spike"]
KIND_P = [0.22, 0.08, 0.28, 0.16, 0.12, 0.09, 0.05]


def labelled_kaggle_ids(lead_csv: Path) -> set[str]:
    ids = pd.read_csv(lead_csv, usecols=["building_id"], dtype=str)["building_id"]
    return {i.split(".")[0] for i in ids.unique()}


def excluded_buildings(lead_csv: Path, metadata_csv: Path) -> set[str]:
    ids = labelled_kaggle_ids(lead_csv)
    meta = pd.read_csv(metadata_csv, usecols=["building_id", "building_id_kaggle"], dtype=str)
    kaggle = meta["building_id_kaggle"].fillna("").str.split(".").str[0]
    return set(meta.loc[kaggle.isin(ids), "building_id"]) | ids


def inject(values: np.ndarray, hours: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(values with anomalies, labels). `hours` is the local hour of day of each row."""
    v = values.copy()
    n = len(v)
    level = float(np.nanmedian(np.abs(values))) or 1.0
    changed = np.zeros(n, bool)
    busy = np.zeros(n, bool)
    for _ in range(rng.poisson(EVENTS_PER_30_DAYS * n / 720)):
        kind = rng.choice(KINDS, p=KIND_P)
        start = int(rng.integers(24 * 7, n - 2))  # after a week, so the meter has some history
        if kind == "holiday":
            start -= start % 24
            length = 24 * int(rng.integers(1, 5))
        else:
            length = {
                "stuck_low": int(rng.integers(18, 32)),
                "zero": int(rng.integers(3, 30)),
                "dip": int(rng.integers(1, 4)),
                "high": int(rng.integers(4, 25)),
                "frozen": int(rng.integers(6, 48)),
                "spike": 1,
            }[kind]
        seg = slice(start, min(n, start + length))
        if busy[max(0, start - 24) : seg.stop + 24].any() or np.isnan(v[seg]).all():
            continue
        busy[seg] = True
        before = v[seg].copy()
        if kind == "stuck_low":
            v[seg] = round(level * rng.uniform(0.002, 0.03), 1)
        elif kind == "zero":
            v[seg] = 0.0
        elif kind == "holiday":
            base = np.nanpercentile(before, 10)
            working = (hours[seg] >= 6) & (hours[seg] <= 19)
            keep = rng.uniform(0.0, 0.5)
            v[seg] = np.where(working, base + keep * (before - base), before)
        elif kind == "dip":
            v[seg] = before * rng.uniform(0.2, 0.7)
        elif kind == "high":
            v[seg] = before * rng.uniform(1.25, 1.9)
        elif kind == "frozen":
            last = v[start - 1]
            if np.isnan(last):
                continue
            v[seg] = last
        elif kind == "spike":
            v[seg] = before * rng.uniform(2.0, 5.0)
        v[seg] = np.where(np.isnan(before), np.nan, v[seg])
        changed[seg] = np.abs(v[seg] - before) >= MIN_CHANGE * level
    return v, changed & ~np.isnan(v)


def main() -> None:
    meters, lead, metadata, prefix = (Path(a) for a in sys.argv[1:5])
    copies = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    wide = pd.read_csv(meters, dtype={"timestamp": str})
    excluded = excluded_buildings(lead, metadata)
    buildings = [c for c in wide.columns[1:] if c not in excluded]
    hours = pd.to_datetime(wide["timestamp"]).dt.hour.to_numpy()
    for k in range(1, copies + 1):
        rng = np.random.default_rng(k)
        parts = []
        for b in buildings:
            values, labels = inject(wide[b].to_numpy(float), hours, rng)
            parts.append(
                pd.DataFrame(
                    {"building_id": b, "timestamp": wide["timestamp"], "meter_reading": values,
                     "anomaly": labels.astype(int)}
                )
            )  # fmt: skip
        out = pd.concat(parts, ignore_index=True)
        path = Path(f"{prefix}-{k}.csv")
        out.to_csv(path, index=False, float_format="%.6g")
        print(f"synth: {path}: {len(buildings)} buildings, {int(out['anomaly'].sum())} anomalous of "
              f"{int(out['meter_reading'].notna().sum())} readings", file=sys.stderr)  # fmt: skip
    print(f"synth: left out {len(excluded & set(wide.columns))} labelled building(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
