-- The read model: rebuilt from events at any time.

-- +goose Up
CREATE TABLE users (
    user_id        text        PRIMARY KEY,
    first_seen_at  timestamptz NOT NULL,
    first_position bigint      NOT NULL
);

CREATE TABLE sessions (
    session_id        text        PRIMARY KEY,
    user_id           text        NOT NULL,
    started_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    metadata          jsonb,
    revoked_at        timestamptz,
    revoked_by_key_id text,
    revoked_by        text,
    reason            text,
    version           int         NOT NULL,
    last_position     bigint      NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id, session_id);

CREATE TABLE admin_keys (
    key_id     text        PRIMARY KEY,
    name       text        NOT NULL,
    scopes     text[]      NOT NULL,
    key_hash   text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- +goose Down
DROP TABLE admin_keys;
DROP TABLE sessions;
DROP TABLE users;
