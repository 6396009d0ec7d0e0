"""Lesson 6: the science its notes state, not the cache.

Every comparison between trained networks is a claim of lessons/regularization.py (`*_CLAIMS`);
tests/lessons/test_claims.py retrains each of them with the cache off and asserts it holds in at least
8 of 10 seeds (the quiz's copies on two seeds: their full sweeps are retrained in their own steps).
This file checks what that test does not: the closed forms and references (Ridge, the inverted-dropout
mean, the smoothed targets in both conventions), that the numpy forward pass the lesson uses for
weight scaling and MC dropout is the engine's own, that the sweeps are single stacked passes, and that
the demos and quiz read the claims. Runs here are retrained (cache=False) where a number is checked.
"""
import re

import numpy as np
import pytest
import torch

from engine import data as D
from engine import run_many
from lessons import regularization as R
from lessons.walkthrough import Chart, Metric, Table, flatten
from lessons.words import names_in  # a placeholder left unfilled (LaTeX braces are not names)
from tests.torch_ref import torch_walk


def test_lambda_grid_is_the_lectures_doubling_grid():
    assert len(R.LAMBDAS) == 12 and R.LAMBDAS[0] == 0
    assert all(b == pytest.approx(2 * a) for a, b in zip(R.LAMBDAS[1:], R.LAMBDAS[2:]))


def test_data_sets_are_large_where_they_score():
    s = D.load(R.base_experiment(0).data)
    assert len(s.X_train) == 100 and len(s.X_val) == 1000 and len(s.X_test) == 1400
    d = D.load(R.smoothing_experiments(0)[0].data)
    assert len(d.X_test) > 1000
    # a seed moves the data as well as the initial weights
    assert not np.allclose(s.raw_train, D.load(R.base_experiment(1).data).raw_train)


def test_sweeps_are_one_stacked_group():
    from engine.train import group_key

    for exps in (R.penalty_experiments("l2", 0) + R.penalty_experiments("l2", 3),
                 R.bagging_experiments(0) + R.bagging_experiments(5),
                 R.dropout_experiments(0)[1:] + R.dropout_experiments(7)[1:],
                 R.smoothing_experiments(0) + R.smoothing_experiments(9)):
        assert len({group_key(e) for e in exps}) == 1
    # augmentation: one stacked pass per training set (none, noise, shifts, shifts + noise) over all seeds
    runs = R.AUG_SHIFT.runs()
    assert len({group_key(e) for e in runs}) == len(R.AUG_KINDS)


def test_l2_step_trains_with_plain_gradient_descent():
    """The weight-decay identity w <- (1 - 2 eta lambda) w holds for gradient descent, not for Adam."""
    assert {e.optim.name for e in R.penalty_experiments("l2", 0) + R.penalty_experiments("l1", 0)} == {"sgd"}
    sgd, adam = R._adam_runs(0)
    assert (sgd.optim.name, adam.optim.name) == ("sgd", "adam") and sgd.reg == adam.reg


def test_one_gradient_step_is_weight_decay():
    """Gradient descent on J + lambda*||W||^2 with J = 0 (no data pull) multiplies W by 1 - 2*eta*lambda."""
    lam, eta = 0.01, 0.1
    w = np.array([0.5, -2.0, 3.0])
    grad = 2 * lam * w
    assert np.allclose(w - eta * grad, (1 - 2 * eta * lam) * w)
    q = R.LESSON.step("l2").checks()[0]
    assert q.options[q.answer] == f"{1 - 2 * eta * lam:g}"


def test_l2_on_a_linear_model_is_ridge():
    R.ridge_check.cache_clear()
    tab = R.ridge_check()
    assert np.abs(tab.iloc[:, 1] - tab.iloc[:, 2]).max() < 5e-4  # "to 4 decimals"
    assert tab.columns[2].startswith("sklearn Ridge (alpha = 236")


def test_inverted_dropout_preserves_the_mean():
    m = R.dropout_masks(0.2)  # p: the drop probability, as torch.nn.Dropout(p)
    assert m["mean_plain"] / m["mean_a"] == pytest.approx(0.8, abs=0.005)
    assert m["mean_inverted"] / m["mean_a"] == pytest.approx(1.0, abs=0.005)
    assert m["mean_inverted"] == pytest.approx(1.0, abs=0.005)


