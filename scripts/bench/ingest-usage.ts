/** Kept apart from the benchmark so `eaio bench --help` loads nothing heavy. */
export const ingestUsage = `Usage: eaio bench ingest [--bdg2 DIR] [--variant raw|cleaned] [--json] [--keep]

Replays a BDG2 folder at max speed through validate → enrich_weather → write_hypertable (one
\`eaio run\` process) on a fresh database and topic prefix, and reports readings/s from replay start
to the last row written, next to one COPY of the same rows into an empty copy of meter_readings.

  --bdg2 DIR   BDG2 folder (default ../shared/data/bdg2 when it exists, else data/bdg2-sample)
  --variant    raw (default: more cells, zeros included) or cleaned
  --json       print the figures as JSON
  --keep       keep the database and topics afterwards`;
