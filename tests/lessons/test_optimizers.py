"""Lesson 4: the science its notes state, not the cache.

Comparisons between trained networks are the lesson's claims (lessons/optimizers.py, `*_CLAIMS`);
tests/lessons/test_claims.py retrains every one of them with the cache off and asserts it holds in
at least 8 of 10 seeds. This file checks what that test does not: the closed forms and conventions
the notes state, the deterministic race and valley (no seed: exact numbers), the empirical quiz
answers against the demo's own measurement, and that each demo shows every seed."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from engine import SCHEDULES, OptimSpec, RegSpec, run_many
from engine import data as D
from engine.optim import lr_table
from engine.surfaces import SURFACES, trajectory
from lessons import optimizers as O
from lessons.claims import SEEDS, measure
from lessons.theme import OPTIMIZER_COLORS
from lessons.walkthrough import Chart, Metric, Note, Table, flatten
from lessons.words import names_in
from tests.torch_ref import torch_walk

SPEC = lambda out: out.chart.to_dict()  # noqa: E731


def charts_of(outs):
    return [o for o in flatten(outs) if isinstance(o, Chart)]


def tables_of(outs):
    return [o for o in flatten(outs) if isinstance(o, Table)]


def rows_of(chart) -> list[dict]:
    spec = SPEC(chart)
    return [r for rows in spec.get("datasets", {}).values() for r in rows]


def seeds_drawn(outs) -> set:
    return {r["seed"] for c in charts_of(outs) for r in rows_of(c) if "seed" in r}


# ---------------------------------------------------------------- step 1: the learning rate


def test_learning_rate_demo_says_diverged_not_a_broken_chart():
    outs = O.LESSON.step("lr").run({"lr": 1.0})
    notes = [o.text for o in outs if isinstance(o, Note)]
    assert sum("diverged at step" in n for n in notes) >= 2  # 0.3 and 1 diverge in every seed (lr_diverge)
    assert any("rate 1: **diverged at step" in n for n in notes)
    assert any(isinstance(o, Metric) and o.label == "seeds diverged" and o.value.endswith("/ 10") for o in outs)
    for c in charts_of(outs):
        rows = rows_of(c)
        assert rows and all(np.isfinite(v) for r in rows for v in r.values() if isinstance(v, float))
    assert seeds_drawn(outs) == set(SEEDS)


def test_quiz_lower_the_rate_against_the_sweep():
    # "The loss jumps to infinity within a few steps: lower the learning rate" - retrained (cache off):
    # the rates that blow up within 40 updates in every seed are the large ones, and every rate up to
    # 0.03 trains in every seed.
    sweep = O.lr_summary(run_many([e for s in SEEDS for e in O.lr_experiments(300, s)], cache=False))
    div = sweep.groupby("learning rate")["diverged at"]
    early = div.apply(lambda s: s.notna().all() and s.max() <= 40)
    assert list(early.index[early]) == [0.3, 1.0]
    assert div.apply(lambda s: s.isna().all())[[lr for lr in O.LR_GRID if lr <= 0.03]].all()


def test_quadratic_stability_bound_of_the_equation():
    # w <- (1 - eta*lam) w converges iff 0 < eta < 2/lam: on the quadratic surface (lam = 25 along y)
    assert trajectory("quadratic", OptimSpec("sgd", lr=0.079), steps=300)[1]["diverged_at"] is None
    assert trajectory("quadratic", OptimSpec("sgd", lr=0.09), steps=300)[1]["diverged_at"] is not None


# ---------------------------------------------------------------- step 2: batch sizes


def test_batch_update_counts_for_every_seed():
    for s in (0, 7):
        exps = O.batch_experiments(20, 0.1, s)
        assert O.n_train(exps[0].data) == 240  # the notes and the question say 240 points
        steps = {e.train.batch_size: O.updates_per_epoch(240, e.train.batch_size) * 20 for e in exps}
        assert steps == {0: 20, 1: 4800, 16: 300, 64: 60}
    assert 240 // 16 == 15  # the question's answer
    res = run_many(O.batch_experiments(2, 0.1, 0))
    assert {r.config.train.batch_size: r.meta["steps"] for r in res} == {0: 2, 1: 480, 16: 30, 64: 6}


def test_batch_demo_shows_every_seed_and_the_chosen_one():
    outs = O.LESSON.step("batch").run({"seed": 3})
    assert seeds_drawn(outs) == set(SEEDS)
    assert "Seed 3" in tables_of(outs)[0].caption


# ---------------------------------------------------------------- step 3: the race (deterministic)


def test_race_claims_at_the_notebook_rates():
    _, tab = O.race("beale", 1.0, (0.8, 1.6), 300)
    t = tab.set_index("optimizer")
    assert round(t.loc["adam", "distance to minimum"], 3) == 0.006
    assert round(t.loc["sgd", "distance to minimum"], 1) == 0.2
    assert t.drop("sgd_cyclic")["diverged at"].isna().all()


def test_cyclic_blow_up_matches_the_note():
    lrs = lr_table(O.race_specs(1.0)["sgd_cyclic"], 300)
    assert lrs[0] == pytest.approx(1e-4) and int(np.argmax(lrs)) == 100 and lrs[100] == pytest.approx(0.1)
    assert lrs[111] < lrs[110] and round(lrs[111], 3) == 0.089  # falling when it diverges
    paths, tab = O.race("beale", 1.0, (0.8, 1.6), 300, names=("sgd_cyclic",))
    assert tab["diverged at"].iloc[0] == 111
    f = paths.set_index("step")["f"]
    assert f[102] < f[101] and all(f[t + 1] > f[t] for t in range(102, 111))  # climbs from step 103 on
    assert 3 < f[104] / f[103] < 5  # "grows fourfold at step 104"
    s = SURFACES["beale"]
    H = torch.autograd.functional.hessian(lambda v: s.fn(v[0], v[1]), torch.tensor([3.0, 0.5], dtype=torch.float64))
    top = float(torch.linalg.eigvalsh(H).max())
    assert round(top) == 49 and round(2 / top, 3) == 0.041
    assert int(np.argmax(lrs > 2 / top)) < 100  # the rate passed the bound before its peak


def test_race_at_double_rate():
    _, tab = O.race("beale", 2.0, (0.8, 1.6), 300)
    t = tab.set_index("optimizer")
    for name in ("sgd_decay", "momentum", "nesterov"):
        assert t.loc[name, "diverged at"] <= 11
    for name in ("adam", "rmsprop", "adagrad"):
        assert pd.isna(t.loc[name, "diverged at"])
    specs = O.race_specs(1.0)
    assert specs["adam"].lr / specs["momentum"].lr == pytest.approx(40)  # the question's "forty times"


def test_race_uses_pytorch_defaults_as_the_note_says():
    specs = O.race_specs(1.0)
    assert specs["rmsprop"].alpha == 0.99 and specs["rmsprop"].eps == 1e-8 and specs["adam"].eps == 1e-8
    assert specs["adagrad"].eps == 1e-10


def test_race_chart_uses_optimizer_colours_and_survives_extremes():
    for surface in SURFACES:
        for start in ((-4.5, -4.5), (4.5, 4.5), (0.8, 1.6)):
            outs = O.LESSON.step("race").run({"surface": surface, "x0": start[0], "y0": start[1], "mult": 4.0,
                                               "steps": 100})
            spec = SPEC(charts_of(outs)[0])
            enc = [layer.get("encoding", {}) for layer in spec["layer"]]
            scales = [e["color"]["scale"] for e in enc if e.get("color", {}).get("field") == "optimizer"]
            assert scales and scales[0]["range"] == [OPTIMIZER_COLORS[n] for n in O.RACE]


def test_race_scrubber_filters_without_recomputing(monkeypatch):
    """The iteration slider draws each path up to that iteration and a dot at each optimizer's point
    there; the paths are computed once per setting (moving the slider does not rerun the race)."""
    step = O.LESSON.step("race")
    default = step.run({})
    at_end = step.run({"iteration": 300})
    assert SPEC(charts_of(default)[0]) == SPEC(charts_of(at_end)[0])  # the default view: the whole paths
    assert len(SPEC(charts_of(default)[0])["layer"]) == 4  # surface, paths, start, minimum: no dots
    assert step.defaults()["iteration"] == max(O.RACE_STEPS)  # the last iteration of any run length
    calls = []
    real = O.trajectory
    monkeypatch.setattr(O, "trajectory", lambda *a, **k: calls.append(a) or real(*a, **k))
    O._race.cache_clear()
    paths, _ = O.race("beale", 1.0, (0.8, 1.6), 300)
    for it in (0, 1, 50, 299, 300, 500):
        outs = step.run({"iteration": it})
        spec = SPEC(charts_of(outs)[0])
        drawn = [r for r in rows_of(charts_of(outs)[0]) if "optimizer" in r and "step" in r]
        assert max(r["step"] for r in drawn) == min(it, 300)
        if it < 300:  # the dots: one per optimizer, where its path is at that iteration
            assert len(spec["layer"]) == 5
            now = [r for r in spec["datasets"][spec["layer"][4]["data"]["name"]]]
            assert sorted(r["optimizer"] for r in now) == sorted(O.label(n) for n in O.RACE)
            ids = {O.label(n): n for n in O.RACE}  # the chart shows names; the paths keep the configs' ids
            for r in now:  # sgd_cyclic leaves the plane at step 111: its dot stays at its last point
                p = paths[(paths["optimizer"] == ids[r["optimizer"]]) & (paths["step"] == r["step"])].iloc[0]
                assert r["x"] == pytest.approx(p["x"], rel=1e-3)
                last = max(d["step"] for d in drawn if d["optimizer"] == r["optimizer"])
                assert r["step"] == last and (r["step"] == it or ids[r["optimizer"]] == "sgd_cyclic")
    assert len(calls) == len(O.RACE)  # one trajectory per optimizer, for all the slider positions


# ---------------------------------------------------------------- step 2: input normalisation


def test_raw_inputs_through_the_engine_and_old_keys_unchanged():
    from sklearn.preprocessing import StandardScaler

    std, raw = D.load(O.norm_data(True, 3)), D.load(O.norm_data(False, 3))
    assert np.array_equal(raw.raw_train, std.raw_train)  # the same split
    assert np.allclose(raw.X_train, raw.raw_train.astype(np.float32))  # raw: the inputs as they are
    ref = StandardScaler().fit(std.raw_train)
    assert np.allclose(std.X_train, ref.transform(std.raw_train), atol=1e-5)
    assert np.allclose(std.X_test, ref.transform(std.raw_test), atol=1e-5)  # training rows' statistics only
    e = O.norm_experiments("linear", 300, 0)
    assert "standardise" not in e[-1].to_json() and '"standardise":false' in e[0].to_json()
    assert O.lr_experiments(300, 0)[0].key() in {x.key() for x in O.LESSON.step("lr").experiments()}


def test_conditioning_against_numpy():
    """kappa of H = (2/n) X^T X over its non-zero eigenvalues, two independent ways: eigvalsh of the
    StandardScaler design; for raw inputs, the singular values of X restricted to the complement of its
    one null direction (the three origin columns minus the bias column)."""
    from sklearn.preprocessing import StandardScaler

    spec = O.norm_data(True, 0)
    raw = D.load(spec).raw_train
    n = len(raw)
    Z = np.c_[StandardScaler().fit_transform(raw), np.ones(n)]
    lam = np.sort(np.linalg.eigvalsh(2 / n * Z.T @ Z))[::-1]
    assert abs(lam[-1]) < 1e-9 * lam[0]  # one exact zero: the one-hot origin columns
    c = O.conditioning(spec)
    assert c["lam_max"] == pytest.approx(lam[0], rel=1e-9) and c["kappa"] == pytest.approx(lam[0] / lam[-2], rel=1e-6)
    assert c["bound"] == pytest.approx(2 / lam[0])
    X = np.c_[raw, np.ones(n)]
    null = np.r_[np.zeros(6), 1, 1, 1, -1]
    assert np.abs(X @ null).max() == 0
    Q = np.linalg.qr(np.c_[null, np.eye(10)[:, :9]])[0][:, 1:]  # an orthonormal basis of its complement
    craw = O.conditioning(O.norm_data(False, 0))
    assert craw["kappa"] == pytest.approx(np.linalg.cond(X @ Q) ** 2, rel=1e-4)
    assert craw["lam_max"] == pytest.approx(2 / n * np.linalg.svd(X, compute_uv=False)[0] ** 2, rel=1e-9)
    assert craw["kappa"] / c["kappa"] > 1e9  # the notice's "about 10^10"


def test_linear_model_stable_rate_sits_below_the_closed_form_bound():
    res = run_many(O.norm_experiments("linear", 300, 0))
    df = O.norm_summary(res)
    grid = list(O.NORM_LRS)
    for k, std in zip(O.INPUTS, (False, True)):
        bound = O.conditioning(O.norm_data(std, 0))["bound"]
        top = O.largest_stable(df[df["inputs"] == k])
        assert top <= bound < grid[grid.index(top) + 1], k  # the last grid rate below 2/lambda_max
        above = df[(df["inputs"] == k) & (df["learning rate"] > bound)]
        assert not above["stable"].any()


def test_largest_stable_rate_reads_the_grid_as_the_note_says():
    rows = lambda ok: pd.DataFrame({"learning rate": [1e-3, 1e-2, 1e-1, 1.0], "stable": ok})  # noqa: E731
    assert O.largest_stable(rows([True, True, False, True])) == 1e-2  # a later stable rate does not count
    assert math.isnan(O.largest_stable(rows([False, True, True, True])))
    sweep = pd.concat([rows([True, True, s < 8, False]).assign(seed=s, inputs="raw", **{"final train loss": 1.0})
                       for s in SEEDS])
    assert O.stable_over_seeds(sweep, "raw") == 1e-1  # stable in 8 of 10 seeds
    assert O.stable_over_seeds(sweep, "raw", need=9) == 1e-2


def test_normalise_demo_shows_every_seed_for_both_inputs():
    outs = O.LESSON.step("normalise").run({})
    assert seeds_drawn(outs) == set(SEEDS)
    rates, curves = charts_of(outs)
    got = {r["inputs"] for r in rows_of(curves) if "inputs" in r}
    assert got == set(O.INPUTS)
    metrics = {m.label: m.value for m in flatten(outs) if isinstance(m, Metric)}
    assert float(metrics["largest stable rate, standardised"]) / float(metrics["largest stable rate, raw"]) > 1e4
    tab = tables_of(outs)[0].df
    assert list(tab.index) == ["raw", "standardised"]


# ---------------------------------------------------------------- step 4: momentum (deterministic)


def test_momentum_claims():
    _, tab = O.momentum_paths(0.05, 0.8, 100)
    t = tab.set_index("optimizer")
    assert t.loc["sgd", "sign flips of w₂"] == 100 and t.loc["sgd", "distance to minimum"] > 0.01
    assert t.loc["momentum", "distance to minimum"] < 1e-4 and t.loc["nesterov", "distance to minimum"] < 1e-4
    _, hot = O.momentum_paths(0.07, 0.8, 100)
    h = hot.set_index("optimizer")
    assert pd.notna(h.loc["nesterov", "diverged at"]) and pd.isna(h.loc["momentum", "diverged at"])
    assert pd.isna(h.loc["sgd", "diverged at"])
    _, over = O.momentum_paths(0.09, 0.8, 100)
    assert pd.notna(over.set_index("optimizer").loc["sgd", "diverged at"])


# ---------------------------------------------------------------- step 5: AdamW


def test_adamw_conventions():
    adam, l2, adamw = O.decay_experiments(0.01, 4)
    assert adamw.optim.lr * adamw.optim.weight_decay == pytest.approx(1e-4)  # "eta*lambda = 0.0001"
    # this lesson's (lam/2)||w||^2 is the engine's (and Lesson 6's) l2 * ||w||^2 with l2 = lam/2
    assert l2.reg == RegSpec(l2=0.005) and adam.reg == RegSpec() and adamw.reg == RegSpec()
    assert adam.seed == l2.seed == adamw.seed == 4 and adam.data.seed == 4


def test_adamw_decays_biases_too_and_l2_does_not():
    # one AdamW step on zero gradients shrinks every parameter, biases included, by (1 - lr*wd)
    from engine.optim import StackedOptimizer
    p = torch.ones(1, 5, dtype=torch.float64)
    StackedOptimizer(OptimSpec("adamw", lr=0.1, weight_decay=0.5), p).step(p, torch.zeros_like(p), 0.1)
    assert torch.allclose(p, torch.full_like(p, 0.95))


def test_weight_norm_matches_the_parameters():
    adam = run_many(O.decay_experiments(0.01))[0]
    total = np.sqrt(sum(float((ly["W"] ** 2).sum()) for ly in adam.weights()))
    assert float(O.weight_norm(adam).iloc[-1]) == pytest.approx(total, rel=1e-4)


def test_quiz_adamw_answer_against_the_measurement():
    # "AdamW applies weight decay outside the adaptive step": the measurable consequence, retrained on a
    # smaller sweep (3 seeds; the full 10 are in test_claims): the L2 penalty, divided by sqrt(v),
    # shrinks the weights far more than the same lambda as AdamW's decay.
    ev = measure(O.WD_CLAIMS, cache=False, seeds=(0, 1, 2))
    assert ev["wd_norm"].held == 3 and ev["wd_close"].held == 3


# ---------------------------------------------------------------- step 6: schedules


def test_schedule_closed_forms():
    tab = O.schedule_table(0.3)
    peak = tab.groupby("schedule")["lr"].max()
    for s in SCHEDULES:
        if s != "cyclic":
            assert peak[s] <= 0.3 + 1e-12  # "every decaying schedule stays at or below the base rate"
    assert peak["cyclic"] == pytest.approx(0.3 * 6)
    cyc = lr_table(OptimSpec("sgd", lr=0.3, schedule="cyclic"), O.SCHED_STEPS)
    assert O.SCHED_STEPS == 400 and cyc[-1] < 0.3 * 1.1  # two full cycles: it ends back near the base
    assert lr_table(OptimSpec("sgd", lr=0.3, schedule="cyclic"), 301)[300] == pytest.approx(1.8)  # 300: the top


def test_schedule_table_matches_torch_exponential():
    spec = OptimSpec("sgd", lr=0.3, schedule="exponential", decay_rate=0.5, decay_steps=100)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.3)
    sch = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5 ** (1 / 100))
    ref = []
    for _ in range(50):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    np.testing.assert_allclose(lr_table(spec, 50), ref, rtol=1e-9)


# ---------------------------------------------------------------- step 7: real networks


def test_optimizer_charts_use_the_course_colours_and_every_seed():
    outs = O.LESSON.step("networks").run({})
    spec = SPEC(charts_of(outs)[0])
    assert spec["encoding"]["color"]["scale"]["range"] == [OPTIMIZER_COLORS[n] for n in O.NET_OPTS]
    assert seeds_drawn(outs) == set(SEEDS)


# ---------------------------------------------------------------- step 8: batch norm


def test_batch_norm_test_set_is_large():
    split = D.load(O.BN_DATA)
    assert len(split.X_train) == 240 and len(split.X_test) == 1600
    plain, bn = O.bn_experiments("sigmoid", 6, 0.1, 5)
    assert bn.model.batch_norm and not plain.model.batch_norm and plain.seed == bn.seed == 5
    assert math.log(2) == pytest.approx(0.693, abs=5e-4)


# ---------------------------------------------------------------- the lesson as a whole


def test_default_views_are_declared_on_their_steps():
    keys = {e.key() for step in O.LESSON.steps for e in step.experiments()}  # each step's `runs`, default view
    for s in SEEDS:
        for exps in (O.lr_experiments(300, s), O.norm_experiments("leaky_relu", 300, s),
                     O.batch_experiments(20, 0.1, s), O.decay_experiments(0.01, s),
                     O.schedule_experiments(0.3, s), O.net_experiments("digits", 1.0, 200, s),
                     O.bn_experiments("sigmoid", 6, 0.1, s)):
            assert {e.key() for e in exps} <= keys
    for step in O.LESSON.steps:  # the default view's sweep is its claims' sweep
        for c in step.claims:
            assert len(c.seeds) >= 10


def test_each_step_has_words_and_checks():
    assert O.LESSON.id == "optimizers" and O.LESSON.number == 4
    for step in O.LESSON.steps:
        assert step.slide and step.title
        for q in step.checks():
            assert len(q.options) == len(q.explanations) and 0 <= q.answer < len(q.options)
    assert len(O.LESSON.step("check").checks()) >= 3
    for step in O.LESSON.steps:
        for name, default in step.defaults().items():
            assert step.control(name).parse(default) == (default, None)


def test_conventions_are_stated():
    text = {s.id: s.slide + s.notes + s.notice for s in O.LESSON.steps}
    assert "Keras" in text["race"] and "PyTorch" in text["race"]
    assert "biases included" in text["adamw"] and "Lesson 6" in text["adamw"]
    assert "Santurkar" in text["batchnorm"]


def test_tables_have_rows():
    for sid in ("lr", "normalise", "batch", "race", "momentum", "schedules", "networks"):
        tabs = tables_of(O.LESSON.step(sid).run({}))
        assert tabs and all(len(t.df) > 0 for t in tabs), sid


# ---------------------------------------------------------------- teaching: worked numbers, predictions, real code


def test_lr_worked_numbers_against_the_closed_form():
    v = O.lr_worked()
    for k in "abc":
        factor = 1 - v[f"eta_{k}"] * 25
        assert v[f"f_{k}"] == pytest.approx(factor, abs=1e-12)
        assert v[f"w3_{k}"] == pytest.approx(factor ** 3, abs=1e-12)
    assert (v["f_a"], v["f_b"], v["f_c"]) == pytest.approx((0.75, -0.25, -1.25))  # the table's hand column
    assert v["bound"] == pytest.approx(0.08)
    text = O.LESSON.step("lr").worked_text()
    assert not names_in(text) and "-0.2500" in text  # every placeholder filled (LaTeX groups are not names)


def test_momentum_worked_numbers_and_nesterov_look_ahead():
    v = O.momentum_worked()
    eta, beta = v["eta"], v["beta"]
    for k, key in ((1, "s1"), (2, "s2"), (3, "s3"), (100, "s100")):
        assert v[key] == pytest.approx(eta * (1 - beta ** k) / (1 - beta), rel=1e-9)  # a geometric sum
    assert v["limit"] == pytest.approx(0.1) and v["times"] == pytest.approx(10)
    assert (v["p1"], v["p2"]) == pytest.approx((v["l1"], v["l2"]), abs=1e-12)  # PyTorch holds the look-ahead point
    assert abs(v["p2"] - v["w2"]) > 0.1  # ... which is not the look-ahead form's w
    const = torch_walk(torch.optim.SGD, lambda w: np.array([1.0]), [0.0], 100, lr=eta, momentum=beta)[:, 0]
    np.testing.assert_allclose([v["s1"], v["s2"], v["s3"], v["s100"]], -np.diff(const)[[0, 1, 2, 99]], rtol=1e-12)
    pt = torch_walk(torch.optim.SGD, O.valley_grad, SURFACES["quadratic"].start, 3, lr=v["lr"], momentum=v["mu"],
                    nesterov=True)
    np.testing.assert_allclose([v["p1"], v["p2"]], pt[3], rtol=1e-12)  # the numbers torch.optim.SGD gives
    assert not names_in(O.LESSON.step("momentum").worked_text())


@pytest.mark.parametrize("beta, lr", [(0.8, 0.05), (0.9, 0.01), (0.5, 0.03)])
def test_nesterov_look_ahead_form_equals_pytorch_and_the_engine(beta, lr):
    start = SURFACES["quadratic"].start
    ws, looks = O.nesterov_lookahead(O.valley_grad, start, lr, beta, 60)
    ref = torch_walk(torch.optim.SGD, O.valley_grad, start, 60, lr=lr, momentum=beta, nesterov=True)
    np.testing.assert_allclose(ref, looks, rtol=1e-10, atol=1e-12)
    df, _ = trajectory("quadratic", OptimSpec("sgd", lr=lr, momentum=beta, nesterov=True), start, 60)
    np.testing.assert_allclose(df[["x", "y"]].to_numpy(), looks, rtol=1e-9, atol=1e-12)


def test_adam_first_step_is_lr_times_sign_of_the_gradient():
    v = O.adaptive_worked()
    g = np.array([v["g1"], v["g2"]])
    assert list(g) == [-2.5, 25.0]
    lr = v["lr"]
    np.testing.assert_allclose([v["adam1"], v["adam2"]], -lr * np.sign(g), rtol=1e-6)  # a real torch.optim.Adam step
    np.testing.assert_allclose([v["adagrad1"], v["adagrad2"]], -lr * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose([v["rmsprop1"], v["rmsprop2"]], -lr * np.sign(g) / math.sqrt(1 - 0.99), rtol=1e-6)
    np.testing.assert_allclose([v["sgd1"], v["sgd2"]], -lr * g, rtol=1e-12)
    start = SURFACES["quadratic"].start
    for name, cls in (("adam", torch.optim.Adam), ("adagrad", torch.optim.Adagrad), ("rmsprop", torch.optim.RMSprop),
                      ("sgd", torch.optim.SGD)):  # torch's default constants
        ref = torch_walk(cls, O.valley_grad, start, 1, lr=lr)
        np.testing.assert_allclose([v[f"{name}1"], v[f"{name}2"]], ref[1] - ref[0], rtol=1e-12)
    for size in (1e-3, 1.0, 1e3):  # whatever the gradient's size
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.Adam([p], lr=0.1)
        p.grad = torch.tensor([size], dtype=torch.float64)
        opt.step()
        assert float(p.detach()) == pytest.approx(-0.1, rel=1e-4)
    assert not names_in(O.LESSON.step("adaptive").worked_text())


def test_adaptive_valley_numbers_quoted_by_the_words():
    paths, tab = O.adaptive_paths(0.1, 100)
    t = tab.set_index("optimizer")
    assert round(t.loc["adagrad", "distance to minimum"], 2) == 0.96
    assert round(t.loc["adam", "distance to minimum"], 4) == 0.0038
    assert t.loc["rmsprop", "distance to minimum"] < 1e-20
    assert round(t.loc["sgd", "distance to minimum"], 3) == 0.015
    y = paths[paths["optimizer"] == "rmsprop"]["y"].to_numpy()
    assert int((np.diff(np.sign(y)) != 0).sum()) == 99
    assert tab["diverged at"].isna().all()
    assert t.loc["adam", "first step Δw₁"] == pytest.approx(0.1, rel=1e-6)


def test_momentum_and_race_predictions_are_exact():
    _, tab = O.momentum_paths(0.05, 0.8, 100)
    t = tab.set_index("optimizer")["distance to minimum"]
    assert (round(t["momentum"], 6), round(t["nesterov"], 6), round(t["sgd"], 3)) == (0.000013, 0.000003, 0.015)
    _, race = O.race("beale", 1.0, (0.8, 1.6), 300)
    d = race.set_index("optimizer")["distance to minimum"]
    assert d.idxmin() == "adam"
    assert [round(d[k], 3) for k in ("adam", "rmsprop", "nesterov", "momentum")] == [0.006, 0.008, 0.008, 0.013]


def test_race_shows_names_not_ids_and_the_minimum_in_no_optimizer_colour():
    outs = O.LESSON.step("race").run({})
    rows = [r for c in charts_of(outs) for r in rows_of(c)]
    shown = {r["optimizer"] for r in rows if "optimizer" in r}
    assert shown == {O.label(n) for n in O.RACE} and not shown & {"sgd_decay", "sgd_cyclic"}
    spec = SPEC(charts_of(outs)[0])
    marks = [layer["mark"] for layer in spec["layer"] if isinstance(layer.get("mark"), dict)]
    star = [m for m in marks if m.get("shape") == "diamond"][0]
    assert star["fill"] not in OPTIMIZER_COLORS.values()
    assert "lr_table" not in " ".join(c.caption for c in charts_of(O.LESSON.step("schedules").run({})))
    assert "index" not in tables_of(outs)[0].df.index.name and "SGD + decay" in tables_of(outs)[0].df.index


def test_lr_chart_draws_the_highlighted_rate_thick():
    spec = SPEC(charts_of(O.LESSON.step("lr").run({"lr": 0.01}))[0])
    widths = [layer["mark"].get("strokeWidth") for layer in spec["layer"]]
    assert max(widths) >= 4 and min(widths) < 2
    assert any("datum.chosen == 'yes'" in str(layer.get("transform")) for layer in spec["layer"])


def test_zero_grad_loop_is_momentum_with_beta_one():
    """Without zero_grad, .grad holds the sum of every gradient so far: exactly SGD's momentum buffer with
    beta = 1 (torch.optim.SGD(momentum=1, dampening=0)) in a loop that does zero the gradients."""
    X, t = O.moons_tensors(3)
    bug = O.small_net(3)
    losses = O.sgd_loop(bug, X, t, lr=0.1, steps=30, zero_grad=False)
    ref = O.small_net(3)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=1.0)
    ref_losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.BCEWithLogitsLoss()(ref(X).squeeze(1), t)
        loss.backward()
        opt.step()
        ref_losses.append(loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for a, b in zip(bug.parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("lr", O.ZG_LRS)
def test_zero_grad_statements_over_seeds(lr):
    """The words: the runs start identical; without zero_grad the loss rises on about 40% of steps in every
    seed (here: over 30%), the correct loop's never; no seed diverges and both fall overall."""
    df = O.zero_grad_runs(lr)
    summ = O.zero_grad_summary(df).set_index(["seed", "version"])
    with_, without = O.ZG_VERSIONS
    for s in SEEDS:
        assert summ.loc[(s, without), "rises"] > 0.3 and summ.loc[(s, with_), "rises"] == 0
        first = df[(df["seed"] == s) & (df["step"] == 1)].set_index("version")["loss"]
        assert first[with_] == first[without]
        for v in O.ZG_VERSIONS:
            g = df[(df["seed"] == s) & (df["version"] == v)]
            assert np.isfinite(g["loss"]).all() and g["loss"].iloc[-1] < g["loss"].iloc[0]


