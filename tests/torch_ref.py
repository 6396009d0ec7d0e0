"""A reference for the engine's optimizers in the lessons' worked numbers: real torch.optim steps."""
from __future__ import annotations

import numpy as np
import torch


def torch_walk(opt_cls, grad_fn, w0, steps: int, **kw) -> np.ndarray:
    """The points a torch.optim optimizer visits from w0 when the gradient at w is grad_fn(w) (float64)."""
    p = torch.nn.Parameter(torch.tensor(np.asarray(w0, dtype=np.float64)))
    opt = opt_cls([p], **kw)
    out = [p.detach().numpy().copy()]
    for _ in range(int(steps)):
        opt.zero_grad()
        p.grad = torch.as_tensor(grad_fn(p.detach().numpy()), dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)
