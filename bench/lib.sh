# Shared by the bench scripts (sourced).

# wrk_post_script BODY SCRIPT: writes to SCRIPT a wrk script that POSTs the JSON file BODY.
wrk_post_script() {
  cat >"$2" <<LUA
wrk.method = "POST"
wrk.body = io.open("$1"):read("*a")
wrk.headers["Content-Type"] = "application/json"
LUA
}

# start_service DB_DIR LOG BINARY: BINARY serving on a free port, with its own embedded PostgreSQL
# in DB_DIR and rate limiting off (per key and per organisation: the benchmarks measure the
# service, not the limiter; binaries older than the organisation limit ignore its setting); pool
# POOL (default 8). Sets service_pid, base and key (a new key of the organisation migration 0001
# created, which seeded rows belong to).
start_service() {
  local db_dir=$1 log=$2 binary=$3 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  EMBEDDED_DB_DIR="$db_dir" PORT=$port LOG_LEVEL=warn DATABASE_POOL_SIZE=${POOL:-8} RATE_LIMIT_PER_SECOND=0 \
    RATE_LIMIT_ORGANISATION_PER_SECOND=0 "$binary" >"$log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$base/readyz" >/dev/null || { cat "$log"; exit 1; }
  key=$(EMBEDDED_DB_DIR="$db_dir" "$binary" keys create --organisation default --name bench 2>/dev/null)
}

# reference_row_script SCRIPT: creates, with the caller's `psql`, the table of issue 16's reference
# row (uuid, timestamptz, 7 numeric scores, ~2.5 KB jsonb: the mature disc profile, ~4 KB of text)
# and writes to SCRIPT the pgbench script that inserts one.
reference_row_script() {
  psql -c "CREATE TABLE bench_reference (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
             s1 numeric, s2 numeric, s3 numeric, s4 numeric, s5 numeric, s6 numeric, s7 numeric, document jsonb NOT NULL)"
  psql -v document="$(cat src/scoring/reference_programs/disc_mature_allogeneic.json)" \
    <<<"CREATE TABLE bench_document AS SELECT :'document'::text AS document;"
  cat >"$1" <<'SQL'
INSERT INTO bench_reference (id, s1, s2, s3, s4, s5, s6, s7, document)
SELECT gen_random_uuid(), 61.2, 48.0, 55.5, 70.1, 82.3, 40.0, 66.6, document::jsonb FROM bench_document;
SQL
  chmod a+r "$1"
}

# pgbench NAME SCRIPT: the rate at which pgbench runs SCRIPT (prepared, one transaction each) at
# CONCURRENCY clients on THREADS threads for DURATION, against msc_readiness at socket_dir and
# pg_port, as run_as (PostgreSQL refuses root); printed, and kept in $scratch/NAME.rate.
pgbench() { # name, script file
  local out; out=$("${run_as[@]}" "$PG_BIN/pgbench" -n -M prepared -c "$CONCURRENCY" -j "$THREADS" -T "${DURATION%s}" \
    -h "$socket_dir" -p "$pg_port" -U postgres -f "$2" msc_readiness)
  local rate; rate=$(awk '/^tps/ {print $3; exit}' <<<"$out")
  printf '%-34s %10s rows/s  (average latency %s)\n' "$1" "$rate" "$(awk '/latency average/ {print $4, $5}' <<<"$out")"
  echo "$rate" >"$scratch/$1.rate"
}

# scratch_for_one_service NAME: a scratch directory in $scratch (readable by PostgreSQL's user, which
# an embedded cluster runs as under root), removed at exit with the service start_service started.
scratch_for_one_service() {
  scratch=$(mktemp -d "/tmp/msc-readiness-$1.XXXXXX")
  chmod 755 "$scratch"
  service_pid=
  trap stop_service_and_scratch EXIT
}
stop_service_and_scratch() {
  [ -n "$service_pid" ] && { kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; }
  rm -rf "$scratch"
}
