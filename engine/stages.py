"""The stages of one stacked training pass (engine/train.py runs them in order).

Data: every run's split stacked on the run axis. Stack: the model and the per-run hyperparameters
as tensors. Streams: one random stream per run. Batches: full batch or per-run reshuffled
minibatches. Recorder: history rows, divergence and snapshots. EarlyStop: per-run patience.
Nothing here couples two runs: each row of every tensor belongs to one run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import data as D
from . import rng
from .config import Experiment
from .losses import metric, per_sample, weighted_mean
from .model import Layout, Net, init_stack
from .optim import StackedOptimizer, lr_table


def _col(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def resolved_steps(exp: Experiment, n_train: int) -> int:
    if exp.train.epochs <= 0:
        return exp.train.steps
    bs = exp.train.batch_size or n_train
    return exp.train.epochs * max(1, n_train // min(bs, n_train))


@dataclass
class Data:
    """Every run's split stacked on a leading run axis: X (R, n, d), y (R, n), w (R, n)."""

    splits: list
    Xtr: torch.Tensor
    ytr: torch.Tensor
    wtr: torch.Tensor
    Xva: torch.Tensor
    yva: torch.Tensor
    wva: torch.Tensor
    Xte: torch.Tensor
    yte: torch.Tensor
    wte: torch.Tensor

    @classmethod
    def stack(cls, exps: list[Experiment], dev) -> "Data":
        splits = [D.load(e.data) for e in exps]

        def st(attr):  # numpy stacks on the host, then one copy per array (not one per run)
            return torch.as_tensor(np.stack([np.asarray(getattr(s, attr)) for s in splits])).to(dev)

        Xte, yte = st("X_test"), st("y_test")
        return cls(splits, st("X_train"), st("y_train"), st("w_train"), st("X_val"), st("y_val"), st("w_val"),
                   Xte, yte, torch.ones(yte.shape, device=dev))

    def sets(self) -> dict:
        return {"train": (self.Xtr, self.ytr, self.wtr), "val": (self.Xva, self.yva, self.wva),
                "test": (self.Xte, self.yte, self.wte)}


class Stack:
    """The model and every per-run hyperparameter as tensors along the run axis."""

    def __init__(self, exps: list[Experiment], data: Data, dev):
        R, e0, s0 = len(exps), exps[0], data.splits[0]
        per = lambda vals: _col(vals).to(dev)  # noqa: E731
        self.layout = Layout(e0.model, s0.n_features, s0.n_outputs)
        self.flat = init_stack(self.layout, [e.model for e in exps], [e.seed for e in exps]).to(dev).requires_grad_(
            e0.model.batch_norm)
        self.wmask = self.layout.weight_mask(dev)
        act_param = per([e.model.act_param for e in exps]).view(R, 1, 1)
        drop = per([e.model.dropout for e in exps]).view(R, 1, 1)
        self.l1 = per([e.reg.l1 for e in exps])
        self.l2 = per([e.reg.l2 for e in exps])
        self.sigma = per([e.reg.input_noise for e in exps]).view(R, 1, 1)
        self.smooth = per([e.reg.label_smoothing for e in exps]).view(R, 1)
        self.net = Net(self.layout, R, dev, act_param, drop)
        self.fast = not e0.model.batch_norm  # hand-written backprop (engine/backprop.py); autograd for batch norm
        self.use_l1, self.use_l2 = bool((self.l1 > 0).any()), bool((self.l2 > 0).any())
        self.bp_state: dict = {}  # views and batch constants the fast path reuses across steps
        self.steps = resolved_steps(e0, data.Xtr.shape[1])
        lr_np = np.stack([lr_table(e.optim, max(self.steps, 1)) for e in exps], 1)  # (steps, R)
        self.lrs = torch.as_tensor(lr_np, dtype=torch.float32, device=dev)
        # one lr per step for all runs: a float lets Adam take torch's fused kernel
        self.shared_lr = lr_np[:, 0].tolist() if (lr_np == lr_np[:, :1]).all() else None
        self.opt = StackedOptimizer(e0.optim, self.flat.detach(), per([e.optim.weight_decay for e in exps]).view(R, 1))
        self.loss, self.task, self.n_classes = e0.loss, s0.task, s0.n_classes

    def evaluate(self, X, y, w, keep=None, z=None):
        """Loss and metric per run; `z`, when given, is the logits of this X already computed."""
        if z is None:
            z = self.net.forward(self.flat, X, training=False, keep=keep)
        return (weighted_mean(per_sample(self.loss, z, y, 0.0, self.n_classes), w),
                metric(self.task, z, y, w))


