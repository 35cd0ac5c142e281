#!/usr/bin/env bash
# bench/failover/run.sh: how long a bridge on a multi-host --db takes to be
# healthy again after a standby is promoted.  Runs test 47-failover
# BENCH_RUNS (3) times for each outage in BENCH_OUTAGES_MS ("0 10000"), the
# time between the primary's immediate stop and `pg_ctl promote` (the longer
# the outage, the longer the bridge's reconnect back-off has grown), and
# prints the test's own measurement of each run.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
set -euo pipefail
runs=${BENCH_RUNS:-3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for outage in ${BENCH_OUTAGES_MS:-0 10000}; do
	for i in $(seq 1 "$runs"); do
		FAILOVER_OUTAGE_MS=$outage "$ROOT/script/test" 47-failover >"$log" 2>&1 ||
			{ tail -n 40 "$log" >&2; exit 1; }
		grep '^# failover:' "$log"
	done
done
