#!/usr/bin/env bash
# The test command: every test, unit and integration (real Postgres and Redis), plus the typecheck
# and the linter.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# Browser tests drive Debian's Chromium (no browser download from the registry works here).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium install failed: browser tests will fail" >&2
  else
    echo "chromium is missing: install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  fi
fi
"${PNPM[@]}" exec turbo run typecheck --output-logs=errors-only
"${PNPM[@]}" exec biome check .
exec "${PNPM[@]}" exec vitest run
