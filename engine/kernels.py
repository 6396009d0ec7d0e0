"""The few dense kernels of a stacked pass, each routed to whichever library is fastest for tiny
per-run matrices.

A sweep step multiplies R small matrices (a few hundred rows by 2-64 columns) and applies an
activation to (R, batch, width) tensors. On a CPU, PyTorch's batched matmul pays a fixed cost per
matrix that dominates at these sizes, its `bmm` is slowest when an inner or outer dimension is 1
(the output layer of a binary or regression net), and its float32 `tanh` runs about 6x slower than
numpy's vectorised one (measured with one thread on the 2-core AVX-512 development machine, torch
2.13: tanh on a (32, 240, 16) tensor 315 us vs numpy 48 us; a (32, 240, 16) @ (32, 16, 1)
product 97 us vs numpy 20 us; `python -m engine.bench` shows the effect on a whole sweep).

So on a CPU, for tensors that autograd does not track, these helpers run numpy on the tensors'
memory (no copy) and wrap the result back into a tensor; an outer product (inner dimension 1) is a
broadcast multiply. Everywhere else (GPU, MPS, autograd) they are the plain torch calls.
tests/engine/test_kernels.py checks both routes against torch on every shape the engine uses.
"""
from __future__ import annotations

import numpy as np
import torch

_NUMPY_DTYPES = (torch.float32, torch.float64)


def _numpy_ok(*ts: torch.Tensor) -> bool:
    """True if all tensors live on the CPU in one float dtype numpy shares, and none needs a graph."""
    grad = torch.is_grad_enabled()
    dtype = ts[0].dtype
    for t in ts:  # a plain loop: this runs a few thousand times per sweep
        if not t.is_cpu or t.dtype is not dtype or dtype not in _NUMPY_DTYPES or (grad and t.requires_grad):
            return False
    return True


def _quiet():
    """Like torch, let overflow give inf/NaN silently: the trainer records divergence itself."""
    return np.errstate(over="ignore", invalid="ignore")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched product (R, n, k) @ (R, k, m) -> (R, n, m)."""
    if a.shape[-1] == 1:  # an outer product: no reduction, so a broadcast multiply is exact
        return a * b
    if _numpy_ok(a, b):
        bn = _np(b)
        if not bn.flags.c_contiguous and b.numel() <= 1 << 16:  # a transposed weight: BLAS is ~1.4x
            bn = np.ascontiguousarray(bn)  # faster on a contiguous copy
        with _quiet():
            return torch.from_numpy(np.matmul(_np(a), bn))
    return torch.bmm(a, b)


def affine(bias: torch.Tensor, h: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """bias + h @ W for a stack: bias (R, 1, m), h (R, n, k), W (R, k, m) -> (R, n, m)."""
    if _numpy_ok(bias, h, W):
        with _quiet():
            z = np.matmul(_np(h), _np(W))
        return torch.from_numpy(z).add_(bias)  # torch broadcasts the add faster than numpy
    return torch.baddbmm(bias, h, W)


def tanh(x: torch.Tensor) -> torch.Tensor:
    if _numpy_ok(x):
        with _quiet():
            return torch.from_numpy(np.asarray(np.tanh(_np(x))))  # asarray: a 0-d input gives a scalar
    return torch.tanh(x)
