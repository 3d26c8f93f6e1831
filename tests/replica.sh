#!/usr/bin/env bash
# Issue 19, point 2: the service with a real streaming replica (DATABASE_READ_URL).
#
#   bash tests/replica.sh          # about 40 s; needs the release binary (built if missing)
#
# A private primary and a replica made from it with `pg_basebackup -R` (this machine's PostgreSQL
# programs), the release binary on both. Load of writes and lists runs while the script shows,
# from pg_stat_activity and pg_stat_database on each server, which server served what; then the
# replica is stopped mid-load (no request may fail: reads fall back to the primary), and started
# again (reads return to it). Prints PASS/FAIL lines and RESULT.
source "$(dirname "$0")/faults/lib.sh"

REPLICA_PORT=$(free_port)
REPLICA_DIR=$SCRATCH/replica
export METRICS_TOKEN=replica-script-metrics-token
export DATABASE_READ_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/postgres
export REPLICA_MAX_LAG_MS=${REPLICA_MAX_LAG_MS:-2000}

cleanup_with_replica() {
  local status=$?
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  (exit "$status")
  cleanup
}
trap cleanup_with_replica EXIT

replica_start() {
  as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$SCRATCH/replica.log" -w -t 30 \
    -o "-p $REPLICA_PORT -k $SCRATCH -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
    { tail -20 "$SCRATCH/replica.log" >&2; return 1; }
}

psql_on() { # port, then psql arguments
  local port=$1; shift
  as_postgres psql -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

metric() {
  curl -s -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" | awk -v name="$1" '$1 == name {print $2}'
}

wait_for_metric() { # name, value, seconds
  for _ in $(seq 1 $(($3 * 10))); do
    [ "$(metric "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# Transactions each server has committed in the service's database: reads count on a standby too.
commits() { psql_on "$1" -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'"; }

who_served_what() {
  for server in "primary $FAULT_PG_PORT" "replica $REPLICA_PORT"; do
    set -- $server
    echo "  $1 (port $2): the service's connections and the last statement each ran"
    psql_on "$2" -F ' | ' -c "SELECT count(*), left(regexp_replace(query, '\s+', ' ', 'g'), 90)
      FROM pg_stat_activity WHERE application_name = 'msc-readiness' GROUP BY 2 ORDER BY 1 DESC" |
      sed 's/^/    /'
  done
}

load_summary_ok() { # the JSON of a load run: every request 2xx, no connection error
  test "$(field 'not v["errors"] and all(200 <= int(s) < 300 for s in v["by_status"])' <<<"$1")" = True
}

[ -x "$SERVICE_BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
pg_init
pg_start
log "primary on port $FAULT_PG_PORT; taking a base backup for the replica"
as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$FAULT_PG_PORT" -U postgres -D "$REPLICA_DIR" -R -X stream \
  -c fast >"$SCRATCH/basebackup.log" 2>&1
replica_start
check "the replica is a streaming standby" test "$(psql_on "$REPLICA_PORT" -c 'SELECT pg_is_in_recovery()')" = t
service_start
export BASE_URL
API_KEY=$(DATABASE_URL=$(service_database_url) "$SERVICE_BIN" keys create --organisation replica 2>>"$SCRATCH/service.log")
cp "$ROOT/src/scoring/reference_programs/disc_mature_allogeneic.json" "$SCRATCH/profile.json"
python3 -c 'import json,sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))}))' \
  "$SCRATCH/profile.json" >"$SCRATCH/body.json"
chmod a+r "$SCRATCH/body.json"

check "the service uses the replica for reads (db_replica_in_use 1, lag $(metric db_replica_lag_seconds) s)" \
  wait_for_metric db_replica_in_use 1 10

replica_before=$(commits "$REPLICA_PORT")
log "load: 4 threads, POST and list, 4 s"
first=$("${CLIENT[@]}" load --threads 4 --seconds 4 --mix post,get --body "$SCRATCH/body.json")
echo "load: $first"
replica_after=$(commits "$REPLICA_PORT")
who_served_what
check "every request succeeded ($(field 'v["by_status"]' <<<"$first"))" load_summary_ok "$first"
check "the replica served reads ($((replica_after - replica_before)) transactions committed on it)" \
  test $((replica_after - replica_before)) -gt 50
writes_on_replica=$(psql_on "$REPLICA_PORT" -c "SELECT count(*) FROM pg_stat_activity
  WHERE application_name = 'msc-readiness' AND query ILIKE '%insert into%'")
check "no write reached the replica ($writes_on_replica connections last ran an INSERT there)" test "$writes_on_replica" = 0

log "load: 4 threads, 8 s; the replica is stopped (immediate) at t=2 s"
"${CLIENT[@]}" load --threads 4 --seconds 8 --mix post,get --body "$SCRATCH/body.json" >"$SCRATCH/stopped.json" &
client=$!
sleep 2
as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m immediate -w stop >/dev/null
log "replica stopped"
wait "$client"
stopped=$(cat "$SCRATCH/stopped.json")
echo "load: $stopped"
check "no request failed while the replica went away ($(field 'v["by_status"]' <<<"$stopped"), errors $(field 'v["errors"]' <<<"$stopped"))" \
  load_summary_ok "$stopped"
check "reads went to the primary (db_replica_in_use $(metric db_replica_in_use), lag $(metric db_replica_lag_seconds))" \
  test "$(metric db_replica_in_use)" = 0

log "replica restarted"
replica_start
check "once it has caught up, the replica serves reads again" wait_for_metric db_replica_in_use 1 15
replica_before=$(commits "$REPLICA_PORT")
again=$("${CLIENT[@]}" load --threads 4 --seconds 2 --mix post,get --body "$SCRATCH/body.json")
echo "load: $again"
replica_after=$(commits "$REPLICA_PORT")
check "every request succeeded ($(field 'v["by_status"]' <<<"$again"))" load_summary_ok "$again"
check "the restarted replica served reads again ($((replica_after - replica_before)) transactions)" \
  test $((replica_after - replica_before)) -gt 20
finish
