#!/usr/bin/env bash
# bench/webhooks/run.sh: webhook deliveries per second to a fast receiver and
# commit -> receiver latency, in one run with the event path's commit ->
# WebSocket latency (run.mjs).  Builds pgcall, starts a throwaway cluster
# with stock durability and pgcall-bridge on free loopback ports, stops them
# on exit.  BENCH_RATE (calls/s, 100), BENCH_SECONDS (10), BENCH_CALLERS (50),
# BENCH_BACKLOG (deliveries drained in the throughput phase, 5000),
# BENCH_INFLIGHT (--webhook-inflight, 64).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
INSTANCE=bench-webhooks-$$
DB=pgcall_bench
DIR=$(instance_dir "$INSTANCE")

cleanup() {
	set +o errexit
	[ -n "${BRIDGE_PID:-}" ] && { kill "$BRIDGE_PID"; wait "$BRIDGE_PID"; } 2>/dev/null
	pg_stop "$INSTANCE"
	rm -rf "$DIR"
}

ensure_packages "${RUN_PACKAGES[@]}"
ensure_node
build
(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
trap cleanup EXIT
for try in 1 2 3 4; do
	(pg_start "$INSTANCE" "$(free_port)" max_connections=100) && break
	[ "$try" = 4 ] && die "PostgreSQL did not start"
done
pg_env "$INSTANCE"
createdb "$DB"
psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 <<-SQL
CREATE EXTENSION pgcall;
DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgcall_authenticator') THEN
    CREATE ROLE pgcall_authenticator LOGIN NOINHERIT; END IF; END \$\$;
GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
ALTER DATABASE $DB SET pgcall.rate_limit_calls = 0;
ALTER DATABASE $DB SET pgcall.webhook_allow_private = on;
SQL
export BENCH_SECRET DB
BENCH_SECRET=$(openssl rand -hex 32)
echo "$BENCH_SECRET" >"$DIR/jwt-secret"
port=$(free_port)
"$ROOT/worker/pgcall-bridge" --port "$port" --db "host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" \
	--jwt-secret-file "$DIR/jwt-secret" --log-level warn --webhook-inflight "${BENCH_INFLIGHT:-64}" \
	>"$DIR/bridge.log" 2>&1 &
BRIDGE_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
export BRIDGE_URL="http://127.0.0.1:$port" BRIDGE_PID
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(psql -d "$DB" -Atc 'SHOW server_version'), fsync=$(psql -d "$DB" -Atc 'SHOW fsync') synchronous_commit=$(psql -d "$DB" -Atc 'SHOW synchronous_commit'), node $(node --version)"
node "$ROOT/bench/webhooks/run.mjs"
