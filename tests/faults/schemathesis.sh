#!/usr/bin/env bash
# Issue 8 (1): schemathesis against the live service, from the committed openapi/openapi.json.
#
#   bash tests/faults/schemathesis.sh                       # starts its own cluster and service
#   BASE_URL=http://127.0.0.1:8080 bash tests/faults/schemathesis.sh   # an already running service
#
# Every operation, all four phases (examples, coverage, fuzzing, stateful), `--checks all`, a
# fixed seed, no check switched off. Requests carry `Authorization: Bearer $API_KEY` (for a running
# service, a key printed by `msc-readiness keys create`; else the one `setup` makes). schemathesis is
# pinned and installed in a venv under the target directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCHEMATHESIS_VERSION=4.32.5
SEED=${SEED:-20261121}
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
VENV=${CARGO_TARGET_DIR:-$ROOT/target}/schemathesis-venv

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${BASE_URL:-}" ]; then
  source "$ROOT/tests/faults/lib.sh"
  setup
fi

auth=(--header "Authorization: Bearer ${API_KEY:-}")
# schemathesis keeps a cache of earlier failures (replayed first) in ./.schemathesis: run in a
# scratch directory so every run is the same, seeded run.
workdir=$(mktemp -d /tmp/msc-readiness-schemathesis.XXXXXX)
status=0
(cd "$workdir" && "$VENV/bin/schemathesis" run "$ROOT/openapi/openapi.json" \
  --url "$BASE_URL" \
  "${auth[@]}" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --seed "$SEED" \
  --max-examples "$MAX_EXAMPLES" \
  --continue-on-failure \
  --generation-database none \
  --no-color) || status=$?
rm -rf "$workdir"
exit "$status"
