-- The guard of the single-round-trip append path: it raises when the log
-- head or an expected stream version is not what the writer assumed, so
-- the transaction aborts before anything is written and the writer falls
-- back to reading the current state.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION sessiond_expect(head bigint, streams text[], versions bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce((SELECT max(position) FROM events), 0) <> head THEN
        RAISE EXCEPTION 'log head is not %', head USING ERRCODE = 'SD002';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(streams, versions) AS x(s, v)
               WHERE coalesce((SELECT max(stream_version) FROM events WHERE stream_id = x.s), 0) <> x.v) THEN
        RAISE EXCEPTION 'a stream is not at its expected version' USING ERRCODE = 'SD002';
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sessiond_expect(bigint, text[], bigint[]);
