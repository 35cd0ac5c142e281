#!/usr/bin/env bash
# bench/session/ab.sh REV: call_session against the floor (issue 10's SQL
# target) for the build of git revision REV ("before") and the working tree
# ("after"), in one run.
#
#   bench/session/ab.sh 9a11c2c     (BENCH_SECONDS=4, BENCH_ROUNDS=5)
#
# Two clusters, started alike (stock durability, shared_buffers 256MB,
# Agora configured, rate limits off, the floor's tables), one on each build;
# BEFORE_SETTINGS and AFTER_SETTINGS add server settings to one of them
# (name=value, space-separated), e.g. the same build in both event orders:
#
#   AFTER_SETTINGS="shared_preload_libraries=pgcall pgcall.event_order=horizon" \
#       bench/session/ab.sh HEAD
# Each round runs pgbench -M prepared of call_session.pgbench and
# floor.pgbench on both, at 1 and at 8 clients, back to back and in the
# opposite order every other round.  Prints every measurement, then the
# medians over rounds of the same-round ratios: call_session / floor for
# each build, and after / before.  Last, the WAL one transaction writes
# (BENCH_WAL_TX=2000 of each, one client, callers and callees never seen
# before, right after a CHECKPOINT): bytes, and of those full-page images,
# from pg_waldump --stats over the range the run wrote.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/session"
. "$ROOT/script/lib.sh"
REV=${1:?usage: bench/session/ab.sh REV}
SECS=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-5}
SRC=$(mktemp -d)
TREE_B="$RUNDIR/pg-ab-before"
IA=bench-ab-before-$$ IB=bench-ab-after-$$
cleanup() {
	PGBIN="$TREE_B/usr/lib/postgresql/$PG_MAJOR/bin" pg_stop "$IA"
	pg_stop "$IB"
	rm -rf "$SRC" "$TREE_B" "$(instance_dir "$IA")" "$(instance_dir "$IB")"
}
trap cleanup EXIT

# the "before" build: REV's sources, installed into a copy of PostgreSQL
git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
make -C "$SRC" -s -j"$(nproc)" all >/dev/null
rm -rf "$TREE_B"
mkdir -p "$TREE_B/usr/lib/postgresql/$PG_MAJOR" "$TREE_B/usr/share/postgresql"
cp -a "$PGBIN_SYS" "$TREE_B/usr/lib/postgresql/$PG_MAJOR/bin"
cp -a "/usr/lib/postgresql/$PG_MAJOR/lib" "$TREE_B/usr/lib/postgresql/$PG_MAJOR/lib"
cp -a "/usr/share/postgresql/$PG_MAJOR" "$TREE_B/usr/share/postgresql/$PG_MAJOR"
rm -f "$TREE_B/usr/share/postgresql/$PG_MAJOR/extension/pgcall"[-.]* \
	"$TREE_B/usr/lib/postgresql/$PG_MAJOR/lib/pgcall.so"
make -C "$SRC" -s install DESTDIR="$TREE_B" >/dev/null
chmod -R a+rX "$TREE_B"
# the "after" build: this tree
build

setup() { # INSTANCE PGBIN SETTINGS -> a cluster with pgcall and the floor's tables
	# shellcheck disable=SC2086 # SETTINGS: space-separated name=value
	PGBIN=$2 pg_start "$1" "$(free_port)" max_connections=100 $3
	(
		PGBIN=$2 pg_env "$1"
		createdb pgcall_bench
		psql -d pgcall_bench -q -o /dev/null -v ON_ERROR_STOP=1 <<-SQL
		CREATE EXTENSION pgcall;
		ALTER DATABASE pgcall_bench SET pgcall.agora_app_id = '$(openssl rand -hex 16)';
		ALTER DATABASE pgcall_bench SET pgcall.rate_limit_calls = 0;
		ALTER DATABASE pgcall_bench SET pgcall.rate_limit_tokens = 0;
		ALTER DATABASE pgcall_bench SET pgcall.rate_limit_joins = 0;
		SELECT pgcall.set_secret('agora_app_certificate', '$(openssl rand -hex 16)');
		SQL
		psql -d pgcall_bench -q -v ON_ERROR_STOP=1 -f "$HERE/floor.sql"
	)
}
setup "$IA" "$TREE_B/usr/lib/postgresql/$PG_MAJOR/bin" "${BEFORE_SETTINGS:-}"
setup "$IB" "$PGBIN" "${AFTER_SETTINGS:-}"
conn() { echo "host=$(instance_dir "$1") port=$(cat "$(instance_dir "$1")/port") user=postgres dbname=pgcall_bench"; }
CA=$(conn "$IA") CB=$(conn "$IB")
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); before = $REV ($(git -C "$ROOT" log -1 --format=%h "$REV")) ${BEFORE_SETTINGS:-}, after = working tree ($(git -C "$ROOT" log -1 --format=%h)) ${AFTER_SETTINGS:-}"

