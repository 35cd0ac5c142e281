#!/usr/bin/env bash
# bench/conference/run.sh: issue 10's fan-out cost, BENCH_JOINERS (1000)
# people joining one public conference one after another, each with an open
# WebSocket through the bridge (run.mjs).  Same cluster set-up as
# bench/session.
#   bench/conference/run.sh      (BENCH_JOIN_MS=40 between joins, BENCH_ACCEPTS=100,
#                                 bounded by BENCH_MAX_SECONDS, 300)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/session/env.sh"
ulimit -n 65536 2>/dev/null || true   # 1,000 sockets on each side
bench_up 8 10
machine_notes
export BENCH_IDS="$BENCH_DIR/ids"
node "$ROOT/bench/conference/run.mjs"
. "$BENCH_IDS"
# The database's cost of a join (one client, no socket open, statement
# latency from pgbench -r) in the 10-person and the 1,001-person
# (N+1)
# conference, and of a call_accept, alternating, best of BENCH_ROUNDS (3).
HERE="$ROOT/bench/conference"
stmt_ms() { # SCRIPT [VAR=VALUE] -> latency of the statement matching $PAT
	local out
	out=$(pgbench -n -M prepared -c 1 -T "${BENCH_SECONDS:-5}" -r -f "$HERE/$1" ${2:+-D "$2"} "$DB" 2>&1) ||
		{ echo "$out" | tail -n 3 >&2; echo "?"; return 0; }
	echo "$out" | awk -v pat="$PAT" 'index($0, pat) && !done {print $1; done = 1}'
}
for round in $(seq 1 "${BENCH_ROUNDS:-3}"); do
	s=$(PAT=call_join stmt_ms join.pgbench "call=$small")
	b=$(PAT=call_join stmt_ms join.pgbench "call=$big")
	a=$(PAT=call_accept stmt_ms accept.pgbench)
	echo "pgbench round $round, statement ms: call_join at 10 people $s, at $(( ${BENCH_JOINERS:-1000} + 1 )) people $b, call_accept $a"
done
cj=$(psql -d "$DB" -Atq -c "SET pgcall.user_id = 'cf-host'" -c '\timing on' -c "SELECT length(pgcall.call_get('$big')::text)" | tail -n 1)
echo "call_get of the $(( ${BENCH_JOINERS:-1000} + 1 ))-person call (its reply, as call_join returns it): $cj"
