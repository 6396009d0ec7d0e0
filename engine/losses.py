"""Losses as negative log-likelihoods, per sample, over a leading run axis.

- mse: Gaussian noise around the prediction -> squared error (regression; for classifiers the
  squared error of the predicted probabilities, the Brier score)
- mae: Laplace noise -> absolute error
- bce: Bernoulli with p = sigmoid(logit) -> binary cross-entropy, computed from logits
  (softplus(z) - y z) so that it never takes log(0)
- softmax_ce: categorical with p = softmax(logits) -> cross-entropy via log_softmax

Label smoothing replaces one-hot targets by (1 - eps) on the true class and eps / (k - 1) on each
other class (binary: 1 - eps and eps).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def one_hot(y: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """F.one_hot(y, n_classes).to(dtype) without its range check, which reads y on the host (a CUDA
    sync, so a step using it cannot be captured as a CUDA graph). The data sets give ids in [0, n_classes)."""
    return (y[..., None] == torch.arange(n_classes, device=y.device)).to(dtype)


def per_sample(loss: str, z: torch.Tensor, y: torch.Tensor, smoothing: torch.Tensor | float = 0.0,
               n_classes: int = 2) -> torch.Tensor:
    """z: (R, B, out) raw outputs; y: (R, B) targets (class ids for multiclass). Returns (R, B)."""
    if loss == "bce":
        t = y * (1 - smoothing) + (1 - y) * smoothing
        zz = z[..., 0]
        return F.softplus(zz) - t * zz
    if loss == "softmax_ce":
        onehot = one_hot(y, n_classes, z.dtype)
        s = smoothing if not torch.is_tensor(smoothing) else smoothing[..., None]
        t = onehot * (1 - s) + (1 - onehot) * s / (n_classes - 1)
        return -(t * F.log_softmax(z, -1)).sum(-1)
    if loss == "mse":
        if n_classes == 2:
            return (torch.sigmoid(z[..., 0]) - y) ** 2
        if n_classes > 2:
            return ((F.softmax(z, -1) - one_hot(y, n_classes, z.dtype)) ** 2).sum(-1)
        return (z[..., 0] - y) ** 2
    if loss == "mae":
        return (z[..., 0] - y).abs()
    raise ValueError(f"unknown loss {loss!r}")


def weighted_mean(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(R, B) values and weights -> (R,) weighted means (nan where a run has no weight)."""
    den = w.sum(1)
    return (v * w).sum(1) / torch.where(den > 0, den, torch.full_like(den, float("nan")))


def metric(task: str, z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Accuracy for classifiers, R^2 for regression; (R,)."""
    if task == "binary":
        return weighted_mean(((z[..., 0] > 0).to(y.dtype) == y).float(), w)
    if task == "multiclass":
        return weighted_mean((z.argmax(-1) == y).float(), w)
    pred = z[..., 0]
    ybar = weighted_mean(y, w)[:, None]
    sse = ((pred - y) ** 2 * w).sum(1)
    sst = ((y - ybar) ** 2 * w).sum(1)
    return 1 - sse / sst
