#!/usr/bin/env bash
# Issue 8 (8): SIGTERM under load loses no accepted request, and the drain is bounded.
#
#   bash tests/faults/shutdown.sh        # THREADS=16 by default
#
# THREADS clients POST assessments, each request on a new connection with its own
# Idempotency-Key, and the service gets SIGTERM 2 s into the load. A request counts as accepted
# when the service stored it (its key is in the database). Checks: no 5xx; every request that
# failed without a response (refused or reset) was not stored, i.e. the service had not accepted
# it; every stored request got its 201; the process exits within SHUTDOWN_TIMEOUT_SECS (10).
source "$(dirname "$0")/lib.sh"
THREADS=${THREADS:-16}
setup
export BASE_URL
run=term-$(date +%s)

"${CLIENT[@]}" --timeout 15 load --threads "$THREADS" --seconds 4 --keys "$run" --fresh-connections \
  --body "$SCRATCH/body.json" --record "$SCRATCH/term.jsonl" >"$SCRATCH/summary.json" &
client=$!
sleep 2
log "SIGTERM to the service (pid $SERVICE_PID)"
term_at=$(date +%s%N)
kill -TERM "$SERVICE_PID"
wait "$SERVICE_PID" || true
drain_ms=$((($(date +%s%N) - term_at) / 1000000))
SERVICE_PID=
log "the service exited ${drain_ms} ms after SIGTERM"
wait "$client"
summary=$(cat "$SCRATCH/summary.json")
echo "load: $summary"

psql_service -c "SELECT key FROM idempotency_keys WHERE key LIKE '$run-%'" | sort >"$SCRATCH/stored_keys"
verdict=$(python3 - "$SCRATCH/term.jsonl" "$SCRATCH/stored_keys" <<'PY'
import json, sys
attempts = [json.loads(line) for line in open(sys.argv[1])]
stored = set(open(sys.argv[2]).read().split())
answered = {a["key"] for a in attempts if a.get("status") == 201}
failed = [a for a in attempts if "error" in a]
failed_but_stored = [a["key"] for a in failed if a["key"] in stored]
errors = {}
for a in failed:
    errors[a["error"]] = errors.get(a["error"], 0) + 1
print(len(answered), len(stored), len(failed), len(failed_but_stored), len(stored - answered),
      json.dumps(errors).replace(" ", ""))
PY
)
read -r answered stored failed failed_but_stored stored_unanswered errors <<<"$verdict"
echo "counts: answered 201 $answered, stored $stored, failed without a response $failed $errors," \
  "of them stored $failed_but_stored, stored but unanswered $stored_unanswered"

check "no 5xx during the shutdown ($(field 'v["by_status"]' <<<"$summary"))" \
  test "$(field 'all(not s.startswith("5") for s in v["by_status"])' <<<"$summary")" = True
check "no request the service accepted was lost ($failed_but_stored failed requests had been stored, $stored_unanswered stored requests unanswered)" \
  test "$failed_but_stored" = 0 -a "$stored_unanswered" = 0
check "the load was still running when SIGTERM came (requests refused after it: $failed)" test "$failed" -gt 0
check "the drain is bounded: exit ${drain_ms} ms after SIGTERM (<= 10000)" test "$drain_ms" -le 10000
finish
