#!/usr/bin/env bash
# bench/session/instructions.sh: instructions per call_session, per floor
# transaction and per call lifecycle (call_start, call_accept, call_end),
# counted by callgrind in a single-user backend; they do not depend on
# what else the machine runs.
#
#   bench/session/instructions.sh            (N=200)
#   KINDS="session" (default "session floor lifecycle")
#                     also "rpc": call_session as pgcall-bridge sends
#                     POST /rpc/call_session (its set_configs, pgcall.rpc)
#                     also "joinsmall joinbig": a rejoin and a leave of one
#                     of 9 members of a 10-person or a JOIN_PEOPLE (1001)
#                     person public conference (compare with call_accept
#                     in lifecycle: CALLGRIND_KEEP and callgrind_annotate)
#   FOLLOWED=1        with one presence subscription (of other users)
#   CALLGRIND_KEEP=DIR bench/session/instructions.sh
#   CALLGRIND_OPTS="--separate-callers2=pgcall_exec"   more valgrind options
#                     also keeps the callgrind outputs in DIR, for
#                     callgrind_annotate --inclusive=yes DIR/callgrind.session.<2N>
#
# Each workload runs N and 2N times in a fresh backend on one throwaway
# cluster (stock settings, Agora configured, rate limits off as in
# run.sh); the difference over N is the cost of one, start-up excluded.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
N=${N:-200}
INSTANCE=bench-instr-$$
DB=pgcall_bench
DIR=$(instance_dir "$INSTANCE")
cleanup() { pg_stop "$INSTANCE"; rm -rf "$DIR"; }
trap cleanup EXIT

ensure_packages "${RUN_PACKAGES[@]}" valgrind
build
pg_start "$INSTANCE" "$(free_port)"
pg_env "$INSTANCE"
createdb "$DB"
APP_ID=$(openssl rand -hex 16)
psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 <<-SQL
CREATE EXTENSION pgcall;
SELECT pgcall.set_secret('agora_app_certificate', '$(openssl rand -hex 16)');
SQL
psql -d "$DB" -q -v ON_ERROR_STOP=1 -f "$ROOT/bench/session/floor.sql"
# FOLLOWED=1: one presence subscription between two other users, so that a
# commit's look for followers runs its query (an empty table has no page)
[ "${FOLLOWED:-0}" = 1 ] && psql -d "$DB" -q -c "INSERT INTO pgcall.presence_subscription VALUES ('fan', 'star')"
# two public conferences for KINDS=join: 10 and JOIN_PEOPLE people
if [[ " ${KINDS:-} " == *" join"* ]]; then
	psql -d "$DB" -q -v ON_ERROR_STOP=1 -o /dev/null <<-SQL
	SET pgcall.rate_limit_joins = 0; SET pgcall.rate_limit_calls = 0; SET pgcall.rate_limit_tokens = 0;
	SET pgcall.agora_app_id = '$APP_ID';
	CREATE TABLE bench_conf(name text PRIMARY KEY, id uuid);
	DO \$\$ BEGIN
		PERFORM set_config('pgcall.user_id', 'cf-host', true);
		INSERT INTO bench_conf SELECT 'small', (pgcall.conference_create('small', is_public => true, max_participants => 20)->'call'->>'id')::uuid;
		INSERT INTO bench_conf SELECT 'big', (pgcall.conference_create('big', is_public => true, max_participants => ${JOIN_PEOPLE:-1001} + 10)->'call'->>'id')::uuid;
	END \$\$;
	DO \$\$ DECLARE i int; BEGIN   -- a history of 2,000 direct calls, so plans are those of a used database
		FOR i IN 1..2000 LOOP
			PERFORM set_config('pgcall.user_id', 'ph-a' || i, true);
			PERFORM pgcall.call_session('ph-b' || i, 'voice');
		END LOOP;
	END \$\$;
	DO \$\$ DECLARE i int; BEGIN
		FOR i IN 1..9 LOOP
			PERFORM set_config('pgcall.user_id', 'pj-' || i, true);
			PERFORM pgcall.call_join((SELECT id FROM bench_conf WHERE name = 'small'));
		END LOOP;
		FOR i IN 1..${JOIN_PEOPLE:-1001} - 1 LOOP
			PERFORM set_config('pgcall.user_id', 'pj-' || i, true);
			PERFORM pgcall.call_join((SELECT id FROM bench_conf WHERE name = 'big'));
		END LOOP;
	END \$\$;
	ANALYZE;  -- as autovacuum would after these rows
	SQL
fi
pg_stop "$INSTANCE"
chmod 777 "$DIR"

