"""Lesson 5: overfitting and validation, live.

A model that fits its training data better is not always a better model. This lesson measures the
gap between training and held-out error on Auto MPG as the network grows (3-2-1, 30-10-1,
100-50-10-1, as in the lectures), explains why there are three splits and how early stopping and
k-fold cross-validation use the validation data, decomposes error into bias and variance, shows
train and test error against the number of features (closed-form least squares), why collinear
features make coefficients unstable, what a 2-unit bottleneck layer costs, and how a grid and a
random search with the same budget choose a learning rate and a width. It opens with a drawing of a
dense network that counts its weights and biases.

Every comparison a note states is a `Claim` measured over 10 seeds (each seed draws its own split
of Auto MPG or digits and its own initialisation); the notes quote how often it held and the means
over seeds, the demos draw every seed. tests/lessons/test_claims.py retrains each claim with the
cache off; tests/lessons/test_overfitting.py checks the closed forms and the rest.

Each step is declared once, after its demo (controls, runs, presets, claims); every sentence a
learner reads lives in lessons/text/en/overfitting.md, keyed by step id.

References: Hastie, Tibshirani & Friedman 2009, ch. 2 and 7; Goodfellow, Bengio & Courville 2016,
ch. 5 and 7; Prechelt 1998 (early stopping); Bergstra & Bengio 2012 (random search).
"""
from __future__ import annotations

import dataclasses
import inspect

import altair as alt
import numpy as np
import pandas as pd

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, run_many
from engine import data as D
from lessons.charts import equal_axes, evidence_chart, seed_chart
from lessons.claims import Claim, measure
from lessons.common import diverged_runs, finite_rows
from lessons.theme import (
    BIAS_VARIANCE_COLORS,
    CAPACITY_COLORS,
    HIGHLIGHT_INK,
    MARKER_GREY,
    NETWORK_COLORS,
    NETWORK_EDGE,
    REFERENCE_GREY,
    SEARCH_COLORS,
    SPLIT_COLORS,
    SPREAD_GREY,
    color_scale,
)
from lessons.walkthrough import (
    Chart,
    Code,
    Columns,
    LogSlider,
    Metric,
    Note,
    Select,
    Slider,
    Step,
    Table,
    Toggle,
)
from lessons.words import Words

W = Words("overfitting")  # lessons/text/<language>/overfitting.md: every sentence a learner reads

CAPACITIES = {"3-2-1": (3, 2), "30-10-1": (30, 10), "100-50-10-1": (100, 50, 10)}
LRS = (0.005, 0.01, 0.02, 0.05)
RECORD = 20  # evaluate every 20 updates: one "evaluation" for early-stopping patience
CAP_STEPS = 1000  # the big network's validation loss bottoms out within a few hundred updates
SPLIT_SCALE = color_scale(SPLIT_COLORS, ["train", "val"])
SPLIT3_SCALE = color_scale(SPLIT_COLORS, ["train", "val", "test"])
SEEDS = tuple(range(10))  # the claims' seeds; the seed slider shows one of them
_SEED = Slider("seed", "seed shown (data split and initialisation)", 0, 9, 0, step=1)


def mpg_experiment(hidden, steps: int = CAP_STEPS, lr: float = 0.02, seed: int = 0, val_frac: float = 0.2,
                   test_frac: float = 0.2, kfold: int = 0, fold: int = 0, patience: int = 0,
                   restore_best: bool = True) -> Experiment:
    """One ELU network regressing miles per gallon on Auto MPG (all 392 rows), full-batch Adam, MSE.
    `seed` draws both the split of the rows and the initial weights."""
    return Experiment(
        data=DataSpec("autompg", n=0, seed=seed, train_frac=round(1 - val_frac - test_frac, 6), val_frac=val_frac,
                      test_frac=test_frac, kfold=kfold, fold=fold),
        model=ModelSpec(hidden=tuple(hidden), activation="elu", act_param=1.0),
        optim=OptimSpec("adam", lr=lr),
        train=TrainSpec(steps=steps, record_every=RECORD, patience=patience, restore_best=restore_best),
        seed=seed)


def _log_loss_axis(title="mean squared error (mpg², log scale)"):
    return alt.Y("loss:Q", title=title, scale=alt.Scale(type="log"))


def _mark_seed(ev, stat: str, seed: int, title: str, x_title: str, ref=0.0):
    """`evidence_chart` of one claim with the shown seed ringed."""
    base = evidence_chart(ev, stat, title=title, x_title=x_title, ref=ref)
    row = ev.table[ev.table["seed"] == seed]
    ring = alt.Chart(row[["seed", stat]]).mark_point(
        size=260, color=HIGHLIGHT_INK, strokeWidth=1.5, filled=False).encode(x=f"{stat}:Q", tooltip=["seed:O"])
    return base + ring


# ============================================================ step 1: the network and its weights


DIAGRAM_DATA = {"autompg": (9, 1), "digits": (64, 10)}  # inputs and outputs of the lesson's two data sets
MAX_DRAWN = 10  # node slots drawn per layer: a 128-unit layer would send 16,384 edges to the next one


def layer_sizes(n_in: int, layers: int, units: int, n_out: int) -> tuple:
    """(inputs, hidden widths..., outputs) of a network with `layers` hidden layers of `units` each."""
    return (int(n_in), *([int(units)] * int(layers)), int(n_out))


def parameter_count(sizes) -> dict:
    """Weights and biases of a dense network: each layer has n_in x n_out weights and n_out biases,
    so the total is the sum over layers of (n_in + 1) n_out."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    weights, biases = sum(a * b for a, b in pairs), sum(b for _, b in pairs)
    return {"weights": weights, "biases": biases, "total": weights + biases}


def engine_parameter_count(sizes, activation: str = "elu") -> int:
    """The length of one network's flat parameter row in the engine (engine.model.Layout)."""
    from engine.model import Layout

    return Layout(ModelSpec(hidden=tuple(sizes[1:-1]), activation=activation), sizes[0], sizes[-1]).size


def layer_table(sizes) -> pd.DataFrame:
    """One row per weight layer, indexed "n_in→n_out": its weights, biases and total (n_in + 1) n_out."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return pd.DataFrame({"weights": [a * b for a, b in pairs], "biases": [b for _, b in pairs],
                         "total": [(a + 1) * b for a, b in pairs]},
                        index=pd.Index([f"{a}→{b}" for a, b in pairs], name="layer"))


def _slots(n: int, max_drawn: int = MAX_DRAWN) -> list:
    """The unit indices drawn for a layer of n units: all of them, or the first and last few around a
    gap (None) that stands for the rest."""
    if n <= max_drawn:
        return list(range(n))
    head = max_drawn // 2
    tail = max_drawn - head - 1
    return list(range(head)) + [None] + list(range(n - tail, n))


def diagram_frames(sizes, max_drawn: int = MAX_DRAWN):
    """Nodes (layer, y, kind, unit), gaps (layer, y, hidden units) and edges (x, y, x2, y2) of the
    drawing; edges join drawn nodes of neighbouring layers only."""
    nodes, gaps, drawn = [], [], []
    last = len(sizes) - 1
    for layer, n in enumerate(sizes):
        slots = _slots(n, max_drawn)
        kind = "input" if layer == 0 else "output" if layer == last else "hidden"
        ys = [(len(slots) - 1) / 2 - i for i in range(len(slots))]
        for unit, y in zip(slots, ys):
            if unit is None:
                gaps.append({"layer": layer, "y": y, "more": n - (len(slots) - 1)})
            else:
                nodes.append({"layer": layer, "y": y, "kind": kind, "unit": unit + 1})
        drawn.append([y for unit, y in zip(slots, ys) if unit is not None])
    edges = [{"x": layer, "y": ya, "x2": layer + 1, "y2": yb}
             for layer in range(last) for ya in drawn[layer] for yb in drawn[layer + 1]]
    return pd.DataFrame(nodes), pd.DataFrame(gaps, columns=["layer", "y", "more"]), pd.DataFrame(edges)


def network_diagram(sizes, max_drawn: int = MAX_DRAWN) -> alt.LayerChart:
    """Nodes as points and connections as rules (Altair), one column per layer, named on top."""
    nodes, gaps, edges = diagram_frames(sizes, max_drawn)
    last = len(sizes) - 1
    names = [W("diagram.input")] + [f"{W('diagram.hidden')}{i}" for i in range(1, last)] + [W("diagram.output")]
    names = [f"{name}\n{n}" for name, n in zip(names, sizes)]  # two short lines: eight columns share ~300 px
    top = (max_drawn - 1) / 2 + 1.0
    heads = pd.DataFrame({"layer": range(len(sizes)), "y": top, "name": names})
    xs = alt.Scale(domain=[-0.5, last + 0.5])
    x = alt.X("x:Q", axis=None, scale=xs)
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[-top + 0.3, top + 1.5]))
    opacity = 0.5 if len(edges) < 150 else 0.25
    rules = alt.Chart(edges).mark_rule(color=NETWORK_EDGE, opacity=opacity, strokeWidth=1).encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q")
    kinds = ["input", "hidden", "output"]
    dots = alt.Chart(nodes).mark_circle(size=170, opacity=1, stroke=HIGHLIGHT_INK, strokeWidth=0.8).encode(
        x=alt.X("layer:Q", scale=xs, axis=None), y=y,
        color=alt.Color("kind:N", scale=color_scale(NETWORK_COLORS, kinds), legend=None),
        tooltip=["kind", "layer", "unit"])
    more = alt.Chart(gaps).mark_text(fontSize=13, fontWeight=600, color=MARKER_GREY).encode(
        x=alt.X("layer:Q", scale=xs, axis=None), y=y, text=alt.Text("label:N")).transform_calculate(
        label="'+' + datum.more")
    head = alt.Chart(heads).mark_text(fontSize=11, fontWeight=600, color=HIGHLIGHT_INK, lineBreak="\n",
                                      baseline="bottom").encode(
        x=alt.X("layer:Q", scale=xs, axis=None), y=y, text="name:N")
    layers = [rules, dots, head] + ([more] if len(gaps) else [])
    return alt.layer(*layers).properties(height=300)


def _diagram_demo(v, progress):
    n_in, n_out = DIAGRAM_DATA[v["data"]]
    sizes = layer_sizes(n_in, v["layers"], v["units"], n_out)
    count = parameter_count(sizes)
    engine = engine_parameter_count(sizes)
    _, _, edges = diagram_frames(sizes)
    arch = "-".join(str(n) for n in sizes)
    tab = layer_table(sizes)
    outs = [
        Metric(W("diagram.weights"), f"{count['weights']:,}", help=W("diagram.weights_help")),
        Metric(W("diagram.biases"), f"{count['biases']:,}", help=W("diagram.biases_help")),
        Metric(W("diagram.total"), f"{count['total']:,}", help=W("diagram.total_help")),
        Metric(W("diagram.engine"), f"{engine:,}", help=W("diagram.engine_help")),
        Columns([[Chart(network_diagram(sizes).properties(title=W("diagram.title", arch=arch)),
                        caption=W("diagram.caption"))],
                 [Table(tab, caption=W("diagram.table_caption"))]]),
    ]
    if count["weights"] > len(edges):
        outs.append(Note(W("diagram.capped", drawn=len(edges), total=count["weights"], max=MAX_DRAWN), kind="info"))
    if engine != count["total"]:
        outs.append(Note(W("diagram.mismatch", engine=engine, total=count["total"]), kind="error"))
    return outs


DIAGRAM = Step(
    "diagram",
    controls=(Select("data", "data set (inputs and outputs)", tuple(DIAGRAM_DATA), "autompg"),
              Slider("layers", "hidden layers", 0, 6, 2, step=1),
              Slider("units", "units per hidden layer", 1, 128, 10, step=1)),
    demo=_diagram_demo,
    presets=(("Six layers of 10", {"layers": 6, "units": 10}), ("Digits, 2 x 64", {"data": "digits", "units": 64})),
)


# ============================================================ step 2: capacity


def capacity_experiments(lr: float = 0.02, steps: int = CAP_STEPS, seed: int = 0) -> list[Experiment]:
    return [mpg_experiment(h, steps, lr, seed) for h in CAPACITIES.values()]


def capacity_table(res) -> pd.DataFrame:
    rows = []
    for name, r in zip(CAPACITIES, res):
        h = r.history
        i = int(h["val_loss"].idxmin())
        rows.append({"network": name, "parameters": int(r.meta["n_params"]),
                     "train loss": r.final["train_loss"], "val loss": r.final["val_loss"],
                     "gap (val - train)": r.final["val_loss"] - r.final["train_loss"],
                     "lowest val loss": float(h["val_loss"][i]), "at step": int(h["step"][i]),
                     "val R²": r.final["val_metric"]})
    return pd.DataFrame(rows)


def _capacity_stats(res) -> dict:
    t = capacity_table(res)
    gap, train = t["gap (val - train)"].to_numpy(), t["train loss"].to_numpy()
    big = t.iloc[-1]
    return {"gap_small": gap[0], "gap_mid": gap[1], "gap_big": gap[2], "big_over_mid": float(gap[2] > gap[1]),
            "train_small": train[0], "train_mid": train[1], "train_big": train[2],
            "train_low": float(res[-1].history["train_loss"].min()),  # Adam at lr 0.02 spikes now and then
            "best_step": big["at step"], "val_min": big["lowest val loss"], "val_end": big["val loss"],
            "rise": big["val loss"] / big["lowest val loss"]}


def _capacity_runs(seed: int) -> list[Experiment]:
    return capacity_experiments(seed=seed)


CAP_GAP = Claim(
    "cap_gap", _capacity_runs, _capacity_stats,
    holds=lambda v: v["gap_small"] < v["gap_mid"] and v["gap_small"] < v["gap_big"],
    what="generalisation gap (val - train MSE) after 1000 updates: 3-2-1 smallest")
CAP_OVERFIT = Claim(
    "cap_overfit", _capacity_runs, _capacity_stats,
    holds=lambda v: v["train_low"] < 1.0 and v["rise"] > 1.15,
    what="100-50-10-1: training MSE gets below 1 while the final validation MSE is > 1.15 x its minimum")
CAP_UNDERFIT = Claim(
    "cap_underfit", _capacity_runs, _capacity_stats,
    holds=lambda v: v["train_small"] > max(v["train_mid"], v["train_big"]),
    what="3-2-1 has the highest training MSE of the three")
CAPACITY_CLAIMS = (CAP_GAP, CAP_OVERFIT, CAP_UNDERFIT)


def capacity_worked() -> dict:
    """The capacity step's worked numbers: each network's parameters, from the engine's layout, against
    the training rows of the engine's split of Auto MPG."""
    n_train = len(D.load(mpg_experiment(CAPACITIES["3-2-1"]).data).y_train)
    p = {key: engine_parameter_count((9, *h, 1)) for key, h in zip(("small", "mid", "big"), CAPACITIES.values())}
    out = {"n_train": n_train, **{f"p_{k}": v for k, v in p.items()}, **{f"r_{k}": v / n_train for k, v in p.items()}}
    out["inv_small"] = n_train / p["small"]
    return out


