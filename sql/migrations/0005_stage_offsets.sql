-- Consumed offsets stored by sinks in the same transaction as their rows: on restart the sink's
-- consumer resumes from here, so at-least-once delivery has an exactly-once effect on the tables.
CREATE TABLE stage_offsets (
  consumer_group text NOT NULL,
  topic          text NOT NULL,
  partition      integer NOT NULL CHECK (partition >= 0),
  next_offset    bigint NOT NULL CHECK (next_offset >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);
