"""A stack of MLPs that share a shape, stored as one flat (runs, n_params) tensor.

Every run's weights, biases, PReLU slopes and batch-norm scales live in one row of `flat`; layers
are views into it, and the forward pass is a `baddbmm` per layer over the leading run axis. One
flat row per run makes the optimizer a handful of tensor ops and keeps runs independent: nothing
in the forward or backward pass mixes rows. Initialisations follow Glorot & Bengio 2010 and
He et al. 2015; batch norm follows Ioffe & Szegedy 2015; dropout is inverted dropout
(Srivastava et al. 2014).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from . import activations as A
from . import kernels as K
from . import rng
from .config import ModelSpec


@dataclass(frozen=True)
class Piece:
    kind: str  # W, b, slope (prelu), gamma, beta (batch norm)
    layer: int  # 0-based layer index; the output layer is len(hidden)
    offset: int
    shape: tuple  # per-run shape

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Layout:
    """Where each layer's tensors sit inside a flat parameter row."""

    def __init__(self, spec: ModelSpec, n_in: int, n_out: int):
        self.spec = spec
        self.n_in, self.n_out = n_in, n_out
        self.pieces: list[Piece] = []
        off = 0
        d = n_in
        widths = list(spec.hidden) + [n_out]
        for layer, w in enumerate(widths):
            hidden = layer < len(spec.hidden)
            for kind, shape in (("W", (d, w)), ("b", (1, w))):
                self.pieces.append(Piece(kind, layer, off, shape))
                off += math.prod(shape)
            if hidden and spec.batch_norm:
                for kind in ("gamma", "beta"):
                    self.pieces.append(Piece(kind, layer, off, (1, w)))
                    off += w
            if hidden and spec.activation == "prelu":
                self.pieces.append(Piece("slope", layer, off, (1, w)))
                off += w
            d = w * A.width_factor(spec.activation) if hidden else w
        self.size = off
        self.n_layers = len(widths)

    def get(self, kind: str, layer: int) -> Piece:
        for p in self.pieces:
            if p.kind == kind and p.layer == layer:
                return p
        raise KeyError((kind, layer))

    def view(self, flat: torch.Tensor, piece: Piece) -> torch.Tensor:
        return flat[:, piece.offset: piece.offset + piece.size].view(flat.shape[0], *piece.shape)

    def weight_mask(self, device=None) -> torch.Tensor:
        """(1, P) mask of the entries that are weights (penalised by L1/L2), not biases etc."""
        m = torch.zeros(1, self.size, device=device)
        for p in self.pieces:
            if p.kind == "W":
                m[:, p.offset: p.offset + p.size] = 1
        return m


def resolved_init(spec: ModelSpec) -> str:
    if spec.init != "auto":
        return spec.init
    return "he_normal" if spec.activation in A.RELU_FAMILY else "xavier_uniform"


def init_row(layout: Layout, spec: ModelSpec, seed: int) -> torch.Tensor:
    """One run's initial parameters (P,): the row `init_stack` gives this run in any group."""
    return init_stack(layout, [spec], [seed])[0]


def _fans(layout: Layout, p: Piece) -> tuple[int, int]:
    return layout.get("W", p.layer).shape


