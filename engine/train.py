"""The training loop: one stacked pass over a group of experiments that share a shape.

Runs in a group keep their own data split, seed (initialisation, dropout masks, RReLU slopes,
minibatch order, input noise: each run draws from its own generator), learning-rate schedule,
L1/L2 lambdas, dropout rate, noise sigma, label smoothing, activation parameter, sample weights
(k-fold masks, bootstrap counts) and early-stopping patience. Nothing couples the rows of the
stack, so a run gives the same history alone or inside a sweep (up to float summation order).

The loop is pure: it reports through `progress(fraction, text)` and returns `Result`s. It reads as
stages: stack the data (`Data`), the per-run hyperparameters and model (`Stack`), per-run random
streams (`Streams`), minibatches (`Batches`), one optimisation step (`_objective_and_grad`),
recording (`Recorder`: history, divergence, snapshots), early stopping (`EarlyStop`), and
gathering the results (`_results`).
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
import pandas as pd
import torch

from . import data as D
from . import graphs
from . import kernels as K
from .backprop import objective_and_grad
from .config import Experiment
from .losses import per_sample, weighted_mean
from .results import Result
from .stages import Batches, Data, EarlyStop, Recorder, Stack, Streams, resolved_steps
from .threads import blas_one_thread, cpu_threads


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



def train_group(exps: list[Experiment], device: torch.device, progress=None) -> list[Result]:
    with cpu_threads(), blas_one_thread(), K.quiet_pass():
        return _train_group(exps, device, progress)


def _objective_and_grad(m: Stack, Xb, yb, wb, noise):
    """Each run's objective (R,) and the gradient of its flat row (R, P)."""
    if m.fast:
        if torch.is_grad_enabled():  # (the trainer's loop has turned it off already: ~1.5 us a step)
            with torch.no_grad():
                return _objective_and_grad(m, Xb, yb, wb, noise)
        return objective_and_grad(m.net, m.flat, Xb, yb, wb, loss=m.loss, smoothing=m.smooth,
                                  n_classes=m.n_classes, l1=m.l1, l2=m.l2, wmask=m.wmask, noise=noise,
                                  use_l1=m.use_l1, use_l2=m.use_l2, state=m.bp_state)
    z = m.net.forward(m.flat, Xb, training=True, noise=noise)
    obj = weighted_mean(per_sample(m.loss, z, yb, m.smooth, m.n_classes), wb)
    if m.use_l1:
        obj = obj + m.l1 * (m.flat.abs() * m.wmask).sum(1)
    if m.use_l2:
        obj = obj + m.l2 * (m.flat.square() * m.wmask).sum(1)
    (g,) = torch.autograd.grad(obj.sum(), m.flat)
    return obj, g


def _train_group(exps: list[Experiment], device: torch.device, progress=None) -> list[Result]:
    t0 = time.perf_counter()
    e0, dev = exps[0], device
    data = Data.stack(exps, dev)
    m = Stack(exps, data, dev)
    noise = Streams(exps, dev)
    batch = Batches(data, e0.train.batch_size, noise)
    rec = Recorder(exps, data, m, dev)
    es = EarlyStop(exps, m.flat, data.Xva.shape[1])
    graph = graphs.GraphStep(m, data, _objective_and_grad) if graphs.usable(dev, m, batch, e0, es) else None
    with torch.no_grad() if m.fast else contextlib.nullcontext():  # the fast path differentiates nothing
        _loop(m, batch, noise, rec, es, graph, e0, progress)
    return _results(exps, data, m, rec, es, dev, time.perf_counter() - t0)


def _loop(m: Stack, batch: Batches, noise: Streams, rec: Recorder, es: EarlyStop, graph, e0, progress) -> None:
    """Steps 0..steps: objective and gradient, snapshots, records, update (stages below)."""
    steps, k = m.steps, e0.train.record_every
    for t in range(steps + 1):
        g = None
        if graph is not None:  # one replay: update with gradient t-1, then objective and gradient t
            graph, g = _graph_step(graph, t, steps)
            if g is not None:
                rec.window.append(graph.objs[t])
        forward = None
        if graph is None and t < steps:
            obj, g = _eager_step(m, batch, noise, t, e0.reg.input_noise > 0)
            rec.window.append(obj.detach())
            forward = m.bp_state.pop("forward", None)  # this step's forward pass (hand-written backprop)
        if rec.snap_steps:
            rec.snapshot(t)
        if (t % k == 0 or t == steps) and not _record(m, rec, es, g, t, steps, progress, forward):
            break  # every run has diverged or stopped early
        if t < steps and graph is None:
            _update(m, rec, es, g, t)


