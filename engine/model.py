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

import torch

from . import activations as A
from . import kernels as K
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
    """One run's initial parameters, drawn on the CPU from its own seed (device-independent)."""
    g = torch.Generator().manual_seed(seed)
    row = torch.zeros(layout.size, dtype=torch.float32)
    kind = resolved_init(spec)
    for p in layout.pieces:
        sl = slice(p.offset, p.offset + p.size)
        if p.kind == "W":
            fan_in, fan_out = p.shape
            if kind == "zeros":
                continue
            if kind == "normal":
                std = spec.init_std
            elif kind in ("xavier_normal", "he_normal"):
                std = math.sqrt(2 / (fan_in + fan_out)) if kind == "xavier_normal" else math.sqrt(2 / fan_in)
            else:
                bound = {"xavier_uniform": math.sqrt(6 / (fan_in + fan_out)), "he_uniform": math.sqrt(6 / fan_in),
                         "torch_default": 1 / math.sqrt(fan_in)}[kind]
                row[sl] = (torch.rand(p.size, generator=g) * 2 - 1) * bound
                continue
            row[sl] = torch.randn(p.size, generator=g) * std
        elif p.kind == "b":
            if kind == "torch_default":
                fan_in = layout.get("W", p.layer).shape[0]
                row[sl] = (torch.rand(p.size, generator=g) * 2 - 1) / math.sqrt(fan_in)
            if p.layer < len(spec.hidden):
                row[sl] += spec.bias_init
        elif p.kind == "gamma":
            row[sl] = 1.0
        elif p.kind == "slope":
            row[sl] = spec.prelu_init
    return row


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
