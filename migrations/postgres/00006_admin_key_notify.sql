-- Every committed AdminKeyCreated or AdminKeyRevoked event is announced on
-- the channel sessiond_admin_keys (payload: its position), whichever
-- process appended it, so every server's in-memory key table follows the
-- log within milliseconds. NOTIFY is delivered at commit, never for a
-- rolled-back append. The WHEN clause keeps other events free of it.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION events_notify_admin_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sessiond_admin_keys', NEW.position::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_notify_admin_key
    AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.type IN ('AdminKeyCreated', 'AdminKeyRevoked'))
    EXECUTE FUNCTION events_notify_admin_key();

-- +goose Down
DROP TRIGGER events_notify_admin_key ON events;
DROP FUNCTION events_notify_admin_key();
