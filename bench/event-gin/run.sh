#!/usr/bin/env bash
# bench/event-gin/run.sh: what pgcall.event's GIN index on recipients costs
# each event row, and how long the longest single insert waits, for the
# index's storage options: the pending list of fastupdate is cleaned up by
# whichever insert finds it over gin_pending_list_limit, and pgcall writes
# its event rows inside the commit's serialized part (extension/events.c).
#
#   bench/event-gin/run.sh          (ROWS=120000 inserts, one statement each)
#
# A throwaway cluster (stock settings); for each option, a table shaped like
# pgcall.event's indexed part (an id and a two-element recipients array,
# the common event), 100,000 rows first, then ROWS single-row inserts timed
# one by one.  Prints mean, 99.9th percentile and maximum per insert and how
# many took over 1 ms.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
ROWS=${ROWS:-120000}
INSTANCE=bench-gin-$$
DIR=$(instance_dir "$INSTANCE")
cleanup() { pg_stop "$INSTANCE"; rm -rf "$DIR"; }
trap cleanup EXIT

ensure_packages "${RUN_PACKAGES[@]}"
build
pg_start "$INSTANCE" "$(free_port)"
pg_env "$INSTANCE"
createdb gin
for opt in "fastupdate = on" "fastupdate = on, gin_pending_list_limit = 256" \
		"fastupdate = on, gin_pending_list_limit = 64" "fastupdate = off"; do
	psql -d gin -q -At -v ON_ERROR_STOP=1 <<-SQL
	SET client_min_messages = warning;
	DROP TABLE IF EXISTS gt;
	CREATE TABLE gt (id bigserial PRIMARY KEY, recipients text[]);
	CREATE INDEX gt_gin ON gt USING gin (recipients) WITH ($opt);
	INSERT INTO gt (recipients)
	    SELECT ARRAY['user-' || (random() * 100000)::int, 'user-' || (random() * 100000)::int]
	      FROM generate_series(1, 100000);
	SELECT count(*) >= 0 FROM (SELECT gin_clean_pending_list('gt_gin')) x \\g /dev/null
	CHECKPOINT;
	CREATE TEMP TABLE lat (ms float8);
	DO \$\$
	DECLARE t timestamptz;
	BEGIN
	    FOR i IN 1..$ROWS LOOP
	        t := clock_timestamp();
	        INSERT INTO gt (recipients)
	            VALUES (ARRAY['user-' || (random() * 100000)::int, 'user-' || (random() * 100000)::int]);
	        INSERT INTO lat VALUES (extract(epoch FROM clock_timestamp() - t) * 1000);
	    END LOOP;
	END
	\$\$;
	SELECT format('%-46s mean %s ms, p99.9 %s ms, max %s ms, over 1 ms: %s of %s', '$opt',
	              round(avg(ms)::numeric, 4), round(percentile_cont(0.999) WITHIN GROUP (ORDER BY ms)::numeric, 3),
	              round(max(ms)::numeric, 2), count(*) FILTER (WHERE ms > 1), count(*))
	  FROM lat;
	SQL
done