class Streams:
    """One random stream per run, so runs stay independent and a run draws the same alone or in a
    sweep. On the CPU each run has a torch.Generator, made only when a run needs randomness; on an
    accelerator every draw is one batched call of engine/rng.py's counter-based generator (no
    launch per run)."""

    def __init__(self, exps: list[Experiment], dev):
        self.exps, self.dev, self._gens = exps, dev, []
        self.batched = torch.device(dev).type != "cpu"
        self.keys = rng.keys([e.seed for e in exps], salt=2, device=dev) if self.batched else None
        self.draws = 0  # the counter of batched draws: every run of a group makes the same calls

    def gens(self) -> list:
        if not self._gens:
            self._gens.extend(torch.Generator(device=self.dev).manual_seed(e.seed * 7919 + 17) for e in self.exps)
        return self._gens

    def __call__(self, shape, normal=False):  # (R, *shape[1:]) uniform or normal draws
        if self.batched:
            self.draws += 1
            return (rng.normal if normal else rng.uniform)(self.keys, self.draws, tuple(shape[1:]))
        f = torch.randn if normal else torch.rand
        return torch.stack([f(tuple(shape[1:]), generator=g, device=self.dev) for g in self.gens()])

    def perms(self, n: int) -> torch.Tensor:  # (R, n): one permutation per run
        if self.batched:
            self.draws += 1
            return rng.permutations(self.keys, self.draws, n)
        return torch.stack([torch.randperm(n, generator=g, device=self.dev) for g in self.gens()])


class Batches:
    """Full batch, or minibatches from a per-run reshuffle every epoch (the last partial batch dropped)."""

    def __init__(self, data: Data, batch_size: int, streams: Streams):
        self.data, self.bs, self.streams = data, batch_size, streams
        self.n = data.Xtr.shape[1]
        self.minibatch = 0 < batch_size < self.n
        self.per_epoch = self.n // batch_size if self.minibatch else 1
        self.perms = None

    def __call__(self, t: int):
        d = self.data
        if not self.minibatch:
            return d.Xtr, d.ytr, d.wtr
        j = t % self.per_epoch
        if j == 0:
            self.perms = self.streams.perms(self.n)
        idx = self.perms[:, j * self.bs:(j + 1) * self.bs]  # (R, bs)
        return (torch.gather(d.Xtr, 1, idx[..., None].expand(-1, -1, d.Xtr.shape[2])),
                torch.gather(d.ytr, 1, idx), torch.gather(d.wtr, 1, idx))


class Recorder:
    """History rows every `record_every` steps, divergence (the first non-finite objective per run)
    and decision-surface snapshots; everything stays on the device until `_results`."""

    def __init__(self, exps: list[Experiment], data: Data, m: Stack, dev):
        e0, R = exps[0], len(exps)
        self.m, self.data, self.R = m, data, R
        self.activation, self.hidden, self.n_layers = e0.model.activation, len(e0.model.hidden), m.layout.n_layers
        self.W_pieces = [m.layout.get("W", i) for i in range(self.n_layers)]
        self.probe_n = min(data.Xtr.shape[1], 1024)
        self.records, self.steps = [], []
        self.active = torch.ones(R, dtype=torch.bool, device=dev)
        self.first_bad = torch.full((R,), -1, dtype=torch.long, device=dev)
        self.window, self.window_start = [], 0  # objectives since the last record, checked there for NaN/inf
        self.zero = torch.zeros((), device=dev)
        # decision-surface grid, in each run's own standardised coordinates
        self.snap_steps = [s for s in e0.train.snapshot_steps if s <= m.steps]
        self.G, self.grid, self.extents, self.snaps = e0.train.grid, None, None, []
        if self.snap_steps:
            self.extents = [s.extent() for s in data.splits]
            pts = []
            for s, (x0, x1, y0, y1) in zip(data.splits, self.extents):
                gx, gy = np.meshgrid(np.linspace(x0, x1, self.G), np.linspace(y0, y1, self.G))
                pts.append(s.standardise(np.c_[gx.ravel(), gy.ravel()]))
            self.grid = torch.as_tensor(np.stack(pts), device=dev)  # (R, G*G, 2)

    def snapshot(self, t: int) -> None:
        if t not in self.snap_steps:
            return
        with torch.no_grad():
            z = self.m.net.forward(self.m.flat, self.grid, training=False)
            p = torch.sigmoid(z[..., 0]) if self.m.n_classes == 2 else z.argmax(-1).float()
            self.snaps.append(p.view(self.R, self.G, self.G).to(torch.float16))

    def check_divergence(self, t: int) -> None:
        if self.window:
            bad = ~torch.isfinite(torch.stack(self.window))  # (n, R)
            hit = bad.any(0) & (self.first_bad < 0)
            self.first_bad = torch.where(hit, self.window_start + bad.float().argmax(0), self.first_bad)
            self.active = self.active & ~hit
            self.window.clear()
            self.window_start = t + 1

    def record(self, t: int, g, forward=None) -> torch.Tensor:
        """One history row per run; returns the validation loss (R,) for early stopping. `forward`:
        (X, logits, hidden outputs) of this step's training pass when it ran on the whole training
        set with these weights and no randomness: the evaluation forward pass would repeat it bit
        for bit (the same kernels on the same operands), so it is reused."""
        m, d, R, zero = self.m, self.data, self.R, self.zero
        if forward is not None and forward[0] is d.Xtr:
            keep = list(forward[2])
            tr_loss, tr_m = m.evaluate(d.Xtr, d.ytr, d.wtr, z=forward[1])
        else:
            keep = []
            tr_loss, tr_m = m.evaluate(d.Xtr, d.ytr, d.wtr, keep)
        va_loss, va_m = m.evaluate(d.Xva, d.yva, d.wva) if d.Xva.shape[1] else (zero.expand(R) * math.nan,) * 2
        cols = [m.lrs[min(t, m.steps - 1)], tr_loss, va_loss, tr_m, va_m]
        for piece in self.W_pieces:
            sl = slice(piece.offset, piece.offset + piece.size)
            cols.append(g[:, sl].norm(dim=1) if g is not None else zero.expand(R) * math.nan)
            cols.append(m.flat[:, sl].norm(dim=1))
        for i in range(self.hidden):
            h = keep[i][:, :self.probe_n]  # (R, probe, w)
            flat_h = h.reshape(R, -1)
            mu = flat_h.mean(1, keepdim=True)  # torch.std is ~10x slower than this on a CPU
            sd = ((flat_h - mu).square().sum(1) / max(flat_h.shape[1] - 1, 1)).sqrt()
            dead = h.abs().sum(1) == 0  # 0 on every probe input (10x faster than (h == 0).all(1))
            cols += [mu[:, 0], sd, dead.float().mean(1)]
            if self.activation == "prelu":
                cols.append(m.layout.view(m.flat, m.layout.get("slope", i)).mean((1, 2)))
        self.records.append(torch.stack(cols, 1))  # (R, C)
        self.steps.append(t)
        return va_loss

    def names(self) -> list[str]:
        names = ["lr", "train_loss", "val_loss", "train_metric", "val_metric"]
        for i in range(self.n_layers):
            names += [f"grad_norm_{i + 1}", f"weight_norm_{i + 1}"]
        for i in range(self.hidden):
            names += [f"act_mean_{i + 1}", f"act_std_{i + 1}", f"dead_{i + 1}"]
            if self.activation == "prelu":
                names.append(f"prelu_slope_{i + 1}")
        return names


