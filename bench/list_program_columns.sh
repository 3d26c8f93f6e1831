#!/usr/bin/env bash
# What naming the program in every list row costs the list query (issue 18): the first page of 50
# (+1) summary rows, newest first, at ROWS assessments of PROGRAMS programs, measured with pgbench
# in three forms, interleaved ROUNDS times so that a noisy machine shifts all three alike:
#   old  - the summary columns alone (before issue 18);
#   new  - plus the program's key and name by two scalar subqueries on its primary key (the code);
#   join - plus key and name by a LEFT JOIN (the alternative).
#
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_list bash bench/list_program_columns.sh
#
# SEED=0 reuses a database seeded by an earlier run. Otherwise the database is created (dropped first) and migrated with psql from migrations/; rows carry an
# empty profile and result, which the summary list never reads. Needs psql and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a database that may be dropped and recreated}
ROWS=${ROWS:-200000}
SEED=${SEED:-1}
PROGRAMS=${PROGRAMS:-2000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
server="${url%/*}/postgres"
database="${url##*/}"

if [ "$SEED" = 1 ]; then
psql "$server" -XqAt -c "DROP DATABASE IF EXISTS \"$database\"" -c "CREATE DATABASE \"$database\""
for migration in migrations/*.sql; do psql "$url" -XqAt -v ON_ERROR_STOP=1 -f "$migration" >/dev/null; done
psql "$url" -XqAt -v ON_ERROR_STOP=1 <<SQL
INSERT INTO programs (id, organisation_id, key, name)
SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', 'P-' || g, 'Program ' || g
FROM generate_series(1, $PROGRAMS) g;
INSERT INTO assessments (id, organisation_id, program_id, model_version, profile, result, indication, stage,
  overall_index, limiting_barrier, survival, retention, variability, scalability, safety, outcomes, regulatory,
  created_at, latest)
SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', p.id, '2.0.0', '{}', '{}', 'ms', 'phase2',
  random() * 100, 'survival', random() * 100, random() * 100, random() * 100, random() * 100, random() * 100,
  random() * 100, random() * 100, now() - g * interval '1 minute', false
FROM generate_series(1, $ROWS) g
JOIN (SELECT id, row_number() OVER () - 1 AS n FROM programs) p ON p.n = g % $PROGRAMS;
ANALYZE;
SQL
fi

columns="rescored_from, model_version, indication, stage, tissue_source, route, overall_index, readiness_level,
  limiting_barrier, survival, retention, variability, scalability, safety, outcomes, regulatory, created_at"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
where="WHERE organisation_id = '00000000-0000-7000-8000-000000000000' ORDER BY created_at DESC, id DESC LIMIT 51"
echo "SELECT id, program_id, $columns FROM assessments $where;" >"$scratch/old.sql"
echo "SELECT id, program_id, (SELECT key FROM programs WHERE programs.id = assessments.program_id) AS program_key,
  (SELECT name FROM programs WHERE programs.id = assessments.program_id) AS program_name, $columns
  FROM assessments $where;" >"$scratch/new.sql"
qualified=$(echo "$columns" | tr -d '\n' | sed 's/\([a-z_]\+\)/a.\1/g')
echo "SELECT a.id, a.program_id, p.key AS program_key, p.name AS program_name, $qualified
  FROM assessments a LEFT JOIN programs p ON p.id = a.program_id
  WHERE a.organisation_id = '00000000-0000-7000-8000-000000000000' ORDER BY a.created_at DESC, a.id DESC LIMIT 51;" \
  >"$scratch/join.sql"
for round in $(seq 1 "$ROUNDS"); do
  for form in old new join; do
    tps=$("$PGBENCH" -n -M prepared -c 2 -j 2 -T "$DURATION" -f "$scratch/$form.sql" "$url" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "round $round $form: $tps pages/s"
  done
done
