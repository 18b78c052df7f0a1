#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: brings the local services up (Kafka, PostgreSQL,
# Redis), type-checks and lints, then runs every test with tap and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
# services.sh prints the REWARDS_* environment of the services it started or found.
eval "$(bash infra/local/services.sh up)"
npm run --silent check
mkdir -p .tap
# Log tails that failing test files leave for the summary (test/cli/cli-helpers.ts).
rm -rf .tap/platform-logs
set +e
tap --reporter=tap "$@" 2>&1 | tee .tap/last-run.tap
status=${PIPESTATUS[0]}
set -e
node test/tap-summary.ts .tap/last-run.tap
exit "$status"
