#!/usr/bin/env bash
# Benchmark of bulk work (issue 17): an import against a pgbench multi-row insert of the same rows
# at the same batch size, a portfolio re-score, and the peak memory of a large import.
#
#   bash bench/jobs.sh                                   # 100,000 lines, 500 per batch, then 1,000,000 lines
#   LINES=20000 BIG_LINES=0 bash bench/jobs.sh           # quicker; BIG_LINES=0 skips the memory run
#   LINES=0 BIG_LINES=1000000 BIG_SECONDS=120 bash bench/jobs.sh
#                                                        # only the memory run, cancelled after 120 s of work
#   ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres bash bench/jobs.sh
#   BINARY=/path/to/msc-readiness bash bench/jobs.sh     # that binary instead of building this checkout
#
# Needs a PostgreSQL server (ADMIN_URL: a role that may CREATE DATABASE; each run makes a scratch
# database and drops it), pgbench and psql of the same installation, curl and python3.
#
# 1. Import: LINES NDJSON lines (reference profiles from src/scoring/reference_programs, each with
#    a line-specific program name so that no two lines are the same submission), of PROGRAMS
#    programs by key, interleaved (line i names program i % PROGRAMS, as a file sorted by date
#    would), through POST /v1/imports to the release binary with WORKERS job workers (default 2,
#    the service's default; JOB_BATCH_SIZE=BATCH). Its storing rate is the job's own:
#    lines / (finished_at - started_at). The CPU a line costs the service and PostgreSQL over the
#    import is printed beside it.
# 2. Baseline: pgbench inserting the same rows (500 of the imported rows, read back from the
#    table, each statement a BATCH-row INSERT ... VALUES, fresh ids) into the same table, with
#    the same triggers, LINES/BATCH transactions on one connection.
# 3. Re-score: the imported assessments are relabelled as scored by an older model version (its
#    dictionaries copies of the current one's), then POST /v1/rescore-jobs?selection=all re-scores all
#    of them; the time is the job's, and the report is fetched once.
# 4. Memory: a fresh service process imports BIG_LINES lines (a small profile each, to keep the
#    database small); its peak resident memory (VmHWM) is read at start, once the file is staged
#    (the 202), and when the job ends, or after BIG_SECONDS of work when set (then the job is
#    cancelled: a worker holds one batch at a time, so memory does not grow with the lines left).
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-100000}
BIG_LINES=${BIG_LINES:-1000000}
BATCH=${BATCH:-500}
WORKERS=${WORKERS:-2}
PROGRAMS=${PROGRAMS:-1000}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}

if [ -z "${BINARY:-}" ]; then
  cargo build --release --quiet
  BINARY="${CARGO_TARGET_DIR:-target}/release/msc-readiness"
fi
binary=$BINARY
scratch=$(mktemp -d /tmp/msc-readiness-jobs.XXXXXX)
database="bench_jobs_$(date +%s)"
url="${ADMIN_URL%/*}/$database"
psql -X -q "$ADMIN_URL" -c "CREATE DATABASE $database"
service=
stop_service() { [ -n "$service" ] && kill "$service" 2>/dev/null && wait "$service" 2>/dev/null; service=; }
trap 'stop_service; psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"; rm -rf "$scratch"' EXIT
sql() { psql -X -q -tA "$url" "$@"; }

start_service() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  # Rate limits off: the benchmark measures the work, not the limiter.
  DATABASE_URL="$url" PORT=$port LOG_LEVEL=warn JOB_BATCH_SIZE=$BATCH JOB_WORKERS=$WORKERS JOB_POLL_INTERVAL_MS=200 \
    RATE_LIMIT_PER_SECOND=0 RATE_LIMIT_ORGANISATION_PER_SECOND=0 "$binary" >>"$scratch/service.log" 2>&1 &
  service=$!
  for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$base/readyz" >/dev/null || { cat "$scratch/service.log"; exit 1; }
}

