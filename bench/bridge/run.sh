#!/usr/bin/env bash
# bench/bridge/run.sh: benchmarks of pgcall-bridge, each against a baseline
# measured in the same run on this machine.  Prints numbers; gates nothing.
#
#   bench/bridge/run.sh [http|events|idle|storm|ab]...   (default: the first four)
#
#   http    wrk on POST /rpc/call_start vs pgbench running the same two
#           statements (identity, pgcall.rpc) in pipeline mode, at the same
#           concurrency (BENCH_CLIENTS, default 16) for BENCH_SECONDS (10)
#   events  commit -> client latency of call.signal events at BENCH_RATE
#           (1000/s) spread over BENCH_SOCKETS (1000) WebSocket clients
#   idle    resident memory of the bridge per idle authenticated WebSocket,
#           with BENCH_IDLE (10000) clients
#   storm   BENCH_STORM (10000) WebSocket clients opened at once: how many
#           are welcomed, and how long it takes against 500 at a time
#   ab      this build against another (BENCH_BASELINE=path of its
#           pgcall-bridge) in the same cluster: wrk on POST /rpc/call_start
#           to both bridges, up at once, in the order A B B A A B, and the
#           events benchmark on each in the order A B B A
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
HERE="$ROOT/bench/bridge"
CLIENTS=${BENCH_CLIENTS:-16}
SECONDS_=${BENCH_SECONDS:-10}
INSTANCE=bench-$$
DB=pgcall_bench

ensure_packages "${RUN_PACKAGES[@]}" wrk
ensure_node
build
(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)

