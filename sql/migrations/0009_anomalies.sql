-- Readings score_anomaly flagged, one row per (meter, hour): written by write_hypertable in the
-- same transaction as the reading's row and the consumed offsets, so each flagged reading is stored
-- exactly once, and a corrected reading that is no longer flagged loses its row (latest wins).
CREATE TABLE anomalies (
  meter_id       text NOT NULL,
  time           timestamptz NOT NULL,
  building_id    text NOT NULL,
  site_id        text NOT NULL,
  meter_type     meter_type NOT NULL,
  value          double precision NOT NULL,
  expected_value double precision,
  anomaly_score  real NOT NULL CHECK (anomaly_score BETWEEN 0 AND 1),
  confidence     real NOT NULL,
  cold_start     boolean NOT NULL,
  model_version  text NOT NULL,
  features       jsonb NOT NULL,   -- the model inputs by name: what drove the score
  detected_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, time)
);
CREATE INDEX anomalies_building_time_idx ON anomalies (building_id, time DESC);
CREATE INDEX anomalies_time_idx ON anomalies (time DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON anomalies TO eaio_writer;
GRANT SELECT ON anomalies TO eaio_reader;
