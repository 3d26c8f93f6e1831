#!/usr/bin/env bash
# What bounds `POST /v1/assessments` at the concurrency of bench/load.sh (issue 16, fourteenth
# round). Earlier rounds read the writes' distance from the reference row as PostgreSQL's work on
# the assessments table: its eight score-sort indexes (one per barrier and the overall index, for
# the list's keyset pages) and the rollup's insert trigger. This measures that reading: on one
# service and its embedded PostgreSQL, each round measures in turn
#  - the schema as shipped;
#  - without the eight score-sort indexes;
#  - without them and without the rollup's insert trigger;
#  - without the trigger only (the indexes rebuilt);
# and in each, the reference row through pgbench and the writes (`return=minimal`, then the full
# 201) at CONCURRENCY, then the writes as shipped at twice that concurrency. What is dropped is put
# back at the end of each round; the scratch database is thrown away.
#
#   bash bench/write_bound.sh BINARY                 # 2 rounds, 8 s a measurement
#   ROUNDS=3 DURATION=10s bash bench/write_bound.sh BINARY
#
# The body is the mature disc reference program (bench/post_assessment.lua), as in load.sh's writes.
# Needs wrk, curl, python3 and the PostgreSQL server programs (for pgbench).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

BINARY=$1
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-8s}
CONCURRENCY=${CONCURRENCY:-4}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
PG_BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)")")
scratch_for_one_service write-bound

start_service "$scratch/pg" "$scratch/service.log" "$BINARY"
socket_dir=$(sed -n 5p "$scratch/pg/postmaster.pid")
pg_port=$(sed -n 4p "$scratch/pg/postmaster.pid")
run_as=(); [ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
psql() { "${run_as[@]}" "$PG_BIN/psql" -X -q -h "$socket_dir" -p "$pg_port" -U postgres -d msc_readiness "$@"; }
chmod -R a+rX "$scratch"
reference_row_script "$scratch/reference.sql"

writes() { # name, concurrency, wrk args...
  local name=$1 concurrency=$2; shift 2
  API_KEY="$key" wrk -t"$THREADS" -c"$concurrency" -d"$DURATION" -s bench/post_assessment.lua "$@" \
    "$base/v1/assessments" | awk '/Requests\/sec/ {print $2}' >"$scratch/$name.rate"
}
score_columns=(overall_index survival retention variability scalability safety outcomes regulatory)
drop_indexes() {
  for column in "${score_columns[@]}"; do psql -c "DROP INDEX assessments_by_${column%_index}"; done
}
make_indexes() {
  for column in "${score_columns[@]}"; do
    psql -c "CREATE INDEX assessments_by_${column%_index} ON assessments (organisation_id, $column, id)"
  done
}
drop_trigger() { psql -c "DROP TRIGGER assessments_score_counts_insert ON assessments"; }
make_trigger() {
  psql -c "CREATE TRIGGER assessments_score_counts_insert AFTER INSERT ON assessments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION queue_score_count_inserts()"
}
configuration() { # label
  pgbench reference_row "$scratch/reference.sql" >/dev/null
  writes minimal "$CONCURRENCY" -H 'Prefer: return=minimal'
  writes full "$CONCURRENCY"
  python3 - "$1" "$scratch"/{reference_row,minimal,full}.rate <<'PY'
import sys
label, (reference, minimal, full) = sys.argv[1], (float(open(f).read()) for f in sys.argv[2:])
print(f"{label:<34} {reference:>9.0f} {minimal:>9.0f} {minimal / reference:>6.2f}x {full:>9.0f} {full / reference:>6.2f}x")
PY
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, concurrency $CONCURRENCY, $DURATION a measurement, binary $BINARY"
printf '%-34s %9s %9s %7s %9s %7s\n' "" "reference" "minimal" "" "full" ""
for round in $(seq 1 "$ROUNDS"); do
  configuration "round $round: as shipped"
  writes minimal_doubled $((CONCURRENCY * 2)) -H 'Prefer: return=minimal'
  writes full_doubled $((CONCURRENCY * 2))
  printf '%-34s %9s %9.0f %7s %9.0f\n' "round $round: as shipped, concurrency $((CONCURRENCY * 2))" "" \
    "$(cat "$scratch/minimal_doubled.rate")" "" "$(cat "$scratch/full_doubled.rate")"
  drop_indexes
  configuration "round $round: no score-sort indexes"
  drop_trigger
  configuration "round $round: neither"
  make_indexes
  configuration "round $round: no rollup insert trigger"
  make_trigger
done
echo "stored assessments: $(psql -tAc "SELECT count(*) FROM assessments")"
