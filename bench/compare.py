#!/usr/bin/env python3
"""Runs kiln's benchmark programs and prints each ratio next to its target.

    python3 bench/compare.py [--bin build/bin] [--min-time 0.5] [--only bench_ops_gpu]

Every ratio is kiln's number divided by a bound measured in the same process (see the .cc/.cu
files). Exit status 1 when a checked counter misses its target; skipped benchmarks (no GPU)
are listed but do not fail.
"""
import argparse
import json
import os
import subprocess
import sys

# counter -> (target, True when higher is better). Targets: perf-anchors-compute.md G1/G3/G5/G7.
TARGETS = {
    "bench_session": {"us_per_node": None},  # per benchmark below: CPU 2 us, GPU 5 us
    "bench_ops_cpu": {"ratio_to_memcpy": None, "ratio_to_eigen": None, "ratio_to_memset": None},
    "bench_ops_gpu": {"ratio_to_write": (0.70, True), "ratio_to_copy": (0.85, True),
                      "ratio_to_cublas": (0.95, True)},
}


def target_for(program, name, counter):
    if program == "bench_session":
        # The per-node slope is what the target is about: check the longest chain only.
        if not name.split("/")[1] == "1000":
            return None
        return (5.0 if "Gpu" in name else 2.0, False)
    return TARGETS[program][counter]


def run(path, min_time):
    out = subprocess.run([path, "--benchmark_format=json", f"--benchmark_min_time={min_time}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/bin", help="folder holding the bench_* programs")
    ap.add_argument("--min-time", default="0.5", help="--benchmark_min_time in seconds")
    ap.add_argument("--only", action="append", help="run only these programs")
    args = ap.parse_args()

    failed = False
    for program in args.only or TARGETS:
        path = os.path.join(args.bin, program)
        if not os.path.exists(path):
            print(f"{program}: not built ({path})")
            continue
        report = run(path, args.min_time)
        ctx = report["context"]
        print(f"\n# {program}: {ctx.get('gpu', 'no GPU')}, {ctx.get('num_cpus')} CPUs, {ctx.get('date')}")
        print(f"{'benchmark':44} {'counter':16} {'value':>10} {'target':>10}  verdict")
        for b in report["benchmarks"]:
            name = b["name"]
            if b.get("error_occurred"):
                print(f"{name:44} skipped: {b.get('error_message')}")
                continue
            for counter in TARGETS[program]:
                if counter not in b:
                    continue
                value = b[counter]
                target = target_for(program, name, counter)
                if target is None:
                    verdict, shown = "", "-"
                else:
                    limit, higher_better = target
                    ok = value >= limit if higher_better else value <= limit
                    failed |= not ok
                    verdict = "ok" if ok else "MISSES TARGET"
                    shown = (">= " if higher_better else "<= ") + f"{limit:g}"
                print(f"{name:44} {counter:16} {value:10.3f} {shown:>10}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
