"""Benchmark: the engine's stacked sweep against a loop of nn.Modules and against scikit-learn.

    python -m engine.bench                    # 32 runs on this machine's device
    python -m engine.bench --device cuda --runs 4096 --skip-baselines
    python -m engine.bench --ops                 # torch ops launched by 64 vs 1,024 runs (host work per run?)
    python -m engine.bench --profile [--device cuda --runs 4096]   # top host and device ops of one sweep

The engine picks its threads (engine.threads.training_threads: all when the machine is idle, else
one; $ENGINE_THREADS overrides); the nn.Module loop runs with torch's default threads, as a user
would write it, and once more with 1 thread for comparison.
Same 32 runs three ways (moons, 300 points, 2-16-16-1 tanh, full batch, 500 Adam steps, lr 0.01,
seeds 0..31): the engine's batched pass, a loop of nn.Module + torch.optim.Adam, and a loop of
sklearn MLPClassifier(solver="adam") run for all 500 iterations. The engine first trains two of
the runs once (a warm-up: lazy imports, BLAS and CUDA initialisation), since it goes first and
the baselines after it run warm. Prints wall times, mean test accuracy and a final line
`speedup_vs_loop=<x> speedup_vs_sklearn=<y>` (per-run ratios).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from . import data as D
from .config import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec
from .device import pick_device
from .sweep import run_many

DATA = DataSpec("moons", n=300, noise=0.2, train_frac=0.8, val_frac=0.1, test_frac=0.1, seed=0)


def experiments(runs: int, steps: int, record_every: int) -> list[Experiment]:
    return [Experiment(data=DATA, model=ModelSpec(hidden=(16, 16), activation="tanh", init="torch_default"),
                       optim=OptimSpec("adam", lr=0.01), train=TrainSpec(steps=steps, record_every=record_every),
                       seed=s) for s in range(runs)]


def bench_engine(runs, steps, device, record_every):
    exps = experiments(runs, steps, record_every)
    run_many(exps[:2], device=device, cache=False)  # warm-up (lazy imports, BLAS, CUDA kernels, allocator);
    if device.type == "cuda":  # the loop and sklearn below run after the engine, so they start warm too
        torch.cuda.synchronize()
    t = time.perf_counter()
    res = run_many(exps, device=device, cache=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, float(np.mean([r.final["test_metric"] for r in res]))


def bench_loop(runs, steps):
    s = D.load(DATA)
    X, y = torch.tensor(s.X_train), torch.tensor(s.y_train)[:, None]
    Xt, yt = torch.tensor(s.X_test), torch.tensor(s.y_test)
    accs = []
    t = time.perf_counter()
    for seed in range(runs):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                  torch.nn.Linear(16, 1))
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        lossf = torch.nn.BCEWithLogitsLoss()
        for _ in range(steps):
            opt.zero_grad()
            lossf(net(X), y).backward()
            opt.step()
        with torch.no_grad():
            accs.append(float(((net(Xt)[:, 0] > 0).float() == yt).float().mean()))
    return time.perf_counter() - t, float(np.mean(accs))


def bench_sklearn(runs, steps):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    s = D.load(DATA)
    accs = []
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(runs):
            clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", solver="adam", alpha=0.0,
                                learning_rate_init=0.01, batch_size=len(s.X_train), max_iter=steps, tol=0.0,
                                n_iter_no_change=steps + 1, shuffle=False, random_state=seed)
            clf.fit(s.X_train, s.y_train)
            accs.append(clf.score(s.X_test, s.y_test))
    return time.perf_counter() - t, float(np.mean(accs))


def count_ops(runs: int, steps: int = 10, device=None) -> tuple[int, list]:
    """torch ops (aten::*) one run_many of `runs` bench runs launches, and the most frequent ones."""
    from torch.profiler import ProfilerActivity, profile

    dev = device or torch.device("cpu")
    run_many(experiments(2, steps, 5), device=dev, cache=False)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run_many(experiments(runs, steps, 5), device=dev, cache=False)
    ev = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    return sum(e.count for e in ev), sorted(((e.key, e.count) for e in ev), key=lambda kv: -kv[1])[:6]


def profile_table(runs: int, steps: int, device, record_every: int, rows: int = 15) -> str:
    """The top ops of one sweep by self time on the host and, on CUDA, on the device."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    run_many(experiments(2, steps, record_every), device=device, cache=False)
    with profile(activities=acts) as prof:
        run_many(experiments(runs, steps, record_every), device=device, cache=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
    out = [prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)]
    if device.type == "cuda":
        out.append(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=rows))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--record-every", type=int, default=50, help="history rows every k steps (engine only)")
    ap.add_argument("--skip-baselines", action="store_true", help="engine only (e.g. thousands of runs on a GPU)")
    ap.add_argument("--ops", action="store_true", help="count the torch ops of 64 and 1,024 runs x 10 steps (CPU)")
    ap.add_argument("--profile", action="store_true", help="print the top host (and device) ops of one sweep")
    a = ap.parse_args(argv)
    dev = pick_device(a.device)
    if a.ops:
        counts = {}
        for runs in (64, 1024):
            counts[runs], top = count_ops(runs)
            print(f"runs={runs:5d} steps=10 torch_ops={counts[runs]:,}  most frequent: "
                  + ", ".join(f"{k} {n}" for k, n in top))
        print(f"ops_ratio_1024_vs_64={counts[1024] / counts[64]:.3f}")
        return
    if a.profile:
        print(profile_table(a.runs, a.steps, dev, a.record_every))
        return
    default_threads = torch.get_num_threads()
    from .threads import training_threads

    print(f"device={dev.type} torch={torch.__version__} engine_threads={training_threads()} "
          f"default_threads={default_threads} runs={a.runs} steps={a.steps}")
    te, acc_e = bench_engine(a.runs, a.steps, dev, a.record_every)
    print(f"engine batched: {te:8.3f} s  mean test acc {acc_e:.3f}  "
          f"model-steps/s {a.runs * a.steps / te:,.0f}")
    if a.skip_baselines or a.runs > 256:
        return
    tl, acc_l = bench_loop(a.runs, a.steps)  # as a user would run it: torch's default threads
    print(f"nn.Module loop: {tl:8.3f} s  mean test acc {acc_l:.3f}  ({default_threads} torch threads, the default)")
    torch.set_num_threads(1)
    tl1, _ = bench_loop(a.runs, a.steps)
    torch.set_num_threads(default_threads)
    print(f"nn.Module loop: {tl1:8.3f} s  (1 torch thread: speedup {tl1 / te:.1f}x)")
    ts, acc_s = bench_sklearn(a.runs, a.steps)
    print(f"sklearn MLP:    {ts:8.3f} s  mean test acc {acc_s:.3f}")
    print(f"speedup_vs_loop={tl / te:.1f} speedup_vs_sklearn={ts / te:.1f}")


if __name__ == "__main__":
    main()
