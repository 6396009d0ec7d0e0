"""The hand-written backward pass equals autograd for every activation, loss and regulariser."""
import pytest
import torch

from engine import ACTIVATIONS, DataSpec, Experiment, ModelSpec, RegSpec
from engine.backprop import objective_and_grad
from engine.losses import per_sample, weighted_mean
from engine.model import Layout, Net, init_row

CASES = [(a, "binary", "bce") for a in ACTIVATIONS] + [
    ("tanh", "binary", "mse"), ("relu", "multiclass", "softmax_ce"), ("elu", "multiclass", "mse"),
    ("relu", "regression", "mse"), ("leaky_relu", "regression", "mae")]


def _noise_fn(seed):
    g = torch.Generator().manual_seed(seed)
    return lambda shape, normal=False: (torch.randn if normal else torch.rand)(tuple(shape), generator=g)


@pytest.mark.parametrize("act,task,loss", CASES)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_manual_gradient_matches_autograd(act, task, loss, dropout):
    torch.manual_seed(0)
    R, B, d = 3, 17, 4
    n_out = {"binary": 1, "multiclass": 5, "regression": 1}[task]
    n_classes = {"binary": 2, "multiclass": 5, "regression": 0}[task]
    spec = ModelSpec(hidden=(6, 5), activation=act, act_param=0.3 if act != "elu" else 1.2, dropout=dropout,
                     init="xavier_normal")
    layout = Layout(spec, d, n_out)
    flat = torch.stack([init_row(layout, spec, s) for s in range(R)]).double()
    flat += 0.05 * torch.randn_like(flat)  # slopes / biases away from their initial constants
    X = torch.randn(R, B, d, dtype=torch.float64)
    y = (torch.randint(0, n_classes, (R, B)) if task == "multiclass"
         else (torch.rand(R, B) > 0.5).double() if task == "binary" else torch.randn(R, B, dtype=torch.float64))
    w = torch.rand(R, B, dtype=torch.float64) + 0.5
    smooth = torch.tensor([[0.0], [0.1], [0.2]], dtype=torch.float64)
    l1 = torch.tensor([0.0, 0.01, 0.02], dtype=torch.float64)
    l2 = torch.tensor([0.03, 0.0, 0.01], dtype=torch.float64)
    wmask = layout.weight_mask().double()
    net = Net(layout, R, "cpu", torch.full((R, 1, 1), spec.act_param, dtype=torch.float64),
              torch.full((R, 1, 1), dropout, dtype=torch.float64))
    sm = smooth if loss == "softmax_ce" else smooth[:, 0:1]
    obj, g = objective_and_grad(net, flat, X, y, w, loss=loss, smoothing=sm, n_classes=n_classes, l1=l1, l2=l2,
                                wmask=wmask, noise=_noise_fn(5), use_l1=True, use_l2=True)
    p = flat.clone().requires_grad_(True)
    z = net.forward(p, X, training=True, noise=_noise_fn(5))
    ref = weighted_mean(per_sample(loss, z, y, sm, n_classes), w)
    ref = ref + l1 * (p.abs() * wmask).sum(1) + l2 * (p.square() * wmask).sum(1)
    (gref,) = torch.autograd.grad(ref.sum(), p)
    torch.testing.assert_close(obj, ref.detach(), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(g, gref, rtol=1e-7, atol=1e-10)


def test_batch_norm_runs_through_autograd():
    from engine import run
    e = Experiment(data=DataSpec("moons", n=200), model=ModelSpec(hidden=(8, 8), batch_norm=True),
                   reg=RegSpec(l2=1e-3))
    r = run(e, cache=False)
    assert r.final["train_metric"] > 0.8


def test_one_hot_without_the_host_check_equals_torch():
    import torch.nn.functional as F

    from engine.losses import one_hot

    y = torch.randint(0, 10, (3, 50))
    assert torch.equal(one_hot(y, 10, torch.float32), F.one_hot(y, 10).float())
