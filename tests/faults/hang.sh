#!/usr/bin/env bash
# Issue 8 (5): the database hangs (every PostgreSQL process stopped with SIGSTOP).
#
#   bash tests/faults/hang.sh            # HANG_SECONDS=4 by default
#
# 8 client threads send POST and GET /v1/assessments while every server process is frozen for
# HANG_SECONDS. No request may take longer than the request deadline (REQUEST_TIMEOUT_MS, 2000)
# plus a little scheduling slack; the ones that fail must be 503/504 problem documents. After the
# processes resume: requests succeed again, later requests on reused pooled connections all
# succeed (no connection broken by a cancelled statement was put back into the pool), and the
# service holds no more connections than its pool size and its key-change listener.
source "$(dirname "$0")/lib.sh"
HANG_SECONDS=${HANG_SECONDS:-4}
DEADLINE_MS=2000
setup
export BASE_URL

log "load starts (8 threads, POST and GET); PostgreSQL frozen at t=1.5 s for $HANG_SECONDS s"
"${CLIENT[@]}" load --threads 8 --seconds $((HANG_SECONDS + 4)) --mix post,get --body "$SCRATCH/body.json" \
  --record "$SCRATCH/hang.jsonl" >"$SCRATCH/summary.json" &
client=$!
sleep 1.5
pids=$(pg_pids)
kill -STOP $pids
log "SIGSTOP sent to PostgreSQL processes: $pids"
sleep "$HANG_SECONDS"
kill -CONT $pids
log "SIGCONT sent"
wait "$client"
summary=$(cat "$SCRATCH/summary.json")
echo "load: $summary"

check "no request took longer than the deadline + 300 ms (max $(field 'v["max_ms"]' <<<"$summary") ms)" \
  test "$(field "v['max_ms'] <= $DEADLINE_MS + 300" <<<"$summary")" = True
check "every failure is a 503/504 problem document ($(field 'v["by_status"]' <<<"$summary"), errors $(field 'v["errors"]' <<<"$summary"))" \
  test "$(field 'not v["errors"] and set(v["by_status"]) <= {"200", "201", "503", "504"} and v["non_2xx_without_problem"] == 0' <<<"$summary")" = True
check "requests failed while the database was frozen (first at t=$(field 'v.get("first_failure_t")' <<<"$summary") s)" \
  test "$(field '"503" in v["by_status"] or "504" in v["by_status"]' <<<"$summary")" = True
check "requests succeeded again after the database resumed ($(field 'v["first_success_after_failure_s"]' <<<"$summary") s after the last failure)" \
  test "$(field 'v["first_success_after_failure_s"] is not None' <<<"$summary")" = True

after=$("${CLIENT[@]}" load --threads 4 --seconds 2 --mix post,get --body "$SCRATCH/body.json")
check "afterwards every request succeeds on the pooled connections ($(field 'v["by_status"]' <<<"$after"), errors $(field 'v["errors"]' <<<"$after"))" \
  test "$(field 'not v["errors"] and set(v["by_status"]) <= {"200", "201"}' <<<"$after")" = True
connections=$(psql_service -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'msc-readiness'")
# The pool's 8, plus the key-change listener and the connection that sends its heartbeats.
check "the service holds $connections connections, no more than its pool of 8 and its key-change listener with its heartbeat" test "$connections" -le 10
idle_in_tx=$(psql_service -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'msc-readiness' AND state LIKE 'idle in transaction%'")
check "no connection is left idle in a transaction ($idle_in_tx)" test "$idle_in_tx" = 0
finish