class EarlyStop:
    """Per-run patience on the validation loss, keeping each run's best weights; every run is
    updated at once (no per-run host loop or sync). Comparisons are in float64, as the loss
    values a person would compare."""

    def __init__(self, exps: list[Experiment], flat: torch.Tensor, n_val: int):
        dev = flat.device
        self.patience = torch.tensor([e.train.patience for e in exps], dtype=torch.int64, device=dev)
        self.restore = torch.tensor([e.train.restore_best for e in exps], dtype=torch.bool, device=dev)
        self.on = any(e.train.patience > 0 for e in exps) and n_val > 0
        R = len(exps)
        self.best_val = torch.full((R,), math.inf, dtype=torch.float64, device=dev)
        self.best_flat = flat.detach().clone() if self.on else None
        self.has_best = torch.zeros(R, dtype=torch.bool, device=dev)
        self.waits = torch.zeros(R, dtype=torch.int64, device=dev)
        self.stopped_at = torch.full((R,), -1, dtype=torch.int64, device=dev)  # -1: never stopped

    def update(self, t: int, va_loss: torch.Tensor, flat: torch.Tensor, active: torch.Tensor) -> None:
        """One evaluation: a better validation loss resets the wait and keeps the weights; more than
        `patience` evaluations without one stop the run (`active` is cleared in place)."""
        vl = va_loss.detach().double()
        eligible = (self.patience > 0) & (self.stopped_at < 0) & active
        better = eligible & (vl < self.best_val - 1e-12)
        worse = eligible & ~better
        self.best_val = torch.where(better, vl, self.best_val)
        self.has_best |= better
        self.waits = torch.where(better, torch.zeros_like(self.waits), self.waits + worse.long())
        self.best_flat = torch.where(better[:, None], flat.detach(), self.best_flat)
        stop = worse & (self.waits > self.patience)
        self.stopped_at = torch.where(stop, torch.full_like(self.stopped_at, t), self.stopped_at)
        active &= ~stop

    def final(self, flat: torch.Tensor) -> torch.Tensor:
        """The weights each run ends with: its best ones where it asks to restore them."""
        if not self.on:
            return flat.detach().clone()
        return torch.where((self.restore & self.has_best)[:, None], self.best_flat, flat.detach())

    def stopped(self) -> list:
        """Per run: the step it stopped at, or None."""
        return [None if s < 0 else s for s in self.stopped_at.cpu().tolist()]
