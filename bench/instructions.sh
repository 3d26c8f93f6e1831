#!/usr/bin/env bash
# Instructions per result of writing and compacting a result (issue 16, fifth round), and of reading
# the request body of `POST /v1/score` (eleventh round), counted by
# callgrind: repeatable on this machine, where timings of the same binary varied by up to 20 %.
# Each step runs N times; the count of a run that only builds the shared inputs is taken off.
#
#   bash bench/instructions.sh          # N=200
#   N=50 bash bench/instructions.sh
#
# Needs valgrind. Builds benches/instructions.rs in release.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
cargo bench --bench instructions --no-run --quiet 2>/dev/null
binary=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 | awk '/refs:/ {gsub(",", "", $4); print $4}'; }
shared=$(count none "$N")
for step in assess serde_json json_writer compact hydrate key_ordered body_checked body_direct; do
  total=$(count "$step" "$N")
  echo "$step: $(( (total - shared) / N )) instructions per result"
done