def _curves(res, names) -> pd.DataFrame:
    parts = []
    for name, r in zip(names, res):
        h = r.history
        for split in ("train", "val"):
            parts.append(pd.DataFrame({"network": name, "split": split, "step": h["step"],
                                       "loss": h[f"{split}_loss"].clip(lower=1e-3)}))
    return pd.concat(parts, ignore_index=True)


def seed_strips(df: pd.DataFrame, row: str, value: str, seed: int, *, order=None, x_title: str = "",
                title: str = "", colors: dict | None = None, ref: float | None = None) -> alt.LayerChart:
    """A compact horizontal evidence chart: one row per `row` value, one dot per seed, the mean as a
    black tick, mean ± 1 sd as a bar, and the shown seed ringed."""
    order = order or list(dict.fromkeys(df[row]))
    y = alt.Y(f"{row}:N", sort=order, title=None)
    x = alt.X(f"{value}:Q", title=x_title, scale=alt.Scale(zero=False))
    color = (alt.Color(f"{row}:N", scale=color_scale(colors, order), legend=None) if colors
             else alt.value(MARKER_GREY))
    stats = df.groupby(row, as_index=False)[value].agg(["mean", "std"]).reset_index(drop=True)
    stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
    bar = alt.Chart(stats).mark_rule(strokeWidth=2, color=SPREAD_GREY).encode(y=y, x="lo:Q", x2="hi:Q")
    dots = alt.Chart(df).mark_circle(size=55, opacity=0.55).encode(
        y=y, x=x, color=color, tooltip=[f"{row}:N", "seed:O", alt.Tooltip(f"{value}:Q", format=".3g")])
    mean = alt.Chart(stats).mark_tick(thickness=3, size=18, color=HIGHLIGHT_INK).encode(
        y=y, x="mean:Q", tooltip=[f"{row}:N", alt.Tooltip("mean:Q", format=".3g", title="mean over seeds")])
    ring = alt.Chart(df[df["seed"] == seed]).mark_point(
        size=140, color=HIGHLIGHT_INK, strokeWidth=1.5, filled=False).encode(y=y, x=f"{value}:Q", tooltip=["seed:O"])
    layers = [bar, dots, mean, ring]
    if ref is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"ref": [ref]})).mark_rule(color=REFERENCE_GREY, strokeDash=[4, 4])
                      .encode(x="ref:Q"))
    return alt.layer(*layers).properties(title=title, height=alt.Step(30))


def _capacity_demo(v, progress):
    ev = measure(CAPACITY_CLAIMS, progress)
    res = run_many(capacity_experiments(v["lr"], v["steps"], v["seed"]), progress=progress)
    seed = v["seed"]
    one = (W("one_run", seed=seed) if (v["lr"], v["steps"]) == (0.02, CAP_STEPS) else
           W("capacity.one_run_at", seed=seed, lr=v["lr"], steps=v["steps"]))
    gaps = ev["cap_gap"].table.melt("seed", ["gap_small", "gap_mid", "gap_big"], "network", "gap")
    gaps["network"] = gaps["network"].map(dict(zip(["gap_small", "gap_mid", "gap_big"], CAPACITIES)))
    evidence = Chart(seed_strips(gaps, "network", "gap", seed, order=list(CAPACITIES), colors=CAPACITY_COLORS,
                                 ref=0, x_title=W("capacity.gap_axis"),
                                 title=W("capacity.evidence_title", steps=CAP_STEPS, seed=seed)),
                     caption=W("capacity.evidence_caption"))
    df = finite_rows(_curves(res, list(CAPACITIES)), "loss")  # a diverged run draws no line
    chart = alt.Chart(df).mark_line(strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="update"), y=_log_loss_axis("MSE (mpg², log)"),
        color=alt.Color("split:N", scale=SPLIT_SCALE, title="", legend=alt.Legend(orient="top")),
        tooltip=["network", "split", "step", alt.Tooltip("loss:Q", format=".2f")],
    ).properties(width=135, height=160).facet(
        column=alt.Column("network:N", sort=list(CAPACITIES), title=None,
                          header=alt.Header(labelFontSize=14, labelFontWeight=600))).properties(title=one)
    outs = [Chart(chart, caption=W("capacity.curves_caption")), evidence]
    diverged = sum(r.diverged for r in res)
    if diverged:
        outs.append(Note(f"{diverged_runs(diverged, len(res))} {W('capacity.pick_smaller', one=one)}", kind="error"))
    if not res[-1].diverged:
        big = capacity_table(res).iloc[-1]
        outs.append(Note(W("capacity.big_note", one=one.capitalize(), val_min=big["lowest val loss"],
                           at_step=big["at step"], train=big["train loss"], val=big["val loss"]), kind="info"))
    return outs


CAPACITY = Step(
    "capacity",
    controls=(LogSlider("lr", "learning rate (Adam)", LRS, 0.02),
              Slider("steps", "updates", 500, 3000, CAP_STEPS, step=500), _SEED),
    runs=lambda v: capacity_experiments(v["lr"], v["steps"], v["seed"]),
    demo=_capacity_demo, heavy=True, claims=CAPACITY_CLAIMS, worked_values=capacity_worked,
    presets=(("500 updates", {"steps": 500}), ("Slow: lr 0.005", {"lr": 0.005, "steps": 3000})),
)


# ============================================================ step 3: three splits


SELECT_WIDTHS = (2, 8, 32, 128)
SELECT_STEPS = 800
SELECT_FRACS = (0.3, 0.3)  # validation and test: 118 and 117 rows, so one row moves a mean little


def selection_experiments(val_frac: float = SELECT_FRACS[0], test_frac: float = SELECT_FRACS[1],
                          seed: int = 0) -> list[Experiment]:
    return [mpg_experiment((w,), SELECT_STEPS, 0.02, seed, val_frac, test_frac) for w in SELECT_WIDTHS]


def select_model(res) -> tuple[pd.DataFrame, int]:
    """The candidates' train, validation and test losses, and the index of the one validation picks."""
    df = pd.DataFrame({"hidden units": [r.config.model.hidden[0] for r in res],
                       "train": [r.final["train_loss"] for r in res], "val": [r.final["val_loss"] for r in res],
                       "test": [r.final["test_loss"] for r in res]})
    return df, int(np.argmin(df["val"].to_numpy()))


