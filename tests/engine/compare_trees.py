"""Are two checkouts' engines bit-identical? Trains the same experiments with each and compares every
history value, final metric, parameter and snapshot bit for bit.

    python tests/engine/compare_trees.py --old /work/main --new . [--per-kind 6] [--extra]

The experiments: a stratified sample of the lessons' own (lessons.registry.all_experiments(), up to
`--per-kind` per kind: activation, optimizer, loss, batch norm, dropout, minibatch, input noise,
early stopping, dataset), the benchmark's 32 runs, and (`--extra`, on by default) a few made-up ones
for paths the lessons do not take (L1/L2, MAE, schedules, other optimizers and activations, divergence).
Each tree trains in its own process (PYTHONPATH=<tree>, ENGINE_SHIPPED_CACHE=off, a fresh
ENGINE_CACHE_DIR and cache=False), so nothing is read from a cache. Exit status 0 when every bit
matches. Bit-identity is what keeps the shipped cache (assets/cache) valid after an engine change.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def _kind(e) -> tuple:
    m, o, t, r = e.model, e.optim, e.train, e.reg
    return (m.activation, o.name, e.loss, m.batch_norm, m.dropout > 0, t.batch_size > 0, r.input_noise > 0,
            t.patience > 0, e.data.name, r.l1 > 0 or r.l2 > 0, r.label_smoothing > 0, bool(t.snapshot_steps))


def _extras():
    from engine.config import DataSpec, Experiment, TrainSpec

    base = Experiment(data=DataSpec("moons", n=200, seed=1), train=TrainSpec(steps=120, record_every=10))
    mods = [dict(reg=dict(l1=1e-3)), dict(reg=dict(l2=1e-2)), dict(reg=dict(l1=1e-3, l2=1e-3)),
            dict(reg=dict(label_smoothing=0.1)), dict(reg=dict(input_noise=0.3)),
            dict(model=dict(activation="silu")), dict(model=dict(activation="gelu")),
            dict(model=dict(activation="softplus")), dict(model=dict(activation="relu6")),
            dict(model=dict(activation="identity")), dict(model=dict(activation="crelu")),
            dict(model=dict(activation="rrelu")), dict(model=dict(activation="prelu")),
            dict(model=dict(activation="elu", act_param=1.0)), dict(model=dict(activation="leaky_relu")),
            dict(model=dict(activation="sigmoid")), dict(model=dict(batch_norm=True)),
            dict(model=dict(dropout=0.2)), dict(model=dict(hidden=())), dict(model=dict(hidden=(8, 8, 8))),
            dict(optim=dict(name="sgd", lr=0.1, momentum=0.9, nesterov=True)),
            dict(optim=dict(name="sgd", lr=0.1, momentum=0.9)), dict(optim=dict(name="sgd", lr=0.5)),
            dict(optim=dict(name="adagrad", lr=0.05, eps=1e-10)), dict(optim=dict(name="rmsprop", lr=0.01)),
            dict(optim=dict(name="rmsprop", lr=0.01, momentum=0.5)), dict(optim=dict(name="adamax", lr=0.02)),
            dict(optim=dict(name="adamw", lr=0.01, weight_decay=0.1)),
            dict(optim=dict(schedule="exponential")), dict(optim=dict(schedule="cyclic", step_size=20)),
            dict(optim=dict(schedule="cosine_restarts", t0=20)), dict(optim=dict(schedule="step", step_size=30)),
            dict(optim=dict(name="sgd", lr=50.0)),  # diverges
            dict(train=dict(batch_size=32)), dict(train=dict(patience=2, record_every=5)),
            dict(train=dict(snapshot_steps=(0, 50, 120), grid=20)),
            dict(data=dict(name="blobs3"), train=dict(loss="mse")), dict(data=dict(name="blobs3")),
            dict(data=dict(name="circles"), train=dict(loss="mse"))]
    out = []
    for i, mod in enumerate(mods):
        for seed in (0, 1, 2):  # a group of three per variant (rows of a stack must stay independent)
            out.append(base.replace(**mod, seed=seed))
        if i % 3 == 0:  # and some with per-run differences inside one group
            out.append(base.replace(**{**mod, "optim": {**mod.get("optim", {}), "lr": 0.003}}, seed=5))
    return out


def pick(per_kind: int, extra: bool) -> list[dict]:
    from engine import bench
    from lessons.registry import all_experiments

    uniq = {e.key(): e for e in all_experiments()}
    by_kind = defaultdict(list)
    for k in sorted(uniq):
        by_kind[_kind(uniq[k])].append(uniq[k])
    rnd = random.Random(14)
    chosen = []
    for kind in sorted(by_kind, key=repr):
        group = by_kind[kind]
        chosen.extend(rnd.sample(group, min(per_kind, len(group))))
    chosen += bench.experiments(32, 500, 50)
    if extra:
        chosen += _extras()
    return [e.to_dict() for e in chosen]


def worker(exps_json: str, out: str) -> None:
    import numpy as np
    import torch

    from engine.config import Experiment
    from engine.sweep import run_many

    exps = [Experiment.from_dict(d) for d in json.loads(Path(exps_json).read_text())]
    t = time.perf_counter()
    res = run_many(exps, device=torch.device("cpu"), cache=False)
    arrays = {}
    for i, r in enumerate(res):
        arrays[f"{i}.hist"] = r.history.to_numpy(dtype=np.float64)
        arrays[f"{i}.cols"] = np.array(list(r.history.columns))
        arrays[f"{i}.final"] = np.array([r.final[k] for k in sorted(r.final)], dtype=np.float64)
        arrays[f"{i}.meta"] = np.array([json.dumps([r.meta["diverged_at"], r.meta["stopped_at"]])])
        if r.params is not None:
            arrays[f"{i}.params"] = r.params
        if r.snapshots is not None:
            arrays[f"{i}.snaps"] = r.snapshots
    np.savez(out, **arrays)
    print(f"{len(exps)} experiments trained in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def compare(a: str, b: str) -> list[str]:
    import numpy as np

    A, B = np.load(a), np.load(b)
    diffs = []
    for k in sorted(set(A.files) | set(B.files)):
        if k not in A.files or k not in B.files:
            diffs.append(f"{k}: only in {'old' if k in A.files else 'new'}")
            continue
        x, y = A[k], B[k]
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            d = ""
            if x.dtype.kind == "f" and x.shape == y.shape:
                with np.errstate(invalid="ignore"):
                    d = f" max |diff| {np.nanmax(np.abs(x.astype(np.float64) - y)):.3g}"
            diffs.append(f"{k}: differs{d}")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", default="/work/main")
    ap.add_argument("--new", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--per-kind", type=int, default=6, help="lesson experiments sampled per kind")
    ap.add_argument("--no-extra", dest="extra", action="store_false", help="only lesson and benchmark experiments")
    ap.add_argument("--worker", nargs=2, metavar=("EXPS_JSON", "OUT_NPZ"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(*a.worker)
        return 0
    new = str(Path(a.new).resolve())
    sys.path.insert(0, new)
    tmp = Path(tempfile.mkdtemp(prefix="compare_trees."))
    exps = pick(a.per_kind, a.extra)
    (tmp / "exps.json").write_text(json.dumps(exps))
    print(f"{len(exps)} experiments -> {tmp}")
    outs = {}
    for name, tree in (("old", str(Path(a.old).resolve())), ("new", new)):
        env = {**os.environ, "PYTHONPATH": tree, "ENGINE_SHIPPED_CACHE": "off",
               "ENGINE_CACHE_DIR": str(tmp / f"cache_{name}")}
        outs[name] = str(tmp / f"{name}.npz")
        print(f"{name}: {tree}", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(tmp / "exps.json"),
                        outs[name]], env=env, check=True, cwd=tree)
    diffs = compare(outs["old"], outs["new"])
    for d in diffs[:40]:
        print(d)
    print(f"{len(exps)} experiments: {'BIT-IDENTICAL' if not diffs else f'{len(diffs)} arrays differ'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
