"""Lesson 2 (lessons/relu_family.py): formulas against autograd and closed forms, the Leaky and
softmax, and the demos' structure.

The science (every comparison a note or quiz quotes) lives in the lesson's claims, which
tests/lessons/test_claims.py retrains over their seeds with the cache off. The tests here that
train retrain with cache=False and assert with margins; the structural tests read the default
views from the shipped cache where it is there (and retrain them where it is not).
"""
import dataclasses
import inspect
import math
import os
import re
import tempfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import engine
from engine.cache import SHIPPED_DIR, Cache
from engine.model import Layout
from lessons import relu_family as R
from lessons.claims import SEEDS
from lessons.registry import experiments_of
from lessons.theme import ACTIVATION_COLORS
from lessons.walkthrough import Chart, Code, Columns, Metric, Note, Table

X = torch.tensor([-3.0, -1.2, -0.4, 0.3, 0.9, 2.5, 7.0], dtype=torch.float64)  # no kinks (0, 6)


def outs_of(outs, kind):
    found = []
    for o in outs:
        if isinstance(o, Columns):
            for col in o.cols:
                found += outs_of(col, kind)
        elif isinstance(o, kind):
            found.append(o)
    return found


def text_of(outs) -> str:
    parts = []
    for o in outs:
        if isinstance(o, Columns):
            parts += [text_of(c) for c in o.cols]
        else:
            parts += [getattr(o, a, "") or "" for a in ("caption", "text", "value", "label")]
    return " ".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def views():
    """Every step's default view, once."""
    return {s.id: s.run() for s in R.LESSON.steps}


# ---------------------------------------------------------------- formulas


CLOSED = {  # f, f' in closed form
    "sigmoid": (lambda x: 1 / (1 + torch.exp(-x)), lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    "tanh": (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
    "relu": (lambda x: x.clamp(min=0), lambda x: (x > 0).double()),
    "leaky_relu": (lambda x: torch.where(x > 0, x, 0.01 * x), lambda x: torch.where(x > 0, 1.0, 0.01)),
    "prelu": (lambda x: torch.where(x > 0, x, 0.25 * x), lambda x: torch.where(x > 0, 1.0, 0.25)),
    "rrelu": (lambda x: torch.where(x > 0, x, (1 / 8 + 1 / 3) / 2 * x),
              lambda x: torch.where(x > 0, 1.0, (1 / 8 + 1 / 3) / 2)),
    "crelu": (lambda x: x.clamp(min=0), lambda x: (x > 0).double()),
    "elu": (lambda x: torch.where(x > 0, x, torch.exp(x) - 1), lambda x: torch.where(x > 0, 1.0, torch.exp(x))),
    "relu6": (lambda x: x.clamp(0, 6), lambda x: ((x > 0) & (x < 6)).double()),
    "gelu": (lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)),
    "silu": (lambda x: x * torch.sigmoid(x), lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x)))),
    "softplus": (lambda x: torch.log1p(torch.exp(x)), torch.sigmoid),
}
TORCH = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
         "prelu": lambda x: F.prelu(x, torch.tensor([0.25], dtype=x.dtype)),
         "rrelu": lambda x: F.rrelu(x, training=False), "crelu": F.relu, "elu": F.elu, "relu6": F.relu6,
         "gelu": F.gelu, "silu": F.silu, "softplus": F.softplus}


@pytest.mark.parametrize("name", R.FAMILY)
def test_function_and_derivative_match_closed_form_torch_and_autograd(name):
    y, d = R.curve(name, X)
    f, df = CLOSED[name]
    torch.testing.assert_close(y, f(X))
    torch.testing.assert_close(d, df(X).to(d.dtype))
    torch.testing.assert_close(y, TORCH[name](X))
    x = X.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(TORCH[name](x).sum(), x)
    torch.testing.assert_close(d, g)


def test_crelu_keeps_both_signs():
    y = engine.activations.apply("crelu", X)
    torch.testing.assert_close(y, torch.cat([X.clamp(min=0), (-X).clamp(min=0)]))
    # the second layer gains 32 * 10 weights, the output layer 10 * 1
    assert R.n_params((32, 10), "crelu", n_in=5, n_out=1) - R.n_params((32, 10), "relu", n_in=5, n_out=1) == 330
    for act in ("relu", "crelu", "prelu"):
        layout = Layout(engine.ModelSpec(hidden=(32, 10), activation=act), 5, 3)
        assert R.n_params((32, 10), act, n_in=5, n_out=3) == layout.size
    # step 4's question: 32 CReLU units feeding 10 units -> 2 * 32 * 10 = 640 weights
    assert (2 * 32) * 10 == 640


def test_leaky_conventions():
    assert R.leaky_slope(5.5, "x/a") == pytest.approx(1 / 5.5)
    assert R.leaky_slope(100, "x/a") == pytest.approx(0.01)
    assert R.leaky_slope(0.01, "a*x") == pytest.approx(0.01)
    x = torch.tensor([-11.0, -2.0, 3.0], dtype=torch.float64)
    slides = R.curve("leaky_relu", x, slope=R.leaky_slope(5.5, "x/a"))[0]
    torch.testing.assert_close(slides, torch.where(x > 0, x, x / 5.5))
    same = [R.curve("leaky_relu", x, slope=R.leaky_slope(a, c))[0] for a, c in ((100, "x/a"), (0.01, "a*x"))]
    torch.testing.assert_close(same[0], same[1])
    torch.testing.assert_close(same[0], F.leaky_relu(x, 0.01))
    assert 100 / 5.5 == pytest.approx(18.18, abs=0.01)  # "leaks eighteen times more"
    with pytest.raises(ValueError):
        R.leaky_slope(2, "x*a")


