#!/usr/bin/env bash
# The run command: dependencies, the build, database, migrations, seeds, server + worker, admin URL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# The production build (dist/, scripts/build.mjs): made when missing or older than any source, offline.
node scripts/build.mjs --if-stale
# Plain node on the compiled JavaScript: the supervisor starts the server and the worker from dist/ too.
# (--lite-mode would save the supervisor ~5-8 MB but makes V8 print a flag warning at every start.)
exec node --max-semi-space-size=2 dist/supervisor.mjs
