"""Lesson 1: vanishing gradients, live.

Why activations at all (a network of linear layers collapses to one linear map; the linear step,
declared last in this file, is shown first), then why deep networks of sigmoid or tanh units stop
learning: backpropagation multiplies one activation derivative per layer, the sigmoid's is at most 1/4,
saturated units pass almost nothing back, and stacking squashing functions flattens everything. ReLU
keeps a derivative of 1 where it is active. Every chart comes from a computation or a training run of
the engine. What the notes say about training is a `Claim` measured over ten seeds (data and
initialisation), quoted through placeholders; tests/lessons/test_claims.py retrains each one,
tests/lessons/test_vanishing.py checks the closed forms. Each step is declared once, after its demo
(controls, runs, presets, claims); its words (slide, equation, speaker notes, notice, questions, the
demo's captions) are in lessons/text/en/vanishing.md, keyed by step id.

References: Glorot & Bengio 2010; He et al. 2015; Goodfellow, Bengio & Courville 2016, ch. 6 and 8.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import torch

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, run_many
from engine import activations as A
from engine import data as D
from engine.optim import walk
from lessons import charts
from lessons.claims import SEEDS, Claim, measure
from lessons.common import diverged_at, diverged_runs, finite_rows
from lessons.theme import (
    ACTIVATION_COLORS,
    COLLAPSED_BOUNDARY,
    INIT_COLORS,
    REFERENCE_RULE,
    SATURATED_TAILS,
    SATURATED_UNITS,
    SEED_RING,
    SLOPE_CURVE,
    TORCH_INIT_COLORS,
    color_scale,
)
from lessons.walkthrough import (
    Chart,
    Code,
    Columns,
    LogSlider,
    Markdown,
    Metric,
    Note,
    Select,
    Slider,
    Step,
    Table,
)
from lessons.words import Words

W = Words("vanishing")  # lessons/text/<lang>/vanishing.md: every sentence a learner reads

SQUASH = ("sigmoid", "tanh", "relu")
PLAY_DATA = ("circles", "xor", "spiral", "moons", "gaussians")
PLAY_ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0, 30.0)
N_SNAPS = 10  # snapshots at 0, 10%, ..., 100% of training
GRID = 40


def _acts_scale(names):
    return color_scale(ACTIVATION_COLORS, list(names))


def _y_title(chart, title: str):
    """One y title on every layer of a seed chart (the shared helper leaves the error bars' y
    untitled, and Vega-Lite would then join the field name into the axis title)."""
    for layer in chart.layer:
        if hasattr(layer, "encoding") and layer.encoding is not alt.Undefined and layer.encoding.y is not alt.Undefined:
            layer.encoding.y.title = title
    return chart


def _compact(chart, legend: bool = True, columns: int | None = None):
    """Upright x labels, and the legend under the plot (or none) so narrow columns keep their plot."""
    out = chart.configure_axisX(labelAngle=0)
    if not legend:
        return out.configure_legend(disable=True)
    return out.configure_legend(orient="bottom", **({"columns": columns} if columns else {}))


# ============================================================ step 2: the chain of derivatives


def chain_products(weight: float, x: float, depth: int = 20, acts=SQUASH) -> pd.DataFrame:
    """One path through `depth` layers of one unit each, every weight = `weight`, biases 0.

    Backpropagation multiplies f'(z_l) * w_l per layer; `product` is that running product (the
    derivative of the last unit's output with respect to the input), `bound` is (|w|/4)^L, which no
    sigmoid path can exceed because sigmoid' <= 1/4.
    """
    rows = []
    for act in acts:
        h = torch.tensor(float(x), dtype=torch.float64)
        prod = 1.0
        for layer in range(1, depth + 1):
            z = weight * h
            d = float(A.derivative(act, z.reshape(1))[0])
            prod *= d * weight
            h = A.apply(act, z)
            rows.append({"activation": act, "depth": layer, "product": prod, "abs_product": abs(prod),
                         "derivative": d})
    df = pd.DataFrame(rows)
    bound = pd.DataFrame({"depth": range(1, depth + 1)})
    bound["bound"] = (abs(weight) / 4.0) ** bound["depth"]
    return df.merge(bound, on="depth")


def _chain_demo(v, progress):
    w, x, depth = v["weight"], v["x"], v["depth"]
    df = chain_products(w, x, depth)
    shown = df[df["abs_product"] > 0].copy()
    shown["log10"] = np.log10(shown["abs_product"])
    bound = df[(df.activation == "sigmoid") & (df["bound"] > 0)][["depth", "bound"]].copy()
    bound["log10"] = np.log10(bound["bound"])
    bound["label"] = "sigmoid bound (|w|/4)^L"
    lines = alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("depth:Q", title="depth L (layers)", scale=alt.Scale(domain=[1, depth])),
        y=alt.Y("log10:Q", title="log10 |product of f'(z)·w|"),
        color=alt.Color("activation:N", scale=_acts_scale(SQUASH), title="activation"),
        tooltip=["activation", "depth", alt.Tooltip("product:Q", format=".3e"),
                 alt.Tooltip("derivative:Q", format=".4f", title="f'(z) at this layer")])
    bnd = alt.Chart(bound).mark_line(strokeDash=[6, 4], color=ACTIVATION_COLORS["sigmoid"], strokeWidth=2).encode(
        x="depth:Q", y="log10:Q", tooltip=["label", alt.Tooltip("bound:Q", format=".3e")])
    last = df[df.depth == depth].set_index("activation")
    outs = [Chart((bnd + lines).properties(height=330, title=W("chain.title", w=w)), caption=W("chain.caption"))]
    for act in SQUASH:
        val = float(last.loc[act, "product"])
        outs.append(Metric(W("chain.at_depth", act=act, depth=depth), f"{val:.2e}" if val else W("chain.path_off")))
    sig_ok = bool((df[df.activation == "sigmoid"]["abs_product"] <= df[df.activation == "sigmoid"]["bound"]
                   * (1 + 1e-12)).all())
    outs.append(Note(W("chain.bound_note", ok=sig_ok, depth=depth, bound=(abs(w) / 4) ** depth), kind="info"))
    if w == 0:
        outs.append(Note(W("chain.zero_weight"), kind="warning"))
    elif float(last.loc["relu", "product"]) == 0:
        outs.append(Note(W("chain.relu_off"), kind="warning"))
    return outs


def chain_worked() -> dict:
    """The chain step's hand calculation, by the engine: the sigmoid's peak slope cubed (three layers at
    best), then a real three-layer path with w = 1 from x = 0.5."""
    peak = float(A.derivative("sigmoid", torch.zeros(1, dtype=torch.float64))[0])
    path = chain_products(1.0, 0.5, 3, acts=("sigmoid",)).set_index("depth")
    z = [0.5]
    for _ in range(2):  # with w = 1 and no bias, each layer's z is the previous unit's output
        z.append(float(A.apply("sigmoid", torch.tensor(z[-1], dtype=torch.float64))))
    return {"peak": peak, "cube": peak ** 3, "z1": z[0], "z2": z[1], "z3": z[2],
            "d1": float(path.loc[1, "derivative"]), "d2": float(path.loc[2, "derivative"]),
            "d3": float(path.loc[3, "derivative"]), "p3": float(path.loc[3, "product"]),
            "bound20": peak ** 20}


CHAIN = Step(
    "chain",
    controls=(
        Slider("weight", "weight on every layer w", -4.0, 4.0, 1.0, 0.25),
        Slider("x", "input x", -3.0, 3.0, 0.5, 0.1),
        Slider("depth", "deepest layer shown", 2, 20, 20),
    ),
    demo=_chain_demo,
    worked_values=chain_worked,
)


# ============================================================ step 3: saturation


def saturation(act: str, scale: float, n_in: int = 20, n: int = 2000, units: int = 64, seed: int = 0) -> dict:
    """One layer with standardised inputs and weights ~ N(0, scale^2): how many units saturate.

    A unit counts as saturated on an input when f'(z) < 10% of f'(0) (the activation's peak slope).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_in, generator=g, dtype=torch.float64)
    W = torch.randn(n_in, units, generator=g, dtype=torch.float64) * scale
    z = x @ W
    d = A.derivative(act, z)
    peak = float(A.derivative(act, torch.zeros(1, dtype=torch.float64))[0])
    return {"z": z.flatten().numpy(), "d": d.flatten().numpy(), "peak": peak,
            "saturated": float((d < 0.1 * peak).double().mean()), "mean_derivative": float(d.mean()),
            "z_std": float(z.std())}


def saturated_band(edge: float, lim: float = 8.0) -> pd.DataFrame:
    """The two flat tails, z in [-lim, -edge] and [edge, lim], as rectangles (the centre stays clear)."""
    return pd.DataFrame({"z0": [-lim, edge], "z1": [-edge, lim]})


def _saturation_demo(v, progress):
    act, scale = v["activation"], v["scale"]
    s = saturation(act, scale)
    xs = torch.linspace(-8, 8, 321, dtype=torch.float64)
    curves = pd.concat([
        pd.DataFrame({"z": xs.numpy(), "value": A.apply(act, xs).numpy(), "curve": f"{act}(z)"}),
        pd.DataFrame({"z": xs.numpy(), "value": A.derivative(act, xs).numpy(), "curve": f"{act}'(z)"})])
    thr = 0.1 * s["peak"]
    d = A.derivative(act, xs).numpy()
    edge = abs(float(xs.numpy()[np.argmax(d >= thr)]))  # |z| beyond which the slope is under 10% of its peak
    band = saturated_band(edge)
    shade = alt.Chart(band).mark_rect(color=SATURATED_TAILS, opacity=0.18).encode(
        x=alt.X("z0:Q", scale=alt.Scale(domain=[-8, 8])), x2="z1:Q")
    names = [f"{act}(z)", f"{act}'(z)"]
    fcurve = alt.Chart(curves).mark_line().encode(
        x=alt.X("z:Q", title="pre-activation z", scale=alt.Scale(domain=[-8, 8])), y=alt.Y("value:Q", title=""),
        color=alt.Color("curve:N", scale=alt.Scale(domain=names, range=[ACTIVATION_COLORS[act], SLOPE_CURVE]),
                        title="", legend=alt.Legend(orient="bottom")),
        tooltip=["curve", alt.Tooltip("z:Q", format=".2f"), alt.Tooltip("value:Q", format=".3f")])
    left = (shade + fcurve).properties(height=260, title=W("saturation.curve_title"))
    z = np.clip(s["z"], -12, 12)
    edges = np.linspace(-12, 12, 61)
    counts, _ = np.histogram(z, edges)
    sat, _ = np.histogram(z[s["d"] < thr], edges)
    hist = pd.concat([pd.DataFrame({"z0": edges[:-1], "z1": edges[1:], "y0": 0, "y1": counts - sat,
                                    "units": "active"}),
                      pd.DataFrame({"z0": edges[:-1], "z1": edges[1:], "y0": counts - sat, "y1": counts,
                                    "units": "saturated"})])
    right = alt.Chart(hist).mark_rect().encode(
        x=alt.X("z0:Q", title="z (2000 inputs × 64 units)"), x2="z1:Q",
        y=alt.Y("y1:Q", title="count"), y2="y0:Q",
        color=alt.Color("units:N", scale=alt.Scale(domain=["active", "saturated"],
                                                     range=[ACTIVATION_COLORS[act], SATURATED_UNITS]), title="",
                        legend=alt.Legend(orient="bottom")),
        tooltip=["units", alt.Tooltip("z0:Q", format=".1f", title="from z"), alt.Tooltip("z1:Q", format=".1f",
                                                                                         title="to z")]
    ).properties(height=260, title=W("saturation.z_title", scale=scale))
    return [
        Columns([[Chart(left, caption=W("saturation.curve_caption"))],
                 [Chart(right, caption=W("saturation.z_caption"))]]),
        Metric(W("saturation.z_std"), f"{s['z_std']:.2f}"),
        Metric(W("saturation.saturated"), f"{s['saturated']:.0%}"),
        Metric(W("saturation.mean_slope", act=act), f"{s['mean_derivative']:.3f}",
               help=W("saturation.peak", peak=s["peak"])),
    ]


def saturation_worked(n_in: int = 20) -> dict:
    """The saturation step's hand calculation, by the engine: std(z) = s·√n_in for s = 0.2 and 1, and the
    sigmoid's slope one standard deviation out, against its peak."""
    out = {"n_in": n_in, "peak": float(A.derivative("sigmoid", torch.zeros(1, dtype=torch.float64))[0])}
    for key, s_ in (("small", 0.2), ("large", 1.0)):
        z = s_ * math.sqrt(n_in)
        d = float(A.derivative("sigmoid", torch.tensor([z], dtype=torch.float64))[0])
        out.update({f"{key}_z": z, f"{key}_d": d, f"{key}_share": d / out["peak"]})
    return out


SATURATION = Step(
    "saturation",
    controls=(Select("activation", "activation", ("sigmoid", "tanh"), "sigmoid"),
              LogSlider("scale", "weight scale s", (0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0), 0.2)),
    demo=_saturation_demo,
    worked_values=saturation_worked,
)


# ============================================================ step 4: composition


def compositions(k_max: int, lo: float = -5.0, hi: float = 5.0, n: int = 201) -> pd.DataFrame:
    """f applied k = 1..k_max times to a grid of inputs, for sigmoid, tanh and ReLU."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    rows = []
    for act in SQUASH:
        h = x
        for k in range(1, k_max + 1):
            h = A.apply(act, h)
            rows.append(pd.DataFrame({"activation": act, "k": k, "x": x.numpy(), "y": h.numpy()}))
    return pd.concat(rows, ignore_index=True)


def composition_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per activation and k: output range and steepest slope of the k-fold composition."""
    out = []
    for (act, k), g in df.groupby(["activation", "k"]):
        slope = np.abs(np.gradient(g["y"].to_numpy(), g["x"].to_numpy())).max()
        out.append({"activation": act, "k": int(k), "output range": g["y"].max() - g["y"].min(),
                    "steepest slope": slope})
    return pd.DataFrame(out)


def _composition_demo(v, progress):
    k = v["k"]
    df = compositions(k)
    shown = df.copy()
    shown["k"] = shown["k"].astype(str)
    ch = alt.Chart(shown).mark_line().encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="f(f(...f(x)))"),
        color=alt.Color("k:O", scale=alt.Scale(scheme="viridis"), title="k (times applied)",
                        legend=alt.Legend(orient="bottom", direction="horizontal", symbolStrokeWidth=3)),
        strokeDash=alt.StrokeDash("k:O", title="k (times applied)"),  # same field and title: one legend
        tooltip=["activation", "k", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".4f")],
    ).properties(width=145, height=210).facet(column=alt.Column("activation:N", title=None, sort=list(SQUASH))
                                              ).resolve_scale(y="independent").configure_legend(orient="bottom")
    st_ = composition_stats(df)
    relu = df[df.activation == "relu"]
    once = relu[relu.k == 1].set_index("x")["y"]
    worst = max(float((g.set_index("x")["y"] - once).abs().max()) for _, g in relu.groupby("k"))
    sig = st_[st_.activation == "sigmoid"].set_index("k")
    return [
        Chart(ch, caption=W("composition.caption")),
        Metric(W("composition.range", k=k), f"{sig.loc[k, 'output range']:.4f}", help=W("composition.range_help", k=k)),
        Metric(W("composition.slope", k=k), f"{sig.loc[k, 'steepest slope']:.2e}",
               help=W("composition.slope_help", k=k)),
        Metric(W("composition.relu"), f"{worst:g}", help=W("composition.relu_help")),
        Table(st_.pivot(index="k", columns="activation", values="steepest slope").round(6),
              caption=W("composition.table")),
    ]


