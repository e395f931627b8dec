#!/usr/bin/env bash
# What holds a core up: a thread spinning on CORE reads the monotonic clock for SPIN_SECONDS and
# notes every gap over 1 ms, while `perf sched record` traces every core; each gap is then printed
# with what the trace shows running on CORE during it. A task that ran through the whole gap held
# the core (docs/benchmarks/router, session 14: kdamond.0 for 4 ms); a gap with only the spinner
# on the core, or a task whose profile shows it barely ran, is the VM's own stall. Needs perf, python3
# and root.
# Usage: scripts/core-gaps.sh [CORE [SPIN_SECONDS [OUT_DIR]]]   (defaults: 0, 5, /tmp/llmstack-core-gaps)
set -euo pipefail
CORE="${1:-0}"
SPIN_SECONDS="${2:-5}"
OUT="${3:-/tmp/llmstack-core-gaps}"
TRACER=$(((CORE + 1) % $(nproc --all))) # perf itself runs elsewhere
mkdir -p "$OUT"
taskset -c "$TRACER" perf sched record -a -k CLOCK_MONOTONIC -o "$OUT/sched.data" -- \
  taskset -c "$CORE" python3 -c '
import sys, time
end = time.monotonic_ns() + int(float(sys.argv[1]) * 1e9)
last = time.monotonic_ns()
while last < end:
    t = time.monotonic_ns()
    if t - last > 1_000_000:
        print("%.6f %.3f" % (last / 1e9, (t - last) / 1e6))
    last = t
' "$SPIN_SECONDS" > "$OUT/gaps.txt" 2> "$OUT/perf.log"
taskset -c "$TRACER" perf sched timehist -i "$OUT/sched.data" 2> /dev/null | tail -n +4 > "$OUT/timehist.txt"
echo "$(wc -l < "$OUT/gaps.txt") gaps over 1 ms on core $CORE in $SPIN_SECONDS s"
# timehist columns: time (end of the run), [cpu], task[tid/pid], wait, sch delay, run (ms).
while read -r start ms; do
  echo "== gap at $start s: $ms ms; runs on core $CORE ending in it (task, ran ms):"
  awk -v cpu="[$(printf '%04d' "$CORE")]" -v from="$start" -v ms="$ms" '
    $2 == cpu && $1 >= from - 0.0005 && $1 <= from + ms / 1000 + 0.0005 {printf "   %s %s\n", $3, $6}' \
    "$OUT/timehist.txt"
done < "$OUT/gaps.txt"
