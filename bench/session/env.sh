# bench/session/env.sh: sourced by bench/session/run.sh, bench/ring/run.sh
# and bench/conference/run.sh.  Builds pgcall, starts a throwaway cluster
# with stock durability (fsync, synchronous_commit and full_page_writes on),
# a database with pgcall and the Node baseline's tables, pgcall-bridge and
# the Node baseline (bench/node-baseline/server.mjs) on free loopback ports,
# and stops all of it on exit.
#
# After bench_up: PGHOST/PGPORT/PGUSER, DB, BRIDGE_URL, NODE_URL,
# BENCH_SECRET (the bridge's JWT secret), BENCH_DIR (scratch directory),
# AGORA_APP_ID, AGORA_APP_CERTIFICATE.
#
# PGSS=1 loads pg_stat_statements (track=all) to see where the time goes;
# leave it off for the numbers.  BENCH_ORDER=lock runs pgcall without
# preloading (events ordered by NOTIFY's lock); the default preloads it
# with pgcall.event_order = horizon, as script/run does.  BENCH_SYNC=off runs with
# synchronous_commit=off (CPU cost without the WAL flush); the default is on.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/script/lib.sh"
INSTANCE=bench-session-$$
DB=pgcall_bench
BENCH_DIR=$(instance_dir "$INSTANCE")

bench_cleanup() {
	local rc=$?
	set +o errexit
	if [ "$rc" -ne 0 ]; then
		for f in bridge.log node.log; do
			[ -s "$BENCH_DIR/$f" ] && { say "$f:"; tail -n 20 "$BENCH_DIR/$f" >&2; }
		done
	fi
	if [ -n "${BRIDGE_PID:-}" ]; then kill "$BRIDGE_PID" 2>/dev/null; wait "$BRIDGE_PID" 2>/dev/null; fi
	if [ -n "${NODE_PID:-}" ]; then kill "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; fi
	pg_stop "$INSTANCE"
	rm -rf "$BENCH_DIR"
}

# bench_up BRIDGE_POOL NODE_POOL [bridge options...]
bench_up() {
	local bpool=$1 npool=$2; shift 2
	ensure_packages "${RUN_PACKAGES[@]}" wrk
	ensure_node
	build
	(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
	(cd "$ROOT/bench/node-baseline" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
	trap bench_cleanup EXIT
	# Stock durability: only lib.sh's listen/socket/shared_buffers settings
	# and enough connections.
	local extra=()
	[ "${PGSS:-0}" = 1 ] && extra=(shared_preload_libraries=pg_stat_statements pg_stat_statements.track=all)
	# BENCH_SYNC=off (not the default) takes the WAL flush out of every commit
	[ -n "${BENCH_SYNC:-}" ] && extra+=("synchronous_commit=$BENCH_SYNC")
	# BENCH_ORDER=lock: events ordered by NOTIFY's lock (no preloading), as
	# a server without shared_preload_libraries = 'pgcall' runs; the default
	# is the order script/run starts with, horizon.
	if [ "${BENCH_ORDER:-horizon}" = horizon ]; then
		if [ "${PGSS:-0}" = 1 ]; then
			extra=(shared_preload_libraries=pgcall,pg_stat_statements pg_stat_statements.track=all)
		else
			extra+=(shared_preload_libraries=pgcall)
		fi
		extra+=(pgcall.event_order=horizon pgcall.bridge_enabled=off)
	fi
	# free_port can lose a race with the machine's other users: retry.
	local try
	for try in 1 2 3 4; do
		(pg_start "$INSTANCE" "$(free_port)" max_connections=300 "${extra[@]}") && break
		[ "$try" = 4 ] && die "PostgreSQL did not start"
		say "retrying on another port"
	done
	pg_env "$INSTANCE"
	createdb "$DB"
	export AGORA_APP_ID AGORA_APP_CERTIFICATE
	AGORA_APP_ID=$(openssl rand -hex 16)
	AGORA_APP_CERTIFICATE=$(openssl rand -hex 16)
	# Rate limits off: the Node baseline has none, and a benchmark's few
	# hundred users make thousands of calls a minute each.
	psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 <<-SQL
	CREATE EXTENSION pgcall;
	CREATE ROLE pgcall_authenticator LOGIN NOINHERIT;
	GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
	ALTER DATABASE $DB SET pgcall.agora_app_id = '$AGORA_APP_ID';
	ALTER DATABASE $DB SET pgcall.rate_limit_calls = 0;
	ALTER DATABASE $DB SET pgcall.rate_limit_tokens = 0;
	ALTER DATABASE $DB SET pgcall.rate_limit_joins = 0;
	SELECT pgcall.set_secret('agora_app_certificate', '$AGORA_APP_CERTIFICATE');
	SQL
	psql -d "$DB" -q -v ON_ERROR_STOP=1 -f "$ROOT/bench/session/floor.sql"
	[ "${PGSS:-0}" = 1 ] && psql -d "$DB" -q -c 'CREATE EXTENSION pg_stat_statements'
	export BENCH_SECRET
	BENCH_SECRET=$(openssl rand -hex 32)
	echo "$BENCH_SECRET" >"$BENCH_DIR/jwt-secret"

	local bport nport ok
	for try in 1 2 3 4; do
		bport=$(free_port)
		"$ROOT/worker/pgcall-bridge" --port "$bport" \
			--db "host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" \
			--jwt-secret-file "$BENCH_DIR/jwt-secret" --pool "$bpool" --log-level warn "$@" \
			>"$BENCH_DIR/bridge.log" 2>&1 &
		BRIDGE_PID=$!
		ok=
		for _ in $(seq 1 50); do
			curl -fs "http://127.0.0.1:$bport/health" >/dev/null && { ok=1; break; }
			kill -0 "$BRIDGE_PID" 2>/dev/null || break
			sleep 0.1
		done
		[ -n "$ok" ] && break
		kill "$BRIDGE_PID" 2>/dev/null || true; wait "$BRIDGE_PID" 2>/dev/null || true
		BRIDGE_PID=
	done
	[ -n "$ok" ] || { cat "$BENCH_DIR/bridge.log" >&2; die "bridge did not start"; }
	# the Node baseline takes a port the kernel gives it and prints it
	PORT=0 PGDATABASE=$DB POOL_MAX=$npool node "$ROOT/bench/node-baseline/server.mjs" \
		>"$BENCH_DIR/node.log" 2>&1 &
	NODE_PID=$!
	export BRIDGE_URL="http://127.0.0.1:$bport" DB
	for _ in $(seq 1 100); do
		nport=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$BENCH_DIR/node.log")
		export NODE_URL="http://127.0.0.1:$nport"
		[ -n "$nport" ] && curl -fs "$BRIDGE_URL/health" >/dev/null && curl -fs "$NODE_URL/health" >/dev/null && return 0
		sleep 0.1
	done
	cat "$BENCH_DIR/bridge.log" "$BENCH_DIR/node.log" >&2
	die "bridge or Node baseline did not start"
}

# machine_notes: one line about where this ran.
machine_notes() {
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), $(psql -d "$DB" -Atc 'SHOW server_version'), fsync=$(psql -d "$DB" -Atc 'SHOW fsync') synchronous_commit=$(psql -d "$DB" -Atc 'SHOW synchronous_commit'), node $(node --version), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
}