def _selection_stats(res) -> dict:
    df, pick = select_model(res)
    test = df["test"].to_numpy()
    out = {"pick": SELECT_WIDTHS[pick], "train_pick": SELECT_WIDTHS[int(np.argmin(df["train"].to_numpy()))],
           "best": SELECT_WIDTHS[int(np.argmin(test))], "test_pick": test[pick], "test_best": test.min(),
           "regret": test[pick] / test.min() - 1, "test_widest": test[-1]}
    out.update({f"pick_{w}": float(i == pick) for i, w in enumerate(SELECT_WIDTHS)})
    return out


def _selection_runs(seed: int) -> list[Experiment]:
    return selection_experiments(seed=seed)


REGRET_MAX = 0.35
TRAIN_PICK = Claim(
    "train_pick", _selection_runs, _selection_stats, holds=lambda v: v["train_pick"] == SELECT_WIDTHS[-1],
    what="the lowest training loss belongs to the widest candidate")
VAL_PICK = Claim(
    "val_pick", _selection_runs, _selection_stats, holds=lambda v: v["regret"] <= REGRET_MAX,
    what=f"the validation pick's test MSE is within {REGRET_MAX:.0%} of the best candidate's")


def _picks_chart(table: pd.DataFrame, seed: int) -> alt.LayerChart:
    """One row per seed: the candidate validation picks (orange dot), the one with the lowest test
    loss (green ring) and the one with the lowest training loss (blue cross)."""
    kinds = {"validation pick": "pick", "lowest test loss": "best", "lowest training loss": "train_pick"}
    df = pd.DataFrame([{"seed": int(r["seed"]), "units": f"{int(r[col])}", "what": what}
                       for _, r in table.iterrows() for what, col in kinds.items()])
    colors = alt.Scale(domain=list(kinds), range=[SPLIT_COLORS["val"], SPLIT_COLORS["test"], SPLIT_COLORS["train"]])
    enc = dict(x=alt.X("units:N", sort=[str(w) for w in SELECT_WIDTHS], title="hidden units",
                       axis=alt.Axis(labelAngle=0)),
               y=alt.Y("seed:O", title="seed"),
               color=alt.Color("what:N", scale=colors, title=None,
                               legend=alt.Legend(orient="top", columns=2, symbolStrokeWidth=2.5)),
               shape=alt.Shape("what:N", scale=alt.Scale(domain=list(kinds), range=["circle", "circle", "cross"]),
                               title=None),
               tooltip=["seed:O", "units", "what"])
    ring = alt.Chart(df[df["what"] == "lowest test loss"]).mark_point(size=300, strokeWidth=2.5, filled=False).encode(
        **enc)
    dot = alt.Chart(df[df["what"] == "validation pick"]).mark_circle(size=130, opacity=1).encode(**enc)
    cross = alt.Chart(df[df["what"] == "lowest training loss"]).mark_point(
        size=70, filled=True, opacity=0.8).encode(**enc)
    shown = alt.Chart(pd.DataFrame({"seed": [seed]})).mark_rect(color=HIGHLIGHT_INK, opacity=0.08).encode(y="seed:O")
    return alt.layer(shown, ring, dot, cross)


