#!/usr/bin/env bash
# Records what runs on the proxy's core while the router serves the small-JSON latency round of
# `llmstack bench-router --pin --repeats 1 --timeline`, then sums each task's bursts there.
# The figures in docs/benchmarks/router/README.md ("session 10") came from such a trace. Needs perf
# and root. Usage: scripts/trace-proxy-core.sh [OUT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-/tmp/llmstack-core-trace}"
CORE=$(( $(nproc) - 1 )) # --pin gives the proxy the last core
mkdir -p "$OUT"
: > "$OUT/out.txt"
# The benchmark pins its own processes; what this script runs itself stays on core 0, so the
# trace does not record it.
"$ROOT/llmstack" bench-router --seconds 6 --pin --repeats 1 --timeline --scenario small-json --out "$OUT" \
  > "$OUT/out.txt" 2>&1 &
BENCH=$!
# tail ends on SIGPIPE once grep has its line: not a failure.
wait_for() { taskset -c 0 tail -n +1 -F "$OUT/out.txt" 2>/dev/null | taskset -c 0 grep -q -m1 "$1" || true; }
wait_for "small-json nginx: .*saturated (run 1/1)"
taskset -c 0 perf sched record -C "$CORE" -k CLOCK_MONOTONIC -o "$OUT/sched.data" > "$OUT/perf.log" 2>&1 &
PERF=$!
wait_for "small-json router at"
kill -INT "$PERF"
wait "$PERF" || true
wait "$BENCH"
# Per task: its runs on the core within the router's round (from the event loop's first run to its
# last), their total and the longest. Outside that window the core is mostly idle, and a run there
# can include idle time the trace does not show as a switch.
taskset -c 0 perf sched timehist -i "$OUT/sched.data" 2>/dev/null | tail -n +4 > "$OUT/timehist.txt"
read -r FROM TO < <(awk '$3 ~ /^multiThreadIoEv/ {if (!f) f=$1; l=$1} END {print f, l}' "$OUT/timehist.txt")
awk -v from="$FROM" -v to="$TO" '$1 >= from && $1 <= to {split($3,a,"["); t[a[1]]+=$NF; n[a[1]]++; if ($NF>m[a[1]]) m[a[1]]=$NF}
     END {for (k in t) printf "%-24s runs=%7d total=%9.1f ms longest=%6.2f ms\n", k, n[k], t[k], m[k]}' \
  "$OUT/timehist.txt" | sort -t= -k3 -rn > "$OUT/bursts.txt"
cat "$OUT/bursts.txt"
echo "timelines: $OUT/timeline; trace: $OUT/sched.data (perf sched timehist -i ...)"
