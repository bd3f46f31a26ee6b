-- Roles. Group roles carry the privileges; login roles are members.
--   eaio_writer: the pipeline (import, replay-side tools, stages): read + write data, no DDL.
--   eaio_reader: the API and Grafana: SELECT only.
-- The login roles below have local-development passwords; in production set real ones
-- (ALTER ROLE eaio_pipeline PASSWORD ...) or create login roles of your own and GRANT the group roles.
-- Roles are cluster-wide, so creation is guarded; grants are per database.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eaio_writer') THEN
    CREATE ROLE eaio_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eaio_reader') THEN
    CREATE ROLE eaio_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eaio_pipeline') THEN
    CREATE ROLE eaio_pipeline LOGIN PASSWORD 'eaio_pipeline' IN ROLE eaio_writer;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'eaio_api') THEN
    CREATE ROLE eaio_api LOGIN PASSWORD 'eaio_api' IN ROLE eaio_reader;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO eaio_writer, eaio_reader', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO eaio_writer, eaio_reader;

-- Reader: everything readable, nothing else (tables, partitions, views, materialized views).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO eaio_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO eaio_reader;

-- Writer: data, not schema.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO eaio_writer;
GRANT DELETE ON stage_offsets TO eaio_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO eaio_writer;

-- Maintenance functions run as their owner (SECURITY DEFINER) so the writer can create partitions and
-- refresh views without DDL rights; the reader cannot call them.
REVOKE EXECUTE ON FUNCTION eaio_ensure_partitions(timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION eaio_refresh_aggregates(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION eaio_ensure_partitions(timestamptz, timestamptz) TO eaio_writer;
GRANT EXECUTE ON FUNCTION eaio_refresh_aggregates(boolean) TO eaio_writer;