COMPOSITION = Step("composition", controls=(Slider("k", "apply the function k times", 1, 6, 3),),
                   demo=_composition_demo)


# ============================================================ data for the training steps


def toy_data(name: str = "spiral", noise: float = 0.1, seed: int = 0) -> DataSpec:
    """2000 points of a 2-D toy set: 400 to train on, 400 to validate, 1200 to test.

    The test set is large so that one point moves accuracy by less than 0.1 percentage points; the
    seed draws the data (and, in the experiments below, the initialisation too)."""
    return DataSpec(name, n=2000, noise=float(noise), seed=int(seed), train_frac=0.2, val_frac=0.2, test_frac=0.6)


SHOWN_TEST = 200  # test points drawn on a decision surface (all 1200 are scored)


def _display_split(split: D.Split) -> D.Split:
    """The split with only the first SHOWN_TEST test points, so the surface stays readable."""
    return dataclasses.replace(split, raw_test=split.raw_test[:SHOWN_TEST], y_test=split.y_test[:SHOWN_TEST])


# ============================================================ step 5: the playground


def play_experiment(data="spiral", noise=0.1, depth=1, width=8, activation="sigmoid", optimizer="sgd", lr=0.5,
                    steps=1000, seed=0, sweep=False) -> Experiment:
    """One playground run. `sweep=True` is the lean version a claim trains over seeds: no
    decision-surface snapshots and a coarse history (same data, model, optimiser and steps)."""
    steps = int(steps)
    if sweep:
        snaps, every = (), max(1, steps // 10)
    else:
        snaps = tuple(sorted({int(round(steps * i / N_SNAPS)) for i in range(N_SNAPS + 1)}))
        every = max(1, steps // 100)
    return Experiment(
        data=toy_data(data, noise, seed),
        model=ModelSpec(hidden=(int(width),) * int(depth), activation=activation),
        optim=OptimSpec(optimizer, lr=float(lr)),
        train=TrainSpec(steps=steps, record_every=every, snapshot_steps=snaps, grid=GRID),
        seed=int(seed))


PRESETS = (
    ("1 · sigmoid, easy",
     dict(data="circles", depth=1, width=8, activation="sigmoid", optimizer="sgd", lr=0.5, steps=1000, noise=0.1)),
    ("2 · sigmoid, hard",
     dict(data="spiral", depth=1, width=8, activation="sigmoid", optimizer="sgd", lr=0.5, steps=1000, noise=0.1)),
    ("3 · deep sigmoid",
     dict(data="spiral", depth=3, width=8, activation="sigmoid", optimizer="sgd", lr=0.5, steps=1000, noise=0.1)),
    ("4 · ReLU × 3",
     dict(data="spiral", depth=3, width=8, activation="relu", optimizer="sgd", lr=0.5, steps=1000, noise=0.1)),
    ("5 · ReLU × 4",
     dict(data="spiral", depth=4, width=8, activation="relu", optimizer="sgd", lr=0.5, steps=1000, noise=0.1)),
)
ADAM_RESCUE = {**PRESETS[2][1], "optimizer": "adam", "lr": 0.01}  # preset 3 with Adam, suggested in the notice
RELU_ONE = {**PRESETS[1][1], "activation": "relu"}  # preset 2 (one hidden layer) with ReLU units
ADAM_ONE = {**PRESETS[1][1], "optimizer": "adam", "lr": 0.03}  # preset 2 (one hidden layer) with Adam
RESCUES = (("2 + ReLU", RELU_ONE), ("2 + Adam, lr 0.03", ADAM_ONE), ("3 + Adam, lr 0.01", ADAM_RESCUE))
LONG_STEPS = 2000  # preset 2 trained twice as long: still stuck
PLAY_KEYS = ("data", "noise", "depth", "width", "activation", "optimizer", "lr", "steps", "seed")
SOLVED = 0.95  # test accuracy at which we call the spiral solved


def _preset(i: int, seed: int) -> Experiment:
    """Preset i (0-based; 5, 6, 7 = the rescues: preset 2 with ReLU, preset 2 with Adam, preset 3 with
    Adam) as a lean sweep run for one seed."""
    p = (PRESETS + RESCUES)[i][1]
    return play_experiment(**p, seed=seed, sweep=True)


def _test(r) -> float:
    return float(r.final["test_metric"])


P_EASY = Claim(
    "p_easy", experiments=lambda s: [_preset(0, s)],
    statistic=lambda r: {"test": _test(r[0])},
    holds=lambda v: v["test"] >= SOLVED,
    what="preset 1 (one sigmoid layer of 8, circles) reaches 95% test accuracy")
P_HARD = Claim(
    "p_hard", experiments=lambda s: [_preset(1, s)],
    statistic=lambda r: {"train": float(r[0].final["train_metric"]), "test": _test(r[0])},
    holds=lambda v: v["train"] <= 0.75 and v["test"] <= 0.75,
    what="preset 2 (the same net on the spiral) stays at or below 75% on training and test points")
P_LONG = Claim(
    "p_long", experiments=lambda s: [_preset(1, s),
                                     play_experiment(**{**PRESETS[1][1], "steps": LONG_STEPS}, seed=s, sweep=True)],
    statistic=lambda r: {"short": _test(r[0]), "long": _test(r[1]), "gain": _test(r[1]) - _test(r[0])},
    holds=lambda v: v["gain"] < 0.02,
    what="preset 2 trained for 2000 steps instead of 1000 gains less than 2 points of test accuracy")
P_DEPTH = Claim(
    "p_depth", experiments=lambda s: [_preset(1, s), _preset(2, s)],
    statistic=lambda r: {"shallow": _test(r[0]), "deep": _test(r[1]), "gain": _test(r[1]) - _test(r[0])},
    holds=lambda v: v["gain"] < 0.03,
    what="three sigmoid layers gain less than 3 points of test accuracy over one")
def _versus(base: str, other: str):
    """A statistic comparing two presets' test accuracy: both, the gain of the second, and whether it solved."""
    return lambda r: {base: _test(r[0]), other: _test(r[1]), "gain": _test(r[1]) - _test(r[0]),
                      "solved": float(_test(r[1]) >= SOLVED)}


P_RELU1 = Claim(
    "p_relu1", experiments=lambda s: [_preset(1, s), _preset(5, s)], statistic=_versus("sigmoid", "relu"),
    holds=lambda v: v["gain"] > 0.15,
    what="one hidden layer of 8 ReLU units beats preset 2 (8 sigmoid units) on the spiral by more than 15 points")
P_ADAM1 = Claim(
    "p_adam1", experiments=lambda s: [_preset(1, s), _preset(6, s)], statistic=_versus("sgd", "adam"),
    holds=lambda v: v["gain"] > 0.20,
    what="Adam (lr 0.03) beats SGD (lr 0.5) on preset 2 (one sigmoid layer) by more than 20 points")
P_RELU3 = Claim(
    "p_relu3", experiments=lambda s: [_preset(2, s), _preset(3, s)], statistic=_versus("sigmoid", "relu"),
    holds=lambda v: v["gain"] > 0.10,
    what="ReLU × 3 beats sigmoid × 3 (same shape) by more than 10 points of test accuracy")
P_RELU4 = Claim(
    "p_relu4", experiments=lambda s: [_preset(2, s), _preset(4, s)], statistic=_versus("sigmoid", "relu"),
    holds=lambda v: v["gain"] > -0.01,
    what="ReLU × 4 is at least as accurate as sigmoid × 3 (to within a point)")
P_ADAM = Claim(
    "p_adam", experiments=lambda s: [_preset(2, s), _preset(7, s)], statistic=_versus("sgd", "adam"),
    holds=lambda v: v["gain"] > 0.10,
    what="Adam (lr 0.01) beats SGD (lr 0.5) on preset 3 by more than 10 points")
PLAY_CLAIMS = (P_EASY, P_HARD, P_LONG, P_RELU1, P_ADAM1, P_DEPTH, P_RELU3, P_RELU4, P_ADAM)
# chart labels (σ = sigmoid), short enough to stand upright, in preset order (0-7); the strip's order below
PRESET_NAMES = ("1 · σ circles", "2 · σ spiral", "3 · σ × 3", "4 · ReLU × 3", "5 · ReLU × 4", "2 + ReLU",
                "2 + Adam", "3 + Adam")
STRIP_ORDER = tuple(PRESET_NAMES[i] for i in (0, 1, 5, 6, 2, 7, 3, 4))  # each rescue beside what it rescues


def preset_evidence(progress=None) -> pd.DataFrame:
    """Test accuracy of every preset (and preset 3 with Adam) per seed, read from the claims' sweeps."""
    ev = measure(PLAY_CLAIMS, progress)
    cols = ((P_EASY, "test", 0), (P_HARD, "test", 1), (P_DEPTH, "deep", 2), (P_RELU3, "relu", 3),
            (P_RELU4, "relu", 4), (P_RELU1, "relu", 5), (P_ADAM1, "adam", 6), (P_ADAM, "adam", 7))
    rows = []
    for claim, stat, i in cols:
        t = ev[claim.id].table
        rows += [{"preset": PRESET_NAMES[i], "seed": int(s), "test accuracy": float(x)}
                 for s, x in zip(t["seed"], t[stat])]
    return pd.DataFrame(rows)


def _play_exp(v) -> Experiment:
    return play_experiment(**{k: v[k] for k in PLAY_KEYS})


def _preset_chart(df: pd.DataFrame, seed: int) -> alt.LayerChart:
    ch = _y_title(charts.seed_chart(df, "preset", "test accuracy", x_title="", sort=list(STRIP_ORDER), x_type="N",
                                    height=280, title=W("playground.presets_title")), "test accuracy")
    ring = alt.Chart(df[df["seed"] == seed]).mark_point(size=140, filled=False, color=SEED_RING, strokeWidth=1.5
                                                        ).encode(
        x=alt.X("preset:N", sort=list(STRIP_ORDER)), y=alt.Y("test accuracy:Q"),
        tooltip=["preset", "seed", alt.Tooltip("test accuracy:Q", format=".1%")])
    kw = {} if ch.data is alt.Undefined else {"data": ch.data}  # Altair lifts the layers' shared data
    return alt.layer(*ch.layer, ring, **kw).properties(height=280, title=ch.title).configure_axisX(labelAngle=0)


def _playground_demo(v, progress):
    exp = _play_exp(v)
    (res,) = run_many([exp], progress=progress)
    split = D.load(exp.data)
    steps_avail = res.meta["snapshot_steps"]
    want = int(round(exp.train.steps * v["snapshot"] / N_SNAPS))
    idx = int(np.argmin([abs(s - want) for s in steps_avail]))
    outs = []
    div = res.meta["diverged_at"]
    if div is not None:
        outs.append(Note(W("playground.diverged", diverged=diverged_at(div)), kind="error"))
        ok = [i for i, s in enumerate(steps_avail) if s <= div]
        idx = min(idx, ok[-1]) if ok else 0
    shown_step = steps_avail[idx]
    seed = int(v["seed"])
    surf = charts.decision_surface(res.snapshots[idx], res.meta["extent"], _display_split(split),
                                   title=W("playground.surface_title", seed=seed, step=shown_step),
                                   **charts.equal_axes(res.meta["extent"], 300))
    curves = charts.learning_curves(res, vertical=True, width=330, height=135)
    f = res.final
    outs += [
        Metric(W("playground.train", seed=seed), "—" if div is not None else f"{f['train_metric']:.0%}"),
        Metric(W("playground.val", seed=seed), "—" if div is not None else f"{f['val_metric']:.0%}",
               help=W("playground.val_help")),
        Metric(W("playground.test", seed=seed), "—" if div is not None else f"{f['test_metric']:.1%}",
               help=W("playground.test_help")),
        Metric(W("playground.parameters"), f"{res.meta['n_params']}"),
        Metric(W("playground.time"),
               W("playground.cached") if res.meta.get("cache_hit") else f"{res.meta['wall_time']:.1f} s"),
        Columns([[Chart(surf, caption=W("playground.surface_caption", shown=SHOWN_TEST), square=True)],
                 [Chart(curves, caption=W("playground.curves_caption"))]]),
        Chart(_preset_chart(preset_evidence(progress), seed), caption=W("playground.presets_caption", seed=seed)),
    ]
    return outs


def adam_worked(g: float = 1e-3, sgd_lr: float = 0.5, adam_lr: float = 0.03) -> dict:
    """The playground's hand calculation: one weight with gradient `g`, one step of SGD (moves it by
    lr·g) and one of Adam (moves it by lr·sign(g): its first step divides the gradient by its own
    size). The engine's optimizers, equal to torch.optim.SGD and torch.optim.Adam (tested)."""
    moves = {name: -float(walk(OptimSpec(name, lr=lr), lambda w: np.full(1, g), [0.0], 1)[1, 0])
             for name, lr in (("sgd", sgd_lr), ("adam", adam_lr))}
    return {"g": g, "sgd_lr": sgd_lr, "adam_lr": adam_lr, "sgd_move": moves["sgd"], "adam_move": moves["adam"],
            "ratio": moves["adam"] / moves["sgd"]}


PLAYGROUND = Step(
    "playground",
    controls=(
        Select("data", "data set", PLAY_DATA, "spiral"),
        Slider("noise", "noise", 0.0, 0.5, 0.1, 0.05),
        Slider("depth", "hidden layers", 1, 8, 1),
        Slider("width", "units per hidden layer", 2, 32, 8),
        Select("activation", "activation", PLAY_ACTS, "sigmoid"),
        Select("optimizer", "optimizer", ("sgd", "adam"), "sgd"),
        LogSlider("lr", "learning rate", LRS, 0.5),
        Select("steps", "training steps", (100, 250, 500, 1000, 2000), 1000),
        Slider("seed", "seed (data and initialisation)", 0, 9, 0),
        Slider("snapshot", "snapshot (tenths of training)", 0, N_SNAPS, N_SNAPS),
    ),
    runs=lambda v: [_play_exp(v)],  # the strip of presets over seeds is the claims' sweeps
    presets=PRESETS + RESCUES,  # the notice suggests these switches: one click each, shipped
    demo=_playground_demo, heavy=True,
    claims=PLAY_CLAIMS,
    worked_values=adam_worked,
)


# ============================================================ step 6: gradients per layer


GRAD_STEPS = 300


def gradient_experiments(data="spiral", depth=6, width=16, lr=0.5, steps=GRAD_STEPS, seed=0) -> list[Experiment]:
    """Sigmoid, tanh and ReLU nets of the same shape on the same data (one seed), plain SGD."""
    return [Experiment(data=toy_data(data, 0.1, seed), model=ModelSpec(hidden=(int(width),) * int(depth), activation=a),
                       optim=OptimSpec("sgd", lr=float(lr)), train=TrainSpec(steps=int(steps), record_every=10),
                       seed=int(seed))
            for a in SQUASH]


def _grad_runs(v: dict, seed: int) -> list[Experiment]:
    """The three nets the gradients step trains for control values `v`, for one seed."""
    return gradient_experiments(v["data"], v["depth"], 16, v["lr"], GRAD_STEPS, seed)


def early_profile(result) -> list[float]:
    """Mean weight-gradient norm per layer over the first five records (steps 0-40), input side first."""
    h = result.history.head(5)
    return [float(h[c].mean()) for c in result.layer_columns("grad_norm")]


def gradient_ratio(result) -> float:
    """First layer's early gradient norm over the output layer's."""
    g = early_profile(result)
    return g[0] / g[-1] if g[-1] > 0 else float("nan")


def gradient_decay(result) -> float:
    """Mean weight-gradient norm (over layers) from step 50 on, relative to its value at step 0."""
    h = result.history
    m = h[result.layer_columns("grad_norm")].mean(axis=1)
    return float(m[h["step"] >= 50].mean() / m[h["step"] == 0].iloc[0])


def _by_act(r: list) -> dict:
    return {x.config.model.activation: x for x in r}


def _ratio_stat(r):
    a = _by_act(r)
    out = {k: float(np.log10(gradient_ratio(a[k]))) for k in SQUASH}
    gaps = len(early_profile(a["sigmoid"])) - 1
    out["factor"] = float(10 ** (-out["sigmoid"] / gaps))  # sigmoid: average shrink per layer, input-wards
    return out


G_RATIO = Claim(
    "g_ratio", experiments=lambda s: _grad_runs(GRADIENTS.defaults(), s),
    statistic=_ratio_stat,
    holds=lambda v: v["sigmoid"] < -1 and v["tanh"] > -1 and v["relu"] > -1,
    what="early in training the first layer's gradient is under 1/10 of the output layer's with sigmoid, "
         "over 1/10 with tanh and ReLU (log10 ratios)")
G_COLLAPSE = Claim(
    "g_collapse", experiments=lambda s: _grad_runs(GRADIENTS.defaults(), s),
    statistic=lambda r: {k: gradient_decay(x) for k, x in _by_act(r).items()},
    holds=lambda v: 10 * v["sigmoid"] < min(v["tanh"], v["relu"]),
    what="from step 50 on the sigmoid net's gradients keep under a tenth of the share of their step-0 size "
         "that tanh's and ReLU's keep")
G_ACC = Claim(
    "g_acc", experiments=lambda s: _grad_runs(GRADIENTS.defaults(), s),
    statistic=lambda r: {**{k: _test(x) for k, x in _by_act(r).items()},
                         "gain": _test(_by_act(r)["relu"]) - _test(_by_act(r)["sigmoid"]),
                         "solved": float(_test(_by_act(r)["relu"]) >= SOLVED)},
    holds=lambda v: v["gain"] > 0.05,
    what="after 300 steps the ReLU net's test accuracy is more than 5 points above the sigmoid net's")
GRAD_CLAIMS = (G_RATIO, G_COLLAPSE, G_ACC)


def gradient_table(results) -> pd.DataFrame:
    """Mean weight-gradient norm per layer over the first 5 records (early training), per activation."""
    rows = []
    for r in results:
        g = early_profile(r)
        rows.append({"activation": r.config.model.activation, **{f"layer {i + 1}": x for i, x in enumerate(g)},
                     "first / last": g[0] / g[-1] if g[-1] > 0 else float("nan"),
                     "test accuracy": r.final["test_metric"]})
    return pd.DataFrame(rows)


def gradient_sweep(data="spiral", depth=6, lr=0.5, progress=None) -> list[list]:
    """The three nets for every seed: one run_many, results grouped per seed."""
    exps = [e for s in SEEDS for e in _grad_runs(dict(data=data, depth=depth, lr=lr), s)]
    res = run_many(exps, progress=progress)
    return [res[3 * i: 3 * i + 3] for i in range(len(SEEDS))]


def _gradients_demo(v, progress):
    per_seed = gradient_sweep(v["data"], v["depth"], v["lr"], progress)
    nl = int(v["depth"]) + 1
    prof, ratio, decay, acc = [], [], [], []
    for s, rs in zip(SEEDS, per_seed):
        for r in rs:
            a = r.config.model.activation
            g = early_profile(r)
            prof += [{"seed": s, "activation": a, "layer": i + 1, "grad norm": x} for i, x in enumerate(g) if x > 0]
            gr = gradient_ratio(r)
            if np.isfinite(gr) and gr > 0:
                ratio.append({"seed": s, "activation": a, "log10 first / output": float(np.log10(gr))})
            h = r.history
            m = h[r.layer_columns("grad_norm")].mean(axis=1).to_numpy()
            if m[0] > 0:
                rel = m / m[0]
                decay += [{"seed": s, "activation": a, "step": int(t), "relative size": float(x)}
                          for t, x in zip(h["step"], rel) if np.isfinite(x) and x > 0]
            if r.meta["diverged_at"] is None:
                acc.append({"seed": s, "activation": a, "test accuracy": _test(r)})
    cs = dict(color="activation", colors=ACTIVATION_COLORS)
    h = 270  # total height: Streamlit fits title, axes and legend inside it
    profile = charts.seed_curves(pd.DataFrame(prof), "layer", "grad norm", **cs, log_y=True, height=h,
                                 x_title=f"layer (1 = input, {nl} = output)", y_title="||∂E/∂W||, steps 0-40",
                                 title=W("gradients.profile_title"))
    strip = _y_title(charts.seed_chart(pd.DataFrame(ratio), "activation", "log10 first / output", **cs,
                                       sort=list(SQUASH), x_type="N", x_title="", height=h), "log10 (first / output)")
    rule = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 4], color=REFERENCE_RULE).encode(y="y:Q")
    coll = charts.seed_curves(pd.DataFrame(decay), "step", "relative size", **cs, log_y=True, height=h,
                              x_title="training step", y_title="||∂E/∂W|| / step 0",
                              title=W("gradients.time_title"))
    accs = _y_title(charts.seed_chart(pd.DataFrame(acc), "activation", "test accuracy", **cs, sort=list(SQUASH),
                                      x_type="N", x_title="", height=h,
                                      title=W("gradients.acc_title", steps=GRAD_STEPS)), "test accuracy")
    ratio_chart = alt.layer(rule, strip).properties(height=h, title=W("gradients.ratio_title"))
    outs = [Columns([[Chart(_compact(profile), caption=W("gradients.profile_caption"))],
                     [Chart(_compact(ratio_chart, legend=False), caption=W("gradients.ratio_caption"))]]),
            Columns([[Chart(_compact(coll), caption=W("gradients.time_caption"))],
                     [Chart(_compact(accs, legend=False), caption=W("gradients.acc_caption"))]])]
    diverged = [(s, r.config.model.activation, r.meta["diverged_at"]) for s, rs in zip(SEEDS, per_seed) for r in rs
                if r.meta["diverged_at"] is not None]
    if diverged:
        outs.append(Note(W("gradients.diverged", runs=diverged_runs(len(diverged), 3 * len(SEEDS))), kind="warning"))
    seed = int(v["seed"])
    long = []
    for r in per_seed[SEEDS.index(seed)]:
        df = r.long("grad_norm")
        df["activation"] = r.config.model.activation
        long.append(df)
    long = pd.concat(long, ignore_index=True)
    long = finite_rows(long, "grad_norm", positive=True)
    long["log10 grad norm"] = np.log10(long["grad_norm"])
    heat = alt.Chart(long).mark_rect().encode(
        x=alt.X("step:O", title="training step",
                axis=alt.Axis(values=list(range(0, GRAD_STEPS + 1, 50)), labelAngle=0)),
        y=alt.Y("layer:O", title="layer", sort="descending"),
        color=alt.Color("log10 grad norm:Q", scale=alt.Scale(scheme="viridis"), title="log10 ||∂E/∂W||"),
        tooltip=["activation", "layer", "step", alt.Tooltip("grad_norm:Q", format=".2e")],
    ).properties(width=520, height=90).facet(row=alt.Row("activation:N", sort=list(SQUASH), title=None)
                                             ).resolve_scale(color="independent").properties(
        title=W("gradients.heat_title", seed=seed))
    outs.append(Chart(heat, caption=W("gradients.heat_caption", seed=seed, steps=GRAD_STEPS)))
    return outs


