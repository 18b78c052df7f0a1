-- Records the archive database refused (docs/archive.md, "Rows the database refuses"): a value
-- PostgreSQL will not store (e.g. JSON with a lone surrogate, SQLSTATE 22P02), kept here with the
-- refusal so the archiver can move past it. Raw bytes only: whatever the database refused in the
-- typed columns cannot be in this row. One row per record (a re-read inserts nothing new).
CREATE TABLE archive_dead_letters (
  id               bigserial   PRIMARY KEY,
  topic            text        NOT NULL,
  "partition"      integer     NOT NULL,
  "offset"         bigint      NOT NULL,
  record_timestamp timestamptz,
  "key"            bytea,
  "value"          bytea,
  error_code       text,        -- SQLSTATE of the refusal, e.g. 22P02
  error_message    text         NOT NULL,
  dead_lettered_at timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT archive_dead_letters_topic_partition_offset UNIQUE (topic, "partition", "offset")
);
CREATE INDEX archive_dead_letters_dead_lettered_at ON archive_dead_letters (dead_lettered_at);
