-- The W3C trace id of each archived record (from its `traceparent` header: HTTP ingestion →
-- processing → archive share it), to find every record of one request.
ALTER TABLE archive_records ADD COLUMN trace_id text;
CREATE INDEX archive_records_trace_id ON archive_records (trace_id) WHERE trace_id IS NOT NULL;