def _splits_demo(v, progress):
    ev = VAL_PICK.measure(progress)
    seed = v["seed"]
    spec_kw = dict(val_frac=v["val_frac"], test_frac=v["test_frac"], seed=seed)
    res = run_many(selection_experiments(**spec_kw), progress=progress)
    s = D.load(res[0].config.data)
    df, best = select_model(res)
    long = df.melt("hidden units", ["train", "val"], "split", "loss")
    long["candidate"] = long["hidden units"].map(lambda w: f"{w}")
    order = [f"{w}" for w in SELECT_WIDTHS]
    one = W("splits.one_split", seed=seed)
    bars = alt.Chart(long).mark_bar().encode(
        x=alt.X("candidate:N", sort=order, title="hidden units (one layer)", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("split:N", sort=["train", "val"]),
        y=alt.Y("loss:Q", title=W("splits.bars_axis", steps=SELECT_STEPS)),
        color=alt.Color("split:N", scale=SPLIT_SCALE, title="", legend=alt.Legend(orient="top")),
        tooltip=["candidate", "split", alt.Tooltip("loss:Q", format=".2f")]).properties(height=320, title=one)
    pick = res[best]
    fracs = (v["val_frac"], v["test_frac"]) == SELECT_FRACS
    return [
        Metric(W("splits.train_rows"), str(len(s.y_train))), Metric(W("splits.val_rows"), str(len(s.y_val))),
        Metric(W("splits.test_rows"), str(len(s.y_test))),
        Columns([[Chart(bars, caption=W("splits.bars_caption"))],
                 [Chart(_picks_chart(ev.table, seed).properties(height=320, title=W("splits.picks_title")),
                        caption=W("splits.picks_caption" if fracs else "splits.picks_caption_other"))]]),
        Note(W("splits.pick_note", one=one.capitalize(), units=SELECT_WIDTHS[best], val=pick.final["val_loss"],
               test=pick.final["test_loss"], r2=pick.final["test_metric"]), kind="success"),
    ]


SPLITS = Step(
    "splits",
    controls=(Slider("val_frac", "validation fraction", 0.1, 0.4, SELECT_FRACS[0], step=0.05, format="%.2f"),
              Slider("test_frac", "test fraction", 0.1, 0.4, SELECT_FRACS[1], step=0.05, format="%.2f"), _SEED),
    runs=lambda v: selection_experiments(v["val_frac"], v["test_frac"], v["seed"]),
    demo=_splits_demo, heavy=True, claims=(TRAIN_PICK, VAL_PICK),
)


# ============================================================ step 4: the leak, in code


LEAK_WIDTHS = (4, 16, 64, 256)  # the settings tried: every width (one tanh layer) ...
LEAK_LRS = (0.003, 0.01, 0.03, 0.1)  # ... with every learning rate (Adam, full batch): 16 candidates
LEAK_STEPS = 1000
LEAK_NOISE = 0.3  # std of the noise on the targets t = sin(2πx) + noise, so the best MSE is about 0.09
LEAK_TEST = 20  # rows in each small test set: as few as the 20 validation rows
LEAK_DRAWS = 200  # small test sets drawn per seed from the 3,940 fresh rows, so one lucky draw cannot decide
LEAK_SALT = 77  # keeps the draws of test sets apart from the seed's other random streams


def leak_experiments(seed: int = 0) -> list[Experiment]:
    """16 candidate settings on one noisy sine: 40 training rows, 20 validation rows and 3,940 fresh
    rows (the engine's test set), which stand for the error on new data. The seed draws the noise and
    the initial weights."""
    spec = DataSpec("sine1d", n=4000, noise=LEAK_NOISE, seed=seed, train_frac=0.01, val_frac=0.005, test_frac=0.985)
    return [Experiment(data=spec, model=ModelSpec(hidden=(w,), activation="tanh"), optim=OptimSpec("adam", lr=lr),
                       train=TrainSpec(steps=LEAK_STEPS, record_every=100), seed=seed)
            for w in LEAK_WIDTHS for lr in LEAK_LRS]


def predict_tanh(res, X) -> np.ndarray:
    """A trained tanh network's outputs for the rows X (standardised as its training rows were)."""
    ws = res.weights()
    h = np.asarray(X, np.float64)
    for i, layer in enumerate(ws):
        z = h @ layer["W"] + layer["b"]
        h = z if i == len(ws) - 1 else np.tanh(z)
    return h.reshape(len(h), -1)[:, 0]


def pick_on_test(val, test):
    """Wrong: test chooses and grades."""
    pick = int(np.argmin(test))
    return pick, test[pick]


def pick_on_validation(val, test):
    """Fix: val chooses, test grades."""
    pick = int(np.argmin(val))
    return pick, test[pick]


LEAK_WAYS = {"chosen on test": pick_on_test, "chosen on validation": pick_on_validation}


def leak_errors(res) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate: its validation MSE, its MSE on the 3,940 fresh rows, and its squared error on each
    fresh row (candidates, rows), from the trained weights."""
    s = D.load(res[0].config.data)
    sq = np.stack([(predict_tanh(r, s.X_test) - s.y_test) ** 2 for r in res])
    return np.array([r.final["val_loss"] for r in res]), sq.mean(1), sq


def leak_draws(res, seed: int, size: int = LEAK_TEST, draws: int = LEAK_DRAWS) -> pd.DataFrame:
    """Both ways of reporting, on `draws` small test sets of `size` fresh rows: per draw and way, the
    candidate picked, the score reported and the picked candidate's MSE on all the fresh rows."""
    val, fresh, sq = leak_errors(res)
    rng = np.random.default_rng([seed, LEAK_SALT])
    rows = []
    for j in range(draws):
        test = sq[:, rng.choice(sq.shape[1], size, replace=False)].mean(1)
        for way, report in LEAK_WAYS.items():
            pick, reported = report(val, test)
            rows.append({"draw": j, "way": way, "pick": pick, "reported": float(reported),
                         "fresh": float(fresh[pick]), "optimism": float(fresh[pick] - reported)})
    return pd.DataFrame(rows)


def _leak_stats(res) -> dict:
    d = leak_draws(res, res[0].config.seed)
    m = d.groupby("way")[["reported", "fresh", "optimism"]].mean()
    below = d.assign(below=d["reported"] < d["fresh"]).groupby("way")["below"].mean()
    out = {}
    for key, way in (("leak", "chosen on test"), ("honest", "chosen on validation")):
        out.update({f"opt_{key}": m.loc[way, "optimism"], f"rel_{key}": m.loc[way, "optimism"] / m.loc[way, "fresh"],
                    f"reported_{key}": m.loc[way, "reported"], f"fresh_{key}": m.loc[way, "fresh"],
                    f"below_{key}": below[way]})
    return out


LEAK_MARGIN = 0.03
LEAK_OPTIMISM = Claim(
    "leak_optimism", leak_experiments, _leak_stats,
    holds=lambda v: v["rel_leak"] > v["rel_honest"] + LEAK_MARGIN,
    test_seeds=(0, 1, 2),  # 16 runs of 1,000 updates per seed: CI retrains three seeds
    what=f"over 200 test sets of 20 rows: choosing on the test set makes the report more than {LEAK_MARGIN:.0%} "
         "more optimistic (fresh MSE - reported, relative) than choosing on validation")


def _leak_demo(v, progress):
    seed, size = v["seed"], v["size"]
    runs = run_many(LEAK_OPTIMISM.runs(), progress=progress)
    per = len(LEAK_WIDTHS) * len(LEAK_LRS)
    rows = []
    for s in SEEDS:
        d = leak_draws(runs[per * s: per * (s + 1)], s, size)
        m = d.groupby("way")[["optimism", "fresh"]].mean()
        rows += [{"seed": s, "way": way, "optimism": m.loc[way, "optimism"] / m.loc[way, "fresh"]}
                 for way in LEAK_WAYS]
    strips = seed_strips(pd.DataFrame(rows), "way", "optimism", seed, order=list(LEAK_WAYS),
                         colors=dict(zip(LEAK_WAYS, (SPLIT_COLORS["test"], SPLIT_COLORS["val"]))), ref=0,
                         x_title=W("leak.optimism_axis"), title=W("leak.strips_title", size=size))
    res = runs[per * seed: per * (seed + 1)]
    val, fresh, sq = leak_errors(res)
    first = leak_draws(res, seed, size, draws=1).set_index("way")
    test = sq[:, np.random.default_rng([seed, LEAK_SALT]).choice(sq.shape[1], size, replace=False)].mean(1)
    cand = pd.DataFrame({"fresh": fresh, "test": test, "val": val,
                         "setting": [f"{w} units, η {lr:g}" for w in LEAK_WIDTHS for lr in LEAK_LRS]})
    picks = pd.DataFrame([{"way": way, "fresh": fresh[int(first.loc[way, "pick"])],
                           "test": test[int(first.loc[way, "pick"])]} for way in LEAK_WAYS])
    lim = [float(min(cand["fresh"].min(), cand["test"].min())) * 0.9,
           float(max(cand["fresh"].max(), cand["test"].max())) * 1.05]
    xs, ys = alt.Scale(domain=lim, nice=False), alt.Scale(domain=lim, nice=False)
    diag = alt.Chart(pd.DataFrame({"a": lim, "b": lim})).mark_line(color=REFERENCE_GREY, strokeDash=[4, 4]).encode(
        x=alt.X("a:Q", scale=xs), y=alt.Y("b:Q", scale=ys))
    dots = alt.Chart(cand).mark_circle(size=60, color=MARKER_GREY, opacity=0.8).encode(
        x=alt.X("fresh:Q", scale=xs, title=W("leak.fresh_axis")),
        y=alt.Y("test:Q", scale=ys, title=W("leak.test_axis", size=size)),
        tooltip=["setting", alt.Tooltip("fresh:Q", format=".3f"), alt.Tooltip("test:Q", format=".3f"),
                 alt.Tooltip("val:Q", format=".3f")])
    ring = alt.Chart(picks).mark_point(size=320, strokeWidth=2.5, filled=False).encode(
        x=alt.X("fresh:Q", scale=xs), y=alt.Y("test:Q", scale=ys),
        color=alt.Color("way:N", scale=alt.Scale(domain=list(LEAK_WAYS),
                                                 range=[SPLIT_COLORS["test"], SPLIT_COLORS["val"]]),
                        title="", legend=alt.Legend(orient="top")), tooltip=["way"])
    one = W("one_run", seed=seed)
    return [
        Columns([[Code(inspect.getsource(pick_on_test))], [Code(inspect.getsource(pick_on_validation))]]),
        Columns([[Chart((diag + dots + ring).properties(**equal_axes((*lim, *lim), 230),
                                                        title=W("leak.scatter_title", one=one)),
                        caption=W("leak.scatter_caption"), square=True)],
                 [Chart(strips, caption=W("leak.strips_caption"))]]),
        *[Metric(W("leak.metric", way=way), f"{first.loc[way, 'reported']:.3f} / {first.loc[way, 'fresh']:.3f}",
                 help=W("leak.metric_help", one=one, size=size)) for way in LEAK_WAYS],
    ]


LEAK = Step(
    "leak",
    controls=(Select("size", "rows in the test set", (10, 20, 80, 320), LEAK_TEST), _SEED),
    runs=lambda v: leak_experiments(v["seed"]),
    demo=_leak_demo, heavy=True, claims=(LEAK_OPTIMISM,),
    presets=(("80 test rows", {"size": 80}),),
)


# ============================================================ step 4: early stopping


PATIENCE = 10


def stopping_experiments(patience: int = PATIENCE, restore: bool = True, seed: int = 0) -> list[Experiment]:
    """The 100-50-10-1 network trained for all its updates, and the same run with early stopping."""
    big = CAPACITIES["100-50-10-1"]
    return [mpg_experiment(big, seed=seed), mpg_experiment(big, seed=seed, patience=patience, restore_best=restore)]


def best_step(res) -> tuple[int, float]:
    h = res.history
    i = int(h["val_loss"].idxmin())
    return int(h["step"][i]), float(h["val_loss"][i])


def _stopping_stats(res) -> dict:
    full, es = res
    step, val_min = best_step(full)
    es_step, es_min = best_step(es)  # the stopped run's own evaluations (the same as the full run's up to the stop)
    stop = es.meta.get("stopped_at")
    return {"best_step": step, "stopped_at": np.nan if stop is None else stop,
            "lag": np.nan if stop is None else stop - es_step, "val_min": val_min, "es_min": es_min,
            "val_es": es.final["val_loss"],
            "val_full": full.final["val_loss"], "rise": full.final["val_loss"] / val_min,
            "test_full": full.final["test_loss"], "test_es": es.final["test_loss"],
            "gain": full.final["test_loss"] - es.final["test_loss"]}


def _stopping_runs(seed: int) -> list[Experiment]:
    return stopping_experiments(seed=seed)


ES_RESTORE = Claim(
    "es_restore", _stopping_runs, _stopping_stats,
    holds=lambda v: abs(v["val_es"] - v["es_min"]) <= 1e-5 * v["es_min"] and v["lag"] == (PATIENCE + 1) * RECORD,
    what="early stopping (patience 10) stops 11 evaluations after the best one and restores its weights")
ES_TEST = Claim(
    "es_test", _stopping_runs, _stopping_stats, holds=lambda v: v["gain"] > 0,
    what="test MSE of the stopped 100-50-10-1 is lower than after all 1000 updates")


def _stopping_demo(v, progress):
    ev = ES_TEST.measure(progress)
    seed = v["seed"]
    full, es = run_many(stopping_experiments(v["patience"], v["restore"], seed), progress=progress)
    step_best, val_best = best_step(full)
    stop = es.meta.get("stopped_at")
    df = _curves([full], ["full"])
    lines = alt.Chart(df).mark_line(strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="update"), y=_log_loss_axis("MSE (mpg², log scale)"),
        color=alt.Color("split:N", scale=SPLIT_SCALE, title=""),
        tooltip=["split", "step", alt.Tooltip("loss:Q", format=".2f")])
    marks = pd.DataFrame({"step": [step_best] + ([stop] if stop is not None else []),
                          "what": ["lowest val loss"] + (["early stopping fires"] if stop is not None else [])})
    rules = alt.Chart(marks).mark_rule(strokeWidth=2).encode(
        x="step:Q", strokeDash=alt.StrokeDash("what:N", title="", scale=alt.Scale(
            domain=["lowest val loss", "early stopping fires"], range=[[6, 4], [1, 0]])),
        tooltip=["what", "step"])
    strip = _mark_seed(ev, "gain", seed, title=W("early_stopping.evidence_title", seed=seed),
                       x_title=W("early_stopping.gain_axis"))
    outs = [Chart((lines + rules).properties(height=230, title=W("early_stopping.curves_title", seed=seed)),
                  caption=W("early_stopping.curves_caption", every=RECORD)),
            Chart(strip.properties(height=135), caption=W("early_stopping.evidence_caption"))]
    outs += [Metric(W("early_stopping.best_at"), str(step_best), help=W("early_stopping.best_at_help")),
             Metric(W("early_stopping.stopped_at"), W("early_stopping.never") if stop is None else str(stop),
                    help=W("early_stopping.stopped_at_help")),
             Metric(W("early_stopping.val_end_stop"), f"{full.final['val_loss']:.2f} / {es.final['val_loss']:.2f}",
                    help=W("early_stopping.val_end_stop_help")),
             Metric(W("early_stopping.test_end_stop"), f"{full.final['test_loss']:.2f} / {es.final['test_loss']:.2f}",
                    help=W("early_stopping.test_end_stop_help"))]
    if stop is None:
        outs.append(Note(W("early_stopping.never_note"), kind="warning"))
    elif v["restore"]:
        outs.append(Note(W("early_stopping.restored_note", seed=seed, stop=stop, after=stop - step_best,
                           best=step_best), kind="success"))
    else:
        outs.append(Note(W("early_stopping.kept_note", seed=seed, stop=stop, best=step_best), kind="info"))
    return outs


EARLY_STOPPING = Step(
    "early_stopping",
    controls=(Slider("patience", "patience (evaluations of 20 updates)", 1, 30, PATIENCE, step=1),
              Toggle("restore", "restore the best weights", True), _SEED),
    runs=lambda v: stopping_experiments(v["patience"], v["restore"], v["seed"]),
    demo=_stopping_demo, heavy=True, claims=(ES_RESTORE, ES_TEST),
    presets=(("Patience 1", {"patience": 1}), ("No restore", {"restore": False})),
)


# ============================================================ step 5: k-fold cross-validation


CV_HIDDEN = (30, 10)
CV_STEPS = 700


def kfold_experiments(k: int = 5, seed: int = 0) -> list[Experiment]:
    return [mpg_experiment(CV_HIDDEN, CV_STEPS, 0.02, seed, kfold=k, fold=i) for i in range(k)]


def fold_table(k: int = 5, seed: int = 0, res=None) -> pd.DataFrame:
    """Per fold: rows it trains on and holds out, scikit-learn KFold's sizes, and (with results) its scores."""
    from sklearn.model_selection import KFold

    specs = [e.config.data if hasattr(e, "config") else e.data for e in (res or kfold_experiments(k, seed))]
    sk = list(KFold(n_splits=k).split(np.arange(len(D.load(specs[0]).y_train))))
    rows = []
    for i, spec in enumerate(specs):
        s = D.load(spec)
        row = {"fold": i + 1, "train rows": int(s.w_train.sum()), "held-out rows": int(s.w_val.sum()),
               "KFold train": len(sk[i][0]), "KFold held out": len(sk[i][1])}
        if res is not None:
            row["val MSE"] = res[i].final["val_loss"]
            row["val R²"] = res[i].final["val_metric"]
        rows.append(row)
    return pd.DataFrame(rows)


def fold_assignment(k: int = 5, seed: int = 0) -> np.ndarray:
    """For every pooled (train + validation) row, the fold that holds it out (-1 if none)."""
    held = np.stack([D.load(e.data).w_val > 0 for e in kfold_experiments(k, seed)])  # (k, pool)
    out = np.full(held.shape[1], -1)
    for i in range(k):
        out[held[i]] = i
    out[held.sum(0) != 1] = -1
    return out


