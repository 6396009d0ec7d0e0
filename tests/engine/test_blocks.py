"""Activations, initialisations, dropout and the data sets against closed forms."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import ACTIVATIONS, DataSpec, Experiment, ModelSpec, TrainSpec
from engine import activations as A
from engine import data as D
from engine.model import Layout, Net, init_row

X = torch.linspace(-7, 7, 281, dtype=torch.float64)
X = X[(X != 0) & (X != 6)]  # kinks are conventions; test away from them
SIG = lambda x: 1 / (1 + torch.exp(-x))  # noqa: E731
CLOSED = {  # (value, derivative), written independently of engine.activations
    "sigmoid": (SIG, lambda x: SIG(x) * (1 - SIG(x))),
    "tanh": (lambda x: (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x)),
             lambda x: 1 - torch.tanh(x) ** 2),
    "relu": (lambda x: torch.clamp(x, min=0), lambda x: (x > 0).double()),
    "leaky_relu": (lambda x: torch.where(x > 0, x, 0.1 * x), lambda x: torch.where(x > 0, 1.0, 0.1)),
    "prelu": (lambda x: torch.where(x > 0, x, 0.25 * x), lambda x: torch.where(x > 0, 1.0, 0.25)),
    "rrelu": (lambda x: torch.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2),
              lambda x: torch.where(x > 0, 1.0, (1 / 8 + 1 / 3) / 2)),
    "elu": (lambda x: torch.where(x > 0, x, 1.0 * (torch.exp(x) - 1)), lambda x: torch.where(x > 0, 1.0, torch.exp(x))),
    "relu6": (lambda x: torch.clamp(x, 0, 6), lambda x: ((x > 0) & (x < 6)).double()),
    "gelu": (lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)),
    "silu": (lambda x: x * SIG(x), lambda x: SIG(x) + x * SIG(x) * (1 - SIG(x))),
    "softplus": (lambda x: torch.log1p(torch.exp(x)), SIG),
    "identity": (lambda x: x, lambda x: torch.ones_like(x)),
    "crelu": (lambda x: torch.clamp(x, min=0), lambda x: (x > 0).double()),  # first half
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_and_derivative_match_closed_form(name):
    kw = {"param": 0.1} if name == "leaky_relu" else {"param": 1.0} if name == "elu" else {}
    y = A.apply(name, X, **kw)
    if name == "crelu":
        assert y.shape[-1] == 2 * X.shape[-1]
        torch.testing.assert_close(y[X.shape[-1]:], torch.clamp(-X, min=0))
        y = y[: X.shape[-1]]
    f, df = CLOSED[name]
    torch.testing.assert_close(y, f(X))
    torch.testing.assert_close(A.derivative(name, X, **kw), df(X).double())


def test_library_equivalents():
    torch.testing.assert_close(A.apply("gelu", X), F.gelu(X))
    torch.testing.assert_close(A.apply("silu", X), F.silu(X))
    torch.testing.assert_close(A.apply("elu", X, param=1.3), F.elu(X, alpha=1.3))
    torch.testing.assert_close(A.apply("leaky_relu", X, param=0.2), F.leaky_relu(X, 0.2))
    torch.testing.assert_close(A.apply("relu6", X), F.relu6(X))


def test_sigmoid_derivative_never_exceeds_a_quarter():
    assert float(A.derivative("sigmoid", torch.linspace(-20, 20, 4001)).max()) == pytest.approx(0.25)


def test_crelu_doubles_the_next_layer_input():
    lay = Layout(ModelSpec(hidden=(8, 5), activation="crelu"), 2, 1)
    assert lay.get("W", 1).shape == (16, 5) and lay.get("W", 2).shape == (10, 1)
    plain = Layout(ModelSpec(hidden=(8, 5), activation="relu"), 2, 1)
    assert lay.size - plain.size == 8 * 5 + 5 * 1


def test_rrelu_random_in_training_deterministic_in_eval():
    x = -torch.ones(10_000)
    a1 = -A.apply("rrelu", x, training=True)
    a2 = -A.apply("rrelu", x, training=True)
    assert not torch.equal(a1, a2)
    assert float(a1.min()) >= 1 / 8 and float(a1.max()) <= 1 / 3
    assert float(a1.mean()) == pytest.approx((1 / 8 + 1 / 3) / 2, abs=0.005)
    e1, e2 = A.apply("rrelu", x), A.apply("rrelu", x)
    assert torch.equal(e1, e2) and float(-e1[0]) == pytest.approx((1 / 8 + 1 / 3) / 2)


def test_inverted_dropout_preserves_expected_activation():
    spec = ModelSpec(hidden=(1000,), activation="relu", dropout=0.5)
    lay = Layout(spec, 3, 1)
    flat = init_row(lay, spec, 0)[None]
    net = Net(lay, 1, "cpu", torch.zeros(1, 1, 1), torch.full((1, 1, 1), 0.5))
    x = torch.randn(1, 400, 3)
    ev, tr = [], []
    net.forward(flat, x, training=False, keep=ev)
    g = torch.Generator().manual_seed(0)
    net.forward(flat, x, training=True, noise=lambda s: torch.rand(tuple(s), generator=g), keep=tr)
    assert float((tr[0] == 0).float().mean()) > 0.45  # about half dropped (plus dead relu)
    assert float(tr[0].mean()) == pytest.approx(float(ev[0].mean()), rel=0.03)


@pytest.mark.parametrize("init,std", [
    ("he_normal", lambda fi, fo: math.sqrt(2 / fi)), ("he_uniform", lambda fi, fo: math.sqrt(2 / fi)),
    ("xavier_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("xavier_uniform", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("normal", lambda fi, fo: 0.01)])
def test_initialisation_standard_deviations(init, std):
    spec = ModelSpec(hidden=(300, 200), activation="relu", init=init)
    lay = Layout(spec, 100, 1)
    row = init_row(lay, spec, 0)
    p = lay.get("W", 1)
    w = row[p.offset: p.offset + p.size].double()
    n = w.numel()
    want = std(300, 200)
    assert float(w.std()) == pytest.approx(want, rel=4 / math.sqrt(2 * n) + 1e-3)
    assert abs(float(w.mean())) < 4 * want / math.sqrt(n)


def test_zero_init_is_all_zero_weights():
    spec = ModelSpec(hidden=(5,), init="zeros")
    assert float(init_row(Layout(spec, 2, 1), spec, 0).abs().sum()) == 0


@pytest.mark.parametrize("name", ["moons", "circles", "xor", "spiral", "gaussians", "blobs3", "digits", "autompg"])
def test_data_deterministic_and_standardised_on_training_rows_only(name):
    spec = DataSpec(name, n=0 if name in ("digits", "autompg") else 300, seed=4)
    D.load.cache_clear()
    a = D.load(spec)
    D.load.cache_clear()
    b = D.load(spec)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    np.testing.assert_allclose(a.mean, a.raw_train.mean(0))
    np.testing.assert_allclose(a.X_train.mean(0), 0, atol=1e-5)
    assert not np.allclose(a.X_test.mean(0), 0, atol=1e-5)
    other = D.load(DataSpec(name, n=spec.n, seed=5))
    assert not np.array_equal(other.y_train, a.y_train)
    n = len(a.X_train) + len(a.X_val) + len(a.X_test)
    assert len(a.X_test) == round(n * 0.2) and len(a.X_val) == round(n * 0.2)


def test_data_sets_shapes():
    assert D.load(DataSpec("digits", n=0)).n_classes == 10
    assert D.load(DataSpec("digits", n=0)).X_train.shape[1] == 64
    s = D.load(DataSpec("autompg", n=0))
    assert s.task == "regression" and len(s.X_train) + len(s.X_val) + len(s.X_test) == 392


def test_kfold_and_bootstrap_weights():
    folds = [D.load(DataSpec("moons", kfold=5, fold=k, seed=1)) for k in range(5)]
    held = np.stack([f.w_val for f in folds])
    assert np.array_equal(held.sum(0), np.ones(held.shape[1]))  # each row is held out exactly once
    assert all(np.array_equal(f.w_train, 1 - f.w_val) for f in folds)
    b = D.load(DataSpec("moons", bootstrap=0, seed=1))
    assert b.w_train.sum() == len(b.w_train) and (b.w_train == 0).any() and (b.w_train > 1).any()


def test_snapshots_of_the_decision_surface():
    from engine import run
    e = Experiment(data=DataSpec("xor", n=200), model=ModelSpec(hidden=(8,), activation="relu"),
                   train=TrainSpec(steps=50, snapshot_steps=(0, 25, 50), grid=20))
    r = run(e, cache=False)
    assert r.snapshots.shape == (3, 20, 20)
    assert ((r.snapshots >= 0) & (r.snapshots <= 1)).all()
    assert r.meta["snapshot_steps"] == [0, 25, 50] and len(r.meta["extent"]) == 4


def test_three_class_blobs_snapshot_predicted_classes():
    from engine import run
    e = Experiment(data=DataSpec("blobs3", n=300), model=ModelSpec(hidden=()),
                   train=TrainSpec(steps=200, snapshot_steps=(200,), grid=12))
    r = run(e, cache=False)
    assert D.load(e.data).n_classes == 3 and r.final["test_metric"] > 0.7
    assert set(np.unique(r.snapshots)) <= {0.0, 1.0, 2.0}
