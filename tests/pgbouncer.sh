#!/usr/bin/env bash
# Issue 19, point 3: the service behind PgBouncer in transaction pooling mode (Debian's package).
#
#   bash tests/pgbouncer.sh          # about 30 s; needs pgbouncer (apt-get install pgbouncer)
#
# A private PostgreSQL cluster and PgBouncer in front of it with 3 server connections, fewer than
# the 16 pooled connections of the service's two instances, so that transactions of different
# requests, instances and organisations share server connections. The release binary runs with
# DATABASE_POOLER=transaction (every lease one transaction, its organisation scope set in its
# BEGIN, no named statement kept) and DATABASE_DIRECT_URL for migrations and key-change
# announcements. Load of writes and lists on both instances, then every kind of work once
# (statistics, exports, a program and its history, an import job), and a second organisation that
# must see none of the first's rows. Prints PASS/FAIL and RESULT. DATABASE_POOLER=none shows what
# breaks without the pooled mode.
source "$(dirname "$0")/faults/lib.sh"
PGBOUNCER=${PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
[ -x "$PGBOUNCER" ] || { echo "pgbouncer is missing: apt-get install pgbouncer" >&2; exit 1; }

BOUNCER_PORT=$(free_port)
BOUNCER_POOL=3
DIRECT_URL=postgres://postgres@127.0.0.1:$FAULT_PG_PORT/postgres

SECOND_PID=
cleanup_with_bouncer() {
  local status=$?
  [ -n "$SECOND_PID" ] && kill "$SECOND_PID" 2>/dev/null || true
  [ -f "$SCRATCH/pgbouncer.pid" ] && kill "$(cat "$SCRATCH/pgbouncer.pid")" 2>/dev/null || true
  (exit "$status")
  cleanup
}
trap cleanup_with_bouncer EXIT

# The service's own pool goes through PgBouncer; keys are made directly (the command line does
# not run in pooled mode).
service_database_url() { echo "postgres://postgres@127.0.0.1:$BOUNCER_PORT/postgres"; }
# DATABASE_POOLER=none shows what breaks without the pooled mode.
# DATABASE_DIRECT_URL= (empty) runs the migrations through the pooler, with the key cache off.
export DATABASE_POOLER=${DATABASE_POOLER:-transaction} DATABASE_DIRECT_URL=${DATABASE_DIRECT_URL-$DIRECT_URL}

[ -x "$SERVICE_BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
pg_init
pg_start
cat >"$SCRATCH/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$FAULT_PG_PORT dbname=postgres user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $SCRATCH
auth_type = trust
auth_file = $SCRATCH/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $BOUNCER_POOL
max_client_conn = 200
; every transaction leaves its server connection clean for the next client
server_reset_query = DISCARD ALL
server_reset_query_always = 1
; sqlx sends these at startup; the service sets its timeouts per transaction instead
ignore_startup_parameters = extra_float_digits,options
idle_transaction_timeout = 10
logfile = $SCRATCH/pgbouncer.log
pidfile = $SCRATCH/pgbouncer.pid
INI
echo '"postgres" ""' >"$SCRATCH/userlist.txt"
chmod a+r "$SCRATCH/pgbouncer.ini" "$SCRATCH/userlist.txt"
as_postgres "$PGBOUNCER" -d "$SCRATCH/pgbouncer.ini"
for _ in $(seq 1 50); do [ -f "$SCRATCH/pgbouncer.pid" ] && break; sleep 0.1; done
log "PgBouncer $("$PGBOUNCER" --version | head -1) on port $BOUNCER_PORT, transaction pooling, $BOUNCER_POOL server connections"

service_start
export BASE_URL
API_KEY=$(DATABASE_URL=$DIRECT_URL "$SERVICE_BIN" keys create --organisation bouncer-a 2>>"$SCRATCH/service.log")
OTHER_KEY=$(DATABASE_URL=$DIRECT_URL "$SERVICE_BIN" keys create --organisation bouncer-b 2>>"$SCRATCH/service.log")
export API_KEY
cp "$ROOT/src/scoring/reference_programs/disc_mature_allogeneic.json" "$SCRATCH/profile.json"
python3 -c 'import json,sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))}))' \
  "$SCRATCH/profile.json" >"$SCRATCH/body.json"
chmod a+r "$SCRATCH/body.json"

status_of() { # method path [curl arguments...]: prints the status, keeps the body in $SCRATCH/last
  local method=$1 path=$2; shift 2
  curl -s -o "$SCRATCH/last" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $API_KEY" "$@" "$BASE_URL$path"
}

# A second instance through the same PgBouncer, as a deployment of two would run.
SECOND_PORT=$(free_port)
DATABASE_URL=$(service_database_url) PORT=$SECOND_PORT LOG_LEVEL=${LOG_LEVEL:-warn} RATE_LIMIT_PER_SECOND=0 \
  RATE_LIMIT_ORGANISATION_PER_SECOND=0 "$SERVICE_BIN" >>"$SCRATCH/second.log" 2>&1 &
SECOND_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$SECOND_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

log "load: 2 instances x 4 threads, POST and list, 5 s, as organisation A"
BASE_URL=http://127.0.0.1:$SECOND_PORT "${CLIENT[@]}" load --threads 4 --seconds 5 --mix post,get \
  --body "$SCRATCH/body.json" >"$SCRATCH/second-load.json" &
second_client=$!
load=$("${CLIENT[@]}" load --threads 4 --seconds 5 --mix post,get --body "$SCRATCH/body.json")
wait "$second_client"
echo "load (first instance): $load"
echo "load (second instance): $(cat "$SCRATCH/second-load.json")"
load=$(python3 - "$load" "$(cat "$SCRATCH/second-load.json")" <<'PY'
import json, sys
first, second = (json.loads(text) for text in sys.argv[1:])
statuses = {s: first["by_status"].get(s, 0) + second["by_status"].get(s, 0) for s in {*first["by_status"], *second["by_status"]}}
print(json.dumps({"by_status": statuses, "errors": {**first["errors"], **second["errors"]}}))
PY
)
check "every request succeeded through the pooler ($(field 'v["by_status"]' <<<"$load"), errors $(field 'v["errors"]' <<<"$load"))" \
  test "$(field 'not v["errors"] and all(200 <= int(s) < 300 for s in v["by_status"])' <<<"$load")" = True
stored=$(psql_service -c "SELECT count(*) FROM assessments")
check "each acknowledged POST is one stored row ($(field 'v["by_status"].get("201", 0)' <<<"$load") acknowledged, $stored stored)" \
  test "$(field 'v["by_status"].get("201", 0)' <<<"$load")" = "$stored"
servers=$(as_postgres psql -X -q -t -A -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres -d pgbouncer -c "SHOW SERVERS" | wc -l)
check "PgBouncer held at most $BOUNCER_POOL server connections for the two instances' 16 ($servers)" test "$servers" -le "$BOUNCER_POOL"

for request in "GET /v1/stats/summary" "GET /v1/stats/grouped?by=indication" "GET /v1/stats/limiting-barriers" \
  "GET /v1/exports/assessments.csv" "GET /v1/exports/assessments.ndjson" "GET /v1/audit"; do
  set -- $request
  code=$(status_of "$1" "$2")
  check "$request answers $code" test "$code" = 200
done
code=$(status_of POST /v1/programs -H 'content-type: application/json' -d '{"key": "bouncer", "name": "Through the pooler"}')
check "a program is created ($code)" test "$code" = 201
program=$(field 'v["id"]' <"$SCRATCH/last")
code=$(status_of POST /v1/assessments -H 'content-type: application/json' -H 'Idempotency-Key: bouncer-1' \
  -d "{\"program_id\": \"$program\", \"profile\": $(cat "$SCRATCH/profile.json")}")
check "an assessment of it is stored with an idempotency key ($code)" test "$code" = 201
code=$(status_of POST /v1/assessments -H 'content-type: application/json' -H 'Idempotency-Key: bouncer-1' \
  -d "{\"program_id\": \"$program\", \"profile\": $(cat "$SCRATCH/profile.json")}")
check "its retry is replayed ($code, $(grep -c . "$SCRATCH/last") body)" test "$code" = 201
first=$(field 'v["id"]' <"$SCRATCH/last")
code=$(status_of POST /v1/assessments -H 'content-type: application/json' -H 'Idempotency-Key: bouncer-1' \
  -d "{\"program_id\": \"$program\", \"profile\": $(cat "$SCRATCH/profile.json")}")
check "a second retry replays the same assessment ($code)" test "$code:$(field 'v["id"]' <"$SCRATCH/last")" = "201:$first"
code=$(status_of GET "/v1/programs/$program/assessments")
check "the program's history lists it ($code, $(field 'len(v["items"])' <"$SCRATCH/last") items)" \
  test "$code:$(field 'len(v["items"])' <"$SCRATCH/last")" = 200:1

python3 - "$SCRATCH/profile.json" >"$SCRATCH/import.ndjson" <<'PY'
import json, sys
profile = json.load(open(sys.argv[1]))
for n in range(40):
    profile["program"]["name"] = f"Imported {n}"
    print(json.dumps({"program": f"imported-{n % 5}", "profile": profile}))
print('{"program": "broken", "profile": {"program": {"stage": "sideways"}}}')
PY
code=$(status_of POST /v1/imports -H 'content-type: application/x-ndjson' --data-binary "@$SCRATCH/import.ndjson")
check "an import of 41 lines is accepted ($code)" test "$code" = 202
job=$(field 'v["id"]' <"$SCRATCH/last")
for _ in $(seq 1 100); do
  status_of GET "/v1/jobs/$job" >/dev/null
  case $(field 'v["state"]' <"$SCRATCH/last") in queued|running) sleep 0.2 ;; *) break ;; esac
done
check "the import job ran through the pooler: $(field '(v["state"], v["processed"], v["failed"])' <"$SCRATCH/last")" \
  test "$(field '(v["state"], v["processed"], v["failed"]) == ("succeeded", 41, 1)' <"$SCRATCH/last")" = True

code=$(curl -s -o "$SCRATCH/other" -w '%{http_code}' -H "Authorization: Bearer $OTHER_KEY" "$BASE_URL/v1/assessments")
check "organisation B, sharing the server connections, sees none of A's assessments ($code, $(field 'len(v["items"])' <"$SCRATCH/other") items)" \
  test "$code:$(field 'len(v["items"])' <"$SCRATCH/other")" = 200:0
finish
