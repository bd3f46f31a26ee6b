-- Dead letters already handled, one row per entry of a dead-letter topic: sent back by
-- `eaio dlq replay`, or exported for correction by `eaio dlq export --mark`. A set of entries, not
-- an offset cursor per partition, because `--code` and content codes make the handled entries of a
-- partition non-contiguous (3 and 7 replayed, 5 not). The topic name carries the pipeline prefix
-- and the stage. `failed_at` is the entry's x-dlq-failed-at header: a row counts for the entry at
-- that offset only if they agree, so a deleted and re-created topic does not inherit old rows.
CREATE TABLE dlq_handled (
  dlq_topic  text NOT NULL,
  partition  integer NOT NULL CHECK (partition >= 0),
  dlq_offset bigint NOT NULL CHECK (dlq_offset >= 0),
  failed_at  text NOT NULL,
  action     text NOT NULL CHECK (action IN ('replayed', 'exported')),
  handled_at timestamptz NOT NULL DEFAULT now(),
  times      integer NOT NULL DEFAULT 1,
  PRIMARY KEY (dlq_topic, partition, dlq_offset)
);

-- Rows of entries the topic's retention deleted are removed by the dlq commands.
GRANT SELECT, INSERT, UPDATE, DELETE ON dlq_handled TO eaio_writer;
