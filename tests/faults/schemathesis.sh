#!/usr/bin/env bash
# Issue 8 (1): schemathesis against the live service, from the committed openapi/openapi.json.
#
#   bash tests/faults/schemathesis.sh      # starts its own cluster and service, makes both keys
#   BASE_URL=http://127.0.0.1:8080 API_KEY=<key> OTHER_API_KEY=<key> bash tests/faults/schemathesis.sh
#
# Every operation, all four phases (examples, coverage, fuzzing, stateful), `--checks all`, a
# fixed seed, no check switched off. Two identities, as a Web Fuzzing Commons auth document
# (`[auth.wfc]`): every request is sent as `API_KEY`'s organisation; `OTHER_API_KEY`, a key of a
# second organisation, is schemathesis's peer for `object_level_authorization`, which replays the
# first organisation's successful reads of its own objects with the peer's key and fails if the
# peer gets the object. For a running service, make the keys with `msc-readiness keys create`
# (two different `--organisation`s). One hook (schemathesis_hooks.py) gives every request a
# fresh Idempotency-Key, as a client must. schemathesis is pinned and installed in a venv under
# the target directory.
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
  OTHER_API_KEY=${OTHER_API_KEY:-$(DATABASE_URL=$(service_database_url) "$SERVICE_BIN" keys create \
    --organisation other 2>>"$SCRATCH/service.log")}
fi
: "${API_KEY:?set API_KEY to a key with every scope}"
: "${OTHER_API_KEY:?set OTHER_API_KEY to a key of another organisation}"

# schemathesis keeps a cache of earlier failures (replayed first) in ./.schemathesis: run in a
# scratch directory so every run is the same, seeded run. It holds the keys: readable by us only.
workdir=$(mktemp -d /tmp/msc-readiness-schemathesis.XXXXXX)
python3 -c 'import json,sys; print(json.dumps({"auth": [
    {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {key}"}]}
    for name, key in (("owner", sys.argv[1]), ("other-organisation", sys.argv[2]))]}))' \
  "$API_KEY" "$OTHER_API_KEY" >"$workdir/auth.json"
cat >"$workdir/schemathesis.toml" <<'TOML'
[auth.wfc]
path = "auth.json"
# Every operation as the owner; the other organisation only for the authorization probes.
user = "owner"
peers = ["owner", "other-organisation"]
TOML
status=0
started=$(date +%s)
(cd "$workdir" && PYTHONPATH="$ROOT/tests/faults" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$VENV/bin/schemathesis" --config-file schemathesis.toml --no-color run "$ROOT/openapi/openapi.json" \
  --url "$BASE_URL" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --seed "$SEED" \
  --max-examples "$MAX_EXAMPLES" \
  --continue-on-failure \
  --generation-database none) || status=$?
echo "schemathesis: exit status $status after $(($(date +%s) - started)) s"
# The scratch directory goes when the script exits: show why a service of our own went away.
if [ "$status" != 0 ] && [ -n "${SERVICE_PID:-}" ]; then
  kill -0 "$SERVICE_PID" 2>/dev/null || echo "the service (pid $SERVICE_PID) is no longer running" >&2
  echo "last lines of the service's log:" >&2
  tail -n 40 "$SCRATCH/service.log" >&2
fi
rm -rf "$workdir"
exit "$status"
