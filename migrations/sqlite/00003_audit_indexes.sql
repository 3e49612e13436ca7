-- +goose Up
-- Indexes for the audit API's user and session filters.
CREATE INDEX events_user_position ON events (data ->> '$.userId', position);
CREATE INDEX events_session_position ON events (data ->> '$.sessionId', position);
CREATE INDEX events_recorded_at ON events (recorded_at);

-- +goose Down
DROP INDEX events_recorded_at;
DROP INDEX events_session_position;
DROP INDEX events_user_position;
