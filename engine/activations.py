"""Hidden-layer activations, written out so that per-run parameters can ride along a model axis.

References: Xu et al. 2015 (leaky/randomized ReLU), He et al. 2015 (PReLU), Shang et al. 2016
(CReLU), Clevert et al. 2015 (ELU), Hendrycks & Gimpel 2016 (GELU).

`apply(name, x, ...)` takes x of any shape. `param` is the leaky slope or the ELU alpha (a float or
a tensor broadcastable to x); `slope` is PReLU's learned slope; RReLU draws a slope per element
in [lower, upper] while training and uses their mean in evaluation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import kernels

RELU_FAMILY = ("relu", "leaky_relu", "prelu", "rrelu", "crelu", "elu", "relu6", "gelu", "silu", "softplus")

FORMULAS = {  # LaTeX, for the lessons
    "sigmoid": r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    "tanh": r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
    "relu": r"\mathrm{ReLU}(x) = \max(0, x)",
    "leaky_relu": r"\mathrm{LReLU}(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}",
    "prelu": r"\mathrm{PReLU}(x) = \begin{cases} x & x > 0 \\ a_i x & x \le 0 \end{cases},\ a_i \text{ learned}",
    "rrelu": r"\mathrm{RReLU}(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases},\ "
             r"a \sim U(l, u) \text{ (train)},\ a = \tfrac{l+u}{2} \text{ (eval)}",
    "crelu": r"\mathrm{CReLU}(x) = [\max(0, x),\ \max(0, -x)]",
    "elu": r"\mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    "relu6": r"\mathrm{ReLU6}(x) = \min(\max(0, x), 6)",
    "gelu": r"\mathrm{GELU}(x) = x\,\Phi(x) = \tfrac{x}{2}\left(1 + \mathrm{erf}(x/\sqrt{2})\right)",
    "silu": r"\mathrm{SiLU}(x) = x\,\sigma(x)",
    "softplus": r"\mathrm{softplus}(x) = \log(1 + e^{x})",
    "identity": r"f(x) = x",
}


def width_factor(name: str) -> int:
    """How many outputs a unit produces: CReLU concatenates two signs, so the next layer sees 2x."""
    return 2 if name == "crelu" else 1


def apply(name: str, x: torch.Tensor, *, param=0.01, slope=None, training: bool = False,
          lower: float = 1 / 8, upper: float = 1 / 3, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Apply activation `name` to x. For rrelu in training, `noise` (U(0,1), x's shape) may be given
    so that the caller controls the random stream; otherwise torch's global generator is used."""
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return kernels.tanh(x)
    if name == "relu":
        return torch.relu(x)
    if name == "leaky_relu":
        return torch.where(x > 0, x, x * param)
    if name == "prelu":
        return torch.where(x > 0, x, x * (0.25 if slope is None else slope))
    if name == "rrelu":
        if training:
            u = torch.rand_like(x) if noise is None else noise
            a = lower + (upper - lower) * u
        else:
            a = (lower + upper) / 2
        return torch.where(x >= 0, x, x * a)
    if name == "crelu":
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=-1)
    if name == "elu":
        return torch.where(x > 0, x, param * torch.expm1(torch.clamp(x, max=0)))
    if name == "relu6":
        return torch.clamp(x, 0, 6)
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name == "silu":
        return x * torch.sigmoid(x)
    if name == "softplus":
        return F.softplus(x)
    if name == "identity":
        return x
    raise ValueError(f"unknown activation {name!r}")


def derivative(name: str, x: torch.Tensor, **kw) -> torch.Tensor:
    """d apply(name, x) / dx elementwise, by autograd (CReLU: derivative of its first half)."""
    x = x.detach().clone().requires_grad_(True)
    y = apply(name, x, **kw)
    if name == "crelu":
        y = y[..., : x.shape[-1]]
    (g,) = torch.autograd.grad(y.sum(), x)
    return g
