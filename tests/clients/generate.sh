#!/usr/bin/env bash
# Generates a Python client (openapi-python-client) and TypeScript types (openapi-typescript) from
# the committed openapi/openapi.json into target/clients/, fails on any generator warning, and
# type-checks a use of the TypeScript types with `tsc --strict`. Generators are pinned: PyPI in a
# venv, npm from package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/clients"
spec="$root/openapi/openapi.json"
rm -rf "$out/python" "$out/typescript"
mkdir -p "$out/typescript"

python3 -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet openapi-python-client==0.29.1
"$out/venv/bin/openapi-python-client" generate --path "$spec" --output-path "$out/python" \
  --config "$here/python-client.yml" --meta setup >"$out/python-generate.log" 2>&1 \
  || { cat "$out/python-generate.log"; exit 1; }
if grep -Eiq 'warning|unable to|error' "$out/python-generate.log"; then
  cat "$out/python-generate.log"
  echo "client generation: openapi-python-client reported warnings" >&2
  exit 1
fi
"$out/venv/bin/pip" install --quiet "$out/python"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
"$here/node_modules/.bin/openapi-typescript" "$spec" -o "$out/typescript/schema.d.ts" >"$out/typescript-generate.log" 2>&1 \
  || { cat "$out/typescript-generate.log"; exit 1; }
if grep -Eiq 'warn|error' "$out/typescript-generate.log"; then
  cat "$out/typescript-generate.log"
  echo "client generation: openapi-typescript reported warnings" >&2
  exit 1
fi
cp "$here/use.ts" "$out/typescript/use.ts"
"$here/node_modules/.bin/tsc" --strict --noEmit --target es2022 --module nodenext --moduleResolution nodenext \
  "$out/typescript/use.ts"
echo "client generation: Python and TypeScript clients generated without warnings; tsc --strict passes"
