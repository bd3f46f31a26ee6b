-- One roll-up row per (meter, bucket) even when a meter's stored attributes differ within a
-- bucket (its building moved to another site, a re-import mid-day): grouping by them as well made
-- two rows for one (meter_id, bucket), the unique index refused them, the refresh failed, and its
-- log stayed to fail again at every run. Each row now carries the attributes of the bucket's latest
-- reading. Only the function changes; the rows already stored are unaffected.

-- Recomputes the roll-up rows of every (meter, UTC day) written since the last refresh; `force`
-- recomputes everything (needed after a TRUNCATE or a dropped partition: neither is logged). Returns one row per roll-up with the days it recomputed (none: nothing to do).
-- With TimescaleDB the continuous aggregates' policies do this: returns nothing.
CREATE OR REPLACE FUNCTION eaio_refresh_aggregates(force boolean DEFAULT false)
RETURNS TABLE (view_name text, refreshed boolean, days bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v text;
  taken bigint;
  select_list constant text := $sel$
    m.meter_id, (array_agg(m.building_id ORDER BY m.time DESC))[1], (array_agg(m.site_id ORDER BY m.time DESC))[1],
    (array_agg(m.meter_type ORDER BY m.time DESC))[1], (array_agg(m.unit ORDER BY m.time DESC))[1],
    count(*)::bigint, sum(m.value)::double precision, avg(m.value)::double precision,
    min(m.value)::double precision, max(m.value)::double precision, max(m.anomaly_score)::real,
    avg(m.air_temperature)::double precision
  $sel$;
  group_list constant text := 'm.meter_id';
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
