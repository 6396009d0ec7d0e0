"""Lesson 2: the ReLU family and output activations.

The problem first: what ReLU fixes (no saturation for z > 0) and what it breaks (units that output
0 on every input and, under plain gradient descent, never learn again); how to count dead units in
real PyTorch code (a forward hook, `dead_fraction`, whose source the step shows and which measured
the numbers beside it); then the variants that repair it (Leaky ReLU, PReLU, RReLU, CReLU, ELU and
the smooth GELU / SiLU / softplus), a re-run of the comparison of Xu et al. 2015 on scikit-learn's
digits (its verdict reads paired differences), piecewise-linear versus smooth decision boundaries,
one hidden layer, wide versus deep, and how to pick the output activation and loss. Worked numbers
(`*_worked`) are computed with the engine and checked by hand in tests/lessons/test_relu_family.py.

References: Xu et al. 2015 (leaky and randomized ReLU, the CIFAR table), He et al. 2015 (PReLU),
Shang et al. 2016 (CReLU), Clevert et al. 2015 (ELU), Hendrycks & Gimpel 2016 (GELU).

Every comparison a note or quiz states is a `Claim` measured over ten seeds (init and data seed
together); the notes quote the evidence through placeholders, the demos show every seed, and
tests/lessons/test_claims.py retrains the claims with the cache off. Captions state numbers of the
runs they show. Each step declares the runs its demo draws (`Step.runs`); `registry.experiments_of(
"relu_family")` collects them for every default view and preset, with the claims' sweeps, for
engine.precompute. The words (titles, slides, notes, captions) live in lessons/text/en/relu_family.md.
"""
from __future__ import annotations

import dataclasses
import inspect
import re
import time
import warnings
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import torch
from torch import nn

import engine
from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec
from engine import activations as A
from engine import data as D
from lessons import charts as lesson_charts
from lessons.claims import SEEDS, Claim
from lessons.common import as_torch, diverged_runs, finite_rows
from lessons.theme import (
    ACTIVATION_COLORS,
    DEPTH_COLORS,
    EVEN_KINKS,
    GENTLE_RUN,
    HINGE_PIECE,
    HOT_RUN,
    KINK_MARK,
    ONE_RUN,
    SOFTMAX_BARS,
    TARGET_CURVE,
    WIDER_RELU,
    color_scale,
)
from lessons.walkthrough import (
    Chart,
    Code,
    Columns,
    Latex,
    LogSlider,
    Markdown,
    Metric,
    Note,
    Select,
    Slider,
    Step,
    Table,
    Toggle,
)
from lessons.words import Words

W = Words("relu_family")

FAMILY = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "crelu", "elu", "relu6", "gelu", "silu",
          "softplus")
NAMES = {"sigmoid": "Sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU", "prelu": "PReLU",
         "rrelu": "RReLU", "crelu": "CReLU", "elu": "ELU", "relu6": "ReLU6", "gelu": "GELU", "silu": "SiLU",
         "softplus": "Softplus", "identity": "identity"}


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _seed_chart(df: pd.DataFrame, x: str, y: str, y_title: str, angle: int = 0, label_limit: int = 110,
                **kw) -> alt.LayerChart:
    """lessons.charts.seed_chart with this lesson's x labels (upright) and legend choice."""
    return lesson_charts.seed_chart(df, x, y, y_title=y_title, label_angle=angle, label_limit=label_limit,
                                    legend=False, **kw)


# ================================================================ the family (step 3)


def leaky_slope(a: float, convention: str) -> float:
    """The negative-side slope of Leaky ReLU: `a*x` (libraries: a is the slope) or `x/a` (the slides
    and Xu et al. 2015: a = 5.5 gives slope 1/5.5, a = 100 gives 1/100)."""
    if convention == "a*x":
        return float(a)
    if convention == "x/a":
        return 1.0 / float(a)
    raise ValueError(f"unknown convention {convention!r}")


def act_kwargs(name: str, slope: float = 0.01, alpha: float = 1.0) -> dict:
    if name == "leaky_relu":
        return {"param": slope}
    if name == "elu":
        return {"param": alpha}
    return {}


def formula(name: str) -> str:
    """The engine's formula for `name`, written in z (a unit's pre-activation) as the course writes it."""
    return re.sub(r"(?<![A-Za-z\\])x(?![A-Za-z])", "z", A.FORMULAS[name])


def curve(name: str, x: torch.Tensor, slope: float = 0.01, alpha: float = 1.0):
    """(f(x), f'(x)) by the engine's own code; CReLU's f is its first half, max(0, x)."""
    y = A.apply(name, x, **act_kwargs(name, slope, alpha))
    if name == "crelu":
        y = y[..., : x.shape[-1]]
    return y, A.derivative(name, x, **act_kwargs(name, slope, alpha))


def _fmt(v: float) -> str:
    if v <= -1e3:
        return "−∞"
    if v >= 1e3:
        return "∞"
    if abs(v) < 5e-4:
        return "0"
    return f"{v:.3g}".replace("-", "−")


@lru_cache(maxsize=64)
def properties(slope: float = 0.01, alpha: float = 1.0) -> pd.DataFrame:
    """Every property measured from the function itself (float64), none typed in by hand."""
    x = torch.cat([torch.tensor([-1e7]), torch.linspace(-30, 30, 6001, dtype=torch.float64), torch.tensor([1e7])])
    x = x.to(torch.float64)
    z = torch.randn(50_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pts = torch.tensor([-30.0, -4.0, -1.0, 0.0, 30.0], dtype=torch.float64)
    rows = []
    for name in FAMILY:
        y, _ = curve(name, x, slope, alpha)
        lo, hi = float(y.min()), float(y.max())
        mean = float(curve(name, z, slope, alpha)[0].mean())
        shown = 0.0 if abs(mean) < 5e-3 else mean  # no "-0.00"
        d = curve(name, pts, slope, alpha)[1].tolist()  # f' at -30, -4, -1, 0, 30
        flat_left, flat_right = abs(d[0]) < 1e-3, abs(d[4]) < 1e-3
        neg = f"{_fmt(d[2])} (constant)" if abs(d[2] - d[1]) < 1e-9 else f"{d[2]:.2g} (−1), {d[1]:.2g} (−4)".replace(
            "-", "−")
        rows.append({
            "activation": NAMES[name],
            "range": f"{_fmt(lo)} … {_fmt(hi)}",
            "bounded": {(True, True): "both", (True, False): "below", (False, True): "above",
                        (False, False): "no"}[(lo > -1e3, hi < 1e3)],
            "zero-centred": f"{'yes' if abs(mean) < 0.05 else 'no'} ({shown:.2f})",
            "saturates": {(True, True): "both sides", (True, False): "z → −∞",
                          (False, True): "z → +∞", (False, False): "never"}[(flat_left, flat_right)],
            "f'(0)": round(d[3], 3),
            "f'(z<0)": neg,
        })
    return pd.DataFrame(rows).set_index("activation")


MAIN_FOUR = ("relu", "leaky_relu", "elu", "gelu")  # the table's rows unless "all twelve" is on


def table_rows(name: str, other: str, show_all: bool = False) -> list[str]:
    """The activations the step's table lists: all twelve, or the main four plus the two drawn."""
    keep = set(FAMILY) if show_all else {*MAIN_FOUR, name, other}
    return [NAMES[a] for a in FAMILY if a in keep]


def family_worked() -> dict:
    """The worked numbers of step *The family*, by the engine's own activations and their derivatives."""
    z = torch.tensor([-2.0], dtype=torch.float64)
    one = torch.tensor([-1.0], dtype=torch.float64)
    leaky = {k: curve("leaky_relu", z, slope=s) for k, s in (("lib", 0.01), ("xa", leaky_slope(5.5, "x/a")))}
    elu_f, elu_d = curve("elu", one, alpha=1.0)
    relu_f, relu_d = curve("relu", z)
    return {"relu_f": float(relu_f), "relu_d": float(relu_d),
            "lib_f": float(leaky["lib"][0]), "lib_d": float(leaky["lib"][1]),
            "xa_f": float(leaky["xa"][0]), "xa_d": float(leaky["xa"][1]),
            "elu_f": float(elu_f), "elu_d": float(elu_d)}


A_OPTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.5, 10.0, 20.0, 50.0, 100.0)


def family_demo(values: dict, progress=None) -> list:
    name, other = values["activation"], values["compare"]
    slope = leaky_slope(values["a"], values["convention"])
    alpha = values["alpha"]
    x = torch.linspace(-5, 5, 401, dtype=torch.float64)
    frames = []
    for act in dict.fromkeys([name, other]):
        y, d = curve(act, x, slope, alpha)
        frames.append(pd.DataFrame({"x": x.numpy(), "f": y.numpy(), "df": d.numpy(),
                                    "activation": act, "part": "max(0, z)" if act == "crelu" else "f"}))
        if act == "crelu":  # CReLU's second half: the mirrored ReLU
            frames.append(pd.DataFrame({"x": x.numpy(), "f": torch.relu(-x).numpy(), "df": np.nan,
                                        "activation": act, "part": "max(0, −z)"}))
    df = pd.concat(frames, ignore_index=True)
    colour = alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom", symbolOpacity=1),
                       scale=color_scale(ACTIVATION_COLORS, list(dict.fromkeys([name, other]))))
    dash = alt.StrokeDash("part:N", title="part", scale=alt.Scale(domain=["f", "max(0, z)", "max(0, −z)"],
                                                                  range=[[1, 0], [1, 0], [6, 4]]), legend=None)
    base = alt.Chart(df).properties(width=250, height=250)
    f = base.mark_line().encode(
        x=alt.X("x:Q", title="z"), y=alt.Y("f:Q", title="f(z)", scale=alt.Scale(domain=[-3, 5], clamp=True)),
        color=colour, strokeDash=dash, detail="part:N").properties(title=W("family.function_title"))
    d = base.transform_filter("isValid(datum.df)").mark_line().encode(
        x=alt.X("x:Q", title="z"), y=alt.Y("df:Q", title="f'(z)", scale=alt.Scale(domain=[-0.5, 1.5], clamp=True)),
        color=colour).properties(title=W("family.derivative_title"))
    props = properties(slope, alpha).loc[table_rows(name, other, values["all"])]
    out = [Latex(formula(name))]
    if name == "leaky_relu" or other == "leaky_relu":
        a = values["a"]
        if values["convention"] == "a*x":
            out.append(Latex(W("family.latex_ax", a=a, slope=slope)))
        else:
            out.append(Latex(W("family.latex_xa", a=a, slope=slope)))
        if slope > 1:
            out.append(Note(W("family.amplified", slope=slope), "warning"))
    out.append(Chart(alt.hconcat(f, d).resolve_scale(color="shared"),
                     caption=W("family.caption", name=NAMES[name], other=NAMES[other], slope=slope, alpha=alpha)))
    out.append(Table(props, caption=W("family.table" if values["all"] else "family.table_four")))
    return out


