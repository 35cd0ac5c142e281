#!/usr/bin/env bash
# bench/session/run.sh: issue 10's throughput baseline of seed 000's
# "session" request (a caller starts a call and gets a 007 token).
#
#   bench/session/run.sh            (BENCH_SECONDS=3, BENCH_ROUNDS=7)
#
# In one run, on one cluster with stock durability:
#   http     wrk, 8 connections, 2 threads, random callers (1,000 users, a
#            JWT each) to random callees: the Node baseline's
#            POST /api/calls/session against pgcall-bridge's
#            POST /rpc/call_session, alternating, BENCH_ROUNDS rounds each
#   rpc-sql  pgbench of exactly the bridge's SQL for that request
#            (rpc_session.pgbench), 8 clients, alternating with the above
#   sql      pgbench -M prepared of call_session.pgbench against the floor
#            (floor.pgbench) at 1 and 8 clients, alternating
# Best of the rounds for each, and the ratios.  PGSS=1 also prints the top
# statements of pg_stat_statements (costs a little throughput).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/session"
. "$HERE/env.sh"
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-7}
CONNS=8

bench_up "$CONNS" 10 --expire-interval 0
machine_notes
node "$ROOT/bench/bridge/tokens.mjs" 1000 >"$BENCH_DIR/tokens.txt"
export TOKENS="$BENCH_DIR/tokens.txt"
PGB_CONN="host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator"

wrk_run() { # MODE URL SECONDS -> req/s
	local out
	out=$(MODE=$1 wrk -t 2 -c "$CONNS" -d "${3}s" --latency -s "$HERE/session.lua" "$2")
	echo "$out" | grep -E 'Non-2xx|Socket errors' >&2 || true
	echo "$out" | awk '/^Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {print rps, p50, p99}'
}
pgb_run() { # SCRIPT CLIENTS SECONDS MODE CONN -> tps latency_ms
	local out
	out=$(pgbench -n -M "$4" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$3" -f "$HERE/$1" "$5" 2>&1)
	echo "$out" | grep -E 'failed transactions: [1-9]|ERROR|error' >&2 || true
	echo "$out" | awk '/^tps =/ {tps=$3} /^latency average/ {lat=$4} END {print tps, lat}'
}
best() { sort -g -r | head -n 1; }

say "warm-up"
wrk_run node "$NODE_URL" 2 >/dev/null
wrk_run pgcall "$BRIDGE_URL" 2 >/dev/null
pgb_run rpc_session.pgbench 8 2 extended "$PGB_CONN" >/dev/null
pgb_run call_session.pgbench 8 2 prepared "$DB" >/dev/null
pgb_run floor.pgbench 8 2 prepared "$DB" >/dev/null

: >"$BENCH_DIR/results"
h_node() {
	read -r rps p50 p99 < <(wrk_run node "$NODE_URL" "$SECS")
	echo "round $r node-http $rps req/s p50 $p50 p99 $p99"; echo "node-http $rps - $r" >>"$BENCH_DIR/results"
}
h_pgcall() {
	read -r rps p50 p99 < <(wrk_run pgcall "$BRIDGE_URL" "$SECS")
	echo "round $r pgcall-http $rps req/s p50 $p50 p99 $p99"; echo "pgcall-http $rps - $r" >>"$BENCH_DIR/results"
}
s_rpc() {
	read -r tps lat < <(pgb_run rpc_session.pgbench 8 "$SECS" extended "$PGB_CONN")
	echo "round $r pgbench-bridge-sql-8 $tps tps lat $lat ms"; echo "rpc-8 $tps - $r" >>"$BENCH_DIR/results"
}
s_cs() {
	read -r tps lat < <(pgb_run call_session.pgbench "$c" "$SECS" prepared "$DB")
	echo "round $r pgbench-call_session-$c $tps tps lat $lat ms"; echo "cs-$c $tps $lat $r" >>"$BENCH_DIR/results"
}
s_floor() {
	read -r tps lat < <(pgb_run floor.pgbench "$c" "$SECS" prepared "$DB")
	echo "round $r pgbench-floor-$c $tps tps lat $lat ms"; echo "floor-$c $tps $lat $r" >>"$BENCH_DIR/results"
}
# Each pair runs back to back, in the opposite order every other round (the
# tables grow as calls accumulate).
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then h_node; h_pgcall; s_rpc; else s_rpc; h_pgcall; h_node; fi
	for c in 1 8; do
		if [ $((r % 2)) = 1 ]; then s_cs; s_floor; else s_floor; s_cs; fi
	done
done

b() { awk -v k="$1" '$1 == k {print $2}' "$BENCH_DIR/results" | best; }
lat() { awk -v k="$1" '$1 == k {print $3}' "$BENCH_DIR/results" | sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# median over rounds of the ratio of two measures taken in the same round
# (back to back, so under the same load from the machine's other users)
mratio() {
	awk -v a="$1" -v b="$2" '$1 == a {x[$4] = $2} $1 == b {y[$4] = $2}
		END {for (r in x) if (r in y && y[r] > 0) print x[r] / y[r]}' "$BENCH_DIR/results" |
		sort -g | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m}'
}
NODE=$(b node-http) PGH=$(b pgcall-http) RPC=$(b rpc-8)
CS1=$(b cs-1) FL1=$(b floor-1) CS8=$(b cs-8) FL8=$(b floor-8)
echo
echo "best of $ROUNDS rounds of ${SECS}s, $CONNS connections/clients unless noted; ratios of the bests"
printf '| %-52s | %18s |\n' "measure" "best"
printf '| %-52s | %18s |\n' "----" "----"
printf '| %-52s | %18s |\n' "Node baseline POST /api/calls/session (req/s)" "$NODE" \
	"pgcall-bridge POST /rpc/call_session (req/s)" "$PGH" \
	"pgbench, the bridge's SQL for it (tps)" "$RPC" \
	"pgbench call_session, 1 client (tps / ms)" "$CS1 / $(lat cs-1)" \
	"pgbench floor, 1 client (tps / ms)" "$FL1 / $(lat floor-1)" \
	"pgbench call_session, 8 clients (tps)" "$CS8" \
	"pgbench floor, 8 clients (tps)" "$FL8" \
	"ratio pgcall HTTP / Node" "$(ratio "$PGH" "$NODE")" \
	"ratio pgcall HTTP / pgbench same SQL" "$(ratio "$PGH" "$RPC")" \
	"ratio pgbench call_session / floor, 1 client" "$(ratio "$CS1" "$FL1")" \
	"ratio pgbench call_session / floor, 8 clients" "$(ratio "$CS8" "$FL8")"
echo
echo "median over rounds of the same-round ratio:"
printf '| %-52s | %18s |\n' "pgcall HTTP / Node" "$(mratio pgcall-http node-http)" \
	"pgcall HTTP / pgbench same SQL" "$(mratio pgcall-http rpc-8)" \
	"pgbench call_session / floor, 1 client" "$(mratio cs-1 floor-1)" \
	"pgbench call_session / floor, 8 clients" "$(mratio cs-8 floor-8)"
psql -d "$DB" -Atc "SELECT 'rows: pgcall.call ' || (SELECT count(*) FROM pgcall.call) || ', pgcall.event ' || (SELECT count(*) FROM pgcall.event) || ', node_calls.call_log ' || (SELECT count(*) FROM node_calls.call_log) || ', bare ' || (SELECT count(*) FROM bare)"
if [ "${PGSS:-0}" = 1 ]; then
	psql -d "$DB" -P pager=off -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25"
fi
