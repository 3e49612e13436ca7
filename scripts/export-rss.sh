#!/usr/bin/env bash
# Measures the peak RSS of `sessiond audit export` over a large log, to show
# that exports stream (flat memory) rather than buffer. For each size it
# creates a scratch database sessiond_rss_<N>, migrates it, seeds N
# SessionRevoked events with one INSERT ... SELECT generate_series (the hash
# chain is NOT valid: it only has the right shape), vacuums it, then runs under
# /usr/bin/time -v:
#   csv     audit export --format csv     (all N events)
#   ndjson  audit export --format ndjson  (all N events)
#   csv u7  audit export --format csv --user u7  (N/1000 events, baseline)
# and prints a table. The scratch databases are dropped on exit.
#
# Usage:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/export-rss.sh [N ...]
# N defaults to 1000000; several sizes (e.g. 100000 1000000) compare RSS
# against export size. DATABASE_URL must name a server where this role may
# CREATE DATABASE. SESSIOND_BIN selects a prebuilt binary; otherwise the
# script builds ./cmd/sessiond into a temporary directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "export-rss: $n is not a positive number of events" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "export-rss: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 1; }
command -v psql >/dev/null || { echo "export-rss: psql is missing" >&2; exit 1; }

# The URL of database $1 on the same server, keeping any ?query.
base=${url%%\?*}
query=${url#"$base"}
db_url() { printf '%s/%s%s' "${base%/*}" "$1" "$query"; }
q() { PGOPTIONS='-c client_min_messages=warning' psql -qX -v ON_ERROR_STOP=1 "$@"; }

tmp=$(mktemp -d)
created=()
cleanup() {
  local d
  for d in "${created[@]}"; do
    q "$url" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

bin=${SESSIOND_BIN:-}
if [ -z "$bin" ]; then
  echo "building sessiond..." >&2
  (cd "$root" && go build -o "$tmp/sessiond" ./cmd/sessiond)
  bin=$tmp/sessiond
fi

now_ns() { date +%s%N; }

# seed DB N: create, migrate and fill DB with N events.
seed() {
  local db=$1 n=$2 t0
  q "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  created+=("$db")
  DATABASE_URL=$(db_url "$db") "$bin" migrate >/dev/null 2>"$tmp/migrate.err" || { cat "$tmp/migrate.err" >&2; return 1; }
  t0=$(now_ns)
  q "$(db_url "$db")" -v n="$n" >/dev/null <<'SQL'
INSERT INTO events (position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash)
SELECT i, 'session-s' || i, 1, gen_random_uuid(), 'SessionRevoked',
       jsonb_build_object('sessionId', 's' || i, 'userId', 'u' || (i % 1000), 'reason', 'load test',
                          'revokedAt', '2026-03-01T14:03:00Z', 'expiresAt', '2026-03-02T14:03:00Z',
                          'revokedBy', jsonb_build_object('keyId', 'k1', 'keyName', 'ops')),
       jsonb_build_object('actor', jsonb_build_object('keyId', 'k1', 'keyName', 'ops'),
                          'requestId', 'r' || i, 'sourceIp', '10.0.0.1', 'userAgent', 'curl/8'),
       now() + i * interval '1 ms',
       CASE WHEN i = 1 THEN decode(repeat('00', 32), 'hex') ELSE sha256(int8send(i - 1)) END,
       sha256(int8send(i))
FROM generate_series(1, :n) AS i;
VACUUM (ANALYZE) events; -- sets hint bits now, not during the first export
SQL
  echo "seeded $n events into $db in $(( ($(now_ns) - t0) / 1000000 )) ms" >&2
}

rows=()
# measure DB N EXPECTED LABEL ARGS...: one export under /usr/bin/time -v.
measure() {
  local db=$1 n=$2 want=$3 label=$4; shift 4
  local t0 t1 got kb ms rate
  t0=$(now_ns)
  DATABASE_URL=$(db_url "$db") /usr/bin/time -v -o "$tmp/time" "$bin" audit export "$@" >/dev/null 2>"$tmp/err" \
    || { cat "$tmp/err" "$tmp/time" >&2; return 1; }
  t1=$(now_ns)
  got=$(sed -n 's/^exported \([0-9]*\) events$/\1/p' "$tmp/err")
  if [ "$got" != "$want" ]; then
    echo "export-rss: $label on $n events exported ${got:-?} events, want $want" >&2
    cat "$tmp/err" >&2
    return 1
  fi
  kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$tmp/time")
  ms=$(( (t1 - t0) / 1000000 ))
  rate=$(( got * 1000 / (ms > 0 ? ms : 1) ))
  rows+=("$(printf '%10d  %-14s %10d  %9.1f  %9.2f  %10d' "$n" "$label" "$got" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')" "$rate")")
  echo "$label on $n: $got events, ${kb} KB max RSS, ${ms} ms" >&2
}

for n in "${sizes[@]}"; do
  db=sessiond_rss_$n
  seed "$db" "$n"
  u7=$(( n >= 7 ? (n - 7) / 1000 + 1 : 0 ))
  measure "$db" "$n" "$n" csv --format csv
  measure "$db" "$n" "$n" ndjson --format ndjson
  measure "$db" "$n" "$u7" "csv --user u7" --format csv --user u7
  q "$url" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
done

printf '\n%10s  %-14s %10s  %9s  %9s  %10s\n' "log size" mode exported "peak MB" "wall s" "events/s"
printf '%s\n' "${rows[@]}"
