#!/usr/bin/env bash
# Benchmark of the aggregates and exports at ROWS stored assessments.
#
#   bash bench/stats.sh                        # 1,000,000 assessments of 100,000 programs, 10 s per measurement
#   ROWS=100000 PROGRAMS=10000 bash bench/stats.sh
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_stats bash bench/stats.sh
#                                              # an existing, empty or already seeded, database instead
#
# Starts the release binary with its own embedded PostgreSQL in a scratch directory, seeds ROWS
# assessments of PROGRAMS programs by SQL (each program re-scored ROWS/PROGRAMS times, so the
# default statistics count PROGRAMS latest assessments), measures the statistics endpoints with wrk,
# prints the plans of the aggregate query, then downloads the whole CSV and NDJSON exports,
# reporting rows/s and the service's peak resident memory (VmHWM) before and after.
# The seeded rows carry an empty profile and result: neither the statistics nor the exports read
# them, and it keeps seeding to minutes. Needs: wrk, the PostgreSQL server programs, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
PROGRAMS=${PROGRAMS:-100000}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-4}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")

cargo build --release --quiet
scratch=$(mktemp -d /tmp/msc-readiness-stats.XXXXXX)
chmod 755 "$scratch"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  database=(DATABASE_URL="$BENCH_DATABASE_URL")
else
  database=(EMBEDDED_DB_DIR="$scratch/pg")
fi
binary="${CARGO_TARGET_DIR:-target}/release/msc-readiness"
# Rate limiting off: the benchmark measures the service, not the limiter.
env "${database[@]}" PORT=$port LOG_LEVEL=warn DATABASE_POOL_SIZE=${POOL:-8} RATE_LIMIT_PER_SECOND=0 "$binary" >"$scratch/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "$base/readyz" >/dev/null || { cat "$scratch/service.log"; exit 1; }
# A key of the organisation migration 0001 created, which the seeded rows below belong to.
key=$(env "${database[@]}" "$binary" keys create --organisation default --name bench 2>/dev/null)
auth=(-H "Authorization: Bearer $key")

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  psql() { command psql -X -q "$BENCH_DATABASE_URL" "$@"; }
else
  socket_dir=$(sed -n 5p "$scratch/pg/postmaster.pid")
  pg_port=$(sed -n 4p "$scratch/pg/postmaster.pid")
  run_as=(); [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
  psql() { "${run_as[@]}" "$PG_BIN/psql" -X -q -h "$socket_dir" -p "$pg_port" -U postgres -d msc_readiness "$@"; }
fi

echo "== $(date -u +%FT%TZ), $(nproc) cores, concurrency $CONCURRENCY, $DURATION per run"
if [ "$(psql -tAc "SELECT count(*) FROM assessments")" -lt "$ROWS" ]; then
  echo "seeding $ROWS assessments of $PROGRAMS programs..."
  seed_start=$(date +%s)
  psql -c "INSERT INTO programs (id, organisation_id, key, name)
    SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', 'P-' || p, 'Program ' || p
    FROM generate_series(0, $PROGRAMS - 1) p"
  # Assessment i belongs to program i % PROGRAMS and is i seconds old, so each program's newest
  # (its latest) is the one with the smallest i.
  psql -c "INSERT INTO assessments (id, organisation_id, program_id, model_version, profile, result, indication,
      stage, tissue_source, route, overall_index, readiness_level, limiting_barrier, survival, retention, variability,
      scalability, safety, outcomes, regulatory, created_at, latest)
    SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', p.ids[1 + i % $PROGRAMS], '1.0.0', '{}', '{}',
      (ARRAY['intervertebral_disc_degeneration','gvhd_acute','osteoarthritis_knee','ischemic_stroke'])[1 + i % 4],
      (ARRAY['preclinical','phase1','phase2','phase3'])[1 + i % 13 % 4],
      (ARRAY['bone_marrow','adipose','umbilical_cord'])[1 + i % 5 % 3],
      (ARRAY['intravenous','intradiscal','intra_articular'])[1 + i % 7 % 3],
      round((random() * 100)::numeric, 1), 1 + i % 9,
      (ARRAY['survival','retention','variability','scalability','safety','outcomes','regulatory'])[1 + i % 11 % 7],
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1), round((random() * 100)::numeric, 1),
      round((random() * 100)::numeric, 1), now() - make_interval(secs => i), i < $PROGRAMS
    FROM (SELECT array_agg(id ORDER BY key) AS ids FROM programs) p, generate_series(0, $ROWS - 1) i"
  psql -c "VACUUM ANALYZE assessments"
  echo "seeded in $(( $(date +%s) - seed_start )) s"