def init_stack(layout: Layout, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> torch.Tensor:
    """Initial parameters (R, P) of a group, drawn on the CPU in one batched call per tensor.

    Each run draws from its own seed through engine/rng.py's counter-based generator, so a run's
    row is the same alone or in any group, and on every machine. Runs of one group share the
    layout but may differ in init scheme, init_std, bias_init, out_bias_init and prelu_init."""
    R = len(specs)
    k = rng.keys(seeds, salt=1)
    kinds = [resolved_init(s) for s in specs]
    col = lambda vals: torch.tensor(vals, dtype=torch.float32)[:, None]  # noqa: E731  (R, 1)
    rows = torch.zeros(R, layout.size, dtype=torch.float32)
    uniform_w = col([k_ not in ("zeros", "normal", "xavier_normal", "he_normal") for k_ in kinds]) > 0
    for j, p in enumerate(layout.pieces):
        sl = slice(p.offset, p.offset + p.size)
        if p.kind == "W":
            fan_in, fan_out = p.shape
            scale = col([_w_scale(k_, s.init_std, fan_in, fan_out) for k_, s in zip(kinds, specs)])
            if bool(uniform_w.any()):
                u = rng.uniform(k, 2 * j, (p.size,)) * 2 - 1
            if not bool(uniform_w.all()):
                n = rng.normal(k, 2 * j + 1, (p.size,))
            w = u if bool(uniform_w.all()) else n if not bool(uniform_w.any()) else torch.where(uniform_w, u, n)
            rows[:, sl] = w * scale  # zeros: scale 0
        elif p.kind == "b":
            fan_in = _fans(layout, p)[0]
            tdef = col([k_ == "torch_default" for k_ in kinds])
            if bool(tdef.any()):
                rows[:, sl] = (rng.uniform(k, 2 * j, (p.size,)) * 2 - 1) / math.sqrt(fan_in) * tdef
            if p.layer < len(layout.spec.hidden):
                rows[:, sl] += col([s.bias_init for s in specs])
            else:
                rows[:, sl] += col([s.out_bias_init for s in specs])
        elif p.kind == "gamma":
            rows[:, sl] = 1.0
        elif p.kind == "slope":
            rows[:, sl] = col([s.prelu_init for s in specs])
    return rows


def _w_scale(kind: str, init_std: float, fan_in: int, fan_out: int) -> float:
    """The standard deviation (normal schemes) or bound (uniform schemes) of a weight matrix's draws."""
    return {"zeros": 0.0, "normal": init_std, "xavier_normal": math.sqrt(2 / (fan_in + fan_out)),
            "he_normal": math.sqrt(2 / fan_in), "xavier_uniform": math.sqrt(6 / (fan_in + fan_out)),
            "he_uniform": math.sqrt(6 / fan_in), "torch_default": 1 / math.sqrt(fan_in)}[kind]


class Net:
    """The forward pass of a stack of runs. Randomness (dropout masks, RReLU slopes) comes from
    `noise(shape)`, a callable the trainer supplies so that each run draws from its own stream."""

    def __init__(self, layout: Layout, runs: int, device, act_param: torch.Tensor, dropout: torch.Tensor):
        self.layout, self.spec = layout, layout.spec
        self.act_param = act_param  # (R, 1, 1): leaky slope or elu alpha per run
        self.dropout = dropout  # (R, 1, 1): drop probability per run
        self.use_dropout = bool((dropout > 0).any())
        self.bn_mean = [torch.zeros(runs, 1, w, device=device) for w in self.spec.hidden]
        self.bn_var = [torch.ones(runs, 1, w, device=device) for w in self.spec.hidden]
        self.Ws = [layout.get("W", i) for i in range(layout.n_layers)]
        self.bs = [layout.get("b", i) for i in range(layout.n_layers)]

    def forward(self, flat, x, *, training: bool, noise=None, keep: list | None = None):
        """x: (R, B, n_in) -> logits (R, B, n_out). `keep` collects each hidden layer's output."""
        L, spec = self.layout, self.spec
        h = x
        for i in range(L.n_layers):
            z = K.affine(L.view(flat, self.bs[i]), h, L.view(flat, self.Ws[i]))  # (R, B, w)
            if i == L.n_layers - 1:
                return z
            if spec.batch_norm:
                z = self._bn(flat, z, i, training)
            slope = L.view(flat, L.get("slope", i)) if spec.activation == "prelu" else None
            u = noise(z.shape) if training and spec.activation == "rrelu" else None
            h = A.apply(spec.activation, z, param=self.act_param, slope=slope, training=training,
                        lower=spec.rrelu_lower, upper=spec.rrelu_upper, noise=u)
            if training and self.use_dropout:
                p = self.dropout
                h = h * (noise(h.shape) >= p) / (1 - p)
            if keep is not None:
                keep.append(h)
        return h

    def _bn(self, flat, z, i, training, momentum=0.1, eps=1e-5):
        L = self.layout
        gamma, beta = L.view(flat, L.get("gamma", i)), L.view(flat, L.get("beta", i))
        if training:
            mean = z.mean(1, keepdim=True)
            var = z.var(1, unbiased=False, keepdim=True)
            with torch.no_grad():
                n = z.shape[1]
                self.bn_mean[i].lerp_(mean, momentum)
                self.bn_var[i].lerp_(var * n / max(n - 1, 1), momentum)
        else:
            mean, var = self.bn_mean[i], self.bn_var[i]
        return (z - mean) / torch.sqrt(var + eps) * gamma + beta