# Waits for a job to end (polling its state; the figures come from its own timestamps).
wait_for_job() {
  local id=$1 state
  while :; do
    state=$(curl -sf "${auth[@]}" "$base/v1/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $state in queued|running) sleep 0.5 ;; *) break ;; esac
  done
  curl -sf "${auth[@]}" "$base/v1/jobs/$id" >"$scratch/job.json"
}

# Seconds the job worked, and its counts, from the job document in $scratch/job.json.
job_figures() {
  python3 - "$scratch/job.json" <<'EOF'
import json, sys
from datetime import datetime
job = json.load(open(sys.argv[1]))
seconds = (datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
           - datetime.fromisoformat(job["started_at"].replace("Z", "+00:00"))).total_seconds()
print(f'{seconds:.2f} {job["processed"]} {job["created"]} {job["skipped"]} {job["failed"]} {job["state"]}')
EOF
}

generate() { # lines, file, small
  python3 - "$1" "$2" "$PROGRAMS" "${3:-}" <<'EOF'
import glob, json, sys
lines, path, programs, small = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "small"
profiles = [json.load(open(p)) for p in sorted(glob.glob("src/scoring/reference_programs/*.json"))]
if small:
    profiles = [{"program": {"indication": p.get("program", {}).get("indication"), "stage": p.get("program", {}).get("stage")},
                 "delivery": p.get("delivery", {})} for p in profiles]
with open(path, "w") as out:
    for i in range(lines):
        profile = json.loads(json.dumps(profiles[i % len(profiles)]))
        profile.setdefault("program", {})["name"] = f"Bench program {i}"
        out.write(json.dumps({"program": f"P-{i % programs}", "profile": profile}, separators=(",", ":")) + "\n")
EOF
}

vmhwm() { awk '/VmHWM/ {print $2 " " $3}' "/proc/$service/status"; }

# CPU ticks so far of the service and of PostgreSQL (every process of its user, with its reaped
# children): their difference over the import is each one's CPU, which on this shared 2-core
# machine moves less between runs than the rates do.
cpu_ticks() {
  local pg=0 p
  for p in $(pgrep -u postgres); do
    pg=$((pg + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$(awk '{print $14 + $15}' "/proc/$service/stat") $pg"
}

start_service
key=$(DATABASE_URL="$url" "$binary" keys create --organisation bench --name bench 2>/dev/null)
auth=(-H "Authorization: Bearer $key")
echo "== $(date -u +%FT%TZ), $(nproc) cores, $(sql -c 'SHOW server_version'), $LINES lines, batch $BATCH, $WORKERS workers"

if [ "$LINES" -gt 0 ]; then
# 1. Import.
generate "$LINES" "$scratch/import.ndjson"
echo "file: $(du -h "$scratch/import.ndjson" | cut -f1), $LINES lines, $PROGRAMS programs"
upload_start=$(date +%s.%N)
job=$(curl -sf "${auth[@]}" -H 'content-type: application/x-ndjson' -X POST -T "$scratch/import.ndjson" "$base/v1/imports" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
upload_end=$(date +%s.%N)
read -r service_before pg_before < <(cpu_ticks)
wait_for_job "$job"
read -r service_after pg_after < <(cpu_ticks)
read -r import_seconds processed created skipped failed state < <(job_figures)
import_rate=$(python3 -c "print(round($created / $import_seconds))")
echo "import: upload and staging $(python3 -c "print(round($upload_end - $upload_start, 2))") s;" \
  "stored $created of $processed lines ($skipped skipped, $failed failed, $state) in $import_seconds s: $import_rate lines/s"
python3 -c "
ticks, lines = $(getconf CLK_TCK), max($processed, 1)
print(f'import CPU a line: service {($service_after - $service_before) / ticks / lines * 1000:.3f} ms,',
      f'PostgreSQL {($pg_after - $pg_before) / ticks / lines * 1000:.3f} ms')"

# 2. The baseline: the same rows, BATCH per INSERT.
sql -o "$scratch/insert.sql" <<EOF
SELECT 'INSERT INTO assessments (id, organisation_id, program_id, model_version, profile, result, result_compact,
  indication, stage, tissue_source, route, overall_index, readiness_level, limiting_barrier, survival, retention,
  variability, scalability, safety, outcomes, regulatory, packed) VALUES '
  || string_agg(format('(gen_random_uuid(), %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
       organisation_id, program_id, model_version, profile, result, result_compact, indication, stage, tissue_source,
       route, overall_index, readiness_level, limiting_barrier, survival, retention, variability, scalability, safety,
       outcomes, regulatory, packed), ', ')
  || ';'
FROM (SELECT * FROM assessments ORDER BY id LIMIT $BATCH) batch;
EOF
transactions=$((LINES / BATCH))
pgbench_tps=$(pgbench -n -f "$scratch/insert.sql" -t "$transactions" "$url" 2>/dev/null | awk '/^tps/ {print $3}')
baseline_rate=$(python3 -c "print(round($pgbench_tps * $BATCH))")
echo "pgbench: $transactions transactions of $BATCH rows: $pgbench_tps tps = $baseline_rate rows/s"
echo "import / pgbench: $(python3 -c "print(round($import_rate / $baseline_rate, 2))")"
# The baseline's copies go; the import's assessments stay for the re-score.
sql -c "DELETE FROM assessments a WHERE NOT EXISTS
  (SELECT 1 FROM job_items i WHERE i.job_id = '$job' AND i.result_id = a.id)" >/dev/null

# 3. Re-score every imported assessment under the current model.
sql >/dev/null <<'EOF'
INSERT INTO model_versions (version, document, dictionary)
  SELECT '0.9.0-bench', document, dictionary FROM model_versions
  WHERE version = (SELECT model_version FROM assessments LIMIT 1);
INSERT INTO packing_dictionaries (model_version, dictionary)
  SELECT '0.9.0-bench', dictionary FROM packing_dictionaries
  WHERE model_version = (SELECT model_version FROM assessments LIMIT 1);
UPDATE assessments SET model_version = '0.9.0-bench';
EOF
rescore=$(curl -sf -X POST "${auth[@]}" "$base/v1/rescore-jobs?selection=all" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
wait_for_job "$rescore"
read -r rescore_seconds processed created skipped failed state < <(job_figures)
echo "rescore: $created of $processed assessments re-scored ($failed failed, $state) in $rescore_seconds s:" \
  "$(python3 -c "print(round($created / $rescore_seconds))") per second"
report_start=$(date +%s.%N)
curl -sf "${auth[@]}" "$base/v1/rescore-jobs/$rescore/report" -o "$scratch/report.json"
echo "report: $(du -h "$scratch/report.json" | cut -f1) in $(python3 -c "print(round($(date +%s.%N) - $report_start, 2))") s"

fi

# 4. Peak memory of a large import, in a fresh process.
if [ "$BIG_LINES" -gt 0 ]; then
  [ "$LINES" -gt 0 ] && { stop_service; start_service; }
  generate "$BIG_LINES" "$scratch/big.ndjson" small
  echo "big file: $(du -h "$scratch/big.ndjson" | cut -f1), $BIG_LINES lines; VmHWM at start: $(vmhwm)"
  big_start=$(date +%s.%N)
  big=$(curl -sf "${auth[@]}" -H 'content-type: application/x-ndjson' -X POST -T "$scratch/big.ndjson" "$base/v1/imports" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  echo "VmHWM after staging (202 answered in $(python3 -c "print(round($(date +%s.%N) - $big_start, 2))") s): $(vmhwm)"
  if [ -n "${BIG_SECONDS:-}" ]; then
    sleep "$BIG_SECONDS"
    curl -sf -X POST "${auth[@]}" "$base/v1/jobs/$big/cancel" >"$scratch/job.json"
    echo "big import after ${BIG_SECONDS} s of work: $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["processed"], "of", j["total"], "lines processed, then cancelled")' "$scratch/job.json"); VmHWM: $(vmhwm)"
  else
    wait_for_job "$big"
    read -r big_seconds processed created skipped failed state < <(job_figures)
    echo "big import: $created of $processed lines stored ($state) in $big_seconds s; VmHWM at the end: $(vmhwm)"
  fi
fi
