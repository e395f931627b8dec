#!/usr/bin/env python3
"""What a `bench-router --timeline` run's tail is made of, per target, over all its rounds.

Reads OUT_DIR/timeline/SCENARIO-TARGET-runN.csv (sent_us,latency_us) and prints, per target:
pooled p50/p90/p99/p99.9 in ms, the share of requests over 1 ms, and the spells they came in:
requests over 0.5 ms meant to be sent less than 2 ms apart form a spell; for the spells holding a
request over 1 ms, their count, their requests over 1 ms each (mean) and their slowest (median).
A stall of several milliseconds makes one such spell of every request in flight or due during it;
the figures in docs/benchmarks/router (session 14) came from this.
Usage: scripts/timeline-tail.py OUT_DIR [SCENARIO]   (SCENARIO defaults to small-json)
"""
import csv
import glob
import statistics
import sys


def rows(path):
    with open(path) as f:
        return [(int(s), int(l)) for s, l in csv.reader(f) if s != "sent_us"]


def spells(requests, slow=500, gap=2000):
    """[over_1ms, slowest] per spell of requests over `slow` us sent under `gap` us apart."""
    out, last = [], None
    for sent, latency in sorted(requests):
        if latency <= slow:
            continue
        if last is None or sent - last >= gap:
            out.append([0, 0])
        out[-1][0] += latency > 1000
        out[-1][1] = max(out[-1][1], latency)
        last = sent
    return out


def main():
    out_dir = sys.argv[1]
    scenario = sys.argv[2] if len(sys.argv) > 2 else "small-json"
    for target in ("direct", "router", "nginx"):
        latencies, slow_spells = [], []
        for path in sorted(glob.glob(f"{out_dir}/timeline/{scenario}-{target}-run*.csv")):
            run = rows(path)
            latencies += [l for _, l in run]
            slow_spells += [s for s in spells(run) if s[0] > 0]
        if not latencies:
            continue
        latencies.sort()
        q = [latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1000 for p in (0.5, 0.9, 0.99, 0.999)]
        over = sum(s[0] for s in slow_spells)
        per_spell = statistics.mean(s[0] for s in slow_spells) if slow_spells else 0
        slowest = statistics.median(s[1] for s in slow_spells) / 1000 if slow_spells else 0
        print(
            f"{target:6} requests {len(latencies)}  p50/p90/p99/p99.9 ms "
            + "/".join(f"{v:.3f}" for v in q)
            + f"  over 1 ms {100 * over / len(latencies):.2f}%"
            + f"  spells with one {len(slow_spells)}, {per_spell:.1f} such requests each,"
            + f" slowest {slowest:.2f} ms (median)"
        )


if __name__ == "__main__":
    main()
