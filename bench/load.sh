#!/usr/bin/env bash
# Load benchmark of the assessments API against the bare database insert.
#
#   bash bench/load.sh                     # 1,000,000 stored rows, 20 s per measurement
#   ROWS=100000 DURATION=10s bash bench/load.sh
#
# Starts the release binary with its own embedded PostgreSQL in a scratch directory, measures
# POST /v1/assessments with wrk, the same insert with pgbench on the same database at the same
# concurrency, seeds ROWS assessments, then measures list pages (first and deep, keyset) and
# GET /v1/assessments/{id}, and prints the EXPLAIN of the list queries.
# Needs: wrk (Debian package), the PostgreSQL server programs (for pgbench), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-4}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")

cargo build --release --quiet
scratch=$(mktemp -d /tmp/msc-readiness-bench.XXXXXX)
chmod 755 "$scratch"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
binary="${CARGO_TARGET_DIR:-target}/release/msc-readiness"
# Rate limiting off: the benchmark measures the service, not the limiter.
EMBEDDED_DB_DIR="$scratch/pg" PORT=$port LOG_LEVEL=warn DATABASE_POOL_SIZE=${POOL:-8} RATE_LIMIT_PER_SECOND=0 \
  "$binary" >"$scratch/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$base/readyz" >/dev/null || { cat "$scratch/service.log"; exit 1; }
# A key of the organisation migration 0001 created, which the seeded rows below belong to.
key=$(EMBEDDED_DB_DIR="$scratch/pg" "$binary" keys create --organisation default --name bench 2>/dev/null)

socket_dir=$(sed -n 5p "$scratch/pg/postmaster.pid")
pg_port=$(sed -n 4p "$scratch/pg/postmaster.pid")
run_as=(); [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
psql() { "${run_as[@]}" "$PG_BIN/psql" -X -q -h "$socket_dir" -p "$pg_port" -U postgres -d msc_readiness "$@"; }

chmod -R a+rX "$scratch"

measure() { # name, wrk args...
  local name=$1; shift
  local out; out=$(wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency -H "Authorization: Bearer $key" "$@")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-no errors}"
  echo "$rps" >"$scratch/$name.rps"
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, concurrency $CONCURRENCY, $DURATION per run, pool ${POOL:-8}"
API_KEY="$key" measure post_assessments -s bench/post_assessment.lua "$base/v1/assessments"

# The bare insert of the same row shape: the stored profile and result parsed from text, as the
# service sends them, through a prepared statement, on the same database.
psql -c "CREATE TABLE bench_template AS SELECT profile::text AS profile, result::text AS result, indication, stage,
           tissue_source, route, overall_index, limiting_barrier, survival, retention, variability, scalability,
           safety, outcomes, regulatory FROM assessments LIMIT 1"
cat >"$scratch/insert.sql" <<'SQL'
INSERT INTO assessments (id, organisation_id, model_version, profile, result, indication, stage, tissue_source, route,
  overall_index, limiting_barrier, survival, retention, variability, scalability, safety, outcomes, regulatory)
SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', 'bench', profile::jsonb, result::jsonb, indication,
  stage, tissue_source, route, overall_index, limiting_barrier, survival, retention, variability, scalability, safety,
  outcomes, regulatory FROM bench_template;
SQL
chmod a+r "$scratch/insert.sql"
pgbench_out=$("${run_as[@]}" "$PG_BIN/pgbench" -n -M prepared -c "$CONCURRENCY" -j "$THREADS" -T "${DURATION%s}" \
  -h "$socket_dir" -p "$pg_port" -U postgres -f "$scratch/insert.sql" msc_readiness)
bare=$(awk '/^tps/ {print $3; exit}' <<<"$pgbench_out")
latency=$(awk '/latency average/ {print $4, $5}' <<<"$pgbench_out")
printf '%-34s %10s rows/s  (average latency %s)\n' "pgbench_bare_insert" "$bare" "$latency"
python3 -c "import sys; print('POST / bare insert ratio: %.0f %%' % (100 * float(sys.argv[1]) / float(sys.argv[2])))" \
  "$(cat "$scratch/post_assessments.rps")" "$bare"

existing=$(psql -tAc "SELECT count(*) FROM assessments")
if [ "$ROWS" -gt "$existing" ]; then
  echo "seeding $((ROWS - existing)) more assessments (copies of the stored one with varied scores and times)..."
  psql -c "INSERT INTO assessments (id, organisation_id, model_version, profile, result, indication, stage, tissue_source,
      route, overall_index, limiting_barrier, survival, retention, variability, scalability, safety, outcomes, regulatory,
      created_at)
    SELECT gen_random_uuid(), a.organisation_id, a.model_version, a.profile, a.result,
      (ARRAY['intervertebral_disc_degeneration','gvhd_acute','osteoarthritis_knee','ischemic_stroke'])[1 + i % 4],
      a.stage, a.tissue_source, a.route, round((random() * 100)::numeric, 1), a.limiting_barrier,
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), now() - make_interval(secs => i)
    FROM (SELECT * FROM assessments LIMIT 1) a, generate_series(1, $((ROWS - existing))) i"
  psql -c "VACUUM ANALYZE assessments"
fi
echo "stored assessments: $(psql -tAc "SELECT count(*) FROM assessments")"

id=$(psql -tAc "SELECT id FROM assessments ORDER BY created_at DESC LIMIT 1")
deep=$(psql -tAc "SELECT json_build_object('sort', 'created_at', 'descending', true,
         'value', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'id', id)
       FROM assessments ORDER BY created_at DESC, id DESC OFFSET $((ROWS * 9 / 10)) LIMIT 1")
deep_cursor=$(python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$deep")
curl -sf -H "Authorization: Bearer $key" "$base/v1/assessments?limit=50&cursor=$deep_cursor" >/dev/null || { echo "deep cursor rejected" >&2; exit 1; }

measure list_first_page "$base/v1/assessments?limit=50"
measure list_filtered_first_page "$base/v1/assessments?limit=50&indication=gvhd_acute&min_overall=50"
measure list_deep_page "$base/v1/assessments?limit=50&cursor=$deep_cursor"
measure list_sorted_by_barrier "$base/v1/assessments?limit=50&sort=variability&order=asc"
measure get_assessment "$base/v1/assessments/$id"

echo "== EXPLAIN (filtered first page, then deep page)"
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, overall_index FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000' AND indication = 'gvhd_acute' AND overall_index >= 50
  ORDER BY created_at DESC, id DESC LIMIT 51"
value=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["value"])' "$deep")
deep_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$deep")
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, overall_index FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000' AND (created_at, id) < ('$value', '$deep_id')
  ORDER BY created_at DESC, id DESC LIMIT 51"