def test_zero_grad_demo_shows_the_code_that_runs():
    import inspect

    from lessons.walkthrough import Code

    outs = O.LESSON.step("zero_grad").run({})
    code = [o for o in flatten(outs) if isinstance(o, Code)]
    assert code and code[0].source == inspect.getsource(O.sgd_loop) and "opt.zero_grad()" in code[0].source
    assert seeds_drawn(outs) == set(SEEDS)


def test_batch_norm_eval_against_train_mode_over_seeds():
    """model.eval() against a model left in train mode, on the class-sorted test set in batches of 100: the
    words say tens of points lost in every seed (here: over 20), eval mode above 90%, and that train-mode
    predictions move the running averages while eval-mode ones do not."""
    m = O.bn_modes()
    wide = m.pivot(index="seed", columns="mode", values="test accuracy")
    ev, tr = O.BN_MODES
    assert (wide[ev] > 0.9).all() and (wide[ev] - wide[tr] > 0.2).all()
    moved = m.groupby("mode")["running mean moved"]
    assert (moved.max()[ev] == 0) and (m[m["mode"] == tr]["running mean moved"] > 0).all()
    outs = O.LESSON.step("batchnorm").run({})
    import inspect

    from lessons.walkthrough import Code
    assert [o.source for o in flatten(outs) if isinstance(o, Code)] == [inspect.getsource(O.predict)]


def test_recap_and_question_counts():
    from lessons.claims import fill

    ev = {}
    for step in O.LESSON.steps:
        ev.update(step.evidence())
    assert "{" not in fill(O.LESSON.recap, ev).replace("10^{ ", "")
    titles = [s.title for s in O.LESSON.steps]
    for ref in __import__("re").findall(r"\(steps?: \*([^*]+)\*", O.LESSON.recap):
        assert any(t.startswith(ref) for t in titles), ref
    check = O.LESSON.step("check")
    assert check.slide.startswith("Four questions") and len(check.checks()) == 4
    for step in O.LESSON.steps:
        if step.demo is not None:
            assert step.predict is not None and step.checks(), step.id
            for q in (step.predict, *step.checks()):
                assert not any(x.startswith("Right") for x in q.explanations), step.id