FAMILY_STEP = Step(
    "family",
    controls=(
        Select("activation", "Activation", FAMILY, "leaky_relu"),
        Select("compare", "Compare with", FAMILY, "relu"),
        Select("convention", "Leaky ReLU written as", ("x/a", "a*x"), "x/a", help=W("family.convention_help")),
        LogSlider("a", "Leaky parameter a", A_OPTIONS, 5.5),
        Slider("alpha", "ELU α", 0.1, 3.0, 1.0, step=0.1),
        Toggle("all", "All twelve", False, help=W("family.all_help")),
    ),
    presets=(
        ("a = 5.5 (x/a)", {"activation": "leaky_relu", "convention": "x/a", "a": 5.5}),
        ("a = 100 (x/a)", {"activation": "leaky_relu", "convention": "x/a", "a": 100.0}),
        ("a = 0.01 (a·x)", {"activation": "leaky_relu", "convention": "a*x", "a": 0.01}),
        ("ELU vs ReLU", {"activation": "elu", "compare": "relu", "alpha": 1.0}),
        ("GELU vs SiLU", {"activation": "gelu", "compare": "silu"}),
    ),
    demo=family_demo, worked_values=family_worked,
)


# ================================================================ dying ReLU (step 1)

# Moons with 180 training points (the ones "dead" is tested on) and 1,760 test points, so that one
# test point is 0.06 percentage points of accuracy.
DYING = Experiment(
    data=DataSpec("moons", n=2000, noise=0.2, train_frac=0.09, val_frac=0.03, test_frac=0.88, seed=0),
    model=ModelSpec(hidden=(32, 32, 32), activation="relu"),
    optim=OptimSpec("adam", lr=0.3),
    train=TrainSpec(steps=300, record_every=5),
    seed=0,
)
DYING_ACTS = ("relu", "leaky_relu", "elu", "prelu")
GENTLE = {"lr": 0.01, "bias": 0.0, "optimizer": "adam"}
PLAIN_GD = {"lr": 1.0, "bias": -1.0, "optimizer": "sgd"}  # full-batch gradient descent, no momentum


def seeded(e: Experiment, seed: int) -> Experiment:
    """The same run with another initialisation and another draw of the data (both seeded by `seed`)."""
    return e.replace(seed=int(seed), data=dict(seed=int(seed)))


def dying_experiments(lr: float = 0.3, bias: float = 0.0, optimizer: str = "adam", seed: int = 0,
                      acts=DYING_ACTS) -> list[Experiment]:
    params = {"relu": 0.01, "leaky_relu": 0.01, "elu": 1.0, "prelu": 0.01}
    return [seeded(DYING.replace(model=dict(activation=a, act_param=params[a], bias_init=float(bias)),
                                 optim=dict(name=optimizer, lr=float(lr))), seed) for a in acts]


def dying_sweep(lr: float = 0.3, bias: float = 0.0, optimizer: str = "adam") -> list[Experiment]:
    """Every activation at every seed: the runs one view of the step shows (seed-major)."""
    return [e for s in SEEDS for e in dying_experiments(lr, bias, optimizer, s)]


def dead_at_end(res) -> list[float]:
    """Fraction of dead units per hidden layer at the last recorded step."""
    return [float(res.history[c].iloc[-1]) for c in res.layer_columns("dead")]


def dips(res, layer: int) -> int:
    """How often the dead fraction of a hidden layer (1-based) fell between two records: units revived."""
    return int((np.diff(res.history[f"dead_{layer}"].to_numpy()) < 0).sum())


def ever_dead(res) -> float:
    """The largest dead fraction of any layer at any recorded step."""
    return float(np.nanmax(res.history[res.layer_columns("dead")].to_numpy()))


def prelu_slopes(res) -> np.ndarray:
    """Every PReLU unit's learned slope at the end of training."""
    return np.concatenate([w["slope"].ravel() for w in res.weights() if "slope" in w])


def _no_diverged(results):
    if any(r.diverged for r in results):
        raise ValueError("a run diverged")  # claims.measure counts that seed as "did not hold"


def _dead_half(r) -> dict:
    _no_diverged(r)
    relu, leaky, elu, _ = r
    return {"relu_dead": float(np.mean(dead_at_end(relu))), "relu_worst": max(dead_at_end(relu)),
            "others_dead": max(ever_dead(leaky), ever_dead(elu))}


def _prelu_cross(r) -> dict:
    _no_diverged(r)
    slopes = prelu_slopes(r[3])
    return {"neg": float(np.mean(slopes <= 0)), "dead": ever_dead(r[3])}


def _adam_revives(r) -> dict:
    _no_diverged(r)
    relu = r[0]
    d1 = relu.history["dead_1"].to_numpy()
    return {"dips": dips(relu, 1), "peak": float(d1.max()), "end": float(d1[-1])}


def _gd_stays(r) -> dict:
    _no_diverged(r)
    (relu,) = r
    layers = len(relu.layer_columns("dead"))
    return {"dips": dips(relu, 1), "dead1": float(relu.history["dead_1"].iloc[-1]),
            "deep_revived": float(any(dips(relu, i) > 0 for i in range(2, layers + 1)))}


def _gentle(r) -> dict:
    _no_diverged(r)
    default, gentle = r
    first = gentle.history.iloc[0]
    return {"gentle": float(np.mean(dead_at_end(gentle))), "default": float(np.mean(dead_at_end(default))),
            "start_deep": float(max(first["dead_2"], first["dead_3"]))}


def _relu_fits(r) -> dict:
    _no_diverged(r)
    relu, leaky = r[0], r[1]
    return {"relu": relu.final["test_metric"], "leaky": leaky.final["test_metric"],
            "gap": relu.final["test_metric"] - leaky.final["test_metric"]}


DEAD_HALF = Claim(
    "dead_half", experiments=lambda s: dying_experiments(seed=s), statistic=_dead_half,
    holds=lambda v: v["relu_dead"] >= 0.3 and v["others_dead"] == 0,
    what="default settings: ReLU's dead fraction at the end vs Leaky ReLU's and ELU's at any step")
PRELU_CROSS = Claim(
    "prelu_cross", experiments=lambda s: dying_experiments(seed=s), statistic=_prelu_cross,
    holds=lambda v: v["neg"] >= 0.1,
    what="default settings: fraction of PReLU units whose learned slope ended at or below 0")
ADAM_REVIVES = Claim(
    "adam_revives", experiments=lambda s: dying_experiments(seed=s)[:1], statistic=_adam_revives,
    holds=lambda v: v["dips"] >= 1,
    what="Adam, lr 0.3: the dead fraction of layer 1 falls at least once (a first-layer unit revives)")
GD_STAYS = Claim(
    "gd_stays", experiments=lambda s: dying_experiments(**PLAIN_GD, seed=s, acts=("relu",)), statistic=_gd_stays,
    holds=lambda v: v["dips"] == 0 and v["dead1"] > 0,
    what="plain gradient descent, bias -1: layer 1 has dead units and its dead fraction never falls")
GENTLE_FEWER = Claim(
    "gentle", experiments=lambda s: dying_experiments(seed=s, acts=("relu",))
    + dying_experiments(**GENTLE, seed=s, acts=("relu",)), statistic=_gentle,
    holds=lambda v: 0 < v["gentle"] < v["default"] and v["start_deep"] > 0,
    what="ReLU at lr 0.01 vs lr 0.3: fewer dead units at the end, but some deeper ones dead from step 0")
RELU_FITS = Claim(
    "relu_fits", experiments=lambda s: dying_experiments(seed=s), statistic=_relu_fits,
    holds=lambda v: v["relu"] >= 0.9,
    what="default settings: ReLU still reaches 90 % test accuracy (Leaky ReLU's quoted beside it)")
DYING_CLAIMS = (DEAD_HALF, PRELU_CROSS, ADAM_REVIVES, GD_STAYS, GENTLE_FEWER, RELU_FITS)
# the quiz at the end quotes the same runs (a claim belongs to one step, so these are its own ids)
QUIZ_LEAK = Claim(
    "quiz_leak", experiments=lambda s: dying_experiments(seed=s, acts=("relu", "leaky_relu")),
    statistic=lambda r: (_no_diverged(r), {"leaky_dead": ever_dead(r[1])})[1], holds=lambda v: v["leaky_dead"] == 0,
    what="default settings: no Leaky ReLU unit dead at any step")
QUIZ_LR = Claim(
    "quiz_lr", experiments=GENTLE_FEWER.experiments, statistic=_gentle,
    holds=lambda v: v["gentle"] < v["default"], what="ReLU: fewer dead units at lr 0.01 than at lr 0.3")


def dying_worked() -> dict:
    """The worked numbers of step *Dying ReLU*: a unit whose pre-activation is u + b with u ~ N(0, 1) over
    the inputs is on the flat side for a fraction Phi(-b) of them (torch's normal CDF), and off on all N
    independent inputs with probability Phi(-b)^N; the engine's ReLU derivative there is 0."""
    cdf = torch.distributions.Normal(0.0, 1.0).cdf
    n = DYING.data.n * DYING.data.train_frac
    off = {name: float(cdf(torch.tensor(-b, dtype=torch.float64))) for name, b in (("b0", 0.0), ("b1", -1.0),
                                                                                      ("b2", -2.0), ("b3", -3.0))}
    return {**{f"off_{k}": v for k, v in off.items()}, "n": round(n),
            **{f"all_{k}": v ** round(n) for k, v in off.items() if k != "b0"},
            "d_neg": float(A.derivative("relu", torch.tensor([-0.5], dtype=torch.float64)))}


def _diverged_seeds(results, label) -> list:
    """One error note per model that diverged in some seeds (not one per run)."""
    out, by, total = [], {}, {}
    for r in results:
        total[label(r)] = total.get(label(r), 0) + 1
        if r.diverged:
            by.setdefault(label(r), []).append(r)
    for name, rs in by.items():
        first = min(r.meta["diverged_at"] for r in rs)
        seeds = ", ".join(str(r.config.seed) for r in rs)
        out.append(Note(W("diverged_model", name=name, runs=diverged_runs(len(rs), total[name]), seeds=seeds,
                          first=first), "error"))
    return out


