#!/usr/bin/env bash
# Records what runs on each core while the router serves the small-JSON latency round of
# `llmstack bench-router --pin --repeats 1 --timeline --slice-ms 0 --scenario small-json`, then
# reports, for the router's 6-s window on the proxy's core:
#   - bursts.txt: each task's runs there (count, total, longest, runs over 0.3 ms); a run's length
#     can include idle time the trace shows no switch for, so trust counts over lengths there;
#   - delays.txt: each time the event loop was woken but waited over 0.2 ms to run, and which task
#     held the core meanwhile (what a proxied request waits for, by name).
# The window comes from the report's half_load_timeline_start_monotonic_ns_runs, on the clock the
# trace uses (CLOCK_MONOTONIC), so timeline/small-json-router-run1.csv lines up with the trace too.
# The figures in docs/benchmarks/router/README.md (sessions 10-13) came from such traces; session 13's
# with the proxy's core quieted first (scripts/quiet-core.sh on). Needs perf and root.
# Usage: scripts/trace-proxy-core.sh [OUT_DIR [more bench-router options]]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-/tmp/llmstack-core-trace}"
shift || true
CORE=$(( $(nproc --all) - 1 )) # --pin gives the proxy the last core
SECONDS_PER_RUN=6
mkdir -p "$OUT"
: > "$OUT/out.txt"
# The benchmark pins its own processes; what this script runs itself stays on core 0. The latency
# runs go one after another (--slice-ms 0), so that the router's counted window is one stretch of
# time the trace can be cut to.
"$ROOT/llmstack" bench-router --seconds "$SECONDS_PER_RUN" --pin --repeats 1 --timeline \
  --slice-ms 0 --scenario small-json --out "$OUT" "$@" > "$OUT/out.txt" 2>&1 &
BENCH=$!
# tail ends on SIGPIPE once grep has its line: not a failure.
wait_for() { taskset -c 0 tail -n +1 -F "$OUT/out.txt" 2>/dev/null | taskset -c 0 grep -q -m1 "$1" || true; }
wait_for "small-json nginx: .*saturated (run 1/1)"
# All cores: a wakeup is recorded on the waker's core, and the delay to run needs it.
taskset -c 0 perf sched record -a -k CLOCK_MONOTONIC -o "$OUT/sched.data" > "$OUT/perf.log" 2>&1 &
PERF=$!
wait_for "small-json router at"
kill -INT "$PERF"
wait "$PERF" || true
wait "$BENCH"
taskset -c 0 perf sched timehist -i "$OUT/sched.data" 2>/dev/null | tail -n +4 > "$OUT/timehist.txt"
# The router's window: its latency run's start (ns) to SECONDS_PER_RUN later, in seconds.
START_NS=$(awk '/"router" : \{/ {r=1} r && /half_load_timeline_start_monotonic_ns_runs/ {gsub(/[^0-9]/, "", $0); print; exit}' \
  "$OUT/router-vs-nginx.json")
FROM=$(awk -v ns="$START_NS" 'BEGIN {printf "%.6f", ns / 1e9}')
TO=$(awk -v from="$FROM" -v s="$SECONDS_PER_RUN" 'BEGIN {printf "%.6f", from + s}')
# timehist columns: time (end of the run), [cpu], task[tid/pid], wait, sch delay, run (ms).
taskset -c 0 awk -v cpu="[$(printf '%04d' "$CORE")]" -v from="$FROM" -v to="$TO" '
  $2 != cpu || $1 < from || $1 > to {next}
  {split($3, a, "["); task = a[1]; run = $6 + 0
   n[task]++; t[task] += run; if (run > m[task]) m[task] = run; if (run > 0.3) big[task]++}
  END {for (k in t) printf "%-24s runs=%7d total=%9.1f ms longest=%6.2f ms over_0.3ms=%d\n", k, n[k], t[k], m[k], big[k]}' \
  "$OUT/timehist.txt" | sort -t= -k3 -rn > "$OUT/bursts.txt"
taskset -c 0 awk -v cpu="[$(printf '%04d' "$CORE")]" -v from="$FROM" -v to="$TO" '
  $2 != cpu {next}
  {split($3, a, "["); task = a[1]}
  $1 >= from && $1 <= to && task ~ /^multiThreadIoEv/ && $5 + 0 > 0.2 {
    printf "%.6f event loop waited %.2f ms; before it on the core: %s (ran %.2f ms)\n", $1, $5, prev, prevRun}
  {prev = task; prevRun = $6 + 0}' "$OUT/timehist.txt" > "$OUT/delays.txt"
echo "== the proxy's core in the router's window (${SECONDS_PER_RUN} s): runs per task"
cat "$OUT/bursts.txt"
echo "== the event loop woken but waiting over 0.2 ms: $(wc -l < "$OUT/delays.txt") times; by the task before it"
awk -F'before it on the core: ' '{split($2, a, " \\("); c[a[1]]++} END {for (k in c) printf "%6d %s\n", c[k], k}' \
  "$OUT/delays.txt" | sort -rn
grep " at " "$OUT/out.txt" || true
echo "timelines: $OUT/timeline; trace: $OUT/sched.data (perf sched timehist -i ...); details: $OUT/delays.txt"
