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

Results must keep their bits (the shipped cache, assets/cache, holds results of this code): a
faster call is welcome only if it runs the same kernel on the same operands. So `out=` variants
write a product straight into a gradient row (BLAS with the same leading dimensions: the same
bits), tanh may run in place, and numpy's error state is set once per training pass
(`quiet_pass`) rather than around every call. torch 2.13's tanh is now about as fast as numpy's
(38 vs 37 us on the tensor above), but switching would change the last bits of every result.
`tests/engine/compare_trees.py` compares two checkouts' results bit for bit.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import torch

_NUMPY_DTYPES = (torch.float32, torch.float64)
_LOCAL = threading.local()  # .quiet: a pass has set numpy's error state for this thread (`quiet_pass`)


def _numpy_ok(*ts: torch.Tensor) -> bool:
    """True if all tensors live on the CPU in one float dtype numpy shares, and none needs a graph."""
    grad = torch.is_grad_enabled()
    dtype = ts[0].dtype
    for t in ts:  # a plain loop: this runs a few thousand times per sweep
        if not t.is_cpu or t.dtype is not dtype or dtype not in _NUMPY_DTYPES or (grad and t.requires_grad):
            return False
    return True


class _Quiet:
    """Like torch, let overflow give inf/NaN silently: the trainer records divergence itself. Free
    inside `quiet_pass` (which set numpy's error state once for the whole pass)."""

    __slots__ = ("state",)

    def __enter__(self):
        self.state = None if getattr(_LOCAL, "quiet", False) else np.errstate(over="ignore", invalid="ignore")
        if self.state is not None:
            self.state.__enter__()

    def __exit__(self, *exc):
        if self.state is not None:
            self.state.__exit__(*exc)


def _quiet() -> _Quiet:
    return _Quiet()


@contextmanager
def quiet_pass():
    """Numpy's overflow and invalid-value warnings off for a whole training pass in this thread (the
    kernels below would otherwise set and reset the error state around every call: ~1 us each, a
    few dozen times a step). Error state only silences warnings; no result changes."""
    if getattr(_LOCAL, "quiet", False):
        yield
        return
    with np.errstate(over="ignore", invalid="ignore"):
        _LOCAL.quiet = True
        try:
            yield
        finally:
            _LOCAL.quiet = False


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy() if t.requires_grad else t.numpy()


def bmm(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None, *, ta: bool = False,
        tb: bool = False) -> torch.Tensor:
    """Batched product (R, n, k) @ (R, k, m) -> (R, n, m). `ta`/`tb`: the operand is given as its
    transpose ((R, k, n) / (R, m, k)), which the numpy route transposes for free. `out`, when given
    (a (R, n, m) view, e.g. of a gradient row), receives the product and is returned: on the numpy
    route the BLAS writes there directly, with the same kernel and so the same bits as into a fresh
    array."""
    if _numpy_ok(a, b) and (out is None or (out.dtype is a.dtype and out.is_cpu and not out.requires_grad)):
        an, bn = _np(a), _np(b)
        if ta:
            an = an.transpose(0, 2, 1)
        if tb:
            bn = bn.transpose(0, 2, 1)
        if an.shape[-1] == 1:  # an outer product: no reduction, so a broadcast multiply is exact
            return _outer(a, b, ta, tb, out)
        if not bn.flags.c_contiguous and bn.size <= 1 << 16:  # a transposed weight: BLAS is ~1.4x
            bn = np.ascontiguousarray(bn)  # faster on a contiguous copy
        with _quiet():
            if out is None:
                return torch.from_numpy(np.matmul(an, bn))
            np.matmul(an, bn, out=out.numpy())
        return out
    if ta:
        a = a.transpose(1, 2)
    if tb:
        b = b.transpose(1, 2)
    if a.shape[-1] == 1:
        return _outer(a, b, False, False, out)
    if out is None:
        return torch.bmm(a, b)
    out.copy_(torch.bmm(a, b))
    return out


