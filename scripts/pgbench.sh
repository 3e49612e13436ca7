#!/usr/bin/env bash
# Runs pgbench's single-row INSERT into an events-shaped table at 1, 8 and
# 32 clients, the baseline for BenchmarkAppend. Usage:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/pgbench.sh
set -euo pipefail
cd "$(dirname "$0")"
base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
secs=${SECONDS_PER_RUN:-10}
psql "$base" -qc 'DROP DATABASE IF EXISTS sessiond_bench' -c 'CREATE DATABASE sessiond_bench'
db="${base%/*}/sessiond_bench"
psql "$db" -q -f ../internal/bench/yardstick-setup.sql
for c in 1 8 32; do
  tps=$(pgbench -n -f ../internal/bench/yardstick-insert.sql -T "$secs" -c "$c" -j 2 "$db" 2>/dev/null | grep -E '^tps' | head -1)
  echo "pgbench -c $c: $tps"
done
psql "$base" -qc 'DROP DATABASE sessiond_bench'
