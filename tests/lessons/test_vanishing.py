"""Lesson 1: the closed forms its captions state, and the shape of its evidence.

What the notes say about training is a Claim over ten seeds; tests/lessons/test_claims.py retrains
every one of them with the cache off (`-k vanishing`). Here: the closed forms, the one-run facts
(a linear net is one linear map), that quiz answers quote the demos' own claims, and that each
demo shows every seed."""
import numpy as np
import pytest
import torch

from engine import data as D
from engine import run_many
from lessons import vanishing as V
from lessons.walkthrough import Chart, Metric, Note, flatten
from tests.torch_ref import torch_walk

SPEC = lambda out: out.chart.to_dict()  # noqa: E731


@pytest.mark.parametrize("w", [-4.0, -1.0, 0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("x", [-3.0, 0.0, 0.5, 3.0])
def test_sigmoid_product_never_exceeds_the_quarter_bound(w, x):
    df = V.chain_products(w, x, 20)
    sig = df[df.activation == "sigmoid"]
    assert (sig["abs_product"] <= sig["bound"] * (1 + 1e-12)).all()
    assert (sig["derivative"] <= 0.25).all()


def test_chain_numbers_in_the_notice():
    one = V.chain_products(1.0, 0.5, 20).set_index(["activation", "depth"])["abs_product"]
    assert one["sigmoid", 20] < 1e-12 and one["sigmoid", 20] <= 0.25 ** 20
    ratios = [one["sigmoid", L] / one["sigmoid", L + 1] for L in range(1, 20)]
    assert all(4 <= r <= 5 for r in ratios)  # "roughly 4x per layer"
    assert one["relu", 20] == 1.0
    assert one["tanh", 20] > 1e3 * one["sigmoid", 20]  # decays more slowly
    four = V.chain_products(4.0, 0.5, 20).set_index(["activation", "depth"])["abs_product"]
    assert four["sigmoid", 20] < 1e-20
    assert four["relu", 20] == pytest.approx(4.0 ** 20)
    off = V.chain_products(1.0, -0.5, 5)
    assert (off[off.activation == "relu"]["product"] == 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_saturation_grows_with_weight_scale(seed):
    """The notice's fractions hold for any draw of the layer (they move by about a point)."""
    sig = [V.saturation("sigmoid", s, seed=seed)["saturated"] for s in (0.01, 0.2, 1.0, 5.0)]
    assert sig == sorted(sig) and sig[0] == 0 and sig[1] < 0.01
    assert 0.35 < sig[2] < 0.45 and sig[3] > 0.8
    th = V.saturation("tanh", 1.0, seed=seed)["saturated"]
    assert 0.6 < th < 0.7
    md = [V.saturation("sigmoid", s)["mean_derivative"] for s in (0.2, 1.0, 5.0)]
    assert md == sorted(md, reverse=True) and md[0] < 0.25


def test_composition_claims():
    df = V.compositions(6)
    relu = df[df.activation == "relu"]
    base = relu[relu.k == 1]["y"].to_numpy()
    for k in range(2, 7):
        np.testing.assert_array_equal(relu[relu.k == k]["y"].to_numpy(), base)  # idempotent
    st = V.composition_stats(df).set_index(["activation", "k"])
    assert 0.04 < st.loc[("sigmoid", 3), "output range"] < 0.06
    for k in range(1, 7):
        assert st.loc[("sigmoid", k), "steepest slope"] <= 0.25 ** k + 1e-9
    for k in range(1, 6):
        assert st.loc[("sigmoid", k + 1), "steepest slope"] <= st.loc[("sigmoid", k), "steepest slope"] / 4
    assert st.loc[("relu", 6), "steepest slope"] == pytest.approx(1.0)


@pytest.mark.parametrize("data", ["circles", "xor", "moons", "spiral"])
def test_linear_network_is_one_linear_map(data):
    """A closed-form fact checked on one retrained run per data set (the comparisons over seeds are
    the claims l_logistic and l_relu, retrained by tests/lessons/test_claims.py)."""
    lin, _ = run_many(V.collapse_experiments(data, 4), cache=False)
    chk = V.collapse_check(lin)
    assert chk["max_diff"] < 1e-5
    # one linear map can do no better than the best linear classifier, and trains to about its level
    assert lin.final["test_metric"] <= V.logistic_accuracy(data) + 0.03
    assert lin.final["test_metric"] == pytest.approx(V.logistic_accuracy(data), abs=0.05)
    # the snapshot's boundary is the line W x + b = 0 (in standardised coordinates)
    s = D.load(lin.config.data)
    x0, x1, y0, y1 = lin.meta["extent"]
    G = lin.snapshots.shape[-1]
    gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
    z = s.standardise(np.c_[gx.ravel(), gy.ravel()]) @ chk["W"] + chk["b"]
    agree = ((lin.snapshots[-1].ravel() > 0.5) == (z > 0)) | (np.abs(z) < 1e-2)
    assert agree.mean() > 0.99


def test_claims_cover_what_the_notes_compare():
    """Every training step's notes quote claims over ten seeds, never a cached run's numbers."""
    for sid in ("playground", "gradients", "init", "linear", "check"):
        step = V.LESSON.step(sid)
        assert step.claims, sid
        assert all(len(c.seeds) >= 10 and c.min_held >= 8 for c in step.claims)
    texts = " ".join([V.LESSON.step(s).notice for s in ("playground", "gradients", "linear")])
    for stale in ("68%", "73%", "100%", "0.1%", "1e-3", "2-4x", "near chance"):
        assert stale not in texts, stale


def test_quiz_claims_are_the_demos_measurements():
    """The quiz's empirical answers quote the same runs and statistics as the demos' claims."""
    pairs = ((V.Q_RATIO, V.G_RATIO), (V.Q_RELU, V.P_RELU3), (V.Q_EASY, V.P_EASY), (V.Q_LINEAR, V.L_LOGISTIC))
    for q, c in pairs:
        assert q.id != c.id and q.runs() == c.runs() and q.statistic is c.statistic and q.holds is c.holds
    assert {c.id for c in V.LESSON.step("check").claims} == {"q_ratio", "q_relu", "q_easy", "q_linear"}


def test_claim_sweeps_are_the_demos_runs():
    """The default views draw exactly the runs the claims measure (one cache entry each, shipped)."""
    sweep = [e for s in V.SEEDS for e in V.gradient_experiments("spiral", 6, 16, 0.5, V.GRAD_STEPS, s)]
    assert sweep == V.G_RATIO.runs() == V.G_ACC.runs() == V.G_COLLAPSE.runs()
    assert V.GRADIENTS.experiments() == sweep  # the default view draws the claims' runs
    lin = [e for s in V.SEEDS for e in V.collapse_experiments("circles", 4, s, snapshots=False)]
    assert lin == V.L_LOGISTIC.runs() == V.L_RELU.runs()
    assert V.LINEAR.experiments()[2:] == lin
    for e in V.P_RELU3.runs() + V.G_RATIO.runs() + V.L_RELU.runs():
        assert e.train.snapshot_steps == ()  # no surfaces in sweeps
        assert len(D.load(e.data).y_test) >= 1000  # one test point < 0.1 percentage points
    assert {e.seed for e in V.P_ADAM.runs()} == set(V.SEEDS)
    assert all(e.data.seed == e.seed for e in V.P_ADAM.runs())  # data and init vary together


def test_playground_is_one_run_labelled_with_every_seed_beside_it():
    outs = flatten(V.LESSON.step("playground").run({"seed": 3}))
    titles = [str(o.chart.to_dict().get("title", "")) for o in outs if isinstance(o, Chart)]
    assert any("Seed 3, one run" in t for t in titles)
    assert any(o.label == "test (seed 3)" for o in outs if isinstance(o, Metric))
    strip = [o for o in outs if isinstance(o, Chart) and "seeds 0-9" in o.caption][0]
    rows = [r for rows in strip.chart.to_dict()["datasets"].values() for r in rows if "preset" in r]
    assert {(r["preset"], r["seed"]) for r in rows} >= {(p, s) for p in V.PRESET_NAMES for s in V.SEEDS}


def test_gradients_demo_shows_every_seed():
    outs = flatten(V.LESSON.step("gradients").run({}))
    data = [r for o in outs if isinstance(o, Chart) for rows in o.chart.to_dict()["datasets"].values() for r in rows]
    ratios = [r for r in data if "log10 first / output" in r]
    assert len(ratios) == 3 * len(V.SEEDS)
    acc = [r for r in data if "test accuracy" in r]
    assert {(r["activation"], r["seed"]) for r in acc} == {(a, s) for a in V.SQUASH for s in V.SEEDS}


def test_chain_chart_carries_the_bound():
    outs = V.LESSON.step("chain").run({"weight": 1.0, "x": 0.5, "depth": 20})
    data = [row for rows in SPEC(outs[0])["datasets"].values() for row in rows]
    bound = [r for r in data if r.get("label", "").startswith("sigmoid bound")]
    assert len(bound) == 20 and bound[-1]["bound"] == pytest.approx(0.25 ** 20)


def test_diverging_playground_says_so():
    outs = V.LESSON.step("playground").run({"data": "spiral", "depth": 8, "width": 32, "activation": "relu",
                                            "lr": 10.0, "steps": 100})
    notes = [o for o in outs if isinstance(o, Note) and o.kind == "error"]
    assert notes and "diverged at step" in notes[0].text.lower() and notes[0].text.key == "playground.diverged"
    assert any(isinstance(o, Metric) and o.value == "—" for o in outs)


def test_each_step_has_words_and_checks():
    quiz = V.LESSON.step("check")
    assert len(quiz.checks()) >= 3
    for q in quiz.checks():
        assert len(q.explanations) == len(q.options) and 0 <= q.answer < len(q.options)
    assert all(s.title and s.slide for s in V.LESSON.steps)
    for sid in ("chain", "saturation", "composition", "linear"):  # the steps that derive something
        assert V.LESSON.step(sid).equation, sid


def test_adam_rescue_is_one_click():
    """The playground's notice suggests switching preset 3 to Adam: a preset does it, and it is shipped."""
    step = V.LESSON.step("playground")
    assert ("3 + Adam, lr 0.01", V.ADAM_RESCUE) in step.presets
    assert V.play_experiment(**V.ADAM_RESCUE) in step.experiments(V.ADAM_RESCUE)


# ---------------------------------------------------------------- initialisation


@pytest.mark.parametrize("init, fan_in, fan_out", [
    ("xavier_normal", 16, 16), ("xavier_uniform", 16, 16), ("he_normal", 16, 16), ("he_uniform", 16, 16),
    ("xavier_normal", 2, 16), ("he_normal", 64, 10), ("xavier_uniform", 100, 30), ("normal", 16, 16)])
def test_engine_draws_have_the_closed_form_std(init, fan_in, fan_out):
    """The engine's weight draws against the closed forms (Glorot & Bengio 2010, He et al. 2015) and
    against torch.nn.init's own draws of the same shape; uniform schemes have bound sqrt(3) * std."""
    import math

    import torch

    from engine import ModelSpec
    from engine.model import Layout, init_stack

    spec = ModelSpec(hidden=(fan_out,), activation="relu", init=init, init_std=0.01)
    lay = Layout(spec, fan_in, 1)
    p = lay.get("W", 0)
    seeds = list(range(200))
    w = init_stack(lay, [spec] * len(seeds), seeds)[:, p.offset: p.offset + p.size].double()
    closed = {"xavier": math.sqrt(2 / (fan_in + fan_out)), "he": math.sqrt(2 / fan_in), "normal": 0.01}
    want = closed[init.split("_")[0]]
    n = w.numel()
    assert float(w.std()) == pytest.approx(want, rel=5 / math.sqrt(2 * n) + 1e-3)  # 5 sampling SEs of a std
    assert abs(float(w.mean())) < 5 * want / math.sqrt(n)
    if init.endswith("uniform"):
        assert float(w.abs().max()) <= math.sqrt(3) * want * (1 + 1e-6)
    if init != "normal":
        ref = torch.empty(n // fan_in, fan_in, dtype=torch.float64)  # torch's (out, in) layout
        torch.manual_seed(0)
        fn = {"xavier_normal": lambda t: torch.nn.init.xavier_normal_(t),
              "xavier_uniform": lambda t: torch.nn.init.xavier_uniform_(t),
              "he_normal": lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu"),
              "he_uniform": lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu")}[init]
        for block in ref.split(fan_out):  # one (fan_out, fan_in) matrix at a time, so torch sees the same fans
            fn(block)
        assert float(ref.std()) == pytest.approx(want, rel=5 / math.sqrt(2 * n) + 1e-3)
    if init in ("xavier_normal", "he_normal") and fan_in in (2, 16) and fan_out == 16:
        c = V.draw_check(init.split("_")[0], fan_in, fan_out)  # the metrics the slide shows
        assert c["formula"] == pytest.approx(want) and c["measured"] == pytest.approx(want, rel=0.03)


def test_signal_profile_is_what_the_engine_records():
    """The step computes activations itself from `init_stack`'s rows: they match the engine's own
    history at step 0 (act_std, act_mean, weight norms) and, from the trained weights, at the end."""
    res = run_many(V._deep_runs(4), cache=False)
    for r in res:
        p0 = V.signal_profile(r.config)
        h = r.history
        for L in p0["layer"]:
            std, mean = p0.loc[L - 1, "std"], p0.loc[L - 1, "mean"]
            assert h[f"act_std_{L}"].iloc[0] == pytest.approx(std, rel=1e-4, abs=1e-30)
            assert h[f"act_mean_{L}"].iloc[0] == pytest.approx(mean, rel=1e-3, abs=1e-6 * std + 1e-30)
        layers = V.initial_layers(r.config)
        for i, ly in enumerate(layers):
            assert h[f"weight_norm_{i + 1}"].iloc[0] == pytest.approx(np.linalg.norm(ly["W"]), rel=1e-5)
        if not r.diverged:
            pt = V.trained_profile(r)
            assert h[f"act_std_{V.INIT_DEPTH}"].iloc[-1] == pytest.approx(pt["std"].iloc[-1], rel=1e-3, abs=1e-12)
    start = V.start_profile(V.init_experiment("tanh", "small", 4))["std"]
    assert start.iloc[-1] / start.iloc[0] < (0.01 * 4) ** 9 * 10  # the closed form's 0.04 per layer, give or take


def test_unit_counts():
    W = np.tile(np.arange(3.0)[:, None], (1, 5))
    assert V.unit_spread(W) == 0 and V.distinct_units(W) == 1
    W[1, 3] += 1e-3
    assert V.unit_spread(W) == pytest.approx(1e-3) and V.distinct_units(W) == 2
    assert V.distinct_units(np.random.default_rng(0).normal(size=(4, 6))) == 6


def test_zero_init_nets_stay_symmetric():
    """One seed retrained: sigmoid units stay copies; tanh and ReLU get no gradient at all at step 0."""
    zs, xs, zt, zr = run_many(V._zero_runs(7), cache=False)
    assert all(V.distinct_units(ly["W"]) == 1 for ly in zs.weights()[:-1])
    assert max(np.abs(ly["W"]).max() for ly in zs.weights()) > 0.5
    assert all(V.distinct_units(ly["W"]) == V.ZERO_HIDDEN[0] for ly in xs.weights()[:-1])
    for r in (zt, zr):
        assert all(np.abs(ly["W"]).max() == 0 for ly in r.weights())
        assert (r.history[r.layer_columns("grad_norm")].iloc[:-1] == 0).all().all()  # the last row has no gradient


def test_init_demo_shows_every_seed_and_view():
    step = V.LESSON.step("init")
    outs = flatten(step.run({}))
    data = [r for o in outs if isinstance(o, Chart) for rows in o.chart.to_dict()["datasets"].values() for r in rows]
    sig = {(r["init"], r["seed"]) for r in data if "activation std" in r and "seed" in r}
    assert sig == {(V.SCHEME_NAMES[s], seed) for s in V.DRAWN for seed in V.SEEDS}
    assert {r["layer"] for r in data if "grad norm" in r} == set(range(1, V.INIT_DEPTH + 2))
    assert sum(isinstance(o, Metric) for o in outs) == 4
    trained = flatten(step.run({"view": "after training", "activation": "relu"}))
    assert any(isinstance(o, Note) and o.text.key == "init.diverged" for o in trained)  # N(0, 1) ReLU diverges
    zero = flatten(step.run({"view": "zero init", "seed": 2}))
    assert any(isinstance(o, Metric) and o.value == f"1 of {V.ZERO_HIDDEN[0]}" for o in zero)
    heat = [r for o in zero if isinstance(o, Chart) for rows in o.chart.to_dict()["datasets"].values() for r in rows]
    cols = {}
    for r in heat:
        if r["init"] == "zeros":
            cols.setdefault(r["input"], set()).add(r["weight"])
    assert cols and all(len(v) == 1 for v in cols.values())  # every unit's column is the same
    assert step.experiments() == [e for s in V.SEEDS for e in V._deep_runs(s) + V._zero_runs(s)]
    assert set(step.experiments()) == {e for c in V.INIT_CLAIMS for e in c.runs()}


# ---------------------------------------------------------------- teaching: worked numbers, predictions, recap


def _sig(z):
    import math

    return 1 / (1 + math.exp(-z))


def test_worked_numbers_are_the_hand_calculation():
    """Each step's worked numbers come from the engine or torch; here they are checked by hand (math)."""
    import math

    from lessons.words import names_in

    c = V.chain_worked()
    assert c["peak"] == 0.25 and c["cube"] == 0.25 ** 3 == 0.015625 and c["bound20"] == 0.25 ** 20
    z1, z2 = 0.5, _sig(0.5)
    z3 = _sig(z2)
    d = [_sig(z) * (1 - _sig(z)) for z in (z1, z2, z3)]
    assert (c["z2"], c["z3"]) == pytest.approx((z2, z3), rel=1e-12)
    assert (c["d1"], c["d2"], c["d3"]) == pytest.approx(tuple(d), rel=1e-12)
    assert c["p3"] == pytest.approx(d[0] * d[1] * d[2], rel=1e-12) and c["p3"] < c["cube"]
    s = V.saturation_worked()
    for key, scale in (("small", 0.2), ("large", 1.0)):
        z = scale * math.sqrt(20)
        assert s[f"{key}_z"] == pytest.approx(z) and s[f"{key}_d"] == pytest.approx(_sig(z) * (1 - _sig(z)))
    assert s["small_share"] > 0.8 and s["large_share"] < 0.1  # "82% of the peak", "saturated (under 10%)"
    a = V.adam_worked()
    assert a["sgd_move"] == pytest.approx(0.5 * 1e-3)
    assert a["adam_move"] == pytest.approx(0.03 * 1e-3 / (1e-3 + 1e-8), rel=1e-12)  # lr * g / (|g| + eps)
    assert a["ratio"] == pytest.approx(60, rel=1e-4)
    for key, cls, lr in (("sgd_move", torch.optim.SGD, a["sgd_lr"]), ("adam_move", torch.optim.Adam, a["adam_lr"])):
        assert a[key] == pytest.approx(-torch_walk(cls, lambda w: np.full(1, 1e-3), [0.0], 1, lr=lr)[1, 0], rel=1e-12)
    i = V.init_worked()
    assert i["small"] == pytest.approx(0.04) and i["small9"] == pytest.approx(0.04 ** 9)
    assert i["he"] == pytest.approx(math.sqrt(2 / 16)) and i["he_keep"] == pytest.approx(1.0)
    assert i["bound"] == pytest.approx(1 / math.sqrt(256)) and i["keep"] == pytest.approx(1 / 6)
    assert i["torch_far"] == pytest.approx(math.sqrt(1 / 6) ** 19)
    lw = V.linear_worked()
    assert (lw["h1"], lw["h2"], lw["net"]) == (3.0, 2.0, -1.0)  # (2*1 + 1*1, -1*1 + 3*1), 3 - 2*2
    assert (lw["w1"], lw["w2"], lw["direct"]) == (4.0, -5.0, -1.0)  # (1*2 - 2*(-1), 1*1 - 2*3), 4 - 5
    worked = [s for s in V.LESSON.steps if s.worked]
    assert {s.id for s in worked} == {"linear", "chain", "saturation", "playground", "init"}
    for step in worked:
        text = step.worked_text()
        assert text and not names_in(text), step.id  # every placeholder filled


def test_prediction_numbers_hold():
    """The closed-form numbers the predictions and questions of the deterministic steps quote."""
    four = V.chain_products(4.0, 0.5, 20).set_index(["activation", "depth"])["abs_product"]
    assert 1.5e-5 < four["sigmoid", 5] < 2.5e-5 and four["sigmoid", 20] < 1e-20 and four["sigmoid", 20] > 0
    relu = V.chain_products(1.5, 0.5, 30).set_index(["activation", "depth"])["abs_product"]
    assert relu["relu", 30] == pytest.approx(1.5 ** 30) and 1.5e5 < 1.5 ** 30 < 2.5e5  # "about 2e5"
    shares = [V.saturation("sigmoid", 1.0, seed=s)["saturated"] for s in range(5)]
    assert all(0.385 <= x < 0.415 for x in shares)  # "39-41% for five draws"
    import torch

    from engine import activations as A
    zs = torch.linspace(0, 8, 8001, dtype=torch.float64)
    edge = float(zs[A.derivative("sigmoid", zs) < 0.025][0])
    assert 3.55 < edge < 3.65  # "the tails start where |z| is about 3.6"
    df = V.compositions(3)
    sig = df[df.activation == "sigmoid"]
    lo_hi = [(sig[sig.k == k]["y"].min(), sig[sig.k == k]["y"].max()) for k in (1, 2, 3)]
    assert lo_hi[0] == pytest.approx((0.0067, 0.9933), abs=5e-4)
    assert lo_hi[1] == pytest.approx((0.5017, 0.7297), abs=5e-4)
    assert lo_hi[2] == pytest.approx((0.6229, 0.6747), abs=5e-4)
    assert lo_hi[1][1] - lo_hi[1][0] == pytest.approx(0.23, abs=0.005)


def test_every_demo_step_predicts_and_asks():
    for step in V.LESSON.steps:
        if step.demo is None:
            continue
        assert step.predict is not None and step.checks(), step.id
        for q in (step.predict, *step.checks()):
            assert not any(x.startswith("Right") for x in q.explanations), step.id
    assert V.LESSON.steps[0].id == "linear"  # why activations at all, before the chain rule
    assert "Three questions" in V.LESSON.step("check").slide and len(V.LESSON.step("check").checks()) == 3


def test_recap_quotes_the_lessons_claims_and_names_its_steps():
    import re

    from lessons.claims import fill

    ids = {c.id for s in V.LESSON.steps for c in s.claims}
    quoted = set(re.findall(r"\{(\w+)[.\[]", V.LESSON.recap))
    assert quoted and quoted <= ids
    lines = [x for x in V.LESSON.recap.splitlines() if x.startswith("- ")]
    assert 3 <= len(lines) <= 6
    titles = {s.title for s in V.LESSON.steps}
    for line in lines:
        named = re.findall(r"\*([^*]+)\*", line.split("(step")[-1])
        assert named and all(any(t.startswith(n) for t in titles) for n in named), line
    ev = {}
    for s in V.LESSON.steps:
        ev.update(s.evidence())
    assert "{" not in fill(V.LESSON.recap, ev).replace("^{", "")


def test_saturation_shades_only_the_tails():
    outs = flatten(V.LESSON.step("saturation").run({"activation": "sigmoid", "scale": 1.0}))
    spec = outs[0].chart.to_dict()
    band = [r for rows in spec["datasets"].values() for r in rows if "z0" in r and "y0" not in r]
    assert len(band) == 2
    (a0, a1), (b0, b1) = sorted((r["z0"], r["z1"]) for r in band)
    assert a0 == -8 and b1 == 8 and a1 < 0 < b0 and a1 == pytest.approx(-b0)  # the centre is clear
    assert 3.5 < b0 < 3.7


def test_composition_has_a_legend():
    spec = V.LESSON.step("composition").run({"k": 3})[0].chart.to_dict()
    enc = spec["spec"]["encoding"]
    assert enc["color"]["title"] == enc["strokeDash"]["title"]  # one merged legend, colour and dash
    assert enc["color"].get("legend") is not None and enc["strokeDash"].get("legend", {}) is not None


def test_rescue_presets_are_shipped_and_drawn():
    step = V.LESSON.step("playground")
    labels = [label for label, _ in step.presets]
    assert {"2 + ReLU", "2 + Adam, lr 0.03"} <= set(labels)
    for label, values in step.presets:
        assert values["depth"] >= 1
    assert dict(step.presets)["2 + ReLU"]["depth"] == 1 == dict(step.presets)["2 + Adam, lr 0.03"]["depth"]
    assert {e for c in (V.P_RELU1, V.P_ADAM1, V.P_LONG) for e in c.runs()} <= set(
        e for c in step.claims for e in c.runs())
    outs = flatten(step.run({}))
    assert {"train (seed 0)", "val (seed 0)", "test (seed 0)"} <= {o.label for o in outs if isinstance(o, Metric)}


# ---------------------------------------------------------------- PyTorch: nn.Linear's default versus kaiming_normal_


def test_nn_linear_default_is_the_closed_form():
    """nn.Linear's default draw has Var(w) = 1/(3 n_in) (kaiming_uniform_ with a = sqrt 5), bound 1/sqrt(n_in);
    kaiming_normal_ has Var(w) = 2/n_in: what the worked numbers and the notes say."""
    import math

    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(256, 256)
    w = layer.weight.detach().double()
    assert float(w.abs().max()) <= 1 / 16 + 1e-7
    assert float(w.var()) == pytest.approx(1 / (3 * 256), rel=0.02)
    torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    assert float(layer.weight.detach().double().var()) == pytest.approx(2 / 256, rel=0.02)
    i = V.init_worked()
    assert i["keep"] == pytest.approx(256 * (1 / (3 * 256)) / 2)
    assert i["torch_factor"] == pytest.approx(math.sqrt(1 / 6))


def test_pytorch_view_runs_the_code_it_shows_and_holds_over_seeds():
    import inspect

    from lessons.walkthrough import Code, Markdown, Table

    df = V.torch_init_check()
    assert set(df["seed"]) == set(V.SEEDS) and set(df["layer"]) == set(range(1, V.TORCH_DEPTH + 1))
    st = V.torch_init_stats(df)
    d, k = st[st.init == "nn.Linear default"], st[st.init == "kaiming_normal_"]
    assert (d["signal"] < -1).all() and (d["gradient"] < -4).all()  # every seed, with room (means -1.2, -5.8)
    assert (k["signal"].abs() < 0.5).all() and (k["gradient"].abs() < 1).all()
    ver = V.torch_verdict(st)
    assert ver["d_held"] == ver["k_held"] == ver["n"] == len(V.SEEDS)
    outs = flatten(V.LESSON.step("init").run({"view": "in PyTorch"}))
    code = [o for o in outs if isinstance(o, Code)]
    assert code and code[0].source == inspect.getsource(V.torch_mlp) + "\n\n" + inspect.getsource(V.probe)
    assert "kaiming_normal_" in code[0].source and any(isinstance(o, Table) for o in outs)
    verdict = [o for o in outs if isinstance(o, Markdown)][0].text
    assert f"{len(V.SEEDS)} of {len(V.SEEDS)} seeds" in verdict
    src = inspect.getsource(V.torch_init_check)
    assert "torch_mlp(" in src and "probe(" in src  # the measurement calls the code shown
