"""Host work per group, not per run (batched initialisation and random streams, vectorised early
stopping), and the CUDA-graph step order, checked on the CPU."""
import math

import numpy as np
import pytest
import torch

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, graphs, rng, run_many
from engine.bench import count_ops
from engine.config import OPTIMIZERS
from engine.model import Layout, init_row, init_stack
from engine.optim import StackedOptimizer


def test_op_count_does_not_grow_with_the_number_of_runs():
    few, _ = count_ops(64)
    many, _ = count_ops(1024)
    assert many <= few * 1.05, (few, many)  # before: ~15,700 vs ~205,000


def test_rng_is_uniform_normal_and_independent_of_the_group():
    k = rng.keys(range(16), salt=5)
    u = rng.uniform(k, 3, (50_000,))
    assert float(u.min()) >= 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.005 and abs(float(u.std()) - math.sqrt(1 / 12)) < 0.005
    z = rng.normal(k, 4, (50_000,))
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01
    assert abs(float((z.abs() > 1.96).float().mean()) - 0.05) < 0.003  # two-sided 5% tail
    alone = rng.uniform(rng.keys([7], salt=5), 3, (100,))
    assert torch.equal(alone[0], u[7, :100])  # a run draws the same alone or in a group
    assert not torch.equal(u[0, :100], u[1, :100]) and not torch.equal(u[0, :100], rng.uniform(k, 4, (100,))[0])
    p = rng.permutations(k, 9, 50)
    assert all(sorted(row.tolist()) == list(range(50)) for row in p)
    c = np.corrcoef(u[:4, :10_000].numpy())
    assert np.abs(c[np.triu_indices(4, 1)]).max() < 0.05  # runs' streams are uncorrelated


@pytest.mark.parametrize("init, expected_std", [
    ("he_normal", math.sqrt(2 / 64)), ("xavier_normal", math.sqrt(2 / 128)),
    ("he_uniform", math.sqrt(6 / 64) / math.sqrt(3)), ("xavier_uniform", math.sqrt(6 / 128) / math.sqrt(3)),
    ("torch_default", 1 / 8 / math.sqrt(3)), ("normal", 0.01)])
def test_batched_init_has_the_schemes_standard_deviations(init, expected_std):
    spec = ModelSpec(hidden=(64, 64), activation="relu", init=init)
    lay = Layout(spec, 2, 1)
    rows = init_stack(lay, [spec] * 20, list(range(20)))
    W = lay.view(rows, lay.get("W", 1))  # (20, 64, 64): fan_in = fan_out = 64
    assert float(W.std()) == pytest.approx(expected_std, rel=0.02)
    assert torch.equal(rows[13], init_row(lay, spec, 13))


def test_a_group_may_mix_init_schemes_and_each_run_matches_its_own_draw():
    specs = [ModelSpec(hidden=(8,), init=i, bias_init=b, activation="prelu", prelu_init=p)
             for i, b, p in (("zeros", 0.0, 0.1), ("he_uniform", 0.5, 0.2), ("normal", -1.0, 0.0))]
    lay = Layout(specs[0], 2, 1)
    rows = init_stack(lay, specs, [4, 5, 6])
    for r, (spec, seed) in enumerate(zip(specs, [4, 5, 6])):
        assert torch.equal(rows[r], init_row(Layout(spec, 2, 1), spec, seed))
    assert float(lay.view(rows, lay.get("W", 0))[0].abs().sum()) == 0
    assert float(lay.view(rows, lay.get("b", 0))[1].mean()) == pytest.approx(0.5)
    assert float(lay.view(rows, lay.get("slope", 0))[1].mean()) == pytest.approx(0.2)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_device_counted_update_equals_the_host_counted_one(name):
    torch.manual_seed(0)
    spec = OptimSpec(name, lr=0.01, momentum=0.9 if name in ("sgd", "rmsprop") else 0.0, weight_decay=0.01)
    p0 = torch.randn(3, 40)
    a, b = p0.clone(), p0.clone()
    oa, ob = StackedOptimizer(spec, a), StackedOptimizer(spec, b)
    done = torch.zeros((), dtype=torch.int64)
    lr = torch.full((3, 1), 0.01)
    for _ in range(30):
        g = torch.sin(a * 3) + 0.1
        oa.step(a, g, lr)
        ob.step(b, g.clone(), lr, done=done)
        done += 1
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def _graph_group(seed_count=6, **train):
    return [Experiment(data=DataSpec("moons", n=200, seed=1), model=ModelSpec(hidden=(8, 8)),
                       optim=OptimSpec("adam", lr=0.02, schedule="step", step_size=20),
                       train=TrainSpec(steps=60, record_every=7, snapshot_steps=(0, 30, 60), grid=10, **train),
                       seed=s) for s in range(seed_count)]


