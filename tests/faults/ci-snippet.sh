# Lines for .ci/run (issue 8), after the tests: the fault scenarios quick enough for CI (about
# 15-30 s each on 2 cores), each against its own private PostgreSQL cluster and the release
# binary. They print PASS/FAIL lines and exit non-zero on any FAIL. Without API keys API_KEY may
# stay empty; once keys exist, export API_KEY (from `msc-readiness keys create`) before them.
cargo build --release --locked
bash tests/faults/refused.sh
bash tests/faults/hang.sh
bash tests/faults/crash.sh
