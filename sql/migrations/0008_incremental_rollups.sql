-- Incremental roll-ups on plain PostgreSQL. The materialized views of 0004 were recomputed whole on
-- every refresh (minutes once years of history are in); here meter_readings_hourly / _daily become
-- tables with the same names, columns and indexes, and a refresh recomputes only the (meter, UTC day)
-- pairs written since the last one. TimescaleDB keeps its continuous aggregates: nothing changes there.
--
-- Which days changed: statement-level triggers on meter_readings append, per UTC day a statement
-- touched, one row with the meters it touched that day to eaio_aggregate_dirty, in the writer's own
-- transaction (one row per day, not per meter: a writer's batch adds one or two rows). The log has
-- no key and no index: writers only append, so they never wait for each other or for a refresh.
-- A refresh takes the log with one DELETE ... RETURNING: an entry is taken only once its transaction
-- committed, and then its readings are visible to the recompute that follows; an entry still
-- uncommitted stays for the next refresh.
DO $$
DECLARE
  v text;
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
BEGIN
  IF eaio_has_timescaledb() THEN
    RETURN;
  END IF;
  -- Writers wait until this migration commits: a reading written between the copy below and the
  -- triggers' creation would otherwise reach neither the roll-ups nor the log.
  LOCK TABLE meter_readings IN SHARE ROW EXCLUSIVE MODE;
  FOREACH v IN ARRAY ARRAY['meter_readings_hourly', 'meter_readings_daily'] LOOP
    EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS %I', v);
    EXECUTE format(
      'CREATE TABLE %I AS SELECT date_trunc(%L, time, %L) AS bucket, %s FROM meter_readings GROUP BY 1, %s',
      v, CASE v WHEN 'meter_readings_hourly' THEN 'hour' ELSE 'day' END, 'UTC', select_list,
      'meter_id, building_id, site_id, meter_type, unit');
    EXECUTE format('ALTER TABLE %I ALTER COLUMN bucket SET NOT NULL, ALTER COLUMN meter_id SET NOT NULL', v);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (meter_id, bucket)', v || '_meter_bucket_key', v);
    EXECUTE format('CREATE INDEX %I ON %I (building_id, bucket DESC)', v || '_building_bucket_idx', v);
    -- Read by everyone, written only by the refresh (it runs as the owner).
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I FROM eaio_writer', v);
    EXECUTE format('GRANT SELECT ON %I TO eaio_reader, eaio_writer', v);
  END LOOP;

  CREATE TABLE eaio_aggregate_dirty (
    day        timestamptz NOT NULL,
    meter_ids  text[] NOT NULL
  );
  GRANT INSERT ON eaio_aggregate_dirty TO eaio_writer;

  -- A fixed search_path: the writer's connection may set another one.
  CREATE FUNCTION eaio_mark_aggregates_dirty() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
  BEGIN
    INSERT INTO eaio_aggregate_dirty (day, meter_ids)
    SELECT date_trunc('day', time, 'UTC'), array_agg(DISTINCT meter_id) FROM changed_rows GROUP BY 1;
    RETURN NULL;
  END
  $fn$;
  -- An UPDATE may move a reading (its time or meter): the day it left changes as well.
  CREATE FUNCTION eaio_mark_aggregates_dirty_update() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
  BEGIN
    INSERT INTO eaio_aggregate_dirty (day, meter_ids)
    SELECT date_trunc('day', time, 'UTC'), array_agg(DISTINCT meter_id)
      FROM (SELECT meter_id, time FROM changed_rows UNION SELECT meter_id, time FROM previous_rows) AS moved
     GROUP BY 1;
    RETURN NULL;
  END
  $fn$;
  -- One trigger per event: PostgreSQL allows transition tables only on single-event triggers.
  CREATE TRIGGER eaio_aggregates_dirty_insert AFTER INSERT ON meter_readings
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION eaio_mark_aggregates_dirty();
  CREATE TRIGGER eaio_aggregates_dirty_update AFTER UPDATE ON meter_readings
    REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION eaio_mark_aggregates_dirty_update();
  CREATE TRIGGER eaio_aggregates_dirty_delete AFTER DELETE ON meter_readings
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION eaio_mark_aggregates_dirty();
END
$$;

-- The change counters of 0004 judged whether a whole-view refresh was due; the log replaces them.
DROP FUNCTION IF EXISTS eaio_refresh_aggregates(boolean);
DROP FUNCTION IF EXISTS eaio_meter_readings_changes();

-- Recomputes the roll-up rows of every (meter, UTC day) written since the last refresh; `force`
-- recomputes everything (needed after a TRUNCATE or a dropped partition: neither is logged). Returns one row per roll-up with the days it recomputed (none: nothing to do).
-- With TimescaleDB the continuous aggregates' policies do this: returns nothing.
CREATE FUNCTION eaio_refresh_aggregates(force boolean DEFAULT false)
RETURNS TABLE (view_name text, refreshed boolean, days bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v text;
  taken bigint;
  select_list constant text := $sel$
    m.meter_id, m.building_id, m.site_id, m.meter_type, m.unit,
    count(*)::bigint, sum(m.value)::double precision, avg(m.value)::double precision,
    min(m.value)::double precision, max(m.value)::double precision, max(m.anomaly_score)::real,
    avg(m.air_temperature)::double precision
  $sel$;
  group_list constant text := 'm.meter_id, m.building_id, m.site_id, m.meter_type, m.unit';
BEGIN
  IF eaio_has_timescaledb() THEN
    RETURN;
  END IF;
  -- One refresher at a time; a second caller skips instead of queueing behind a long refresh.
  IF NOT pg_try_advisory_xact_lock(hashtext('eaio_refresh_aggregates')) THEN
    RETURN;
  END IF;
  DROP TABLE IF EXISTS pg_temp.eaio_refresh_days;
  CREATE TEMP TABLE eaio_refresh_days ON COMMIT DROP AS
    WITH taken_rows AS (DELETE FROM eaio_aggregate_dirty RETURNING day, meter_ids)
    SELECT DISTINCT meter_id, day FROM taken_rows, unnest(meter_ids) AS meter_id;
  IF force THEN
    DELETE FROM eaio_refresh_days;
    INSERT INTO eaio_refresh_days
      SELECT DISTINCT meter_id, date_trunc('day', time, 'UTC') FROM meter_readings
      UNION SELECT DISTINCT meter_id, bucket FROM meter_readings_daily;
  END IF;
  SELECT count(*) INTO taken FROM eaio_refresh_days;
  -- A backfill may hand over many days: give the planner their count before the joins.
  IF taken > 1000 THEN
    ANALYZE eaio_refresh_days;
  END IF;
  FOREACH v IN ARRAY ARRAY['meter_readings_hourly', 'meter_readings_daily'] LOOP
    IF taken > 0 THEN
      -- Within this transaction: readers see the previous rows until it commits, never a gap.
      EXECUTE format(
        'DELETE FROM %I r USING eaio_refresh_days d '
        'WHERE r.meter_id = d.meter_id AND r.bucket >= d.day AND r.bucket < d.day + interval %L',
        v, '24 hours');
      EXECUTE format(
        'INSERT INTO %I SELECT date_trunc(%L, m.time, %L), %s FROM meter_readings m '
        'JOIN eaio_refresh_days d ON m.meter_id = d.meter_id AND m.time >= d.day AND m.time < d.day + interval %L '
        'GROUP BY 1, %s',
        v, CASE v WHEN 'meter_readings_hourly' THEN 'hour' ELSE 'day' END, 'UTC', select_list, '24 hours', group_list);
    END IF;
    view_name := v; refreshed := taken > 0; days := taken; RETURN NEXT;
  END LOOP;
  INSERT INTO eaio_aggregate_refresh AS r (view_name, refreshed_at, source_changes)
  SELECT x, now(), taken FROM unnest(ARRAY['meter_readings_hourly', 'meter_readings_daily']) AS x
  WHERE taken > 0
  ON CONFLICT ON CONSTRAINT eaio_aggregate_refresh_pkey DO UPDATE SET refreshed_at = excluded.refreshed_at, source_changes = excluded.source_changes;
END
$$;

REVOKE EXECUTE ON FUNCTION eaio_refresh_aggregates(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eaio_refresh_aggregates(boolean) TO eaio_writer;
COMMENT ON COLUMN eaio_aggregate_refresh.source_changes IS '(meter, day) pairs the last refresh recomputed';
