-- +goose Up
-- Personal data kept beside the log, erasable without touching the chain.
CREATE TABLE personal_data (
    ref          TEXT PRIMARY KEY,
    salt         BLOB NOT NULL,
    value        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_key_id TEXT NOT NULL DEFAULT '',
    recorded_at  TEXT NOT NULL
) STRICT;

CREATE INDEX personal_data_recorded_at ON personal_data (recorded_at);

-- +goose Down
DROP TABLE personal_data;
