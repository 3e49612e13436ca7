-- The append guard checks the head's hash as well as its position. A
-- writer that remembers the head from its own last commit would otherwise
-- chain onto an event the database no longer holds: after a failover to a
-- standby that missed the last commits (or a restore), another writer can
-- refill those positions with other events, and the remembered hash no
-- longer matches the event at that position. The chain would break for
-- good. The three-argument guard stays for binaries of the previous
-- version during a rolling upgrade.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION sessiond_expect(head bigint, head_hash bytea, streams text[], versions bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pos bigint;
    h bytea;
BEGIN
    SELECT e.position, e.hash INTO pos, h FROM events e ORDER BY e.position DESC LIMIT 1;
    IF coalesce(pos, 0) <> head OR (pos IS NOT NULL AND h IS DISTINCT FROM head_hash) THEN
        RAISE EXCEPTION 'log head is not % with the hash this writer chained onto', head USING ERRCODE = 'SD002';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(streams, versions) AS x(s, v)
               WHERE coalesce((SELECT max(stream_version) FROM events WHERE stream_id = x.s), 0) <> x.v) THEN
        RAISE EXCEPTION 'a stream is not at its expected version' USING ERRCODE = 'SD002';
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sessiond_expect(bigint, bytea, text[], bigint[]);