cleanup() {
	for pid in ${BRIDGE_PID:-} ${AB_PIDS:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	pg_stop "$INSTANCE"
	rm -rf "$(instance_dir "$INSTANCE")"
}
trap cleanup EXIT
pg_start "$INSTANCE" "$(free_port)" fsync=off synchronous_commit=off full_page_writes=off max_connections=400
pg_env "$INSTANCE"
createdb "$DB"
psql -d "$DB" -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pgcall;
CREATE ROLE pgcall_authenticator LOGIN NOINHERIT;
GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
SQL
SECRET=$(openssl rand -hex 32)
SECRET_FILE="$(instance_dir "$INSTANCE")/jwt-secret"
echo "$SECRET" >"$SECRET_FILE"
export BENCH_SECRET="$SECRET"
CONN="host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator"

# start_bridge POOL [OPTION...]: the binary is $BRIDGE (default: this tree's)
start_bridge() {
	BPORT=$(free_port)
	"${BRIDGE:-$ROOT/worker/pgcall-bridge}" --port "$BPORT" --db "$CONN" --jwt-secret-file "$SECRET_FILE" \
		--pool "$1" --expire-interval 0 --log-level warn "${@:2}" >"$(instance_dir "$INSTANCE")/bridge-$BPORT.log" 2>&1 &
	BRIDGE_PID=$!
	for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$BPORT/health" >/dev/null && return 0; sleep 0.1; done
	cat "$(instance_dir "$INSTANCE")/bridge-$BPORT.log" >&2
	die "bridge did not start"
}
stop_bridge() { kill "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null; BRIDGE_PID=; }

bench_http() {
	say "http: $CLIENTS clients, ${SECONDS_}s each, call_start by random users"
	node "$HERE/tokens.mjs" 20000 >"$(instance_dir "$INSTANCE")/tokens.txt"
	start_bridge "$CLIENTS"
	# warm up both paths, then measure pgbench and wrk back to back
	pgbench -n -M extended -c "$CLIENTS" -j 2 -T 2 -f "$HERE/call_start.pgbench" \
		"host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" >/dev/null 2>&1
	TOKENS="$(instance_dir "$INSTANCE")/tokens.txt" wrk -t 2 -c "$CLIENTS" -d 2s -s "$HERE/call_start.lua" \
		"http://127.0.0.1:$BPORT" >/dev/null
	# Alternate the two twice: the tables grow as calls accumulate, so a
	# fixed order would favour whichever side runs first.
	local pg_sum=0 w_sum=0
	for round in 1 2; do
		pg=$(pgbench -n -M extended -c "$CLIENTS" -j 2 -T "$SECONDS_" -f "$HERE/call_start.pgbench" \
			"host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" 2>&1)
		echo "$pg" | grep -E 'tps|latency average|failed'
		w=$(TOKENS="$(instance_dir "$INSTANCE")/tokens.txt" wrk -t 2 -c "$CLIENTS" -d "${SECONDS_}s" --latency \
			-s "$HERE/call_start.lua" "http://127.0.0.1:$BPORT")
		echo "$w" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors'
		pgtps=$(echo "$pg" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1)
		wrps=$(echo "$w" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		echo "http round $round: bridge ${wrps} req/s, pgbench ${pgtps} tps"
		pg_sum=$(awk -v a="$pg_sum" -v b="$pgtps" 'BEGIN{print a+b}')
		w_sum=$(awk -v a="$w_sum" -v b="$wrps" 'BEGIN{print a+b}')
	done
	echo "http: bridge $(awk -v a="$w_sum" 'BEGIN{printf "%.1f", a/2}') req/s, pgbench $(awk -v a="$pg_sum" 'BEGIN{printf "%.1f", a/2}') tps (means of 2), ratio $(awk -v a="$w_sum" -v b="$pg_sum" 'BEGIN{printf "%.2f", a/b}')"
	stop_bridge
}

bench_events() {
	say "events: ${BENCH_RATE:-1000}/s over ${BENCH_SOCKETS:-1000} sockets for ${SECONDS_}s"
	start_bridge 8
	BENCH_URL="http://127.0.0.1:$BPORT" BENCH_DB="$DB" node "$HERE/events.mjs"
	stop_bridge
}

bench_idle() {
	say "idle: ${BENCH_IDLE:-10000} authenticated WebSocket clients"
	start_bridge 8 --heartbeat 60000
	BENCH_URL="http://127.0.0.1:$BPORT" BENCH_PID="$BRIDGE_PID" node "$HERE/idle.mjs"
	stop_bridge
}

bench_storm() {
	say "storm: ${BENCH_STORM:-10000} WebSocket clients at once"
	start_bridge 8 --heartbeat 60000
	BENCH_URL="http://127.0.0.1:$BPORT" node "$HERE/storm.mjs"
	stop_bridge
}

bench_ab() {
	[ -x "${BENCH_BASELINE:-}" ] || die "ab: set BENCH_BASELINE to the baseline's pgcall-bridge"
	local tokens a_port b_port a_sum=0 b_sum=0 n=0
	say "ab: A = $BENCH_BASELINE, B = this tree's bridge; http with $CLIENTS connections, ${SECONDS_}s each"
	tokens="$(instance_dir "$INSTANCE")/tokens.txt"
	node "$HERE/tokens.mjs" 20000 >"$tokens"
	BRIDGE=$BENCH_BASELINE start_bridge "$CLIENTS"
	a_port=$BPORT
	AB_PIDS="$BRIDGE_PID"
	BRIDGE= start_bridge "$CLIENTS"
	b_port=$BPORT
	AB_PIDS="$AB_PIDS $BRIDGE_PID"
	BRIDGE_PID=
	for p in "$a_port" "$b_port"; do
		TOKENS="$tokens" wrk -t 2 -c "$CLIENTS" -d 2s -s "$HERE/call_start.lua" "http://127.0.0.1:$p" >/dev/null
	done
	for side in A B B A A B; do
		local port=$a_port
		[ "$side" = B ] && port=$b_port
		w=$(TOKENS="$tokens" wrk -t 2 -c "$CLIENTS" -d "${SECONDS_}s" --latency -s "$HERE/call_start.lua" \
			"http://127.0.0.1:$port")
		wrps=$(echo "$w" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		echo "ab http $side: ${wrps} req/s, p50 $(echo "$w" | awk '$1 == "50%" {print $2}'), p99 $(echo "$w" | awk '$1 == "99%" {print $2}')"
		if [ "$side" = A ]; then a_sum=$(awk -v a="$a_sum" -v b="$wrps" 'BEGIN{print a+b}'); else b_sum=$(awk -v a="$b_sum" -v b="$wrps" 'BEGIN{print a+b}'); fi
	done
	echo "ab http: A $(awk -v a="$a_sum" 'BEGIN{printf "%.1f", a/3}') req/s, B $(awk -v a="$b_sum" 'BEGIN{printf "%.1f", a/3}') req/s (means of 3), ratio B/A $(awk -v a="$a_sum" -v b="$b_sum" 'BEGIN{printf "%.3f", b/a}')"
	for pid in $AB_PIDS; do kill "$pid"; wait "$pid" 2>/dev/null; done
	AB_PIDS=
	n=0
	for side in A B B A; do
		n=$((n + 1))
		if [ "$side" = A ]; then BRIDGE=$BENCH_BASELINE start_bridge 8; else BRIDGE= start_bridge 8; fi
		echo "ab events $side:"
		BENCH_URL="http://127.0.0.1:$BPORT" BENCH_DB="$DB" BENCH_PREFIX="ab$n" node "$HERE/events.mjs"
		stop_bridge
	done
}

for what in "${@:-http events idle storm}"; do
	for w in $what; do "bench_$w"; done
done