def dying_demo(values: dict, progress=None) -> list:
    seed = int(values["seed"])
    results = engine.run_many(dying_sweep(values["lr"], values["bias"], values["optimizer"]), progress=progress)
    k = len(DYING_ACTS)
    by_seed = {s: results[i * k:(i + 1) * k] for i, s in enumerate(SEEDS)}
    frames = []
    for s, rs in by_seed.items():
        for r in rs:
            df = r.long("dead")
            df["activation"], df["seed"] = r.config.model.activation, s
            frames.append(df)
    df = finite_rows(pd.concat(frames, ignore_index=True), "dead")
    colour = alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom", symbolOpacity=1),
                       scale=color_scale(ACTIVATION_COLORS, DYING_ACTS))
    panels = []
    for layer in sorted(df["layer"].unique()):
        y = alt.Y("dead:Q", title="dead units" if not panels else None, axis=alt.Axis(format="%"),
                  scale=alt.Scale(domain=[0, 1]))
        d = df[df["layer"] == layer]
        relu = d[d["activation"] == "relu"]
        thin = alt.Chart(relu[relu["step"] % 10 == 0]).mark_line(strokeWidth=1, opacity=0.25).encode(
            x=alt.X("step:Q", title="training step"), y=y, color=colour, detail="seed:N")
        mean = d.groupby(["activation", "step"], as_index=False)["dead"].mean()
        thick = alt.Chart(mean).mark_line(strokeWidth=3).encode(
            x="step:Q", y="dead:Q", color=colour,
            tooltip=["activation", "step", alt.Tooltip("dead:Q", format=".0%", title="mean over seeds")])
        one = alt.Chart(relu[relu["seed"] == seed]).mark_line(strokeWidth=1.5, color=ONE_RUN).encode(
            x="step:Q", y="dead:Q", tooltip=["step", alt.Tooltip("dead:Q", format=".0%", title=f"seed {seed}")])
        panels.append(alt.layer(thin, thick, one).properties(width=140, height=150, title=f"hidden layer {layer}"))
    chart = alt.hconcat(*panels).resolve_scale(color="shared")
    relu_ok = [rs[0] for rs in by_seed.values() if not rs[0].diverged]
    leaky_ok = [rs[1] for rs in by_seed.values() if not rs[1].diverged]
    rows = []
    for j, act in enumerate(DYING_ACTS):
        runs = [rs[j] for rs in by_seed.values() if not rs[j].diverged]
        dead = np.array([dead_at_end(r) for r in runs]) if runs else np.full((1, 3), np.nan)
        acc = np.array([r.final["test_metric"] for r in runs]) if runs else np.array([np.nan])
        mine = by_seed[seed][j]
        rows.append({"activation": NAMES[act],
                     **{f"dead, layer {i + 1}": pct(v) for i, v in enumerate(dead.mean(0))},
                     "test acc.": f"{acc.mean():.3f} ± {acc.std(ddof=1) if len(acc) > 1 else 0:.3f}",
                     f"seed {seed} dead": "diverged" if mine.diverged else pct(float(np.mean(dead_at_end(mine)))),
                     f"seed {seed} acc.": "diverged" if mine.diverged else f"{mine.final['test_metric']:.3f}"})
    out = _diverged_seeds(results, lambda r: NAMES[r.config.model.activation])
    relu_dead = [float(np.mean(dead_at_end(r))) for r in relu_ok]
    if relu_ok:
        sd = np.std(relu_dead, ddof=1) if len(relu_ok) > 1 else 0.0
        out += [Metric(W("dying.relu_dead"), f"{np.mean(relu_dead):.0%} ± {sd:.0%}",
                       help=W("dying.relu_dead_help", n=len(relu_ok))),
                Metric(W("dying.revived"), W("dying.revived_value", k=sum(dips(r, 1) > 0 for r in relu_ok),
                                             n=len(relu_ok)),
                       help=W("dying.revived_help"))]
    if leaky_ok:
        out.insert(len(out) - 1 if relu_ok else len(out),
                   Metric(W("dying.leaky_dead"), pct(max(ever_dead(r) for r in leaky_ok)),
                          help=W("dying.leaky_dead_help", n=len(leaky_ok))))
    caption = W("dying.caption", optimizer=values["optimizer"], lr=values["lr"], bias=values["bias"],
                n=len(SEEDS), seed=seed)
    if any(r.diverged for r in results):
        caption += " " + W("dying.caption_diverged")
    out.append(Chart(chart, caption=caption))
    out.append(Table(pd.DataFrame(rows).set_index("activation"), caption=W("dying.table", seed=seed)))
    return out


DYING_STEP = Step(
    "dying",
    controls=(
        LogSlider("lr", "Learning rate", (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0), 0.3),
        Slider("bias", "Initial hidden bias", -1.5, 0.5, 0.0, step=0.25, help=W("dying.bias_help")),
        Select("optimizer", "Optimizer", ("adam", "sgd"), "adam", help=W("dying.optimizer_help")),
        Select("seed", "Seed drawn in black", SEEDS, 0, help=W("dying.seed_help")),
    ),
    presets=(
        ("Gentle: lr 0.01", dict(GENTLE)),
        ("Bias −1, lr 0.03", {"lr": 0.03, "bias": -1.0, "optimizer": "adam"}),
        ("GD, lr 1, bias −1", dict(PLAIN_GD)),
        ("SGD, lr 3", {"lr": 3.0, "bias": 0.0, "optimizer": "sgd"}),
    ),
    runs=lambda v: dying_sweep(v["lr"], v["bias"], v["optimizer"]),
    demo=dying_demo, heavy=True, claims=DYING_CLAIMS, worked_values=dying_worked,
)


# ================================================================ count the dead units, real PyTorch code (step 2)

MONITOR_CASES = (("lr 0.3", {}), ("lr 0.01", dict(GENTLE)))  # the dying step's default view and its gentle preset


def dead_fraction(model, x):
    """Per ReLU layer: fraction of units 0 on every row."""
    alive = []  # units that fired at least once, per layer

    def hook(module, inputs, out):
        alive.append((out > 0).any(dim=0))

    relus = [m for m in model.modules()
             if isinstance(m, nn.ReLU)]
    hooks = [m.register_forward_hook(hook) for m in relus]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return [1.0 - a.float().mean().item() for a in alive]


def monitored(res) -> list[float]:
    """`dead_fraction` of a trained run on its own training inputs (what the code shown measures)."""
    x = torch.from_numpy(np.array(D.load(res.config.data).X_train, dtype=np.float32))
    return dead_fraction(as_torch(res), x)


def monitor_experiments(seed: int) -> list[Experiment]:
    """ReLU at lr 0.3 and at lr 0.01 (Adam, the dying step's net), one seed."""
    return [e for _, kw in MONITOR_CASES for e in dying_experiments(**kw, seed=seed, acts=("relu",))]


def _monitor(r) -> dict:
    _no_diverged(r)
    hot, gentle = r
    return {"hot": float(np.mean(monitored(hot))), "gentle": float(np.mean(monitored(gentle))),
            "hot_acc": hot.final["test_metric"], "gentle_acc": gentle.final["test_metric"],
            "acc_gap": abs(hot.final["test_metric"] - gentle.final["test_metric"])}


MONITOR_GAP = Claim(
    "monitor_gap", experiments=monitor_experiments, statistic=_monitor,
    holds=lambda v: v["hot"] >= 0.3 and v["gentle"] <= 0.2,
    what="the hook counts at least 30 % dead ReLU units at lr 0.3 and at most 20 % at lr 0.01")
MONITOR_HIDDEN = Claim(
    "monitor_hidden", experiments=monitor_experiments, statistic=_monitor,
    holds=lambda v: v["acc_gap"] < 0.03,
    what="lr 0.3 vs lr 0.01: test accuracies within 3 points although the dead fractions differ")
QUIZ_MONITOR = Claim(  # the quiz at the end quotes the same runs under its own id
    "quiz_monitor", experiments=monitor_experiments, statistic=_monitor,
    holds=lambda v: v["hot"] >= 0.3 and v["acc_gap"] < 0.03,
    what="lr 0.3: at least 30 % dead ReLU units, test accuracy within 3 points of lr 0.01's")


def monitor_demo(values: dict, progress=None) -> list:
    results = engine.run_many([e for s in SEEDS for e in monitor_experiments(s)], progress=progress)
    out = _diverged_seeds(results, lambda r: f"lr {r.config.optim.lr:g}")
    rows, dots = [], []
    for i, s in enumerate(SEEDS):
        row = {"seed": s}
        for (label, _), r in zip(MONITOR_CASES, results[2 * i:2 * i + 2]):
            dead = None if r.diverged else monitored(r)
            row[f"{label}: dead per layer"] = "diverged" if dead is None else " / ".join(pct(d) for d in dead)
            row[f"{label}: test acc."] = "diverged" if dead is None else f"{r.final['test_metric']:.3f}"
            if dead is not None:
                dots.append({"run": label, "seed": s, "dead units": float(np.mean(dead)),
                             "test accuracy": r.final["test_metric"]})
        rows.append(row)
    dots = pd.DataFrame(dots, columns=["run", "seed", "dead units", "test accuracy"])
    order = [c[0] for c in MONITOR_CASES]
    colours = {order[0]: HOT_RUN, order[1]: GENTLE_RUN}
    for label in order:
        d = dots[dots["run"] == label]
        if len(d):
            out.append(Metric(W("monitor.dead", run=label), f"{d['dead units'].mean():.0%}",
                              help=W("monitor.dead_help", n=len(d))))
            out.append(Metric(W("monitor.acc", run=label), f"{d['test accuracy'].mean():.3f}",
                              help=W("monitor.acc_help", n=len(d))))
    charts = [_seed_chart(dots, "run", y, y, color="run", colors=colours, x_title="", sort=order, x_type="N",
                          height=190, width=150, title=W(f"monitor.{key}_title", n=len(SEEDS)))
              for key, y in (("dead", "dead units"), ("acc", "test accuracy"))]
    out.append(Columns([[Code(inspect.getsource(dead_fraction))],
                        [Chart(alt.hconcat(*charts).resolve_scale(color="independent"),
                               caption=W("monitor.caption", n=len(SEEDS)))]]))
    out.append(Table(pd.DataFrame(rows).set_index("seed"), caption=W("monitor.table")))
    return out


MONITOR_STEP = Step(
    "monitor",
    runs=lambda v: [e for s in SEEDS for e in monitor_experiments(s)],
    demo=monitor_demo, heavy=True, claims=(MONITOR_GAP, MONITOR_HIDDEN),
)


# ================================================================ learned and random slopes (step 4)

PRELU = Experiment(
    data=DataSpec("digits", n=0, seed=0),
    model=ModelSpec(hidden=(32, 32, 32), activation="prelu", prelu_init=0.25),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=10),
    seed=0,
)
LOWER_OPTIONS = (0.0, 0.05, 0.1, 0.125, 0.2, 0.3, 0.5)
UPPER_OPTIONS = (0.125, 0.2, 0.25, 1 / 3, 0.5, 0.75, 1.0)


def prelu_experiment(init: float = 0.25, seed: int = 0) -> Experiment:
    return seeded(PRELU.replace(model=dict(prelu_init=float(init))), seed)


def slope_ends(res) -> list[float]:
    """Mean learned slope per layer at the end."""
    return [float(res.history[c].iloc[-1]) for c in res.layer_columns("prelu_slope")]


def _prelu_stay(r) -> dict:
    _no_diverged(r)
    (res,) = r
    start = [float(res.history[c].iloc[0]) for c in res.layer_columns("prelu_slope")]
    end = slope_ends(res)
    return {"low": min(end), "move": max(abs(e - s) for s, e in zip(start, end))}


def _prelu_start(r) -> dict:
    _no_diverged(r)
    return {"from0": max(slope_ends(r[0])), "from1": min(slope_ends(r[1]))}


def _prelu_zero(r) -> dict:
    _no_diverged(r)
    return {"neg": float(np.mean(prelu_slopes(r[0]) <= 0))}


PRELU_STAY = Claim(
    "prelu_stay", experiments=lambda s: [prelu_experiment(0.25, s)], statistic=_prelu_stay,
    holds=lambda v: v["low"] > 0 and v["move"] < 0.2,
    what="PReLU from 0.25: every layer's mean slope ends above 0, within 0.2 of its start")
