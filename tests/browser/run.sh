#!/usr/bin/env bash
# End-to-end browser test of the dashboard: builds the service, starts it on a free port against a
# fresh database, seeds the reference programs over the API, runs the Chromium test, and saves a
# screenshot to target/browser/dashboard.png. Everything it starts is stopped on exit.
#
# Environment: DATABASE_URL (the server to create the test database on; default
# postgres://postgres@127.0.0.1:5432/postgres), CARGO_TARGET_DIR. The API key is minted with the
# binary's own `keys create`, as a new user does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="${CARGO_TARGET_DIR:-$root/target}/debug/msc-readiness"
artifacts="$root/target/browser"
server_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p "$artifacts"

if [ ! -x /usr/bin/chromium ]; then
  echo "browser test: installing Debian's chromium package"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
# The binary `cargo test` builds (same profile and features: nothing is compiled twice).
(cd "$root" && cargo test --locked --no-run --quiet --test api)

# A database of its own: on the given server when it answers (same URL, another database name),
# else the service's embedded PostgreSQL in a fresh directory, as on a machine without a server.
database="browser_test_$(date +%s)_$$"
embedded_dir=""
if psql "$server_url" -XqAt -c 'SELECT 1' >/dev/null 2>&1; then
  base="${server_url%%\?*}"
  options="${server_url#"$base"}"
  database_env=(DATABASE_URL="${base%/*}/$database$options")
  psql "$server_url" -XqAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$database\"" >/dev/null
else
  echo "browser test: no server at $server_url; the service runs its embedded PostgreSQL"
  embedded_dir="$(mktemp -d)"
  # Run as root, the service hands its data directory to the postgres account, which must reach it.
  chmod 755 "$embedded_dir"
  database_env=(-u DATABASE_URL EMBEDDED_DB_DIR="$embedded_dir/postgres")
fi

log="$artifacts/service.log"
service_pid=""
cleanup() {
  status=$?
  if [ -n "$service_pid" ]; then
    # SIGTERM: the service drains and stops its embedded server, if it runs one.
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  if [ -n "$embedded_dir" ]; then
    rm -rf "$embedded_dir"
  else
    psql "$server_url" -XqAt -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "browser test failed; the service log is $log" >&2
  fi
  exit "$status"
}
trap cleanup EXIT

# Port 0: the service picks a free port and logs it.
env "${database_env[@]}" PORT=0 LOG_FORMAT=human "$binary" >"$log" 2>&1 &
service_pid=$!

# Poll (bounded) for the address, then for readiness: no fixed sleeps.
base_url=""
for _ in $(seq 1 600); do
  kill -0 "$service_pid" 2>/dev/null || { echo "the service exited:" >&2; cat "$log" >&2; exit 1; }
  base_url="$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | head -n1 | sed 's/^listening on //')" || true
  if [ -n "$base_url" ] && curl -fs -o /dev/null "$base_url/readyz"; then
    break
  fi
  base_url=""
  sleep 0.1
done
[ -n "$base_url" ] || { echo "the service did not become ready in 60 s" >&2; exit 1; }
echo "browser test: service ready at $base_url"
api_key="$(env "${database_env[@]}" "$binary" keys create --organisation "Browser test" 2>>"$log")"

api() {
  curl -fsS -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' "$@"
}

# Seed: every reference program; the disc programs also form one program's history (a trend).
reference_dir="$root/src/scoring/reference_programs"
program_id="$(api "$base_url/v1/programs" -d '{"key": "DISC-101", "name": "Disc program"}' \
  | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')"
[ -n "$program_id" ] || { echo "could not create the seed program" >&2; exit 1; }
for profile in "$reference_dir"/*.json; do
  case "$(basename "$profile")" in
    disc_*) program="\"program_id\": \"$program_id\", " ;;
    *) program="" ;;
  esac
  printf '{%s"profile": %s}' "$program" "$(cat "$profile")" \
    | api "$base_url/v1/assessments" --data-binary @- -o /dev/null
done
echo "browser test: seeded $(ls "$reference_dir"/*.json | wc -l) assessments"

(cd "$here" && BASE_URL="$base_url" API_KEY="$api_key" REFERENCE_DIR="$reference_dir" \
  SCREENSHOT="$artifacts/dashboard.png" npm test --silent)
echo "browser test: passed; screenshot at $artifacts/dashboard.png"

# The generated Python client (tests/clients/generate.sh, run before this in .ci/run) against the
# same seeded service.
client_python="$root/target/clients/venv/bin/python"
if [ -x "$client_python" ] && "$client_python" -c 'import msc_readiness_client' 2>/dev/null; then
  BASE_URL="$base_url" API_KEY="$api_key" "$client_python" "$root/tests/clients/exercise.py"
else
  echo "browser test: no generated Python client (run tests/clients/generate.sh first); its exercise is skipped"
fi
