#!/usr/bin/env bash
# bench/embedded/run.sh: the embedded bridge against the standalone daemon,
# in one run on one cluster (shared_preload_libraries = 'pgcall'): the same
# binary, the same options, the same database; only who starts it differs
# (the supervisor, over the Unix socket, or this script, over the same
# socket).  Both run side by side the whole time; each measurement hits one.
#
#   bench/embedded/run.sh            http and events
#
#   http    wrk on POST /rpc/call_start (bench/bridge/call_start.lua),
#           BENCH_CLIENTS (16) connections for BENCH_SECONDS (10), the two
#           bridges alternating in ABBA order over BENCH_ROUNDS (4) rounds
#   events  commit -> client latency (bench/bridge/events.mjs) at BENCH_RATE
#           (1000/s) over BENCH_SOCKETS (1000) sockets, once per bridge, in
#           alternating order over two rounds
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
HERE="$ROOT/bench/bridge"
CLIENTS=${BENCH_CLIENTS:-16}
SECONDS_=${BENCH_SECONDS:-10}
INSTANCE=bench-emb-$$
DB=pgcall_bench

ensure_packages "${RUN_PACKAGES[@]}" wrk
ensure_node
build
(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
dir=$(instance_dir "$INSTANCE")

cleanup() {
	[ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	pg_stop "$INSTANCE"
	rm -rf "$dir"
}
trap cleanup EXIT
pg_start "$INSTANCE" "$(free_port)" shared_preload_libraries=pgcall fsync=off synchronous_commit=off \
	full_page_writes=off max_connections=400
pg_env "$INSTANCE"
createdb "$DB"
SECRET=$(openssl rand -hex 32)
psql -d "$DB" -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pgcall;
CREATE ROLE pgcall_authenticator LOGIN NOINHERIT;
GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
SELECT pgcall.set_secret('jwt_secret', '$SECRET');
SQL
export BENCH_SECRET="$SECRET"
OPTS="--pool $CLIENTS --expire-interval 0 --log-level warn"

EPORT=$(free_port)
psql -d "$DB" -q -v ON_ERROR_STOP=1 <<SQL
ALTER SYSTEM SET pgcall.bridge_database = '$DB';
ALTER SYSTEM SET pgcall.bridge_port = $EPORT;
ALTER SYSTEM SET pgcall.bridge_options = '$OPTS';
SELECT pg_reload_conf();
SQL
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$EPORT/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$EPORT/health" >/dev/null || { tail "$dir/postgres.log"; die "the embedded bridge did not start"; }

DPORT=$(free_port)
(umask 077 && echo "$SECRET" >"$dir/jwt-secret")
# shellcheck disable=SC2086
"$ROOT/worker/pgcall-bridge" --port "$DPORT" --db "host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" \
	--jwt-secret-file "$dir/jwt-secret" $OPTS >"$dir/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$DPORT/health" >/dev/null && break; sleep 0.1; done

say "embedded bridge on port $EPORT, daemon on port $DPORT"
node "$HERE/tokens.mjs" 20000 >"$dir/tokens.txt"

wrk_rps() {	# wrk_rps PORT SECONDS
	TOKENS="$dir/tokens.txt" wrk -t 2 -c "$CLIENTS" -d "${2}s" --latency -s "$HERE/call_start.lua" \
		"http://127.0.0.1:$1" | tee -a "$dir/wrk.txt" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}

say "http: $CLIENTS connections, ${SECONDS_}s each"
wrk_rps "$EPORT" 2 >/dev/null
wrk_rps "$DPORT" 2 >/dev/null
# ABBA order over BENCH_ROUNDS (4) rounds: the tables grow as calls
# accumulate and other load comes and goes, so neither side always goes first.
ROUNDS=${BENCH_ROUNDS:-4}
e_sum=0 d_sum=0
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then e=$(wrk_rps "$EPORT" "$SECONDS_"); d=$(wrk_rps "$DPORT" "$SECONDS_")
	else d=$(wrk_rps "$DPORT" "$SECONDS_"); e=$(wrk_rps "$EPORT" "$SECONDS_"); fi
	echo "http round $round: embedded $e req/s, daemon $d req/s"
	e_sum=$(awk -v a="$e_sum" -v b="$e" 'BEGIN{print a+b}')
	d_sum=$(awk -v a="$d_sum" -v b="$d" 'BEGIN{print a+b}')
done
echo "http: embedded $(awk -v a="$e_sum" -v n="$ROUNDS" 'BEGIN{printf "%.1f", a/n}') req/s, daemon $(awk -v a="$d_sum" -v n="$ROUNDS" 'BEGIN{printf "%.1f", a/n}') req/s (means of $ROUNDS), ratio embedded/daemon $(awk -v a="$e_sum" -v b="$d_sum" 'BEGIN{printf "%.2f", a/b}')"

say "events: ${BENCH_RATE:-1000}/s over ${BENCH_SOCKETS:-1000} sockets for ${SECONDS_}s"
export BENCH_SECONDS="$SECONDS_"
for run in e1 d1 d2 e2; do
	case $run in e*) port=$EPORT; who=embedded ;; *) port=$DPORT; who=daemon ;; esac
	echo -n "$who ($run) "
	BENCH_PREFIX=$run BENCH_URL="http://127.0.0.1:$port" BENCH_DB="$DB" node "$HERE/events.mjs" | tail -n 2 | tr '\n' ' '
	echo
done
