#!/usr/bin/env bash
# The service's own CPU per request of one endpoint (issue 16, fourth round): its process's user +
# system time (/proc/<pid>/stat) over 10 s of wrk -t2 -c4, divided by the requests answered, with
# the rate and p99; and its embedded PostgreSQL's, apart (issue 16, sixth round). Each binary runs
# alone, on its own embedded PostgreSQL in a scratch directory, after a 3 s warm-up.
#
#   bash bench/write_cpu.sh BINARY [PATH] [HEADER]
#   bash bench/write_cpu.sh target/release/msc-readiness /v1/assessments "Prefer: return=minimal"
#
# The body is the profile of SEED_CASE (default the darvadstrocel EMA 2018 back-test case, a real
# program outside every dictionary the service compresses against). Needs wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BINARY=$1
TARGET=${2:-/v1/assessments}
HEADER=${3:-X-Bench: 1}
SEED_CASE=${SEED_CASE:-validation/cases/darvadstrocel_ema_2018.json}
scratch_for_one_service write-cpu

start_service "$scratch/pg" "$scratch/service.log" "$BINARY"
python3 -c 'import json, sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))["profile"]}))' "$SEED_CASE" \
  >"$scratch/body.json"
wrk_post_script "$scratch/body.json" "$scratch/post.lua"
load() { wrk -t2 -c4 -d"$1" --latency -s "$scratch/post.lua" -H "Authorization: Bearer $key" -H "$HEADER" \
  "$base$TARGET"; }
load 3s >/dev/null
cpu_ticks() { awk '{print $14 + $15}' "/proc/$service_pid/stat"; }
# The embedded PostgreSQL's processes: those whose command line names the scratch data directory,
# and their children (the backends), with what each has reaped.
postgres_ticks() {
  local total=0 pid
  for pid in $(pgrep -f "$scratch/pg") $(pgrep -P "$(pgrep -d, -f "$scratch/pg")" 2>/dev/null); do
    total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
before=$(cpu_ticks); postgres_before=$(postgres_ticks)
load 10s >"$scratch/wrk.out"
after=$(cpu_ticks); postgres_after=$(postgres_ticks)
requests=$(awk '/requests in/ {print $1}' "$scratch/wrk.out")
python3 - "$BINARY" "$TARGET" "$HEADER" "$before" "$after" "$requests" "$(getconf CLK_TCK)" \
  "$(awk '/Requests\/sec/ {print $2}' "$scratch/wrk.out")" "$(awk '$1=="99%" {print $2}' "$scratch/wrk.out")" \
  "$(grep -E 'Non-2xx|Socket errors' "$scratch/wrk.out" || echo 'no errors')" "$postgres_before" "$postgres_after" <<'PY'
import os, sys
binary, target, header, before, after, requests, ticks, rate, p99, errors, pg_before, pg_after = sys.argv[1:]
per_request = (int(after) - int(before)) / int(ticks) / int(requests) * 1000
postgres = (int(pg_after) - int(pg_before)) / int(ticks) / int(requests) * 1000
print(f"{os.path.basename(binary)} {target} [{header}]: {rate} req/s, p99 {p99}, "
      f"service CPU {per_request:.3f} ms a request, PostgreSQL {postgres:.3f} ms, {errors}")
PY