def _eager_step(m: Stack, batch: Batches, noise: Streams, t: int, input_noise: bool):
    """Stage "one step": the minibatch of step t (with input noise if asked) and each run's objective
    and gradient."""
    Xb, yb, wb = batch(t)
    if input_noise:
        Xb = Xb + m.sigma * noise(Xb.shape, normal=True)
    return _objective_and_grad(m, Xb, yb, wb, noise)


def _record(m: Stack, rec: Recorder, es: EarlyStop, g, t: int, steps: int, progress, forward=None) -> bool:
    """Stage "record": divergence, the history row, early stopping, progress. False when no run is left."""
    with torch.no_grad():
        rec.check_divergence(t)
        va_loss = rec.record(t, g, forward)
    if es.on:
        es.update(t, va_loss, m.flat, rec.active)
    if progress is not None:
        progress(min(1.0, (t + 1) / (steps + 1)), f"step {t}/{steps}")
    return t >= steps or bool(rec.active.any())


def _update(m: Stack, rec: Recorder, es: EarlyStop, g, t: int) -> None:
    """Stage "update": the optimizer step on every run's row. Rows are independent, so a diverged run
    may go on producing NaN without touching the others; only early stopping needs frozen rows."""
    p = m.flat.data if m.flat.requires_grad else m.flat  # (.data makes a new tensor object every call)
    if m.shared_lr is not None and not es.on:
        m.opt.step(p, g, m.shared_lr[t])
    else:
        m.opt.step(p, g, m.lrs[t][:, None], rec.active if es.on else None)


def _graph_step(graph, t: int, steps: int):
    """Advance a graph-replayed group to step t; returns (graph or None, gradient t or None).
    If capture fails at step 0 the group goes on eagerly from there (None, None)."""
    if t == 0:
        try:
            graph.first()
        except Exception:  # noqa: BLE001 - any capture failure: the eager loop is always correct
            return None, None
    elif t < steps:
        graph.replay()
    else:
        graph.last()
        return graph, None
    return graph, graph.grad


def _results(exps, data: Data, m: Stack, rec: Recorder, es: EarlyStop, dev, wall: float) -> list[Result]:
    """Final metrics (with each run's best weights restored under early stopping) and one `Result`
    per run; arrays leave the device once, for the whole group."""
    R = len(exps)
    with torch.no_grad():
        m.flat = es.final(m.flat)
        fin = {}
        for name, (X, y, w) in data.sets().items():
            if X.shape[1] == 0:
                fin[name] = (np.full(R, np.nan), np.full(R, np.nan))
                continue
            lo, me = m.evaluate(X, y, w)
            fin[name] = (lo.cpu().numpy(), me.cpu().numpy())
    hist_all = torch.stack(rec.records, 1).cpu().numpy().astype(np.float64)  # (R, n_records, C)
    names = rec.names()
    bad_at = rec.first_bad.cpu().tolist()
    stopped = es.stopped()
    snap_arr = torch.stack(rec.snaps, 1).float().cpu().numpy() if rec.snaps else None  # (R, S, G, G)
    params = m.flat.detach().float().cpu().numpy()  # (R, P), after restoring the best weights
    out = []
    for r, e in enumerate(exps):
        hist = pd.DataFrame(hist_all[r], columns=names)
        hist.insert(0, "step", np.asarray(rec.steps, dtype=np.int64))
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
            "steps": m.steps, "n_params": int(m.layout.size),
            "metric": "r2" if m.task == "regression" else "accuracy",
            "task": m.task, "loss": m.loss, "snapshot_steps": rec.snap_steps[: len(rec.snaps)],
            "extent": list(rec.extents[r]) if rec.extents else None,
        }
        out.append(Result(config=e, history=hist, final=final,
                          snapshots=None if snap_arr is None else snap_arr[r], meta=meta,
                          params=None if diverged else params[r].copy()))
    return out