def kfold_worked() -> dict:
    """The k-fold step's worked numbers: the pool, and for k = 2, 5, 10 the share (k-1)/k and the rows the
    first fold's model trains on and holds out, read from the engine's folds."""
    out = {}
    for k in (2, 5, 10):
        s = D.load(kfold_experiments(k)[0].data)
        out.update({f"share_{k}": (k - 1) / k, f"train_{k}": int(s.w_train.sum()), f"held_{k}": int(s.w_val.sum())})
        out["pool"], out["n_test"] = len(s.y_train), len(s.y_test)
    return out


def _kfold_stats(res) -> dict:
    v = np.array([r.final["val_loss"] for r in res])
    return {"first": v[0], "cv": v.mean(), "lo": v.min(), "hi": v.max(), "ratio": v.max() / v.min(),
            **{f"fold_{i + 1}": x for i, x in enumerate(v)}}


FOLD_RATIO = 1.25
FOLD_SPREAD = Claim(
    "fold_spread", lambda seed: kfold_experiments(5, seed), _kfold_stats, holds=lambda v: v["ratio"] > FOLD_RATIO,
    what=f"5-fold CV of 30-10-1: the worst fold's held-out MSE is more than {FOLD_RATIO} x the best's")


def _folds_chart(table: pd.DataFrame, seed: int) -> alt.LayerChart:
    """Per seed: the five folds' held-out MSE (dots) and their mean, the CV estimate (black tick)."""
    folds = [c for c in table.columns if c.startswith("fold_")]
    long = table.melt("seed", folds, "fold", "MSE")
    long["fold"] = long["fold"].str.replace("fold_", "fold ")
    x = alt.X("seed:O", title="seed", axis=alt.Axis(labelAngle=0))
    dots = alt.Chart(long).mark_circle(size=45, opacity=0.55, color=SPLIT_COLORS["val"]).encode(
        x=x, y=alt.Y("MSE:Q", title="held-out MSE (mpg²)", scale=alt.Scale(zero=False)),
        tooltip=["seed:O", "fold", alt.Tooltip("MSE:Q", format=".2f")])
    first = alt.Chart(long[long["fold"] == "fold 1"]).mark_point(size=60, color=MARKER_GREY, shape="diamond").encode(
        x=x, y="MSE:Q", tooltip=["seed:O", alt.Tooltip("MSE:Q", format=".2f", title="fold 1 alone")])
    cv = alt.Chart(table).mark_tick(thickness=3, size=22, color=HIGHLIGHT_INK).encode(
        x=x, y="cv:Q", tooltip=["seed:O", alt.Tooltip("cv:Q", format=".2f", title="CV estimate")])
    shown = alt.Chart(pd.DataFrame({"seed": [seed]})).mark_rect(color=HIGHLIGHT_INK, opacity=0.07).encode(x=x)
    return alt.layer(shown, dots, first, cv)


def _kfold_demo(v, progress):
    ev = FOLD_SPREAD.measure(progress)
    k, seed = v["k"], v["seed"]
    res = run_many(kfold_experiments(k, seed), progress=progress)
    tab = fold_table(k, seed, res)
    assign = fold_assignment(k, seed)
    scores = tab["val MSE"].to_numpy()
    strip = pd.DataFrame({"row": np.arange(len(assign)), "fold": [f"fold {a + 1}" for a in assign]})
    fold_names = [f"fold {i + 1}" for i in range(k)]
    # one line per fold (named on the axis, so no legend): a tick for each row it holds out
    strip_chart = alt.Chart(strip).mark_tick(thickness=2, size=14).encode(
        x=alt.X("row:Q", title=W("kfold.rows_axis"),
                scale=alt.Scale(domain=[0, len(assign)], nice=False), axis=alt.Axis(tickCount=5)),
        y=alt.Y("fold:N", sort=fold_names, title=None),
        color=alt.Color("fold:N", sort=fold_names, legend=None,
                        scale=alt.Scale(scheme="tableau10", domain=fold_names)),
        tooltip=["row", "fold"]).properties(height=alt.Step(20 if k <= 5 else 14),
                                            title=W("kfold.rows_title", seed=seed))
    bars = alt.Chart(tab.assign(fold=[f"{i}" for i in tab["fold"]])).mark_bar(
        color=SPLIT_COLORS["val"]).encode(
        x=alt.X("fold:N", sort=[str(i + 1) for i in range(k)], axis=alt.Axis(labelAngle=0), title="fold"),
        y=alt.Y("val MSE:Q", title="held-out MSE (mpg²)"),
        tooltip=["fold", alt.Tooltip("val MSE:Q", format=".2f"), alt.Tooltip("val R²:Q", format=".3f")])
    mean = alt.Chart(pd.DataFrame({"mean": [scores.mean()]})).mark_rule(strokeDash=[6, 4], strokeWidth=2).encode(
        y="mean:Q", tooltip=[alt.Tooltip("mean:Q", format=".2f", title="CV estimate")])
    shown = tab.copy()
    shown["val MSE"] = shown["val MSE"].map(lambda x: f"{x:.2f}")
    shown["val R²"] = shown["val R²"].map(lambda x: f"{x:.3f}")
    partition = bool((assign >= 0).all())
    same = bool((tab["held-out rows"] == tab["KFold held out"]).all()
                and (tab["train rows"] == tab["KFold train"]).all())
    return [
        Chart(strip_chart, caption=W("kfold.rows_caption")),
        Columns([[Chart((bars + mean).properties(height=290, title=W("kfold.bars_title", k=k, seed=seed)),
                        caption=W("kfold.bars_caption"))],
                 [Chart(_folds_chart(ev.table, seed).properties(height=290, title=W("kfold.seeds_title")),
                        caption=W("kfold.seeds_caption"))]]),
        Metric(W("kfold.cv"), f"{scores.mean():.2f}", help=W("kfold.cv_help", seed=seed)),
        Metric(W("kfold.spread"), f"{scores.std(ddof=1):.2f}", help=W("kfold.spread_help")),
        Metric(W("kfold.best_worst"), f"{scores.min():.2f} / {scores.max():.2f}"),
        Table(shown, caption=W("kfold.table_caption")),
        Note(W("kfold.partition_note", partition=partition, same=same, k=k), kind="info"),
    ]


KFOLD = Step(
    "kfold",
    controls=(Slider("k", "folds k", 2, 10, 5, step=1), _SEED),
    runs=lambda v: kfold_experiments(v["k"], v["seed"]),
    demo=_kfold_demo, heavy=True, claims=(FOLD_SPREAD,), worked_values=kfold_worked,
    presets=(("Two folds", {"k": 2}), ("Ten folds", {"k": 10})),
)


# ============================================================ step 6: bias and variance


def truth(x):
    return np.sin(2 * np.pi * x)


def poly_features(x, degree: int) -> np.ndarray:
    """Legendre polynomials of x mapped to [-1, 1] (well conditioned, unlike raw powers)."""
    return np.polynomial.legendre.legvander(2 * np.asarray(x) - 1, degree)


def bias_variance(degree: int, noise: float = 0.3, n: int = 25, replicas: int = 200, seed: int = 0,
                  n_grid: int = 101) -> dict:
    """Fit a degree-`degree` polynomial by least squares to `replicas` fresh training sets
    y = sin(2πx) + N(0, noise²) at n evenly spaced x; measure the fits on a grid of x in [0, 1].

    bias2: mean over x of (average fit - truth)²; variance: mean over x of the fits' variance;
    expected test error = bias2 + variance + noise² (each fit scored on fresh noisy targets)."""
    rng = np.random.default_rng(seed)
    xg = np.linspace(0, 1, n_grid)
    Pg = poly_features(xg, degree)
    x = (np.arange(n) + 0.5) / n  # a fixed design: the inputs stay, the noise is drawn afresh
    P = poly_features(x, degree)
    fits = np.empty((replicas, n_grid))
    for r in range(replicas):
        y = truth(x) + rng.normal(0, noise, n)
        coef, *_ = np.linalg.lstsq(P, y, rcond=None)
        fits[r] = Pg @ coef
    mean_fit = fits.mean(0)
    bias2 = float(((mean_fit - truth(xg)) ** 2).mean())
    var = float(fits.var(0).mean())
    return {"x": xg, "fits": fits, "mean_fit": mean_fit, "bias2": bias2, "variance": var,
            "test_error": bias2 + var + noise ** 2}


def direct_test_error(degree: int, noise: float = 0.3, n: int = 25, replicas: int = 200, seed: int = 0,
                      fresh: int = 50, n_grid: int = 101) -> float:
    """The same fits as `bias_variance`, scored directly on `fresh` new noisy targets per grid input:
    the expected test error that bias² + variance + noise² decomposes."""
    fits = bias_variance(degree, noise, n, replicas, seed, n_grid)
    rng = np.random.default_rng([seed, 1])
    t = truth(fits["x"])[None, None, :] + rng.normal(0, noise, (fresh, 1, len(fits["x"])))
    return float(((fits["fits"][None] - t) ** 2).mean())


def bias_variance_worked(degree: int = 3, noise: float = 0.3, n: int = 25, fresh: int = 50) -> dict:
    """The bias-variance step's worked numbers at the defaults: the three parts, their sum, and the
    same fits scored directly on fresh targets."""
    bv = bias_variance(degree, noise, n)
    return {"bias2": bv["bias2"], "variance": bv["variance"], "noise2": noise ** 2, "total": bv["test_error"],
            "direct": direct_test_error(degree, noise, n, fresh=fresh), "fresh": fresh}


def bias_variance_curve(noise: float = 0.3, n: int = 25, max_degree: int = 12, seed: int = 0) -> pd.DataFrame:
    rows = []
    for d in range(max_degree + 1):
        bv = bias_variance(d, noise, n, seed=seed)
        rows.append({"degree": d, "bias²": bv["bias2"], "variance": bv["variance"], "expected test error":
                     bv["test_error"]})
    return pd.DataFrame(rows)


