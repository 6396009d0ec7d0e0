"""Engine optimizers and schedules equal torch.optim step for step; trajectories on test surfaces."""
import numpy as np
import pytest
import torch

from engine import OptimSpec
from engine.optim import StackedOptimizer, lr_table
from engine.surfaces import SURFACES, trajectory

CASES = [
    (OptimSpec("sgd", lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (OptimSpec("sgd", lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    (OptimSpec("sgd", lr=0.1, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    (OptimSpec("adagrad", lr=0.1, eps=1e-10), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    (OptimSpec("rmsprop", lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    (OptimSpec("rmsprop", lr=0.01, momentum=0.5), lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5)),
    (OptimSpec("adam", lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (OptimSpec("adam", lr=0.01, beta1=0.5, beta2=0.9), lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.9))),
    (OptimSpec("adamw", lr=0.01, weight_decay=0.1), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    (OptimSpec("adamax", lr=0.002), lambda p: torch.optim.Adamax(p, lr=0.002)),
]


@pytest.mark.parametrize("lr_as", ["tensor", "float"])  # a float lr takes the fused kernel for Adam/AdamW
@pytest.mark.parametrize("spec,ref", CASES, ids=lambda c: getattr(c, "name", ""))
def test_engine_optimizer_equals_torch_optim(spec, ref, lr_as):
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(3, 7, generator=g, dtype=torch.float64)
    ours = p0.clone()
    theirs = [torch.nn.Parameter(p0[i].clone()) for i in range(3)]
    opts = [ref([t]) for t in theirs]
    mine = StackedOptimizer(spec, ours)
    for _ in range(60):
        grads = torch.randn(3, 7, generator=g, dtype=torch.float64) + 0.3 * ours  # depends on the state
        mine.step(ours, grads, torch.full((3, 1), spec.lr, dtype=torch.float64) if lr_as == "tensor" else spec.lr)
        for i in range(3):
            theirs[i].grad = grads[i].clone()
            opts[i].step()
    torch.testing.assert_close(ours, torch.stack([t.detach() for t in theirs]), rtol=1e-10, atol=1e-12)


def test_fused_adam_is_taken_for_a_shared_float_lr_and_matches_the_written_out_update():
    g = torch.Generator().manual_seed(1)
    p0 = torch.randn(4, 9, generator=g)
    a, b = p0.clone(), p0.clone()
    fused, plain = StackedOptimizer(OptimSpec("adam", lr=0.05), a), StackedOptimizer(OptimSpec("adam", lr=0.05), b)
    for _ in range(30):
        grads = torch.randn(4, 9, generator=g) + a
        fused.step(a, grads, 0.05)
        plain.step(b, grads.clone(), torch.full((4, 1), 0.05))
    assert StackedOptimizer.fused_ok  # the kernel ran (it would have switched itself off on failure)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_per_run_learning_rates_and_frozen_rows():
    p = torch.zeros(3, 2, dtype=torch.float64)
    opt = StackedOptimizer(OptimSpec("sgd", lr=1.0), p)
    opt.step(p, torch.ones(3, 2, dtype=torch.float64), torch.tensor([[0.1], [0.2], [0.3]], dtype=torch.float64),
             active=torch.tensor([True, True, False]))
    torch.testing.assert_close(p[:, 0], torch.tensor([-0.1, -0.2, 0.0], dtype=torch.float64))


def _torch_lrs(make, steps, lr=0.1):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sch = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return np.array(out)


SCHED = [
    (dict(schedule="exponential", decay_rate=0.5, decay_steps=20),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.5 ** (1 / 20))),
    (dict(schedule="inverse_time", decay_rate=0.5, decay_steps=10),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t / 10))),
    (dict(schedule="step", step_size=30, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 30, 0.3)),
    (dict(schedule="cyclic", step_size=25, max_lr_factor=6.0),
     lambda o: torch.optim.lr_scheduler.CyclicLR(o, base_lr=0.1, max_lr=0.6, step_size_up=25, cycle_momentum=False)),
    (dict(schedule="cosine_restarts", t0=20, t_mult=2, min_lr_factor=0.1),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2, eta_min=0.01)),
]


@pytest.mark.parametrize("kw,make", SCHED, ids=[k["schedule"] for k, _ in SCHED])
def test_schedules_equal_torch_schedulers(kw, make):
    ours = lr_table(OptimSpec("sgd", lr=0.1, **kw), 200)
    np.testing.assert_allclose(ours, _torch_lrs(make, 200), rtol=1e-9, atol=1e-12)


def test_adam_on_beale_approaches_the_minimum():
    df, meta = trajectory("beale", OptimSpec("adam", lr=0.01), start=(0.8, 1.6), steps=3000)
    assert meta["diverged_at"] is None
    assert meta["distance_to_min"] < 0.05
    assert df["f"].iloc[-1] < 1e-3 < df["f"].iloc[0]


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_surface_and_its_minimum(name):
    s = SURFACES[name]
    if s.minimum is not None:
        assert s.fn(*s.minimum) == pytest.approx(0.0, abs=1e-12)
    df, meta = trajectory(name, OptimSpec("sgd", lr=0.001, momentum=0.9), steps=50)
    assert len(df) == 51 and np.isfinite(df[["x", "y", "f"]].to_numpy()).all()


def test_trajectory_divergence_is_recorded_not_raised():
    df, meta = trajectory("rosenbrock", OptimSpec("sgd", lr=1.0), steps=200)
    assert meta["diverged_at"] is not None and meta["diverged_at"] < 200
    assert len(df) == meta["diverged_at"] + 1


def test_fused_adam_outside_grad_mode_and_on_tracked_rows():
    """The trainer calls the fused kernel without entering no_grad (it passes untracked rows); a tracked
    row still gets the update (under no_grad, as before) and the kernel stays on."""
    g = torch.Generator().manual_seed(2)
    p0 = torch.randn(3, 7, generator=g)
    a, b = p0.clone(), p0.clone().requires_grad_(True)
    oa, ob = StackedOptimizer(OptimSpec("adam", lr=0.02), a), StackedOptimizer(OptimSpec("adam", lr=0.02), b.detach())
    for _ in range(5):
        grads = torch.randn(3, 7, generator=g)
        oa.step(a, grads, 0.02)
        ob.step(b, grads.clone(), 0.02)
    assert StackedOptimizer.fused_ok and oa.t == ob.t == 5
    assert torch.equal(a, b.detach())


def _valley(w):
    return np.array([w[0], 25.0 * w[1]])


@pytest.mark.parametrize("spec, cls, kw, l2", [
    (OptimSpec("sgd", lr=0.5), torch.optim.SGD, {"lr": 0.5, "weight_decay": 0.008}, 0.008),
    (OptimSpec("sgd", lr=0.01, momentum=0.9), torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}, 0.0),
    (OptimSpec("sgd", lr=0.05, momentum=0.8, nesterov=True), torch.optim.SGD,
     {"lr": 0.05, "momentum": 0.8, "nesterov": True}, 0.0),
    (OptimSpec("adam", lr=0.1), torch.optim.Adam, {"lr": 0.1}, 0.0),
    (OptimSpec("adam", lr=0.01), torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.01}, 0.01),
    (OptimSpec("adamw", lr=0.01, weight_decay=0.01), torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.01}, 0.0),
    (OptimSpec("adagrad", lr=0.1, eps=1e-10), torch.optim.Adagrad, {"lr": 0.1}, 0.0),
    (OptimSpec("rmsprop", lr=0.1), torch.optim.RMSprop, {"lr": 0.1}, 0.0),
])
def test_walk_visits_the_points_torch_optim_visits(spec, cls, kw, l2):
    """walk() gives the lessons' worked numbers without torch.optim (which loads torch._dynamo, ~70 MB
    of server memory): its points must be torch.optim's, weight_decay included."""
    from engine.optim import walk
    from tests.torch_ref import torch_walk

    ref = torch_walk(cls, _valley, [-2.5, 1.0], 100, **kw)
    np.testing.assert_allclose(walk(spec, _valley, [-2.5, 1.0], 100, l2=l2), ref, rtol=1e-12, atol=1e-13)

