#!/usr/bin/env bash
# The test command: every test, unit and integration (real Postgres and Redis), plus the typecheck
# and the linter.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
resolve_pnpm
# Browser tests drive Debian's Chromium (no browser download from the registry works here).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium install failed: browser tests will fail" >&2
  else
    echo "chromium is missing: install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  fi
fi
# The /metrics tests pipe the exposition through Prometheus' own linter, promtool (Debian's prometheus).
if [ -z "${PROMTOOL_PATH:-}" ] && ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's prometheus (for promtool) for the /metrics tests"
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null) || echo "prometheus install failed: the promtool tests will fail" >&2
  else
    echo "promtool is missing: install it (apt-get install prometheus) or set PROMTOOL_PATH" >&2
  fi
fi
# The typecheck: every package's files (the same set, with the same options, as each package's own
# `tsc -p tsconfig.json`, which `turbo run typecheck` runs) in ONE tsc program. Per package, each tsc
# checks again the sources of the workspace packages it imports: 15 programs took ~195 s of CPU on
# a fresh clone (no turbo cache), one program ~27 s.
node_modules/.bin/tsc -p tsconfig.typecheck.json
"${PNPM[@]}" exec biome check .
# Shuffled (files and the tests in each file), so a test that leans on another's rows fails here
# rather than on the day the order changes. The seed is printed (vitest prints it too, as
# 'Running tests with seed "N"'); TEST_SEED=N replays that order. Extra arguments go to vitest.
SEED="${TEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "tests shuffled with seed $SEED; replay: TEST_SEED=$SEED npm test, or one file: pnpm exec vitest run <file> --sequence.shuffle --sequence.seed=$SEED"
exec "${PNPM[@]}" exec vitest run --sequence.shuffle --sequence.seed="$SEED" "$@"
