#!/usr/bin/env bash
# Order independence, one test file at a time (the machine is shared: never the whole suite at once).
#
#   bash scripts/check-order.sh [--seeds "1 2"] [--each] [file.test.ts ...]
#
# Each file runs shuffled (`vitest run <file> --sequence.shuffle --sequence.seed=N`) once per seed;
# with --each, every test of the file also runs alone (`-t '<its name>$'`), which catches a test that
# leans on rows or ids an earlier test made. Without files: every test file of the tree, one after
# the other. Prints one line per run and, at the end, the commands that failed, so each failure can
# be replayed as printed. Exit status 1 when any run failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SEEDS="${CHECK_ORDER_SEEDS:-1 2}"
EACH=0
FILES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS="$2"; shift 2 ;;
    --each) EACH=1; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) FILES+=("$1"); shift ;;
  esac
done
if [ ${#FILES[@]} -eq 0 ]; then
  mapfile -t FILES < <(git ls-files '*.test.ts' | grep -E '^(apps|packages|seeds|bench)/')
fi
FAILED=()
run() {
  local label="$1"; shift
  local log
  log=$(mktemp)
  # vitest exits 0 when -t selects nothing (all skipped): a run counts only if a test passed,
  # read from the summary line "<n> passed, <n> failed, <n> skipped" of our reporter.
  if pnpm exec vitest run "$@" >"$log" 2>&1 && grep -qE '^[1-9][0-9]* passed, 0 failed' "$log"; then
    echo "ok    $label"
  else
    echo "FAIL  $label"
    grep -E '×|FAIL|AssertionError|Error:' "$log" | head -n 8 | sed 's/^/      /'
    FAILED+=("pnpm exec vitest run $(printf '%q ' "$@")")
  fi
  rm -f "$log"
}
for f in "${FILES[@]}"; do
  for seed in $SEEDS; do
    run "$f shuffled, seed $seed" "$f" --sequence.shuffle --sequence.seed="$seed"
  done
  if [ "$EACH" = 1 ]; then
    # Test names from `vitest list`; -t matches the full name (describe titles and the test's),
    # so the pattern is the test's own title, escaped, anchored at the end.
    mapfile -t NAMES < <(pnpm exec vitest list "$f" --json 2>/dev/null | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const start = s.indexOf("[");
        for (const t of JSON.parse(s.slice(start))) console.log(t.name.split(" > ").pop());
      });')
    for name in "${NAMES[@]}"; do
      pattern="$(printf '%s' "$name" | sed -E 's/[][\\.^$*+?(){}|/]/\\&/g')\$"
      run "$f alone: $name" "$f" -t "$pattern"
    done
  fi
done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo
  echo "${#FAILED[@]} run(s) failed; replay with:"
  printf '  %s\n' "${FAILED[@]}"
  exit 1
fi
