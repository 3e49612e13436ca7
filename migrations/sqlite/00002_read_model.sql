-- +goose Up
CREATE TABLE users (
    user_id        TEXT    PRIMARY KEY,
    first_seen_at  TEXT    NOT NULL,
    first_position INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    session_id        TEXT    PRIMARY KEY,
    user_id           TEXT    NOT NULL,
    started_at        TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL,
    metadata          TEXT,
    revoked_at        TEXT,
    revoked_by_key_id TEXT,
    revoked_by        TEXT,
    reason            TEXT,
    version           INTEGER NOT NULL,
    last_position     INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id, session_id);

-- scopes: comma-separated.
CREATE TABLE admin_keys (
    key_id     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

-- +goose Down
DROP TABLE admin_keys;
DROP TABLE sessions;
DROP TABLE users;
