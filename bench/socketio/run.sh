#!/usr/bin/env bash
# bench/socketio/run.sh: Socket.IO (seed 003's dialect) vs the native
# WebSocket in one run: event latency and memory per connection (run.mjs).
# bench/socketio/run.sh media: seed 004's call.call_accepted with each
# recipient's token ($.media) vs without (media.mjs).
# A throwaway cluster; BENCH_* variables as in the .mjs.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
build
pg_stop bench-socketio
pg_start_free bench-socketio
pg_env bench-socketio
trap 'pg_stop bench-socketio' EXIT
export ROOT PGCALL_ARTIFACTS=${PGCALL_ARTIFACTS:-$(mktemp -d)}
(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
case "${1:-}" in
	media) node "$ROOT/bench/socketio/media.mjs" ;;
	*) node "$ROOT/bench/socketio/run.mjs" ;;
esac
