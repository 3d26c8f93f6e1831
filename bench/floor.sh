#!/usr/bin/env bash
# The floor under `POST /v1/score` on this machine (issue 16, twelfth round): an actix-web server of
# the service's version that reads the same request body and answers the same ~62 KB result from
# memory, doing nothing else, at the same concurrency as bench/load.sh. What the service spends
# above this rate is its own work (reading the profile, scoring, writing the result); the rest is
# HTTP, the kernel's loopback and wrk, which no change to the service removes.
#
#   bash bench/floor.sh [SERVICE_BINARY]     # default: the release build of this checkout
#
# Builds the floor server in a scratch directory (actix-web and mimalloc from crates.io, pinned to
# the versions of Cargo.lock), then measures it and the service one after the other: wrk -t2 -c4,
# 10 s each after a 3 s warm-up, the mature disc reference program as the body.
# Needs: wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -z "${1:-}" ]; then
  cargo build --release --quiet
  SERVICE="${CARGO_TARGET_DIR:-target}/release/msc-readiness"
else
  SERVICE=$1
fi
scratch=$(mktemp -d /tmp/msc-readiness-floor.XXXXXX)
chmod 755 "$scratch"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

locked() { awk -v name="$1" '$0 == "name = \"" name "\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock; }
mkdir -p "$scratch/floor/src"
cat >"$scratch/floor/Cargo.toml" <<TOML
[package]
name = "floor"
version = "0.1.0"
edition = "2024"

[dependencies]
actix-web = { version = "=$(locked actix-web)", default-features = false, features = ["macros"] }
mimalloc = { version = "=$(locked mimalloc)", default-features = false }
TOML
cat >"$scratch/floor/src/main.rs" <<'RUST'
use actix_web::{App, HttpResponse, HttpServer, web};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut arguments = std::env::args().skip(1);
    let answer: &'static [u8] = std::fs::read(arguments.next().expect("answer file"))?.leak();
    let port: u16 = arguments.next().expect("port").parse().expect("a port number");
    HttpServer::new(move || {
        App::new().route(
            "/v1/score",
            web::post().to(move |body: web::Bytes| async move {
                std::hint::black_box(&body);
                HttpResponse::Ok().content_type("application/json").body(answer.to_vec())
            }),
        )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
RUST
echo "building the floor server..."
(cd "$scratch/floor" && CARGO_TARGET_DIR="$scratch/target" cargo build --release --quiet)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 -c 'import json; print(json.dumps({"profile": json.load(open("src/scoring/reference_programs/disc_mature_allogeneic.json"))}))' \
  >"$scratch/body.json"
wrk_post_script "$scratch/body.json" "$scratch/post.lua"
rate() { # URL [HEADER]
  wrk -t2 -c4 -d3s -s "$scratch/post.lua" ${2:+-H "$2"} "$1" >/dev/null
  wrk -t2 -c4 -d10s -s "$scratch/post.lua" ${2:+-H "$2"} "$1" | awk '/Requests\/sec/ {print $2}'
}

port=$(free_port)
EMBEDDED_DB_DIR="$scratch/pg" PORT=$port LOG_LEVEL=warn RATE_LIMIT_PER_SECOND=0 RATE_LIMIT_ORGANISATION_PER_SECOND=0 \
  "$SERVICE" >"$scratch/service.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
key=$(EMBEDDED_DB_DIR="$scratch/pg" "$SERVICE" keys create --organisation default --name floor 2>/dev/null)
curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data @"$scratch/body.json" \
  "http://127.0.0.1:$port/v1/score" >"$scratch/answer.json"
service_rate=$(rate "http://127.0.0.1:$port/v1/score" "Authorization: Bearer $key")
kill -INT "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

port=$(free_port)
"$scratch/target/release/floor" "$scratch/answer.json" "$port" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST --data x "http://127.0.0.1:$port/v1/score" && break; sleep 0.1; done
floor_rate=$(rate "http://127.0.0.1:$port/v1/score")

python3 - "$service_rate" "$floor_rate" "$(wc -c <"$scratch/answer.json")" "$(nproc)" <<'PY'
import sys
service, floor, size, cores = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# wrk keeps every core busy in both runs, so a core-second a request is the machine's whole cost.
print(f"answer: {size} bytes")
print(f"floor (actix-web, the same answer from memory): {floor:,.0f} req/s, {cores / floor * 1000:.3f} ms of the machine a request")
print(f"service POST /v1/score:                         {service:,.0f} req/s, {cores / service * 1000:.3f} ms of the machine a request")
print(f"the service's own work: {cores / service * 1000 - cores / floor * 1000:.3f} ms of the machine a request")
PY
