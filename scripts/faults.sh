#!/usr/bin/env bash
# Runs N fault schedules (default 20) of the fault suite, seeds starting at
# FAULTS_FIRST_SEED (default: random), each FAULTS_DURATION seconds of faults
# (default 15), and prints one line per schedule and the totals. Failing
# schedules keep their seed, history, linearizability.html and logs in
# faults/out/seed-N; replay one with
#   FAULTS_SEED=N FAULTS_DURATION=S go test -count=1 -run TestFaults ./faults
# Usage: scripts/faults.sh [N]
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
first=${FAULTS_FIRST_SEED:-$(( (RANDOM << 15 | RANDOM) + 100 ))}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "fault suite: $n schedules from seed $first, ${FAULTS_DURATION:-15}s of faults each"
FAULTS_FIRST_SEED=$first FAULTS_SCHEDULES=$n go test -count=1 -timeout 0 -run '^TestFaults$' -v ./faults >"$log" 2>&1
status=$?
grep -E 'report_test.go:[0-9]+: seed [0-9]+:' "$log" | sed -E 's/^ *report_test.go:[0-9]+: //'
grep -E '^ *--- FAIL: TestFaults/' "$log"
awk '
  / seed [0-9]+: [0-9]+ operations/ {
    s++
    match($0, /: [0-9]+ operations/); ops += substr($0, RSTART+2, RLENGTH-13)
    match($0, /[0-9]+ faults injected/); f += substr($0, RSTART, RLENGTH-16)
    match($0, /[0-9]+ violations/); v += substr($0, RSTART, RLENGTH-11)
    if ($0 ~ /linearizability Unknown/) u++
  }
  END { printf "total: %d schedules, %d operations, %d faults injected, %d violations, %d linearizability checks timed out\n", s, ops, f, v, u }
' "$log"
if [ $status -ne 0 ]; then
  echo "FAILED (full log: kept as faults/out/faults.log); replay a failing seed with the command above"
  mkdir -p faults/out && cp "$log" faults/out/faults.log
fi
exit $status
