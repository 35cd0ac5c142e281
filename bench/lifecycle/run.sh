#!/usr/bin/env bash
# bench/lifecycle/run.sh [seconds] [clients]
#
# Issue 3's benchmark: pgbench of the full 1:1 call lifecycle through pgcall
# (start with token, accept with token, end) against the same rows written
# by bare INSERT/UPDATE plus one NOTIFY per transaction, with the same
# clients in the same run, alternating twice.  Prints lifecycles per second
# and the ratio.  Starts its own cluster (.run/bench) and stops it after.
#
# SYNC=off runs the cluster with synchronous_commit=off, which takes the
# disk's flush latency out of both sides and shows the CPU cost.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
secs=${1:-20}
clients=${2:-4}
here="$ROOT/bench/lifecycle"

ensure_packages "${RUN_PACKAGES[@]}" bc
build
pg_stop bench
rm -rf "$(instance_dir bench)"
trap 'pg_stop bench' EXIT
pg_start bench "$(free_port)" "synchronous_commit=${SYNC:-on}"
pg_env bench
createdb lifecycle
psql -d lifecycle -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pgcall;
ALTER DATABASE lifecycle SET pgcall.agora_app_id = '$(openssl rand -hex 16)';
SELECT pgcall.set_secret('agora_app_certificate', '$(openssl rand -hex 16)');
SQL
psql -d lifecycle -q -v ON_ERROR_STOP=1 -f "$here/bare.sql"

run() {
	pgbench -n -c "$clients" -j 2 -T "$secs" -f "$here/$1.pgbench" lifecycle 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
echo "warm-up"
run bare >/dev/null
run pgcall >/dev/null
declare -A tps
for round in 1 2; do
	for kind in bare pgcall; do
		t=$(run $kind)
		echo "round $round $kind: $t lifecycles/s"
		tps[$kind]=$(echo "${tps[$kind]:-0} + $t" | bc -l)
	done
done
ratio=$(echo "scale=3; ${tps[pgcall]} / ${tps[bare]}" | bc -l)
printf 'bare floor: %.1f lifecycles/s, pgcall: %.1f lifecycles/s (mean of 2), ratio %s\n' \
	"$(echo "${tps[bare]} / 2" | bc -l)" "$(echo "${tps[pgcall]} / 2" | bc -l)" "$ratio"
psql -d lifecycle -Atc "SELECT 'pgcall calls ended: ' || count(*) FROM pgcall.call WHERE status = 'ended'"