GRADIENTS = Step(
    "gradients",
    controls=(Select("data", "data set", PLAY_DATA, "spiral"),
              Slider("depth", "hidden layers (16 units each)", 2, 8, 6),
              LogSlider("lr", "learning rate (SGD)", (0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0), 0.5),
              Slider("seed", "seed shown in the heatmaps", 0, 9, 0)),
    runs=lambda v: [e for s in SEEDS for e in _grad_runs(v, s)],  # every seed, whatever seed the heatmaps show
    demo=_gradients_demo, heavy=True,
    claims=GRAD_CLAIMS,
)


# ============================================================ step 7: initialisation (and the same in PyTorch)

INIT_DATA, INIT_DEPTH, INIT_WIDTH, INIT_STEPS, INIT_LR = "circles", 10, 16, 200, 0.1
SCHEMES = {  # scheme -> (engine init, init_std): the lectures' "small random", a too-large draw, and the cures
    "small": ("normal", 0.01), "large": ("normal", 1.0), "xavier": ("xavier_normal", 0.01),
    "he": ("he_normal", 0.01), "zeros": ("zeros", 0.01)}
SCHEME_NAMES = {"small": "N(0, 0.01²)", "large": "N(0, 1)", "xavier": "Xavier", "he": "He", "zeros": "zeros"}
DRAWN = ("small", "large", "xavier", "he")  # the schemes of the deep nets, for tanh and for ReLU
INIT_ACTS = ("tanh", "relu")
ZERO_HIDDEN, ZERO_STEPS, ZERO_LR = (16, 16), 500, 0.01  # zero init: a small sigmoid regressor on Auto MPG
ZERO_RUNS = (("sigmoid", "zeros"), ("sigmoid", "xavier"), ("tanh", "zeros"), ("relu", "zeros"))
INIT_VIEWS = ("at step 0", "after training", "zero init", "in PyTorch")
DRAW_SEEDS = tuple(range(100))  # the std check pools 100 draws of each matrix (sampling error under 1%)


