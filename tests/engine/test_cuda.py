"""A CUDA run agrees with the CPU run of the same experiment, per run, within float32 tolerance over a
few steps: by graph replay (engine/graphs.py), eagerly (ENGINE_CUDA_GRAPHS=0) and through autograd
(batch norm). Skipped without CUDA. Only deterministic groups (full batch, no dropout or noise): on
an accelerator the per-step random streams come from engine/rng.py, on the CPU from torch generators.
"""
import numpy as np
import pytest
import torch

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, graphs, run_many

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

STEPS = 12


def _group(**model):
    return [Experiment(data=DataSpec("moons", n=200, seed=1), model=ModelSpec(hidden=(16, 16), **model),
                       optim=OptimSpec("adam", lr=0.01 * (1 + s)), train=TrainSpec(steps=STEPS, record_every=3),
                       seed=s) for s in range(4)]


def _sgd_multiclass():
    return [Experiment(data=DataSpec("blobs3", n=240, seed=2), model=ModelSpec(hidden=(8,), activation="relu"),
                       optim=OptimSpec("sgd", lr=0.1, momentum=0.9), train=TrainSpec(steps=STEPS, record_every=4),
                       seed=s) for s in range(3)]


def _agree(exps):
    cpu = run_many(exps, device="cpu", cache=False)
    gpu = run_many(exps, device="cuda", cache=False)
    for a, b in zip(cpu, gpu):
        assert b.meta["device"] == "cuda" and a.meta["device"] == "cpu"
        assert list(a.history.columns) == list(b.history.columns)
        assert list(a.history["step"]) == list(b.history["step"])
        np.testing.assert_allclose(b.history.to_numpy(), a.history.to_numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b.params, a.params, rtol=1e-4, atol=1e-5)
        for k, v in a.final.items():
            assert b.final[k] == pytest.approx(v, rel=1e-4, abs=1e-5), k


@pytest.mark.parametrize("exps", [_group(activation="tanh"), _group(activation="elu", act_param=1.0),
                                  _sgd_multiclass()], ids=["tanh-adam", "elu-adam", "relu-sgd-softmax"])
def test_cuda_graph_replay_agrees_with_the_cpu(exps):
    e0 = exps[0]
    assert graphs.MIN_STEPS <= STEPS and e0.train.batch_size == 0  # so the group is replayed as a graph
    _agree(exps)


def test_cuda_eager_step_agrees_with_the_cpu(monkeypatch):
    monkeypatch.setenv("ENGINE_CUDA_GRAPHS", "0")
    _agree(_group(activation="tanh"))


def test_cuda_autograd_path_agrees_with_the_cpu():
    _agree(_group(activation="tanh", batch_norm=True))
