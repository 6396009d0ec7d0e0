"""Lesson 1: every number its captions state, checked against the runs and closed forms."""
import numpy as np
import pytest

from engine import data as D
from engine import run_many
from lessons import vanishing as V
from lessons.walkthrough import Metric, Note

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


def test_saturation_grows_with_weight_scale():
    sig = [V.saturation("sigmoid", s)["saturated"] for s in (0.01, 0.2, 1.0, 5.0)]
    assert sig == sorted(sig) and sig[0] == 0 and sig[1] < 0.01
    assert 0.3 < sig[2] < 0.5 and sig[3] > 0.8
    th = V.saturation("tanh", 1.0)["saturated"]
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


@pytest.fixture(scope="module")
def presets():
    return dict(zip([label for label, _ in V.PRESETS], run_many([V.play_experiment(**p) for _, p in V.PRESETS])))


def test_presets_reach_the_bands_their_captions_claim(presets):
    r = list(presets.values())
    assert r[0].final["test_metric"] >= 0.95  # sigmoid, easy data: works
    assert 0.6 <= r[1].final["train_metric"] <= 0.72 and 0.65 <= r[1].final["test_metric"] <= 0.8  # fails
    assert r[2].final["test_metric"] <= 0.8 and r[2].final["train_metric"] <= 0.72  # depth does not help
    assert r[3].final["test_metric"] >= 0.95 and r[4].final["test_metric"] >= 0.95  # ReLU works
    adam = run_many([V.play_experiment(**{**V.PRESETS[2][1], "optimizer": "adam", "lr": 0.01}),
                     V.play_experiment(**{**V.PRESETS[2][1], "optimizer": "adam", "lr": 0.5})])
    assert adam[0].final["test_metric"] >= 0.95 and adam[1].final["test_metric"] < 0.6


def test_gradient_ratio_orders_of_magnitude_apart():
    res = run_many(V.gradient_experiments())
    decay = {r.config.model.activation: V.gradient_decay(r) for r in res}
    assert decay["sigmoid"] < 0.005 and decay["tanh"] > 0.1 and decay["relu"] > 0.1
    tab = V.gradient_table(res).set_index("activation")
    assert tab.loc["sigmoid", "first / last"] < 1e-2
    assert tab.loc["relu", "first / last"] > 0.1 and 0.2 < tab.loc["tanh", "first / last"] < 5
    assert tab.loc["relu", "first / last"] / tab.loc["sigmoid", "first / last"] > 100
    layers = [tab.loc["sigmoid", f"layer {i}"] for i in range(1, 8)]
    steps = [layers[i + 1] / layers[i] for i in range(6)]
    assert all(1.5 < s < 4.5 for s in steps)  # a staircase, roughly 2-4x per layer
    assert tab.loc["sigmoid", "test accuracy"] < 0.6 and tab.loc["relu", "test accuracy"] >= 0.95


@pytest.mark.parametrize("data", ["circles", "xor", "moons", "spiral"])
def test_linear_network_is_one_linear_map(data):
    lin, relu = run_many(V.collapse_experiments(data, 4))
    chk = V.collapse_check(lin)
    assert chk["max_diff"] < 1e-5
    assert lin.final["test_metric"] == pytest.approx(V.logistic_accuracy(data), abs=0.03)
    assert relu.final["test_metric"] > lin.final["test_metric"] + 0.05
    # the snapshot's boundary is the line W x + b = 0 (in standardised coordinates)
    s = D.load(lin.config.data)
    x0, x1, y0, y1 = lin.meta["extent"]
    G = lin.snapshots.shape[-1]
    gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
    z = s.standardise(np.c_[gx.ravel(), gy.ravel()]) @ chk["W"] + chk["b"]
    agree = ((lin.snapshots[-1].ravel() > 0.5) == (z > 0)) | (np.abs(z) < 1e-2)
    assert agree.mean() > 0.99



def test_chain_chart_carries_the_bound():
    outs = V.LESSON.step("chain").run({"weight": 1.0, "x": 0.5, "depth": 20})
    data = [row for rows in SPEC(outs[0])["datasets"].values() for row in rows]
    bound = [r for r in data if r.get("label", "").startswith("sigmoid bound")]
    assert len(bound) == 20 and bound[-1]["bound"] == pytest.approx(0.25 ** 20)


def test_diverging_playground_says_so():
    outs = V.LESSON.step("playground").run({"data": "spiral", "depth": 8, "width": 32, "activation": "relu",
                                            "lr": 10.0, "steps": 100})
    notes = [o for o in outs if isinstance(o, Note) and o.kind == "error"]
    assert notes and "Diverged at step" in notes[0].text
    assert any(isinstance(o, Metric) and o.value == "—" for o in outs)


def test_each_step_has_narrative_and_checks():
    assert len(V.LESSON.steps) == 7
    quiz = V.LESSON.step("check")
    assert len(quiz.checks()) >= 3
    for q in quiz.checks():
        assert len(q.explanations) == len(q.options) and 0 <= q.answer < len(q.options)
    assert all(s.narrative for s in V.LESSON.steps)
