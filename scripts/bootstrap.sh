# Sourced by run.sh and test.sh: makes `pnpm` available (a new machine has none), installs the
# dependencies when they are missing or stale, and generates the Prisma client.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
else
  # corepack cannot reach the registry here; npm can. Global install when allowed, else npx.
  if npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 && command -v pnpm >/dev/null 2>&1; then
    PNPM=(pnpm)
  else
    PNPM=(npx -y "pnpm@$PNPM_VERSION")
  fi
fi
# Install when node_modules is missing or older than the lockfile.
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only 2>&1 | grep -v "^Progress" || { echo "pnpm install failed" >&2; exit 1; }
fi
# The generated client is not committed: regenerate it when the schema is newer.
if [ ! -f packages/db/src/generated/client.ts ] || [ prisma/schema.prisma -nt packages/db/src/generated/client.ts ]; then
  node scripts/prisma-generate.mjs
fi
