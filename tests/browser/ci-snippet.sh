# To run in .ci/run after `cargo test --locked` (sourced or run; needs the PostgreSQL server the
# Rust tests used on 127.0.0.1:5432 and psql): the dashboard's end-to-end test in headless
# Chromium. It installs Debian's chromium package if missing, runs `npm ci` (playwright-core
# only; no browser download), and saves target/browser/dashboard.png.
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" tests/browser/run.sh