def test_forward_is_the_engines_eval_pass():
    """Weight scaling (dropout off) computed by the lesson equals the engine's own test scores."""
    r = run_many([R.dropout_experiments(0)[2]], cache=False)[0]
    s = D.load(r.config.data)
    p = R.predict(r, s.X_test)
    assert R.accuracy(p, s.y_test) == pytest.approx(r.final["test_metric"], abs=1e-6)
    assert R.log_loss(p, s.y_test) == pytest.approx(r.final["test_loss"], rel=1e-3)
    d = run_many([R.smoothing_experiments(0)[0]], cache=False)[0]
    sd = D.load(d.config.data)
    pd_ = R.predict(d, sd.X_test)
    assert pd_.shape == (len(sd.X_test), 10) and np.allclose(pd_.sum(1), 1)
    assert R.accuracy(pd_, sd.y_test) == pytest.approx(d.final["test_metric"], abs=1e-6)


def test_mc_passes_are_stochastic_and_average_to_about_weight_scaling():
    r = run_many([R.dropout_experiments(0)[-1]], cache=False)[0]
    s = D.load(r.config.data)
    st = R.forward(r, s.X_test, 50, seed=1)
    assert st.shape == (50, len(s.X_test), 2)
    assert not np.allclose(st[0], st[1])  # fresh masks per pass
    assert np.allclose(R.forward(r, s.X_test, 50, seed=1), st)  # seeded
    # no dropout in the net: the "stochastic" passes are the deterministic one
    r0 = run_many([R.dropout_experiments(0)[0]], cache=False)[0]
    assert np.allclose(R.forward(r0, s.X_test, 3)[2], R.predict(r0, s.X_test))


def test_smoothed_targets_in_both_conventions():
    t = R.smoothed_targets(0.1)
    here, torch_keras = t.iloc[:, 2], t.iloc[:, 3]
    assert here.sum() == pytest.approx(1.0) and here.iloc[0] == pytest.approx(0.9)
    assert here.iloc[1] == pytest.approx(0.1 / 9)
    assert torch_keras.sum() == pytest.approx(1.0) and torch_keras.iloc[1] == pytest.approx(0.01)
    assert torch_keras.iloc[0] == pytest.approx(0.91)
    q = R.LESSON.step("smoothing").checks()[0]
    assert "0.011" in q.options[q.answer]


def test_label_smoothing_reaches_its_target_in_the_engine():
    """The engine's smoothed cross-entropy on digits really targets 1 - eps (the eps/(k-1) convention)."""
    r = run_many([R.smoothing_experiments(0)[2]], cache=False)[0]
    c = R.confidence(r)
    assert c["train P(true class)"] == pytest.approx(1 - r.config.reg.label_smoothing, abs=0.015)


def test_bagging_replicas_are_different_resamples():
    exps = R.bagging_experiments(0)
    assert [e.data.bootstrap for e in exps[:-1]] == list(range(R.REPLICAS)) and exps[-1].data.bootstrap == -1
    w = [D.load(e.data).w_train for e in exps[:3]]
    assert not np.allclose(w[0], w[1]) and all(x.sum() == pytest.approx(100) for x in w)


def test_surface_is_a_probability_grid():
    r = run_many([R.base_experiment(0)])[0]
    g = R.surface([r], D.load(r.config.data))
    assert g.shape == (R.GRID, R.GRID) and 0 <= g.min() and g.max() <= 1


def test_every_comparison_is_a_claim_over_ten_seeds():
    steps = [s for s in R.LESSON.steps if s.id not in ("check", "geometry")]  # geometry: exact, tested above
    for s in steps:
        if s.demo is not None:
            assert s.claims, s.id
    assert not R.LESSON.step("geometry").claims
    for s in R.LESSON.steps:
        for c in s.claims:
            assert len(c.seeds) >= 10 and c.min_held >= 8
    quiz = R.LESSON.step("check")
    assert {c.id for c in quiz.claims} == {c.id for c in R.QUIZ_CLAIMS}


def test_notes_quote_no_hard_coded_measurement():
    """The old one-run numbers are gone from the notes (they now come from the claims)."""
    for s in R.LESSON.steps:
        for old in ("38.5", "87.5%", "82.5%", "1.6 of", "0.27", "0.49 at", "step 170", "98%"):
            assert old not in s.notice, (s.id, old)


