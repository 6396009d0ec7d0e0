"""2-D test functions and optimizer trajectories on them.

Beale:  f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, minimum 0 at (3, 0.5)
Rosenbrock: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1)
Saddle: f(x, y) = x^2 - y^2, a saddle point at (0, 0) and no minimum
Ill-conditioned quadratic: f(x, y) = (x^2 + 25 y^2) / 2, condition number 25, minimum at (0, 0)

`trajectory` runs any engine optimizer and schedule (the same code that trains the networks)
from any start and returns the path as a DataFrame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from .config import OptimSpec
from .optim import StackedOptimizer, lr_table


@dataclass(frozen=True)
class Surface:
    name: str
    fn: Callable  # works on torch tensors and numpy arrays
    minimum: tuple | None
    window: tuple  # (xmin, xmax, ymin, ymax) for plotting
    start: tuple  # a good default start
    latex: str


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


SURFACES = {
    "beale": Surface("beale", _beale, (3.0, 0.5), (-4.5, 4.5, -4.5, 4.5), (0.8, 1.6),
                     r"f(x,y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"),
    "rosenbrock": Surface("rosenbrock", lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, (1.0, 1.0),
                          (-2.0, 2.0, -1.0, 3.0), (-1.5, 2.0), r"f(x,y) = (1 - x)^2 + 100\,(y - x^2)^2"),
    "saddle": Surface("saddle", lambda x, y: x ** 2 - y ** 2, None, (-2.0, 2.0, -2.0, 2.0), (-1.5, 0.01),
                      r"f(x,y) = x^2 - y^2"),
    "quadratic": Surface("quadratic", lambda x, y: (x ** 2 + 25 * y ** 2) / 2, (0.0, 0.0), (-3.0, 3.0, -1.5, 1.5),
                         (-2.5, 1.0), r"f(x,y) = \tfrac{1}{2}(x^2 + 25 y^2)"),
}


def trajectory(surface: str, optim: OptimSpec, start: tuple | None = None, steps: int = 500,
               bound: float = 1e6) -> tuple[pd.DataFrame, dict]:
    """Path of `optim` on `surface`: columns step, x, y, f, lr. A run whose point leaves |x|, |y| <
    bound or becomes non-finite stops there; meta["diverged_at"] says when."""
    s = SURFACES[surface]
    x0 = s.start if start is None else start
    p = torch.tensor([list(map(float, x0))], dtype=torch.float64)  # (1 run, 2 params)
    opt = StackedOptimizer(optim, p)
    lrs = lr_table(optim, steps)
    rows = []
    diverged = None
    for t in range(steps + 1):
        q = p.detach().clone().requires_grad_(True)
        f = s.fn(q[0, 0], q[0, 1])
        (g,) = torch.autograd.grad(f, q)
        fv = float(f.detach())
        rows.append((t, float(p[0, 0]), float(p[0, 1]), fv, float(lrs[min(t, steps - 1)])))
        if not (np.isfinite(fv) and torch.isfinite(p).all() and p.abs().max() < bound):
            diverged = t
            break
        if t < steps:
            opt.step(p, g, torch.tensor([[lrs[t]]], dtype=p.dtype))
    df = pd.DataFrame(rows, columns=["step", "x", "y", "f", "lr"])
    end = df.iloc[-1]
    meta = {"diverged_at": diverged, "final": (float(end.x), float(end.y)), "final_f": float(end.f)}
    if s.minimum is not None:
        meta["distance_to_min"] = float(np.hypot(end.x - s.minimum[0], end.y - s.minimum[1]))
    return df, meta


def grid(surface: str, n: int = 80) -> pd.DataFrame:
    """f on an n x n grid over the surface's window (for contour / heatmap backgrounds)."""
    s = SURFACES[surface]
    x0, x1, y0, y1 = s.window
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return pd.DataFrame({"x": gx.ravel(), "y": gy.ravel(), "f": s.fn(gx, gy).ravel()})
