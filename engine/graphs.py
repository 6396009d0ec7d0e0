"""Replaying a group's training step as one CUDA graph: one launch per step instead of ~50.

A small interactive sweep on a GPU is bound by kernel launches, not arithmetic: a step of the
bench net is a few dozen tiny kernels. When a group needs no randomness and no host decision
between steps (full batch, no dropout, RReLU, input noise or early stopping, the hand-written
backward pass), `GraphStep` captures "apply the previous gradient, then compute the next
objective and gradient" once and replays it every step. The learning rate and the optimizer's
step count are read on the device (a step counter tensor), every step's objective lands in a
buffer that the recorder checks for divergence, and parameters, gradients and histories are
the same tensors the eager loop uses, so recording is unchanged.

Anything that cannot be captured (an op that syncs with the host, an old driver) raises during
capture; the trainer then runs the group eagerly. `ENGINE_CUDA_GRAPHS=0` turns graphs off.
On the CPU the same body runs eagerly (`capture=False`), which is how the tests check the
ordering against the plain loop without a GPU.
"""
from __future__ import annotations

import os

import torch

MIN_STEPS = 8  # capturing costs about as much as a handful of eager steps


def usable(dev: torch.device, m, batches, exp0, early_stop) -> bool:
    """Whether a group may be trained by graph replay (the fallback is the eager loop)."""
    if os.environ.get("ENGINE_CUDA_GRAPHS", "1").strip().lower() in ("0", "off", "no"):
        return False
    return (torch.device(dev).type == "cuda" and m.fast and not batches.minibatch and not m.net.use_dropout
            and exp0.model.activation != "rrelu" and exp0.reg.input_noise == 0 and not early_stop.on
            and m.steps >= MIN_STEPS)


class GraphStep:
    """Step t >= 1 of the loop as one replay: update with gradient t-1, then objective and gradient t.

    Step 0 (`first`) computes only the first objective and gradient; `last` applies the final
    update. `objs[t]` is step t's objective per run; `grad` is the current gradient buffer."""

    def __init__(self, m, data, objective_and_grad, capture: bool | None = None):
        self.m, self.fn = m, objective_and_grad
        self.X, self.y, self.w = data.Xtr, data.ytr, data.wtr
        dev = m.flat.device
        self.done = torch.zeros((), dtype=torch.int64, device=dev)  # updates made so far
        self.lrs = m.lrs[:, :, None].contiguous()  # (steps, R, 1)
        self.objs = torch.full((m.steps + 1, m.flat.shape[0]), float("nan"), device=dev)
        self.grad = None
        self.graph = None
        self._capture = dev.type == "cuda" if capture is None else capture

    def _compute(self, t_index: torch.Tensor | None) -> None:
        obj, self.grad = self.fn(self.m, self.X, self.y, self.w, None)
        if t_index is None:
            self.objs[0].copy_(obj)
        else:
            self.objs.index_copy_(0, t_index, obj[None])

    def _update(self) -> None:
        lr = self.lrs.index_select(0, self.done.view(1))[0]  # (R, 1): this update's rate, read on the device
        self.m.opt.step(self.m.flat.data, self.grad, lr, done=self.done)
        self.done += 1

    def _body(self) -> None:
        self._update()
        self._compute(self.done.view(1))

    def first(self) -> None:
        """Step 0: objective and gradient (also the warm-up that creates cached buffers), then capture."""
        self._compute(None)
        if not self._capture:
            return
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up on a side stream, as CUDA graph capture requires
            self.fn(self.m, self.X, self.y, self.w, None)
        torch.cuda.current_stream().wait_stream(side)
        # capture records the body without running it; parameters, moments and the counter are
        # untouched until the first replay (the optimizer's Python counter is restored too)
        t_host = self.m.opt.t
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                self._body()
        finally:
            self.m.opt.t = t_host
        self.graph = g

    def replay(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self._body()

    def last(self) -> None:
        """The final update (after the last objective), made eagerly with the same maths."""
        self._update()
