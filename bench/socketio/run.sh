#!/usr/bin/env bash
# bench/socketio/run.sh: Socket.IO (seed 003's dialect) vs the native
# WebSocket in one run: event latency and memory per connection (run.mjs).
# A throwaway cluster; BENCH_* variables as in run.mjs.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/script/lib.sh"
build
pg_stop bench-socketio
pg_start_free bench-socketio
pg_env bench-socketio
trap 'pg_stop bench-socketio' EXIT
export ROOT PGCALL_ARTIFACTS=${PGCALL_ARTIFACTS:-$(mktemp -d)}
(cd "$ROOT/test/bridge" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
node "$ROOT/bench/socketio/run.mjs"
