-- The canonical archive (SPEC §7): every record of the platform topics, exactly once per
-- (topic, partition, offset). Raw bytes are kept for faithful replay; the JSON value and typed
-- columns serve reporting and reconciliation. Written by processors/archive (the archiver role).
CREATE TABLE archive_records (
  id               bigserial PRIMARY KEY,
  topic            text        NOT NULL,
  "partition"      integer     NOT NULL,
  "offset"         bigint      NOT NULL,
  record_timestamp timestamptz NOT NULL,
  "key"            bytea,
  "value"          bytea,
  value_json       jsonb,
  headers          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- Typed columns (null when the record does not carry them, e.g. a malformed dead letter).
  kind             text        NOT NULL, -- reward-event | redeem-event | reward-confirmed | redeem-confirmed | reward-dlq | redeem-dlq
  member_id        text,
  event_id         text,
  redemption_id    text,
  event_type       text,       -- EARN | REVERSAL
  original_event_id text,
  source           text,       -- HOTEL | CASINO | DINING (reward) or channel (redeem)
  property_id      text,
  amount_cents     bigint,
  points           bigint,     -- signed on reward-confirmed; requested points on redemptions
  status           text,       -- CONFIRMED | REJECTED
  reason           text,
  tier             text,
  rule_version     text,
  event_time       timestamptz, -- occurredAt / requestedAt
  error_code       text,       -- dead letters: error.code header
  archived_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT archive_records_topic_partition_offset UNIQUE (topic, "partition", "offset")
);

-- Member history (newest first) and reconciliation per member.
CREATE INDEX archive_records_member ON archive_records (member_id, kind, event_time);
-- Lookups by business id (replay dedupe, support questions).
CREATE INDEX archive_records_event_id ON archive_records (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX archive_records_redemption_id ON archive_records (redemption_id) WHERE redemption_id IS NOT NULL;
-- Reporting: per kind over time (points by source and day, dead letters by code).
CREATE INDEX archive_records_kind_time ON archive_records (kind, event_time);
