#!/usr/bin/env bash
# `npm run check`: tsc and eslint, the two at once. Each is one busy thread for a minute or more,
# so on two cores side by side they take the longer one's time, not the sum. Fails if either does.
set -uo pipefail
cd "$(dirname "$0")/.."
tsc --noEmit & tsc_pid=$!
eslint . & eslint_pid=$!
failed=0
wait "$tsc_pid" || failed=1
wait "$eslint_pid" || failed=1
if [[ $failed -ne 0 ]]; then echo "check: tsc or eslint failed (above)" >&2; exit 1; fi