def init_experiment(activation: str, scheme: str, seed: int = 0) -> Experiment:
    """A 10 x 16 net on the circles, initialised by `scheme`, trained with plain SGD (lr 0.1) for 200
    steps. The seed draws the data and the initial weights (engine/model.py `init_stack`)."""
    init, std = SCHEMES[scheme]
    return Experiment(data=toy_data(INIT_DATA, 0.1, seed),
                      model=ModelSpec(hidden=(INIT_WIDTH,) * INIT_DEPTH, activation=activation, init=init,
                                      init_std=std),
                      optim=OptimSpec("sgd", lr=INIT_LR), train=TrainSpec(steps=INIT_STEPS, record_every=20),
                      seed=int(seed))


def zero_experiment(activation: str, scheme: str, seed: int = 0) -> Experiment:
    """Two hidden layers of 16 on Auto MPG (9 inputs, mpg as the target), plain SGD for 500 steps.

    Regression on raw mpg, so the output's error has a non-zero mean at step 0 and a zero-initialised
    sigmoid net does move (on balanced classes its first gradient would be exactly 0 as well)."""
    init, std = SCHEMES[scheme]
    return Experiment(data=DataSpec("autompg", n=0, seed=int(seed)),
                      model=ModelSpec(hidden=ZERO_HIDDEN, activation=activation, init=init, init_std=std),
                      optim=OptimSpec("sgd", lr=ZERO_LR), train=TrainSpec(steps=ZERO_STEPS, record_every=50),
                      seed=int(seed))