def test_properties_table_is_measured():
    p = R.properties(slope=0.01)
    assert list(p.index) == [R.NAMES[n] for n in R.FAMILY]
    assert [i for i in p.index if p.loc[i, "zero-centred"].startswith("yes")] == ["tanh"]
    assert p.loc["ReLU", "f'(0)"] == 0 and p.loc["Leaky ReLU", "f'(0)"] == pytest.approx(0.01)
    assert p.loc["Sigmoid", "range"] == "0 … 1" and p.loc["ReLU6", "range"] == "0 … 6"
    assert p.loc["Leaky ReLU", "range"] == "−∞ … ∞" and p.loc["ELU", "range"] == "−1 … ∞"
    assert p["bounded"].to_dict() == {"Sigmoid": "both", "tanh": "both", "ReLU": "below", "Leaky ReLU": "no",
                                      "PReLU": "no", "RReLU": "no", "CReLU": "below", "ELU": "below",
                                      "ReLU6": "both", "GELU": "below", "SiLU": "below", "Softplus": "below"}
    assert p.loc["ReLU", "saturates"] == "z → −∞" and p.loc["Leaky ReLU", "saturates"] == "never"
    assert p.loc["tanh", "saturates"] == "both sides"
    assert p.loc["Leaky ReLU", "f'(z<0)"] == "0.01 (constant)"
    assert not any("cost" in c for c in p.columns)  # a one-off timing is machine noise, not a property
    # step 1's notice: slope -> 1 far right for all but the bounded ones
    for name in R.FAMILY:
        d = R.curve(name, torch.tensor([30.0], dtype=torch.float64))[1].item()
        assert (abs(d - 1) < 1e-6) == (name not in ("sigmoid", "tanh", "relu6")), name


# ---------------------------------------------------------------- softmax and sigmoid


def test_softmax_sums_to_one_shift_invariance_and_temperature():
    z = torch.tensor([2.0, 1.0, -1.0, 0.5], dtype=torch.float64)
    p = R.softmax(z)
    torch.testing.assert_close(p, torch.softmax(z, -1))
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    for c in (-10.0, 3.0, 100.0, 1000.0):
        torch.testing.assert_close(R.softmax(z + c), p)
    hot, cold = R.softmax(z, 5.0), R.softmax(z, 0.25)
    assert float(hot.max()) < float(p.max()) < float(cold.max())
    torch.testing.assert_close(R.softmax(z, 2.0), torch.softmax(z / 2, -1))


def test_chooser_matches_engine_losses():
    for task, loss in (("regression", "mse"), ("binary", "bce"), ("multiclass", "softmax_ce")):
        assert R.choose(task)["engine loss (auto)"] == loss
        data = {"regression": "autompg", "binary": "moons", "multiclass": "digits"}[task]
        assert engine.Experiment(data=engine.DataSpec(data)).loss == loss
    assert R.choose("multilabel")["output activation"].startswith("sigmoid")
    assert len({R.choose(t)["hidden layers"] for t in R.TASKS}) == 1  # hidden advice never depends on the task


def test_outputs_demo(views):
    outs = views["outputs"]
    metrics = {m.label: m.value for m in outs_of(outs, Metric)}
    assert metrics["Σ softmax"] == "1.000000"
    shifted = R.LESSON.step("outputs").run({"shift": 10.0, "temperature": 5.0})
    m = {x.label: x.value for x in outs_of(shifted, Metric)}
    assert float(m["Δ softmax"]) < 1e-12
    assert float(m["Δ sigmoid"]) > 0.1
    spec = outs_of(outs, Chart)[0].chart.to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["xOffset"]["field"] == "activation"
    tables = outs_of(outs, Table)
    assert len(tables) == 1 and tables[0].df.loc["output activation"].iloc[0] == "softmax"
    # label smoothing is taught once, in Lesson 6: here one line of the notes points there
    step = R.LESSON.step("outputs")
    assert "eps" not in step.defaults() and "Lesson 6" in step.notes
    assert "smooth" not in (step.notice + step.slide).lower()


# ---------------------------------------------------------------- the shipped cache


@pytest.mark.skipif(os.environ.get("ENGINE_SHIPPED_CACHE", "").lower() in ("0", "off", "no"),
                    reason="the shipped cache is switched off")
def test_every_default_and_preset_is_shipped():
    with tempfile.TemporaryDirectory() as tmp:
        shipped = Cache(local_dir=tmp, shipped_dir=SHIPPED_DIR)
        missing = [e for e in experiments_of("relu_family") if shipped.get(e) is None]
    assert not missing, (f"{len(missing)} runs missing: python -c \"from engine.precompute import precompute; from "
                         "lessons.registry import experiments_of; print(precompute(experiments_of('relu_family')))\"")


# ---------------------------------------------------------------- step 1


