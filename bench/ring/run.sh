#!/usr/bin/env bash
# bench/ring/run.sh: issue 10's ring latency, caller's HTTP request start ->
# the callee's socket has the incoming call, pgcall vs the Node baseline, at
# a steady BENCH_RATE (100) calls/s for BENCH_SECONDS (20) s each, in
# alternating rounds (run.mjs).  Same cluster set-up as bench/session.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/session/env.sh"
bench_up 8 10
machine_notes
node "$ROOT/bench/ring/run.mjs"
