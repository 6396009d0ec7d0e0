"""Lesson 4: every number its captions and notices state, checked against the runs."""
import numpy as np
import pandas as pd
import pytest
import torch

from engine import SCHEDULES, OptimSpec, run_many
from engine.optim import lr_table
from engine.surfaces import SURFACES
from lessons import optimizers as O
from lessons.theme import OPTIMIZER_COLORS
from lessons.walkthrough import Chart, Metric, Note, Table, flatten

SPEC = lambda out: out.chart.to_dict()  # noqa: E731


def charts_of(outs):
    return [o for o in flatten(outs) if isinstance(o, Chart)]


def tables_of(outs):
    return [o for o in flatten(outs) if isinstance(o, Table)]


# ---------------------------------------------------------------- step 1: the learning rate


def test_learning_rate_grid_claims():
    tab = O.lr_summary(run_many(O.lr_experiments(300))).set_index("learning rate")
    ok = tab[tab["diverged at"].isna()]
    assert ok["final train loss"].idxmin() == 0.03
    assert ok.loc[0.0003, "final train loss"] > 10 * ok.loc[0.03, "final train loss"]  # crawls
    assert ok.loc[0.1, "final train loss"] > ok.loc[0.03, "final train loss"]  # already too large
    assert list(tab.index[tab["diverged at"].notna()]) == [0.3, 1.0]  # the two largest diverge
    assert (tab["diverged at"].dropna() <= 30).all()


def test_learning_rate_demo_says_diverged_not_a_broken_chart():
    outs = O.LESSON.step("lr").run({"lr": 1.0})
    notes = [o.text for o in outs if isinstance(o, Note)]
    assert sum("diverged at step" in n for n in notes) == 2
    assert any(isinstance(o, Metric) and o.value.startswith("diverged at step") for o in outs)
    for c in charts_of(outs):
        rows = [r for rows in SPEC(c)["datasets"].values() for r in rows]
        assert rows and all(np.isfinite(v) for r in rows for v in r.values() if isinstance(v, float))


def test_quadratic_stability_bound_of_the_equation():
    # w <- (1 - eta*lam) w converges iff 0 < eta < 2/lam: on the quadratic surface (lam = 25 along y)
    from engine.surfaces import trajectory
    assert trajectory("quadratic", OptimSpec("sgd", lr=0.079), steps=300)[1]["diverged_at"] is None
    assert trajectory("quadratic", OptimSpec("sgd", lr=0.09), steps=300)[1]["diverged_at"] is not None


# ---------------------------------------------------------------- step 2: batch sizes


def test_batch_sizes():
    res = run_many(O.batch_experiments(20, 0.1))
    assert O.n_train(res[0].config.data) == 240
    by = {r.config.train.batch_size: r for r in res}
    assert by[0].meta["steps"] == 20 and by[1].meta["steps"] == 4800 and by[16].meta["steps"] == 300
    assert by[64].meta["steps"] == 60  # 3 full minibatches per epoch
    loss = {b: r.final["train_loss"] for b, r in by.items()}
    assert loss[1] < loss[16] < loss[0] and loss[64] < loss[0]
    assert loss[1] < loss[0] / 3  # "far lower"
    df = O.batch_frame(res)
    assert df.groupby("method")["epoch"].max().round(6).eq(20).all()
    # the stochastic curve is noisy: its loss goes up between records far more often than full batch's
    ups = {m: (np.diff(g["train_loss"].to_numpy()) > 0).mean() for m, g in df.groupby("method")}
    assert ups[O.batch_name(1)] > ups[O.batch_name(0)]
    assert 240 // 16 == 15  # the question's answer


# ---------------------------------------------------------------- step 3: the race


def test_race_claims_at_the_notebook_rates():
    _, tab = O.race("beale", 1.0, (0.8, 1.6), 300)
    t = tab.set_index("optimizer")
    assert t.loc["adam", "distance to minimum"] < 0.05
    assert round(t.loc["adam", "distance to minimum"], 3) == 0.006
    assert t.loc["sgd", "distance to minimum"] > 0.05 and round(t.loc["sgd", "distance to minimum"], 1) == 0.2
    assert t.loc["sgd_cyclic", "diverged at"] == 111
    lrs = lr_table(O.race_specs(1.0)["sgd_cyclic"], 111)
    assert 0.09 < lrs[-1] <= 0.1  # "when its rising rate gets close to 0.1"
    assert t.drop("sgd_cyclic")["diverged at"].isna().all()


def test_race_at_double_rate():
    _, tab = O.race("beale", 2.0, (0.8, 1.6), 300)
    t = tab.set_index("optimizer")
    for name in ("sgd_decay", "momentum", "nesterov"):
        assert t.loc[name, "diverged at"] <= 11
    for name in ("adam", "rmsprop", "adagrad"):
        assert pd.isna(t.loc[name, "diverged at"])


def test_race_chart_uses_optimizer_colours_and_survives_extremes():
    for surface in SURFACES:
        for start in ((-4.5, -4.5), (4.5, 4.5), (0.8, 1.6)):
            outs = O.LESSON.step("race").run({"surface": surface, "x0": start[0], "y0": start[1], "mult": 4.0,
                                               "steps": 100})
            spec = SPEC(charts_of(outs)[0])
            enc = [layer.get("encoding", {}) for layer in spec["layer"]]
            scales = [e["color"]["scale"] for e in enc if e.get("color", {}).get("field") == "optimizer"]
            assert scales and scales[0]["range"] == [OPTIMIZER_COLORS[n] for n in O.RACE]