def _deep_runs(seed: int) -> list[Experiment]:
    return [init_experiment(a, s, seed) for a in INIT_ACTS for s in DRAWN]


def _zero_runs(seed: int) -> list[Experiment]:
    return [zero_experiment(a, s, seed) for a, s in ZERO_RUNS]


def _deep(results) -> dict:
    """One seed's deep runs keyed by (activation, scheme)."""
    return dict(zip([(a, s) for a in INIT_ACTS for s in DRAWN], results))


def initial_layers(exp: Experiment) -> list[dict]:
    """The weights `exp` starts from, per layer ({"W": (in, out), "b": (out,)}), exactly as the trainer
    draws them (engine.model.init_row: the same counter-based stream, alone or in any group)."""
    from engine.model import Layout, init_row

    s = D.load(exp.data)
    lay = Layout(exp.model, s.n_features, s.n_outputs)
    row = init_row(lay, exp.model, exp.seed).numpy()
    out = [dict() for _ in range(lay.n_layers)]
    for p in lay.pieces:
        v = row[p.offset: p.offset + p.size].reshape(p.shape)
        out[p.layer][p.kind] = v if p.kind == "W" else v.reshape(-1)
    return out


def signal_profile(exp: Experiment, layers: list[dict] | None = None) -> pd.DataFrame:
    """Per hidden layer: mean and std of its activations on the training inputs (all units and points
    pooled, as the engine records them), and the share of saturated pre-activations (slope under 10%
    of its peak). From the initial weights, or from `layers` (a trained run's `Result.weights()`)."""
    layers = initial_layers(exp) if layers is None else layers
    act = exp.model.activation
    h = np.array(D.load(exp.data).X_train, dtype=np.float64)
    peak = float(A.derivative(act, torch.zeros(1, dtype=torch.float64))[0])
    rows = []
    for i, ly in enumerate(layers[:-1]):
        z = torch.from_numpy(h @ ly["W"].astype(np.float64) + ly["b"].astype(np.float64))  # numpy: no thread spin-up
        h = A.apply(act, z).numpy()
        rows.append({"layer": i + 1, "mean": float(h.mean()), "std": float(h.std(ddof=1)),
                     "saturated": float((A.derivative(act, z) < 0.1 * peak).double().mean())})
    return pd.DataFrame(rows)


@lru_cache(maxsize=256)
def start_profile(exp: Experiment) -> pd.DataFrame:
    """`signal_profile` of the weights `exp` starts from (cached: claims and charts read it often)."""
    return signal_profile(exp)


def trained_profile(result) -> pd.DataFrame | None:
    """`signal_profile` of a trained run (None when it diverged and has no weights)."""
    return None if result.params is None else signal_profile(result.config, result.weights())


def start_gradients(result) -> list[float]:
    """Each layer's weight-gradient norm at step 0 (input side first, the output layer last), from the
    run's history."""
    h = result.history
    return [float(h[c].iloc[0]) for c in result.layer_columns("grad_norm")]


def unit_spread(W: np.ndarray) -> float:
    """Largest difference between any unit's incoming weights (a column of W) and unit 1's; 0 when every
    unit of the layer is identical."""
    return float(np.abs(W - W[:, :1]).max())


def distinct_units(W: np.ndarray, tol: float = 1e-6) -> int:
    """How many different units a layer has: columns of W (incoming weights) further apart than `tol`
    times the layer's largest weight count as different units."""
    scale = max(float(np.abs(W).max()), 1e-30)
    reps: list[np.ndarray] = []
    for j in range(W.shape[1]):
        if not any(np.abs(W[:, j] - r).max() <= tol * scale for r in reps):
            reps.append(W[:, j])
    return len(reps)


