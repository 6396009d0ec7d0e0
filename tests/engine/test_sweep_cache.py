"""Sweeps equal single runs; divergence is data; the disk cache survives damage; device override."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run, run_many
from engine import sweep as S
from engine.cache import Cache
from engine.config import RESULT_FORMAT_VERSION
from engine.device import pick_device

ROOT = Path(__file__).resolve().parents[2]
BASE = Experiment(data=DataSpec("moons", n=200, seed=0), model=ModelSpec(hidden=(8, 6), activation="tanh"),
                  optim=OptimSpec("adam", lr=0.02), train=TrainSpec(steps=60, record_every=10, batch_size=32))


def mixed():
    return [
        BASE,
        BASE.replace(seed=7),
        BASE.replace(optim=dict(lr=0.005, schedule="cosine_restarts", t0=20)),
        BASE.replace(reg=dict(l2=1e-3, l1=1e-4)),
        BASE.replace(reg=dict(input_noise=0.2, label_smoothing=0.1)),
        BASE.replace(data=dict(kfold=4, fold=2)),
        BASE.replace(data=dict(bootstrap=3)),
        BASE.replace(data=dict(seed=9, noise=0.3)),
        BASE.replace(model=dict(dropout=0.2)),  # its own group (dropout on)
        BASE.replace(model=dict(activation="rrelu", dropout=0.1), seed=2),
        BASE.replace(optim=dict(name="sgd", momentum=0.9, lr=0.1)),  # another optimizer: its own group
    ]


def test_a_run_in_a_sweep_equals_the_same_run_alone():
    exps = mixed()
    together = run_many(exps, cache=False)
    groups = {r.meta["group_size"] for r in together}
    assert max(groups) >= 6  # most of the sweep trained in one stacked pass
    for e, r in zip(exps, together):
        alone = run(e, cache=False)
        assert alone.meta["group_size"] == 1
        np.testing.assert_allclose(r.history.to_numpy(), alone.history.to_numpy(), rtol=2e-4, atol=2e-5)
        for k, v in alone.final.items():
            assert r.final[k] == pytest.approx(v, rel=2e-4, abs=2e-5), k


def test_divergence_is_recorded_and_isolated():
    good = Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=(8,), activation="relu"),
                      optim=OptimSpec("sgd", lr=0.01), train=TrainSpec(steps=80, record_every=10))
    bad = good.replace(optim=dict(lr=20.0))
    res = run_many([good, bad], cache=False)
    assert res[0].meta["group_size"] == 2  # trained side by side in one pass
    assert res[0].meta["diverged_at"] is None and res[0].final["train_metric"] > 0.5
    r = res[1]
    assert r.meta["diverged_at"] is not None and 0 < r.meta["diverged_at"] < 80
    assert np.isnan(r.final["test_loss"])
    assert r.history["step"].max() <= r.meta["diverged_at"]
    solo = run(good, cache=False)
    np.testing.assert_allclose(solo.history.to_numpy(), res[0].history.to_numpy(), rtol=2e-4, atol=2e-5)


def test_early_stopping_stops_and_restores_best():
    e = Experiment(data=DataSpec("moons", n=100, noise=0.4), model=ModelSpec(hidden=(64, 64), activation="relu"),
                   optim=OptimSpec("adam", lr=0.02), train=TrainSpec(steps=2000, record_every=10, patience=5))
    r = run(e, cache=False)
    assert r.meta["stopped_at"] is not None and r.meta["stopped_at"] < 2000
    best = r.history["val_loss"].min()
    assert r.final["val_loss"] == pytest.approx(best, rel=1e-4)


def test_cache_round_trip_and_hits(tmp_path):
    c = Cache(local_dir=tmp_path / "local", shipped_dir=None)
    e = BASE.replace(train=dict(snapshot_steps=(0, 60), grid=16))
    r1 = run(e, cache=c)
    assert r1.meta["cache_hit"] is False
    r2 = run(e, cache=c)
    assert r2.meta["cache_hit"] is True
    np.testing.assert_array_equal(r1.history.to_numpy(), r2.history.to_numpy())
    np.testing.assert_allclose(r1.snapshots, r2.snapshots, atol=1e-3)  # stored as float16
    assert r1.final == r2.final
    assert list(r1.history.columns) == list(r2.history.columns)


@pytest.mark.parametrize("damage", ["truncate_npz", "garbage_json", "empty_json", "version", "other_config",
                                    "missing_npz"])
def test_damaged_entries_are_recomputed_and_replaced(tmp_path, damage):
    c = Cache(local_dir=tmp_path, shipped_dir=None)
    run(BASE, cache=c)
    key = BASE.key()
    j = tmp_path / f"{key}.json"
    npz = next(tmp_path.glob(f"{key}.*.npz"))
    if damage == "truncate_npz":
        npz.write_bytes(npz.read_bytes()[:50])
    elif damage == "garbage_json":
        j.write_text("{not json")
    elif damage == "empty_json":
        j.write_text("")
    elif damage == "missing_npz":
        npz.unlink()
    else:
        doc = json.loads(j.read_text())
        if damage == "version":
            doc["version"] = RESULT_FORMAT_VERSION + 1
        else:
            doc["config"]["seed"] = 12345
        j.write_text(json.dumps(doc))
    assert c.get(BASE) is None
    r = run(BASE, cache=c)
    assert r.meta["cache_hit"] is False
    assert run(BASE, cache=c).meta["cache_hit"] is True  # replaced by a valid entry


def test_shipped_directory_is_read_first_and_never_written(tmp_path):
    shipped, local = tmp_path / "shipped", tmp_path / "local"
    Cache(local_dir=shipped, shipped_dir=None).put(run(BASE, cache=False), folder=shipped)
    before = sorted(p.name for p in shipped.iterdir())
    c = Cache(local_dir=local, shipped_dir=shipped)
    assert run(BASE, cache=c).meta["cache_hit"] is True
    assert not local.exists() or not any(local.iterdir())
    run(BASE.replace(seed=1), cache=c)
    assert sorted(p.name for p in shipped.iterdir()) == before


def test_local_cache_is_bounded_lru(tmp_path):
    c = Cache(local_dir=tmp_path, shipped_dir=None, max_bytes=10**9)
    exps = [BASE.replace(seed=s, train=dict(steps=5)) for s in range(4)]
    run_many(exps, cache=c)
    size = sum(p.stat().st_size for p in tmp_path.iterdir()) / 4
    os.utime(tmp_path / f"{exps[0].key()}.json", (1, 1))  # oldest use
    assert run(exps[1], cache=c).meta["cache_hit"]
    c.max_bytes = int(size * 3.5)
    c.evict()
    assert c.get(exps[0]) is None  # least recently used is gone
    assert all(c.get(e) is not None for e in exps[1:])


def test_two_processes_computing_the_same_key_leave_a_valid_entry(tmp_path):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from engine import *\nfrom engine.cache import Cache\n"
            "e = Experiment(data=DataSpec('moons', n=200), train=TrainSpec(steps=200))\n"
            "r = run(e, cache=Cache(local_dir=%r, shipped_dir=None))\nprint(e.key())") % (str(ROOT), str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    keys = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs) and len(keys) == 1
    e = Experiment(data=DataSpec("moons", n=200), train=TrainSpec(steps=200))
    assert e.key() in keys
    assert Cache(local_dir=tmp_path, shipped_dir=None).get(e) is not None
    assert not list(tmp_path.glob("*.tmp"))


def test_canonical_json_is_stable_across_processes():
    code = ("import sys; sys.path.insert(0, %r)\nfrom engine import *\n"
            "print(Experiment(model=ModelSpec(hidden=[4, 3]), reg=RegSpec(l2=0.1)).key())") % str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == Experiment(model=ModelSpec(hidden=(4, 3)), reg=RegSpec(l2=0.1)).key()
    assert Experiment.from_dict(json.loads(BASE.to_json())) == BASE


@pytest.mark.parametrize("kw,field", [
    (dict(model=ModelSpec), None),
    (dict(data=dict(name="mnist")), "data.name"),
    (dict(data=dict(train_frac=0.5)), "data.train_frac+val_frac+test_frac"),
    (dict(model=dict(hidden=(8, -1))), "model.hidden"),
    (dict(model=dict(activation="swish")), "model.activation"),
    (dict(optim=dict(lr=0.0)), "optim.lr"),
    (dict(optim=dict(lr=-1.0)), "optim.lr"),
    (dict(optim=dict(lr=float("nan"))), "optim.lr"),
    (dict(optim=dict(name="lbfgs")), "optim.name"),
    (dict(train=dict(loss="softmax_ce")), "train.loss"),
    (dict(reg=dict(l2=-0.1)), "reg.l2"),
])
def test_bad_values_rejected_with_field_and_range(kw, field):
    if field is None:
        return
    with pytest.raises(ValueError) as err:
        BASE.replace(**kw)
    assert field in str(err.value) and "must be" in str(err.value)


def test_device_override(monkeypatch):
    monkeypatch.setenv("ENGINE_DEVICE", "cpu")
    assert pick_device().type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("ENGINE_DEVICE", "cuda")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            assert pick_device().type == "cpu"
        assert any("not available" in str(x.message) for x in w)
    monkeypatch.setenv("ENGINE_DEVICE", "tpu")
    with pytest.warns(UserWarning):
        assert pick_device().type == "cpu"


def test_progress_is_reported(tmp_path):
    seen = []
    run_many([BASE, BASE.replace(seed=3)], progress=lambda f, t: seen.append(f), cache=False)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    assert S.default_cache() is S.default_cache()


def test_precompute_fills_a_folder_and_prunes(tmp_path):
    from engine.precompute import precompute
    exps = [BASE.replace(seed=s, train=dict(steps=5)) for s in range(3)]
    st = precompute(exps, tmp_path, progress=None)
    assert st["trained"] == 3
    assert precompute(exps, tmp_path, progress=None)["trained"] == 0
    st = precompute(exps[:1], tmp_path, prune=True, progress=None)
    assert st["removed_files"] == 4
    c = Cache(local_dir=tmp_path / "nothing", shipped_dir=tmp_path)
    assert c.get(exps[0]) is not None and c.get(exps[1]) is None


def test_final_weights_reproduce_the_predictions(tmp_path):
    import torch as T

    from engine import data as D
    e = BASE.replace(train=dict(batch_size=0, steps=30), model=dict(activation="identity", hidden=(5, 4)))
    c = Cache(local_dir=tmp_path, shipped_dir=None)
    r = run(e, cache=c)
    layers = run(e, cache=c).weights()  # through the cache
    assert [ly["W"].shape for ly in layers] == [(2, 5), (5, 4), (4, 1)]
    s = D.load(e.data)
    h = s.X_test
    for ly in layers:
        h = h @ ly["W"] + ly["b"]
    acc = float(((h[:, 0] > 0) == (s.y_test > 0.5)).mean())
    assert acc == pytest.approx(r.final["test_metric"], abs=1e-6)
    assert T.is_tensor(r.params) is False


def test_shipped_cache_can_be_switched_off(monkeypatch, tmp_path):
    from engine.cache import SHIPPED_DIR, Cache

    assert Cache(local_dir=tmp_path).shipped == SHIPPED_DIR
    monkeypatch.setenv("ENGINE_SHIPPED_CACHE", "off")
    assert Cache(local_dir=tmp_path).shipped is None
    assert Cache(local_dir=tmp_path, shipped_dir=tmp_path).shipped == tmp_path  # an explicit folder still counts
