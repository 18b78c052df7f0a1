#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: brings the local services up (Kafka, PostgreSQL,
# Redis), type-checks and lints, then runs every test with tap and prints "N passed, N failed".
# The files run in two groups (test/suite-files.ts decides which file is in which):
#   1. parallel: every file not listed as serial, TEST_JOBS at a time (default 2): their time is
#      mostly waiting (broker round trips, session timeouts, process start-up), and each isolates
#      itself (unique names, databases, ports, temp directories);
#   2. serial: chaos, kill and fault tests and the ones that measure time or rates, one at a time,
#      with nothing else running.
# Both groups always run; the exit status is non-zero if either failed. With arguments
# (`npm test -- test/x.test.ts`, tap options) it runs just those, as one tap run.
set -euo pipefail
cd "$(dirname "$0")/.."
# services.sh prints the REWARDS_* environment of the services it started or found.
eval "$(bash infra/local/services.sh up)"
mkdir -p .tap
# tsc and eslint side by side (test/check.sh); either failing stops the run before any test.
# Meanwhile the embedded database's template is built (test/warm-pglite-template.ts): every test
# that opens a new embedded database then copies it instead of running initdb.
node test/warm-pglite-template.ts & warm=$!
npm run --silent check
wait "$warm" || echo "# embedded database template not built: each new embedded database runs initdb"
# Every node process of the run (test files, and the platform and CLI processes they spawn, which
# keep this environment: test/cli/cli-helpers.ts cleanEnv) reuses the stripped TypeScript and V8
# code of the modules it loads: a platform process loads its modules in about half the CPU.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$PWD/.tap/node-compile-cache}"
# Log tails that failing test files leave for the summary (test/cli/cli-helpers.ts).
rm -rf .tap/platform-logs
: > .tap/last-run.tap
status=0
run_tap () { # tap arguments…; appends to .tap/last-run.tap, keeps the first failing status
  local code
  set +e
  tap --reporter=tap "$@" 2>&1 | tee -a .tap/last-run.tap
  code=${PIPESTATUS[0]}
  set -e
  if [[ $code -ne 0 && $status -eq 0 ]]; then status=$code; fi
}
if [[ $# -gt 0 ]]; then
  run_tap "$@"
else
  # (Not `mapfile < <(…)`: a failing listing must stop the run, not leave tap without files —
  # tap then runs every file, serial ones included.)
  list=$(node test/suite-files.ts parallel); mapfile -t parallel <<< "$list"
  list=$(node test/suite-files.ts serial); mapfile -t serial <<< "$list"
  jobs="${TEST_JOBS:-2}"
  started=$SECONDS
  echo "# group parallel: ${#parallel[@]} files, ${jobs} at a time" | tee -a .tap/last-run.tap
  run_tap --jobs "$jobs" "${parallel[@]}"
  echo "# group parallel took $((SECONDS - started)) s" | tee -a .tap/last-run.tap
  started=$SECONDS
  echo "# group serial: ${#serial[@]} files, one at a time (test/suite-files.ts SERIAL)" | tee -a .tap/last-run.tap
  run_tap --jobs 1 "${serial[@]}"
  echo "# group serial took $((SECONDS - started)) s" | tee -a .tap/last-run.tap
fi
node test/tap-summary.ts .tap/last-run.tap
exit "$status"