pgb() { # SCRIPT CLIENTS CONN -> tps
	pgbench -n -M prepared -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -T "$SECS" -f "$HERE/$1" "$3" 2>&1 |
		awk '/^tps =/ {print $3}'
}
say "warm-up"
for c in "$CA" "$CB"; do pgb call_session.pgbench 8 "$c" >/dev/null; pgb floor.pgbench 8 "$c" >/dev/null; done
RES=$(mktemp)
for r in $(seq 1 "$ROUNDS"); do
	for c in 1 8; do
		order="before:cs before:floor after:cs after:floor"
		[ $((r % 2)) = 0 ] && order="after:floor after:cs before:floor before:cs"
		for m in $order; do
			build=${m%%:*} what=${m#*:}
			cs=$CA; [ "$build" = after ] && cs=$CB
			script=call_session.pgbench; [ "$what" = floor ] && script=floor.pgbench
			tps=$(pgb "$script" "$c" "$cs")
			echo "round $r clients $c $build $what $tps tps"
			echo "$r $c $build $what $tps" >>"$RES"
		done
	done
done
median() { sort -g | awk '{v[NR] = $1} END {printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
best() { sort -g -r | head -n 1; }
echo
printf '| %-40s | %10s | %10s |\n' "measure (median of same-round ratios)" "1 client" "8 clients"
printf '| %-40s | %10s | %10s |\n' "----" "----:" "----:"
for b in before after; do
	printf '| %-40s | %10s | %10s |\n' "$b: call_session / floor" \
		"$(awk -v b=$b '$2 == 1 && $3 == b {x[$1 " " $4] = $5} END {for (r = 1; r <= 100; r++) if ((r " cs") in x) print x[r " cs"] / x[r " floor"]}' "$RES" | median)" \
		"$(awk -v b=$b '$2 == 8 && $3 == b {x[$1 " " $4] = $5} END {for (r = 1; r <= 100; r++) if ((r " cs") in x) print x[r " cs"] / x[r " floor"]}' "$RES" | median)"
done
printf '| %-40s | %10s | %10s |\n' "call_session after / before" \
	"$(awk '$2 == 1 && $4 == "cs" {x[$1 " " $3] = $5} END {for (r = 1; r <= 100; r++) if ((r " after") in x) print x[r " after"] / x[r " before"]}' "$RES" | median)" \
	"$(awk '$2 == 8 && $4 == "cs" {x[$1 " " $3] = $5} END {for (r = 1; r <= 100; r++) if ((r " after") in x) print x[r " after"] / x[r " before"]}' "$RES" | median)"
for b in before after; do
	for w in cs floor; do
		printf '| %-40s | %10s | %10s |\n' "best $b $w (tps)" \
			"$(awk -v b=$b -v w=$w '$2 == 1 && $3 == b && $4 == w {print $5}' "$RES" | best)" \
			"$(awk -v b=$b -v w=$w '$2 == 8 && $3 == b && $4 == w {print $5}' "$RES" | best)"
	done
done
rm -f "$RES"

# WAL per transaction
WALTX=${BENCH_WAL_TX:-2000}
NEWCS=$(mktemp) NEWFLOOR=$(mktemp)
sed 's/random(1, 100000)/random(1, 1000000000)/; s/'"'"'x'"'"'/'"'"'wx'"'"'/; s/'"'"'y'"'"'/'"'"'wy'"'"'/' "$HERE/call_session.pgbench" >"$NEWCS"
sed 's/random(1, 100000)/random(1, 1000000000)/' "$HERE/floor.pgbench" >"$NEWFLOOR"
wal() { # INSTANCE PGBIN SCRIPT -> bytes/tx fpi-bytes/tx
	local conn l0 l1
	conn=$(conn "$1")
	psql "$conn" -q -c CHECKPOINT
	l0=$(psql "$conn" -Atc "SELECT pg_current_wal_insert_lsn()")
	pgbench -n -M prepared -c 1 -t "$WALTX" -f "$3" "$conn" >/dev/null 2>&1
	l1=$(psql "$conn" -Atc "SELECT pg_current_wal_insert_lsn()")
	psql "$conn" -q -c CHECKPOINT # so that pg_waldump finds all of it written
	"$2/pg_waldump" -p "$(instance_dir "$1")/data/pg_wal" -s "$l0" -e "$l1" --stats 2>/dev/null |
		awk -v n="$WALTX" '$1 == "Total" {gsub(/[^0-9]/, "", $5); printf "%.0f %.0f\n", ($3 + $5) / n, $5 / n}'
}
echo
printf '| %-40s | %10s | %10s |\n' "WAL per transaction ($WALTX, 1 client)" "bytes" "of it FPI"
printf '| %-40s | %10s | %10s |\n' "----" "----:" "----:"
for b in before after; do
	inst=$IA bin="$TREE_B/usr/lib/postgresql/$PG_MAJOR/bin"
	[ "$b" = after ] && inst=$IB bin=$PGBIN
	for w in cs floor; do
		f=$NEWCS; [ "$w" = floor ] && f=$NEWFLOOR
		read -r bytes fpi < <(wal "$inst" "$bin" "$f")
		printf '| %-40s | %10s | %10s |\n' "$b $w" "$bytes" "$fpi"
	done
done
rm -f "$NEWCS" "$NEWFLOOR"
