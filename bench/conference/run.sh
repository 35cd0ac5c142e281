#!/usr/bin/env bash
# bench/conference/run.sh: issue 10's fan-out cost, BENCH_JOINERS (1000)
# people joining one public conference one after another, each with an open
# WebSocket through the bridge (run.mjs).  Same cluster set-up as
# bench/session.
#   bench/conference/run.sh      (BENCH_JOIN_MS=40 between joins, BENCH_ACCEPTS=100,
#                                 bounded by BENCH_MAX_SECONDS, 300)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/session/env.sh"
ulimit -n 65536 2>/dev/null || true   # 1,000 sockets on each side
bench_up 8 10
machine_notes
node "$ROOT/bench/conference/run.mjs"
