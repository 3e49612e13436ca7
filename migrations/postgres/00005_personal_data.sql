-- Personal data (source IPs, user agents) kept beside the log so it can be
-- erased without touching the hash chain: events hold only
-- "pd:<hex SHA-256(salt || value)>" references.

-- +goose Up
CREATE TABLE personal_data (
    ref          text        PRIMARY KEY,
    salt         bytea       NOT NULL,
    value        text        NOT NULL,
    kind         text        NOT NULL,
    actor_key_id text        NOT NULL DEFAULT '',
    recorded_at  timestamptz NOT NULL
);

CREATE INDEX personal_data_recorded_at ON personal_data (recorded_at);

-- +goose Down
DROP TABLE personal_data;
