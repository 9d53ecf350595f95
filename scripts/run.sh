#!/usr/bin/env bash
# The run command: dependencies, the build, database, migrations, seeds, server + worker, admin URL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# The production build (dist/, scripts/build.mjs): made when missing or older than any source, offline.
node scripts/build.mjs --if-stale
# Plain node on the compiled JavaScript: the supervisor starts the server and the worker from dist/ too.
# --lite-mode (no optimizing compiler, feedback allocated lazily) suits a process that mostly waits:
# about 8 MB less; the server and the worker run with the full compiler (launch.ts NODE_FLAGS).
exec node --max-semi-space-size=2 --lite-mode dist/supervisor.mjs
