# Shared by the fault scripts (sourced, not run): a private PostgreSQL cluster that the scripts
# may stop, freeze or kill without harming any other server, and the release binary against it.
#
# Settings (environment):
#   API_KEY        sent as `Authorization: Bearer $API_KEY` on every request; `setup` makes one
#                  with the binary's `keys create` unless it is set.
#   FAULT_PG_PORT  TCP port of the private cluster (default: a free port, chosen once per run, so
#                  that several people's runs on one machine do not meet).
#   PG_BIN         directory of initdb/pg_ctl/postgres (default: the newest /usr/lib/postgresql/*/bin).
#   CARGO_TARGET_DIR  where the release binary is built (default ./target).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export API_KEY=${API_KEY:-}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
FAULT_PG_PORT=${FAULT_PG_PORT:-$(free_port)}
PG_BIN=${PG_BIN:-$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")")}
SERVICE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/msc-readiness
CLIENT=(python3 "$ROOT/tests/faults/client.py")

SCRATCH=$(mktemp -d /tmp/msc-readiness-faults.XXXXXX)
chmod 755 "$SCRATCH"
PGDATA_DIR=$SCRATCH/pg
SERVICE_PID=
FAILURES=0

# PostgreSQL refuses to run as root; containers and CI run these scripts as root.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

log() { printf '%s %s\n' "$(date -u +%T.%3N)" "$*"; }

check() { # description, then a command that succeeds when the check holds
  local description=$1; shift
  if "$@"; then echo "PASS $description"; else echo "FAIL $description"; FAILURES=$((FAILURES + 1)); fi
}

pg_init() {
  [ "$(id -u)" = 0 ] && chown postgres "$SCRATCH"
  as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust --no-sync >"$SCRATCH/initdb.log"
}

pg_start() {
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$SCRATCH/postgres.log" -w -t 30 \
    -o "-p $FAULT_PG_PORT -k $SCRATCH -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null ||
    { tail -20 "$SCRATCH/postgres.log" >&2; return 1; }
}

pg_stop() { # fast | immediate
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m "$1" -w stop >/dev/null
}

# The postmaster and every server process it started, by process id.
pg_pids() {
  local postmaster
  postmaster=$(head -1 "$PGDATA_DIR/postmaster.pid")
  echo "$postmaster" $(ps -o pid= --ppid "$postmaster")
}

psql_service() {
  as_postgres psql -X -q -t -A -h 127.0.0.1 -p "$FAULT_PG_PORT" -U postgres -d postgres "$@"
}

service_database_url() { echo "postgres://postgres@127.0.0.1:$FAULT_PG_PORT/postgres"; }

service_start() {
  SERVICE_PORT=$(free_port)
  BASE_URL=http://127.0.0.1:$SERVICE_PORT
  # Rate limiting off: the scenarios drive one key harder than any client should.
  DATABASE_URL=$(service_database_url) PORT=$SERVICE_PORT LOG_LEVEL=${LOG_LEVEL:-warn} RATE_LIMIT_PER_SECOND=0 \
    RATE_LIMIT_ORGANISATION_PER_SECOND=0 \
    "$SERVICE_BIN" >>"$SCRATCH/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE_URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the service did not become ready:" >&2
  cat "$SCRATCH/service.log" >&2
  return 1
}

cleanup() {
  local status=$?
  if [ -n "$SERVICE_PID" ]; then kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true; fi
  if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    kill -CONT $(pg_pids) 2>/dev/null || true
    pg_stop immediate 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
  exit "$status"
}
trap cleanup EXIT

setup() {
  [ -x "$SERVICE_BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
  pg_init
  pg_start
  service_start
  if [ -z "$API_KEY" ]; then
    API_KEY=$(DATABASE_URL=$(service_database_url) "$SERVICE_BIN" keys create --organisation faults 2>>"$SCRATCH/service.log")
  fi
  cp "$ROOT/src/scoring/reference_programs/disc_mature_allogeneic.json" "$SCRATCH/profile.json"
  python3 -c 'import json,sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))}))' \
    "$SCRATCH/profile.json" >"$SCRATCH/body.json"
  chmod a+r "$SCRATCH/profile.json" "$SCRATCH/body.json"
}

finish() {
  if [ "$FAILURES" = 0 ]; then echo "RESULT PASS"; else echo "RESULT FAIL ($FAILURES failed checks)"; exit 1; fi
}

# Evaluates a Python expression over the JSON document on stdin, bound to `v`.
field() { python3 -c 'import json,sys; v=json.loads(sys.stdin.read()); print(eval(sys.argv[1], {}, {"v": v}))' "$1"; }
