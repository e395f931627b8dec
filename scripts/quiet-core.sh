#!/usr/bin/env bash
# Gives one core to whatever is pinned there next (bench-router --pin puts each proxy on the last
# core), as isolcpus= and irqaffinity= would on a machine you can boot: every task the kernel lets
# move (other processes, unbound kernel threads such as kdamond, rcu_preempt, khugepaged) and every
# interrupt it lets steer go to the other cores. Per-core kernel threads (ksoftirqd, kworker/N)
# stay. It also stops DAMON's kdamond threads (/sys/kernel/mm/damon), wherever they run. `off` puts
# back what `on` saved, and starts again the kdamonds it stopped.
#
# Why: with --pin the direct baseline (load generator and stubs, core 0) never touches the proxy's
# core, so whatever else the machine runs there shows up as "added" latency of the proxy alone.
# Quieting it leaves both cores' noise on every path alike. kdamond: the project's VM runs DAMON
# with a pageout scheme (cold memory handed back to the host), and on its kernel (no preemption)
# each sampling pass holds a core for up to 4 ms, twice a second. Moved to core 0 it stalled the
# load generator and the stubs, and every path's p99 went to 2-3 ms: the proxies' through the
# burst of late requests they then forward (docs/benchmarks/router, session 14). Needs root.
# Usage: scripts/quiet-core.sh on|off|show [CORE]   (CORE defaults to the last core)
set -euo pipefail
MODE="${1:-show}"
CORE="${2:-$(($(nproc --all) - 1))}"
STATE="${LLMSTACK_QUIET_CORE_STATE:-/tmp/llmstack-quiet-core.state}"
ALL=$(((1 << $(nproc --all)) - 1))
OTHERS=$((ALL & ~(1 << CORE)))

mask_of() { taskset -p "$1" 2>/dev/null | awk '{print $NF}'; }

# Tasks that may run on CORE and elsewhere too: the ones that can be moved off it.
movable() {
  for t in /proc/[0-9]*/task/[0-9]*; do
    tid="${t##*/}"
    m=$(mask_of "$tid") || continue
    [[ -n "$m" ]] || continue
    v=$((16#$m))
    if ((v & (1 << CORE))) && ((v & OTHERS)); then
      echo "$tid $m $(cat "$t/comm" 2>/dev/null || echo '?')"
    fi
  done
}

case "$MODE" in
  on)
    [[ -e "$STATE" ]] && { echo "already on (state in $STATE); run '$0 off' first" >&2; exit 1; }
    : > "$STATE"
    moved=0
    while read -r tid m comm; do
      if taskset -p "$(printf '%x' $((16#$m & OTHERS)))" "$tid" > /dev/null 2>&1; then
        echo "task $tid $m" >> "$STATE"
        moved=$((moved + 1))
      fi
    done < <(movable)
    irqs=0
    for d in /proc/irq/[0-9]*; do
      [[ -w "$d/smp_affinity" ]] || continue
      m=$(cat "$d/smp_affinity")
      v=$((16#${m//,/}))
      ((v & (1 << CORE))) && ((v & OTHERS)) || continue
      if printf '%x' $((v & OTHERS)) > "$d/smp_affinity" 2> /dev/null; then
        echo "irq ${d##*/} $m" >> "$STATE"
        irqs=$((irqs + 1))
      fi
    done
    damons=0
    for d in /sys/kernel/mm/damon/admin/kdamonds/[0-9]*; do
      [[ -w "$d/state" && "$(cat "$d/state")" == on ]] || continue
      if echo off > "$d/state" 2> /dev/null; then
        echo "damon $d on" >> "$STATE"
        damons=$((damons + 1))
      fi
    done
    echo "core $CORE quiet: moved $moved tasks and $irqs interrupts off it, stopped $damons kdamonds" \
      "(undo: $0 off)"
    ;;
  off)
    [[ -e "$STATE" ]] || { echo "not on ($STATE missing)" >&2; exit 1; }
    while read -r kind id m; do
      if [[ "$kind" == task ]]; then
        taskset -p "$m" "$id" > /dev/null 2>&1 || true # gone since
      elif [[ "$kind" == damon ]]; then
        echo "$m" > "$id/state" 2> /dev/null || echo "could not start $id again" >&2
      else
        echo "$m" > "/proc/irq/$id/smp_affinity" 2> /dev/null || true
      fi
    done < "$STATE"
    rm -f "$STATE"
    echo "core $CORE shared again"
    ;;
  show)
    echo "tasks that may still run on core $CORE besides others:"
    movable
    echo "interrupts delivered to core $CORE:"
    for d in /proc/irq/[0-9]*; do
      e=$(cat "$d/effective_affinity_list" 2> /dev/null || true)
      [[ "$e" == "$CORE" ]] && echo "irq ${d##*/}: $(awk -v i="${d##*/}:" '$1 == i {print $NF}' /proc/interrupts)"
    done
    echo "DAMON kdamonds:"
    for d in /sys/kernel/mm/damon/admin/kdamonds/[0-9]*; do
      [[ -e "$d/state" ]] && echo "${d##*/}: $(cat "$d/state")"
    done
    ;;
  *)
    echo "usage: $0 on|off|show [CORE]" >&2
    exit 2
    ;;
esac
