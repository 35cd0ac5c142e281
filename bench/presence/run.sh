#!/usr/bin/env bash
# bench/presence/run.sh [seconds] [clients]
#
# What presence events cost a presence update: pgbench of a user coming
# online and going offline (two pgcall.bridge_presence transactions) for
#   old        the bridge_presence of before presence events (same SQL,
#              no touch, no fan-out): the baseline
#   nobody     users nobody follows
#   hidden     users with 100 followers each, the default (private) policy
#              hiding them: 100 policy checks, no event
#   everyone   users with 100 followers each, policy "everyone": one event
#              row with 100 recipients per change
# alternating three times in one run.  Prints updates per second and the ratio to
# old.  Starts its own cluster (.run/bench) and stops it after.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
secs=${1:-10}
clients=${2:-2}
here="$ROOT/bench/presence"

ensure_packages "${RUN_PACKAGES[@]}" bc
build
pg_stop bench
rm -rf "$(instance_dir bench)"
trap 'pg_stop bench' EXIT
pg_start bench "$(free_port)" "synchronous_commit=${SYNC:-on}"
pg_env bench
createdb presence
psql -d presence -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pgcall;
-- the bridge must stay live through the whole run (no heartbeats here)
ALTER DATABASE presence SET pgcall.presence_timeout = 3600;
SELECT pgcall.bridge_heartbeat('00000000-0000-4000-8000-0000000000b1');
-- the function as it was before presence events
CREATE FUNCTION public.old_presence(bridge_id uuid, user_id text, connections integer)
RETURNS void LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO pgcall.bridge (id) VALUES (old_presence.bridge_id) ON CONFLICT DO NOTHING;
    DELETE FROM pgcall.presence p
     WHERE p.bridge_id = old_presence.bridge_id AND p.user_id = old_presence.user_id
       AND old_presence.connections <= 0;
    INSERT INTO pgcall.presence AS p (bridge_id, user_id, connections)
        SELECT old_presence.bridge_id, old_presence.user_id, old_presence.connections
         WHERE old_presence.connections > 0
        ON CONFLICT (user_id, bridge_id) DO UPDATE SET connections = EXCLUDED.connections;
$$;
-- f1..f1000 have 100 followers each
INSERT INTO pgcall.presence_subscription (subscriber, subject)
    SELECT 'v' || (i * 7 + j) % 5000, 'f' || i FROM generate_series(1, 1000) i, generate_series(1, 100) j
    ON CONFLICT DO NOTHING;
ANALYZE;
SQL

cat >"$RUNDIR/old.pgbench" <<'EOF2'
\set u random(1, 1000)
SELECT public.old_presence('00000000-0000-4000-8000-0000000000b1', 's' || :u, 1);
SELECT public.old_presence('00000000-0000-4000-8000-0000000000b1', 's' || :u, 0);
EOF2
for who in nobody:s hidden:f everyone:f; do
	name=${who%%:*} prefix=${who#*:}
	cat >"$RUNDIR/$name.pgbench" <<EOF2
\set u random(1, 1000)
SELECT pgcall.bridge_presence('00000000-0000-4000-8000-0000000000b1', '$prefix' || :u, 1);
SELECT pgcall.bridge_presence('00000000-0000-4000-8000-0000000000b1', '$prefix' || :u, 0);
EOF2
done

policy() {
	if [ "$1" = everyone ]; then
		psql -d presence -q -f "$ROOT/script/demo-presence-everyone.sql"
	else
		# the default, as the schema (sql/schema) has it
		sed -n '/^CREATE FUNCTION pgcall.presence_visible/,/^\$\$;/p' "$ROOT"/sql/schema/*.sql |
			sed 's/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/' | psql -d presence -q -v ON_ERROR_STOP=1
	fi
}
run() {
	policy "$1"
	# one iteration is two updates
	pgbench -n -c "$clients" -j "$clients" -T "$secs" -f "$RUNDIR/$1.pgbench" presence 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | awk '{ printf "%.0f\n", $1 * 2 }'
}
echo "warm-up"
for s in old nobody; do run $s >/dev/null; done
declare -A ups
for round in 1 2 3; do
	for s in old nobody hidden everyone; do
		v=$(run $s)
		ups[$s]="${ups[$s]:-} $v"
		echo "round $round: $s $v updates/s"
	done
done
events=$(psql -d presence -Atqc "SELECT count(*) || ' presence events, ' || COALESCE(sum(cardinality(recipients)), 0) || ' deliveries' FROM pgcall.event")
echo "written: $events"
[ "$(psql -d presence -Atqc 'SELECT count(*) > 0 FROM pgcall.event')" = t ] ||
	die "no presence event was written: the run measured nothing"
avg() { echo "$1" | tr ' ' '\n' | awk 'NF { s += $1; n++ } END { printf "%.0f", s / n }'; }
base=$(avg "${ups[old]}")
for s in old nobody hidden everyone; do
	a=$(avg "${ups[$s]}")
	printf '%-9s %6s updates/s  %s x old\n' "$s" "$a" "$(echo "scale=2; $a / $base" | bc)"
done
