#!/usr/bin/env bash
# Issue 8 (6): PostgreSQL crashes mid-load; nothing acknowledged is lost and no retry duplicates.
#
#   bash tests/faults/crash.sh           # THREADS=8 LOAD_SECONDS=6 DOWN_SECONDS=2 by default
#
# THREADS clients POST assessments, each with its own Idempotency-Key, for LOAD_SECONDS. At
# t=2 s PostgreSQL is killed (`pg_ctl stop -m immediate`: no checkpoint, connections cut), and
# started again DOWN_SECONDS later. Every client retries a failed request (503, 504, 409,
# connection error) with the same key until it is acknowledged, as the API documentation tells
# clients to. Afterwards: every acknowledged assessment exists, and there is exactly one stored
# assessment per key (a request committed whose response was lost is replayed, not stored again).
source "$(dirname "$0")/lib.sh"
THREADS=${THREADS:-8}
LOAD_SECONDS=${LOAD_SECONDS:-6}
DOWN_SECONDS=${DOWN_SECONDS:-2}
setup
export BASE_URL
run=crash-$(date +%s)

log "load starts ($THREADS threads, unique Idempotency-Keys, retries for up to 20 s)"
"${CLIENT[@]}" load --threads "$THREADS" --seconds "$LOAD_SECONDS" --keys "$run" --retry-seconds 20 \
  --body "$SCRATCH/body.json" --record "$SCRATCH/crash.jsonl" >"$SCRATCH/summary.json" &
client=$!
sleep 2
log "killing PostgreSQL (pg_ctl stop -m immediate)"
pg_stop immediate
sleep "$DOWN_SECONDS"
pg_start
log "PostgreSQL restarted (crash recovery done)"
wait "$client"
summary=$(cat "$SCRATCH/summary.json")
echo "load: $summary"

acknowledged=$(wc -l <"$SCRATCH/crash.jsonl.acknowledged")
cut -f2 "$SCRATCH/crash.jsonl.acknowledged" >"$SCRATCH/acknowledged_ids"
chmod a+r "$SCRATCH/acknowledged_ids"
counts=$(psql_service <<SQL
CREATE TEMP TABLE acknowledged (id uuid);
\copy acknowledged FROM '$SCRATCH/acknowledged_ids'
SELECT (SELECT count(*) FROM assessments) || ' ' ||
       (SELECT count(*) FROM idempotency_keys WHERE key LIKE '$run-%') || ' ' ||
       (SELECT count(*) FROM acknowledged a JOIN assessments s USING (id)) || ' ' ||
       (SELECT count(*) FROM assessments s WHERE NOT EXISTS
          (SELECT 1 FROM idempotency_keys k WHERE k.assessment_id = s.id)) || ' ' ||
       (SELECT count(*) FROM (SELECT assessment_id FROM idempotency_keys GROUP BY 1 HAVING count(*) > 1) d);
SQL
)
read -r rows keys found orphans shared <<<"$counts"
retried=$(python3 -c '
import json, sys
attempts = [json.loads(line) for line in open(sys.argv[1])]
keys = {}
for a in attempts:
    if a.get("key"):
        keys[a["key"]] = keys.get(a["key"], 0) + 1
replayed = sum(1 for a in attempts if a.get("replayed"))
print(sum(1 for n in keys.values() if n > 1), replayed)' "$SCRATCH/crash.jsonl")
read -r retried_keys replayed <<<"$retried"
echo "counts: keys sent $((acknowledged + $(field 'v["unacknowledged"]' <<<"$summary"))), acknowledged $acknowledged," \
  "retried keys $retried_keys (of them answered by a replay of a row committed before the crash: $replayed)," \
  "stored rows $rows, stored keys $keys, acknowledged rows found $found," \
  "rows without a key $orphans, keys sharing a row $shared"

check "the crash was felt: requests failed and were retried ($retried_keys keys retried; $(field 'v["by_status"]' <<<"$summary"), errors $(field 'v["errors"]' <<<"$summary"))" \
  test "$retried_keys" -gt 0
check "every key was eventually acknowledged ($(field 'v["unacknowledged"]' <<<"$summary") not)" \
  test "$(field 'v["unacknowledged"]' <<<"$summary")" = 0
check "every acknowledged assessment exists ($found of $acknowledged)" test "$found" = "$acknowledged"
check "one stored assessment per key, no duplicates ($rows rows, $keys keys, $orphans rows without a key)" \
  test "$rows" = "$keys" -a "$keys" = "$acknowledged" -a "$orphans" = 0 -a "$shared" = 0
finish
