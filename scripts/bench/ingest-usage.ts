/** Kept apart from the benchmark so `eaio bench --help` loads nothing heavy. */
export const ingestUsage = `Usage: eaio bench ingest [--bdg2 DIR] [--variant raw|cleaned] [--mode topics|chain|both] [--json] [--keep]

Replays a BDG2 folder at max speed through validate → enrich_weather → write_hypertable (one
\`eaio run\` process) on a fresh database and topic prefix, and reports readings/s from replay start
to the last row written, next to one COPY of the same rows into an empty copy of meter_readings.
Both ways of running the stages are measured in the same run, one after the other: joined by
Kafka topics (\`eaio run validate enrich_weather write_hypertable\`) and chained in memory
(\`eaio run validate+enrich_weather+write_hypertable\`).

  --bdg2 DIR   BDG2 folder (default ../shared/data/bdg2 when it exists, else data/bdg2-sample)
  --variant    raw (default: more cells, zeros included) or cleaned
  --mode       topics, chain or both (default both)
  --json       print the figures as JSON
  --keep       keep the database and topics afterwards`;
