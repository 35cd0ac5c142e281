#!/usr/bin/env bash
# bench/analytics/run.sh [calls]
#
# Issue 5's benchmark: admin_analytics and admin_call_details over a call
# history of `calls` calls (default one million, about five million
# participants and sessions) spread over the last 90 days.  Starts its own
# cluster (.run/bench-analytics), loads the history with generate.sql,
# checks the report against a brute-force computation from every session
# (crosscheck.sql), then times each report (best and median of five warm
# runs, wall clock) and prints the plans of the report's statements
# (auto_explain, nested).  Not a test: nothing here fails on a time.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
calls=${1:-1000000}
here="$ROOT/bench/analytics"
inst=bench-analytics

ensure_packages "${RUN_PACKAGES[@]}"
build
pg_stop "$inst"
rm -rf "$(instance_dir "$inst")"
trap 'pg_stop "$inst"' EXIT
pg_start "$inst" "$(free_port)" fsync=off synchronous_commit=off full_page_writes=off \
	shared_buffers=4GB max_wal_size=8GB checkpoint_timeout=30min maintenance_work_mem=512MB jit=off
pg_env "$inst"
createdb analytics
psql -d analytics -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pgcall;
ALTER DATABASE analytics SET pgcall.rate_limit_analytics = 0;
SQL

echo "== loading $calls calls"
start=$(date +%s)
psql -d analytics -X -q -v ON_ERROR_STOP=1 -v calls="$calls" -v days=90 -f "$here/generate.sql" |
	grep -E '^(Time|[ 0-9|]+$)' | sed 's/^/   /'
echo "   load took $(( $(date +%s) - start )) s"

# Check the stored usage of a sample against the live computation.
psql -d analytics -X -At -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'stored usage matches session_usage for ' || count(*) FILTER (WHERE ok) || ' of ' || count(*) || ' sampled calls'
  FROM (SELECT (c.participant_count, c.peak_participants, round(c.participant_seconds::numeric, 3))
               = (u.participants, u.peak_participants, round(u.participant_seconds::numeric, 3)) AS ok
          FROM pgcall.call c TABLESAMPLE SYSTEM (0.2) REPEATABLE (1),
               LATERAL pgcall.session_usage(ARRAY[c.id], '{-infinity,infinity}') u
         WHERE c.status = 'ended') s;
SQL

time_ms() {
	# time_ms SQL: best and median of five runs after one warm-up, in ms.
	local sql=$1 t=()
	for i in 0 1 2 3 4 5; do
		local ms
		ms=$(psql -d analytics -X -q -v ON_ERROR_STOP=1 -c '\timing on' -c "SELECT ($sql) IS NOT NULL" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
		[ "$i" -gt 0 ] && t+=("$ms")
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {printf "best %8.1f ms   median %8.1f ms\n", a[1], a[3]}'
}

# The cross-check is also the baseline: the same figures computed the
# obvious way, from every session, timed in the same run.
for days in 7 90; do
	echo "== cross-check of admin_analytics($days, 'day') against every session (days that differ)"
	start_ms=$(date +%s%3N)
	psql -d analytics -X -q -v ON_ERROR_STOP=1 -v days=$days -f "$here/crosscheck.sql" | sed 's/^/   /'
	naive_ms=$(( $(date +%s%3N) - start_ms ))
	echo "   (report and brute force together: $naive_ms ms)"
done

call_id=$(psql -d analytics -X -At -c "SELECT id FROM pgcall.call WHERE kind = 'conference' AND status = 'ended' ORDER BY created_at DESC LIMIT 1")
echo "== timings ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
for q in "pgcall.admin_analytics(7, 'day')" \
         "pgcall.admin_analytics(30, 'day')" \
         "pgcall.admin_analytics(90, 'day')" \
         "pgcall.admin_analytics(90, 'week')" \
         "pgcall.admin_analytics(90, 'month')" \
         "pgcall.admin_analytics(90, 'day', 'America/New_York')" \
         "pgcall.admin_call_details('$call_id')"; do
	printf '   %-55s %s\n' "$q" "$(time_ms "$q")"
done
echo "   the 90-day daily report is $(( naive_ms / $(time_ms "pgcall.admin_analytics(90, 'day')" | awk '{printf "%d", $5}') ))x faster than the brute force above (median against one run)"

echo "== plan of analytics_report (admin_analytics(90, 'day'))"
psql -d analytics -X -q -v ON_ERROR_STOP=1 2>&1 <<'SQL' | sed -n '/Query Text/,$p' | sed 's/^/   /'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = '50ms';
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SELECT pgcall.admin_analytics(90, 'day') IS NOT NULL AS ok;
SQL
