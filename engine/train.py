"""The training loop: one stacked pass over a group of experiments that share a shape.

Runs in a group keep their own data split, seed (initialisation, dropout masks, RReLU slopes,
minibatch order, input noise: each run draws from its own generator), learning-rate schedule,
L1/L2 lambdas, dropout rate, noise sigma, label smoothing, activation parameter, sample weights
(k-fold masks, bootstrap counts) and early-stopping patience. Nothing couples the rows of the
stack, so a run gives the same history alone or inside a sweep (up to float summation order).

The loop is pure: it reports through `progress(fraction, text)` and returns `Result`s.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from . import data as D
from .backprop import objective_and_grad
from .config import Experiment
from .losses import metric, per_sample, weighted_mean
from .model import Layout, Net, init_row
from .optim import StackedOptimizer, lr_table
from .results import Result
from .threads import blas_one_thread, cpu_threads


def resolved_steps(exp: Experiment, n_train: int) -> int:
    if exp.train.epochs <= 0:
        return exp.train.steps
    bs = exp.train.batch_size or n_train
    return exp.train.epochs * max(1, n_train // min(bs, n_train))


def group_key(exp: Experiment) -> tuple:
    """Experiments with equal keys can be trained in one stacked pass."""
    s = D.load(exp.data)
    m, o, t = exp.model, exp.optim, exp.train
    shapes = (s.X_train.shape, s.X_val.shape, s.X_test.shape, s.task, s.n_classes)
    arch = (m.hidden, m.activation, m.rrelu_lower, m.rrelu_upper, m.batch_norm, m.dropout > 0)
    opt = (o.name, o.momentum, o.nesterov, o.beta1, o.beta2, o.alpha, o.eps)
    loop = (exp.loss, resolved_steps(exp, len(s.X_train)), t.batch_size, t.record_every, t.snapshot_steps, t.grid,
            exp.reg.input_noise > 0)
    return shapes + arch + opt + loop


def _col(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def train_group(exps: list[Experiment], device: torch.device, progress=None) -> list[Result]:
    with cpu_threads(), blas_one_thread():
        return _train_group(exps, device, progress)


def _train_group(exps: list[Experiment], device: torch.device, progress=None) -> list[Result]:
    t0 = time.perf_counter()
    R = len(exps)
    e0 = exps[0]
    splits = [D.load(e.data) for e in exps]
    s0 = splits[0]
    task, n_classes, loss_name = s0.task, s0.n_classes, e0.loss
    dev = device

    def stack(attr):
        return torch.stack([torch.tensor(np.asarray(getattr(s, attr))) for s in splits]).to(dev)

    Xtr, ytr, wtr = stack("X_train"), stack("y_train"), stack("w_train")  # (R, n, d), (R, n), (R, n)
    Xva, yva, wva = stack("X_val"), stack("y_val"), stack("w_val")
    Xte, yte = stack("X_test"), stack("y_test")
    wte = torch.ones(yte.shape, device=dev)
    n_tr, n_val = Xtr.shape[1], Xva.shape[1]

    layout = Layout(e0.model, s0.n_features, s0.n_outputs)
    flat = torch.stack([init_row(layout, e.model, e.seed) for e in exps]).to(dev).requires_grad_(e0.model.batch_norm)
    wmask = layout.weight_mask(dev)
    per = lambda vals: _col(vals).to(dev)  # noqa: E731
    act_param = per([e.model.act_param for e in exps]).view(R, 1, 1)
    drop = per([e.model.dropout for e in exps]).view(R, 1, 1)
    l1 = per([e.reg.l1 for e in exps])
    l2 = per([e.reg.l2 for e in exps])
    sigma = per([e.reg.input_noise for e in exps]).view(R, 1, 1)
    smooth = per([e.reg.label_smoothing for e in exps]).view(R, 1)
    net = Net(layout, R, dev, act_param, drop)
    fast = not e0.model.batch_norm  # hand-written backprop (engine/backprop.py); autograd for batch norm
    use_l1, use_l2 = bool((l1 > 0).any()), bool((l2 > 0).any())
    bp_state: dict = {}  # views and batch constants the fast path reuses across steps
    steps = resolved_steps(e0, n_tr)
    lr_np = np.stack([lr_table(e.optim, max(steps, 1)) for e in exps], 1)  # (steps, R)
    lrs = torch.as_tensor(lr_np, dtype=torch.float32, device=dev)
    shared_lr = lr_np[:, 0].tolist() if (lr_np == lr_np[:, :1]).all() else None  # one lr per step for all
    opt = StackedOptimizer(e0.optim, flat.detach(), per([e.optim.weight_decay for e in exps]).view(R, 1))

    _gens: list = []

    def gens():  # one random stream per run, made only if the run needs randomness (a GPU sweep of
        if not _gens:  # thousands of full-batch runs never does)
            _gens.extend(torch.Generator(device=dev).manual_seed(e.seed * 7919 + 17) for e in exps)
        return _gens

    def noise(shape, normal=False):  # each run draws from its own stream
        f = torch.randn if normal else torch.rand
        return torch.stack([f(tuple(shape[1:]), generator=g, device=dev) for g in gens()])

    bs = e0.train.batch_size
    minibatch = 0 < bs < n_tr
    per_epoch = n_tr // bs if minibatch else 1
    perms = None

    def batch(t):
        nonlocal perms
        if not minibatch:
            return Xtr, ytr, wtr
        j = t % per_epoch
        if j == 0:
            perms = torch.stack([torch.randperm(n_tr, generator=g, device=dev) for g in gens()])
        idx = perms[:, j * bs:(j + 1) * bs]  # (R, bs)
        return (torch.gather(Xtr, 1, idx[..., None].expand(-1, -1, Xtr.shape[2])),
                torch.gather(ytr, 1, idx), torch.gather(wtr, 1, idx))

    # decision-surface grid, in each run's own standardised coordinates
    snap_steps = [s for s in e0.train.snapshot_steps if s <= steps]
    G = e0.train.grid
    grid = extents = None
    if snap_steps:
        extents = [s.extent() for s in splits]
        pts = []
        for s, (x0, x1, y0, y1) in zip(splits, extents):
            gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
            pts.append(s.standardise(np.c_[gx.ravel(), gy.ravel()]))
        grid = torch.as_tensor(np.stack(pts), device=dev)  # (R, G*G, 2)
    snaps = []

    k = e0.train.record_every
    hidden = len(e0.model.hidden)
    n_layers = layout.n_layers
    W_pieces = [layout.get("W", i) for i in range(n_layers)]
    probe_n = min(n_tr, 1024)
    records, rec_steps = [], []
    active = torch.ones(R, dtype=torch.bool, device=dev)
    first_bad = torch.full((R,), -1, dtype=torch.long, device=dev)
    window, window_start = [], 0  # objectives since the last record, checked there for NaN/inf
    patience = [e.train.patience for e in exps]
    use_es = any(p > 0 for p in patience) and n_val > 0
    best_val = [math.inf] * R
    best_flat = flat.detach().clone() if use_es else None
    has_best = [False] * R
    waits = [0] * R
    stopped = [None] * R
    zero = torch.zeros((), device=dev)

    def evaluate(X, y, w, keep=None):
        z = net.forward(flat, X, training=False, keep=keep)
        return weighted_mean(per_sample(loss_name, z, y, 0.0, n_classes), w), metric(task, z, y, w)

    for t in range(steps + 1):
        if snap_steps and t in snap_steps:
            with torch.no_grad():
                z = net.forward(flat, grid, training=False)
                p = torch.sigmoid(z[..., 0]) if n_classes == 2 else z.argmax(-1).float()
                snaps.append(p.view(R, G, G).to(torch.float16))
        g = None
        if t < steps:
            Xb, yb, wb = batch(t)
            if e0.reg.input_noise > 0:
                Xb = Xb + sigma * noise(Xb.shape, normal=True)
            if fast:
                with torch.no_grad():
                    obj, g = objective_and_grad(net, flat, Xb, yb, wb, loss=loss_name, smoothing=smooth,
                                                n_classes=n_classes, l1=l1, l2=l2, wmask=wmask, noise=noise,
                                                use_l1=use_l1, use_l2=use_l2, state=bp_state)
            else:
                z = net.forward(flat, Xb, training=True, noise=noise)
                obj = weighted_mean(per_sample(loss_name, z, yb, smooth, n_classes), wb)
                if use_l1:
                    obj = obj + l1 * (flat.abs() * wmask).sum(1)
                if use_l2:
                    obj = obj + l2 * (flat.square() * wmask).sum(1)
                (g,) = torch.autograd.grad(obj.sum(), flat)
            window.append(obj.detach())
        if t % k == 0 or t == steps:
            with torch.no_grad():
                if window:  # divergence: the first step whose objective was not finite, per run
                    bad = ~torch.isfinite(torch.stack(window))  # (n, R)
                    hit = bad.any(0) & (first_bad < 0)
                    first_bad = torch.where(hit, window_start + bad.float().argmax(0), first_bad)
                    active = active & ~hit
                    window.clear()
                    window_start = t + 1
                keep = []
                tr_loss, tr_m = evaluate(Xtr, ytr, wtr, keep)
                va_loss, va_m = evaluate(Xva, yva, wva) if n_val else (zero.expand(R) * math.nan,) * 2
                cols = [lrs[min(t, steps - 1)], tr_loss, va_loss, tr_m, va_m]
                for i in range(n_layers):
                    sl = slice(W_pieces[i].offset, W_pieces[i].offset + W_pieces[i].size)
                    cols.append(g[:, sl].norm(dim=1) if g is not None else zero.expand(R) * math.nan)
                    cols.append(flat[:, sl].norm(dim=1))
                for i in range(hidden):
                    h = keep[i][:, :probe_n]  # (R, probe, w)
                    flat_h = h.reshape(R, -1)
                    mu = flat_h.mean(1, keepdim=True)  # torch.std is ~10x slower than this on a CPU
                    sd = ((flat_h - mu).square().sum(1) / max(flat_h.shape[1] - 1, 1)).sqrt()
                    dead = h.abs().sum(1) == 0  # 0 on every probe input (10x faster than (h == 0).all(1))
                    cols += [mu[:, 0], sd, dead.float().mean(1)]
                    if e0.model.activation == "prelu":
                        cols.append(layout.view(flat, layout.get("slope", i)).mean((1, 2)))
                records.append(torch.stack(cols, 1))  # (R, C)
                rec_steps.append(t)
            if use_es:
                vl = va_loss.tolist()
                for r in range(R):
                    if patience[r] <= 0 or stopped[r] is not None or not bool(active[r]):
                        continue
                    if vl[r] < best_val[r] - 1e-12:
                        best_val[r], waits[r], has_best[r] = vl[r], 0, True
                        best_flat[r] = flat[r].detach()
                    else:
                        waits[r] += 1
                        if waits[r] > patience[r]:
                            stopped[r] = t
                            active[r] = False
            if progress is not None:
                progress(min(1.0, (t + 1) / (steps + 1)), f"step {t}/{steps}")
            if t < steps and not bool(active.any()):
                break
        if t < steps:
            # rows are independent, so a diverged run may go on producing NaN without touching the
            # others; only early stopping needs frozen rows
            if shared_lr is not None and not use_es:  # a float lets Adam take torch's fused kernel
                opt.step(flat.data, g, shared_lr[t])
            else:
                opt.step(flat.data, g, lrs[t][:, None], active if use_es else None)

    # ---------------------------------------------------------------- results
    with torch.no_grad():
        final_flat = flat.detach().clone()
        for r in range(R):
            if use_es and exps[r].train.restore_best and has_best[r]:
                final_flat[r] = best_flat[r]
        flat = final_flat
        fin = {}
        for name, (X, y, w) in {"train": (Xtr, ytr, wtr), "val": (Xva, yva, wva), "test": (Xte, yte, wte)}.items():
            if X.shape[1] == 0:
                fin[name] = (np.full(R, np.nan), np.full(R, np.nan))
                continue
            lo, me = evaluate(X, y, w)
            fin[name] = (lo.cpu().numpy(), me.cpu().numpy())
    rec = torch.stack(records, 1).cpu().numpy().astype(np.float64)  # (R, n_records, C)
    names = ["lr", "train_loss", "val_loss", "train_metric", "val_metric"]
    for i in range(n_layers):
        names += [f"grad_norm_{i + 1}", f"weight_norm_{i + 1}"]
    for i in range(hidden):
        names += [f"act_mean_{i + 1}", f"act_std_{i + 1}", f"dead_{i + 1}"]
        if e0.model.activation == "prelu":
            names.append(f"prelu_slope_{i + 1}")
    bad_at = first_bad.cpu().tolist()
    snap_arr = torch.stack(snaps, 1).float().cpu().numpy() if snaps else None  # (R, S, G, G)
    params = flat.detach().float().cpu().numpy()  # (R, P), after restoring the best weights
    wall = time.perf_counter() - t0
    out = []
    for r, e in enumerate(exps):
        hist = pd.DataFrame(rec[r], columns=names)
        hist.insert(0, "step", np.asarray(rec_steps, dtype=np.int64))
        end = bad_at[r] if bad_at[r] >= 0 else stopped[r]
        if end is not None:
            hist = hist[hist["step"] <= end].reset_index(drop=True)
        diverged = bad_at[r] >= 0
        final = {}
        for split_name, (lo, me) in fin.items():
            final[f"{split_name}_loss"] = float("nan") if diverged else float(lo[r])
            final[f"{split_name}_metric"] = float("nan") if diverged else float(me[r])
        meta = {
            "device": str(dev.type), "wall_time": wall, "group_size": R, "cache_hit": False,
            "diverged_at": bad_at[r] if diverged else None, "stopped_at": stopped[r],
            "steps": steps, "n_params": int(layout.size), "metric": "r2" if task == "regression" else "accuracy",
            "task": task, "loss": loss_name, "snapshot_steps": snap_steps[: len(snaps)],
            "extent": list(extents[r]) if extents else None,
        }
        out.append(Result(config=e, history=hist, final=final,
                          snapshots=None if snap_arr is None else snap_arr[r], meta=meta,
                          params=None if diverged else params[r].copy()))
    return out
