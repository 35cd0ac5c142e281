#!/usr/bin/env bash
# bench/conference/run.sh: issue 10's fan-out cost, BENCH_JOINERS (200)
# people joining one public conference one after another, each with an open
# WebSocket (run.mjs).  Same cluster set-up as bench/session.
#   BENCH_JOINERS=1000 bench/conference/run.sh   (bounded by BENCH_MAX_SECONDS, 150)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/session/env.sh"
bench_up 8 10
machine_notes
node "$ROOT/bench/conference/run.mjs"
