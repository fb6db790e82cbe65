#!/usr/bin/env python3
"""PyTorch eager step time of the model bench/bench_train.cc times in kiln.

A 784-1024-1024-10 ReLU MLP (and the demo's 2-128-128-3), batch 128, mean sparse softmax
cross-entropy, Adam: zero_grad + forward + backward + step per iteration, on the CPU, float32,
with torch's default intra-op threads unless --threads is given. Prints one line per model:
"<model> <ms per step> ms/step <examples/s> examples/s".
"""
import argparse
import time

import torch


def step_time(sizes, batch, seconds, threads):
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, sizes[0]) - 0.5
    y = torch.arange(batch) % sizes[-1]
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return (time.perf_counter() - start) / n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, sizes in (("784-1024-1024-10", [784, 1024, 1024, 10]), ("2-128-128-3", [2, 128, 128, 3])):
        t = step_time(sizes, 128, a.seconds, a.threads)
        print(f"{name} batch 128: {t * 1e3:.3f} ms/step {128 / t:.0f} examples/s")


if __name__ == "__main__":
    main()
