/** Shared by `eaio bench --help` and the ingest benchmark's option errors; kept apart so help loads no benchmark code. */
export const ingestUsage = `Usage: eaio bench ingest [--bdg2 DIR] [--variant raw|cleaned] [--mode topics|layout|chain|all]
                         [--client kafkajs|platformatic|all] [--replay concurrent|backlog|both]
                         [--scoring on|off|both] [--repeat N] [--json] [--keep]

Replays a BDG2 folder at max speed through validate → enrich_weather → score_anomaly →
write_hypertable on a fresh database and topic prefix, and reports readings/s up to the last row
written, with the CPU seconds each process used meanwhile, next to COPY of the same rows into an
empty copy of meter_readings measured right after the run (median of 3): the ratio of the two is
the figure. Before every timed window a CHECKPOINT and \`sync\` write out what earlier steps left
dirty. Each combination of --client, --mode, --replay and --scoring is measured in the same run,
one after the other.

  --bdg2 DIR   BDG2 folder (default ../shared/data/bdg2 when it exists, else data/bdg2-sample)
  --variant    raw (default: more cells, zeros included) or cleaned
  --mode       how the stages run (a comma-separated list, or all — the default):
               chain   (chained) one process, \`eaio run validate+enrich_weather+score_anomaly+write_hypertable\`
               layout  what docker-compose.yml runs: \`eaio run validate+enrich_weather+score_anomaly\`
                       and \`eaio run write_hypertable\`, two processes joined by the scored topic
               topics  one process per stage, joined by topics
  --client     Kafka client of the workers and the replay: kafkajs, platformatic, or all (each
               mode with each client); default KAFKA_CLIENT (platformatic unless set)
  --replay     concurrent: replay at max speed while the pipeline runs, clock from replay start;
               backlog: replay first, clock from the first partition assignment (the
               pipeline's own rate on history already in Kafka); both (default)
  --scoring    on (default): with score_anomaly; off: without it, the writer reading the enriched
               topic (the pipeline before the stage); both: each, to see what scoring costs
  --repeat N   measure every combination N times (default 1) and report the median ratio
  --json       print the figures as JSON
  --keep       keep the database and topics afterwards

EAIO_BENCH_WORKER_FLAGS='--max-semi-space-size=16' (for example) starts the workers with other V8
flags than the product's (cli/node-flags.ts), to compare memory and speed.

Ends with one line per client, mode, replay and scoring:
  bench ingest: client=… mode=chained|layout|topics replay=… readings=… readings_per_s=… copy_per_s=… ratio=… … scoring=on|off`;

export const stateRebuildUsage = `Usage: eaio bench state-rebuild [--meters 1000] [--days 7] [--partitions 12] [--assigned N] [--runs 5]

Times the rebuild of per-meter history from PostgreSQL (meter_readings), as a stage with
partition-owned state does on every assignment, on a throw-away database; one key=value line.`;

export const rollupsUsage = `Usage: eaio bench rollups [--meters 1000] [--days 30] [--batch-hours 5] [--rounds 12]

On a throw-away database (plain PostgreSQL path): the writer's batch with the roll-ups' change log
on and off, alternated, and the incremental refresh after one batch against a full recompute;
one key=value line.`;

export const scoreUsage = `Usage: eaio bench score [--meters 500] [--hours 336] [--partitions 6] [--batch 2000] [--client kafkajs|platformatic]
                        (default client: KAFKA_CLIENT, platformatic unless set)

The score_anomaly stage alone on the real broker: synthetic enriched readings (meters × hours, each
meter in time order) on a throw-away topic, scored from the first fetched batch until all are on
readings.scored.v1. Reports scored readings/s and the inference time per batch (p50 / p99); history
starts empty and the catalog is in memory (no PostgreSQL). One key=value line:
  bench score: client=… readings=… readings_per_s=… inference_p50_ms=… inference_p99_ms=… …`;

export const embedBenchUsage = `Usage: eaio bench embed [--vectors N] [--batch N] [--searches N] [--flush-rows N] [--variants]
                        [--bdg2 DIR] [--keep] [--json]

Fills a throw-away Milvus collection (the building_patterns schema and index) with N day vectors
made by the profile encoder from the BDG2 slice's days, varied per synthetic meter, and reports
days embedded per second, upsert latency per batch, and top-10 search latency at that size: as
written, after a flush, and in findSimilarBuildings' shape. It names the server (Milvus Lite's
searches scan every unflushed row; see docs/storage.md).

  --vectors N     vectors to hold (default 100000)
  --batch N       rows per upsert (default 1000)
  --searches N    top-10 searches timed after the load (default 200)
  --flush-rows N  flush every N rows written (default: 2000 on Milvus Lite, as the stage; never on
                  Milvus; 0 = never)
  --variants      also time other request shapes (output fields, filter, top-k, several queries),
                  as written and flushed
  --bdg2 DIR      template days (default ../shared/data/bdg2)
  --keep          keep the collection (its name is printed)
  --json          print the figures as JSON

Ends with one line:
  bench embed: vectors=… days_per_s=… upsert_ms_mean=… upsert_ms_p95=… search_ms_mean=… search_ms_p95=… …
  (also server=, flush_rows=, flush_ms_mean=, unflushed=, search_flushed_ms_*, similar_ms_*)`;
