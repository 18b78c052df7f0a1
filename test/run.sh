#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: brings the local services up (Kafka, PostgreSQL,
# Redis), type-checks and lints, then runs every test with tap and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
# services.sh prints the REWARDS_* environment of the services it started or found.
eval "$(bash infra/local/services.sh up)"
npm run --silent check
mkdir -p .tap
set +e
tap --reporter=tap "$@" 2>&1 | tee .tap/last-run.tap
status=${PIPESTATUS[0]}
set -e
node -e '
  const text = require("node:fs").readFileSync(".tap/last-run.tap", "utf8")
  const m = [...text.matchAll(/^# \{ (.*) \}$/gm)].pop()
  const counts = Object.fromEntries((m?.[1] ?? "").split(", ").filter(Boolean).map(kv => { const [k, v] = kv.split(": "); return [k, Number(v)] }))
  const line = `${counts.pass ?? 0} passed, ${counts.fail ?? 0} failed` + (counts.skip ? `, ${counts.skip} skipped` : "")
  console.log(line)
'
exit "$status"
