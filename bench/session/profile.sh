#!/usr/bin/env bash
# bench/session/profile.sh: what one call_session, call_start, call_accept
# and call_end run in the database: statements (pg_stat_statements with
# track = all, so those run by the functions, their triggers and foreign-key
# checks), C functions and triggers called (track_functions = all; the
# foreign-key checks are internal and show as their statements), rows
# written per table and WAL bytes, divided by the number of operations.
#
#   bench/session/profile.sh             (N=200)
#   PERF=1 bench/session/profile.sh      also perf record -g, 8 pgbench
#                                        clients of call_session.pgbench, their
#                                        backends for PERF_SECONDS (8), and
#                                        perf report's top entries
#
# One throwaway cluster (stock durability, Agora configured, rate limits off
# as in run.sh).  Each phase runs N operations in one psql session, one
# transaction each, after a warm-up of 50; the statistics are reset before.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
N=${N:-200}
INSTANCE=bench-profile-$$
DB=pgcall_bench
DIR=$(instance_dir "$INSTANCE")
cleanup() { pg_stop "$INSTANCE"; rm -rf "$DIR"; }
trap cleanup EXIT

build
pg_start "$INSTANCE" "$(free_port)" shared_preload_libraries=pg_stat_statements \
	pg_stat_statements.track=all pg_stat_statements.max=10000 track_functions=all max_connections=100
pg_env "$INSTANCE"
createdb "$DB"
psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 <<-SQL
CREATE EXTENSION pgcall;
CREATE EXTENSION pg_stat_statements;
ALTER DATABASE $DB SET pgcall.agora_app_id = '$(openssl rand -hex 16)';
ALTER DATABASE $DB SET pgcall.rate_limit_calls = 0;
ALTER DATABASE $DB SET pgcall.rate_limit_tokens = 0;
ALTER DATABASE $DB SET pgcall.rate_limit_joins = 0;
SELECT pgcall.set_secret('agora_app_certificate', '$(openssl rand -hex 16)');
SQL
psql -d "$DB" -q -v ON_ERROR_STOP=1 -f "$ROOT/bench/session/floor.sql"