script() { # KIND COUNT TAG -> SQL on stdout, one transaction per line or BEGIN..END
	awk -v kind="$1" -v n="$2" -v tag="$3" 'BEGIN {
		for (i = 1; i <= n; i++) {
			u = tag "_" i
			if (kind == "session")
				printf "SELECT set_config(%cpgcall.user_id%c, %cx%s%c, false);\nSELECT pgcall.call_session(%cy%s%c, %cvoice%c);\n", 39, 39, 39, u, 39, 39, u, 39, 39, 39
			else if (kind == "rpc") {
				# what pgcall-bridge sends for POST /rpc/call_session (rpc_session.pgbench)
				printf "BEGIN;\nSELECT set_config(%crole%c, %cpgcall_user%c, true), set_config(%crequest.jwt.claims%c, %c{\"sub\":\"x%s\",\"role\":\"pgcall_user\"}%c, true), set_config(%crequest.headers%c, %c{\"content-type\":\"application/json\"}%c, true), set_config(%crequest.method%c, %cPOST%c, true), set_config(%crequest.path%c, %c/rpc/call_session%c, true), set_config(%cstatement_timeout%c, %c15000%c, true);\n", 39,39,39,39, 39,39,39,u,39, 39,39,39,39, 39,39,39,39, 39,39,39,39, 39,39,39,39
				printf "SELECT kind, body, rows FROM pgcall.rpc(%cpgcall%c::text, %ccall_session%c::text, %c{\"other_user\":\"y%s\",\"type\":\"voice\"}%c::jsonb, false);\nEND;\n", 39,39, 39,39, 39,u,39
			} else if (kind == "floor")
				printf "BEGIN;\nWITH c AS (INSERT INTO bare(caller, callee, type) VALUES (%cx%s%c, %cy%s%c, %cvoice%c) RETURNING id) INSERT INTO bare_ev(payload) SELECT jsonb_build_object(%cchannelId%c, %ccall-%c||c.id, %ccallerId%c, %cx%s%c) FROM c;\nSELECT pg_notify(%ccalls%c, %cx%s%c), pgcall.agora_rtc_token(%ccall-%s%c, %cx%s%c, %cpublisher%c);\nEND;\n", 39,u,39, 39,u,39, 39,39, 39,39, 39,39, 39,39, 39,u,39, 39,39, 39,u,39, 39,u,39, 39,u,39, 39,39
			else if (kind ~ /^join/) {
				# a rejoin and a leave of one of the first 9 members
				c = sprintf("(SELECT id FROM bench_conf WHERE name = %c%s%c)", 39, substr(kind, 5), 39)
				printf "SELECT set_config(%cpgcall.user_id%c, %cpj-%d%c, false);\n", 39,39, 39, i % 9 + 1, 39
				printf "SELECT pgcall.call_join(%s) IS NOT NULL;\nSELECT pgcall.call_leave(%s) IS NOT NULL;\n", c, c
			} else {
				printf "SELECT set_config(%cpgcall.user_id%c, %clx%s%c, false);\nSELECT pgcall.call_start(ARRAY[%cly%s%c]);\n", 39,39, 39,u,39, 39,u,39
				printf "SELECT set_config(%cpgcall.user_id%c, %cly%s%c, false);\n", 39,39, 39,u,39
				printf "SELECT pgcall.call_accept((SELECT call_id FROM pgcall.participant WHERE user_id = %cly%s%c));\n", 39,u,39
				printf "SELECT pgcall.call_end((SELECT call_id FROM pgcall.participant WHERE user_id = %cly%s%c));\n", 39,u,39
			}
		}
	}'
}
ir() { # KIND COUNT TAG -> instructions of a backend running the script
	local out="$DIR/callgrind.out"
	script "$@" >"$DIR/script.sql"
	# (a single-user backend does not read ALTER DATABASE settings)
	run_pg valgrind --tool=callgrind ${CALLGRIND_OPTS:-} --callgrind-out-file="$out" "$PGBIN/postgres" --single \
		-D "$DIR/data" -c pgcall.agora_app_id="$APP_ID" -c pgcall.rate_limit_calls=0 \
		-c pgcall.rate_limit_tokens=0 -c pgcall.rate_limit_joins=0 \
		"$DB" <"$DIR/script.sql" >"$DIR/single.log" 2>&1
	if grep -q ERROR "$DIR/single.log"; then grep ERROR "$DIR/single.log" | head -3 >&2; die "$1 failed"; fi
	[ -n "${CALLGRIND_KEEP:-}" ] && cp "$out" "$CALLGRIND_KEEP/callgrind.$1.$2"
	awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
for kind in ${KINDS:-session floor lifecycle}; do
	n=$N; [ $kind = lifecycle ] && n=$((N / 2))
	a=$(ir $kind "$n" "a$kind")
	b=$(ir $kind $((2 * n)) "b$kind")
	printf '%-10s %12.0f instructions each (%s, %s for %d and %d)\n' "$kind" "$(( (b - a) / n ))" "$a" "$b" "$n" $((2 * n))
done