def _bv_demo(v, progress):
    d, noise, n = v["degree"], v["noise"], v["n"]
    bv = bias_variance(d, noise, n)
    curve = bias_variance_curve(noise, n)
    xg = bv["x"]
    fits = pd.DataFrame({"x": np.tile(xg, 30), "y": bv["fits"][:30].ravel(),
                         "replica": np.repeat(np.arange(30), len(xg))})
    ref = pd.concat([pd.DataFrame({"x": xg, "y": truth(xg), "curve": "truth sin(2πx)"}),
                     pd.DataFrame({"x": xg, "y": bv["mean_fit"], "curve": "average fit"})])
    ys = alt.Scale(domain=[-2.5, 2.5], clamp=True)
    left = alt.Chart(fits).mark_line(strokeWidth=1, opacity=0.35, color=SPREAD_GREY).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q", scale=ys, title="prediction"), detail="replica:N") + alt.Chart(ref).mark_line(
        strokeWidth=3).encode(x="x:Q", y=alt.Y("y:Q", scale=ys), color=alt.Color(
            "curve:N", title="", scale=alt.Scale(domain=["truth sin(2πx)", "average fit"],
                                                 range=[SPLIT_COLORS["test"], HIGHLIGHT_INK]),
            legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("curve:N", legend=None, scale=alt.Scale(
            domain=["truth sin(2πx)", "average fit"], range=[[6, 4], [1, 0]])))
    long = curve.melt("degree", list(BIAS_VARIANCE_COLORS), "part", "value")
    right = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("degree:Q", title="polynomial degree"),
        y=alt.Y("value:Q", title="error (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("part:N", scale=color_scale(BIAS_VARIANCE_COLORS), title="",
                        legend=alt.Legend(orient="bottom")),
        tooltip=["degree", "part", alt.Tooltip("value:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"degree": [d]})).mark_rule(strokeDash=[4, 4], color=MARKER_GREY).encode(x="degree:Q")
    best = int(curve["expected test error"].idxmin())
    return [
        Chart(left.properties(height=260, title=W("bias_variance.fits_title", degree=d)),
              caption=W("bias_variance.fits_caption")),
        Chart((right + rule).properties(height=260, title=W("bias_variance.curve_title")),
              caption=W("bias_variance.curve_caption", noise2=noise ** 2)),
        Metric(W("bias_variance.bias2"), f"{bv['bias2']:.4f}"),
        Metric(W("bias_variance.variance"), f"{bv['variance']:.4f}"),
        Metric(W("bias_variance.test_error"), f"{bv['test_error']:.4f}"),
        Note(W("bias_variance.best_note", n=n, noise=noise, best=best), kind="info"),
    ]


BIAS_VARIANCE = Step(
    "bias_variance",
    controls=(Slider("degree", "polynomial degree", 0, 12, 3, step=1),
              Slider("noise", "noise σ", 0.1, 1.0, 0.3, step=0.1, format="%.1f"),
              Slider("n", "training points per set", 15, 60, 25, step=5)),
    demo=_bv_demo, worked_values=bias_variance_worked,
    presets=(("Degree 1", {"degree": 1}), ("Degree 12", {"degree": 12})),
)


# ============================================================ step 8: diagnose, then remedy


def _copy(claim: Claim, id: str) -> Claim:
    """The same measurement under another id, for a step without runs of its own to quote (its runs
    are the original's, so the page and the shipped cache share them). The CI test retrains three
    seeds of it: the full sweep is already retrained under the original id."""
    return dataclasses.replace(claim, id=id, test_seeds=(0, 1, 2))


REMEDIES = Step(
    "remedies",
    claims=(_copy(CAP_UNDERFIT, "dx_underfit"), _copy(ES_TEST, "dx_stop"), _copy(FOLD_SPREAD, "dx_folds"),
            _copy(LEAK_OPTIMISM, "dx_leak")),
)


# ============================================================ step 7: number of features


def rbf_features(x, m: int, width: float = 0.1) -> np.ndarray:
    """m Gaussian bumps with centres evenly spaced on [0, 1] (m = 0: just a constant)."""
    x = np.asarray(x, float)
    if m == 0:
        return np.ones((len(x), 1))
    centres = np.linspace(0, 1, m)
    return np.exp(-((x[:, None] - centres[None, :]) ** 2) / (2 * width ** 2))


def rbf_data(n_train: int = 20, noise: float = 0.3, seed: int = 0, n_test: int = 2000):
    rng = np.random.default_rng(seed)
    xtr = np.sort(rng.uniform(0, 1, n_train))
    xte = rng.uniform(0, 1, n_test)
    return xtr, truth(xtr) + rng.normal(0, noise, n_train), xte, truth(xte) + rng.normal(0, noise, n_test)


def rbf_fit(xtr, ytr, m: int):
    """Least-squares coefficients (minimum norm when the system is underdetermined)."""
    coef, *_ = np.linalg.lstsq(rbf_features(xtr, m), ytr, rcond=None)
    return coef


def rbf_errors(n_train: int = 20, noise: float = 0.3, seed: int = 0, max_m: int = 30) -> pd.DataFrame:
    xtr, ytr, xte, yte = rbf_data(n_train, noise, seed)
    rows = []
    for m in range(1, max_m + 1):
        c = rbf_fit(xtr, ytr, m)
        rows.append({"features": m, "train": float(((rbf_features(xtr, m) @ c - ytr) ** 2).mean()),
                     "test": float(((rbf_features(xte, m) @ c - yte) ** 2).mean())})
    return pd.DataFrame(rows)


DRAWS = tuple(range(20))  # training sets drawn afresh (closed-form fits: 20 draws cost nothing)


def rbf_draws(n_train: int = 20, noise: float = 0.3, draws=DRAWS) -> pd.DataFrame:
    """`rbf_errors` for every draw of the training points (and of the 2,000 test points), one column `draw`."""
    return pd.concat([rbf_errors(n_train, noise, d).assign(draw=d) for d in draws], ignore_index=True)


def rbf_summary(err: pd.DataFrame, n_train: int) -> pd.DataFrame:
    """Per draw: the m with the lowest test MSE and how many times worse m = n is."""
    rows = []
    for d, e in err.groupby("draw"):
        e = e.set_index("features")
        rows.append({"draw": d, "best m": int(e["test"].idxmin()), "test at best": e["test"].min(),
                     "m = n / best": e.loc[n_train, "test"] / e["test"].min() if n_train in e.index else np.nan,
                     "train from m = n": e.loc[n_train:, "train"].max() if n_train in e.index else np.nan})
    return pd.DataFrame(rows)


def _features_demo(v, progress):
    n, noise, m, draw = v["n_train"], v["noise"], v["m"], v["draw"]
    err = rbf_draws(n, noise)
    summ = rbf_summary(err, n)
    xtr, ytr, xte, yte = rbf_data(n, noise, draw)
    c = rbf_fit(xtr, ytr, m)
    long = err.melt(["features", "draw"], ["train", "test"], "split", "loss")
    long["loss"] = long["loss"].clip(lower=1e-6, upper=1e4)
    long = long.rename(columns={"draw": "seed"})
    scale = color_scale(SPLIT_COLORS, ["train", "test"])
    y = alt.Y("loss:Q", title=W("features.mse_axis"), scale=alt.Scale(type="log"), axis=alt.Axis(format="~e"))
    x = alt.X("features:Q", title=W("features.m_axis"))
    thin = alt.Chart(long).mark_line(strokeWidth=1, opacity=0.2).encode(
        x=x, y=y, detail="seed:N", tooltip=[],
        color=alt.Color("split:N", scale=scale, title="", legend=alt.Legend(orient="bottom")))
    med = long.groupby(["features", "split"], as_index=False)["loss"].median()
    thick = alt.Chart(med).mark_line(strokeWidth=3, point=True).encode(
        x=x, y=y, color=alt.Color("split:N", scale=scale), tooltip=["features", "split", alt.Tooltip(
            "loss:Q", format=".4g", title="median over draws")])
    rules = alt.Chart(pd.DataFrame({"features": [m, n], "what": ["shown fit", "m = n (training points)"]})).mark_rule(
        strokeDash=[4, 4], color=MARKER_GREY).encode(x="features:Q", tooltip=["what", "features"])
    xg = np.linspace(0, 1, 300)
    fit = pd.DataFrame({"x": xg, "y": rbf_features(xg, m) @ c})
    pts = pd.concat([pd.DataFrame({"x": xtr, "y": ytr, "split": "train"}),
                     pd.DataFrame({"x": xte[:80], "y": yte[:80], "split": "test"})])
    ys = alt.Scale(domain=[-3, 3], clamp=True)
    right = alt.Chart(pts).mark_point(filled=True, size=45).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q", scale=ys),
        color=alt.Color("split:N", scale=scale, title="", legend=alt.Legend(orient="bottom")),
        opacity=alt.condition(alt.datum.split == "train", alt.value(1.0), alt.value(0.45))) + alt.Chart(fit).mark_line(
        color=HIGHLIGHT_INK, strokeWidth=2.5, clip=True).encode(x="x:Q", y=alt.Y("y:Q", scale=ys))
    e = err[err["draw"] == draw].set_index("features")
    lo, hi = int(summ["best m"].min()), int(summ["best m"].max())
    worse = summ["m = n / best"]
    return [
        Chart((thin + thick + rules).properties(height=310, title=W("features.errors_title", draws=len(DRAWS))),
              caption=W("features.errors_caption", n=n, noise=noise)),
        Chart(right.properties(height=240, title=W("features.fit_title", draw=draw, m=m)),
              caption=W("features.fit_caption")),
        Metric(W("features.train_mse"), f"{e.loc[m, 'train']:.2g}", help=W("features.shown_help", draw=draw, m=m)),
        Metric(W("features.test_mse"), f"{e.loc[m, 'test']:.3g}", help=W("features.shown_help", draw=draw, m=m)),
        Metric(W("features.best_m"), str(lo) if lo == hi else W("features.best_m_range", lo=lo, hi=hi),
               help=W("features.best_m_help", draws=len(DRAWS))),
        Metric(W("features.at_n"), W("features.at_n_value", ratio=worse.min()), help=W("features.at_n_help", n=n)),
    ]


FEATURES = Step(
    "features",
    controls=(Slider("m", "features m for the fit", 1, 30, 8, step=1),
              Slider("n_train", "training points n", 10, 30, 20, step=1),
              Slider("noise", "noise σ", 0.1, 1.0, 0.3, step=0.1, format="%.1f"),
              Slider("draw", "draw of the training points shown", 0, len(DRAWS) - 1, 0, step=1)),
    demo=_features_demo,
    presets=(("m = n", {"m": 20, "n_train": 20}), ("Too few", {"m": 3})),
)


# ============================================================ step 8: collinear features


CORRS = (0.0, 0.5, 0.9, 0.99, 0.999)


def collinear_coefficients(rho: float, n: int = 50, replicas: int = 300, noise: float = 1.0, seed: int = 0):
    """y = x1 + x2 + noise with corr(x1, x2) = rho; least-squares (b1, b2) on `replicas` fresh samples."""
    rng = np.random.default_rng(seed)
    out = np.empty((replicas, 2))
    for r in range(replicas):
        x1 = rng.normal(size=n)
        x2 = rho * x1 + np.sqrt(1 - rho ** 2) * rng.normal(size=n)
        y = x1 + x2 + rng.normal(0, noise, n)
        out[r], *_ = np.linalg.lstsq(np.c_[x1, x2], y, rcond=None)
    return out


def sum_sd(rho: float, n: int = 50, noise: float = 1.0) -> float:
    """Large-sample std of b1 + b2: Var = σ² 1ᵀ(XᵀX)⁻¹1 with XᵀX ≈ n [[1, ρ], [ρ, 1]], i.e. 2σ²/(n(1+ρ))."""
    return float(np.sqrt(2 * noise ** 2 / (n * (1 + rho))))


def _collinear_demo(v, progress):
    rho = v["rho"]
    b = collinear_coefficients(rho)
    base = collinear_coefficients(0.0)
    df = pd.DataFrame({"b1": b[:, 0], "b2": b[:, 1]})
    r = float(np.abs(b - 1.0).max()) * 1.05  # one scale on both axes, centred on the truth (1, 1): the
    axis = alt.Scale(domain=[1 - r, 1 + r], nice=False)  # swing along b1 + b2 = 2 shows as a slope of -1
    scatter = alt.Chart(df).mark_circle(size=30, opacity=0.5, color=SPLIT_COLORS["train"], clip=True).encode(
        x=alt.X("b1:Q", title="coefficient of x1", scale=axis), y=alt.Y("b2:Q", title="coefficient of x2", scale=axis),
        tooltip=[alt.Tooltip("b1:Q", format=".2f"), alt.Tooltip("b2:Q", format=".2f")])
    truth_pt = alt.Chart(pd.DataFrame({"b1": [1.0], "b2": [1.0]})).mark_point(
        shape="cross", size=300, color=HIGHLIGHT_INK, filled=True).encode(x="b1:Q", y="b2:Q")
    rows = [{"corr(x1, x2)": r, "std of b1": collinear_coefficients(r)[:, 0].std(),
             "theory: std ∝ 1/√(1-ρ²)": base[:, 0].std() / np.sqrt(1 - r ** 2),
             "std of b1 + b2": collinear_coefficients(r).sum(1).std(), "theory: √(2σ²/(n(1+ρ)))": sum_sd(r)}
            for r in CORRS]
    tab = pd.DataFrame(rows)
    for c in tab.columns[1:]:
        tab[c] = tab[c].map(lambda x: f"{x:.3f}")
    return [
        Chart((scatter + truth_pt).properties(height=240, width=240, title=W("collinear.scatter_title", rho=rho)),
              caption=W("collinear.scatter_caption"), square=True),
        Metric(W("collinear.sd_b1"), f"{b[:, 0].std():.3f}"), Metric(W("collinear.sd_sum"), f"{b.sum(1).std():.3f}"),
        Metric(W("collinear.corr_b"), f"{np.corrcoef(b.T)[0, 1]:.2f}"),
        Table(tab, caption=W("collinear.table_caption")),
    ]


COLLINEAR = Step(
    "collinear",
    controls=(Select("rho", "correlation ρ of x₁ and x₂", CORRS, 0.99),),
    demo=_collinear_demo,
    presets=(("ρ = 0", {"rho": 0.0}), ("ρ = 0.999", {"rho": 0.999})),
)


# ============================================================ step 9: bottleneck


BOTTLENECKS = (1, 2, 4, 32)
BN_STEPS = 300


def bottleneck_experiments(steps: int = BN_STEPS, seed: int = 0) -> list[Experiment]:
    """64-32-w-32-10 tanh networks on the digits (seed: split and initialisation), full-batch Adam."""
    return [Experiment(data=DataSpec("digits", n=0, seed=seed), model=ModelSpec(hidden=(32, w, 32), activation="tanh"),
                       optim=OptimSpec("adam", lr=0.01), train=TrainSpec(steps=steps, record_every=50), seed=seed)
            for w in BOTTLENECKS]


def bottleneck_codes(res) -> pd.DataFrame:
    """The 2-unit layer's outputs (tanh) for every test digit, from the trained weights."""
    s = D.load(res.config.data)
    weights = res.weights()
    h = np.tanh(s.X_test @ weights[0]["W"] + weights[0]["b"])
    z = np.tanh(h @ weights[1]["W"] + weights[1]["b"])
    return pd.DataFrame({"unit 1": z[:, 0], "unit 2": z[:, 1], "digit": s.y_test.astype(int).astype(str)})


def _bottleneck_stats(res) -> dict:
    out = {f"test_{w}": r.final["test_metric"] for w, r in zip(BOTTLENECKS, res)}
    out.update({f"train_{w}": r.final["train_metric"] for w, r in zip(BOTTLENECKS, res)})
    out["gap_2"] = out["train_2"] - out["test_2"]
    return out


def _bottleneck_runs(seed: int) -> list[Experiment]:
    return bottleneck_experiments(seed=seed)


BN_ORDER = Claim(
    "bn_order", _bottleneck_runs, _bottleneck_stats, holds=lambda v: v["test_1"] < v["test_2"] < v["test_4"],
    what="test accuracy of 64-32-w-32-10 grows from w = 1 to 2 to 4")
BN_MEMORISE = Claim(
    "bn_memorise", _bottleneck_runs, _bottleneck_stats, holds=lambda v: v["train_2"] >= 0.99 and v["gap_2"] >= 0.1,
    what="with w = 2: training accuracy at least 99% and at least 10 points above test accuracy")
BOTTLENECK_CLAIMS = (BN_ORDER, BN_MEMORISE)


def _bottleneck_demo(v, progress):
    ev = BN_ORDER.measure(progress)
    seed = v["seed"]
    res = run_many(bottleneck_experiments(v["steps"], seed), progress=progress)
    order = [str(w) for w in BOTTLENECKS]
    acc = pd.DataFrame([{"seed": int(r["seed"]), "width": str(w), "split": sp, "accuracy": r[f"{sp}_{w}"]}
                        for _, r in ev.table.iterrows() for w in BOTTLENECKS for sp in ("train", "test")])
    dots = seed_chart(acc, "width", "accuracy", color="split", colors=SPLIT_COLORS, sort=order,
                      x_title=W("bottleneck.width_axis"), title="")
    ring = alt.Chart(acc[acc["seed"] == seed]).mark_point(
        size=110, color=HIGHLIGHT_INK, strokeWidth=1.2, filled=False).encode(
        x=alt.X("width:O", sort=order), y="accuracy:Q", tooltip=["seed:O", "split", "accuracy:Q"])
    codes = bottleneck_codes(res[BOTTLENECKS.index(2)])
    digits = [str(i) for i in range(10)]
    scatter = alt.Chart(codes).mark_text(fontSize=12, fontWeight=600).encode(
        x=alt.X("unit 1:Q", scale=alt.Scale(domain=[-1.15, 1.15], nice=False)),
        y=alt.Y("unit 2:Q", scale=alt.Scale(domain=[-1.15, 1.15], nice=False)), text="digit:N",
        color=alt.Color("digit:N", sort=digits, scale=alt.Scale(scheme="tableau10", domain=digits), legend=None),
        tooltip=["digit", alt.Tooltip("unit 1:Q", format=".2f"), alt.Tooltip("unit 2:Q", format=".2f")])
    a = {w: r.final["test_metric"] for w, r in zip(BOTTLENECKS, res)}
    one = (W("one_run", seed=seed) if v["steps"] == BN_STEPS else
           W("bottleneck.one_run_at", seed=seed, steps=v["steps"]))
    n_test = len(D.load(res[0].config.data).y_test)
    return [
        Chart((dots + ring).properties(height=270, title=W("bottleneck.accuracy_title", seed=seed))
              .configure_axisX(labelAngle=0),
              caption=W("bottleneck.accuracy_caption", n_test=n_test, steps=BN_STEPS)),
        Chart(scatter.properties(**equal_axes((-1.15, 1.15, -1.15, 1.15), 260),
                                 title=W("bottleneck.codes_title", one=one)),
              caption=W("bottleneck.codes_caption"), square=True),
        *[Metric(W("bottleneck.test_w", w=w), f"{a[w]:.1%}", help=one) for w in BOTTLENECKS],
    ]


BOTTLENECK = Step(
    "bottleneck",
    controls=(Slider("steps", "updates", 200, 800, BN_STEPS, step=100), _SEED),
    runs=lambda v: bottleneck_experiments(v["steps"], v["seed"]),
    demo=_bottleneck_demo, heavy=True, claims=BOTTLENECK_CLAIMS,
)


# ============================================================ step 10: grid and random search


SEARCH_LR = (1e-3, 1.0)  # learning rates searched, log-uniform (Adam, full batch)
SEARCH_WIDTH = (8, 64)  # hidden units of the one hidden layer, log-uniform, rounded to whole units
SEARCH_STEPS = 50  # a short training budget: the learning rate decides much, the width little
SEARCH_BUDGET = 16  # configurations per search: a 4 x 4 grid, or 16 random draws
SEARCH_SALT = 2012  # keeps the draws of configurations apart from every other random stream of the seed


def grid_configs(budget: int = SEARCH_BUDGET) -> list[tuple[float, int]]:
    """A k x k grid (k = sqrt(budget)): k learning rates and k widths, each log-spaced over its range
    with both ends included, every learning rate paired with every width."""
    k = int(round(np.sqrt(budget)))
    lrs = np.geomspace(*SEARCH_LR, k)
    widths = np.round(np.geomspace(*SEARCH_WIDTH, k)).astype(int)
    return [(float(lr), int(w)) for lr in lrs for w in widths]


def random_configs(seed: int = 0, budget: int = SEARCH_BUDGET) -> list[tuple[float, int]]:
    """`budget` independent draws: log10(lr) and log(width) uniform over their ranges (Bergstra &
    Bengio 2012); the width rounded to whole units. The seed draws them, as it draws split and init."""
    rng = np.random.default_rng([seed, SEARCH_SALT])
    lrs = np.exp(rng.uniform(*np.log(SEARCH_LR), budget))
    widths = np.round(np.exp(rng.uniform(*np.log(SEARCH_WIDTH), budget))).astype(int)
    # numpy's exp differs in the last bit between CPUs (AVX-512 or AVX2 code): 12 of the shipped runs' keys
    # were not found on a machine without AVX-512. Ten significant digits name the same rate everywhere.
    return [(float(f"{lr:.10g}"), int(w)) for lr, w in zip(lrs, widths)]


def search_experiments(seed: int = 0, budget: int = SEARCH_BUDGET) -> list[Experiment]:
    """The grid's runs, then random search's, on one split of Auto MPG (the seed's), all in one sweep."""
    return [mpg_experiment((w,), SEARCH_STEPS, lr, seed)
            for lr, w in grid_configs(budget) + random_configs(seed, budget)]


def search_table(res, budget: int = SEARCH_BUDGET) -> pd.DataFrame:
    """One row per configuration tried, read back from the runs themselves: the search it belongs to,
    its learning rate and width, and the final validation and test MSE (inf for a diverged run)."""
    rows = []
    for i, r in enumerate(res):
        val, test = r.final["val_loss"], r.final["test_loss"]
        rows.append({"search": "grid" if i < budget else "random", "lr": r.config.optim.lr,
                     "width": r.config.model.hidden[0],
                     "val": val if np.isfinite(val) else np.inf, "test": test if np.isfinite(test) else np.inf})
    return pd.DataFrame(rows)


def search_picks(tab: pd.DataFrame) -> dict:
    """Each search's pick: the row with the lowest validation MSE among its own configurations."""
    return {m: int(g["val"].idxmin()) for m, g in tab.groupby("search", sort=False)}


def _search_stats(res) -> dict:
    tab = search_table(res)
    picks = search_picks(tab)
    out = {}
    for m, i in picks.items():
        g = tab[tab["search"] == m]
        out.update({f"lrs_{m}": g["lr"].nunique(), f"widths_{m}": g["width"].nunique(),
                    f"val_{m}": tab.loc[i, "val"], f"test_{m}": tab.loc[i, "test"],
                    f"lr_{m}": tab.loc[i, "lr"], f"width_{m}": tab.loc[i, "width"]})
    out["ratio"] = out["val_random"] / out["val_grid"]
    out["better"] = float(out["val_random"] <= out["val_grid"])
    out["test_ratio"] = out["test_random"] / out["test_grid"]
    out["test_better"] = float(out["test_random"] <= out["test_grid"])
    out["grid_high"] = float(out["lr_grid"] >= 0.1)  # the grid's pick at one of its two largest rates
    slow = tab[(tab["search"] == "grid") & (tab["lr"] <= 0.0101)]["val"]  # the grid's columns at 0.001 and 0.01
    out["slow"] = slow.min() / out["val_grid"]
    return out


def _search_runs(seed: int) -> list[Experiment]:
    return search_experiments(seed)


SEARCH_RATIO = 1.1
SEARCH_COVER = Claim(
    "search_cover", _search_runs, _search_stats,
    holds=lambda v: v["lrs_random"] == SEARCH_BUDGET and v["lrs_grid"] == 4 and v["widths_grid"] == 4
    and v["widths_random"] >= 10,
    what="with 16 runs each: random search tries 16 learning rates and at least 10 widths, the grid 4 of each")
SEARCH_PICK = Claim(
    "search_pick", _search_runs, _search_stats, holds=lambda v: v["ratio"] <= SEARCH_RATIO,
    what=f"random search's pick has a validation MSE at most {SEARCH_RATIO} x the grid pick's")
SEARCH_CLAIMS = (SEARCH_COVER, SEARCH_PICK)


RUG_BANDS = {"grid": (5.0, 5.8), "random": (6.0, 6.9)}  # hidden-unit heights of the ticks under the plot


def _space_chart(tab: pd.DataFrame, picks: dict, seed: int) -> alt.LayerChart:
    """The search space: every configuration tried, coloured by its validation MSE, each search's pick
    ringed; under the plot, a tick per learning rate each search tried (its projection on the axis
    that matters), one band per search."""
    order = list(SEARCH_COLORS)
    xs = alt.Scale(type="log", domain=list(SEARCH_LR), nice=False, padding=8)
    x = alt.X("lr:Q", scale=xs, title=W("search.lr_axis"), axis=alt.Axis(format="~g", values=[0.001, 0.01, 0.1, 1]))
    df = tab.assign(shown=tab["val"].clip(upper=SEARCH_VAL_CAP))
    df = df[np.isfinite(df["shown"])]
    tips = ["search", alt.Tooltip("lr:Q", format=".3g"), "width:Q", alt.Tooltip("val:Q", format=".2f"),
            alt.Tooltip("test:Q", format=".2f")]
    ys = alt.Scale(type="log", base=2, domain=[RUG_BANDS["grid"][0], SEARCH_WIDTH[1]], nice=False, padding=6)
    y = alt.Y("width:Q", scale=ys, axis=alt.Axis(values=[8, 16, 32, 64]), title=W("search.width_axis"))
    shapes = alt.Scale(domain=order, range=["square", "circle"])
    dots = alt.Chart(df).mark_point(filled=True, size=100, opacity=0.95, stroke=HIGHLIGHT_INK, strokeWidth=0.5).encode(
        x=x, y=y, tooltip=tips, shape=alt.Shape("search:N", scale=shapes, legend=alt.Legend(orient="top", title=None)),
        color=alt.Color("shown:Q", title=W("search.val_legend"),
                        scale=alt.Scale(type="log", scheme="viridis", reverse=True),
                        legend=alt.Legend(orient="top", direction="horizontal", gradientLength=110, format="~g",
                                          titleOrient="left", tickCount=3)))
    best = tab.loc[list(picks.values())]
    ring = alt.Chart(best).mark_point(size=420, strokeWidth=2.5, filled=False).encode(
        x=x, y=y, shape=alt.Shape("search:N", scale=shapes, legend=None),
        stroke=alt.Stroke("search:N", scale=color_scale(SEARCH_COLORS, order), legend=None), tooltip=tips)
    rug_df = tab[["search", "lr"]].assign(lo=tab["search"].map(lambda m: RUG_BANDS[m][0]),
                                          hi=tab["search"].map(lambda m: RUG_BANDS[m][1]))
    rug = alt.Chart(rug_df).mark_rule(strokeWidth=2).encode(
        x=x, y=alt.Y("lo:Q", scale=ys), y2="hi:Q",
        stroke=alt.Stroke("search:N", scale=color_scale(SEARCH_COLORS, order), legend=None),
        tooltip=["search", alt.Tooltip("lr:Q", format=".3g")])
    floor = alt.Chart(pd.DataFrame({"y": [7.3]})).mark_rule(color=REFERENCE_GREY, strokeDash=[3, 3]).encode(
        y=alt.Y("y:Q", scale=ys))
    return alt.layer(floor, rug, dots, ring).resolve_scale(color="independent").properties(
        height=290, title=W("search.space_title", seed=seed))


def _picks_evidence(table: pd.DataFrame, seed: int) -> alt.HConcatChart:
    """Per seed, the validation and the test MSE of each search's pick, joined by a line."""
    order = list(SEARCH_COLORS)
    panels = []
    for split in ("val", "test"):
        long = table.melt("seed", [f"{split}_{m}" for m in order], "search", "mse")
        long["search"] = long["search"].str.replace(f"{split}_", "", regex=False)
        yy = alt.Y("seed:O", title="seed" if split == "val" else None,
                   axis=alt.Axis(labels=split == "val", ticks=split == "val"))
        x = alt.X("mse:Q", scale=alt.Scale(zero=False), title=W(f"search.{split}_axis"),
                  axis=alt.Axis(tickCount=4, format="~g"))
        shown = alt.Chart(pd.DataFrame({"seed": [seed]})).mark_rect(color=HIGHLIGHT_INK, opacity=0.07).encode(
            y="seed:O")
        line = alt.Chart(long).mark_line(color=SPREAD_GREY, strokeWidth=1.5).encode(x=x, y=yy, detail="seed:O")
        dots = alt.Chart(long).mark_point(filled=True, size=70, opacity=0.9).encode(
            x=x, y=yy, shape=alt.Shape("search:N", scale=alt.Scale(domain=order, range=["square", "circle"]),
                                       legend=alt.Legend(orient="top", title=None) if split == "val" else None),
            color=alt.Color("search:N", scale=color_scale(SEARCH_COLORS, order),
                            legend=alt.Legend(orient="top", title=None) if split == "val" else None),
            tooltip=["seed:O", "search", alt.Tooltip("mse:Q", format=".2f")])
        panels.append(alt.layer(shown, line, dots).properties(width=115, height=235,
                                                            title=W(f"search.{split}_title")))
    return alt.hconcat(*panels, spacing=6)


SEARCH_VAL_CAP = 100.0  # colour scale cap (mpg²): an untrained net's MSE is several hundred


def _search_demo(v, progress):
    ev = measure(SEARCH_CLAIMS, progress)
    seed, budget = v["seed"], v["budget"]
    res = run_many(search_experiments(seed, budget), progress=progress)
    tab = search_table(res, budget)
    picks = search_picks(tab)
    one = W("search.one_search", seed=seed)
    g, r = (tab.loc[picks[m]] for m in ("grid", "random"))
    outs = [
        Columns([[Chart(_space_chart(tab, picks, seed), caption=W("search.space_caption", budget=budget,
                                                                  steps=SEARCH_STEPS))],
                 [Chart(_picks_evidence(ev["search_pick"].table, seed),
                        caption=W("search.evidence_caption", budget=SEARCH_BUDGET))]]),
        Metric(W("search.pick_grid"), W("search.pick_value", lr=g["lr"], width=int(g["width"])), help=one),
        Metric(W("search.pick_random"), W("search.pick_value", lr=r["lr"], width=int(r["width"])), help=one),
        Metric(W("search.val_both"), f"{g['val']:.2f} / {r['val']:.2f}", help=W("search.val_both_help", one=one)),
        Metric(W("search.test_both"), f"{g['test']:.2f} / {r['test']:.2f}", help=W("search.test_both_help", one=one)),
    ]
    diverged = sum(x.diverged for x in res)
    if diverged:
        outs.append(Note(diverged_runs(diverged, len(res)), kind="warning"))
    return outs


SEARCH = Step(
    "search",
    controls=(Select("budget", "configurations per search", (9, 16, 25), SEARCH_BUDGET),
              Slider("seed", "seed shown (split, initialisation and random draws)", 0, 9, 0, step=1)),
    runs=lambda v: search_experiments(v["seed"], v["budget"]),
    demo=_search_demo, heavy=True, claims=SEARCH_CLAIMS,
    presets=(("Budget 9", {"budget": 9}), ("Budget 25", {"budget": 25})),
)


# ============================================================ step 11: check yourself


CHECK = Step(
    "check",
    claims=(_copy(CAP_UNDERFIT, "check_underfit"), _copy(TRAIN_PICK, "check_train_pick"),
            _copy(FOLD_SPREAD, "check_folds")),
)


LESSON = W.lesson(
    id="overfitting", number=5,
    steps=(DIAGRAM, CAPACITY, SPLITS, LEAK, EARLY_STOPPING, KFOLD, BIAS_VARIANCE, REMEDIES, FEATURES, COLLINEAR,
           BOTTLENECK, SEARCH, CHECK),
    references=("Hastie, Tibshirani & Friedman 2009", "Goodfellow, Bengio & Courville 2016", "Prechelt 1998",
                "Bergstra & Bengio 2012"),
)