ops() { # KIND FROM TO -> SQL, one operation (one transaction) per statement
	awk -v kind="$1" -v a="$2" -v b="$3" 'BEGIN {
		q = sprintf("%c", 39)
		for (i = a; i <= b; i++) {
			if (kind == "session")
				printf "SELECT set_config(%spgcall.user_id%s, %sx%d%s, false);\nSELECT pgcall.call_session(%sy%d%s, %svoice%s);\n", q,q, q,i,q, q,i,q, q,q
			else if (kind == "start")
				printf "SELECT set_config(%spgcall.user_id%s, %slx%d%s, false);\nSELECT pgcall.call_start(ARRAY[%sly%d%s], %svideo%s);\n", q,q, q,i,q, q,i,q, q,q
			else if (kind == "accept")
				printf "SELECT set_config(%spgcall.user_id%s, %sly%d%s, false);\nSELECT pgcall.call_accept(call_id, %sphone%s) FROM pgcall.participant WHERE user_id = %sly%d%s;\n", q,q, q,i,q, q,q, q,i,q
			else if (kind == "end")
				printf "SELECT set_config(%spgcall.user_id%s, %sly%d%s, false);\nSELECT pgcall.call_end(call_id) FROM pgcall.participant WHERE user_id = %sly%d%s;\n", q,q, q,i,q, q,i,q
			else if (kind == "floor")
				printf "BEGIN;\nWITH c AS (INSERT INTO bare(caller, callee, type) VALUES (%sx%d%s, %sy%d%s, %svoice%s) RETURNING id) INSERT INTO bare_ev(payload) SELECT jsonb_build_object(%schannelId%s, %scall-%s||c.id, %scallerId%s, %sx%d%s) FROM c;\nSELECT pg_notify(%scalls%s, %sx%d%s), pgcall.agora_rtc_token(%scall-%d%s, %sx%d%s, %spublisher%s);\nEND;\n", q,i,q, q,i,q, q,q, q,q, q,q, q,q, q,i,q, q,q, q,i,q, q,i,q, q,i,q, q,q
		}
	}'
}
phase() { # KIND [FROM]: warm-up (session/start/floor only), reset, N operations, report
	local kind=$1 from=${2:-1000} lsn0 lsn1
	psql -d "$DB" -q -o /dev/null -c 'SELECT pg_stat_statements_reset(), pg_stat_reset()'
	lsn0=$(psql -d "$DB" -Atc 'SELECT pg_current_wal_insert_lsn()')
	ops "$kind" "$from" $((from + N - 1)) | psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1 ||
		die "$kind failed"
	lsn1=$(psql -d "$DB" -Atc 'SELECT pg_current_wal_insert_lsn()')
	sleep 1	# the session's statistics are flushed at its exit
	echo
	echo "## $kind: per operation (N=$N)"
	psql -d "$DB" -q -P pager=off -v n="$N" -v lsn0="$lsn0" -v lsn1="$lsn1" <<-'SQL'
	-- not the script's own statements; those run at commit (the event
	-- flush, the webhook outbox) are top-level to pg_stat_statements
	CREATE TEMP VIEW s AS SELECT * FROM pg_stat_statements
	 WHERE NOT (toplevel AND query ~ '^(SELECT set_config|SELECT pgcall\.call_|SELECT pg_current_wal|SELECT pg_stat|SELECT round|CREATE TEMP VIEW|BEGIN|END|WITH c AS|SELECT pg_notify)');
	SELECT round(sum(calls) / :n::numeric, 2) AS statements,
	       round(sum(rows) / :n::numeric, 2) AS rows,
	       round(pg_wal_lsn_diff(:'lsn1', :'lsn0') / :n::numeric, 0) AS wal_bytes
	  FROM s;
	SELECT round(calls / :n::numeric, 2) AS per_op, round(rows / :n::numeric, 2) AS rows,
	       round(mean_exec_time::numeric, 3) AS mean_ms, CASE WHEN toplevel THEN 'commit' END AS at,
	       left(regexp_replace(query, '\s+', ' ', 'g'), 130) AS statement
	  FROM s ORDER BY calls DESC, total_exec_time DESC;
	SELECT funcname, round(calls / :n::numeric, 2) AS per_op
	  FROM pg_stat_user_functions WHERE calls > 0 ORDER BY calls DESC, funcname;
	SELECT schemaname || '.' || relname AS tbl,
	       round(n_tup_ins / :n::numeric, 2) AS ins, round(n_tup_upd / :n::numeric, 2) AS upd,
	       round(n_tup_del / :n::numeric, 2) AS del, round(n_tup_hot_upd / :n::numeric, 2) AS hot
	  FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY 1;
	SQL
}
say "warm-up"
ops session 1 50 | psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1
ops start 1 50 | psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1
ops accept 1 50 | psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1
ops end 1 50 | psql -d "$DB" -q -o /dev/null -v ON_ERROR_STOP=1
for kind in session start accept end floor; do phase "$kind"; done

if [ "${PERF:-0}" = 1 ]; then
	command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
	pgbench -n -M prepared -c 8 -j 2 -T 2 -f "$ROOT/bench/session/call_session.pgbench" "$DB" >/dev/null
	# only this cluster's backends, while pgbench runs
	pgbench -n -M prepared -c 8 -j 2 -T $(( ${PERF_SECONDS:-8} + 2 )) \
		-f "$ROOT/bench/session/call_session.pgbench" "$DB" >"$DIR/pgbench.out" 2>&1 &
	PGB=$!
	sleep 1
	pids=$(psql -d "$DB" -Atc "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'pgbench'")
	perf record -o "$DIR/perf.data" -g -p "$pids" -- sleep "${PERF_SECONDS:-8}" >/dev/null 2>&1
	wait "$PGB"
	grep -E '^tps|^latency' "$DIR/pgbench.out" || true
	echo
	echo "## perf, 8 clients of call_session.pgbench: their backends, children (inclusive)"
	perf report -i "$DIR/perf.data" --children --no-demangle --stdio \
		-g none --percent-limit 2 2>/dev/null | grep -E '^ +[0-9]' | head -n "${PERF_TOP:-45}"
	echo
	echo "## self"
	perf report -i "$DIR/perf.data" --no-children --stdio -g none \
		--percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' | head -n "${PERF_TOP:-30}"
fi
