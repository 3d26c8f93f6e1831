#!/usr/bin/env bash
# Load benchmark of the assessments API, every figure a ratio to something measured in the same run.
#
#   bash bench/load.sh                     # 1,000,000 stored rows, 20 s per measurement
#   ROWS=100000 DURATION=10s bash bench/load.sh
#   BASELINE=/work/bench-bin/msc-before bash bench/load.sh
#                                          # also POST /v1/score on an older binary, back to back
#   BINARY=/path/to/msc-readiness bash bench/load.sh
#                                          # that binary instead of building this checkout
#
# Starts the release binary with its own embedded PostgreSQL in a scratch directory and measures:
#  - a bare pgbench insert of a reference row (uuid, timestamptz, 7 numeric scores, ~2 KB jsonb)
#    and of the service's own row shape, at the same concurrency, on the same database;
#  - POST /v1/assessments with the default response and with `Prefer: return=minimal`;
#  - POST /v1/score (nothing stored), and on BASELINE's binary when given (its own scratch database);
#  - stored bytes per assessment (pg_total_relation_size / rows) at 100,000 rows (or ROWS if fewer);
#  - after seeding ROWS assessments by SQL (copies of a stored one with varied scores and times):
#    list pages (first, filtered, deep by keyset, sorted), GET /v1/assessments/{id}, the size of a
#    `view=full` page of 50, and the plans of the list queries.
# Needs: wrk (Debian package), the PostgreSQL server programs (for pgbench), python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-4}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")

if [ -z "${BINARY:-}" ]; then
  cargo build --release --quiet
  BINARY="${CARGO_TARGET_DIR:-target}/release/msc-readiness"
fi
scratch=$(mktemp -d /tmp/msc-readiness-bench.XXXXXX)
chmod 755 "$scratch"
services=()
cleanup() {
  for pid in "${services[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

# start NAME BINARY: a service with its own embedded PostgreSQL; sets base and key.
start() {
  local name=$1 binary=$2
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  # Rate limiting off (per key and per organisation): the benchmark measures the service, not the
  # limiter. Binaries older than the organisation limit ignore its setting.
  EMBEDDED_DB_DIR="$scratch/$name-pg" PORT=$port LOG_LEVEL=warn DATABASE_POOL_SIZE=${POOL:-8} RATE_LIMIT_PER_SECOND=0 \
    RATE_LIMIT_ORGANISATION_PER_SECOND=0 "$binary" >"$scratch/$name.log" 2>&1 &
  services+=($!)
  for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$base/readyz" >/dev/null || { cat "$scratch/$name.log"; exit 1; }
  # A key of the organisation migration 0001 created, which the seeded rows below belong to.
  key=$(EMBEDDED_DB_DIR="$scratch/$name-pg" "$binary" keys create --organisation default --name bench 2>/dev/null)
}

measure() { # name, wrk args...
  local name=$1; shift
  local out; out=$(wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency -H "Authorization: Bearer $key" "$@")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-no errors}"
  echo "$rps" >"$scratch/$name.rate"
}

