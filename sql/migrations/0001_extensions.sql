-- Extensions. PostGIS is required (building locations). TimescaleDB is optional: when the server
-- offers it (docker compose image) it is enabled and later migrations take the hypertable path;
-- otherwise (plain PostgreSQL, as on the development machines) they take the native-partition path.
CREATE EXTENSION IF NOT EXISTS postgis;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS timescaledb;
    EXCEPTION WHEN OTHERS THEN
      -- Installed but not in shared_preload_libraries: run the fallback path rather than fail.
      RAISE WARNING 'timescaledb is available but could not be enabled (%); using native partitions', SQLERRM;
    END;
  END IF;
END
$$;

-- One place the later migrations (and the read side, if it ever cares) ask which path is active.
CREATE OR REPLACE FUNCTION eaio_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;