# ---------------------------------------------------------------- step 4: momentum


def test_momentum_claims():
    _, tab = O.momentum_paths(0.05, 0.8, 100)
    t = tab.set_index("optimizer")
    assert t.loc["sgd", "sign flips of y"] == 100 and t.loc["sgd", "distance to minimum"] > 0.01
    assert t.loc["momentum", "distance to minimum"] < 1e-4 and t.loc["nesterov", "distance to minimum"] < 1e-4
    _, hot = O.momentum_paths(0.07, 0.8, 100)
    h = hot.set_index("optimizer")
    assert pd.notna(h.loc["nesterov", "diverged at"]) and pd.isna(h.loc["momentum", "diverged at"])
    assert pd.isna(h.loc["sgd", "diverged at"])
    _, over = O.momentum_paths(0.09, 0.8, 100)
    assert pd.notna(over.set_index("optimizer").loc["sgd", "diverged at"])


# ---------------------------------------------------------------- step 5: AdamW


def test_adamw_vs_l2_claims():
    adam, l2, adamw = run_many(O.decay_experiments(0.01))
    n = {k: float(O.weight_norm(r).iloc[-1]) for k, r in (("adam", adam), ("l2", l2), ("adamw", adamw))}
    assert n["l2"] < 0.5 * n["adamw"]
    assert l2.final["train_loss"] > adamw.final["train_loss"]
    assert abs(n["adamw"] - n["adam"]) / n["adam"] < 0.05
    assert adamw.config.optim.lr * adamw.config.optim.weight_decay == pytest.approx(1e-4)
    assert l2.config.reg.l2 == pytest.approx(0.005)  # (lam/2)||w||^2 has gradient lam*w


def test_weight_norm_matches_the_parameters():
    adam = run_many(O.decay_experiments(0.01))[0]
    total = np.sqrt(sum(float((ly["W"] ** 2).sum()) for ly in adam.weights()))
    assert float(O.weight_norm(adam).iloc[-1]) == pytest.approx(total, rel=1e-4)


# ---------------------------------------------------------------- step 6: schedules


def test_schedule_claims():
    tab = O.schedule_table(0.3, 300)
    peak = tab.groupby("schedule")["lr"].max()
    for s in SCHEDULES:
        if s != "cyclic":
            assert peak[s] <= 0.3 + 1e-12
    assert peak["cyclic"] == pytest.approx(0.3 * 6)
    loss = {r.config.optim.schedule: r.final["train_loss"] for r in run_many(O.schedule_experiments(0.3))}
    assert min(loss, key=loss.get) == "cyclic"
    for s in ("exponential", "inverse_time", "step", "cosine_restarts"):
        assert loss[s] > loss["constant"]


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


def test_network_race_claims():
    res = dict(zip(O.NET_OPTS, run_many(O.net_experiments("digits", 1.0, 200))))
    loss = {k: r.final["train_loss"] for k, r in res.items()}
    assert loss["momentum"] < loss["sgd"] / 5
    assert all(loss[k] < loss["sgd"] for k in O.NET_OPTS if k != "sgd")
    hot = dict(zip(O.NET_OPTS, run_many(O.net_experiments("digits", 10.0, 200))))
    assert hot["momentum"].final["train_loss"] > 10 and hot["nesterov"].final["train_loss"] > 10
    for k in ("adagrad", "rmsprop", "adam", "adamw"):
        assert hot[k].final["train_loss"] < 0.01


# ---------------------------------------------------------------- step 8: batch norm


def test_batch_norm_claims():
    plain, bn = run_many(O.bn_experiments("sigmoid", 6, 0.1))
    assert plain.final["train_loss"] == pytest.approx(np.log(2), abs=0.005)
    assert plain.final["test_metric"] < 0.6
    assert bn.final["test_metric"] > 0.9
    assert bn.config.model.batch_norm and not plain.config.model.batch_norm


# ---------------------------------------------------------------- the lesson as a whole



def test_optimizer_charts_use_the_course_colours():
    outs = O.LESSON.step("networks").run({})
    spec = SPEC(charts_of(outs)[0])
    assert spec["encoding"]["color"]["scale"]["range"] == [OPTIMIZER_COLORS[n] for n in O.NET_OPTS]


def test_default_views_are_all_in_experiments():
    keys = {e.key() for e in O.experiments()}
    for exps in (O.lr_experiments(300), O.batch_experiments(20, 0.1), O.decay_experiments(0.01),
                 O.schedule_experiments(0.3), O.net_experiments("digits", 1.0, 200),
                 O.bn_experiments("sigmoid", 6, 0.1)):
        assert {e.key() for e in exps} <= keys


def test_each_step_has_narrative_and_checks():
    assert O.LESSON.id == "optimizers" and O.LESSON.number == 4
    assert len(O.LESSON.steps) == 9
    for step in O.LESSON.steps:
        assert step.narrative and step.title
        for q in step.checks():
            assert len(q.options) == len(q.explanations) and 0 <= q.answer < len(q.options)
    assert len(O.LESSON.step("check").checks()) >= 3
    for step in O.LESSON.steps:
        for name, default in step.defaults().items():
            assert step.control(name).parse(default) == (default, None)


def test_tables_have_rows():
    for sid in ("lr", "batch", "race", "momentum", "schedules", "networks"):
        tabs = tables_of(O.LESSON.step(sid).run({}))
        assert tabs and all(len(t.df) > 0 for t in tabs), sid