def test_l2_step_metrics_follow_the_controls():
    outs = flatten(R.LESSON.step("l2").run({"lam": 0.064, "seed": 3}))
    m = {o.label: o.value for o in outs if isinstance(o, Metric)}
    assert "val loss, λ = 0.064" in m
    assert any(isinstance(o, Table) for o in outs)
    assert sum(isinstance(o, Chart) for o in outs) >= 4


def test_each_step_has_words_and_checks():
    ids = {s.id for s in R.LESSON.steps}
    assert {"l2", "l1", "dropout", "noise", "augmentation", "smoothing", "bagging", "early", "check"} <= ids
    quiz = R.LESSON.step("check")
    assert len(quiz.checks()) >= 3
    for s in R.LESSON.steps:
        assert s.slide
        if s.demo is not None:
            assert s.equation and s.notes, s.id
        for q in s.checks():
            assert len(q.explanations) == len(q.options) and 0 <= q.answer < len(q.options)


def test_default_views_are_in_the_experiment_list():
    from lessons.registry import experiments_of

    keys = {e.key() for e in experiments_of("regularization")}
    for s in R.SEEDS:
        for e in (R.penalty_experiments("l2", s) + R.penalty_experiments("l1", s) + R.dropout_experiments(s)
                  + R.noise_experiments(s) + R.smoothing_experiments(s) + R.bagging_experiments(s)
                  + R.early_experiments(s) + R._adam_runs(s) + R.augment_experiments(s)):
            assert e.key() in keys
    assert R.ridge_experiment().key() in keys


def test_weight_count_in_the_narrative():
    (r,) = run_many([R.penalty_experiments("l2")[0]])
    assert len(R._weights(r)) == 1120
    assert "1,120 weights" in R.LESSON.step("l2").notes


# ---------------------------------------------------------------- data augmentation


def test_augmentation_sets_differ_only_in_the_training_rows():
    none, noise, shift, both = R.augment_experiments(3)
    assert (none.data.augment, shift.data.augment, both.data.augment) == ("none", "shift1", "shift1")
    assert noise.reg.input_noise == both.reg.input_noise == R.AUG_SIGMA and none.reg.input_noise == 0
    a, b = D.load(none.data), D.load(shift.data)
    assert len(a.X_train) == 180 and len(b.X_train) == 5 * 180 and len(a.X_test) == 1258
    np.testing.assert_array_equal(a.raw_test, b.raw_test)
    np.testing.assert_array_equal(a.raw_val, b.raw_val)
    assert none.model == shift.model and none.optim == shift.optim and none.train == shift.train


def test_shown_digits_are_the_originals_shifted_by_scipy():
    from scipy import ndimage

    df = R.shifted_digits(2)
    s = D.load(R.augment_experiments(2)[0].data)
    assert set(df["version"]) == set(R.AUG_VERSIONS) and df["digit"].nunique() == R.AUG_SHOWN
    for version, (dy, dx) in zip(R.AUG_VERSIONS, ((0, 0),) + D.SHIFTS1):
        for i in range(R.AUG_SHOWN):
            one = df[(df["version"] == version) & (df["digit"] == i)].sort_values(["row", "col"])
            ref = ndimage.shift(s.raw_train[i].reshape(8, 8), (dy, dx), order=0, mode="constant", cval=0.0)
            np.testing.assert_array_equal(one["ink"].to_numpy().reshape(8, 8), ref)
            assert (one["label"] == s.y_train[i]).all()


def test_augmented_accuracy_matches_sklearn_on_the_numpy_forward_pass():
    """The engine's test accuracy of a net trained on shifted digits equals scikit-learn's accuracy_score
    of the same weights run through the lesson's numpy forward pass; training rows are the 900 images."""
    from sklearn.metrics import accuracy_score, log_loss

    r = run_many([R.augment_experiments(0)[2]], cache=False)[0]
    s = D.load(r.config.data)
    p = R.predict(r, s.X_test)
    assert accuracy_score(s.y_test, p.argmax(1)) == pytest.approx(r.final["test_metric"], abs=1e-6)
    assert log_loss(s.y_test, p, labels=range(10)) == pytest.approx(r.final["test_loss"], rel=1e-4)
    assert accuracy_score(s.y_train, R.predict(r, s.X_train).argmax(1)) == pytest.approx(r.final["train_metric"])


