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
#  - after seeding ROWS assessments by SQL (copies of a stored one with varied scores and times)
#    and waiting for the service to fold their score changes into the statistics rollup: list
#    pages (first, filtered, deep by keyset, sorted), GET /v1/assessments/{id}, the size of a
#    `view=full` page of 50, and the plans of the list queries.
# Needs: wrk (Debian package), the PostgreSQL server programs (for pgbench), python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

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
  start_service "$scratch/$1-pg" "$scratch/$1.log" "$2"
  services+=("$service_pid")
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

# One stored assessment first, which the seeded rows copy: a real program from the back-test
# (SEED_CASE), whose profile and result are in no dictionary the service compresses against, so
# the stored size is that of a program the service has not seen.
SEED_CASE=${SEED_CASE:-validation/cases/darvadstrocel_ema_2018.json}
python3 -c 'import json, sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))["profile"]}))' "$SEED_CASE" \
  >"$scratch/seed.json"
curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data @"$scratch/seed.json" "$base/v1/assessments"

# The reference row of the issue: what PostgreSQL and the disk allow for a row of reasonable size.
reference_row_script "$scratch/reference.sql"
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
  baseline_base=$base baseline_key=$key
  API_KEY="$key" measure post_score_baseline -s bench/post_assessment.lua "$base/v1/score"
  # Then each binary once more, interleaved: the machine's pace drifts between windows of 10 s
  # (the baseline alone served 2,108-3,192 req/s in one evening), so the ratio is also of
  # the two windows of each.
  base=$new_base key=$new_key
  API_KEY="$key" measure post_score_again -s bench/post_assessment.lua "$base/v1/score"
  base=$baseline_base key=$baseline_key
  API_KEY="$key" measure post_score_baseline_again -s bench/post_assessment.lua "$base/v1/score"
  ratio "POST score / baseline binary" post_score post_score_baseline
  ratio "POST score, second windows" post_score_again post_score_baseline_again
  python3 -c "import sys; r = [float(open(f).read()) for f in sys.argv[1:]]; print('%-34s %10.2fx' % ('POST score / baseline, both windows', (r[0] + r[1]) / (r[2] + r[3])))" \
    "$scratch/post_score.rate" "$scratch/post_score_again.rate" "$scratch/post_score_baseline.rate" \
    "$scratch/post_score_baseline_again.rate"
  ratio "POST score evidence=ids / baseline" post_score_evidence_ids post_score_baseline
  kill "${services[-1]}"; wait "${services[-1]}" 2>/dev/null || true
  base=$new_base key=$new_key
fi

# insert_copies TABLE ROWS N: N copies in TABLE (assessments, or a table like it) of each stored
# assessment the query ROWS selects, with varied ids, times, indications and scores.
insert_copies() {
  local varied=(id created_at latest indication overall_index survival retention variability scalability safety outcomes
    regulatory)
  psql -c "INSERT INTO $1 (id, created_at, indication, overall_index, survival, retention, variability,
      scalability, safety, outcomes, regulatory, $(columns '%1$s' "${varied[@]}"))
    SELECT gen_random_uuid(), now() - make_interval(secs => i),
      (ARRAY['intervertebral_disc_degeneration','gvhd_acute','osteoarthritis_knee','ischemic_stroke'])[1 + i % 4],
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), $(columns 'a.%1$s' "${varied[@]}")
    FROM ($2) a, generate_series(1, $3) i"
}

# seed_to N: copies of the first stored assessment (SEED_CASE's program) up to N rows.
seed_to() {
  local existing; existing=$(psql -tAc "SELECT count(*) FROM assessments")
  [ "$1" -gt "$existing" ] || return 0
  echo "seeding $(($1 - existing)) more assessments (copies of a stored one with varied scores and times)..."
  insert_copies assessments "SELECT * FROM assessments ORDER BY created_at, id LIMIT 1" $(($1 - existing))
  # The service folds the seeded rows' score changes into the statistics rollup in the background
  # (a batch of 10,000 a transaction); measured during that fold, every read below had a p99 of
  # 25-40 ms. A serving database is not folding a bulk load of 900,000 rows: wait for the queue to
  # empty (binaries without the rollup have no queue), then write the load's dirty pages out.
  local queued=1 waited=0
  for waited in $(seq 0 1800); do
    queued=$(psql -tAc "SELECT CASE WHEN to_regclass('score_count_changes') IS NULL THEN 0
      ELSE (SELECT count(*) FROM score_count_changes) END")
    [ "$queued" = 0 ] && break
    sleep 1
  done
  [ "$queued" = 0 ] || { echo "the score changes of the seeded rows were not folded in 30 minutes" >&2; exit 1; }
  echo "their score changes folded into the rollup after ${waited} s"
  psql -c "VACUUM ANALYZE assessments"
  psql -c "CHECKPOINT"
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
# The same figure for 100,000 rows of one program each, in a table like assessments (its columns,
# defaults, constraints and indexes): the mix above holds copies of SEED_CASE's program, outside
# every dictionary, and the mature disc reference program the writes posted, inside them, in
# proportions that depend on how fast the writes ran.
size_of_copies() { # label, query of the rows to copy, copies of each (default 100,000)
  psql -c "CREATE TABLE bench_size (LIKE assessments INCLUDING ALL)"
  insert_copies bench_size "$2" "${3:-100000}"
  psql -c "VACUUM ANALYZE bench_size"
  psql -tAc "SELECT format('%-34s %10s bytes  (%s rows; per row: documents %s B stored; heap %s B, TOAST %s B, indexes %s B)',
      '$1', pg_total_relation_size('bench_size') / count(*), count(*), avg($document_size)::int,
      pg_relation_size('bench_size') / count(*),
      pg_total_relation_size(nullif(reltoastrelid, 0)) / count(*), pg_indexes_size('bench_size') / count(*))
    FROM bench_size, pg_class WHERE pg_class.oid = 'bench_size'::regclass GROUP BY reltoastrelid"
  psql -c "DROP TABLE bench_size"
}
first="(SELECT $document_size FROM assessments ORDER BY created_at, id LIMIT 1)"
size_of_copies "stored_bytes, SEED_CASE only" "SELECT * FROM assessments ORDER BY created_at, id LIMIT 1"
size_of_copies "stored_bytes, posted program only" \
  "SELECT * FROM assessments WHERE $document_size <> $first ORDER BY created_at DESC, id DESC LIMIT 1"
# And for every program of the back-test (validation/cases, real programs outside the dictionaries),
# stored once each through the API, then copied in turn.
cases=0
for case in validation/cases/*.json; do
  python3 -c 'import json, sys; print(json.dumps({"profile": json.load(open(sys.argv[1]))["profile"]}))' "$case" \
    | curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      --data @- "$base/v1/assessments"
  cases=$((cases + 1))
done
size_of_copies "stored_bytes, back-test programs" \
  "SELECT * FROM assessments ORDER BY created_at DESC, id DESC LIMIT $cases" $(((100000 + cases - 1) / cases))
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
