# Sourced by run.sh and test.sh: makes `pnpm` available (a new machine has none), installs the
# dependencies when they are missing or stale, and generates the Prisma client.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# pnpm is looked for (and installed) only when it is needed: starting it costs ~0.5 s of CPU, which
# every start of the run command would pay for nothing on an installed clone. `resolve_pnpm` sets PNPM.
resolve_pnpm() {
  [ -n "${PNPM+x}" ] && return 0
  local version
  version=$(node -p "require('./package.json').packageManager.split('@')[1]")
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$version" ]; then
    PNPM=(pnpm)
  else
    # corepack cannot reach the registry here; npm can. Global install when allowed, else npx.
    if npm install -g "pnpm@$version" >/dev/null 2>&1 && command -v pnpm >/dev/null 2>&1; then
      PNPM=(pnpm)
    else
      PNPM=(npx -y "pnpm@$version")
    fi
  fi
}
# Install when node_modules is missing or older than the lockfile.
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  resolve_pnpm
  "${PNPM[@]}" install --frozen-lockfile --reporter=append-only 2>&1 | grep -v "^Progress" || { echo "pnpm install failed" >&2; exit 1; }
fi
# The generated client is not committed: regenerate it when the schema is newer.
if [ ! -f packages/db/src/generated/client.ts ] || [ prisma/schema.prisma -nt packages/db/src/generated/client.ts ]; then
  node scripts/prisma-generate.mjs
fi
