#!/usr/bin/env bash
# Issue 20: hostile clients against the release binary. Each part prints its figures and PASS/FAIL.
#
#   bash tests/faults/hostile.sh               # all parts, ~2 minutes; needs wrk and zstd
#   PARTS=framing bash tests/faults/hostile.sh # needs python3 only; run by .ci/run
#   PARTS="methods bomb" bash tests/faults/hostile.sh
#
# methods  200,000 requests (no key), each with a made-up HTTP method name, METRICS_TOKEN set:
#          RSS and the size of /metrics stay bounded (finding 1).
# bomb     three 32 KB zstd bodies that expand to 1 GiB each, at once, with a valid key: refused
#          with 415 before they are read; peak RSS stays bounded (finding 2).
# filters  `model_version=%00` and a year PostgreSQL cannot hold on every filtered view: 400
#          naming the parameter, never 500 (finding 4).
# lists    a 64 KB profile of 21,225 empty potency assays: refused with 422 at parse, in about
#          the time of a normal request (finding 6).
# framing  2,000 connections without a key, each a malformed request or a 200 KB header: each is
#          answered (400 or 431) and none writes a line to the log (finding 11).
# flood    POST /v1/assessments from 8, then FLOOD (1,500) connections: goodput at 1,500 is at
#          least half of that at 8, and every error is a 503 "overloaded" problem (finding 3).
source "$(dirname "$0")/lib.sh"
PARTS=${PARTS:-methods bomb filters lists framing flood}
FLOOD=${FLOOD:-1500}
DURATION=${DURATION:-10s}
needs() { # the tools a part runs
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install $tool" >&2; exit 1; }
  done
}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
export METRICS_TOKEN=hostile-clients-metrics-token
setup

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVICE_PID/status"; }
peak_kb() { awk '/^VmHWM/ {print $2}' "/proc/$SERVICE_PID/status"; }
metrics_bytes() { curl -s -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" | wc -c; }

part_methods() {
  needs wrk
  cat >"$SCRATCH/methods.lua" <<'LUA'
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
local counter = 0
function setup(thread) thread:set("id", tostring(math.random(1, 1e9))) end
request = function()
  -- wrk checks the first request of its first thread with a parser that knows only the standard
  -- methods; later requests are sent as made.
  counter = counter + 1
  if counter == 1 then return wrk.format("GET", "/x") end
  local name, n = {}, counter * 7919 + tonumber(id)
  for i = 1, 12 do local k = n % 26; name[i] = letters:sub(k + 1, k + 1); n = math.floor(n / 26) + i end
  return wrk.format(table.concat(name), "/x")
end
LUA
  local before after metrics
  before=$(rss_kb)
  wrk -t2 -c32 -d"${METHODS_DURATION:-20s}" -s "$SCRATCH/methods.lua" "$BASE_URL" >"$SCRATCH/methods.out"
  after=$(rss_kb)
  metrics=$(metrics_bytes)
  requests=$(awk '/requests in/ {print $1}' "$SCRATCH/methods.out")
  echo "methods: $requests requests with made-up methods; RSS ${before} -> ${after} kB; /metrics ${metrics} bytes"
  check "RSS grows by less than 32 MB ($before -> $after kB)" test $((after - before)) -lt 32768
  check "/metrics stays under 64 KB ($metrics bytes)" test "$metrics" -lt 65536
}

part_bomb() {
  needs zstd
  head -c 1G /dev/zero | zstd -q -c >"$SCRATCH/bomb.zst"
  chmod a+r "$SCRATCH/bomb.zst"
  local size before peak statuses
  size=$(stat -c %s "$SCRATCH/bomb.zst")
  before=$(rss_kb)
  statuses=$(for _ in 1 2 3; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 -X POST "$BASE_URL/v1/score" \
      -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' -H 'Content-Encoding: zstd' \
      --data-binary @"$SCRATCH/bomb.zst" &
  done; wait)
  peak=$(peak_kb)
  echo "bomb: ${size}-byte zstd body (1 GiB expanded) x3 at once: $(echo "$statuses" | tr '\n' ' '); RSS before ${before} kB, peak ${peak} kB"
  check "all three refused with 415 ($(echo "$statuses" | awk '{print $1}' | sort | uniq -c | tr -s ' ' | tr '\n' ';'))" \
    test "$(echo "$statuses" | awk '$1 != 415' | wc -l)" = 0
  check "peak RSS stays under 256 MB ($peak kB)" test "$peak" -lt 262144
}

part_filters() {
  local failures=0 view query status
  for view in "/v1/assessments?" "/v1/stats/summary?" "/v1/stats/grouped?by=indication&" \
    "/v1/stats/timeseries?interval=week&" "/v1/exports/assessments.csv?" "/v1/exports/assessments.ndjson?"; do
    for query in "model_version=%00" "created_from=-262143-01-01T00:00:00Z"; do
      status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $API_KEY" "$BASE_URL$view$query")
      [ "$status" = 400 ] || { echo "filters: $view$query -> $status"; failures=$((failures + 1)); }
    done
  done
  check "every filtered view answers 400 to NUL and to an out-of-range year ($failures not)" test "$failures" = 0
}

part_lists() {
  python3 -c 'import json; print(json.dumps({"profile": {"quality": {"potency_assays": [{}] * 21225}}}, separators=(",", ":")))' \
    >"$SCRATCH/assays.json"
  chmod a+r "$SCRATCH/assays.json"
  local normal attack
  normal=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$BASE_URL/v1/score" \
    -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' --data-binary @"$SCRATCH/body.json")
  attack=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$BASE_URL/v1/score" \
    -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' --data-binary @"$SCRATCH/assays.json")
  echo "lists: a reference profile: $normal; $(stat -c %s "$SCRATCH/assays.json") bytes of 21,225 empty assays: $attack"
  check "21,225 potency assays are refused with 422 ($attack)" test "${attack%% *}" = 422
}

part_framing() {
  local before after statuses
  before=$(wc -l <"$SCRATCH/service.log")
  statuses=$(python3 - "$SERVICE_PORT" <<'PY'
import collections, socket, sys
port = int(sys.argv[1])
requests = [b"GET /v1/programs HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
            b"GET /v1/programs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"]
counts = collections.Counter()
for n in range(2000):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(requests[n % 2])
        reply = connection.recv(4096).split(b" ", 2)
        counts[reply[1].decode() if len(reply) > 1 else "none"] += 1
print(" ".join(f"{status}:{n}" for status, n in sorted(counts.items())))
PY
)
  sleep 1
  after=$(wc -l <"$SCRATCH/service.log")
  echo "framing: 2,000 malformed or oversized requests without a key: $statuses; $((after - before)) log lines"
  check "each is answered 400 or 431 ($statuses)" test "$(echo "$statuses" | tr ' ' '\n' | grep -cvE '^(400|431):')" = 0
  check "none writes a log line ($((after - before)))" test $((after - before)) = 0
}

part_flood() {
  needs wrk
  cat >"$SCRATCH/flood.lua" <<LUA
local f = io.open("$SCRATCH/body.json", "r"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $API_KEY"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() created = 0; overloaded = 0; other = 0 end
function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 503 and body:find("/problems/overloaded", 1, true) then overloaded = overloaded + 1
  else other = other + 1; if other <= 3 then io.stderr:write("unexpected " .. status .. " " .. body:sub(1, 200) .. "\n") end end
end
function done(summary, latency, requests)
  local c, o, x = 0, 0, 0
  for _, t in ipairs(threads) do c = c + t:get("created"); o = o + t:get("overloaded"); x = x + t:get("other") end
  io.write(string.format("COUNTS %d %d %d %.1f\n", c, o, x, summary.duration / 1e6))
end
LUA
  chmod a+r "$SCRATCH/flood.lua"
  measure_flood() { # connections -> "stored/s overloaded other"
    local out
    out=$(wrk -t2 -c"$1" -d"$DURATION" --timeout 10s -s "$SCRATCH/flood.lua" "$BASE_URL/v1/assessments" 2>&1)
    echo "$out" | grep -E "unexpected|Socket errors" | head -4 >&2 || true
    awk '/^COUNTS/ {printf "%.1f %d %d\n", $2 / $5, $3, $4}' <<<"$out"
  }
  local low high peak
  read -r low low_overloaded low_other <<<"$(measure_flood 8)"
  before=$(rss_kb)
  read -r high high_overloaded high_other <<<"$(measure_flood "$FLOOD")"
  peak=$(peak_kb)
  warns=$(grep -c WARN "$SCRATCH/service.log" || true)
  echo "flood: 8 connections ${low} stored/s (${low_overloaded} overloaded, ${low_other} other);" \
    "$FLOOD connections ${high} stored/s (${high_overloaded} overloaded, ${high_other} other); RSS ${before} kB, peak ${peak} kB; ${warns} WARN lines in the log"
  check "goodput at $FLOOD connections is at least half that at 8 ($high vs $low stored/s)" \
    python3 -c "import sys; sys.exit(0 if $high >= 0.5 * $low else 1)"
  check "every error at $FLOOD connections is a 503 overloaded problem ($high_other others)" test "$high_other" = 0
}

for part in $PARTS; do "part_$part"; done
finish
