"""Hand-written backpropagation for the stacked MLP: the engine's fast path.

For a stack of small MLPs, autograd's per-node bookkeeping costs more than the arithmetic, so
without batch norm the trainer computes the training objective and its gradient here: the delta
rule of the lectures, layer by layer,

    delta_L = dLoss/dz_L,   dW_l = h_{l-1}^T delta_l,   db_l = sum_batch delta_l,
    delta_{l-1} = (delta_l W_l^T) * f'(z_{l-1})

with each activation's derivative in closed form. tests/engine/test_backprop.py checks every
activation, loss and regulariser against autograd; batch-norm nets use autograd instead.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import activations as A
from . import kernels as K
from .losses import one_hot
from .model import Net


def _dact(name: str, z, h, param, slope, rr):
    if name == "sigmoid":
        return h * (1 - h)
    if name == "tanh":
        return 1 - h * h
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "leaky_relu":
        return torch.where(z > 0, torch.ones_like(z), param.expand_as(z))
    if name == "prelu":
        return torch.where(z > 0, torch.ones_like(z), slope.expand_as(z))
    if name == "rrelu":
        return torch.where(z >= 0, torch.ones_like(z), rr)
    if name == "elu":
        return torch.where(z > 0, torch.ones_like(z), h + param)
    if name == "relu6":
        return ((z >= 0) & (z <= 6)).to(z.dtype)
    if name == "gelu":
        return 0.5 * (1 + torch.erf(z / math.sqrt(2))) + z * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    if name == "silu":
        s = torch.sigmoid(z)
        return s * (1 + z * (1 - s))
    if name == "softplus":
        return torch.sigmoid(z)
    if name == "identity":
        return torch.ones_like(z)
    raise ValueError(name)


_FUSED = {  # activation -> fused aten kernel computing dh * f'(z) in one pass, into `out`
    "tanh": lambda dh, z, h, out: torch.ops.aten.tanh_backward.grad_input(dh, h, grad_input=out),
    "sigmoid": lambda dh, z, h, out: torch.ops.aten.sigmoid_backward.grad_input(dh, h, grad_input=out),
    "relu": lambda dh, z, h, out: torch.ops.aten.threshold_backward.grad_input(dh, z, 0, grad_input=out),
}
_IN_PLACE = {  # activations whose backward needs only their output: computed over their input
    "tanh": lambda z: K.tanh_(z),
    "sigmoid": lambda z: torch.sigmoid(z, out=z),
}


def _batch_constants(y, w, smoothing, loss, state):
    """Per-batch constants of the loss; a full-batch run reuses them every step."""
    key = (id(y), id(w), id(smoothing), loss)
    if state is not None and state.get("batch_key") == key:
        return state["batch_consts"]
    den = w.sum(1, keepdim=True)  # (R, 1)
    scale = (w / den)[..., None]  # (R, B, 1)
    t = y * (1 - smoothing) + (1 - y) * smoothing if loss == "bce" else None
    out = (den[:, 0], scale, t, None if t is None else t[..., None])
    if state is not None:
        state["batch_key"], state["batch_consts"] = key, out
        state["batch_refs"] = (y, w, smoothing)  # keep the ids alive while they are the key
    return out


def _dloss(loss: str, z, y, w, smoothing, n_classes, state=None):
    """d(weighted mean loss)/dz and the per-run data loss."""
    den, scale, t, t3 = _batch_constants(y, w, smoothing, loss, state)
    if loss == "bce":
        zz = z[..., 0]
        val = F.softplus(zz) - t * zz
        g = torch.sigmoid(z).sub_(t3)  # (sigmoid(zz) - t)[..., None], without the temporaries
    elif loss == "softmax_ce":
        onehot = one_hot(y, n_classes, z.dtype)
        s = smoothing[..., None]
        t = onehot * (1 - s) + (1 - onehot) * s / (n_classes - 1)
        logp = F.log_softmax(z, -1)
        val = -(t * logp).sum(-1)
        g = logp.exp() - t
    elif loss == "mse" and n_classes == 0:
        d = z[..., 0] - y
        val, g = d * d, (2 * d)[..., None]
    elif loss == "mse" and n_classes == 2:
        p = torch.sigmoid(z[..., 0])
        d = p - y
        val, g = d * d, (2 * d * p * (1 - p))[..., None]
    elif loss == "mse":
        p = F.softmax(z, -1)
        d = p - one_hot(y, n_classes, z.dtype)
        val = (d * d).sum(-1)
        dd = 2 * d
        g = p * (dd - (p * dd).sum(-1, keepdim=True))
    elif loss == "mae":
        d = z[..., 0] - y
        val, g = d.abs(), torch.sign(d)[..., None]
    else:
        raise ValueError(loss)
    return (val * w).sum(1) / den, g.mul_(scale)  # (every g above is a fresh tensor)


def _views(net: Net, flat, state):
    """Views of the parameter row and of a gradient buffer, made once per training run (the trainer
    updates `flat` in place, so the views stay valid)."""
    if state is not None and state.get("flat") is flat:
        return state["views"]
    L = net.layout
    grad = torch.empty_like(flat)
    v = {"grad": grad,
         "W": [L.view(flat, p) for p in net.Ws], "b": [L.view(flat, p) for p in net.bs],
         "gW": [L.view(grad, p) for p in net.Ws], "gb": [L.view(grad, p) for p in net.bs]}
    v["mm"] = K.LayerProducts(v["W"], v["gW"])
    if net.spec.activation == "prelu":
        pieces = [L.get("slope", i) for i in range(len(net.spec.hidden))]
        v["slope"] = [L.view(flat, p) for p in pieces]
        v["gslope"] = [L.view(grad, p) for p in pieces]
    if state is not None:
        state["flat"], state["views"] = flat, v
    return v


def objective_and_grad(net: Net, flat, X, y, w, *, loss, smoothing, n_classes, l1, l2, wmask, noise,
                       use_l1: bool, use_l2: bool, state: dict | None = None):
    """Training-mode objective (R,) and its gradient (R, P) for a net without batch norm.

    `state` (a dict the caller keeps between steps) caches views and per-batch constants; the
    returned gradient lives in a buffer that the next call overwrites."""
    L, spec = net.layout, net.spec
    act = spec.activation
    v = _views(net, flat, state)
    grad, mm = v["grad"], v["mm"]
    hs, zs, acts, masks, rrs = [X], [], [], [], []
    h = X
    for i in range(L.n_layers):
        z = mm.forward(i, v["b"][i], h)
        if i == L.n_layers - 1:
            out = z
            break
        zs.append(z)
        slope = v["slope"][i] if act == "prelu" else None
        rr = None
        if act == "rrelu":
            rr = spec.rrelu_lower + (spec.rrelu_upper - spec.rrelu_lower) * noise(z.shape)
            h = torch.where(z >= 0, z, z * rr)
        elif act in _IN_PLACE:  # z is not needed again (the fused backward reads h): overwrite it
            h = _IN_PLACE[act](z)
        else:
            h = A.apply(act, z, param=net.act_param, slope=slope, training=True)
        rrs.append(rr)
        acts.append(h)
        if net.use_dropout:
            m = (noise(h.shape) >= net.dropout) / (1 - net.dropout)
            masks.append(m)
            h = h * m
        hs.append(h)
    data_loss, delta = _dloss(loss, out, y, w, smoothing, n_classes, state)
    for i in range(L.n_layers - 1, -1, -1):
        hin = hs[i]
        torch.sum(delta, 1, keepdim=True, out=v["gb"][i])  # straight into the gradient row
        mm.grad_w(i, hin, delta)
        if i == 0:
            break
        dh = mm.grad_in(i, delta)  # grad wrt layer i's input
        if net.use_dropout:
            dh = dh * masks[i - 1]
        z = zs[i - 1]
        if act == "crelu":
            half = z.shape[-1]
            delta = dh[..., :half] * (z > 0) - dh[..., half:] * (z < 0)
            continue
        if act in _FUSED:
            delta = _FUSED[act](dh, z, acts[i - 1], dh)  # dh is a temporary: overwritten
            continue
        if act == "prelu":
            v["gslope"][i - 1].copy_((dh * torch.where(z > 0, torch.zeros_like(z), z)).sum(1, keepdim=True))
            slope = v["slope"][i - 1]
        else:
            slope = None
        delta = dh * _dact(act, z, acts[i - 1], net.act_param, slope, rrs[i - 1])
    if state is not None and not net.use_dropout and act != "rrelu":  # the eval forward pass would be
        state["forward"] = (X, out, acts)  # the same (no randomness): the recorder reuses it this step
    obj = data_loss
    if use_l1:
        obj = obj + l1 * (flat.abs() * wmask).sum(1)
        grad += l1[:, None] * torch.sign(flat) * wmask
    if use_l2:
        obj = obj + l2 * (flat.square() * wmask).sum(1)
        grad += 2 * l2[:, None] * flat * wmask
    return obj, grad
