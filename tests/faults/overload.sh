#!/usr/bin/env bash
# Issue 8 (9): overload. Throughput at concurrency 64 stays within 90 % of concurrency 4, without
# errors, and no request waits longer than the pool acquire timeout (1 s) plus its own work.
#
#   bash tests/faults/overload.sh        # DURATION=10s by default; needs wrk (Debian package)
#
# wrk drives POST /v1/assessments (a 2.3 KB profile, scored and stored durably) at concurrency 4,
# then 64, against the default pool of 8 connections. Figures move 5-25 % between runs on a
# shared 2-core machine: compare within one run.
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
setup
cat >"$SCRATCH/post.lua" <<LUA
local f = io.open("$SCRATCH/body.json", "r"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $API_KEY"
LUA
chmod a+r "$SCRATCH/post.lua"

measure() { # concurrency
  local out rps p99 max errors
  out=$(wrk -t2 -c"$1" -d"$DURATION" --latency --timeout 5s -s "$SCRATCH/post.lua" "$BASE_URL/v1/assessments")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  max=$(awk '$1=="Latency" {print $4}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd';' || true)
  printf 'concurrency %-3s %10s req/s   p99 %-9s max %-9s %s\n' "$1" "$rps" "$p99" "$max" "${errors:-no errors}" >&2
  echo "$rps ${errors:-none} $max"
}
to_ms() { python3 -c 'import re,sys; m=re.match(r"([\d.]+)(us|ms|s)", sys.argv[1]); print(float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000}[m[2]])' "$1"; }

echo "== $(date -u +%FT%TZ), $(nproc) cores, $DURATION per run, pool 8"
read -r rps4 errors4 max4 <<<"$(measure 4)"
read -r rps64 errors64 max64 <<<"$(measure 64)"
ratio=$(python3 -c "print(round($rps64 / $rps4, 3))")
check "throughput at concurrency 64 is >= 90 % of concurrency 4 ($rps64 / $rps4 = $ratio)" \
  python3 -c "import sys; sys.exit(0 if $ratio >= 0.9 else 1)"
check "no errors at either concurrency ($errors4 / $errors64)" test "$errors4" = none -a "$errors64" = none
check "the slowest request at concurrency 64 ($max64) stays under the acquire timeout + deadline (3 s)" \
  python3 -c "import sys; sys.exit(0 if $(to_ms "$max64") <= 3000 else 1)"
finish