ratio() { # label, numerator name, denominator name
  python3 -c "import sys; print('%-34s %10.2fx' % (sys.argv[1], float(sys.argv[2]) / float(sys.argv[3])))" \
    "$1" "$(cat "$scratch/$2.rate")" "$(cat "$scratch/$3.rate")"
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, concurrency $CONCURRENCY, $DURATION per run, pool ${POOL:-8}"
echo "== binary $BINARY${BASELINE:+, baseline $BASELINE}"
start service "$BINARY"
socket_dir=$(sed -n 5p "$scratch/service-pg/postmaster.pid")
pg_port=$(sed -n 4p "$scratch/service-pg/postmaster.pid")
run_as=(); [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
psql() { "${run_as[@]}" "$PG_BIN/psql" -X -q -h "$socket_dir" -p "$pg_port" -U postgres -d msc_readiness "$@"; }
chmod -R a+rX "$scratch"

pgbench() { # name, script file
  local out; out=$("${run_as[@]}" "$PG_BIN/pgbench" -n -M prepared -c "$CONCURRENCY" -j "$THREADS" -T "${DURATION%s}" \
    -h "$socket_dir" -p "$pg_port" -U postgres -f "$2" msc_readiness)
  local rate; rate=$(awk '/^tps/ {print $3; exit}' <<<"$out")
  printf '%-34s %10s rows/s  (average latency %s)\n' "$1" "$rate" "$(awk '/latency average/ {print $4, $5}' <<<"$out")"
  echo "$rate" >"$scratch/$1.rate"
}

# One stored assessment first, which the seeded rows copy: a real program from the back-test
# (SEED_CASE), whose profile and result are in no dictionary the service compresses against, so
# the stored size is that of a program the service has not seen.
SEED_CASE=${SEED_CASE:-validation/cases/darvadstrocel_ema_2018.json}
python3 -c 'import json, sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))["profile"]}))' "$SEED_CASE" \
  >"$scratch/seed.json"
curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data @"$scratch/seed.json" "$base/v1/assessments"

# The reference row of the issue: what PostgreSQL and the disk allow for a row of reasonable size.
# Its document is the mature disc profile (~4 KB of text, ~2.5 KB as jsonb), as in earlier runs.
psql -c "CREATE TABLE bench_reference (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
           s1 numeric, s2 numeric, s3 numeric, s4 numeric, s5 numeric, s6 numeric, s7 numeric, document jsonb NOT NULL)"
psql -v document="$(cat src/scoring/reference_programs/disc_mature_allogeneic.json)" \
  <<<"CREATE TABLE bench_document AS SELECT :'document'::text AS document;"
cat >"$scratch/reference.sql" <<'SQL'
INSERT INTO bench_reference (id, s1, s2, s3, s4, s5, s6, s7, document)
SELECT gen_random_uuid(), 61.2, 48.0, 55.5, 70.1, 82.3, 40.0, 66.6, document::jsonb FROM bench_document;
SQL
# columns EXPRESSION EXCLUDED...: the assessments table's columns but EXCLUDED, each written by
# EXPRESSION (%1$s: the column's name, %2$s: its type), comma-separated; whatever the binary's schema.
columns() {
  local expression=$1; shift
  local excluded; excluded=$(printf "'%s'," "$@")
  psql -tAc "SELECT string_agg(format('$expression', column_name, data_type), ', ' ORDER BY ordinal_position)
    FROM information_schema.columns WHERE table_name = 'assessments' AND column_name NOT IN (${excluded%,})"
}
# The service's own row shape: the stored documents parsed from text, as the service sends them.
own=(id created_at latest program_id rescored_from)
psql -c "CREATE TABLE bench_template AS SELECT $(columns '%1$s::text AS %1$s' "${own[@]}") FROM assessments LIMIT 1"
cat >"$scratch/row_shape.sql" <<SQL
INSERT INTO assessments (id, $(columns '%1$s' "${own[@]}"))
SELECT gen_random_uuid(), $(columns '%1$s::%2$s' "${own[@]}") FROM bench_template;
SQL
chmod a+r "$scratch"/*.sql

pgbench pgbench_reference_row "$scratch/reference.sql"
API_KEY="$key" measure post_assessments -s bench/post_assessment.lua "$base/v1/assessments"
minimal=$(curl -s -o /dev/null -D - -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -H 'Prefer: return=minimal' --data '{"profile": {}}' "$base/v1/assessments" | grep -ci '^preference-applied' || true)
if [ "$minimal" -gt 0 ]; then
  API_KEY="$key" measure post_assessments_minimal -s bench/post_assessment.lua -H 'Prefer: return=minimal' \
    "$base/v1/assessments"
fi
pgbench pgbench_service_row_shape "$scratch/row_shape.sql"
API_KEY="$key" measure post_score -s bench/post_assessment.lua "$base/v1/score"
API_KEY="$key" measure post_score_evidence_ids -s bench/post_assessment.lua "$base/v1/score?evidence=ids"
ratio "POST assessments / reference row" post_assessments pgbench_reference_row
[ "$minimal" -gt 0 ] && ratio "POST minimal / reference row" post_assessments_minimal pgbench_reference_row
ratio "POST assessments / own row shape" post_assessments pgbench_service_row_shape

if [ -n "${BASELINE:-}" ]; then
  new_base=$base new_key=$key
  start baseline "$BASELINE"
  API_KEY="$key" measure post_score_baseline -s bench/post_assessment.lua "$base/v1/score"
  ratio "POST score / baseline binary" post_score post_score_baseline
  ratio "POST score evidence=ids / baseline" post_score_evidence_ids post_score_baseline
  kill "${services[-1]}"; wait "${services[-1]}" 2>/dev/null || true
  base=$new_base key=$new_key
fi

# seed_to N: copies of the first stored assessment (the disc program, full response) up to N rows.
seed_to() {
  local existing; existing=$(psql -tAc "SELECT count(*) FROM assessments")
  [ "$1" -gt "$existing" ] || return 0
  echo "seeding $(($1 - existing)) more assessments (copies of a stored one with varied scores and times)..."
  local varied=(id created_at latest indication overall_index survival retention variability scalability safety outcomes
    regulatory)
  psql -c "INSERT INTO assessments (id, created_at, indication, overall_index, survival, retention, variability,
      scalability, safety, outcomes, regulatory, $(columns '%1$s' "${varied[@]}"))
    SELECT gen_random_uuid(), now() - make_interval(secs => i),
      (ARRAY['intervertebral_disc_degeneration','gvhd_acute','osteoarthritis_knee','ischemic_stroke'])[1 + i % 4],
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), $(columns 'a.%1$s' "${varied[@]}")
    FROM (SELECT * FROM assessments ORDER BY created_at, id LIMIT 1) a, generate_series(1, $(($1 - existing))) i"
  psql -c "VACUUM ANALYZE assessments"
}

sized=$((ROWS < 100000 ? ROWS : 100000))
seed_to "$sized"
# The stored documents: whichever jsonb and bytea columns the binary's schema has (profile, result,
# result_compact, packed), and the rest of the row.
document_size=$(psql -tAc "SELECT string_agg(format('coalesce(pg_column_size(%s), 0)', column_name), ' + ')
  FROM information_schema.columns WHERE table_name = 'assessments' AND data_type IN ('jsonb', 'bytea')")
psql -tAc "SELECT format('%-34s %10s bytes  (%s rows; per row: documents %s B stored; heap %s B, TOAST %s B, indexes %s B)',
    'stored_bytes_per_assessment', pg_total_relation_size('assessments') / count(*), count(*), avg($document_size)::int,
    pg_relation_size('assessments') / count(*),
    pg_total_relation_size(nullif(reltoastrelid, 0)) / count(*), pg_indexes_size('assessments') / count(*))
  FROM assessments, pg_class WHERE pg_class.oid = 'assessments'::regclass GROUP BY reltoastrelid"
seed_to "$ROWS"
echo "stored assessments: $(psql -tAc "SELECT count(*) FROM assessments")"

id=$(psql -tAc "SELECT id FROM assessments ORDER BY created_at DESC LIMIT 1")
# The cursor format of the list: <seconds since 1970 with microseconds>~<id>.
deep=$(psql -tAc "SELECT extract(epoch FROM created_at)::text || '~' || id FROM assessments
       ORDER BY created_at DESC, id DESC OFFSET $((ROWS * 9 / 10)) LIMIT 1")
curl -sf -H "Authorization: Bearer $key" "$base/v1/assessments?limit=50&cursor=$deep" >/dev/null \
  || { echo "deep cursor rejected" >&2; exit 1; }

measure list_first_page "$base/v1/assessments?limit=50"
measure list_filtered_first_page "$base/v1/assessments?limit=50&indication=gvhd_acute&min_overall=50"
measure list_deep_page "$base/v1/assessments?limit=50&cursor=$deep"
measure list_sorted_by_barrier "$base/v1/assessments?limit=50&sort=variability&order=asc"
measure get_assessment "$base/v1/assessments/$id"
for query in "view=full&limit=50" "view=full&limit=50&evidence=ids" "view=full&limit=500"; do
  size=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Authorization: Bearer $key" "$base/v1/assessments?$query")
  printf '%-34s %s (status, bytes)\n' "list $query" "$size"
done
# The same pages as sent to a client that accepts a compressed response (bytes on the wire).
for coding in gzip zstd br; do
  size=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "Authorization: Bearer $key" \
    -H "Accept-Encoding: $coding" "$base/v1/assessments?view=full&limit=50")
  printf '%-34s %s (status, bytes on the wire)\n' "list view=full&limit=50, $coding" "$size"
done
size=$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $key" "$base/v1/assessments/$id")
printf '%-34s %10s bytes\n' "get_assessment body" "$size"

echo "== EXPLAIN (filtered first page, then deep page)"
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, overall_index FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000' AND indication = 'gvhd_acute' AND overall_index >= 50
  ORDER BY created_at DESC, id DESC LIMIT 51"
deep_id=${deep#*~}
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, overall_index FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000'
    AND (created_at, id) < (to_timestamp(${deep%~*}), '$deep_id')
  ORDER BY created_at DESC, id DESC LIMIT 51"