fi
echo "stored: $(psql -tAc "SELECT count(*) FROM assessments") assessments," \
  "$(psql -tAc "SELECT count(*) FROM assessments WHERE latest") latest"

measure() { # name, url
  local name=$1 url=$2
  # A view slower than the request deadline is reported, and the run goes on.
  curl -sf "${auth[@]}" "$url" >/dev/null ||
    { printf '%-40s failed alone: %s\n' "$name" "$(curl -s "${auth[@]}" "$url" | head -c 200)"; return 0; }
  local out; out=$(wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency "${auth[@]}" "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-40s %8s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-no errors}"
}

# The initial fold of the seeded rows (100,000 queued changes, a few seconds) is not measured.
fold_start=$(date +%s)
for _ in $(seq 1 1200); do [ "$(psql -tAc "SELECT count(*) FROM score_count_changes")" = 0 ] && break; sleep 0.5; done
echo "queued score changes before measuring: $(psql -tAc "SELECT count(*) FROM score_count_changes")" \
  "(waited $(( $(date +%s) - fold_start )) s for the service to fold them)"
# The rollup must answer what a scan answers (a filter that excludes nothing forces the scan).
for view in "summary?assessments=all&indication=gvhd_acute" "grouped?by=stage"; do
  rollup=$(curl -sf "${auth[@]}" "$base/v1/stats/$view")
  scan=$(curl -sf --max-time 60 "${auth[@]}" "$base/v1/stats/$view&created_before=2999-01-01T00:00:00Z" || echo "scan failed")
  [ "$rollup" = "$scan" ] && echo "rollup = scan for $view" || echo "ROLLUP DIFFERS FROM SCAN for $view: $scan"
done

measure summary "$base/v1/stats/summary"
measure grouped_by_indication "$base/v1/stats/grouped?by=indication"
measure grouped_by_readiness_level "$base/v1/stats/grouped?by=readiness_level"
measure limiting_barriers "$base/v1/stats/limiting-barriers"
measure summary_filtered "$base/v1/stats/summary?indication=gvhd_acute&min_overall=50"
measure summary_all "$base/v1/stats/summary?assessments=all"
measure grouped_by_route_all "$base/v1/stats/grouped?by=route&assessments=all"
measure timeseries_month "$base/v1/stats/timeseries?interval=month"

# The rollup while assessments are written: POSTs on two connections (each queues changes the
# reads must add until the next fold) while the summary and a grouping are measured.
for name in summary_during_posts grouped_by_indication_during_posts; do
  API_KEY="$key" wrk -t1 -c2 -d"$DURATION" -s bench/post_assessment.lua "$base/v1/assessments" >"$scratch/posts.out" &
  writer=$!
  case $name in
    summary*) measure "$name" "$base/v1/stats/summary" ;;
    *) measure "$name" "$base/v1/stats/grouped?by=indication" ;;
  esac
  wait $writer
  echo "  concurrent POST /v1/assessments: $(awk '/Requests\/sec/ {print $2}' "$scratch/posts.out") req/s," \
    "$(grep -E "Non-2xx|Socket errors" "$scratch/posts.out" || echo no errors)"
done

columns="overall_index, survival, retention, variability, scalability, safety, outcomes, regulatory"
sets="(overall_index), (survival), (retention), (variability), (scalability), (safety), (outcomes), (regulatory)"
echo "== EXPLAIN of the summary (latest, then all)"
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT NULL::text AS grp, $columns, count(*) AS n FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000' AND latest GROUP BY GROUPING SETS ($sets)"
psql -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT NULL::text AS grp, $columns, count(*) AS n FROM assessments
  WHERE organisation_id = '00000000-0000-7000-8000-000000000000' GROUP BY GROUPING SETS ($sets)"

hwm() { awk '/VmHWM/ {print $2, $3}' "/proc/$service/status"; }
rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$service/status"; }
echo "== exports (service peak RSS before: $(hwm), current $(rss))"
for format in csv ndjson; do
  start=$(date +%s.%N)
  lines=$(curl -sf "${auth[@]}" "$base/v1/exports/assessments.$format" | wc -l)
  seconds=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
  rate=$(python3 -c "import sys; print(int(int(sys.argv[1]) / float(sys.argv[2])))" "$lines" "$seconds")
  echo "export $format: $lines lines in $seconds s ($rate lines/s); service peak RSS now $(hwm), current $(rss)"
done
