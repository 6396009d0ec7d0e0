"""Lesson 6: every number its captions and notices state, checked against the runs (and Ridge)."""
import numpy as np
import pytest

from engine import run_many
from lessons import regularization as R
from lessons.walkthrough import Metric, Table

SPEC = lambda out: out.chart.to_dict()  # noqa: E731


@pytest.fixture(scope="module")
def l2():
    return R.penalty_table(run_many(R.penalty_experiments("l2", 0.3))).set_index("lambda")


@pytest.fixture(scope="module")
def l1():
    return R.penalty_table(run_many(R.penalty_experiments("l1", 0.3))).set_index("lambda")


def test_lambda_grid_is_the_lectures_doubling_grid():
    assert len(R.LAMBDAS) == 12 and R.LAMBDAS[0] == 0
    assert all(b == pytest.approx(2 * a) for a, b in zip(R.LAMBDAS[1:], R.LAMBDAS[2:]))


def test_sweep_is_one_stacked_group():
    from engine.train import group_key

    assert len({group_key(e) for e in R.penalty_experiments("l2")}) == 1
    assert len({group_key(e) for e in R.bagging_experiments()}) == 1


def test_l2_notice(l2):
    assert l2.loc[0.0, "train accuracy"] == 1.0
    assert 1.4 < l2.loc[0.0, "val loss"] < 1.8  # "about 1.6"
    norms = l2["weight norm"]
    up_to = [lam for lam in R.LAMBDAS if lam <= 0.064]
    assert all(norms[a] > norms[b] for a, b in zip(up_to, up_to[1:]))  # falls at every step
    assert norms[0.0] == pytest.approx(38.5, abs=0.5) and norms[0.064] == pytest.approx(1.8, abs=0.1)
    for lam in R.LAMBDAS:
        if lam >= 0.128:
            assert norms[lam] < 0.01
            assert l2.loc[lam, "val loss"] == pytest.approx(np.log(2), abs=0.01)
    assert l2["val loss"].idxmin() == 0.004
    assert l2.loc[0.004, "val loss"] == pytest.approx(0.24, abs=0.01)


def test_l2_on_a_linear_model_is_ridge():
    tab = R.ridge_check()
    assert np.abs(tab.iloc[:, 1] - tab.iloc[:, 2]).max() < 5e-4  # "to 4 decimals"
    assert tab.columns[2].startswith("sklearn Ridge (alpha = 236")


def test_l1_is_sparser_than_l2(l1, l2):
    for lam in R.LAMBDAS[1:]:
        if lam <= 0.064:
            assert l1.loc[lam, "near zero"] >= 0.98
            assert 0.58 <= l2.loc[lam, "near zero"] <= 0.92
            assert l1.loc[lam, "near zero"] > l2.loc[lam, "near zero"]
    gaps = {lam: l1.loc[lam, "near zero"] - l2.loc[lam, "near zero"] for lam in R.LAMBDAS[1:8]}
    assert max(gaps, key=gaps.get) == 0.001
    assert l2.loc[0.001, "near zero"] == pytest.approx(0.59, abs=0.01)
    assert l1.loc[0.001, "train accuracy"] == pytest.approx(0.97, abs=0.01)


def test_inverted_dropout_preserves_the_mean():
    m = R.dropout_masks(0.8)
    assert m["mean_plain"] / m["mean_a"] == pytest.approx(0.8, abs=0.005)
    assert m["mean_inverted"] / m["mean_a"] == pytest.approx(1.0, abs=0.005)
    assert m["mean_inverted"] == pytest.approx(1.0, abs=0.005)


def test_dropout_notice():
    res = run_many(R.dropout_experiments())
    train = [r.final["train_metric"] for r in res]
    assert train[0] == 1.0 and train == sorted(train, reverse=True) and train[-1] == pytest.approx(0.96, abs=0.005)
    none = res[0].final["val_loss"]
    assert 1.4 < none < 1.8
    assert all(r.final["val_loss"] <= none / 2 + 0.05 for r in res[1:])
    for r in res[1:]:
        one = R.mc_dropout(r, 1)
        fifty = R.mc_dropout(r, 50)
        ws = one["weight scaling"]["test loss"]
        assert one["MC dropout (1 passes)"]["test loss"] > ws
        assert fifty["MC dropout (50 passes)"]["test loss"] < ws
    last = R.mc_dropout(res[-1], 50)
    assert last["weight scaling"]["test loss"] == pytest.approx(0.27, abs=0.01)
    assert last["MC dropout (50 passes)"]["test loss"] == pytest.approx(0.25, abs=0.01)


def test_weight_scaling_equals_the_eval_pass():
    r = run_many(R.dropout_experiments())[2]
    from engine import data as D

    s = D.load(r.config.data)
    p = R.predict(r, s.X_test)
    y = s.y_test.astype(int)
    assert float((p.argmax(1) == y).mean()) == pytest.approx(r.final["test_metric"])