def test_augmentation_demo_draws_digits_seeds_and_metrics():
    outs = flatten(R.LESSON.step("augmentation").run({"seed": 4}))
    charts = [o for o in outs if isinstance(o, Chart)]
    assert len(charts) == 2
    grid, acc = (c.chart.to_dict() for c in charts)
    assert "facet" in grid and grid["facet"]["column"]["field"] == "version"
    rows = [r for rows in acc["datasets"].values() for r in rows]
    assert len(rows) == 10 * len(R.AUG_KINDS) and {r["seed"] for r in rows} == set(R.SEEDS)
    m = {o.label: o.value for o in outs if isinstance(o, Metric)}
    assert m["training images"] == "180 → 900" and "test acc., shifts" in m
    q = R.LESSON.step("augmentation").checks()[0]
    assert "flipped" in q.options[q.answer]


# ---------------------------------------------------------------- issue #17: worked numbers, PyTorch mistakes, geometry


def test_l2_worked_numbers_are_a_real_sgd_step():
    """torch.optim.SGD(weight_decay=2λ) with no data gradient multiplies each weight by 1 - 2ηλ."""
    v = R.l2_shrink_worked()
    factor = 1 - 2 * v["eta"] * v["lam"]
    assert v["wd"] == pytest.approx(2 * v["lam"])
    assert v["factor"] == pytest.approx(factor, abs=1e-12) and factor == pytest.approx(0.996)
    assert (v["w1"], v["w2"], v["w3"]) == pytest.approx((0.5 * factor, -2 * factor, 3 * factor), abs=1e-12)
    assert v["left"] == pytest.approx(factor ** 1000)
    ref = torch_walk(torch.optim.SGD, np.zeros_like, [0.5, -2.0, 3.0], 1, lr=v["eta"], weight_decay=v["wd"])
    np.testing.assert_allclose([v["w1"], v["w2"], v["w3"]], ref[1], rtol=1e-12)  # torch.optim.SGD's step
    text = R.LESSON.step("l2").worked_text()
    assert not names_in(text) and "0.996" in text and "0.996^{ 1000 }" in text


def test_dropout_worked_numbers_are_torch_dropout():
    """nn.Dropout(p) outputs 0 or 1/(1-p), keeps about 1-p of the entries and the mean; eval() is the identity."""
    v = R.dropout_worked()
    assert v["scale"] == pytest.approx(1 / (1 - v["p"])) and v["values"] == [0.0, 1.25]
    assert v["kept"] == pytest.approx(1 - v["p"], abs=0.005) and v["mean"] == pytest.approx(1.0, abs=0.01)
    assert v["eval_same"]
    assert not names_in(R.LESSON.step("dropout").worked_text())


