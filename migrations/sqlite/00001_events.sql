-- +goose Up
-- The event log: the same columns as PostgreSQL's, in SQLite types.
-- Times are RFC 3339 UTC text with exactly six fractional digits, so they
-- sort as text; ids and JSON are text; hashes are blobs.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY CHECK (position > 0),
    stream_id      TEXT    NOT NULL,
    stream_version INTEGER NOT NULL CHECK (stream_version > 0),
    event_id       TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    data           TEXT    NOT NULL CHECK (json_valid(data)),
    metadata       TEXT    NOT NULL CHECK (json_valid(metadata)),
    recorded_at    TEXT    NOT NULL,
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    UNIQUE (stream_id, stream_version)
) STRICT;

CREATE INDEX events_type_position ON events (type, position);

-- Append-only: SQLite has no TRUNCATE; DELETE without WHERE fires the row
-- trigger too (triggers disable the truncate optimization).
-- +goose StatementBegin
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only: UPDATE is not allowed');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only: DELETE is not allowed');
END;
-- +goose StatementEnd

CREATE TABLE checkpoints (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL CHECK (position >= 0),
    updated_at TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE checkpoints;
DROP TRIGGER events_append_only_delete;
DROP TRIGGER events_append_only_update;
DROP TABLE events;
