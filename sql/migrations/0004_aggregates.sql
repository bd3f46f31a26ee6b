-- Hourly and daily rollups with the same name and columns on both paths, so the read side (API,
-- Grafana) never needs to know which is active:
--   meter_readings_hourly / meter_readings_daily (bucket, meter_id, building_id, site_id, meter_type,
--   unit, reading_count, value_sum, value_avg, value_min, value_max, anomaly_score_max,
--   air_temperature_avg)
-- Buckets are UTC hours / UTC days.
-- TimescaleDB: continuous aggregates (real-time, so unmaterialised recent data is included),
--   refresh policies, compression of raw chunks after 30 days, retention.
-- Plain PostgreSQL: materialized views with a unique index (so they can be refreshed CONCURRENTLY,
--   without blocking readers), refreshed by eaio_refresh_aggregates() from a node-cron job.
DO $$
DECLARE
  spec record;
  select_list constant text := $sel$
    meter_id, building_id, site_id, meter_type, unit,
    count(*)::bigint                        AS reading_count,
    sum(value)::double precision            AS value_sum,
    avg(value)::double precision            AS value_avg,
    min(value)::double precision            AS value_min,
    max(value)::double precision            AS value_max,
    max(anomaly_score)::real                AS anomaly_score_max,
    avg(air_temperature)::double precision  AS air_temperature_avg
  $sel$;
  group_list constant text := 'meter_id, building_id, site_id, meter_type, unit';
  bucket text;
BEGIN
  FOR spec IN SELECT * FROM (VALUES ('meter_readings_hourly', 'hour'), ('meter_readings_daily', 'day')) AS v(view_name, width) LOOP
    IF eaio_has_timescaledb() THEN
      bucket := format('time_bucket(interval %L, time)', '1 ' || spec.width);
      EXECUTE format(
        'CREATE MATERIALIZED VIEW %I WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS '
        'SELECT %s AS bucket, %s FROM meter_readings GROUP BY %s, %s WITH NO DATA',
        spec.view_name, bucket, select_list, bucket, group_list);
      -- start_offset NULL: replayed history (BDG2 is 2016–2017) is materialised too.
      PERFORM add_continuous_aggregate_policy(spec.view_name::regclass,
        start_offset => NULL,
        end_offset => CASE spec.width WHEN 'hour' THEN interval '1 hour' ELSE interval '1 day' END,
        schedule_interval => CASE spec.width WHEN 'hour' THEN interval '5 minutes' ELSE interval '1 hour' END);
    ELSE
      bucket := format('date_trunc(%L, time, %L)', spec.width, 'UTC');
      -- WITH DATA (cheap: the table is new) so readers never meet an unpopulated view.
      EXECUTE format(
        'CREATE MATERIALIZED VIEW %I AS SELECT %s AS bucket, %s FROM meter_readings GROUP BY %s, %s WITH DATA',
        spec.view_name, bucket, select_list, bucket, group_list);
    END IF;
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (meter_id, bucket)', spec.view_name || '_meter_bucket_key', spec.view_name);
    EXECUTE format('CREATE INDEX %I ON %I (building_id, bucket DESC)', spec.view_name || '_building_bucket_idx', spec.view_name);
  END LOOP;

  IF eaio_has_timescaledb() THEN
    ALTER TABLE meter_readings SET (
      timescaledb.compress,
      timescaledb.compress_segmentby = 'meter_id',
      timescaledb.compress_orderby = 'time DESC'
    );
    PERFORM add_compression_policy('meter_readings', compress_after => interval '30 days');
    -- Retention counts from the reading's time, not the ingest time: BDG2 history starts in 2016,
    -- so raw readings are kept 20 years; the rollups are kept forever.
    PERFORM add_retention_policy('meter_readings', drop_after => interval '20 years');
  END IF;
END
$$;

-- Fallback refresh bookkeeping: a view is refreshed only when meter_readings changed since its last
-- refresh, judged by the table's write counters (cheap; no scan). REFRESH ... CONCURRENTLY still
-- recomputes the whole view and applies the difference, so readers are never blocked; the truly
-- incremental path is TimescaleDB's continuous aggregates.
CREATE TABLE eaio_aggregate_refresh (
  view_name       text PRIMARY KEY,
  refreshed_at    timestamptz NOT NULL,
  source_changes  bigint NOT NULL
);

CREATE OR REPLACE FUNCTION eaio_meter_readings_changes() RETURNS bigint
LANGUAGE sql STABLE AS $$
  -- Inserts + updates + deletes over the parent and every partition. Statistics may lag by about a
  -- second; a change missed now is seen by the next run.
  SELECT coalesce(sum(s.n_tup_ins + s.n_tup_upd + s.n_tup_del), 0)::bigint
  FROM pg_stat_user_tables s
  WHERE s.relid = 'meter_readings'::regclass
     OR s.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'meter_readings'::regclass)
$$;

-- Refreshes the fallback views that are stale; returns one row per view with what it did.
-- With TimescaleDB the policies do this: returns nothing.
CREATE OR REPLACE FUNCTION eaio_refresh_aggregates(force boolean DEFAULT false)
RETURNS TABLE (view_name text, refreshed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v text;
  changes bigint;
  last_changes bigint;
  populated boolean;
BEGIN
  IF eaio_has_timescaledb() THEN
    RETURN;
  END IF;
  -- One refresher at a time; a second caller skips instead of queueing behind a long refresh.
  IF NOT pg_try_advisory_xact_lock(hashtext('eaio_refresh_aggregates')) THEN
    RETURN;
  END IF;
  changes := eaio_meter_readings_changes();
  FOREACH v IN ARRAY ARRAY['meter_readings_hourly', 'meter_readings_daily'] LOOP
    SELECT r.source_changes INTO last_changes FROM eaio_aggregate_refresh r WHERE r.view_name = v;
    SELECT m.ispopulated INTO populated FROM pg_matviews m WHERE m.schemaname = 'public' AND m.matviewname = v;
    IF NOT force AND populated AND last_changes IS NOT DISTINCT FROM changes THEN
      view_name := v; refreshed := false; RETURN NEXT;
      CONTINUE;
    END IF;
    IF populated THEN
      EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I', v);
    ELSE
      -- CONCURRENTLY needs an already populated view.
      EXECUTE format('REFRESH MATERIALIZED VIEW %I', v);
    END IF;
    INSERT INTO eaio_aggregate_refresh AS r (view_name, refreshed_at, source_changes)
    VALUES (v, now(), changes)
    ON CONFLICT ON CONSTRAINT eaio_aggregate_refresh_pkey DO UPDATE SET refreshed_at = excluded.refreshed_at, source_changes = excluded.source_changes;
    view_name := v; refreshed := true; RETURN NEXT;
  END LOOP;
END
$$;
