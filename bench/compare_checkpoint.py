#!/usr/bin/env python3
"""kiln's checkpoint save/restore next to torch.save/torch.load and np.save/np.load, same tensors.

    python3 bench/compare_checkpoint.py [--bin build/bin] [--dir /tmp] [--cases 64:1024,256:262144]
                                        [--gpu]

For each case (total MiB : tensor KiB) it runs bench/bench_checkpoint (Saver save with and without
fsync; restore into new memory and into the running session; each next to raw pwrite/pread
measured in the same process; see the header of bench/bench_checkpoint.cc),
then times torch.save/torch.load and np.save/np.load of a dict/sequence of float32 tensors of the
same sizes written to the same directory (fsync'ed for the sync=1 rows, as kiln's are), and prints
one table with the ratios the issue sets as targets:

    save:    kiln / raw pwrite >= 0.9 (tensors >= 1 MiB), kiln / torch.save >= 2
    restore: kiln / raw pread  >= 0.9 (tensors >= 1 MiB), kiln / torch.load >= 2

With --gpu the torch tensors live on cuda:0 and the GPU benchmarks run (target there: >= 3x
torch.save of the same CUDA tensors). Exit status 1 when a checked target is missed.
Needs PyTorch and NumPy for the side-by-side columns (Debian: python3-torch python3-numpy).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_CASES = "64:64,64:1024,256:64,256:1024,256:262144,1024:64,1024:1024,1024:262144,4096:262144"


def run_kiln(binary, cases, gpu, repetitions):
    names = []
    for total, kib in cases:
        if gpu:
            names += [f"BM_SaveGpu/MiB:{total}/tensor_KiB:{kib}/", f"BM_RestoreGpu/MiB:{total}/tensor_KiB:{kib}/"]
        else:
            names += [f"BM_Save/MiB:{total}/tensor_KiB:{kib}/sync:{s}/" for s in (0, 1)]
            names += [f"BM_Restore/MiB:{total}/tensor_KiB:{kib}/live:{l}/" for l in (0, 1)]
    regex = "^(" + "|".join(names) + ")"
    # Medians of several repetitions: page-cache and VM noise moves single runs by 20% or more.
    out = subprocess.run([binary, f"--benchmark_filter={regex}", "--benchmark_format=json",
                          f"--benchmark_repetitions={repetitions}",
                          "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True)
    results = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("error_occurred") or b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"])
        results[name.split("/iterations")[0].split("/manual_time")[0]] = b
    return results


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def time_torch(torch, tensors, path, sync, device):
    state = {f"layer{i}/w": t for i, t in enumerate(tensors)}
    t0 = time.perf_counter()
    torch.save(state, path)
    if sync:
        fsync_path(path)
    save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = torch.load(path, map_location=device)
    if device != "cpu":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t0
    assert len(loaded) == len(tensors)
    os.remove(path)
    return save_s, load_s


def time_numpy(np, arrays, path, sync):
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for a in arrays:
            np.save(f, a)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    save_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        loaded = [np.load(f) for _ in arrays]
    load_s = time.perf_counter() - t0
    assert len(loaded) == len(arrays)
    os.remove(path)
    return save_s, load_s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--dir", default=os.environ.get("KILN_BENCH_DIR", "/tmp"))
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--repeats", type=int, default=3,
                    help="kiln: median of N benchmark repetitions; torch/numpy: best of N")
    args = ap.parse_args()
    cases = [tuple(int(x) for x in c.split(":")) for c in args.cases.split(",")]

    kiln = run_kiln(os.path.join(args.bin, "bench_checkpoint"), cases, args.gpu, args.repeats)
    try:
        import numpy as np
    except ImportError:
        np = None
    try:
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
    except ImportError:
        torch = None
    device = "cuda:0" if args.gpu else "cpu"
    work = tempfile.mkdtemp(prefix="kiln_compare_", dir=args.dir)
    missed = []
    rows = []
    try:
        for total, kib in cases:
            count = total * 1024 // kib
            n = kib * 256  # float32 elements per tensor
            gb = total * 2**20 / 1e9
            torch_s = {}
            numpy_s = {}
            if torch is not None:
                tensors = [torch.arange(n, dtype=torch.float32, device=device) % 1000 * 0.5 for _ in range(count)]
                for sync in (0, 1):
                    runs = [time_torch(torch, tensors, os.path.join(work, "t.pt"), sync, device)
                            for _ in range(args.repeats)]
                    torch_s[sync] = (min(r[0] for r in runs), min(r[1] for r in runs))
                del tensors
            if np is not None and not args.gpu:
                arrays = [(np.arange(n, dtype=np.float32) % 1000) * 0.5 for _ in range(count)]
                for sync in (0, 1):
                    runs = [time_numpy(np, arrays, os.path.join(work, "a.npy"), sync) for _ in range(args.repeats)]
                    numpy_s[sync] = (min(r[0] for r in runs), min(r[1] for r in runs))
                del arrays
            big = kib >= 1024
            for sync in ((1,) if args.gpu else (0, 1)):
                key = (f"BM_SaveGpu/MiB:{total}/tensor_KiB:{kib}" if args.gpu
                       else f"BM_Save/MiB:{total}/tensor_KiB:{kib}/sync:{sync}")
                b = kiln.get(key)
                if not b:
                    continue
                row = {"op": "save", "case": f"{total} MiB / {kib} KiB", "sync": sync,
                       "kiln": b["GBps"], "bound": b.get("raw_GBps", b.get("bound_GBps")), "ratio": b["ratio"]}
                if sync in torch_s:
                    row["torch"] = gb / torch_s[sync][0]
                if sync in numpy_s:
                    row["numpy"] = gb / numpy_s[sync][0]
                rows.append(row)
            # Restore into memory the process does not hold yet (a new session, the allocator's
            # cache released: as torch.load and np.load, which allocate new arrays) and into the
            # running session (the variables' memory is reused). torch/numpy sit on the first.
            restores = ([("restore", f"BM_RestoreGpu/MiB:{total}/tensor_KiB:{kib}")] if args.gpu else
                        [("restore new", f"BM_Restore/MiB:{total}/tensor_KiB:{kib}/live:0"),
                         ("restore live", f"BM_Restore/MiB:{total}/tensor_KiB:{kib}/live:1")])
            for op, key in restores:
                b = kiln.get(key)
                if not b:
                    continue
                row = {"op": op, "case": f"{total} MiB / {kib} KiB", "sync": "-",
                       "kiln": b["GBps"], "bound": b.get("raw_GBps", b.get("bound_GBps")), "ratio": b["ratio"]}
                if op != "restore live" and 1 in torch_s:
                    row["torch"] = gb / torch_s[1][1]
                if op != "restore live" and 1 in numpy_s:
                    row["numpy"] = gb / numpy_s[1][1]
                rows.append(row)
            for row in rows[-4:]:
                if row["case"] != f"{total} MiB / {kib} KiB":
                    continue
                row["checked"] = big
                if big and row["ratio"] < (0.8 if args.gpu else 0.9):
                    missed.append(f"{row['op']} {row['case']} sync={row['sync']}: ratio {row['ratio']:.2f}")
                if "torch" in row:
                    row["vs_torch"] = row["kiln"] / row["torch"]
                    target = 3.0 if args.gpu else 2.0
                    if row["vs_torch"] < target:
                        missed.append(f"{row['op']} {row['case']} sync={row['sync']}: {row['vs_torch']:.2f}x torch")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def f(x):
        return "-" if x is None else f"{x:.2f}"
    print("| op | total / tensor | sync | kiln GB/s | bound GB/s | kiln/bound | torch GB/s | kiln/torch | numpy GB/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['op']} | {r['case']} | {r['sync']} | {f(r['kiln'])} | {f(r['bound'])} | {f(r['ratio'])} | "
              f"{f(r.get('torch'))} | {f(r.get('vs_torch'))} | {f(r.get('numpy'))} |")
    if torch is None:
        print("(PyTorch not importable: no torch columns)")
    for m in missed:
        print("MISSED:", m)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