def test_decay_worked_numbers_are_real_adam_and_adamw_steps():
    v = R.decay_worked()
    assert v["adamw_1"] == pytest.approx(2 * (1 - v["lr"] * v["wd"]), abs=1e-12)
    assert v["adamw_100"] == pytest.approx(2 * (1 - v["lr"] * v["wd"]) ** 100, abs=1e-12)
    assert v["adam_1"] == pytest.approx(2 - v["lr"], abs=1e-6)  # lr·g/|g|, whatever wd is
    assert 2 - 100 * v["lr"] <= v["adam_100"] < 1.2  # about lr per step towards 0
    for name, cls in (("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):  # torch.optim's own steps
        ref = torch_walk(cls, np.zeros_like, [2.0], 100, lr=v["lr"], weight_decay=v["wd"])[:, 0]
        assert (v[f"{name}_1"], v[f"{name}_100"]) == pytest.approx((ref[1], ref[100]), rel=1e-12)
    assert not names_in(R.LESSON.step("decay").worked_text())


def test_geometry_solutions_are_exact_and_l1_lands_on_an_axis():
    from sklearn.linear_model import Lasso, Ridge

    g = R.geometry_problem()
    n = len(g.y)
    for lam in R.GEO_LAMBDAS:
        las = Lasso(alpha=lam / 2, tol=1e-12, max_iter=100_000).fit(g.X, g.y).coef_
        rid = Ridge(alpha=n * lam).fit(g.X, g.y).coef_
        assert np.allclose(R.geo_l1(lam), las, atol=1e-6) and np.allclose(R.geo_l2(lam), rid, atol=1e-8)
        assert (R.geo_l2(lam) != 0).all()  # L2 keeps both weights
        on_axis = R.geo_l1(lam)[1] == 0
        assert on_axis == (lam >= 8), lam  # the notice: 1, 2, 4 off the axis; from 8 on, on it
    assert R.geo_l1(6.5)[1] != 0 and R.geo_l1(7.0)[1] == 0  # "from about λ = 7"
    v = R.geometry_worked()
    assert v["pull"] < v["lam"] and v["l1_2"] == 0  # the optimality check the worked numbers make
    # the constrained picture: the L1 solution minimises E over its own diamond (check on a fine boundary grid)
    w = R.geo_l1(R.GEO_LAM)
    c = np.abs(w).sum()
    t = np.linspace(-c, c, 4001)
    border = np.r_[np.c_[t, c - np.abs(t)], np.c_[t, np.abs(t) - c]]
    assert R.geo_loss(w) <= min(R.geo_loss(b) for b in border) + 1e-9
    assert not names_in(R.LESSON.step("geometry").worked_text())


def test_decay_code_shown_is_the_code_that_runs():
    from lessons.walkthrough import Code

    outs = flatten(R.LESSON.step("decay").run({}))
    code = [o for o in outs if isinstance(o, Code)]
    assert code and "torch.optim.AdamW(params" in code[0].source and "weight_decay=wd" in code[0].source
    assert "def fit(" in code[0].source and "def three_optimizers(" in code[0].source


def test_eval_mistake_on_a_real_torch_module():
    """Left in train() mode two calls differ; after eval() they agree and equal the engine's test score."""
    r = run_many(R._eval_runs(0), cache=False)[0]
    m = R.eval_mistake(r)
    assert m["train_dp"] > 0.1 and m["eval_dp"] == 0.0 and m["eval_flips"] == 0.0
    assert m["eval_acc"] == pytest.approx(r.final["test_metric"], abs=1e-6)  # the engine stores float32
    s = D.load(r.config.data)
    p = R.predict(r, s.X_test)[:, 1]
    assert np.allclose(m["eval_a"], p, atol=1e-5)  # the torch module is the lesson's (and engine's) net
    outs = flatten(R.LESSON.step("eval").run({"seed": 0}))
    from lessons.walkthrough import Code

    code = [o for o in outs if isinstance(o, Code)][0].source
    assert "model.eval()" in code and "model.train()" in code


def test_ece_matches_a_direct_count():
    rng = np.random.default_rng(0)
    prob = rng.dirichlet(np.ones(3), 500)
    y = rng.integers(0, 3, 500)
    conf, right = prob.max(1), prob.argmax(1) == y
    ref = 0.0
    for lo in np.arange(10) / 10:
        m = (conf > lo) & (conf <= lo + 0.1)
        if m.any():
            ref += m.mean() * abs(conf[m].mean() - right[m].mean())
    assert R.expected_calibration_error(prob, y) == pytest.approx(ref)


def test_histogram_keeps_tiny_weights_out_of_the_first_bin():
    """Issue #11: the L2 histogram's leftmost bin gathered every weight down to 1e-30; now they are one marked point."""
    k = len(R.LAMBDAS)
    res = run_many(R._l1_runs(0))
    l2 = res[k + R.LAMBDAS.index(0.064)]
    tiny, dead = R.dead_linked(l2)
    assert tiny > 50 and dead >= 0.9 * tiny  # weights of units that are 0 on every training point
    spec = R.weight_histogram({"L1": res[R.LAMBDAS.index(0.064)], "L2": l2}, "t").to_dict()
    rows = [r for rows in spec["datasets"].values() for r in rows]
    lines = [r for r in rows if "hi" in r]
    assert min(r["lo"] for r in lines) == pytest.approx(R.HIST_FLOOR)
    assert sum(r["share"] for r in lines if r["penalty"] == "L2") == pytest.approx(1 - tiny / 1120, abs=1e-6)


def test_predictions_and_recap_are_filled():
    from lessons.claims import fill, measure

    ev = {}
    for s in R.LESSON.steps:
        if s.demo is not None:
            assert s.predict is not None and s.checks(), s.id
    for s in R.LESSON.steps:
        ev.update(measure(s.claims) if s.claims and s.id != "check" else {})
    recap = fill(R.LESSON.recap, ev)
    assert not re.search(r"\{\w+[.\[]", recap) and recap.count("\n- ") + recap.startswith("- ") >= 3
