#!/usr/bin/env bash
# bench/rpc-query/run.sh: the cost of PostgREST's query grammar around a
# call, against the same function called bare, in one run.
#
#   bench/rpc-query/run.sh [seconds] [clients] [rounds]   (default 5 8 3)
#
# bq.items() returns 100 rows.  Through the bridge (wrk, POST /rpc/items):
#   bare      no query string
#   select    all five columns by name, nothing else: the parsing, the
#             plan-cache key and the subquery, without work on the rows
#   wrapped   select of all five columns by name, three filters that keep
#             every row, order by two columns, limit: the same 100 rows and
#             bytes, reordered: the cost of the wrapping alone
#   narrow    three columns and a filter keeping 10 rows (what filters are
#             for: less to encode and send)
# and bare, select and wrapped straight in SQL too (pgbench, pgcall.rpc
# with and without the query), so the bridge's share can be told apart.  The
# variants alternate round by round; the best round of each is reported,
# and the ratios to bare.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
HERE="$ROOT/bench/rpc-query"
SECS=${1:-5}
CLIENTS=${2:-8}
ROUNDS=${3:-3}
INSTANCE=bench-rq-$$
DB=pgcall_bench_rq

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
psql -d "$DB" -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pgcall;
CREATE ROLE pgcall_authenticator LOGIN NOINHERIT;
GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO pgcall_authenticator;
CREATE SCHEMA bq;
CREATE TABLE bq.item (id integer PRIMARY KEY, name text, price numeric, category text, note text);
INSERT INTO bq.item SELECT i, 'item ' || i, (i * 37 % 1000) / 10.0, 'c' || (i % 5), NULL
    FROM generate_series(1, 100) i;
CREATE FUNCTION bq.items() RETURNS SETOF bq.item LANGUAGE sql STABLE AS 'SELECT * FROM bq.item';
GRANT USAGE ON SCHEMA bq TO pgcall_anon;
GRANT SELECT ON bq.item TO pgcall_anon;
ALTER DATABASE $DB SET pgcall.rpc_schemas = 'pgcall, bq';
SQL
SECRET_FILE="$(instance_dir "$INSTANCE")/jwt-secret"
openssl rand -hex 32 >"$SECRET_FILE"
BPORT=$(free_port)
"$ROOT/worker/pgcall-bridge" --port "$BPORT" --db "host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" \
	--jwt-secret-file "$SECRET_FILE" --schemas bq --pool "$CLIENTS" --expire-interval 0 --log-level warn \
	>"$(instance_dir "$INSTANCE")/bridge.log" 2>&1 &
BRIDGE_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$BPORT/health" >/dev/null && break; sleep 0.1; done

SELECT_ALL='select=id,name,price,category,note'
WRAPPED='select=id,name,price,category,note&id=gte.1&price=not.is.null&category=like.c*&order=price.desc,id&limit=1000'
NARROW='select=id,name,price&id=lte.10&price=not.is.null&category=like.c*&order=price.desc,id&limit=1000'
declare -A QUERY=([bare]='' [select]="$SELECT_ALL" [wrapped]="$WRAPPED" [narrow]="$NARROW")
declare -A BEST

# the answers: wrapped returns the same 100 rows as bare
for v in bare select wrapped narrow; do
	n=$(curl -fs -X POST -H 'Content-Type: application/json' -H 'Content-Profile: bq' -d '{}' \
		"http://127.0.0.1:$BPORT/rpc/items${QUERY[$v]:+?${QUERY[$v]}}" | grep -o '"id"' | wc -l)
	echo "$v: $n rows"
done

sqlfile() {
	local q=$1 f
	f="$(instance_dir "$INSTANCE")/$2.pgbench"
	if [ -z "$q" ]; then
		echo "SELECT kind, body, rows, content_range FROM pgcall.rpc('bq', 'items', '{}', false);" >"$f"
	else
		echo "SELECT kind, body, rows, content_range FROM pgcall.rpc('bq', 'items', '{}', false, '$q');" >"$f"
	fi
	echo "$f"
}
SQL_BARE=$(sqlfile '' bare)
SQL_SELECT=$(sqlfile "$SELECT_ALL" select)
SQL_WRAPPED=$(sqlfile "$WRAPPED" wrapped)

run_wrk() {
	QUERY="${QUERY[$1]}" wrk -t 2 -c "$CLIENTS" -d "${2}s" -s "$HERE/request.lua" "http://127.0.0.1:$BPORT" |
		sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
run_pgbench() {
	PGOPTIONS='-c role=pgcall_anon' pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$2" -f "$1" \
		"host=$PGHOST port=$PGPORT dbname=$DB user=pgcall_authenticator" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1
}
better() { awk -v a="$1" -v b="${2:-0}" 'BEGIN{print (a > b) ? a : b}'; }

for v in bare select wrapped narrow; do run_wrk "$v" 1 >/dev/null; done
for round in $(seq 1 "$ROUNDS"); do
	for v in bare select wrapped narrow; do
		r=$(run_wrk "$v" "$SECS")
		echo "round $round http $v: $r req/s"
		BEST[http_$v]=$(better "$r" "${BEST[http_$v]:-}")
	done
	for v in bare select wrapped; do
		f=$SQL_BARE
		[ "$v" = select ] && f=$SQL_SELECT
		[ "$v" = wrapped ] && f=$SQL_WRAPPED
		r=$(run_pgbench "$f" "$SECS")
		echo "round $round sql $v: $r tps"
		BEST[sql_$v]=$(better "$r" "${BEST[sql_$v]:-}")
	done
done

echo
printf '%-28s %12s %8s\n' variant 'best rate' 'vs bare'
for v in bare select wrapped narrow; do
	printf '%-28s %12.1f %8.2f\n' "http $v (req/s)" "${BEST[http_$v]}" \
		"$(awk -v a="${BEST[http_$v]}" -v b="${BEST[http_bare]}" 'BEGIN{print a/b}')"
done
for v in bare select wrapped; do
	printf '%-28s %12.1f %8.2f\n' "sql $v (tps)" "${BEST[sql_$v]}" \
		"$(awk -v a="${BEST[sql_$v]}" -v b="${BEST[sql_bare]}" 'BEGIN{print a/b}')"
done