def init_formula(scheme: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation a scheme asks for: Xavier sqrt(2 / (fan_in + fan_out)), He sqrt(2 / fan_in)."""
    return math.sqrt(2 / (fan_in + fan_out)) if scheme == "xavier" else math.sqrt(2 / fan_in)


@lru_cache(maxsize=32)
def draw_check(scheme: str, fan_in: int, fan_out: int, seeds: tuple = DRAW_SEEDS) -> dict:
    """The std of the engine's own draws of one (fan_in, fan_out) weight matrix, pooled over `seeds`,
    beside the closed form."""
    from engine.model import Layout, init_stack

    spec = ModelSpec(hidden=(fan_out,), activation="tanh" if scheme == "xavier" else "relu",
                     init=SCHEMES[scheme][0])
    lay = Layout(spec, fan_in, 1)
    p = lay.get("W", 0)
    w = init_stack(lay, [spec] * len(seeds), list(seeds))[:, p.offset: p.offset + p.size].double()
    return {"formula": init_formula(scheme, fan_in, fan_out), "measured": float(w.std()), "mean": float(w.mean()),
            "n": int(w.numel())}


def _log_ratio(profile: pd.DataFrame) -> float:
    """log10 of the last hidden layer's activation std over the first's."""
    return float(np.log10(profile["std"].iloc[-1] / profile["std"].iloc[0]))


def _signal_stat(r):
    d = _deep(r)
    out = {f"{a}_{s}": _log_ratio(start_profile(d[a, s].config)) for a in INIT_ACTS for s in DRAWN}
    out["tanh_large_saturated"] = float(start_profile(d["tanh", "large"].config)["saturated"].iloc[-1])
    return out


def _grad_stat(r):
    d = _deep(r)
    g = {k: start_gradients(x) for k, x in d.items()}
    return {"small_max": float(np.log10(max(max(g[a, "small"]) for a in INIT_ACTS))),
            "cure_min": float(np.log10(min(min(g["tanh", "xavier"]), min(g["relu", "he"])))),
            "xavier_spread": max(g["tanh", "xavier"]) / min(g["tanh", "xavier"]),
            "he_spread": max(g["relu", "he"]) / min(g["relu", "he"])}


def _train_stat(r):
    d = _deep(r)
    small = max(_test(d["tanh", "small"]), _test(d["relu", "small"]))
    return {"small": small, "xavier_tanh": _test(d["tanh", "xavier"]), "he_relu": _test(d["relu", "he"]),
            "gain": min(_test(d["tanh", "xavier"]), _test(d["relu", "he"])) - small,
            "xavier_relu_solved": float(_test(d["relu", "xavier"]) >= SOLVED),
            "tanh_large": _test(d["tanh", "large"]), "relu_large_diverged": float(d["relu", "large"].diverged)}


def _zero_stat(r):
    zs, xs, zt, zr = r
    lay = zs.weights()
    return {"distinct": float(max(distinct_units(ly["W"]) for ly in lay[:-1])),
            "spread": max(unit_spread(ly["W"]) for ly in lay[:-1]),
            "moved": float(max(np.abs(ly["W"]).max() for ly in lay)),
            "still": float(max(np.abs(ly["W"]).max() for x in (zt, zr) for ly in x.weights())),
            "zero_r2": _test(zs), "xavier_r2": _test(xs)}


I_SMALL = Claim(
    "i_small", experiments=_deep_runs, statistic=_signal_stat,
    holds=lambda v: v["tanh_small"] < -9 and v["relu_small"] < -9,
    what="with N(0, 0.01²) weights the 10th layer's activation std is under 1e-9 of the first's (tanh and ReLU)")
I_KEEP = Claim(
    "i_keep", experiments=_deep_runs, statistic=_signal_stat,
    holds=lambda v: all(-1 < v[k] < 1 for k in ("tanh_xavier", "relu_he")),
    what="Xavier (tanh) and He (ReLU) keep the 10th layer's activation std within a factor 10 of the first's")
I_LARGE = Claim(
    "i_large", experiments=_deep_runs, statistic=_signal_stat,
    holds=lambda v: v["tanh_large_saturated"] > 0.4 and v["relu_large"] > 2,
    what="with N(0, 1) weights over 40% of the 10th tanh layer's units saturate and ReLU's activation std "
         "grows over 100-fold")
I_GRAD = Claim(
    "i_grad", experiments=_deep_runs, statistic=_grad_stat,
    holds=lambda v: v["small_max"] < -12 and v["cure_min"] > -4,
    what="at step 0 every layer's gradient is under 1e-12 with N(0, 0.01²) weights and over 1e-4 with "
         "Xavier (tanh) and He (ReLU)")
I_TRAIN = Claim(
    "i_train", experiments=_deep_runs, statistic=_train_stat,
    holds=lambda v: v["gain"] > 0.3,
    what="after 200 SGD steps Xavier (tanh) and He (ReLU) beat N(0, 0.01²) by more than 30 points of test "
         "accuracy")
I_ZERO = Claim(
    "i_zero", experiments=_zero_runs, statistic=_zero_stat,
    holds=lambda v: v["distinct"] == 1 and v["moved"] > 0.5 and v["still"] == 0,
    what="zero-initialised: the sigmoid net's 16 units per layer stay one unit, though its weights move; "
         "tanh and ReLU nets keep every weight at 0")
INIT_CLAIMS = (I_SMALL, I_KEEP, I_LARGE, I_GRAD, I_TRAIN, I_ZERO)


def _init_sweep(progress=None) -> tuple[list, list]:
    """Every seed's deep runs and zero-init runs: one run_many."""
    deep = [e for s in SEEDS for e in _deep_runs(s)]
    zero = [e for s in SEEDS for e in _zero_runs(s)]
    res = run_many(deep + zero, progress=progress)
    n, m = len(DRAWN) * len(INIT_ACTS), len(ZERO_RUNS)
    return ([res[n * i: n * i + n] for i in range(len(SEEDS))],
            [res[len(deep) + m * i: len(deep) + m * i + m] for i in range(len(SEEDS))])


def _scheme_scale(schemes=DRAWN):
    return color_scale(INIT_COLORS, [SCHEME_NAMES[s] for s in schemes])


def _layer_chart(df: pd.DataFrame, y: str, y_title: str, title: str, x_title: str, h: int):
    ch = charts.seed_curves(df, "layer", y, color="init", colors=INIT_COLORS, log_y=True, height=h,
                            x_title=x_title, y_title=y_title, title=title)
    return _compact(ch, columns=2)  # four schemes in two rows: in one row they outgrew half a slide


def _init_formula_metrics() -> list:
    outs = []
    for scheme, fi, fo in (("xavier", INIT_WIDTH, INIT_WIDTH), ("he", INIT_WIDTH, INIT_WIDTH),
                           ("xavier", 2, INIT_WIDTH), ("he", 2, INIT_WIDTH)):
        c = draw_check(scheme, fi, fo)
        outs.append(Metric(W(f"init.{scheme}_sigma", fan_in=fi, fan_out=fo, formula=c["formula"]),
                           f"{c['measured']:.3f}", help=W("init.sigma_help", n=c["n"], seeds=len(DRAW_SEEDS))))
    return outs


def _init_start(act, deep, h):
    sig, grad = [], []
    for s, rs in zip(SEEDS, deep):
        d = _deep(rs)
        for sc in DRAWN:
            r = d[act, sc]
            p = start_profile(r.config)
            sig += [{"seed": s, "init": SCHEME_NAMES[sc], "layer": int(L), "activation std": float(v)}
                    for L, v in zip(p["layer"], p["std"]) if v > 0]
            grad += [{"seed": s, "init": SCHEME_NAMES[sc], "layer": i + 1, "grad norm": g}
                     for i, g in enumerate(start_gradients(r)) if np.isfinite(g) and g > 0]
    left = _layer_chart(pd.DataFrame(sig), "activation std", "std of activations", W("init.signal_title", act=act),
                        f"hidden layer (1 to {INIT_DEPTH})", h)
    right = _layer_chart(pd.DataFrame(grad), "grad norm", "||∂E/∂W|| at step 0", W("init.grad_title"),
                         f"layer ({INIT_DEPTH + 1} = output)", h)
    return [Columns([[Chart(left, caption=W("init.signal_caption"))],
                     [Chart(right, caption=W("init.grad_caption"))]])] + _init_formula_metrics()


def _init_trained(act, deep, h):
    sig, acc, div = [], [], 0
    for s, rs in zip(SEEDS, deep):
        d = _deep(rs)
        for sc in DRAWN:
            r = d[act, sc]
            if r.diverged:
                div += 1
                continue
            p = trained_profile(r)
            sig += [{"seed": s, "init": SCHEME_NAMES[sc], "layer": int(L), "activation std": float(v)}
                    for L, v in zip(p["layer"], p["std"]) if v > 0]
            acc.append({"seed": s, "init": SCHEME_NAMES[sc], "test accuracy": _test(r)})
    left = _layer_chart(pd.DataFrame(sig), "activation std", "std of activations",
                        W("init.trained_title", act=act, steps=INIT_STEPS), f"hidden layer (1 to {INIT_DEPTH})", h)
    acc = pd.DataFrame(acc)
    shown = [sc for sc in DRAWN if SCHEME_NAMES[sc] in set(acc["init"])]
    right = _y_title(charts.seed_chart(acc, "init", "test accuracy", color="init", colors=INIT_COLORS, x_type="N",
                                       sort=[SCHEME_NAMES[s] for s in shown], x_title="", height=h, legend=False,
                                       title=W("init.acc_title", steps=INIT_STEPS)), "test accuracy")
    outs = [Columns([[Chart(left, caption=W("init.trained_caption"))],
                     [Chart(_compact(right, legend=False), caption=W("init.acc_caption"))]])]
    if div:
        outs.append(Note(W("init.diverged", runs=diverged_runs(div, len(DRAWN) * len(SEEDS))), kind="warning"))
    return outs


def _init_zero(zero, seed, h):
    zs, xs, zt, zr = zero[SEEDS.index(seed)]
    names = D.load(zs.config.data).feature_names
    rows = []
    for r, sc in ((zs, "zeros"), (xs, "xavier")):
        W1 = r.weights()[0]["W"]
        rows += [{"init": SCHEME_NAMES[sc], "input": names[i], "unit": j + 1, "weight": float(W1[i, j])}
                 for i in range(W1.shape[0]) for j in range(W1.shape[1])]
    heat = alt.Chart(pd.DataFrame(rows)).mark_rect().encode(
        x=alt.X("unit:O", title="hidden unit of layer 1", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("input:N", title="", sort=list(names)),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="blueorange", domainMid=0), title="weight"),
        tooltip=["init", "input", "unit", alt.Tooltip("weight:Q", format=".4f")],
    ).properties(width=260, height=h - 60).facet(column=alt.Column("init:N", title=None, sort=["zeros", "Xavier"]))
    stats = pd.DataFrame([_zero_stat(rs) for rs in zero])  # the claim i_zero's numbers, every seed
    d = int(stats["distinct"].max())
    lay = zs.weights()
    return [Chart(heat.configure_legend(orient="bottom"), caption=W("init.zero_caption", seed=seed,
                                                                    steps=ZERO_STEPS)),
            Metric(W("init.distinct"), W("init.distinct_value", d=d, width=ZERO_HIDDEN[0]),
                   help=W("init.distinct_help")),
            Metric(W("init.moved", seed=seed), f"{max(float(np.abs(ly['W']).max()) for ly in lay):.2f}"),
            Metric(W("init.still"), f"{stats['still'].max():g}", help=W("init.still_help")),
            Metric(W("init.r2", seed=seed), f"{_test(zs):.2f} / {_test(xs):.2f}")]


