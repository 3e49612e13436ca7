-- One single-row INSERT into a table shaped like events: the baseline
-- BenchmarkAppend is compared with (scripts/pgbench.sh runs it; sessiond bench embeds it).
INSERT INTO bench_events (stream_id, stream_version, event_id, type, data, metadata, prev_hash, hash)
VALUES ('session-' || gen_random_uuid(), 1, gen_random_uuid(), 'SessionRevoked',
        '{"sessionId":"s-1","userId":"u-1","reason":"bench","revokedBy":{"keyId":"k","keyName":"ops"}}',
        '{"requestId":"bench","sourceIp":"127.0.0.1"}',
        sha256(random()::text::bytea), sha256(random()::text::bytea));