def _outer(a, b, ta, tb, out):
    a = a.transpose(1, 2) if ta else a
    b = b.transpose(1, 2) if tb else b
    if out is None:
        return a * b
    return torch.mul(a, b, out=out)


def affine(bias: torch.Tensor, h: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """bias + h @ W for a stack: bias (R, 1, m), h (R, n, k), W (R, k, m) -> (R, n, m)."""
    if _numpy_ok(bias, h, W):
        with _quiet():
            z = np.matmul(_np(h), _np(W))
        return torch.from_numpy(z).add_(bias)  # torch broadcasts the add faster than numpy
    return torch.baddbmm(bias, h, W)


def tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """tanh(x); `out` (x itself, say, when x is not needed afterwards) receives it when given."""
    if _numpy_ok(x) and (out is None or _numpy_ok(x, out)):
        with _quiet():
            if out is None:
                return torch.from_numpy(np.asarray(np.tanh(_np(x))))  # asarray: a 0-d input gives a scalar
            np.tanh(_np(x), out=_np(out))
        return out
    return torch.tanh(x) if out is None else torch.tanh(x, out=out)


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """tanh in place (the numpy route when `tanh` would take it: the same function, the same bits)."""
    if _numpy_ok(x):
        xn = _np(x)
        with _quiet():
            np.tanh(xn, out=xn)
        return x
    return x.tanh_()


class LayerProducts:
    """The three products of each layer of a stacked MLP, on views of one parameter row (`Ws`,
    (R, k, m) each) and of its gradient buffer (`gWs`): the forward `bias + h @ W`, the weight
    gradient `gW <- h^T delta` and the input gradient `delta @ W^T`.

    Made once per training pass. On the numpy route the views' numpy twins are made here too, so a
    step pays no per-call checks or conversions for the parameters; every product is the call
    `bmm`/`affine` would make on the same operands (same BLAS kernel, same bits)."""

    def __init__(self, Ws: list, gWs: list):
        self.W, self.gW = Ws, gWs
        self.numpy = _numpy_ok(*Ws, *gWs) and not any(t.requires_grad for t in (*Ws, *gWs))
        self.dtype = Ws[0].dtype
        if self.numpy:
            self.Wn = [w.numpy() for w in Ws]
            self.gWn = [g.numpy() for g in gWs]

    def _np_ok(self, t: torch.Tensor) -> bool:
        return t.dtype is self.dtype and t.is_cpu and not t.requires_grad

    def forward(self, i: int, bias: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """bias + h @ W_i: bias (R, 1, m), h (R, n, k) -> (R, n, m), a new tensor."""
        if self.numpy and self._np_ok(h) and self._np_ok(bias):
            with _quiet():
                z = np.matmul(h.numpy(), self.Wn[i])
            return torch.from_numpy(z).add_(bias)  # torch broadcasts the add faster than numpy
        return affine(bias, h, self.W[i])

    def grad_w(self, i: int, h: torch.Tensor, delta: torch.Tensor) -> None:
        """gW_i <- h^T delta (h (R, n, k), delta (R, n, m)), written into the gradient row."""
        if self.numpy and h.shape[1] != 1 and self._np_ok(h) and self._np_ok(delta):
            with _quiet():
                np.matmul(h.numpy().transpose(0, 2, 1), delta.numpy(), out=self.gWn[i])
            return
        bmm(h, delta, out=self.gW[i], ta=True)

    def grad_in(self, i: int, delta: torch.Tensor) -> torch.Tensor:
        """delta @ W_i^T: delta (R, n, m) -> (R, n, k), a new tensor."""
        if self.numpy and delta.shape[-1] != 1 and self._np_ok(delta):
            bn = self.Wn[i].transpose(0, 2, 1)
            if not bn.flags.c_contiguous and bn.size <= 1 << 16:  # as `bmm` does
                bn = np.ascontiguousarray(bn)
            with _quiet():
                return torch.from_numpy(np.matmul(delta.numpy(), bn))
        return bmm(delta, self.W[i], tb=True)