def test_noise_notice():
    res = run_many(R.noise_experiments())
    norms = [R.weight_norm(r) for r in res]
    acc = [r.final["train_metric"] for r in res]
    assert all(a > b for a, b in zip(norms, norms[1:]))
    assert norms[0] == pytest.approx(38.5, abs=0.5) and norms[-1] == pytest.approx(16.1, abs=0.2)
    assert acc == sorted(acc, reverse=True) and acc[0] == 1.0 and acc[-1] == pytest.approx(0.87, abs=0.005)
    assert 1.4 < res[0].final["val_loss"] < 1.8
    assert all(r.final["val_loss"] < 0.4 for r in res[1:])


def test_smoothing_notice():
    res = run_many(R.smoothing_experiments())
    conf = [R.confidence(r) for r in res]
    assert conf[0]["train P(true class)"] > 0.998
    for r, c in zip(res, conf):
        assert c["train P(true class)"] == pytest.approx(1 - r.config.reg.label_smoothing, abs=0.01)
    test_conf = [c["test confidence"] for c in conf]
    assert all(a > b for a, b in zip(test_conf, test_conf[1:]))
    assert test_conf[0] == pytest.approx(0.97, abs=0.005) and test_conf[-1] == pytest.approx(0.59, abs=0.005)
    loss = [c["test loss"] for c in conf]
    assert all(x < loss[0] for x in loss[1:])
    assert loss[1] == pytest.approx(0.49, abs=0.01) and loss[0] == pytest.approx(0.76, abs=0.01)
    t = R.smoothed_targets(0.1)
    assert t.iloc[:, 2].sum() == pytest.approx(1.0) and t.iloc[1, 2] == pytest.approx(0.1 / 9)


def test_bagging_notice():
    res = run_many(R.bagging_experiments())
    assert all(r.final["train_metric"] == 1.0 for r in res)
    out = R.bagging(res, R.REPLICAS)
    assert out["bagged"] == 0.875 and out["single"] == pytest.approx(0.825)
    assert np.mean(out["replicas"]) == pytest.approx(0.8575, abs=1e-6)
    assert out["bagged"] > np.mean(out["replicas"]) > out["single"]
    assert out["surface"].shape == (R.GRID, R.GRID)
    # the replicas really are different resamples
    w = [run.config.data.bootstrap for run in res[:-1]]
    assert w == list(range(R.REPLICAS))


def test_early_stopping_notice():
    full, stop = run_many(R.early_experiments(10))
    n = R.total_norm(full).to_numpy()
    assert (np.diff(n) > 0).all()  # grows at every recorded step
    assert n[0] == pytest.approx(16.3, abs=0.1) and n[-1] == pytest.approx(44.8, abs=0.1)
    assert R.weight_norm(full) == pytest.approx(n[-1], rel=1e-4)
    best = int(stop.history.loc[stop.history["val_loss"].idxmin(), "step"])
    assert best == 60 and stop.meta["stopped_at"] == 170
    assert R.weight_norm(stop) == pytest.approx(17.9, abs=0.05)
    assert stop.final["val_loss"] == pytest.approx(0.22, abs=0.005)
    assert full.final["val_loss"] == pytest.approx(1.89, abs=0.01)



def test_l2_step_metrics_follow_the_slider():
    outs = R.LESSON.step("l2").run({"lam": 0.064})
    m = {o.label: o.value for o in outs if isinstance(o, Metric)}
    assert m["best λ (val loss)"] == "0.004" and "val loss at λ = 0.064" in m
    assert any(isinstance(o, Table) for o in outs)


def test_each_step_has_narrative_and_checks():
    assert [s.id for s in R.LESSON.steps] == ["l2", "l1", "dropout", "noise", "smoothing", "bagging", "early",
                                             "check"]
    quiz = R.LESSON.step("check")
    assert len(quiz.checks()) >= 3
    for s in R.LESSON.steps:
        assert s.narrative
        for q in s.checks():
            assert len(q.explanations) == len(q.options) and 0 <= q.answer < len(q.options)


def test_default_views_are_in_the_experiment_list():
    keys = {e.key() for e in R.experiments()}
    for e in (R.penalty_experiments("l2") + R.penalty_experiments("l1") + R.dropout_experiments()
              + R.noise_experiments() + R.smoothing_experiments() + R.bagging_experiments() + R.early_experiments()):
        assert e.key() in keys


def test_weight_count_in_the_narrative():
    (r,) = run_many([R.penalty_experiments("l2")[0]])
    assert len(R._weights(r)) == 4288
    assert "4,288 weights" in R.LESSON.step("l2").narrative