PRELU_START = Claim(
    "prelu_start", experiments=lambda s: [prelu_experiment(0.0, s), prelu_experiment(1.0, s)],
    statistic=_prelu_start, holds=lambda v: v["from0"] < 0.15 and v["from1"] > 0.85,
    what="PReLU from 0 ends below 0.15 in every layer, from 1 above 0.85")
PRELU_ZERO = Claim(
    "prelu_zero", experiments=lambda s: [prelu_experiment(0.0, s)], statistic=_prelu_zero,
    holds=lambda v: v["neg"] >= 0.1,
    what="PReLU from 0: at least 10 % of the units end with a slope at or below 0")
QUIZ_PRELU = Claim(  # the quiz at the end quotes the same runs under its own id
    "quiz_prelu", experiments=PRELU_ZERO.experiments, statistic=_prelu_zero, holds=PRELU_ZERO.holds,
    what="PReLU from 0: at least 10 % of the units end with a slope at or below 0 (the quiz)")


def rrelu_draws(lower: float, upper: float, n: int = 400, seed: int = 0):
    """Inputs x in [-4, 2], RReLU outputs in training (random slope per element) and in evaluation."""
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(-4, 2, n, dtype=torch.float64)
    noise = torch.rand(n, generator=g, dtype=torch.float64)
    y_train = A.apply("rrelu", x, training=True, lower=lower, upper=upper, noise=noise)
    y_eval = A.apply("rrelu", x, training=False, lower=lower, upper=upper)
    return x, y_train, y_eval


def slopes_demo(values: dict, progress=None) -> list:
    lower, upper = values["lower"], values["upper"]
    init = float(values["prelu_init"])
    out = []
    if lower > upper:
        lower, upper = upper, lower
        out.append(Note(W("slopes.swapped", lower=lower, upper=upper), "warning"))
    results = engine.run_many([prelu_experiment(init, s) for s in SEEDS], progress=progress)
    out += _diverged_seeds(results, lambda r: W("slopes.network"))
    ok = [r for r in results if not r.diverged]
    frames = []
    for r in results:
        sl = finite_rows(r.long("prelu_slope"), "prelu_slope")
        sl["layer"], sl["seed"] = "layer " + sl["layer"].astype(str), r.config.seed
        frames.append(sl)
    sl = pd.concat(frames, ignore_index=True)
    prelu_chart = lesson_charts.seed_curves(sl, "step", "prelu_slope", color="layer", x_title="training step",
                                            y_title="mean slope a", height=190,
                                            title=W("slopes.prelu_title"))
    ends = np.array([slope_ends(r) for r in ok]) if ok else np.full((1, 3), np.nan)
    neg = [float(np.mean(prelu_slopes(r) <= 0)) for r in ok] or [np.nan]
    x, y_tr, y_ev = rrelu_draws(lower, upper)
    neg_x = x < 0
    slopes = (y_tr[neg_x] / x[neg_x]).numpy()
    mean_slope = (lower + upper) / 2
    modes = ["training (random slope)", "evaluation (mean slope)"]
    pts = pd.DataFrame({"x": x.numpy(), modes[0]: y_tr.numpy(), modes[1]: y_ev.numpy()})
    pts_long = pts.melt("x", var_name="mode", value_name="y")
    # the legend in the empty upper-left corner, not under a half-width chart where it was cut
    rr = alt.Chart(pts_long).encode(x=alt.X("x:Q", title="z"), y=alt.Y("y:Q", title="RReLU(z)"),
                                    color=alt.Color("mode:N", title=None, legend=alt.Legend(orient="top-left"),
                                                    scale=alt.Scale(domain=modes, range=[
                                                        ACTIVATION_COLORS["rrelu"], ONE_RUN])))
    rr_chart = alt.layer(rr.transform_filter(alt.datum.mode == modes[0]).mark_point(size=18, opacity=0.6),
                         rr.transform_filter(alt.datum.mode == modes[1]).mark_line(strokeWidth=2)
                         ).properties(height=210, title=W("slopes.rrelu_title"))
    n = len(ends)
    sd = ends.std(0, ddof=1) if n > 1 else np.zeros(ends.shape[1])
    last = ends.shape[1]
    out.append(Metric(W("slopes.a_layer", layer=1), f"{ends[:, 0].mean():.3f}",
                      help=W("slopes.a_layer_help", layer=1, init=init, n=n, sd=sd[0])))
    out.append(Metric(W("slopes.a_layer", layer=last), f"{ends[:, -1].mean():.3f}",
                      help=W("slopes.a_layer_help", layer=last, init=init, n=n, sd=sd[-1])))
    out.append(Metric(W("slopes.a_neg"), f"{np.mean(neg):.0%}", help=W("slopes.a_neg_help", n=n)))
    out.append(Metric(W("slopes.rrelu_train"), f"{slopes.min():.2f}…{slopes.max():.2f}",
                      help=W("slopes.rrelu_train_help")))
    out.append(Metric(W("slopes.rrelu_eval"), f"{mean_slope:.3f}", help=W("slopes.rrelu_eval_help")))
    accs = [r.final["test_metric"] for r in ok]
    test_acc = f"{np.mean(accs):.3f}" if accs else "diverged"
    out += [
        Chart(prelu_chart, caption=W(
            "slopes.prelu_caption", init=init, n=len(SEEDS), acc=test_acc,
            ends=", ".join(W("slopes.layer_end", layer=i + 1, mean=e) for i, e in enumerate(ends.mean(0))))),
        Chart(rr_chart, caption=W("slopes.rrelu_caption", lower=lower, upper=upper, lo=slopes.min(), hi=slopes.max(),
                                  mean=slopes.mean(), eval=mean_slope)),
    ]
    return out


SLOPES_STEP = Step(
    "slopes",
    controls=(
        Slider("prelu_init", "PReLU initial slope", 0.0, 1.0, 0.25, step=0.05),
        LogSlider("lower", "RReLU lower bound l", LOWER_OPTIONS, 0.125),
        LogSlider("upper", "RReLU upper bound u", UPPER_OPTIONS, 1 / 3),
    ),
    presets=(("PReLU from 0", {"prelu_init": 0.0}),
             ("PReLU from 1", {"prelu_init": 1.0})),
    runs=lambda v: [prelu_experiment(v["prelu_init"], s) for s in SEEDS],
    demo=slopes_demo, heavy=True, claims=(PRELU_STAY, PRELU_START, PRELU_ZERO),
)


# ================================================================ CReLU (step 5)

# 40 % of the 1,797 digits are test points (719), so one point is 0.14 percentage points.
CRELU = Experiment(
    data=DataSpec("digits", n=0, train_frac=0.5, val_frac=0.1, test_frac=0.4, seed=0),
    model=ModelSpec(hidden=(16, 16), activation="relu"),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=20),
    seed=0,
)


def n_params(hidden, activation: str, n_in: int = 64, n_out: int = 10) -> int:
    """Weights and biases of an MLP; CReLU hands 2h values to the next layer, so its fan-in doubles."""
    total, d = 0, n_in
    for h in hidden:
        total += (d + 1) * h + (h if activation == "prelu" else 0)
        d = 2 * h if activation == "crelu" else h
    return total + (d + 1) * n_out


def crelu_models(width: int = 16, depth: int = 2) -> list[tuple[str, str, tuple]]:
    """(label, activation, hidden) of the three nets we compare."""
    return [(f"ReLU, {width} units", "relu", (width,) * depth),
            (f"CReLU, {width} units", "crelu", (width,) * depth),
            (f"ReLU, {2 * width} units", "relu", (2 * width,) * depth)]


def crelu_experiments(width: int = 16, depth: int = 2, seed: int = 0) -> list[Experiment]:
    """The three nets at one seed."""
    return [seeded(CRELU.replace(model=dict(activation=act, hidden=hid)), seed)
            for _, act, hid in crelu_models(width, depth)]


def crelu_sweep(width: int = 16, depth: int = 2) -> list[Experiment]:
    """The three nets at every seed (model-major: all seeds of the first net, then the next)."""
    return [seeded(CRELU.replace(model=dict(activation=act, hidden=hid)), s)
            for _, act, hid in crelu_models(width, depth) for s in SEEDS]


def _crelu_between(r) -> dict:
    _no_diverged(r)
    same, crelu, double = (x.final["test_metric"] for x in r)
    return {"same": same, "crelu": crelu, "double": double, "beat_same": float(crelu > same),
            "lost_double": float(crelu < double)}


CRELU_BETWEEN = Claim(
    "crelu_between", experiments=lambda s: crelu_experiments(16, 2, s), statistic=_crelu_between,
    holds=lambda v: v["same"] - 0.015 <= v["crelu"] <= v["double"] + 0.015,
    what="16 units, 2 layers: CReLU's test accuracy between ReLU 16's and ReLU 32's, within 1.5 points")


def crelu_worked() -> dict:
    """The worked numbers of step *CReLU*: parameter counts of the three digits nets (64 inputs, 10
    classes, 2 hidden layers of 16 or 32), as the engine lays out their parameters."""
    from engine.model import Layout

    size = {act + str(h): Layout(ModelSpec(hidden=(h, h), activation=act), 64, 10).size
            for act, h in (("relu", 16), ("crelu", 16), ("relu", 32))}
    return {"p_same": size["relu16"], "p_crelu": size["crelu16"], "p_double": size["relu32"]}