def test_the_graph_step_order_gives_the_eager_loop_results(monkeypatch):
    """On the CPU the graph body runs eagerly: the same records, snapshots and weights as the loop."""
    exps = _graph_group()
    eager = run_many(exps, cache=False)
    monkeypatch.setattr(graphs, "usable", lambda *a: True)
    replayed = run_many(exps, cache=False)
    for a, b in zip(eager, replayed):
        assert list(a.history["step"]) == list(b.history["step"])
        np.testing.assert_allclose(a.history.to_numpy(), b.history.to_numpy(), rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(a.snapshots, b.snapshots, atol=2e-3)
        np.testing.assert_allclose(a.params, b.params, rtol=1e-4, atol=1e-6)


def test_graph_replay_is_only_for_deterministic_full_batch_groups_on_cuda():
    class M:
        fast, steps = True, 100

        class net:
            use_dropout = False

    class B:
        minibatch = False

    class ES:
        on = False

    e = _graph_group(1)[0]
    assert not graphs.usable(torch.device("cpu"), M, B, e, ES)
    assert graphs.usable(torch.device("cuda"), M, B, e, ES)
    ES.on = True
    assert not graphs.usable(torch.device("cuda"), M, B, e, ES)
    ES.on = False
    assert not graphs.usable(torch.device("cuda"), M, B, e.replace(reg=RegSpec(input_noise=0.1)), ES)


def test_early_stopping_per_run_in_one_vectorised_update():
    exps = [Experiment(data=DataSpec("moons", n=200, seed=1), model=ModelSpec(hidden=(32, 32), activation="relu"),
                       optim=OptimSpec("adam", lr=0.05), train=TrainSpec(steps=400, record_every=5, patience=p),
                       seed=0) for p in (0, 2, 10)]
    none, short, longer = run_many(exps, cache=False)
    assert none.meta["stopped_at"] is None and short.meta["stopped_at"] is not None
    assert longer.meta["stopped_at"] is None or longer.meta["stopped_at"] >= short.meta["stopped_at"]
    h = short.history
    best = h["val_loss"].min()
    assert short.final["val_loss"] == pytest.approx(best, rel=1e-4)  # the best weights are restored
    stop = short.meta["stopped_at"]
    best_step = int(h.loc[h["val_loss"].idxmin(), "step"])
    assert (stop - best_step) // 5 == 3  # stops after more than `patience` = 2 evaluations without a better one


@pytest.mark.parametrize("model", [dict(activation="tanh"), dict(activation="prelu"), dict(activation="crelu"),
                                   dict(activation="relu", dropout=0.2), dict(activation="rrelu")])
def test_records_reuse_the_training_forward_pass_bit_for_bit(monkeypatch, model):
    """The recorder takes the step's own forward pass (full batch, no randomness) instead of running it
    again: histories equal the re-run ones exactly (and dropout/RReLU, whose training pass differs, re-run)."""
    from engine import stages

    exps = [Experiment(data=DataSpec("blobs3", n=200, seed=1), model=ModelSpec(hidden=(8, 8), **model),
                       optim=OptimSpec("adam", lr=0.02), train=TrainSpec(steps=30, record_every=3), seed=s)
            for s in range(3)]
    used = []
    plain = stages.Recorder.record

    def spy(self, t, g, forward=None):
        used.append(forward is not None and forward[0] is self.data.Xtr)
        return plain(self, t, g, forward)

    monkeypatch.setattr(stages.Recorder, "record", spy)
    reused = run_many(exps, cache=False)
    assert any(used) == (model.get("dropout", 0) == 0 and model["activation"] != "rrelu")
    monkeypatch.setattr(stages.Recorder, "record", lambda self, t, g, forward=None: plain(self, t, g))
    rerun = run_many(exps, cache=False)
    for a, b in zip(reused, rerun):
        assert np.array_equal(a.history.to_numpy(), b.history.to_numpy(), equal_nan=True)
        assert np.array_equal(a.params, b.params)