# ---------------------------------------------------------------- the same in PyTorch: nn.Linear's default

TORCH_DEPTH, TORCH_WIDTH, TORCH_BATCH = 20, 256, 256
TORCH_INITS = ("nn.Linear default", "kaiming_normal_")


def torch_mlp(depth: int, width: int, kaiming: bool) -> torch.nn.Sequential:
    layers = []
    for _ in range(depth):
        linear = torch.nn.Linear(width, width)  # default: Var(w) = 1/(3 n_in)
        if kaiming:  # He: Var(w) = 2/n_in, zero biases
            torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            torch.nn.init.zeros_(linear.bias)
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))


def probe(model, x, t):
    stds, h = [], x
    for module in model:
        h = module(h)
        if isinstance(module, torch.nn.ReLU):
            stds.append(h.std().item())  # the signal after each hidden layer
    loss = torch.nn.functional.binary_cross_entropy_with_logits(h.squeeze(1), t)
    loss.backward()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    grads = [m.weight.grad.norm().item() for m in linears[:-1]]  # hidden layers
    return stds, grads


@lru_cache(maxsize=4)
def torch_init_check(depth: int = TORCH_DEPTH, width: int = TORCH_WIDTH, seeds: tuple = SEEDS) -> pd.DataFrame:
    """`torch_mlp` and `probe` as a PyTorch user would run them, for each seed (the seed draws the weights,
    a batch of standard-normal inputs and random 0/1 targets): one row per seed, init and hidden layer."""
    rows = []
    for seed in seeds:
        for name in TORCH_INITS:
            torch.manual_seed(seed)
            model = torch_mlp(depth, width, kaiming=name == "kaiming_normal_")
            x = torch.randn(TORCH_BATCH, width)
            t = (torch.rand(TORCH_BATCH) < 0.5).float()
            stds, grads = probe(model, x, t)
            rows += [{"seed": seed, "init": name, "layer": i + 1, "activation std": s_, "grad norm": g}
                     for i, (s_, g) in enumerate(zip(stds, grads))]
    return pd.DataFrame(rows)


def torch_init_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per seed and init: log10 of the last hidden layer's activation std over the first's, and of the
    first layer's weight gradient over the last hidden layer's."""
    out = []
    for (seed, name), g in df.groupby(["seed", "init"], sort=False):
        g = g.sort_values("layer")
        out.append({"seed": seed, "init": name,
                    "signal": float(np.log10(g["activation std"].iloc[-1] / g["activation std"].iloc[0])),
                    "gradient": float(np.log10(g["grad norm"].iloc[0] / g["grad norm"].iloc[-1]))})
    return pd.DataFrame(out)


def torch_verdict(stats: pd.DataFrame) -> dict:
    """What the PyTorch view says, over seeds: mean log10 ratios per init and how many seeds pass each test
    (the default: signal under 1/10 and first-layer gradient under 1e-4 of the last; kaiming_normal_: both
    within a factor 10)."""
    d = stats[stats.init == "nn.Linear default"]
    k = stats[stats.init == "kaiming_normal_"]
    return {"n": len(d), "d_signal": float(d["signal"].mean()), "d_grad": float(d["gradient"].mean()),
            "k_signal": float(k["signal"].mean()), "k_grad": float(k["gradient"].mean()),
            "d_held": int(((d["signal"] < -1) & (d["gradient"] < -4)).sum()),
            "k_held": int(((k["signal"].abs() < 1) & (k["gradient"].abs() < 1)).sum())}


def _init_torch(h):
    df = torch_init_check()
    ver = torch_verdict(torch_init_stats(df))
    cs = dict(color="init", colors=TORCH_INIT_COLORS, log_y=True, height=h - 20,
              x_title=f"hidden layer (1 to {TORCH_DEPTH})")
    sig = charts.seed_curves(df, "layer", "activation std", y_title="std of activations",
                             title=W("init.torch_signal_title"), **cs)
    grad = charts.seed_curves(df, "layer", "grad norm", y_title="||∂E/∂W|| at step 0",
                              title=W("init.torch_grad_title"), **cs)
    table = pd.DataFrame({
        W("init.torch_col_init"): list(TORCH_INITS),
        W("init.torch_col_signal"): [f"10^{ver['d_signal']:.1f}", f"10^{ver['k_signal']:.1f}"],
        W("init.torch_col_grad"): [f"10^{ver['d_grad']:.1f}", f"10^{ver['k_grad']:.1f}"]}
    ).set_index(W("init.torch_col_init"))
    src = inspect.getsource(torch_mlp) + "\n\n" + inspect.getsource(probe)
    return [Code(src),
            Columns([[Chart(_compact(sig), caption=W("init.torch_signal_caption", seeds=ver["n"]))],
                     [Chart(_compact(grad), caption=W("init.torch_grad_caption"))]]),
            Table(table, caption=W("init.torch_table", seeds=ver["n"], batch=TORCH_BATCH, width=TORCH_WIDTH)),
            Markdown(W("init.torch_verdict", **ver))]


def _init_demo(v, progress):
    h = 280
    if v["view"] == "in PyTorch":
        return _init_torch(h)
    deep, zero = _init_sweep(progress)
    if v["view"] == "zero init":
        return _init_zero(zero, int(v["seed"]), h)
    if v["view"] == "after training":
        return _init_trained(v["activation"], deep, h)
    return _init_start(v["activation"], deep, h)


def init_worked() -> dict:
    """The init step's hand calculation: the per-layer factor of small random weights, He's std from
    torch's own gain, and nn.Linear's default bound (torch's gain for a = √5) and what a ReLU layer keeps."""
    fan = INIT_WIDTH
    small = SCHEMES["small"][1] * math.sqrt(fan)
    he = torch.nn.init.calculate_gain("relu") / math.sqrt(fan)
    bound = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3 / TORCH_WIDTH)
    keep = TORCH_WIDTH * bound ** 2 / 3 / 2  # n_in · Var(w) / 2: the second moment a ReLU layer passes on
    return {"fan": fan, "std": SCHEMES["small"][1], "small": small, "small9": small ** (INIT_DEPTH - 1),
            "he": he, "he_keep": fan * he ** 2 / 2, "width": TORCH_WIDTH, "bound": bound, "keep": keep,
            "torch_factor": math.sqrt(keep), "torch_depth": TORCH_DEPTH,
            "torch_far": math.sqrt(keep) ** (TORCH_DEPTH - 1)}


INIT = Step(
    "init",
    controls=(Select("view", "show", INIT_VIEWS, "at step 0"),
              Select("activation", "activation (deep nets)", INIT_ACTS, "tanh"),
              Slider("seed", "seed shown (zero init)", 0, 9, 0)),
    runs=lambda v: [e for s in SEEDS for e in _deep_runs(s) + _zero_runs(s)],  # every view draws the one sweep
    presets=(("ReLU", {"activation": "relu"}), ("After training", {"view": "after training"}),
             ("Zero init", {"view": "zero init"}), ("In PyTorch", {"view": "in PyTorch"})),
    demo=_init_demo, heavy=True,
    claims=INIT_CLAIMS,
    worked_values=init_worked,
)


# ============================================================ step 1 (shown first): linear layers collapse

LIN_STEPS = 600