def crelu_demo(values: dict, progress=None) -> list:
    width, depth = int(values["width"]), int(values["depth"])
    models = crelu_models(width, depth)
    results = engine.run_many(crelu_sweep(width, depth), progress=progress)
    k = len(SEEDS)
    rows, dots = [], []
    for j, (label, act, hid) in enumerate(models):
        group = results[j * k:(j + 1) * k]
        ok = [r for r in group if not r.diverged]
        acc = np.array([r.final["test_metric"] for r in ok])
        rows.append({"model": label, "outputs per layer": 2 * width if act == "crelu" else hid[0],
                     "parameters": group[0].meta["n_params"],
                     "train accuracy": float(np.mean([r.final["train_metric"] for r in ok])) if ok else np.nan,
                     "test accuracy": float(acc.mean()) if ok else np.nan,
                     "test sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0})
        dots += [{"model": label, "seed": r.config.seed, "test accuracy": r.final["test_metric"]} for r in ok]
    table = pd.DataFrame(rows)
    order = [m[0] for m in models]
    colours = {order[0]: ACTIVATION_COLORS["relu"], order[1]: ACTIVATION_COLORS["crelu"], order[2]: WIDER_RELU}
    chart = _seed_chart(pd.DataFrame(dots, columns=["model", "seed", "test accuracy"]), "model", "test accuracy",
                        "test accuracy", color="model", colors=colours, x_title="", sort=order, x_type="N",
                        height=200, angle=-20)  # slanted, every name kept: upright, a phone dropped the middle one
    beat = sum(results[k + i].final["test_metric"] > results[i].final["test_metric"]
               for i in range(k) if not (results[k + i].diverged or results[i].diverged))
    p = table["parameters"].tolist()
    acc = table["test accuracy"].tolist()
    out = _diverged_seeds(results, lambda r: NAMES[r.config.model.activation])
    out += [Metric(f"ReLU {width}", f"{p[0]:,}", help=W("crelu.relu_help", width=width)),
            Metric(f"CReLU {width}", f"{p[1]:,}", delta=f"+{p[1] - p[0]:,}", help=W("crelu.crelu_help", width=width)),
            Metric(f"ReLU {2 * width}", f"{p[2]:,}", help=W("crelu.relu_help", width=2 * width)),
            Metric(W("crelu.wins"), W("crelu.wins_value", k=beat, n=k), help=W("crelu.wins_help", width=width))]
    out.append(Chart(chart, caption=W("crelu.caption", depth=depth, n=k)))
    out.append(Table(table.set_index("model").round(3), caption=W(
        "crelu.table", n=k, width=width, outputs=2 * width, p_crelu=p[1], p_same=p[0], p_double=p[2],
        acc_same=acc[0], acc_crelu=acc[1], acc_double=acc[2])))
    return out


CRELU_STEP = Step(
    "crelu",
    controls=(
        Select("width", "Units per hidden layer", (8, 16, 32), 16),
        Slider("depth", "Hidden layers", 1, 3, 2, step=1),
    ),
    runs=lambda v: crelu_sweep(int(v["width"]), int(v["depth"])),
    demo=crelu_demo, heavy=True, claims=(CRELU_BETWEEN,), worked_values=crelu_worked,
)


# ================================================================ the re-run (step 6)

XU_TABLE = pd.DataFrame([
    ("ReLU", 0.00318, 0.1245, 0.1356, 0.429),
    ("Leaky ReLU, a = 100", 0.0031, 0.1266, 0.11552, 0.4205),
    ("Leaky ReLU, a = 5.5", 0.00362, 0.1120, 0.08536, 0.4042),
    ("PReLU", 0.00178, 0.1179, 0.0633, 0.4163),
    ("RReLU", 0.00550, 0.1119, 0.1141, 0.4025),
], columns=["activation", "CIFAR-10 train", "CIFAR-10 test", "CIFAR-100 train", "CIFAR-100 test"])

# 719 test points (40 % of the digits), so one point is 0.14 percentage points.
RERUN = Experiment(
    data=DataSpec("digits", n=0, train_frac=0.5, val_frac=0.1, test_frac=0.4, seed=0),
    model=ModelSpec(hidden=(64, 64), activation="relu"),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=25),
    seed=0,
)
# (label, activation, act_param): the Xu et al. rows in the slides' x/a convention, plus ELU and GELU
VARIANTS = (("ReLU", "relu", 0.01), ("Leaky ReLU, a = 100", "leaky_relu", 1 / 100),
            ("Leaky ReLU, a = 5.5", "leaky_relu", 1 / 5.5), ("PReLU", "prelu", 0.01),
            ("RReLU", "rrelu", 0.01), ("ELU", "elu", 1.0), ("GELU", "gelu", 0.01))


def rerun_variants(seed: int, width: int = 64) -> list[Experiment]:
    """Every variant at one seed (a new train/val/test split and a new initialisation)."""
    return [seeded(RERUN.replace(model=dict(activation=act, act_param=p, hidden=(int(width),) * 2)), seed)
            for _, act, p in VARIANTS]


def rerun_experiments(seeds: int = 10, width: int = 64) -> list[Experiment]:
    """Variants x seeds (variant-major); seeds are the first `seeds` of the claims' seeds."""
    return [seeded(RERUN.replace(model=dict(activation=act, act_param=p, hidden=(int(width),) * 2)), s)
            for _, act, p in VARIANTS for s in SEEDS[:int(seeds)]]


def _rerun_fit(r) -> dict:
    _no_diverged(r)
    return {"train_err": max(1 - x.final["train_metric"] for x in r)}


def _rerun_close(r) -> dict:
    _no_diverged(r)
    err = [100 * (1 - x.final["test_metric"]) for x in r]
    relu, rrelu = err[0], err[[v[0] for v in VARIANTS].index("RReLU")]
    return {"spread": max(err) - min(err), "rrelu_minus_relu": rrelu - relu, "rrelu_better": float(rrelu < relu)}


# The re-run is the lesson's heaviest sweep (70 digits runs): CI retrains its first five seeds only
# (tests/lessons/test_claims.py, smoke=True); the page and the shipped cache use all ten.
RERUN_TEST_SEEDS = SEEDS[:5]
RERUN_FIT = Claim(
    "rerun_fit", experiments=lambda s: rerun_variants(s), statistic=_rerun_fit, test_seeds=RERUN_TEST_SEEDS,
    holds=lambda v: v["train_err"] == 0,
    what="every variant ends with training error 0")
RERUN_CLOSE = Claim(
    "rerun_close", experiments=lambda s: rerun_variants(s), statistic=_rerun_close, test_seeds=RERUN_TEST_SEEDS,
    holds=lambda v: v["spread"] < 2.0,
    what="within one seed, the seven variants' test errors span less than 2 percentage points")


def rerun_summary(results, seeds: int) -> pd.DataFrame:
    rows = []
    for j, (label, act, _) in enumerate(VARIANTS):
        group = [r for r in results[j * seeds:(j + 1) * seeds] if not r.diverged]
        tr = np.array([1 - r.final["train_metric"] for r in group])
        te = np.array([1 - r.final["test_metric"] for r in group])
        rows.append({"activation": label, "family": act, "runs": len(group),
                     "train error": tr.mean() if len(tr) else np.nan,
                     "test error": te.mean() if len(te) else np.nan,
                     "test error sd": te.std(ddof=1) if len(te) > 1 else 0.0,
                     "test min": te.min() if len(te) else np.nan, "test max": te.max() if len(te) else np.nan})
    return pd.DataFrame(rows)


def rerun_paired(results, seeds: int) -> pd.DataFrame:
    """Each variant against ReLU, seed by seed: the runs of one seed share its split and initialisation
    seed, so the difference of their test errors removes what the seed does to both. Differences in
    percentage points: mean, standard deviation, standard error (sd / sqrt(seeds)), and the seeds in
    which the variant's error was lower, equal and higher than ReLU's."""
    err = {label: [None if r.diverged else 100 * (1 - r.final["test_metric"])
                   for r in results[j * seeds:(j + 1) * seeds]] for j, (label, _, _) in enumerate(VARIANTS)}
    base, rows = err[VARIANTS[0][0]], []
    for label, _, _ in VARIANTS[1:]:
        d = np.array([v - b for v, b in zip(err[label], base) if v is not None and b is not None])
        n = len(d)
        sd = float(d.std(ddof=1)) if n > 1 else float("nan")
        rows.append({"activation": label, "pairs": n, "mean diff": float(d.mean()) if n else float("nan"),
                     "sd": sd, "se": sd / np.sqrt(n) if n > 1 else float("nan"),
                     "lower": int((d < 0).sum()), "equal": int((d == 0).sum()), "higher": int((d > 0).sum())})
    return pd.DataFrame(rows)


def rerun_verdict(summary: pd.DataFrame, paired: pd.DataFrame, seeds: int) -> str:
    s = summary.dropna(subset=["test error"])
    best, worst = s.loc[s["test error"].idxmin()], s.loc[s["test error"].idxmax()]
    text = W("rerun.verdict", seeds=seeds, best=best["activation"], best_err=best["test error"],
             worst=worst["activation"], worst_err=worst["test error"],
             gap=100 * (worst["test error"] - best["test error"])) + " "
    p = paired.dropna(subset=["se"])
    if seeds < 2 or p.empty:
        return text + W("rerun.verdict_one_seed")
    far = p.loc[(p["mean diff"].abs() / p["se"].where(p["se"] > 0)).fillna(0).idxmax()]
    beyond = int((p["mean diff"].abs() > 2 * p["se"]).sum())
    key = "rerun.verdict_noise" if beyond == 0 else "rerun.verdict_real"
    text += W(key, name=far["activation"], diff=far["mean diff"], se=far["se"], lower=int(far["lower"]),
              higher=int(far["higher"]), pairs=int(far["pairs"]), beyond=beyond, k=len(p))
    tr = float(s["train error"].max())
    text += " " + (W("rerun.verdict_fit_all") if tr == 0 else W("rerun.verdict_fit_most", err=tr))
    return text + " " + W("rerun.verdict_no_room")


def rerun_demo(values: dict, progress=None) -> list:
    seeds, width = int(values["seeds"]), int(values["width"])
    results = engine.run_many(rerun_experiments(seeds, width), progress=progress)
    summary = rerun_summary(results, seeds)
    order = [v[0] for v in VARIANTS]
    dots = pd.DataFrame([{"activation": VARIANTS[j][0], "seed": r.config.seed, "test error": 1 - r.final["test_metric"]}
                         for j in range(len(VARIANTS)) for r in results[j * seeds:(j + 1) * seeds] if not r.diverged],
                        columns=["activation", "seed", "test error"])
    colours = {label: ACTIVATION_COLORS[act] for label, act, _ in VARIANTS}
    chart = _seed_chart(dots, "activation", "test error", "test error", angle=-25, label_limit=160,
                        color="activation", colors=colours, x_title="", sort=order, x_type="N", height=200)
    paired = rerun_paired(results, seeds)
    ours = summary[["activation", "train error", "test error", "test error sd"]].copy()
    for c in ("train error", "test error", "test error sd"):
        ours[c] = ours[c].map(lambda v: f"{v:.2%}")
    vs = {r["activation"]: r for _, r in paired.iterrows()}
    ours["− ReLU, paired"] = [
        "" if a not in vs else W("rerun.paired_cell", diff=vs[a]["mean diff"], se=vs[a]["se"])
        if vs[a]["pairs"] > 1 else "" for a in ours["activation"]]
    ours["lower/same/higher"] = [
        "" if a not in vs else f"{vs[a]['lower']} / {vs[a]['equal']} / {vs[a]['higher']}" for a in ours["activation"]]
    out = _diverged_seeds(results, lambda r: NAMES[r.config.model.activation])
    out += [
        Table(XU_TABLE.set_index("activation").map(lambda v: f"{v:.2%}"), caption=W("rerun.xu_table")),
        Chart(chart, caption=W("rerun.caption", width=width, seeds=seeds)),
        Table(ours.set_index("activation"), caption=W("rerun.table", seeds=seeds)),
    ]
    out.append(Note(rerun_verdict(summary, paired, seeds), "info"))
    return out


RERUN_STEP = Step(
    "rerun",
    controls=(
        Slider("seeds", "Seeds per variant", 1, len(SEEDS), len(SEEDS), step=1),
        Select("width", "Units per hidden layer", (32, 64, 128), 64),
    ),
    runs=lambda v: rerun_experiments(int(v["seeds"]), int(v["width"])),
    demo=rerun_demo, heavy=True, claims=(RERUN_FIT, RERUN_CLOSE),
)


# ================================================================ boundaries (step 7)

# 75 training points, as in the lecture, and 1,925 test points: one test point is 0.05 percentage points.
BOUNDARY = Experiment(
    data=DataSpec("moons", n=2000, noise=0.25, train_frac=0.0375, val_frac=0.0, test_frac=0.9625, seed=0),
    model=ModelSpec(hidden=(10, 10), activation="relu"),
    optim=OptimSpec("adam", lr=0.01),
    reg=RegSpec(l2=0.003),  # a little weight decay, as scikit-learn's alpha: keeps the surfaces from turning into steps
    train=TrainSpec(steps=1000, record_every=100),
    seed=0,
)
SURFACE = dict(snapshot_steps=(1000,), grid=48)  # only the runs whose surfaces are drawn take a snapshot


def boundary_experiments(layers: int = 2, seed: int = 0, surface: bool = False) -> list[Experiment]:
    """ReLU and tanh at one seed; `surface` adds the decision-surface snapshot (the run a chart draws)."""
    base = seeded(BOUNDARY, seed).replace(train=SURFACE) if surface else seeded(BOUNDARY, seed)
    return [base.replace(model=dict(activation=a, hidden=(10,) * int(layers))) for a in ("relu", "tanh")]


def boundary_sweep(layers: int = 2) -> list[Experiment]:
    return [e for s in SEEDS for e in boundary_experiments(layers, s)]


def _bound_close(r) -> dict:
    _no_diverged(r)
    relu, tanh = (x.final["test_metric"] for x in r)
    return {"relu": relu, "tanh": tanh, "gap": relu - tanh, "relu_better": float(relu > tanh)}


BOUND_CLOSE = Claim(
    "bound_close", experiments=lambda s: boundary_experiments(2, s), statistic=_bound_close,
    holds=lambda v: abs(v["gap"]) < 0.03,
    what="2 hidden layers: ReLU's and tanh's test accuracy within 3 points")


def _grid(extent, n):
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return gx, gy


@lru_cache(maxsize=32)
def sklearn_boundary(activation: str, layers: int, seed: int = 0, grid: int = 48):
    """scikit-learn's MLPClassifier as the lecture used it (lbfgs, 10 units per layer), on our split of
    seed `seed` (one run). Returns (P(class 1) on the grid, test accuracy, fit seconds, training accuracy)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    split = D.load(seeded(BOUNDARY, seed).data)
    clf = MLPClassifier(solver="lbfgs", activation=activation, random_state=seed, hidden_layer_sizes=[10] * layers,
                        max_iter=1000)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(split.raw_train, split.y_train.astype(int))
    seconds = time.perf_counter() - t0
    gx, gy = _grid(split.extent(), grid)
    p = clf.predict_proba(np.c_[gx.ravel(), gy.ravel()])[:, 1].reshape(grid, grid)
    acc = float(clf.score(split.raw_test, split.y_test.astype(int)))
    return p, acc, seconds, float(clf.score(split.raw_train, split.y_train.astype(int)))


SHOWN_TEST = 150  # test points drawn on a surface (all 1,925 are scored)


def boundary_demo(values: dict, progress=None) -> list:
    layers, seed = int(values["layers"]), int(values["seed"])
    sweep = boundary_sweep(layers)
    shown = boundary_experiments(layers, seed, surface=True)
    results = engine.run_many(sweep + shown, progress=progress)
    swept, runs = results[:len(sweep)], results[len(sweep):]
    split = D.load(shown[0].data)
    drawn = dataclasses.replace(split, raw_test=split.raw_test[:SHOWN_TEST], y_test=split.y_test[:SHOWN_TEST])
    out = _diverged_seeds(swept, lambda r: NAMES[r.config.model.activation])
    acc = {a: np.array([r.final["test_metric"] for r in swept if r.config.model.activation == a and not r.diverged])
           for a in ("relu", "tanh")}
    dots = pd.DataFrame([{"model": NAMES[r.config.model.activation], "seed": r.config.seed,
                          "test accuracy": r.final["test_metric"]} for r in swept if not r.diverged],
                        columns=["model", "seed", "test accuracy"])
    strip = _seed_chart(dots, "model", "test accuracy", "test accuracy", color="model",
                        colors={"ReLU": ACTIVATION_COLORS["relu"], "tanh": ACTIVATION_COLORS["tanh"]},
                        x_title="", x_type="N", height=160, width=70, title=W("boundaries.strip_title", n=len(SEEDS)))
    panels, rows = [], []
    for a in ("relu", "tanh"):
        a_acc = acc[a]
        rows.append({"model": W("boundaries.row_ours_seeds", name=NAMES[a], n=len(a_acc)),
                     "test accuracy": f"{a_acc.mean():.3f} ± {a_acc.std(ddof=1) if len(a_acc) > 1 else 0:.3f}"
                     if len(a_acc) else "diverged", "training time (s)": ""})
    for r in runs:
        act = r.config.model.activation
        if r.diverged:
            continue
        t_acc = r.final["test_metric"]
        rows.append({"model": W("boundaries.row_ours_one", name=NAMES[act], seed=seed), "test accuracy": f"{t_acc:.3f}",
                     "training time (s)": f"{r.meta['wall_time']:.3f}"})
        if r.snapshots is not None:
            panels.append(lesson_charts.decision_surface(
                r.snapshots[-1], r.meta["extent"], drawn, W("boundaries.surface_ours", name=NAMES[act], acc=t_acc),
                legend=not panels, **lesson_charts.equal_axes(r.meta["extent"], 160)))
    rows_charts = [alt.hconcat(*panels, strip)] if panels else [strip]
    if values["sklearn"]:
        sk = []
        for act in ("relu", "tanh"):
            p, s_acc, secs, train_acc = sklearn_boundary(act, layers, seed)
            rows.append({"model": W("boundaries.row_sklearn", name=NAMES[act], seed=seed),
                         "test accuracy": f"{s_acc:.3f}", "training time (s)": f"{secs:.3f}"})
            sk.append(lesson_charts.decision_surface(p, split.extent(), drawn,
                                                     W("boundaries.surface_sklearn", name=NAMES[act], acc=s_acc),
                                                     legend=False, **lesson_charts.equal_axes(split.extent(), 160)))
        rows_charts.append(alt.hconcat(*sk))
    out.append(Chart(alt.vconcat(*rows_charts), caption=W("boundaries.caption", layers=layers, seed=seed,
                                                           shown=SHOWN_TEST, n=len(SEEDS)), square=True))
    if len(acc["relu"]) and len(acc["tanh"]):
        for a in ("relu", "tanh"):
            out.append(Metric(W("boundaries.test_acc", name=NAMES[a]), f"{acc[a].mean():.3f}",
                              help=W("boundaries.test_acc_help", n=len(acc[a]))))
    out.append(Table(pd.DataFrame(rows).set_index("model"), caption=W("boundaries.table")))
    return out


BOUNDARIES_STEP = Step(
    "boundaries",
    controls=(
        Slider("layers", "Hidden layers", 1, 4, 2, step=1),
        Toggle("sklearn", "Also fit scikit-learn's MLPClassifier", True),
        Select("seed", "Seed drawn", SEEDS, 0, help=W("boundaries.seed_help")),
    ),
    # every depth of seed 0 is shipped, so a preset per depth: moving through them trains nothing
    presets=(("1 hidden layer", {"layers": 1}), ("3 hidden layers", {"layers": 3}),
             ("4 hidden layers", {"layers": 4})),
    runs=lambda v: boundary_sweep(v["layers"]) + boundary_experiments(v["layers"], v["seed"], surface=True),
    demo=boundary_demo, heavy=True, claims=(BOUND_CLOSE,),
)


# ================================================================ what one hidden layer can do (step 8)

# The engine's 1-D curves (engine/data.py: sine1d, bump1d): 201 evenly spaced x on [-1, 1], no
# noise, split by interleaving, so the nets train on the 101 points x = -1, -0.98, ..., 1 (validation
# and test alternate on the midpoints). Inputs are left in their own units (standardise=False), so a
# unit's kink is -b/w on the x axis; `OneLayerFits` still undoes the split's scaling in case a run is
# standardised. PyTorch's nn.Linear initialisation (init="torch_default"): the hidden layer has
# fan-in 1, so w and b start uniform on [-1, 1] and the kinks -b/w land anywhere, many outside.
ONE_TARGETS = {"sine": "sine1d", "bump": "bump1d"}  # the step's function -> the engine's data set
ONE_DATA = {t: DataSpec(name, n=201, noise=0.0, train_frac=0.5, val_frac=0.25, test_frac=0.25, standardise=False)
            for t, name in ONE_TARGETS.items()}
ONE_X = np.linspace(-1.0, 1.0, 101)  # the training points of ONE_DATA
ONE_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
ONE_STEPS, ONE_LR = 1000, 0.02
ONE_NARROW, ONE_WIDE, ONE_SHOWN = 2, 64, 16  # the widths the claims compare; the default view's width
ONE_ABOVE = 5  # the claim: trained nets of ONE_SHOWN units err at least this many times the even kinks' fit


def one_target(target: str, x: np.ndarray) -> np.ndarray:
    """The step's function at x (the engine's own curve)."""
    return D.CURVES[ONE_TARGETS[target]](np.asarray(x, dtype=np.float64))


def one_layer_experiment(target: str = "sine", width: int = 8, seed: int = 0) -> Experiment:
    """One net of `width` hidden ReLU units on `target`: Adam, lr ONE_LR, ONE_STEPS full-batch steps. The
    data seed follows the seed, as in every sweep of the lesson; without noise the data are the same."""
    return Experiment(data=dataclasses.replace(ONE_DATA[target], seed=int(seed)),
                      model=ModelSpec(hidden=(int(width),), activation="relu", init="torch_default"),
                      optim=OptimSpec("adam", lr=ONE_LR), train=TrainSpec(steps=ONE_STEPS, record_every=50),
                      seed=int(seed))


def one_layer_sweep(target: str = "sine", width: int = 8, seeds: tuple = SEEDS) -> list[Experiment]:
    return [one_layer_experiment(target, width, s) for s in seeds]


@dataclasses.dataclass(frozen=True)
class OneLayerFits:
    """Trained one-hidden-layer ReLU nets of one width, one row per seed: f(x) = Σ_j v_j max(0, w_j x + b_j) + c,
    with w and b in the units of x (the engine's input scaling undone)."""

    target: str
    seeds: tuple
    w: np.ndarray  # (seeds, width) hidden weights
    b: np.ndarray  # (seeds, width) hidden biases
    v: np.ndarray  # (seeds, width) output weights
    c: np.ndarray  # (seeds,) output bias
    mse: np.ndarray  # (seeds,) mean squared error on the 101 training points at the end (float64, these weights)
    engine_mse: np.ndarray  # (seeds,) the engine's own final training loss (float32)

    @property
    def width(self) -> int:
        return self.w.shape[1]

    def row(self, seed: int) -> int:
        return self.seeds.index(seed)

    def pieces(self, seed: int, x: np.ndarray) -> np.ndarray:
        """(len(x), width): each unit's contribution v_j max(0, w_j x + b_j), its hinge."""
        i = self.row(seed)
        return np.maximum(0.0, np.outer(x, self.w[i]) + self.b[i]) * self.v[i]

    def predict(self, seed: int, x: np.ndarray) -> np.ndarray:
        return self.pieces(seed, x).sum(1) + self.c[self.row(seed)]

    def kinks(self, seed: int) -> np.ndarray:
        """Where each unit switches on, x = −b/w, sorted (a unit with w = 0 is a constant: no kink)."""
        i = self.row(seed)
        w, b = self.w[i], self.b[i]
        return np.sort(-b[w != 0] / w[w != 0])


def unit_params(result) -> tuple[np.ndarray, ...]:
    """(w, b, v, c) of a trained one-hidden-layer net in the units of x: the engine's first layer sees
    z = (x − mean) / std, so w z + b = (w / std) x + (b − w · mean / std)."""
    hidden, out = result.weights()
    split = D.load(result.config.data)
    m, sd = float(split.mean[0]), float(split.std[0])
    w = hidden["W"][0].astype(np.float64)
    b = hidden["b"].astype(np.float64)
    return w / sd, b - w * m / sd, out["W"][:, 0].astype(np.float64), float(out["b"][0])


def fits_of(target: str, results) -> OneLayerFits:
    """The sweep's results as one `OneLayerFits` (a diverged run keeps NaN weights)."""
    y = one_target(target, ONE_X)
    rows = []
    for r in results:
        if r.params is None:
            width = r.config.model.hidden[0]
            rows.append((np.full(width, np.nan), np.full(width, np.nan), np.full(width, np.nan), np.nan))
        else:
            rows.append(unit_params(r))
    w, b, v = (np.stack([row[k] for row in rows]) for k in range(3))
    c = np.array([row[3] for row in rows])
    pred = (np.maximum(0.0, ONE_X[None, :, None] * w[:, None, :] + b[:, None, :]) * v[:, None, :]).sum(-1) + c[:, None]
    mse = np.mean((pred - y) ** 2, axis=1)
    engine_mse = np.array([r.final["train_loss"] for r in results], dtype=np.float64)
    arrays = [w, b, v, c, mse, engine_mse]
    for a in arrays:
        a.setflags(write=False)
    return OneLayerFits(target, tuple(r.config.seed for r in results), *arrays)


def one_layer_fits(target: str = "sine", width: int = 8, seeds: tuple = SEEDS, progress=None,
                   cache: bool = True) -> OneLayerFits:
    """Ten seeds of one width through the engine, as one batched `run_many` (shipped cache first)."""
    return fits_of(target, engine.run_many(one_layer_sweep(target, width, tuple(seeds)), progress=progress,
                                           cache=cache))


def best_output_layer(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """Keep the hidden layer (its kinks), solve the output layer by least squares: the best any net
    with these units can do. Returns (v and c, mean squared error)."""
    features = np.c_[np.maximum(0.0, np.outer(x, w) + b), np.ones_like(x)]
    coef = np.linalg.lstsq(features, y, rcond=None)[0]
    return coef, float(np.mean((features @ coef - y) ** 2))


def even_kinks(width: int) -> np.ndarray:
    """`width` units with slope 1 and kinks evenly spaced from −1 (that first unit is a straight line on
    [−1, 1]): width − 1 kinks inside the interval."""
    return np.linspace(-1.0, 1.0, int(width) + 1)[:-1]


def even_fit(target: str, width: int) -> float:
    """The error of a width-`width` net whose kinks are placed evenly by hand, output layer by least squares."""
    k = even_kinks(width)
    return best_output_layer(ONE_X, one_target(target, ONE_X), np.ones_like(k), -k)[1]


def _wide_fits(r) -> dict:
    _no_diverged(r)
    narrow, wide = (x.final["train_loss"] for x in r)
    return {"narrow": narrow, "wide": wide, "ratio": wide / narrow}


def _above_even(r) -> dict:
    _no_diverged(r)
    net = r[0].final["train_loss"]
    return {"net": net, "factor": net / even_fit("sine", ONE_SHOWN)}


ONE_WIDE_FITS = Claim(
    "one_wide_fits", experiments=lambda s: [one_layer_experiment("sine", ONE_NARROW, s),
                                            one_layer_experiment("sine", ONE_WIDE, s)],
    statistic=_wide_fits, holds=lambda v: v["ratio"] < 0.5,
    what="sine: 64 ReLU units' training error below half that of 2 units (1000 Adam steps)")
ONE_ABOVE_EVEN = Claim(
    "one_above_even", experiments=lambda s: [one_layer_experiment("sine", ONE_SHOWN, s)],
    statistic=_above_even, holds=lambda v: v["factor"] > ONE_ABOVE,
    what="sine, 16 units: the trained net's training error over 5 times that of evenly spaced kinks")


def one_layer_demo(values: dict, progress=None) -> list:
    target, width, seed = values["target"], int(values["width"]), int(values["seed"])
    fits = one_layer_fits(target, width, progress=progress)
    y = one_target(target, ONE_X)
    grid = np.linspace(-1.0, 1.0, 201)
    kinks = fits.kinks(seed)
    inside = kinks[(kinks > -1) & (kinks < 1)]
    i = fits.row(seed)
    refit = best_output_layer(ONE_X, y, fits.w[i], fits.b[i])[1]
    even = {n: even_fit(target, n) for n in ONE_WIDTHS}
    lo, hi = float(y.min()), float(y.max())
    pad = 0.6 * (hi - lo)
    # the net and its hinges are straight between kinks: their kinks and the two ends draw them exactly
    nodes = np.r_[-1.0, inside, 1.0]
    curves = pd.concat([
        pd.DataFrame({"x": grid, "y": one_target(target, grid), "curve": "target"}),
        pd.DataFrame({"x": nodes, "y": fits.predict(seed, nodes), "curve": "net"})], ignore_index=True)
    piece_df = pd.DataFrame({"x": np.repeat(nodes, width), "y": fits.pieces(seed, nodes).ravel(),
                             "unit": np.tile(np.arange(width), len(nodes))})
    kink_df = pd.DataFrame({"x": inside, "y": fits.predict(seed, inside)})
    yscale = alt.Scale(domain=[lo - pad, hi + pad], nice=False)
    xs = alt.X("x:Q", title="x", scale=alt.Scale(domain=[-1, 1], nice=False))
    piece_layer = alt.Chart(piece_df).mark_line(strokeWidth=1, opacity=0.45, color=HINGE_PIECE, clip=True).encode(
        x=xs, y=alt.Y("y:Q", title="f(x)", scale=yscale), detail="unit:N")
    curve_layer = alt.Chart(curves).mark_line(clip=True).encode(
        x=xs, y=alt.Y("y:Q", scale=yscale),
        color=alt.Color("curve:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["target", "net"], range=[TARGET_CURVE, ONE_RUN])),
        strokeDash=alt.StrokeDash("curve:N", scale=alt.Scale(domain=["target", "net"], range=[[5, 4], [1, 0]]),
                                  legend=None),
        strokeWidth=alt.StrokeWidth("curve:N", scale=alt.Scale(domain=["target", "net"], range=[2.5, 2]),
                                    legend=None))
    kink_layer = alt.Chart(kink_df).mark_point(filled=True, size=45, color=KINK_MARK, clip=True).encode(
        x=xs, y=alt.Y("y:Q", scale=yscale), tooltip=[alt.Tooltip("x:Q", format=".3f", title="kink at")])
    fit_chart = alt.layer(piece_layer, curve_layer, kink_layer).properties(
        height=210, title=W("one_layer.fit_title", width=width, seed=seed))
    errs = pd.DataFrame({"width": list(ONE_WIDTHS), "mse": [even[n] for n in ONE_WIDTHS]})
    dots = pd.DataFrame({"width": width, "mse": fits.mse, "seed": list(fits.seeds)})
    ex = alt.X("width:Q", title=W("one_layer.width_axis"), scale=alt.Scale(type="log", domain=[1, 64], nice=False),
               axis=alt.Axis(values=[1, 2, 4, 8, 16, 32, 64]))
    ey = alt.Y("mse:Q", title=W("one_layer.mse_axis"), scale=alt.Scale(type="log"),
               axis=alt.Axis(values=[1e-8, 1e-6, 1e-4, 1e-2, 1.0], format=".0e", grid=True))
    even_line = alt.Chart(errs).mark_line(point=True, color=EVEN_KINKS).encode(
        x=ex, y=ey, tooltip=["width", alt.Tooltip("mse:Q", format=".2e")])
    seed_dots = alt.Chart(dots).mark_circle(size=40, opacity=0.5, color=ONE_RUN).encode(
        x=ex, y=ey, tooltip=["seed:O", alt.Tooltip("mse:Q", format=".2e")])
    mine = alt.Chart(dots[dots["seed"] == seed]).mark_point(size=140, strokeWidth=2, color=KINK_MARK).encode(x=ex, y=ey)
    err_chart = alt.layer(even_line, seed_dots, mine).properties(
        height=210, title=W("one_layer.err_title", n=len(fits.seeds)))
    mean = float(np.mean(fits.mse))
    return [
        Metric(W("one_layer.kinks"), W("one_layer.kinks_value", k=len(inside), n=width),
               help=W("one_layer.kinks_help", seed=seed)),
        Metric(W("one_layer.net_mse"), f"{fits.mse[i]:.2e}", help=W("one_layer.net_mse_help", seed=seed)),
        Metric(W("one_layer.refit_mse"), f"{refit:.2e}", help=W("one_layer.refit_mse_help")),
        Metric(W("one_layer.even_mse"), f"{even[width]:.2e}", help=W("one_layer.even_mse_help", width=width)),
        Columns([[Chart(fit_chart, caption=W("one_layer.fit_caption", width=width, seed=seed, k=len(inside),
                                            steps=ONE_STEPS, lr=ONE_LR))],
                 [Chart(err_chart, caption=W("one_layer.err_caption", n=len(fits.seeds), width=width, mean=mean,
                                            lo=float(fits.mse.min()), hi=float(fits.mse.max()), even=even[width],
                                            factor=mean / even[width]))]]),
    ]


ONE_LAYER_STEP = Step(
    "one_layer",
    controls=(
        LogSlider("width", "Hidden units", ONE_WIDTHS, ONE_SHOWN),
        Select("target", "Function", tuple(ONE_TARGETS), "sine"),
        Select("seed", "Seed drawn", SEEDS, 0, help=W("one_layer.seed_help")),
    ),
    presets=(("2 units", {"width": ONE_NARROW}), ("64 units", {"width": ONE_WIDE}),
             ("Bump, 4 units", {"target": "bump", "width": 4})),
    runs=lambda v: one_layer_sweep(v["target"], v["width"]),
    demo=one_layer_demo, heavy=True, claims=(ONE_WIDE_FITS, ONE_ABOVE_EVEN),
)


# ================================================================ wide versus deep (step 9)

# The spiral (two arms, 1.5 turns each) with 600 training and 1,400 test points: one test point is
# 0.07 percentage points. Full batch, Adam, the same learning rate and number of steps for both nets.
WIDE_DEEP = Experiment(
    data=DataSpec("spiral", n=2000, noise=0.2, train_frac=0.3, val_frac=0.0, test_frac=0.7, seed=0),
    model=ModelSpec(hidden=(8, 8, 8, 8), activation="relu"),
    optim=OptimSpec("adam", lr=0.01),
    train=TrainSpec(steps=300, record_every=10),
    seed=0,
)


def wide_width(depth: int, units: int) -> int:
    """The width of one hidden layer whose parameter count is nearest that of `depth` layers of `units`
    (2 inputs, 1 output: one layer of h units has 4h + 1 parameters)."""
    p = n_params((int(units),) * int(depth), "relu", n_in=2, n_out=1)
    return max(1, round((p - 1) / 4))


def wide_deep_experiments(depth: int = 4, units: int = 8, steps: int = 300, seed: int = 0) -> list[Experiment]:
    """[deep, wide] at one seed: `depth` layers of `units`, and one layer with as many parameters."""
    base = seeded(WIDE_DEEP.replace(train=dict(steps=int(steps), record_every=max(1, int(steps) // 30))), seed)
    return [base.replace(model=dict(hidden=(int(units),) * int(depth))),
            base.replace(model=dict(hidden=(wide_width(depth, units),)))]


def wide_deep_sweep(depth: int = 4, units: int = 8, steps: int = 300) -> list[Experiment]:
    return [e for s in SEEDS for e in wide_deep_experiments(depth, units, steps, s)]


def _deep_vs_wide(r) -> dict:
    _no_diverged(r)
    deep, wide = r
    return {"deep": deep.final["test_metric"], "wide": wide.final["test_metric"],
            "gap": deep.final["test_metric"] - wide.final["test_metric"],
            "ratio": deep.final["train_loss"] / wide.final["train_loss"]}


DEEP_FITS = Claim(
    "deep_fits", experiments=lambda s: wide_deep_experiments(4, 8, 300, s), statistic=_deep_vs_wide,
    holds=lambda v: v["ratio"] < 0.25,
    what="300 steps: 4x8 ReLU net's training loss below a quarter of the 1x62 net's (249 parameters each)")
DEEP_SCORES = Claim(
    "deep_scores", experiments=lambda s: wide_deep_experiments(4, 8, 300, s), statistic=_deep_vs_wide,
    holds=lambda v: v["gap"] > 0,
    what="300 steps: 4x8 ReLU net's test accuracy above the 1x62 net's")
LONG_TIES = Claim(
    "long_ties", experiments=lambda s: wide_deep_experiments(4, 8, 1000, s), statistic=_deep_vs_wide,
    holds=lambda v: abs(v["gap"]) < 0.005,
    what="1000 steps: the two nets' test accuracies within half a point")


def width_depth_demo(values: dict, progress=None) -> list:
    depth, units, steps = int(values["depth"]), int(values["units"]), int(values["steps"])
    wide = wide_width(depth, units)
    results = engine.run_many(wide_deep_sweep(depth, units, steps), progress=progress)
    label = {0: W("width_depth.deep_label", depth=depth, units=units), 1: W("width_depth.wide_label", wide=wide)}
    names = ("deep", "wide")
    out = _diverged_seeds(results, lambda r: names[len(r.config.model.hidden) == 1])
    dots, frames = [], []
    for j, r in enumerate(results):
        kind = names[j % 2]
        if r.diverged:
            continue
        dots.append({"net": kind, "seed": r.config.seed, "test accuracy": r.final["test_metric"]})
        h = r.history[["step", "train_loss"]].copy()
        h["net"], h["seed"] = kind, r.config.seed
        frames.append(h)
    dots = pd.DataFrame(dots, columns=["net", "seed", "test accuracy"])
    acc = {k: dots.loc[dots["net"] == k, "test accuracy"].to_numpy() for k in names}
    pairs = [(results[2 * i], results[2 * i + 1]) for i in range(len(SEEDS))]
    ok = [(d, w) for d, w in pairs if not (d.diverged or w.diverged)]
    ahead = sum(d.final["test_metric"] > w.final["test_metric"] for d, w in ok)
    strip = _seed_chart(dots, "net", "test accuracy", "test accuracy", color="net", colors=DEPTH_COLORS,
                        x_title="", sort=list(names), x_type="N", height=200,
                        title=W("width_depth.strip_title", n=len(SEEDS)))
    charts = [strip]
    if frames:
        curves = finite_rows(pd.concat(frames, ignore_index=True), "train_loss", positive=True)
        charts.append(lesson_charts.seed_curves(curves, "step", "train_loss", color="net", colors=DEPTH_COLORS,
                                                x_title="training step", y_title=W("width_depth.loss_axis"),
                                                log_y=True, height=200, title=W("width_depth.loss_title")))
    p_deep, p_wide = (results[k].meta["n_params"] for k in (0, 1))
    out += [Metric(label[0], f"{p_deep:,}", help=W("width_depth.params_help")),
            Metric(label[1], f"{p_wide:,}", help=W("width_depth.params_help"))]
    for k in names:
        if len(acc[k]):
            out.append(Metric(W(f"width_depth.{k}_acc"), f"{acc[k].mean():.3f}",
                              help=W("width_depth.acc_help", n=len(acc[k]))))
    out.append(Metric(W("width_depth.ahead"), W("width_depth.ahead_value", k=ahead, n=len(ok))))
    caption = W("width_depth.caption", depth=depth, units=units, wide=wide, p_deep=p_deep, p_wide=p_wide,
                steps=steps, n=len(SEEDS))
    out.append(Columns([[Chart(c, caption=caption if c is charts[-1] else "")] for c in charts]))
    return out


WIDTH_DEPTH_STEP = Step(
    "width_depth",
    controls=(
        Slider("depth", "Hidden layers of the deep net", 2, 6, 4, step=1),
        Select("units", "Units per deep layer", (4, 8, 16), 8),
        Select("steps", "Training steps", (300, 1000), 300),
    ),
    presets=(("1000 steps", {"steps": 1000}), ("Narrow: 4 units", {"units": 4}),
             ("2 layers of 16", {"depth": 2, "units": 16})),
    runs=lambda v: wide_deep_sweep(v["depth"], v["units"], v["steps"]),
    demo=width_depth_demo, heavy=True, claims=(DEEP_FITS, DEEP_SCORES, LONG_TIES),
)


# ================================================================ output activations (step 10)

TASKS = ("regression", "binary", "multiclass", "multilabel")
ENGINE_LOSS = {"regression": "mse", "binary": "bce", "multiclass": "softmax_ce", "multilabel": "bce"}


def softmax(z: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Stable softmax of z / T: subtracting the max changes nothing (shift invariance) but avoids overflow."""
    s = z / temperature
    e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def choose(task: str) -> dict:
    """The output layer and loss for a task (the words from the file: `outputs.<task>_activation` etc.)."""
    return {"task": task, "output activation": W(f"outputs.{task}_activation"),
            "output units": W(f"outputs.{task}_units"), "loss": W(f"outputs.{task}_loss"),
            "the outputs mean": W(f"outputs.{task}_means"), "engine loss (auto)": ENGINE_LOSS[task],
            "hidden layers": W("outputs.hidden")}


def outputs_worked() -> dict:
    """The worked numbers of step *Output activations*: softmax and sigmoids of the logits (2, 1, −1)."""
    z = torch.tensor([2.0, 1.0, -1.0], dtype=torch.float64)
    p, sig = softmax(z), torch.sigmoid(z)
    e = torch.exp(z)
    return {**{f"e{i}": float(v) for i, v in enumerate(e, 1)}, "e_sum": float(e.sum()),
            **{f"p{i}": float(v) for i, v in enumerate(p, 1)},
            **{f"s{i}": float(v) for i, v in enumerate(sig, 1)}, "s_sum": float(sig.sum())}


def outputs_demo(values: dict, progress=None) -> list:
    z = torch.tensor([values["z1"], values["z2"], values["z3"]], dtype=torch.float64)
    c, T = values["shift"], values["temperature"]
    p = softmax(z, T)
    p_shift = softmax(z + c, T)
    sig = torch.sigmoid(z)
    classes = ["class 1", "class 2", "class 3"]
    df = pd.concat([
        pd.DataFrame({"output": classes, "value": p.numpy(), "activation": f"softmax (T = {T:g})"}),
        pd.DataFrame({"output": classes, "value": sig.numpy(), "activation": "sigmoid per label"}),
    ])
    kinds = [f"softmax (T = {T:g})", "sigmoid per label"]
    bars = alt.Chart(df).mark_bar().encode(
        x=alt.X("output:N", title=None, axis=alt.Axis(labelAngle=0)), xOffset="activation:N",
        y=alt.Y("value:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=kinds, range=[SOFTMAX_BARS, ACTIVATION_COLORS["sigmoid"]])),
        tooltip=["output", "activation", alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=240, width=460)
    gap = float((p - p_shift).abs().max())
    sig_gap = float((torch.sigmoid(z + c) - sig).abs().max())
    pick = choose(values["task"])
    out = [
        Metric(W("outputs.sum_softmax"), f"{float(p.sum()):.6f}"),
        Metric(W("outputs.sum_sigmoid"), f"{float(sig.sum()):.3f}", help=W("outputs.sum_sigmoid_help")),
        Metric(W("outputs.d_softmax"), f"{gap:.1e}", help=W("outputs.d_softmax_help", c=c)),
        Metric(W("outputs.d_sigmoid"), f"{sig_gap:.3f}", help=W("outputs.d_sigmoid_help", c=c)),
        Chart(bars, caption=W("outputs.caption", z1=values["z1"], z2=values["z2"], z3=values["z3"], T=T,
                              p=", ".join(f"{v:.3f}" for v in p.tolist()), p_sum=float(p.sum()),
                              sig=", ".join(f"{v:.3f}" for v in sig.tolist()), sig_sum=float(sig.sum()))),
        Markdown(W("outputs.which", task=values["task"])),
        Table(pd.DataFrame({"choice": list(pick.keys())[1:], "": list(pick.values())[1:]}).set_index("choice")),
    ]
    return out


OUTPUTS_STEP = Step(
    "outputs",
    controls=(
        Slider("z1", "Logit z₁", -6.0, 6.0, 2.0, step=0.5),
        Slider("z2", "Logit z₂", -6.0, 6.0, 1.0, step=0.5),
        Slider("z3", "Logit z₃", -6.0, 6.0, -1.0, step=0.5),
        Slider("shift", "Add c to every logit", -10.0, 10.0, 0.0, step=1.0),
        LogSlider("temperature", "Softmax temperature T", (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0), 1.0),
        Select("task", "Task", TASKS, "multiclass"),
    ),
    presets=(("Shift +10", {"shift": 10.0}),
             ("Hot: T = 5", {"temperature": 5.0}),
             ("Cold: T = 0.25", {"temperature": 0.25})),
    demo=outputs_demo, worked_values=outputs_worked,
)


# ================================================================ check yourself (step 11)

CHECK_STEP = Step("check", claims=(QUIZ_LEAK, QUIZ_LR, QUIZ_MONITOR, QUIZ_PRELU))


LESSON = W.lesson(
    id="relu_family",
    number=2,
    steps=(DYING_STEP, MONITOR_STEP, FAMILY_STEP, SLOPES_STEP, CRELU_STEP, RERUN_STEP, BOUNDARIES_STEP, ONE_LAYER_STEP,
           WIDTH_DEPTH_STEP, OUTPUTS_STEP, CHECK_STEP),
    references=("Xu et al. 2015", "He et al. 2015", "Shang et al. 2016", "Clevert et al. 2015",
                "Hendrycks & Gimpel 2016"),
)
