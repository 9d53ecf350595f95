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
# turbo runs each package's typecheck through `pnpm run`. Under `pnpm exec`, pnpm hands its children
# pnpm_config_verify_deps_before_run="false", a string pnpm 10 reads as true: each of the 14
# concurrent `pnpm run`s then checks the install state and can read the state file while another
# rewrites it ("Unexpected end of JSON input", seen once in a full run). bootstrap.sh has just
# verified the install, so turbo runs directly, without that variable.
unset npm_config_verify_deps_before_run pnpm_config_verify_deps_before_run
node_modules/.bin/turbo run typecheck --output-logs=errors-only
"${PNPM[@]}" exec biome check .
# Shuffled (files and the tests in each file), so a test that leans on another's rows fails here
# rather than on the day the order changes. The seed is printed (vitest prints it too, as
# 'Running tests with seed "N"'); TEST_SEED=N replays that order. Extra arguments go to vitest.
SEED="${TEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "tests shuffled with seed $SEED; replay: TEST_SEED=$SEED npm test, or one file: pnpm exec vitest run <file> --sequence.shuffle --sequence.seed=$SEED"
exec "${PNPM[@]}" exec vitest run --sequence.shuffle --sequence.seed="$SEED" "$@"
