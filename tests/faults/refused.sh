#!/usr/bin/env bash
# Issue 8 (4): the database refuses connections, then comes back, without a restart of the service.
#
#   bash tests/faults/refused.sh
#
# Stops the private PostgreSQL cluster (fast shutdown: connections are closed, new ones refused),
# checks that requests needing the database get 503 problem+json with Retry-After within about
# 1 s and that /readyz reports 503 within 2 s, starts the cluster again and measures how long the
# first successful request takes after it accepts connections again.
source "$(dirname "$0")/lib.sh"
setup
export BASE_URL

first=$("${CLIENT[@]}" one POST /v1/assessments --body "$SCRATCH/body.json")
check "a request succeeds while the database is up ($(field 'v["status"]' <<<"$first"))" \
  test "$(field 'v["status"]' <<<"$first")" = 201

log "stopping PostgreSQL (fast)"
pg_stop fast
for request in "POST /v1/assessments" "GET /v1/assessments" "POST /v1/assessments" "GET /v1/programs"; do
  # shellcheck disable=SC2086
  outcome=$("${CLIENT[@]}" one $request --body "$SCRATCH/body.json")
  summary=$(field '"status=%s ms=%s retry_after=%s problem=%s" % (v.get("status"), v["ms"], v.get("retry_after"), v.get("problem"))' <<<"$outcome")
  check "$request while refused: 503 problem+json with Retry-After within 1.2 s ($summary)" \
    test "$(field 'v.get("status") == 503 and v["ms"] <= 1200 and v.get("retry_after") is not None and v.get("problem")' <<<"$outcome")" = True
  if grep -qiE 'sqlx|sqlstate|relation|syntax|connection refused' <<<"$outcome"; then
    echo "FAIL driver text in the problem: $outcome"; FAILURES=$((FAILURES + 1))
  fi
done
ready=$("${CLIENT[@]}" one GET /readyz)
check "/readyz while refused: 503 within 2 s ($(field '"status=%s ms=%s" % (v.get("status"), v["ms"])' <<<"$ready"))" \
  test "$(field 'v.get("status") == 503 and v["ms"] <= 2000' <<<"$ready")" = True

log "starting PostgreSQL again"
pg_start
log "PostgreSQL accepts connections"
back=$("${CLIENT[@]}" until-ok POST /v1/assessments --body "$SCRATCH/body.json" --max-seconds 10)
check "first success after the database is back within 2 s ($(field '"%s ms, %s attempts, %s" % (v["ms"], v["attempts"], v["statuses"])' <<<"$back"))" \
  test "$(field 'v["ok"] and v["ms"] <= 2000' <<<"$back")" = True
ready=$("${CLIENT[@]}" one GET /readyz)
check "/readyz is 200 again ($(field 'v.get("status")' <<<"$ready"))" test "$(field 'v.get("status")' <<<"$ready")" = 200
check "the service was not restarted (pid $SERVICE_PID still running)" kill -0 "$SERVICE_PID"
finish
