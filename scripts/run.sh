#!/usr/bin/env bash
# The run command: dependencies, database, migrations, seeds, server + worker, admin URL.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec node --import tsx apps/cli/src/main.ts start