def collapse_experiments(data="circles", depth=4, seed=0, snapshots=True) -> list[Experiment]:
    """An identity-activation net and a ReLU net of the same shape, Adam, one seed; `snapshots=False`
    is the lean version the claims train over seeds."""
    snaps = (LIN_STEPS,) if snapshots else ()
    return [Experiment(data=toy_data(data, 0.1, seed), model=ModelSpec(hidden=(16,) * int(depth), activation=a),
                       optim=OptimSpec("adam", lr=0.01),
                       train=TrainSpec(steps=LIN_STEPS, record_every=100 if not snapshots else 20,
                                       snapshot_steps=snaps, grid=GRID),
                       seed=int(seed))
            for a in ("identity", "relu")]


def _lin_runs(v: dict, seed: int, snapshots: bool = False) -> list[Experiment]:
    """The two nets the linear step trains for control values `v`, for one seed (lean unless `snapshots`)."""
    return collapse_experiments(v["data"], v["depth"], seed, snapshots=snapshots)


def collapse_check(res) -> dict:
    """Multiply the trained identity net's matrices into one map and compare it with the net."""
    layers = res.weights()
    W = np.eye(layers[0]["W"].shape[0])
    b = np.zeros(W.shape[1])
    for ly in layers:
        b = b @ ly["W"] + ly["b"]
        W = W @ ly["W"]
    s = D.load(res.config.data)
    h = s.X_test.astype(np.float64)
    for ly in layers:
        h = h @ ly["W"] + ly["b"]
    direct = s.X_test @ W + b
    return {"W": W[:, 0], "b": float(b[0]), "max_diff": float(np.abs(h - direct).max())}


def _boundary_line(chk: dict, split: D.Split, extent) -> alt.Chart:
    """The line W x + b = 0 of the collapsed map, drawn in the data's own (raw) coordinates."""
    a = chk["W"] / split.std
    c = chk["b"] - float(np.sum(chk["W"] * split.mean / split.std))
    x0, x1, y0, y1 = extent
    if abs(a[1]) >= abs(a[0]):
        xs = np.linspace(x0, x1, 50)
        ys = -(a[0] * xs + c) / a[1]
    else:
        ys = np.linspace(y0, y1, 50)
        xs = -(a[1] * ys + c) / a[0]
    keep = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    df = pd.DataFrame({"x1": xs[keep], "x2": ys[keep], "what": "W x + b = 0"})
    return alt.Chart(df).mark_line(color=COLLAPSED_BOUNDARY, strokeDash=[6, 3], strokeWidth=2.5).encode(
        x=alt.X("x1:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False)),
        y=alt.Y("x2:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False)), tooltip=["what"])


@lru_cache(maxsize=64)
def logistic_accuracy(data: str, seed: int = 0) -> float:
    """Plain logistic regression (sklearn) on the same split: the best a single linear layer does."""
    from sklearn.linear_model import LogisticRegression

    s = D.load(toy_data(data, 0.1, seed))
    return float(LogisticRegression().fit(s.X_train, s.y_train).score(s.X_test, s.y_test))


def _linear_stat(r):
    lin, relu = r
    lr = logistic_accuracy(lin.config.data.name, lin.config.data.seed)
    chk = collapse_check(lin)
    z = D.load(lin.config.data).X_test @ chk["W"] + chk["b"]
    return {"identity": _test(lin), "logistic": lr, "diff": abs(_test(lin) - lr), "max_diff": chk["max_diff"],
            "one_class": float(bool((z > 0).all() or (z <= 0).all()))}  # its line misses every test point


L_LOGISTIC = Claim(
    "l_logistic", experiments=lambda s: _lin_runs(LINEAR.defaults(), s),
    statistic=_linear_stat,
    holds=lambda v: v["diff"] <= 0.02 and v["max_diff"] < 1e-4,
    what="the 4-layer identity net's test accuracy is within 2 points of logistic regression's, and the product "
         "of its matrices reproduces its outputs")
L_RELU = Claim(
    "l_relu", experiments=lambda s: _lin_runs(LINEAR.defaults(), s),
    statistic=lambda r: {"identity": _test(r[0]), "relu": _test(r[1]), "gain": _test(r[1]) - _test(r[0])},
    holds=lambda v: v["gain"] > 0.2,
    what="on the circles the ReLU net beats the identity net of the same shape by more than 20 points")
LINEAR_CLAIMS = (L_LOGISTIC, L_RELU)


def _collapse_demo(v, progress):
    data, d = v["data"], int(v["depth"])
    sweep = [e for s in SEEDS for e in _lin_runs(v, s)]
    seed = int(v.get("seed", 0))
    shown = _lin_runs(v, seed, snapshots=True)
    res = run_many(shown + sweep, progress=progress)
    lin, relu = res[:2]
    split = D.load(shown[0].data)
    chk = collapse_check(lin)
    cols = []
    x0, x1, y0, y1 = lin.meta["extent"]
    size = charts.equal_axes(lin.meta["extent"], 250)  # one scale on both axes (drawn square)
    for r, name in ((lin, "identity"), (relu, "ReLU")):
        ch = charts.decision_surface(r.snapshots[-1], r.meta["extent"], _display_split(split),
                                     title=W("linear.surface_title", name=name, seed=seed),
                                     legend=r is lin, **size)  # one key for both: two did not fit the columns
        line = _boundary_line(chk, split, r.meta["extent"]) if r is lin else None
        crosses = line is not None and len(line.data) > 0
        if crosses:
            ch = alt.layer(*ch.layer, line).properties(
                **size, title=W("linear.surface_title", name=name, seed=seed)
            ).resolve_scale(color="independent")
        key = "surface" if r is not lin else "surface_line" if crosses else "surface_no_line"
        cols.append([Chart(ch, caption=W(f"linear.{key}", depth=d), square=True)])
    rows = []
    for i, s in enumerate(SEEDS):
        li, re_ = res[2 + 2 * i], res[3 + 2 * i]
        rows += [{"seed": s, "model": "logistic", "test accuracy": logistic_accuracy(data, s)},
                 {"seed": s, "model": "identity", "test accuracy": _test(li)},
                 {"seed": s, "model": "ReLU", "test accuracy": _test(re_)}]
    df = pd.DataFrame(rows)
    ev = _y_title(charts.seed_chart(df, "model", "test accuracy", x_title="", sort=["logistic", "identity", "ReLU"],
                                    x_type="N", height=300, title=W("linear.seeds_title")), "test accuracy")
    evidence = Chart(_compact(ev), caption=W("linear.seeds_caption", depth=d))
    w = chk["W"]
    means = df.groupby("model")["test accuracy"].mean()
    return [
        Columns(cols),
        Columns([[evidence],
                 [Markdown(W("linear.collapsed", seed=seed, matrices=d + 1, w1=w[0], w2=w[1], b=chk["b"],
                             max_diff=chk["max_diff"], logistic=means["logistic"], identity=means["identity"],
                             relu=means["ReLU"]))]]),
    ]


def linear_worked() -> dict:
    """The linear step's hand calculation, by torch: a 2-2-1 identity net (two nn.Linear layers, no
    activation, no bias) against the single matrix W2 W1."""
    l1 = torch.nn.Linear(2, 2, bias=False).double()
    l2 = torch.nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        l1.weight.copy_(torch.tensor([[2.0, 1.0], [-1.0, 3.0]]))
        l2.weight.copy_(torch.tensor([[1.0, -2.0]]))
        x = torch.tensor([1.0, 1.0], dtype=torch.float64)
        hidden = l1(x)
        net = l2(hidden)
        collapsed = l2.weight @ l1.weight
    return {"h1": float(hidden[0]), "h2": float(hidden[1]), "net": float(net[0]),
            "w1": float(collapsed[0, 0]), "w2": float(collapsed[0, 1]), "direct": float((collapsed @ x)[0])}


LINEAR = Step(
    "linear",
    controls=(Select("data", "data set", ("circles", "xor", "moons", "spiral"), "circles"),
              Slider("depth", "hidden layers (16 units each)", 1, 8, 4),
              Slider("seed", "seed shown in the maps", 0, 9, 0)),
    runs=lambda v: _lin_runs(v, v["seed"], snapshots=True) + [e for s in SEEDS for e in _lin_runs(v, s)],
    demo=_collapse_demo, heavy=True,
    claims=LINEAR_CLAIMS,
    worked_values=linear_worked,
)


# ============================================================ the quiz's evidence (same runs, own ids)

Q_RATIO = dataclasses.replace(G_RATIO, id="q_ratio")
Q_RELU = dataclasses.replace(P_RELU3, id="q_relu")
Q_EASY = dataclasses.replace(P_EASY, id="q_easy")
Q_LINEAR = dataclasses.replace(L_LOGISTIC, id="q_linear")


# ============================================================ step 8: check yourself

CHECK = Step("check", claims=(Q_RATIO, Q_RELU, Q_EASY, Q_LINEAR))


# ============================================================ the lesson

LESSON = W.lesson(
    id="vanishing_gradients", number=1,
    steps=(LINEAR, CHAIN, SATURATION, COMPOSITION, PLAYGROUND, GRADIENTS, INIT, CHECK),  # why activations, first
    references=("Glorot & Bengio 2010", "He et al. 2015", "Goodfellow, Bengio & Courville 2016"),
)