def test_family_demo(views):
    outs = views["family"]
    spec = outs_of(outs, Chart)[0].chart.to_dict()
    assert len(spec["hconcat"]) == 2
    colour = spec["hconcat"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["leaky_relu", "relu"]
    assert colour["range"] == [ACTIVATION_COLORS["leaky_relu"], ACTIVATION_COLORS["relu"]]
    assert "1/5.5 = 0.1818" in text_of(outs)
    assert outs_of(outs, Table)[0].df.index.tolist() == ["ReLU", "Leaky ReLU", "ELU", "GELU"]  # the main four
    every = R.LESSON.step("family").run({"all": True})
    assert outs_of(every, Table)[0].df.index.tolist() == [R.NAMES[n] for n in R.FAMILY]
    drawn = R.LESSON.step("family").run({"activation": "softplus", "compare": "sigmoid"})
    assert outs_of(drawn, Table)[0].df.index.tolist() == ["Sigmoid", "ReLU", "Leaky ReLU", "ELU", "GELU", "Softplus"]
    steep = R.LESSON.step("family").run({"convention": "a*x", "a": 100.0})
    assert any(isinstance(o, Note) and "slope 100" in o.text for o in steep)
    crelu = R.LESSON.step("family").run({"activation": "crelu", "compare": "elu"})
    assert outs_of(crelu, Chart)


# ---------------------------------------------------------------- every step's claims are the runs its demo shows


def test_default_views_show_the_runs_their_claims_measure():
    shown = {e.key() for s in R.LESSON.steps for v in s.views() for e in s.experiments(v)}
    for step in R.LESSON.steps:
        for claim in step.claims:
            assert {e.key() for e in claim.runs()} <= shown, (step.id, claim.id)
            assert len(claim.seeds) >= 10


def test_claim_sweeps_vary_init_and_data_seed():
    for step in R.LESSON.steps:
        for claim in step.claims:
            for s in (0, 3):
                for e in claim.experiments(s):
                    assert e.seed == s and e.data.seed == s, (claim.id, e)
            # the surfaces' snapshots are only in the runs a chart draws, never in a sweep
            assert all(not e.train.snapshot_steps for e in claim.runs()), claim.id


# ---------------------------------------------------------------- step 2


def test_a_dead_unit_gets_exactly_zero_gradient_and_only_momentum_can_move_it():
    """The quiz's answer in closed form: a unit with w.x + b < 0 on every input gets gradient 0 for w and
    b, so plain gradient descent leaves it; Adam with momentum from earlier steps still moves it."""
    X = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = torch.tensor([[1.0, -1.0], [0.5, 0.5]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.0, -10.0], dtype=torch.float64, requires_grad=True)  # unit 2: dead on every input
    loss = ((torch.relu(X @ w.T + b).sum(1) - 1) ** 2).mean()
    gw, gb = torch.autograd.grad(loss, (w, b))
    assert gw[1].abs().max() == 0 and gb[1] == 0 and gw[0].abs().max() > 0
    for name, make in (("sgd", lambda p: torch.optim.SGD([p], lr=0.1)),
                       ("adam", lambda p: torch.optim.Adam([p], lr=0.1))):
        p = torch.zeros(1, requires_grad=True)
        opt = make(p)
        for g in (1.0, 0.0, 0.0):  # one real gradient, then the unit dies: gradient 0
            before = p.detach().clone()
            p.grad = torch.tensor([g])
            opt.step()
        moved = (p.detach() - before).abs().item()
        assert (moved > 0) == (name == "adam"), name


def test_dying_demo_shows_every_seed_and_the_chosen_one(views):
    outs = views["dying"]
    chart = outs_of(outs, Chart)[0]
    spec = chart.chart.to_dict()
    assert len(spec["hconcat"]) == 3 and [p["title"] for p in spec["hconcat"]] == [
        f"hidden layer {i}" for i in (1, 2, 3)]
    scale = spec["hconcat"][0]["layer"][1]["encoding"]["color"]["scale"]
    assert scale["domain"] == list(R.DYING_ACTS)
    assert scale["range"] == [ACTIVATION_COLORS[a] for a in R.DYING_ACTS]
    assert "10 seeds" in chart.caption and "seed 0's ReLU net, one run" in chart.caption
    table = outs_of(outs, Table)[0].df
    assert table.index.tolist() == ["ReLU", "Leaky ReLU", "ELU", "PReLU"]
    m = {x.label: x.value for x in outs_of(outs, Metric)}
    assert m["Layer 1 revived"].endswith(f"of {len(SEEDS)} seeds")
    other = R.LESSON.step("dying").run({"seed": 3})
    assert "seed 3's ReLU net" in outs_of(other, Chart)[0].caption
    assert "seed 3 dead" in outs_of(other, Table)[0].df.columns


def test_dying_divergence_is_a_message_not_a_broken_chart():
    preset = dict(R.LESSON.step("dying").presets)["SGD, lr 3"]
    outs = R.LESSON.step("dying").run(preset)
    errors = [o for o in outs if isinstance(o, Note) and o.kind == "error"]
    assert errors and all("diverged" in o.text for o in errors)
    assert "**ReLU**:" in " ".join(o.text for o in errors)
    spec = outs_of(outs, Chart)[0].chart.to_dict()
    for rows in spec["datasets"].values():
        assert all(math.isfinite(r["dead"]) for r in rows if "dead" in r)
    assert "diverged" in " ".join(outs_of(outs, Table)[0].df.astype(str).to_numpy().ravel())


def test_plain_gd_preset_is_the_claims_setting():
    step = R.LESSON.step("dying")
    presets = dict(step.presets)
    assert presets["GD, lr 1, bias −1"] == R.PLAIN_GD and presets["Gentle: lr 0.01"] == R.GENTLE
    (gd,) = R.GD_STAYS.experiments(0)
    assert gd.optim.name == "sgd" and gd.optim.momentum == 0 and gd.train.batch_size == 0  # full-batch GD
    assert gd.data.n * gd.data.train_frac <= 1024  # "dead" is tested on every training input


# ---------------------------------------------------------------- step 3


def test_rrelu_random_slopes_versus_eval_mean():
    x, y_tr, y_ev = R.rrelu_draws(0.125, 1 / 3)
    neg = x < 0
    slopes = y_tr[neg] / x[neg]
    assert float(slopes.min()) >= 0.125 - 1e-12 and float(slopes.max()) <= 1 / 3 + 1e-12
    assert float(slopes.std()) > 0.03
    torch.testing.assert_close(y_ev[neg] / x[neg], torch.full_like(x[neg], (0.125 + 1 / 3) / 2))
    torch.testing.assert_close(y_tr[~neg], x[~neg])


def test_slopes_demo(views):
    outs = views["slopes"]
    charts = outs_of(outs, Chart)
    assert len(charts) == 2
    spec = charts[0].chart.to_dict()
    assert len(spec["layer"]) == 2  # every seed thin, the mean thick
    assert "10 seeds" in charts[0].caption or f"{len(SEEDS)} seeds" in charts[0].caption
    m = {x.label: x.value for x in outs_of(outs, Metric)}
    assert m["RReLU eval"] == f"{(0.125 + 1 / 3) / 2:.3f}"
    assert {"a, layer 1", "a, layer 3", "a ≤ 0"} <= set(m)
    swapped = R.LESSON.step("slopes").run({"lower": 0.5, "upper": 0.125})
    assert any(isinstance(o, Note) and "U(0.125, 0.5)" in o.text for o in swapped)


# ---------------------------------------------------------------- step 4


def test_crelu_demo_parameter_counts(views):
    outs = views["crelu"]
    table = outs_of(outs, Table)[0].df
    expect = [R.n_params(hid, act) for _, act, hid in R.crelu_models(16, 2)]
    sizes = [Layout(engine.ModelSpec(hidden=hid, activation=act), 64, 10).size for _, act, hid in R.crelu_models(16, 2)]
    assert table["parameters"].tolist() == expect == sizes
    assert expect[0] < expect[1] < expect[2]  # the notice: CReLU sits between the two baselines
    assert len(outs_of(outs, Chart)[0].chart.to_dict()["layer"]) == 3  # errorbar, a dot per seed, the mean
    assert engine.data.load(R.CRELU.data).y_test.shape[0] == 719  # the chart's axis title


# ---------------------------------------------------------------- step 5


def test_xu_table_and_notice_numbers():
    t = R.XU_TABLE.set_index("activation")
    assert t.loc["RReLU", "CIFAR-100 test"] == 0.4025 and t.loc["ReLU", "CIFAR-10 test"] == 0.1245
    assert (t["CIFAR-100 test"].drop("ReLU") < t.loc["ReLU", "CIFAR-100 test"]).all()  # every leak beat ReLU
    assert t.loc["Leaky ReLU, a = 5.5"].lt(t.loc["Leaky ReLU, a = 100"])[["CIFAR-10 test", "CIFAR-100 test"]].all()
    assert t["CIFAR-100 test"].idxmin() == "RReLU"
    span10 = 100 * (t["CIFAR-10 test"].max() - t["CIFAR-10 test"].min())
    span100 = 100 * (t["CIFAR-100 test"].max() - t["CIFAR-100 test"].min())
    notice = R.LESSON.step("rerun").notice
    assert f"{span10:.2f}" in notice and f"{span100:.2f}" in notice
    for split in ("CIFAR-10", "CIFAR-100"):  # the verdict: RReLU trains worse than PReLU yet tests better
        assert t.loc["RReLU", f"{split} train"] > t.loc["PReLU", f"{split} train"]
        assert t.loc["RReLU", f"{split} test"] < t.loc["PReLU", f"{split} test"]


def test_rerun_is_one_batched_sweep_and_the_verdict_reads_it(views):
    seeds = R.LESSON.step("rerun").control("seeds").default
    assert seeds == len(SEEDS)
    results = engine.run_many(R.rerun_experiments(seeds, 64))  # the runs the view shows
    assert len(results) == seeds * len(R.VARIANTS)
    summary = R.rerun_summary(results, seeds)
    outs = views["rerun"]
    verdict = [o for o in outs if isinstance(o, Note)][0].text
    paired = R.rerun_paired(results, seeds)
    assert verdict == R.rerun_verdict(summary, paired, seeds)
    # the verdict compares paired differences (variant minus ReLU, seed by seed) with their standard error
    err = {label: np.array([100 * (1 - r.final["test_metric"]) for r in results[j * seeds:(j + 1) * seeds]])
           for j, (label, _, _) in enumerate(R.VARIANTS)}
    for _, row in paired.iterrows():
        d = err[row["activation"]] - err["ReLU"]
        assert row["mean diff"] == pytest.approx(d.mean())
        assert row["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(seeds))
        assert (row["lower"], row["equal"], row["higher"]) == ((d < 0).sum(), (d == 0).sum(), (d > 0).sum())
    beyond = (paired["mean diff"].abs() > 2 * paired["se"]).sum()
    assert ("does not separate" in verdict) == (beyond == 0) and "Paired with ReLU" in verdict
    ours = outs_of(outs, Table)[1].df
    assert ours.loc["ReLU", "− ReLU, paired"] == ""
    assert ours.index.tolist() == [v[0] for v in R.VARIANTS]
    spec = outs_of(outs, Chart)[0].chart.to_dict()
    assert len(spec["layer"]) == 3
    assert R.VARIANTS[1][2] == pytest.approx(0.01) and R.VARIANTS[2][2] == pytest.approx(1 / 5.5)
    one = R.LESSON.step("rerun").run({"seeds": 1})
    assert "no spread" in [o for o in one if isinstance(o, Note)][0].text


# ---------------------------------------------------------------- step 6


def test_boundary_demo(views):
    outs = views["boundaries"]
    split = engine.data.load(R.BOUNDARY.data)
    assert len(split.y_train) == 75 and len(split.y_test) == 1925  # the caption's 75 / 1,925
    spec = outs_of(outs, Chart)[0].chart.to_dict()
    assert len(spec["vconcat"]) == 2
    assert len(spec["vconcat"][0]["hconcat"]) == 3 and len(spec["vconcat"][1]["hconcat"]) == 2
    titles = [p["title"] for p in spec["vconcat"][0]["hconcat"][:2]]
    assert titles[0].startswith("ours ReLU · acc") and titles[1].startswith("ours tanh · acc")
    shown = engine.run_many(R.boundary_experiments(2, 0, surface=True))
    assert all(r.snapshots.shape == (1, 48, 48) for r in shown)
    assert f"{shown[0].final['test_metric']:.3f}" in titles[0]
    table = outs_of(outs, Table)[0].df
    assert len(table) == 6 and table.index.str.contains("one run").sum() == 4
    only = R.LESSON.step("boundaries").run({"sklearn": False, "layers": 4, "seed": 2})
    spec = outs_of(only, Chart)[0].chart.to_dict()
    assert len(spec["vconcat"]) == 1 and "seed 2" in outs_of(only, Chart)[0].caption


# ---------------------------------------------------------------- the lesson as a whole


def test_lesson_shape():
    lesson = R.LESSON
    assert lesson.id == "relu_family" and lesson.number == 2
    for step in lesson.steps:
        if step.id == "check":
            continue
        assert step.slide and step.notes and step.notice and step.equation, step.id
        assert step.demo is not None
    quiz = lesson.step("check")
    assert quiz.demo is None and len(quiz.questions) >= 3
    for q in [q for s in lesson.steps for q in s.checks()]:
        assert len(q.explanations) == len(q.options) and 0 <= q.answer < len(q.options)
    for step in lesson.steps:
        for name, values in step.presets:
            for k, v in values.items():
                assert step.control(k).parse(v) == (v, None), (step.id, name, k)
    ids = [re.sub(r"\W", "", s.id) for s in lesson.steps]
    assert len(set(ids)) == len(ids)


def test_cheap_extremes_do_not_crash():
    step = R.LESSON.step("family")
    for act in R.FAMILY:
        assert step.run({"activation": act, "compare": act, "a": 0.01, "convention": "x/a", "alpha": 3.0})
    out = R.LESSON.step("outputs")
    for vals in ({"z1": -6.0, "z2": 6.0, "z3": 6.0, "shift": -10.0, "temperature": 0.1},
                 {"z1": 6.0, "z2": -6.0, "z3": -6.0, "shift": 10.0, "temperature": 10.0,
                  "task": "regression"}):
        assert out.run(vals)
    for layers in (1, 4):
        assert R.LESSON.step("boundaries").run({"layers": layers})


# ---------------------------------------------------------------- step 7: what one hidden layer can do


def test_one_layer_net_is_piecewise_linear_with_a_kink_per_unit():
    """The trained net, evaluated three ways (the lesson's numpy, torch.nn, straight lines between its
    kinks by numpy's interpolation), is one and the same piecewise-linear function, and its error is
    the engine's own training loss."""
    fits = R.one_layer_fits("sine", 16)
    grid = np.linspace(-1, 1, 2001)
    for s in fits.seeds:
        i = fits.row(s)
        net = torch.nn.Sequential(torch.nn.Linear(1, fits.width), torch.nn.ReLU(),
                                  torch.nn.Linear(fits.width, 1)).double()
        with torch.no_grad():
            net[0].weight.copy_(torch.tensor(fits.w[i])[:, None])
            net[0].bias.copy_(torch.tensor(fits.b[i]))
            net[2].weight.copy_(torch.tensor(fits.v[i])[None, :])
            net[2].bias.copy_(torch.tensor([fits.c[i]]))
            reference = net(torch.tensor(grid)[:, None])[:, 0].numpy()
        ours = fits.predict(s, grid)
        np.testing.assert_allclose(ours, reference, atol=1e-12)
        np.testing.assert_allclose(fits.pieces(s, grid).sum(1) + fits.c[i], ours, atol=1e-12)
        k = fits.kinks(s)
        nodes = np.r_[-1.0, k[(k > -1) & (k < 1)], 1.0]
        np.testing.assert_allclose(np.interp(grid, nodes, fits.predict(s, nodes)), ours, atol=1e-9)
        # its training error is what the lesson reports, and what the engine measured (float32)
        y = np.sin(2 * np.pi * R.ONE_X)
        assert fits.mse[i] == pytest.approx(np.mean((fits.predict(s, R.ONE_X) - y) ** 2), rel=1e-9)
        assert fits.mse[i] == pytest.approx(fits.engine_mse[i], rel=1e-4, abs=1e-7)


def test_one_layer_runs_through_the_engine_on_its_training_points():
    """The step's data: the engine's sine1d/bump1d, trained on x = -1, -0.98, ..., 1 in their own units."""
    for target, f in (("sine", lambda x: np.sin(2 * np.pi * x)), ("bump", lambda x: np.exp(-x ** 2 / 0.125))):
        split = engine.data.load(R.ONE_DATA[target])
        np.testing.assert_allclose(split.X_train[:, 0], R.ONE_X, atol=1e-7)
        np.testing.assert_allclose(split.y_train, f(R.ONE_X), atol=1e-6)
        np.testing.assert_allclose(R.one_target(target, R.ONE_X), f(R.ONE_X), atol=1e-12)
    e = R.one_layer_experiment("sine", 16, 3)
    assert e.model.hidden == (16,) and e.model.activation == "relu" and e.optim.name == "adam"
    assert e.train.batch_size == 0 and e.train.steps == R.ONE_STEPS and e.optim.lr == R.ONE_LR
    step = R.LESSON.step("one_layer")
    assert step.runs({"target": "bump", "width": 4, "seed": 0}) == R.one_layer_sweep("bump", 4)


def test_one_layer_hinges_undo_the_input_scaling():
    """A standardised run's units, mapped back to x, predict what the engine predicts on its own inputs."""
    spec = dataclasses.replace(R.ONE_DATA["sine"], standardise=True)
    exp = R.one_layer_experiment("sine", 6, 2).replace(data=spec, train=dict(steps=50))
    res = engine.run(exp, cache=False)
    split = engine.data.load(spec)
    assert split.std[0] == pytest.approx(np.sqrt(np.mean(R.ONE_X ** 2)))  # the scaling is not the identity
    w, b, v, c = R.unit_params(res)
    (hidden, out) = res.weights()
    z = split.X_train.astype(np.float64)
    engine_pred = np.maximum(0, z @ hidden["W"] + hidden["b"]) @ out["W"][:, 0] + out["b"][0]
    ours = np.maximum(0, np.outer(R.ONE_X, w) + b) @ v + c
    np.testing.assert_allclose(ours, engine_pred, atol=1e-5)
    assert np.mean((ours - split.y_train) ** 2) == pytest.approx(res.final["train_loss"], rel=1e-4)


def test_one_layer_closed_form_fits():
    """Least squares on the hinge basis {1, x, max(0, x - k_j)} at the net's own kinks (numpy) can only
    do better than the trained net; the lesson's "best output layer" lies between the two and meets
    the normal equations (its residual is orthogonal to every unit); evenly spaced kinks: scikit-learn's
    linear regression gives the same error, which falls about 16-fold per doubling of the width."""
    from sklearn.linear_model import LinearRegression

    x, y = R.ONE_X, np.sin(2 * np.pi * R.ONE_X)
    fits = R.one_layer_fits("sine", 16)
    for s in fits.seeds:
        i = fits.row(s)
        basis = np.c_[np.ones_like(x), x, np.maximum(0, x[:, None] - fits.kinks(s)[None, :])]
        coef = np.linalg.lstsq(basis, y, rcond=None)[0]
        hinge = np.mean((basis @ coef - y) ** 2)
        units = np.c_[np.maximum(0, np.outer(x, fits.w[i]) + fits.b[i]), np.ones_like(x)]
        coef, ours = R.best_output_layer(x, y, fits.w[i], fits.b[i])
        residual = y - units @ coef
        assert np.abs(units.T @ residual).max() < 1e-9 * max(1.0, np.abs(units).sum())  # the normal equations
        assert ours == pytest.approx(np.mean(residual ** 2), rel=1e-12)
        assert hinge <= ours + 1e-12 and ours <= fits.mse[i] + 1e-12
    even = {n: R.even_fit("sine", n) for n in (8, 16, 32, 64)}
    for n in even:  # the same fit by scikit-learn on the hand-placed units
        k = R.even_kinks(n)
        units = np.maximum(0, x[:, None] - k[None, :])
        sk = LinearRegression().fit(units, y)
        assert even[n] == pytest.approx(np.mean((sk.predict(units) - y) ** 2), rel=1e-6)
        assert len(k) == n and k[0] == -1 and np.all(np.diff(k) > 0)
    for n in (16, 32):
        assert 8 < even[n] / even[2 * n] < 32  # ~ (2)^4 = 16: squared error ~ h^4


def test_one_layer_batched_training_is_each_run_alone():
    both = R.one_layer_fits("bump", 4, (0, 1), cache=False)
    alone = R.one_layer_fits("bump", 4, (1,), cache=False)
    for name in ("w", "b", "v", "c", "mse"):
        np.testing.assert_allclose(getattr(both, name)[1], getattr(alone, name)[0], rtol=1e-5, atol=1e-6)
    model = R.one_layer_experiment("bump", 4).model
    lay = Layout(model, 1, 1)
    init = engine.model.init_row(lay, model, 1)
    piece = lambda kind, layer: init[lay.get(kind, layer).offset:][:lay.get(kind, layer).size]  # noqa: E731
    assert float(piece("W", 0).abs().max()) <= 1 and float(piece("b", 0).abs().max()) <= 1  # nn.Linear's bounds
    assert float(piece("W", 1).abs().max()) <= 4 ** -0.5 and float(piece("b", 1).abs().max()) <= 4 ** -0.5


def test_one_layer_demo(views):
    outs = views["one_layer"]
    fits = R.one_layer_fits("sine", 16)
    metrics = {m.label: m.value for m in outs_of(outs, Metric)}
    k = fits.kinks(0)
    assert metrics["Kinks inside"] == f"{((k > -1) & (k < 1)).sum()} of 16"
    assert metrics["Net's error"] == f"{fits.mse[0]:.2e}"
    assert metrics["Evenly spaced"] == f"{R.even_fit('sine', 16):.2e}"
    fit, err = outs_of(outs, Chart)
    spec = fit.chart.to_dict()
    assert len(spec["layer"]) == 3  # hinges, target and net, kinks
    assert "one run" in spec["title"] and "seed 0" in fit.caption
    assert f"{fits.mse.mean():.2e}" in err.caption and "10 trained nets" in err.caption
    one = R.LESSON.step("one_layer").run({"width": 1, "target": "bump", "seed": 9})
    assert outs_of(one, Metric)[0].value.endswith("of 1")


# ---------------------------------------------------------------- step 8: wide versus deep


def test_width_depth_nets_have_equal_parameter_counts():
    for depth in range(2, 7):
        for units in (4, 8, 16):
            p = R.n_params((units,) * depth, "relu", n_in=2, n_out=1)
            assert p == 3 * units + (depth - 1) * (units + 1) * units + units + 1
            assert abs(4 * R.wide_width(depth, units) + 1 - p) <= 2  # the nearest one-layer width
    deep, wide = engine.run_many(R.wide_deep_experiments(4, 8, 300, 0))
    assert deep.meta["n_params"] == wide.meta["n_params"] == 249
    assert wide.config.model.hidden == (62,) and deep.config.model.hidden == (8, 8, 8, 8)
    split = engine.data.load(deep.config.data)
    assert len(split.y_train) == 600 and len(split.y_test) == 1400  # the caption's numbers


def test_width_depth_demo(views):
    outs = views["width_depth"]
    metrics = {m.label: m.value for m in outs_of(outs, Metric)}
    assert metrics["Deep 4×8"] == metrics["Wide 1×62"] == "249"
    results = engine.run_many(R.wide_deep_sweep())
    ahead = sum(results[2 * i].final["test_metric"] > results[2 * i + 1].final["test_metric"] for i in range(10))
    assert metrics["Deep ahead"] == f"{ahead} of 10"
    deep = np.mean([r.final["test_metric"] for r in results[0::2]])
    assert metrics["Deep acc."] == f"{deep:.3f}"
    strip, curves = outs_of(outs, Chart)
    rows = [row for data in strip.chart.to_dict()["datasets"].values() for row in data]
    assert len(rows) == 2 * len(SEEDS) and {row["seed"] for row in rows} == set(SEEDS)  # every seed drawn
    assert "249 parameters" in curves.caption and "300 steps" in curves.caption
    assert curves.chart.to_dict()["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


# ---------------------------------------------------------------- worked numbers, predictions, recap


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_worked_numbers_match_the_hand_calculation():
    d = R.dying_worked()
    assert d["d_neg"] == 0 and d["n"] == 180  # the moons' 180 training points
    for key, b in (("b0", 0.0), ("b1", -1.0), ("b2", -2.0), ("b3", -3.0)):
        assert d[f"off_{key}"] == pytest.approx(_phi(-b), abs=1e-12)
        if key != "b0":
            assert d[f"all_{key}"] == pytest.approx(_phi(-b) ** 180, rel=1e-9)
    assert round(d["off_b1"], 3) == 0.841 and round(d["all_b3"], 3) == 0.784
    f = R.family_worked()
    assert (f["relu_f"], f["relu_d"]) == (0.0, 0.0)
    assert f["lib_f"] == pytest.approx(-0.02) and f["lib_d"] == pytest.approx(0.01)
    assert f["xa_f"] == pytest.approx(-2 / 5.5) and f["xa_d"] == pytest.approx(1 / 5.5)
    assert f["elu_f"] == pytest.approx(math.exp(-1) - 1) and f["elu_d"] == pytest.approx(math.exp(-1))
    c = R.crelu_worked()
    assert (c["p_same"], c["p_crelu"], c["p_double"]) == (65 * 16 + 17 * 16 + 17 * 10, 65 * 16 + 33 * 16 + 33 * 10,
                                                          65 * 32 + 33 * 32 + 33 * 10) == (1482, 1898, 3466)
    o = R.outputs_worked()
    e = [math.exp(2), math.exp(1), math.exp(-1)]
    assert [o["e1"], o["e2"], o["e3"]] == pytest.approx(e)
    assert [round(o[f"p{i}"], 3) for i in (1, 2, 3)] == [0.705, 0.259, 0.035]
    assert [o[f"p{i}"] for i in (1, 2, 3)] == pytest.approx([v / sum(e) for v in e])
    assert [o[f"s{i}"] for i in (1, 2, 3)] == pytest.approx([1 / (1 + math.exp(-z)) for z in (2, 1, -1)])
    assert round(o["s_sum"], 3) == 1.881


def test_worked_text_is_filled_and_every_demo_step_predicts():
    from lessons.words import names_in

    worked = [s for s in R.LESSON.steps if s.worked]
    assert {s.id for s in worked} >= {"dying", "family", "crelu", "outputs"}
    for s in worked:
        text = s.worked_text()
        assert text and not names_in(text), (s.id, names_in(text))
    for s in R.LESSON.steps:
        if s.demo is not None:
            assert s.predict is not None and s.questions, s.id
            q = s.prediction_filled()
            assert "{" not in " ".join((q.prompt, *q.explanations)).replace("{-", "").replace("e^{", ""), s.id
        for q in s.checks() + ((s.predict,) if s.predict else ()):
            assert not any(x.startswith("Right") for x in q.explanations), s.id


def test_question_count_in_the_words_matches_the_code():
    words = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    quiz = R.LESSON.step("check")
    said = re.match(r"(\w+) questions", quiz.slide)
    assert said and words[said.group(1).lower()] == len(quiz.questions)


def test_recap_quotes_claims_and_names_steps():
    from lessons.claims import fill

    ids = {c.id for s in R.LESSON.steps for c in s.claims}
    quoted = set(re.findall(r"\{(\w+)[.\[]", R.LESSON.recap))
    assert quoted and quoted <= ids
    titles = {s.title for s in R.LESSON.steps}
    named = set(re.findall(r"\*([^*]+)\*", R.LESSON.recap))
    assert named and named <= titles, named - titles
    ev = {}
    for s in R.LESSON.steps:
        ev.update(s.evidence())
    assert "{" not in fill(R.LESSON.recap, ev)


def test_steps_come_problem_first():
    ids = [s.id for s in R.LESSON.steps]
    assert ids[:3] == ["dying", "monitor", "family"]  # the problem, how to see it, then the variants


# ---------------------------------------------------------------- counting dead units (real PyTorch code)


def test_dead_fraction_hook_counts_dead_units_and_cleans_up():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3), torch.nn.ReLU(),
                              torch.nn.Linear(3, 1))
    with torch.no_grad():
        net[0].bias[:2] = -100.0  # two units off on every input
        net[2].bias[0] = -100.0
    x = torch.randn(64, 2)
    assert R.dead_fraction(net, x)[0] >= 0.5 and R.dead_fraction(net, x)[1] >= 1 / 3 - 1e-6
    h1 = torch.relu(net[0](x))
    h2 = torch.relu(net[2](h1))
    assert R.dead_fraction(net, x) == pytest.approx([float((h1 == 0).all(0).float().mean()),
                                                   float((h2 == 0).all(0).float().mean())])
    assert all(not m._forward_hooks for m in net.modules())  # the hooks are removed after the pass


def test_monitor_hook_reads_the_engines_dead_counts_and_the_step_shows_its_source():
    results = engine.run_many([e for s in SEEDS for e in R.monitor_experiments(s)])
    for r in results:
        assert R.monitored(r) == pytest.approx(R.dead_at_end(r), abs=1e-7)  # the hook agrees with the engine
        split = engine.data.load(r.config.data)  # the torch copy is the trained net: same training loss
        logits = R.as_torch(r)(torch.from_numpy(np.array(split.X_train, dtype=np.float32))).detach().reshape(-1)
        y = torch.from_numpy(np.array(split.y_train, dtype=np.float32)).reshape(-1)
        assert float(F.binary_cross_entropy_with_logits(logits, y)) == pytest.approx(r.final["train_loss"],
                                                                                     rel=1e-3, abs=1e-6)
    outs = R.LESSON.step("monitor").run()
    (code,) = outs_of(outs, Code)
    assert code.source == inspect.getsource(R.dead_fraction) and "register_forward_hook" in code.source
    m = {x.label: x.value for x in outs_of(outs, Metric)}
    assert set(m) == {"Dead, lr 0.3", "Test acc., lr 0.3", "Dead, lr 0.01", "Test acc., lr 0.01"}
    table = outs_of(outs, Table)[0].df
    assert len(table) == len(SEEDS)


def test_only_the_first_layer_switches_along_straight_lines():
    """The boundaries step and the quiz: a first-layer unit switches where w.x + b = 0, a straight line of
    the input plane; a second-layer unit switches where a piecewise-linear function of x is 0, a bent line."""
    g = torch.Generator().manual_seed(8)  # a draw whose units switch once on each line below
    W1, b1 = torch.randn(10, 2, generator=g, dtype=torch.float64), torch.randn(10, generator=g, dtype=torch.float64)
    w2 = torch.randn(10, generator=g, dtype=torch.float64)
    xs = torch.linspace(-3, 3, 60001, dtype=torch.float64)

    def crossings(pre):  # where a unit's pre-activation changes sign along each horizontal line y = c
        pts = []
        for c in np.linspace(-1.0, 1.0, 9):
            X = torch.stack([xs, torch.full_like(xs, c)], 1)
            z = pre(X)
            (i,) = torch.nonzero(torch.sign(z[1:]) != torch.sign(z[:-1]))[:, 0].tolist()
            pts.append((float(xs[i]), c))
        return np.array(pts)

    def off_line(pts):  # largest distance of the points from their least-squares line x = m y + q
        A = np.c_[pts[:, 1], np.ones(len(pts))]
        coef = np.linalg.lstsq(A, pts[:, 0], rcond=None)[0]
        return float(np.abs(A @ coef - pts[:, 0]).max())

    first = crossings(lambda X: X @ W1[0] + b1[0])
    second = crossings(lambda X: torch.relu(X @ W1.T + b1) @ w2)
    assert off_line(first) < 1e-3  # straight, up to the grid's spacing
    assert off_line(second) > 0.05  # bent where first-layer units switch
