-- Weather per site and hour, and the meter readings themselves.

CREATE TABLE weather_observations (
  site_id            text NOT NULL REFERENCES sites (site_id),
  time               timestamptz NOT NULL,
  air_temperature    real,          -- °C
  cloud_coverage     real,          -- oktas
  dew_temperature    real,          -- °C
  precip_depth_1h    real,          -- mm, -1 = trace
  precip_depth_6h    real,          -- mm, -1 = trace
  sea_level_pressure real,          -- hPa
  wind_direction     real,          -- degrees
  wind_speed         real,          -- m/s
  source             text,
  ingested_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, time)
);

-- The primary key (meter_id, time) makes a replayed reading an upsert, never a second row.
-- With TimescaleDB this is a hypertable; without it, a table range-partitioned by month
-- (partitions made by eaio_ensure_partitions below). The columns are the same either way.
DO $$
DECLARE
  columns constant text := $cols$
    time               timestamptz NOT NULL,
    meter_id           text NOT NULL REFERENCES energy_meters (meter_id),
    building_id        text NOT NULL,
    site_id            text NOT NULL,
    meter_type         meter_type NOT NULL,
    value              double precision NOT NULL,
    unit               text NOT NULL,
    quality_code       text NOT NULL DEFAULT 'measured',
    is_estimated       boolean NOT NULL DEFAULT false,
    anomaly_score      real,
    is_anomaly         boolean,
    air_temperature    real,
    cloud_coverage     real,
    dew_temperature    real,
    precip_depth_1h    real,
    precip_depth_6h    real,
    sea_level_pressure real,
    wind_direction     real,
    wind_speed         real,
    source             text,
    ingested_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meter_id, time)
  $cols$;
BEGIN
  IF eaio_has_timescaledb() THEN
    EXECUTE format('CREATE TABLE meter_readings (%s)', columns);
    PERFORM create_hypertable('meter_readings', 'time', chunk_time_interval => interval '7 days');
  ELSE
    EXECUTE format('CREATE TABLE meter_readings (%s) PARTITION BY RANGE (time)', columns);
  END IF;
END
$$;

CREATE INDEX meter_readings_building_time_idx ON meter_readings (building_id, time DESC);
CREATE INDEX meter_readings_time_idx ON meter_readings (time DESC);

-- Monthly partitions (UTC months) covering [from_time, to_time]. Idempotent; returns how many it
-- created. No DEFAULT partition on purpose: once a default partition holds rows of a month, creating
-- that month's partition fails, and a default partition hides missing maintenance. Instead the writer
-- calls this for the months of each batch it sees (BDG2 history is 2016–2017), and the maintenance
-- job (sql/refresh-job.ts) keeps the next months ready. With TimescaleDB, chunks are automatic: no-op.
CREATE OR REPLACE FUNCTION eaio_ensure_partitions(from_time timestamptz, to_time timestamptz)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  month_start timestamp := date_trunc('month', from_time AT TIME ZONE 'UTC');
  last_month  timestamp := date_trunc('month', to_time AT TIME ZONE 'UTC');
  name        text;
  created     integer := 0;
BEGIN
  IF eaio_has_timescaledb() THEN
    RETURN 0;
  END IF;
  IF to_time < from_time THEN
    RAISE EXCEPTION 'eaio_ensure_partitions: to_time % is before from_time %', to_time, from_time;
  END IF;
  -- Two writers may meet a new month at once: serialise creation (released at commit).
  PERFORM pg_advisory_xact_lock(hashtext('eaio_ensure_partitions'));
  IF last_month - month_start > interval '100 years' THEN
    RAISE EXCEPTION 'eaio_ensure_partitions: range % .. % is implausibly long', from_time, to_time;
  END IF;
  WHILE month_start <= last_month LOOP
    name := 'meter_readings_p' || to_char(month_start, 'YYYYMM');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF meter_readings FOR VALUES FROM (%L) TO (%L)',
        name,
        (month_start AT TIME ZONE 'UTC'),
        ((month_start + interval '1 month') AT TIME ZONE 'UTC')
      );
      created := created + 1;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;

-- Ahead-of-time: this month and the next three (live data). Older months come on demand.
SELECT eaio_ensure_partitions(now(), now() + interval '3 months');
