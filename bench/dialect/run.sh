#!/usr/bin/env bash
# bench/dialect/run.sh: a REST dialect route against the native /rpc call it
# maps onto, in one run on one bridge: seed 003's
# GET /api/calls/history?limit=20 on a --dialect port (route lookup,
# templates and $each in pgcall.dialect_http) vs POST /rpc/call_history
# {"limit": 20} on the bridge's own port (in a GET query string, limit is
# PostgREST's and not the function's), same user, same rows; wrk with
# BENCH_CLIENTS (default 16) connections for BENCH_SECONDS (10), alternated
# twice.
# Prints numbers; gates nothing.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
CLIENTS=${BENCH_CLIENTS:-16}
SECONDS_=${BENCH_SECONDS:-10}
INSTANCE=bench-dialect-$$
DB=pgcall_bench

ensure_packages "${RUN_PACKAGES[@]}" wrk
build

cleanup() {
	[ -n "${BRIDGE_PID:-}" ] && kill "$BRIDGE_PID" 2>/dev/null && wait "$BRIDGE_PID" 2>/dev/null
	pg_stop "$INSTANCE"
	rm -rf "$(instance_dir "$INSTANCE")"
}
trap cleanup EXIT
pg_start "$INSTANCE" "$(free_port)" fsync=off synchronous_commit=off full_page_writes=off
pg_env "$INSTANCE"
createdb "$DB"
psql -d "$DB" -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pgcall;
CREATE ROLE pgcall_authenticator LOGIN NOINHERIT;
GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
ALTER DATABASE pgcall_bench SET pgcall.rate_limit_calls = 0;
SQL
# 50 ended calls in the user's history
psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
SET LOCAL pgcall.rate_limit_calls = 0;
SET LOCAL ROLE pgcall_user;
SELECT set_config('request.jwt.claims', '{"sub": "u1", "role": "pgcall_user"}', true);
SELECT count(pgcall.call_end((pgcall.call_start(ARRAY['u' || (i % 7 + 2)]) #>> '{call,id}')::uuid))
  FROM generate_series(1, 50) i;
COMMIT;
SQL
SECRET=$(openssl rand -hex 32)
SECRET_FILE="$(instance_dir "$INSTANCE")/jwt-secret"
echo "$SECRET" >"$SECRET_FILE"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
p=$(printf '{"sub":"u1","role":"pgcall_user","exp":%d}' $((now + 3600)) | b64url)
s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC -macopt "key:$SECRET" -binary | b64url)
TOKEN="$h.$p.$s"

BPORT=$(free_port)
DPORT=$(free_port)
"$ROOT/worker/pgcall-bridge" --port "$BPORT" --dialect "seed003=$DPORT" \
	--db "host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" --jwt-secret-file "$SECRET_FILE" \
	--pool "$CLIENTS" --expire-interval 0 --log-level warn >"$(instance_dir "$INSTANCE")/bridge.log" 2>&1 &
BRIDGE_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$BPORT/health" >/dev/null && break; sleep 0.1; done
NATIVE="http://127.0.0.1:$BPORT/rpc/call_history"
DIALECT="http://127.0.0.1:$DPORT/api/calls/history?limit=20"
[ "$(curl -s -H "Authorization: Bearer $TOKEN" "$DIALECT" | grep -o '"direction"' | wc -l)" = 20 ] || die "the dialect route does not answer 20 calls"
[ "$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"limit": 20}' "$NATIVE" | grep -o '"direction"' | wc -l)" = 20 ] || die "/rpc does not answer 20 calls"

say "dialect: $CLIENTS clients, ${SECONDS_}s each, GET history of 20 calls"
wrk -t 2 -c "$CLIENTS" -d 2s -H "Authorization: Bearer $TOKEN" -s "$ROOT/bench/dialect/post_history.lua" "$NATIVE" >/dev/null
wrk -t 2 -c "$CLIENTS" -d 2s -H "Authorization: Bearer $TOKEN" "$DIALECT" >/dev/null
n_sum=0 d_sum=0
for round in 1 2; do
	for which in native dialect; do
		if [ "$which" = native ]; then
			w=$(wrk -t 2 -c "$CLIENTS" -d "${SECONDS_}s" --latency -H "Authorization: Bearer $TOKEN" \
				-s "$ROOT/bench/dialect/post_history.lua" "$NATIVE")
		else
			w=$(wrk -t 2 -c "$CLIENTS" -d "${SECONDS_}s" --latency -H "Authorization: Bearer $TOKEN" "$DIALECT")
		fi
		rps=$(echo "$w" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		echo "$w" | grep -E 'Non-2xx|Socket errors' || true
		echo "round $round $which: $rps req/s, $(echo "$w" | awk '$1 == "50%" {p50=$2} $1 == "99%" {p99=$2} END {print "p50 " p50 ", p99 " p99}')"
		if [ "$which" = native ]; then n_sum=$(awk -v a="$n_sum" -v b="$rps" 'BEGIN{print a+b}')
		else d_sum=$(awk -v a="$d_sum" -v b="$rps" 'BEGIN{print a+b}'); fi
	done
done
echo "dialect: /rpc $(awk -v a="$n_sum" 'BEGIN{printf "%.1f", a/2}') req/s, seed003 route $(awk -v a="$d_sum" 'BEGIN{printf "%.1f", a/2}') req/s (means of 2), ratio $(awk -v a="$d_sum" -v b="$n_sum" 'BEGIN{printf "%.2f", a/b}')"
