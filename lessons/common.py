"""Helpers more than one lesson uses: one definition each (label-smoothed targets, finite rows of
a table, the words for a diverged run)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lessons.words import Words

COMMON = Words("common")  # lessons/text/<lang>/common.md: strings every lesson may use


def smoothed_targets(k: int, eps: float, true: int = 0, convention: str = "eps/(k-1)") -> np.ndarray:
    """Label-smoothed targets. Two conventions are in use:

    - "eps/(k-1)" (this course, seed 001, and the engine's RegSpec.label_smoothing): 1 - eps for the true
      class, eps / (k - 1) for each other one;
    - "eps/k" (PyTorch's CrossEntropyLoss(label_smoothing=eps), Keras): the one-hot target mixed with the
      uniform distribution, (1 - eps) * onehot + eps / k, so the true class gets 1 - eps + eps / k.
    Both rows sum to 1; at the same eps the second puts less weight on the wrong classes."""
    if convention == "eps/(k-1)":
        t = np.full(k, eps / (k - 1))
        t[true] = 1 - eps
    elif convention == "eps/k":
        t = np.full(k, eps / k)
        t[true] = 1 - eps + eps / k
    else:
        raise ValueError(f"unknown convention {convention!r}")
    return t


def finite_rows(df: pd.DataFrame, *cols: str, positive: bool = False) -> pd.DataFrame:
    """The rows whose `cols` are all finite (and > 0 with `positive`, for log scales): a diverged run's
    NaN/inf values would break a chart's scale, so charts draw what is finite and a note says the rest."""
    keep = np.ones(len(df), dtype=bool)
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        keep &= np.isfinite(v) & ((v > 0) if positive else True)
    return df[keep]


def diverged_at(step: int) -> str:
    """The one wording of "this run diverged" (Markdown)."""
    return COMMON("diverged_at", step=int(step))


def diverged_runs(n: int, total: int) -> str:
    """The one wording of "some of these runs diverged" (Markdown)."""
    return COMMON("diverged_runs", n=int(n), total=int(total))


__all__ = ["COMMON", "smoothed_targets", "finite_rows", "diverged_at", "diverged_runs"]


def as_torch(res, dropout: float = 0.0):
    """A trained engine run (ReLU hidden layers) as a plain `torch.nn.Sequential` holding its final
    weights: Linear, ReLU (and Dropout(p) when `dropout` > 0) per hidden layer, then the output layer."""
    import torch
    from torch import nn

    layers, weights = [], res.weights()
    for i, layer in enumerate(weights):
        lin = nn.Linear(*layer["W"].shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer["W"].T)))
            lin.bias.copy_(torch.from_numpy(np.asarray(layer["b"])))
        layers.append(lin)
        if i < len(weights) - 1:
            layers += [nn.ReLU(), nn.Dropout(p=dropout)] if dropout > 0 else [nn.ReLU()]
    return nn.Sequential(*layers)

