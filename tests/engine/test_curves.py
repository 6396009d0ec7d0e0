"""The 1-D regression curves (sine1d, bump1d): values against numpy, the interleaved split, target
noise, determinism, what standardisation does to x, a run through the engine, and the keys of
every earlier experiment unchanged."""
import numpy as np
import pytest

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, run_many
from engine import data as D
from engine.cache import SHIPPED_DIR

GRID = dict(n=201, noise=0.0, train_frac=0.5, val_frac=0.25, test_frac=0.25)
CURVES = {"sine1d": lambda x: np.sin(2 * np.pi * x), "bump1d": lambda x: np.exp(-x ** 2 / (2 * 0.25 ** 2))}


@pytest.mark.parametrize("name", sorted(CURVES))
def test_curve_values_and_interleaved_split(name):
    s = D.load(DataSpec(name, standardise=False, **GRID))
    x = np.linspace(-1, 1, 201)
    assert s.task == "regression" and s.n_outputs == 1 and s.feature_names == ("x",)
    np.testing.assert_array_equal(s.raw_train[:, 0], x[0::2])  # the 101 points -1, -0.98, ..., 1
    np.testing.assert_allclose(s.raw_train[:, 0], np.linspace(-1, 1, 101), atol=1e-15)
    np.testing.assert_array_equal(s.raw_val[:, 0], x[1::4])  # validation and test alternate on the midpoints
    np.testing.assert_array_equal(s.raw_test[:, 0], x[3::4])
    for part in ("train", "val", "test"):
        raw = getattr(s, f"raw_{part}")[:, 0]
        np.testing.assert_allclose(getattr(s, f"y_{part}"), CURVES[name](raw), atol=1e-7)
        np.testing.assert_array_equal(getattr(s, f"X_{part}")[:, 0], raw.astype(np.float32))  # not scaled
    assert s.mean[0] == 0 and s.std[0] == 1


def test_other_fractions_spread_the_held_out_rows_evenly():
    s = D.load(DataSpec("sine1d", n=100, noise=0.0, train_frac=0.8, val_frac=0.1, test_frac=0.1))
    assert (len(s.raw_train), len(s.raw_val), len(s.raw_test)) == (80, 10, 10)
    held = np.sort(np.r_[s.raw_val[:, 0], s.raw_test[:, 0]])
    assert np.ptp(np.diff(held)) < 0.03  # evenly spread, up to rounding to the grid
    assert s.raw_train[:, 0].min() == -1 and s.raw_train[:, 0].max() == 1  # the ends train
    only_test = D.load(DataSpec("bump1d", n=50, noise=0.0, train_frac=0.8, val_frac=0.0, test_frac=0.2))
    assert len(only_test.raw_val) == 0 and len(only_test.raw_test) == 10


def test_target_noise_is_seeded_and_leaves_x_alone():
    a = D.load(DataSpec("sine1d", n=201, noise=0.1, seed=3, train_frac=0.5, val_frac=0.25, test_frac=0.25))
    b = D.load(DataSpec("sine1d", n=201, noise=0.1, seed=4, train_frac=0.5, val_frac=0.25, test_frac=0.25))
    X, y, _ = D.raw_data(a_spec := DataSpec("sine1d", n=201, noise=0.1, seed=3))
    ref = np.sin(2 * np.pi * np.linspace(-1, 1, 201)) + np.random.default_rng(3).normal(0, 0.1, 201)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    np.testing.assert_array_equal(X[:, 0], np.linspace(-1, 1, 201))
    np.testing.assert_array_equal(a.raw_train, b.raw_train)  # the split does not depend on the seed
    assert not np.allclose(a.y_train, b.y_train)
    assert 0.07 < np.std(y - np.sin(2 * np.pi * X[:, 0])) < 0.13
    D.load.cache_clear()
    again = D.load(DataSpec("sine1d", n=201, noise=0.1, seed=3, train_frac=0.5, val_frac=0.25, test_frac=0.25))
    np.testing.assert_array_equal(again.y_train, a.y_train)  # deterministic
    assert a_spec.task == "regression"


def test_standardise_scales_x_by_the_training_std():
    s = D.load(DataSpec("bump1d", **GRID))  # standardise=True: x / sqrt(mean x^2) (the grid's mean is 0)
    x = np.linspace(-1, 1, 101)
    assert abs(s.mean[0]) < 1e-15 and s.std[0] == pytest.approx(np.sqrt(np.mean(x ** 2)))
    np.testing.assert_allclose(s.X_train[:, 0], x / s.std[0], atol=1e-6)
    np.testing.assert_allclose(s.y_train, CURVES["bump1d"](x), atol=1e-7)  # targets are never scaled


def test_a_one_layer_relu_net_trains_on_a_curve():
    exps = [Experiment(data=DataSpec("sine1d", standardise=False, **GRID),
                       model=ModelSpec(hidden=(16,), activation="relu", init="torch_default"),
                       optim=OptimSpec("adam", lr=0.02), train=TrainSpec(steps=300, record_every=50), seed=s)
            for s in (0, 1)]
    res = run_many(exps, cache=False)
    for r in res:
        assert r.meta["task"] == "regression" and r.meta["loss"] == "mse"
        hidden, out = r.weights()
        x = np.linspace(-1, 1, 101)
        pred = np.maximum(0, np.outer(x, hidden["W"][0]) + hidden["b"]) @ out["W"][:, 0] + out["b"][0]
        assert np.mean((pred - np.sin(2 * np.pi * x)) ** 2) == pytest.approx(r.final["train_loss"], rel=1e-4)
        assert r.final["train_loss"] < 0.5  # below the variance of the sine (0.5): it learned something


def test_earlier_keys_unchanged_and_every_course_run_shipped():
    before = {"moons": "619c18757ebd05c39fd12a81", "circles": "0740c7acaa3e1102bdf46b1b",
              "xor": "9991f6d5712fd1457a3f93c6", "spiral": "5dc5da6f9d74700237c5ae53",
              "gaussians": "846568c517620a12bdd5ad62", "blobs3": "dedc669a79f06c67745eaff7",
              "digits": "8f51046ffc29a200bf17db75", "autompg": "ee6639e080b65211afbdc8bb"}
    for name, key in before.items():  # computed before sine1d and bump1d existed
        assert Experiment(data=DataSpec(name)).key() == key
    from lessons.registry import all_experiments

    missing = sorted({e.key() for e in all_experiments() if not (SHIPPED_DIR / f"{e.key()}.json").exists()})
    assert not missing, f"{len(missing)} runs not shipped, e.g. {missing[:3]}"
