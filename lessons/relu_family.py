"""Lesson 2: the ReLU family and output activations.

What ReLU fixes (no saturation for x > 0), what it breaks (units that output 0 on every input and,
under plain gradient descent, never learn again), the variants that repair it (Leaky ReLU, PReLU,
RReLU, CReLU, ELU and the smooth GELU / SiLU / softplus), a re-run of the comparison of Xu et al.
2015 on scikit-learn's digits, piecewise-linear versus smooth decision boundaries, and how to pick
the output activation and loss.

References: Xu et al. 2015 (leaky and randomized ReLU, the CIFAR table), He et al. 2015 (PReLU),
Shang et al. 2016 (CReLU), Clevert et al. 2015 (ELU), Hendrycks & Gimpel 2016 (GELU).

Every comparison a note or quiz states is a `Claim` measured over ten seeds (init and data seed
together); the notes quote the evidence through placeholders, the demos show every seed, and
tests/lessons/test_claims.py retrains the claims with the cache off. Captions state numbers of the
runs they show. `experiments()` lists the runs behind every default view and preset;
`registry.experiments_of("relu_family")` adds the claims' sweeps, for engine.precompute.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import engine
from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec
from engine import activations as A
from engine import data as D
from lessons import charts as lesson_charts
from lessons.claims import SEEDS, Claim
from lessons.theme import ACTIVATION_COLORS, color_scale
from lessons.walkthrough import (
    Chart,
    Latex,
    Lesson,
    LogSlider,
    Markdown,
    Metric,
    Note,
    Question,
    Select,
    Slider,
    Step,
    Table,
    Toggle,
)

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


def _dropna(df: pd.DataFrame) -> pd.DataFrame:
    return df.replace([np.inf, -np.inf], np.nan).dropna()


# ================================================================ step 1: the family


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


def curve(name: str, x: torch.Tensor, slope: float = 0.01, alpha: float = 1.0):
    """(f(x), f'(x)) by the engine's own code; CReLU's f is its first half, max(0, x)."""
    y = A.apply(name, x, **act_kwargs(name, slope, alpha))
    if name == "crelu":
        y = y[..., : x.shape[-1]]
    return y, A.derivative(name, x, **act_kwargs(name, slope, alpha))


KERNELS = {  # PyTorch's own kernels: what a library user pays (the engine writes some out by hand)
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01), "prelu": lambda x: F.prelu(x, torch.tensor([0.25])),
    "rrelu": lambda x: F.rrelu(x, training=True), "crelu": lambda x: torch.cat([torch.relu(x), torch.relu(-x)], -1),
    "elu": F.elu, "relu6": F.relu6, "gelu": F.gelu, "silu": F.silu, "softplus": F.softplus,
}


@lru_cache(maxsize=1)
def _timings(n: int = 1 << 19, rounds: int = 15, budget_s: float = 0.4) -> tuple[dict, float]:
    """(cost relative to ReLU, busy factor). The kernels take turns within each round, so a burst of
    load from elsewhere hits all of them alike, and each keeps its fastest round; rounds stop after
    `budget_s` seconds (at least 3). The busy factor is the largest ratio of a kernel's median round
    to its fastest: near 1 on a quiet machine, large when other processes kept taking the CPU."""
    x = torch.randn(n, generator=torch.Generator().manual_seed(0))
    for name in FAMILY:  # warm-up: thread pool, allocator, first-call dispatch
        KERNELS[name](x)
    seen = {name: [] for name in FAMILY}
    start = time.perf_counter()
    for r in range(rounds):
        for name in FAMILY:
            t0 = time.perf_counter()
            KERNELS[name](x)
            seen[name].append(time.perf_counter() - t0)
        if r >= 2 and time.perf_counter() - start > budget_s:
            break
    best = {k: min(v) for k, v in seen.items()}
    spread = max(float(np.median(v)) / best[k] for k, v in seen.items())
    return {k: v / best["relu"] for k, v in best.items()}, spread


def compute_cost() -> dict:
    """Time of each activation (PyTorch's kernel, float32, 2^19 elements, forward only) relative to
    ReLU, measured once per process on this machine."""
    return _timings()[0]


compute_cost.cache_clear = _timings.cache_clear  # measure again (tests)


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
    cost = compute_cost()
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
            "saturates": {(True, True): "both sides", (True, False): "x → −∞",
                          (False, True): "x → +∞", (False, False): "never"}[(flat_left, flat_right)],
            "f'(0)": round(d[3], 3),
            "f'(x<0)": neg,
            "cost ×ReLU": round(cost[name], 2),
        })
    return pd.DataFrame(rows).set_index("activation")


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
                                    "activation": act, "part": "max(0, x)" if act == "crelu" else "f"}))
        if act == "crelu":  # CReLU's second half: the mirrored ReLU
            frames.append(pd.DataFrame({"x": x.numpy(), "f": torch.relu(-x).numpy(), "df": np.nan,
                                        "activation": act, "part": "max(0, −x)"}))
    df = pd.concat(frames, ignore_index=True)
    colour = alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom"),
                       scale=color_scale(ACTIVATION_COLORS, list(dict.fromkeys([name, other]))))
    dash = alt.StrokeDash("part:N", title="part", scale=alt.Scale(domain=["f", "max(0, x)", "max(0, −x)"],
                                                                  range=[[1, 0], [1, 0], [6, 4]]), legend=None)
    base = alt.Chart(df).properties(width=250, height=250)
    f = base.mark_line().encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("f:Q", title="f(x)", scale=alt.Scale(domain=[-3, 5], clamp=True)),
        color=colour, strokeDash=dash, detail="part:N").properties(title="the function")
    d = base.transform_filter("isValid(datum.df)").mark_line().encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("df:Q", title="f'(x)", scale=alt.Scale(domain=[-0.5, 1.5], clamp=True)),
        color=colour).properties(title="its derivative")
    props = properties(slope, alpha).copy()
    out = [Latex(A.FORMULAS[name])]
    if name == "leaky_relu" or other == "leaky_relu":
        a = values["a"]
        if values["convention"] == "a*x":
            out.append(Latex(rf"a\cdot x:\quad f(x) = {a:g}\,x \text{{ for }} x \le 0"
                             rf"\ \Rightarrow\ \text{{slope }} {slope:.4g}"))
        else:
            out.append(Latex(rf"x/a:\quad f(x) = x / {a:g} \text{{ for }} x \le 0"
                             rf"\ \Rightarrow\ \text{{slope }} 1/{a:g} = {slope:.4g}"))
        if slope > 1:
            out.append(Note(f"With this choice the negative side has slope {slope:.3g} > 1: negative inputs are "
                            "amplified, not damped. That is no longer a leaky ReLU; in the other convention the "
                            "same a would give a slope below 1.", "warning"))
    out.append(Chart(alt.hconcat(f, d).resolve_scale(color="shared"),
                     caption=f"{NAMES[name]} (and {NAMES[other]} for comparison) and the derivative autograd finds "
                             "through the engine's own implementation. Leaky slope "
                             f"{slope:.4g}, ELU α = {alpha:g}; RReLU drawn in evaluation mode (mean slope)."))
    busy = _timings()[1]
    if busy > 2:
        out.append(Note(f"Other programs were using the CPU while the costs were timed (a kernel's typical timing "
                        f"was {busy:.1f}× its fastest), so the cost column may be off.", "warning"))
    out.append(Table(props, caption="Measured, not typed in: ranges, saturation (f' below 0.001 at ±30) and "
                                    "derivatives from the functions on a grid; zero-centred means a mean output below "
                                    "0.05 in size for x ~ N(0, 1), the mean in brackets "
                                    "(float64; f'(0) is the value autograd uses at the kink); cost is the time "
                                    "of PyTorch's "
                                    "kernel for each activation on 524,288 floats on this machine, relative to "
                                    "ReLU (forward pass, fastest of up to 15 rounds; RReLU in training mode, so it "
                                    "includes drawing its random slopes)."))
    return out


# ================================================================ step 2: dying ReLU

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


def _diverged_seeds(results, label) -> list:
    """One error note per model that diverged in some seeds (not one per run)."""
    out, by = [], {}
    for r in results:
        if r.diverged:
            by.setdefault(label(r), []).append(r)
    for name, rs in by.items():
        first = min(r.meta["diverged_at"] for r in rs)
        seeds = ", ".join(str(r.config.seed) for r in rs)
        out.append(Note(f"**{name} diverged** in {len(rs)} of {len(SEEDS)} seeds (seed(s) {seeds}; the earliest at "
                        f"step {first}): the loss became NaN or infinite, so those runs stopped there. Their curves "
                        "end at that step and they have no final accuracy. Lower the learning rate to get runs that "
                        "finish.", "error"))
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
    df = _dropna(pd.concat(frames, ignore_index=True))
    colour = alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom"),
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
        one = alt.Chart(relu[relu["seed"] == seed]).mark_line(strokeWidth=1.5, color="#000000").encode(
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
        out += [Metric("ReLU dead", f"{np.mean(relu_dead):.0%} ± {sd:.0%}",
                       help=f"at the end, mean over the three hidden layers; mean ± sd over {len(relu_ok)} seeds"),
                Metric("Layer 1 revived", f"{sum(dips(r, 1) > 0 for r in relu_ok)} of {len(relu_ok)} seeds",
                       help="seeds in which the ReLU net's layer-1 dead fraction fell at some step")]
    if leaky_ok:
        out.insert(len(out) - 1 if relu_ok else len(out),
                   Metric("Leaky ReLU dead", pct(max(ever_dead(r) for r in leaky_ok)),
                          help=f"the most in any layer, step and seed ({len(leaky_ok)} seeds)"))
    out.append(Chart(chart, caption=(
        f"Moons (180 training points, 1,760 test points), 3 hidden layers of 32 units, {values['optimizer']} with "
        f"learning rate {values['lr']:g}, hidden biases start at {values['bias']:g}; {len(SEEDS)} seeds (each a "
        "new initialisation and a new draw of the data). A unit counts as dead when it outputs exactly 0 for every "
        "training input. Thick lines: mean over seeds per activation; thin lines: each seed's ReLU net; black: "
        f"seed {seed}'s ReLU net, one run." + (" Diverged runs end where the loss blew up; the means leave them out."
                                              if any(r.diverged for r in results) else ""))))
    out.append(Table(pd.DataFrame(rows).set_index("activation"),
                     caption=f"At the last step: dead fractions as the mean over the seeds, test accuracy (1,760 "
                             f"points) as mean ± sd, and seed {seed} on its own."))
    return out


# ================================================================ step 3: learned and random slopes

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
        out.append(Note(f"The lower bound was above the upper one; showing U({lower:.3g}, {upper:.3g}) instead.",
                        "warning"))
    results = engine.run_many([prelu_experiment(init, s) for s in SEEDS], progress=progress)
    out += _diverged_seeds(results, lambda r: "The PReLU network")
    ok = [r for r in results if not r.diverged]
    frames = []
    for r in results:
        sl = _dropna(r.long("prelu_slope"))
        sl["layer"], sl["seed"] = "layer " + sl["layer"].astype(str), r.config.seed
        frames.append(sl)
    sl = pd.concat(frames, ignore_index=True)
    prelu_chart = lesson_charts.seed_curves(sl, "step", "prelu_slope", color="layer", x_title="training step",
                                            y_title="mean slope a", height=190)
    ends = np.array([slope_ends(r) for r in ok]) if ok else np.full((1, 3), np.nan)
    neg = [float(np.mean(prelu_slopes(r) <= 0)) for r in ok] or [np.nan]
    x, y_tr, y_ev = rrelu_draws(lower, upper)
    neg_x = x < 0
    slopes = (y_tr[neg_x] / x[neg_x]).numpy()
    mean_slope = (lower + upper) / 2
    modes = ["training (random slope)", "evaluation (mean slope)"]
    pts = pd.DataFrame({"x": x.numpy(), modes[0]: y_tr.numpy(), modes[1]: y_ev.numpy()})
    pts_long = pts.melt("x", var_name="mode", value_name="y")
    rr = alt.Chart(pts_long).encode(x=alt.X("x:Q"), y=alt.Y("y:Q", title="RReLU(x)"),
                                    color=alt.Color("mode:N", title=None, legend=alt.Legend(orient="bottom"),
                                                    scale=alt.Scale(domain=modes, range=[
                                                        ACTIVATION_COLORS["rrelu"], "#000000"])))
    rr_chart = alt.layer(rr.transform_filter(alt.datum.mode == modes[0]).mark_point(size=18, opacity=0.6),
                         rr.transform_filter(alt.datum.mode == modes[1]).mark_line(strokeWidth=2)
                         ).properties(height=210, title="RReLU: one forward pass")
    n = len(ends)
    sd = ends.std(0, ddof=1) if n > 1 else np.zeros(ends.shape[1])
    out.append(Metric("a, layer 1", f"{ends[:, 0].mean():.3f}",
                      help=f"PReLU's mean learned slope in layer 1 (from {init:g}), mean of {n} seeds "
                           f"(sd {sd[0]:.3f})"))
    out.append(Metric(f"a, layer {ends.shape[1]}", f"{ends[:, -1].mean():.3f}",
                      help=f"PReLU's mean learned slope in layer {ends.shape[1]} (from {init:g}), mean of {n} seeds "
                           f"(sd {sd[-1]:.3f})"))
    out.append(Metric("a ≤ 0", f"{np.mean(neg):.0%}", help=f"PReLU units whose slope ended at or below 0, mean of "
                                                          f"{n} seeds"))
    out.append(Metric("RReLU train", f"{slopes.min():.2f}…{slopes.max():.2f}", help="range of the random slopes drawn"))
    out.append(Metric("RReLU eval", f"{mean_slope:.3f}", help="the fixed mean slope (l + u)/2"))
    accs = [r.final["test_metric"] for r in ok]
    test_acc = f"{np.mean(accs):.3f}" if accs else "diverged"
    out += [
        Chart(prelu_chart, caption=(
            f"PReLU's learned slopes. Digits, 3 PReLU layers of 32 units, slopes start at {init:g}; thin lines: each "
            f"of {len(SEEDS)} seeds (a "
            "new split and initialisation), thick: their mean. Mean learned slope per layer at the end, mean of the "
            "seeds: " + ", ".join(f"layer {i + 1} {e:.3f}" for i, e in enumerate(ends.mean(0)))
            + f". Mean test accuracy {test_acc}.")),
        Chart(rr_chart, caption=(
            f"Each negative input gets its own slope from U({lower:.3g}, {upper:.3g}) while training: here from "
            f"{slopes.min():.3f} to {slopes.max():.3f} (mean {slopes.mean():.3f}). In evaluation every negative "
            f"input uses the mean slope (l + u)/2 = {mean_slope:.3f}, so the network is deterministic.")),
    ]
    return out


# ================================================================ step 4: CReLU

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
    colours = {order[0]: ACTIVATION_COLORS["relu"], order[1]: ACTIVATION_COLORS["crelu"], order[2]: "#003B5C"}
    chart = _seed_chart(pd.DataFrame(dots, columns=["model", "seed", "test accuracy"]), "model", "test accuracy",
                        "test accuracy", color="model", colors=colours, x_title="", sort=order, x_type="N",
                        height=200)
    beat = sum(results[k + i].final["test_metric"] > results[i].final["test_metric"]
               for i in range(k) if not (results[k + i].diverged or results[i].diverged))
    p = table["parameters"].tolist()
    acc = table["test accuracy"].tolist()
    out = _diverged_seeds(results, lambda r: NAMES[r.config.model.activation])
    out += [Metric(f"ReLU {width}", f"{p[0]:,}", help=f"parameters of ReLU with {width} units per layer"),
            Metric(f"CReLU {width}", f"{p[1]:,}", delta=f"+{p[1] - p[0]:,}",
                   help=f"parameters of CReLU with {width} units per layer (same units as ReLU)"),
            Metric(f"ReLU {2 * width}", f"{p[2]:,}", help=f"parameters of ReLU with {2 * width} units per layer"),
            Metric("CReLU wins", f"{beat} of {k} seeds", help=f"seeds where CReLU {width} beat ReLU {width} on test "
                                                               "accuracy")]
    out.append(Chart(chart, caption=(
        f"Digits, {depth} hidden layer(s), test accuracy on 719 points: each dot one of {k} seeds (a new split and "
        "initialisation), the line the mean, the bar ± 1 sd. The metrics count parameters.")))
    out.append(Table(table.set_index("model").round(3), caption=(
        f"Means of {k} seeds. CReLU with {width} units per layer passes "
        f"{2 * width} values on, so it has {p[1]:,} parameters against {p[0]:,} for ReLU with the same units and "
        f"{p[2]:,} for ReLU with twice the units. Mean test accuracy: {acc[0]:.3f}, {acc[1]:.3f} and {acc[2]:.3f}.")))
    return out


# ================================================================ step 5: the re-run

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


def rerun_verdict(summary: pd.DataFrame, seeds: int) -> str:
    s = summary.dropna(subset=["test error"])
    best, worst = s.loc[s["test error"].idxmin()], s.loc[s["test error"].idxmax()]
    gap = worst["test error"] - best["test error"]
    sd = float(s["test error sd"].max())
    text = (f"Over {seeds} seed(s), lowest mean test error: {best['activation']} ({best['test error']:.2%}); highest: "
            f"{worst['activation']} ({worst['test error']:.2%}), a gap of {100 * gap:.2f} percentage points. ")
    if seeds < 2:
        return text + "With one seed there is no spread to compare the gap with: add seeds before reading a ranking."
    if gap <= 2 * sd:
        text += (f"The largest seed-to-seed standard deviation is {sd:.2%}, so the gap is within about two standard "
                 "deviations of the noise: this re-run does not separate the variants.")
    else:
        text += (f"The largest seed-to-seed standard deviation is {sd:.2%}; the gap is larger than two of them, "
                 "a hint of a real difference on this small problem.")
    tr = float(s["train error"].max())
    if tr == 0:
        text += " Every variant fits its training set perfectly (training error 0.00%),"
    else:
        text += f" The highest mean training error is {tr:.2%},"
    text += (" so there is no room to see the effect Xu et al. reported: RReLU ended with a higher training error "
             "than PReLU on both CIFAR sets yet a lower test error, which they read as less overfitting.")
    return text


def rerun_demo(values: dict, progress=None) -> list:
    seeds, width = int(values["seeds"]), int(values["width"])
    results = engine.run_many(rerun_experiments(seeds, width), progress=progress)
    summary = rerun_summary(results, seeds)
    order = [v[0] for v in VARIANTS]
    dots = pd.DataFrame([{"activation": VARIANTS[j][0], "seed": r.config.seed, "test error": 1 - r.final["test_metric"]}
                         for j in range(len(VARIANTS)) for r in results[j * seeds:(j + 1) * seeds] if not r.diverged],
                        columns=["activation", "seed", "test error"])
    colours = {label: ACTIVATION_COLORS.get(act, "#777777") for label, act, _ in VARIANTS}
    chart = _seed_chart(dots, "activation", "test error", "test error", angle=-25, label_limit=160,
                        color="activation", colors=colours, x_title="", sort=order, x_type="N", height=200)
    ours = summary[["activation", "train error", "test error", "test error sd"]].copy()
    for c in ("train error", "test error", "test error sd"):
        ours[c] = ours[c].map(lambda v: f"{v:.2%}")
    out = _diverged_seeds(results, lambda r: NAMES[r.config.model.activation])
    out += [
        Table(XU_TABLE.set_index("activation").map(lambda v: f"{v:.2%}"), caption=(
            "Xu et al. 2015, Network in Network on CIFAR-10 and CIFAR-100: error rates (their tables 3 and 4), one "
            "number per cell as published. Leaky a is in the x/a convention; RReLU tests with x / ((l+u)/2) = "
            "x / 5.5.")),
        Chart(chart, caption=(
            f"Our re-run: digits, MLP with 2 hidden layers of {width} units, Adam, 300 steps; test error on 719 "
            f"points. Each dot is one of {seeds} seed(s) (a new split and initialisation), the line the mean, the "
            "bar ± 1 sd.")),
        Table(ours.set_index("activation"), caption=f"Our re-run: mean error and its standard deviation over {seeds} "
                                                    "seed(s)."),
    ]
    out.append(Note(rerun_verdict(summary, seeds), "info"))
    return out


# ================================================================ step 6: boundaries

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
                        x_title="", x_type="N", height=170, width=70, title=f"{len(SEEDS)} seeds")
    panels, rows = [], []
    for a in ("relu", "tanh"):
        a_acc = acc[a]
        rows.append({"model": f"ours (Adam, 1000 steps, L2 0.003), {NAMES[a]}: mean ± sd of {len(a_acc)} seeds",
                     "test accuracy": f"{a_acc.mean():.3f} ± {a_acc.std(ddof=1) if len(a_acc) > 1 else 0:.3f}"
                     if len(a_acc) else "diverged", "training time (s)": ""})
    for r in runs:
        act = r.config.model.activation
        if r.diverged:
            continue
        t_acc = r.final["test_metric"]
        rows.append({"model": f"ours, {NAMES[act]}: seed {seed}, one run", "test accuracy": f"{t_acc:.3f}",
                     "training time (s)": f"{r.meta['wall_time']:.3f}"})
        if r.snapshots is not None:
            panels.append(lesson_charts.decision_surface(
                r.snapshots[-1], r.meta["extent"], drawn, f"ours {NAMES[act]} · acc {t_acc:.3f}", width=180,
                height=170, legend=not panels))
    rows_charts = [alt.hconcat(*panels, strip)] if panels else [strip]
    if values["sklearn"]:
        sk = []
        for act in ("relu", "tanh"):
            p, s_acc, secs, train_acc = sklearn_boundary(act, layers, seed)
            rows.append({"model": f"scikit-learn MLPClassifier (lbfgs), {NAMES[act]}: seed {seed}, one run",
                         "test accuracy": f"{s_acc:.3f}", "training time (s)": f"{secs:.3f}"})
            sk.append(lesson_charts.decision_surface(p, split.extent(), drawn, f"sklearn {NAMES[act]} · acc "
                                                     f"{s_acc:.3f}", width=180, height=170, legend=False))
        rows_charts.append(alt.hconcat(*sk))
    out.append(Chart(alt.vconcat(*rows_charts), caption=(
        f"Moons (noise 0.25), 75 training points and 1,925 test points, {layers} hidden layer(s) of 10 units. "
        f"Surfaces: seed {seed}, one run each; the background is the predicted probability of class 1 (blue near 0, "
        f"orange near 1, pale where unsure); circles are training points, triangles the first {SHOWN_TEST} test "
        f"points; acc is accuracy on all test points. Right: test accuracy of our engine's nets over {len(SEEDS)} "
        "seeds (each a new draw of the data and initialisation): dots are seeds, the line the mean, the bar ± 1 sd.")))
    if len(acc["relu"]) and len(acc["tanh"]):
        out.append(Metric("ReLU test accuracy", f"{acc['relu'].mean():.3f}", help=f"mean of {len(acc['relu'])} seeds"))
        out.append(Metric("tanh test accuracy", f"{acc['tanh'].mean():.3f}", help=f"mean of {len(acc['tanh'])} seeds"))
    out.append(Table(pd.DataFrame(rows).set_index("model"), caption=(
        "Test accuracy on 1,925 points, so one point is 0.05 percentage points. Times are wall-clock seconds of "
        "one training run as it was measured (ours: the engine's stacked pass, possibly precomputed; "
        "scikit-learn: fitted in this session).")))
    return out


# ================================================================ step 7: output activations

TASKS = ("regression", "binary", "multiclass", "multilabel")
CHOICE = {
    "regression": ("identity (no activation)", "1 per target", "mean squared error (or MAE)",
                   "any real value: do not squash it", "mse"),
    "binary": ("sigmoid", "1", "binary cross-entropy (logistic loss)",
               "P(class 1) in (0, 1)", "bce"),
    "multiclass": ("softmax", "k (one per class)", "softmax cross-entropy",
                   "k probabilities that sum to 1: exactly one class is true", "softmax_ce"),
    "multilabel": ("sigmoid on each label", "k (one per label)", "binary cross-entropy per label, summed",
                   "k independent probabilities: any number of labels can be true", "bce"),
}


def softmax(z: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Stable softmax of z / T: subtracting the max changes nothing (shift invariance) but avoids overflow."""
    s = z / temperature
    e = torch.exp(s - s.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def smoothed_targets(k: int, eps: float, true: int = 0, convention: str = "eps/(k-1)") -> np.ndarray:
    """Label-smoothed targets. Two conventions are in use:

    - "eps/(k-1)" (this course, seed 001, and the engine's RegSpec.label_smoothing): 1 - eps for the true
      class, eps / (k - 1) for each other one;
    - "eps/k" (PyTorch's CrossEntropyLoss(label_smoothing=eps), Keras): the one-hot target mixed with the
      uniform distribution, (1 - eps) * onehot + eps / k, so the true class gets 1 - eps + eps / k.
    Both rows sum to 1; at the same eps the second puts less weight on the wrong classes."""
    if convention == "eps/(k-1)":
        t = np.full(k, eps / (k - 1))
        t[true] = 1 - eps
    elif convention == "eps/k":
        t = np.full(k, eps / k)
        t[true] = 1 - eps + eps / k
    else:
        raise ValueError(f"unknown convention {convention!r}")
    return t


def choose(task: str) -> dict:
    act, units, loss, means, engine_loss = CHOICE[task]
    return {"task": task, "output activation": act, "output units": units, "loss": loss,
            "the outputs mean": means, "engine loss (auto)": engine_loss,
            "hidden layers": "ReLU family (ReLU, Leaky ReLU; ELU / GELU also common), whatever the task"}


def outputs_demo(values: dict, progress=None) -> list:
    z = torch.tensor([values["z1"], values["z2"], values["z3"]], dtype=torch.float64)
    c, T, eps = values["shift"], values["temperature"], values["eps"]
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
                        scale=alt.Scale(domain=kinds, range=["#0072B2", ACTIVATION_COLORS["sigmoid"]])),
        tooltip=["output", "activation", alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=240, width=460)
    gap = float((p - p_shift).abs().max())
    sig_gap = float((torch.sigmoid(z + c) - sig).abs().max())
    pick = choose(values["task"])
    k = 3
    course, torch_ = smoothed_targets(k, eps), smoothed_targets(k, eps, convention="eps/k")
    smooth = pd.DataFrame({"target": ["one-hot (true class 1)", f"ε/(k−1), ε = {eps:g} (this course)",
                                      f"ε/k, ε = {eps:g} (PyTorch, Keras)"],
                           **{c_: [1.0 if i == 0 else 0.0, round(float(course[i]), 4), round(float(torch_[i]), 4)]
                              for i, c_ in enumerate(classes)}})
    out = [
        Metric("Σ softmax", f"{float(p.sum()):.6f}"),
        Metric("Σ sigmoids", f"{float(sig.sum()):.3f}", help="independent probabilities need not sum to 1"),
        Metric("Δ softmax", f"{gap:.1e}", help=f"max |softmax(z + c) − softmax(z)| for c = {c:g}"),
        Metric("Δ sigmoid", f"{sig_gap:.3f}", help=f"max |σ(z + c) − σ(z)| for c = {c:g}"),
        Chart(bars, caption=(
                f"Logits z = ({values['z1']:g}, {values['z2']:g}, {values['z3']:g}). Softmax at temperature {T:g} "
                f"gives {', '.join(f'{v:.3f}' for v in p.tolist())} (sum {float(p.sum()):.3f}); the sigmoids give "
                f"{', '.join(f'{v:.3f}' for v in sig.tolist())} (sum {float(sig.sum()):.3f}).")),
        Markdown(f"**Which output for a {values['task']} task?**"),
        Table(pd.DataFrame({"choice": list(pick.keys())[1:], "": list(pick.values())[1:]}).set_index("choice")),
        Table(smooth.set_index("target"), caption=(
            f"Label smoothing with k = {k}, in both conventions. This course (and seed 001): the true class gets "
            f"1 − ε = {1 - eps:g}, each other class ε/(k−1) = {eps / (k - 1):.4g}. PyTorch's "
            f"CrossEntropyLoss(label_smoothing=ε) and Keras mix the one-hot target with the uniform one: every class "
            f"gets ε/k = {eps / k:.4g} and the true class 1 − ε + ε/k = {1 - eps + eps / k:.4g}. Each row sums to "
            "1; the same ε means a little less smoothing in the second convention.")),
    ]
    return out


# ================================================================ the lesson

STEPS = (
    Step(
        id="family", title="The family",
        narrative=(
            "ReLU replaced the sigmoid in hidden layers for one reason: for positive inputs its slope is exactly "
            "1, so a gradient crossing many ReLU layers is not shrunk layer by layer. For negative inputs it "
            "outputs 0 with slope 0, and most of its relatives differ only in what they do there: a small fixed "
            "slope (Leaky ReLU), a learned one (PReLU), a random one (RReLU), an exponential curve (ELU), or a "
            "smooth blend (GELU, SiLU, softplus). ReLU6 also caps the positive side, and CReLU keeps both signs "
            "by returning two numbers per unit.\n\n"
            "Two conventions for Leaky ReLU meet in the course material. Libraries write the negative side as "
            "`a * x` with a small a (PyTorch's default is 0.01). The slides and Xu et al. 2015 write it as "
            "`x / a` with a large a: a = 100 is the same slope 0.01, and a = 5.5 is a slope of about 0.18."),
        equations=(r"\mathrm{LReLU}_{a\cdot x}(x) = \begin{cases} x & x > 0 \\ a\,x & x \le 0 \end{cases}"
                   r"\qquad \mathrm{LReLU}_{x/a}(x) = \begin{cases} x & x > 0 \\ x / a & x \le 0 \end{cases}",
                   r"a_{x/a} = 100 \;\Leftrightarrow\; \text{slope } 0.01, \qquad "
                   r"a_{x/a} = 5.5 \;\Leftrightarrow\; \text{slope } 1/5.5 \approx 0.182"),
        controls=(
            Select("activation", "Activation", FAMILY, "leaky_relu"),
            Select("compare", "Compare with", FAMILY, "relu"),
            Select("convention", "Leaky ReLU written as", ("x/a", "a*x"), "x/a",
                   help="x/a: the slides and Xu et al. 2015; a*x: PyTorch, Keras, most libraries"),
            LogSlider("a", "Leaky parameter a", A_OPTIONS, 5.5),
            Slider("alpha", "ELU α", 0.1, 3.0, 1.0, step=0.1),
        ),
        presets=(
            ("a = 5.5 (x/a)", {"activation": "leaky_relu", "convention": "x/a", "a": 5.5}),
            ("a = 100 (x/a)", {"activation": "leaky_relu", "convention": "x/a", "a": 100.0}),
            ("a = 0.01 (a·x)", {"activation": "leaky_relu", "convention": "a*x", "a": 0.01}),
            ("ELU vs ReLU", {"activation": "elu", "compare": "relu", "alpha": 1.0}),
            ("GELU vs SiLU", {"activation": "gelu", "compare": "silu"}),
        ),
        demo=family_demo,
        notice=(
            "- Every member has slope 1 far to the right (except the bounded sigmoid, tanh and ReLU6): that is "
            "what keeps gradients alive through depth.\n"
            "- On the left the derivative is 0 for ReLU (and ReLU6), a constant for Leaky ReLU and RReLU in "
            "evaluation, and a curve fading to 0 for ELU, GELU, SiLU and softplus.\n"
            "- a = 100 in `x/a` and a = 0.01 in `a*x` draw the same line; a = 5.5 in `x/a` leaks eighteen times "
            "more.\n"
            "- The cost column is timed on this machine when the page loads, one measurement, not a property of "
            "the functions: memory traffic dominates such simple kernels on a CPU, and the ratios change from "
            "machine to machine. What is structural: RReLU in training draws a random number per input, and "
            "CReLU writes two outputs per input."),
        question=Question(
            "The slides write Leaky ReLU as x / a for x < 0 with a = 5.5. What is that in PyTorch's "
            "`negative_slope` convention?",
            ("negative_slope = 5.5", "negative_slope ≈ 0.18", "negative_slope = 0.01"), answer=1,
            explanations=("That would multiply negative inputs by 5.5: a slope above 1, not a leak.",
                          "Dividing by 5.5 multiplies by 1/5.5 ≈ 0.182.",
                          "0.01 corresponds to a = 100 in the x / a convention.")),
    ),
    Step(
        id="dying", title="Dying ReLU",
        narrative=(
            "A ReLU unit whose pre-activation is negative for every input outputs 0 for every input. Its slope "
            "there is 0 too, so the error signal that reaches its weights and bias is 0 on every example: "
            "gradient descent has nothing to move them with. Such a unit is **dead**. In the first hidden layer "
            "its inputs are the fixed data, so under plain gradient descent it stays dead for good. Two things "
            "can still wake a unit: in deeper layers the outputs of earlier layers keep changing, and an "
            "optimizer with momentum (Adam, here) keeps moving the weights on their old velocity for a while "
            "after the gradient has vanished.\n\n"
            "What kills units? Large updates: a big learning rate can push a bias or the weights so far that the "
            "unit never fires again. A negative bias at initialisation does the same on purpose. (Momentum cannot "
            "revive a unit that was dead from the first step: it never had a gradient to build momentum from.) "
            "Below, four networks that differ only in their hidden activation are trained with the same aggressive "
            "settings, each from ten seeds; the chart follows the fraction of dead units in each layer."),
        equations=(
            r"h_j = \max(0, z_j),\quad z_j = w_j^\top x + b_j, \qquad "
            r"\frac{\partial L}{\partial w_j} = \underbrace{\mathbb{1}[z_j > 0]}_{=\,0 \text{ if } z_j \le 0\ "
            r"\forall x}\,\frac{\partial L}{\partial h_j}\, x = 0",
            r"\text{Leaky: } \frac{\partial h_j}{\partial z_j} = a > 0 \text{ for } z_j \le 0 "
            r"\;\Rightarrow\; \text{the unit always gets a (small) gradient}",
        ),
        controls=(
            LogSlider("lr", "Learning rate", (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0), 0.3),
            Slider("bias", "Initial hidden bias", -1.5, 0.5, 0.0, step=0.25,
                   help="a negative shift starts many units on the flat side"),
            Select("optimizer", "Optimizer", ("adam", "sgd"), "adam",
                   help="sgd here is plain full-batch gradient descent: no momentum"),
            Select("seed", "Seed drawn in black", SEEDS, 0,
                   help="every view trains all ten seeds; this picks the one drawn on its own"),
        ),
        presets=(
            ("Gentle: lr 0.01", dict(GENTLE)),
            ("Bias −1, lr 0.03", {"lr": 0.03, "bias": -1.0, "optimizer": "adam"}),
            ("GD, lr 1, bias −1", dict(PLAIN_GD)),
            ("SGD, lr 3", {"lr": 3.0, "bias": 0.0, "optimizer": "sgd"}),
        ),
        demo=dying_demo, heavy=True, claims=DYING_CLAIMS,
        notice=(
            "- With the default, large learning rate ReLU ended with {dead_half[relu_dead]:.0%} of its units dead "
            "on average (from {dead_half.lo[relu_dead]:.0%} to {dead_half.hi[relu_dead]:.0%} over the seeds); how "
            "many differs from layer to layer. Leaky ReLU and ELU never output exactly 0 for a negative input, so "
            "by this test none of their units can die, and none did at any step. Both held (ReLU above 30 % dead, "
            "Leaky and ELU at 0) in {dead_half.of}.\n"
            "- PReLU lost no unit either, but its slope is learned, not fixed, and nothing keeps it positive: "
            "{prelu_cross[neg]:.0%} of the PReLU units ended with a slope at or below 0 (at least 10 % in "
            "{prelu_cross.of}). A unit whose slope lands on 0 is a ReLU unit again, and can die like one.\n"
            "- Moons is easy: with the units it had left, ReLU still reached 90 % test accuracy in "
            "{relu_fits.of} (mean {relu_fits[relu]:.3f}, Leaky ReLU {relu_fits[leaky]:.3f}). Dead units are wasted "
            "capacity, which hurts when the task needs it.\n"
            "- Layer 1 under Adam: the dead fraction fell at some step in {adam_revives.of} (see the black seed). "
            "A dead unit gets no gradient, but Adam keeps moving its weights on the momentum built up before it "
            "died. Under plain gradient descent (the preset \"GD, lr 1, bias −1\", no momentum) layer 1's dead "
            "fraction never fell, in {gd_stays.of}, while deeper layers, whose inputs keep changing, revived units in "
            "{gd_stays[deep_revived]:.0%} of the seeds.\n"
            "- The gentle preset (lr 0.01) kills fewer units, {gentle[gentle]:.0%} against {gentle[default]:.0%} "
            "on average, but not none: with 2-D inputs some deeper units sit on the flat side for every input from "
            "the very first step ({gentle.of})."),
        question=Question(
            "Under plain gradient descent, why does a dead unit in the first hidden layer never come back to life?",
            ("Because its weights are exactly zero",
             "Because its gradient is zero on every training example, so no update ever changes it",
             "Because the optimizer freezes it on purpose"), answer=1,
            explanations=("Its weights are usually not zero; they just put every input on the negative side.",
                          "Zero slope on every input means zero gradient for its weights and bias; its inputs (the "
                          "data) never change, so gradient descent leaves it where it is: layer 1's dead fraction "
                          "never fell under plain GD, in {gd_stays.of}. An optimizer with momentum is different: "
                          "with Adam, layer 1 revived units in {adam_revives.of}, carried by the momentum from "
                          "before they died.",
                          "No optimizer does that; the gradient alone is zero.")),
    ),
    Step(
        id="slopes", title="Learned and random slopes",
        narrative=(
            "**PReLU** (He et al. 2015) makes the leak a parameter: each unit has its own slope a, trained by "
            "backpropagation like any weight, starting from 0.25. Nothing constrains it: it can learn to be 0 "
            "(the unit is then a ReLU unit, and can die) or even negative. The engine records the mean slope of "
            "each layer while a digits classifier trains, from ten seeds.\n\n"
            "**RReLU** (Xu et al. 2015) draws the slope at random for every negative input while training, from "
            "a uniform distribution U(l, u), and uses the fixed mean (l + u)/2 at test time, a little like "
            "dropout: noise in training, its average in evaluation. PyTorch (and our engine) draw the slope "
            "itself from U(1/8, 1/3); Xu et al. drew the divisor a from U(3, 8) and tested with x / 5.5."),
        equations=(
            r"\mathrm{PReLU}(z_j) = \max(0, z_j) + a_j \min(0, z_j),\qquad "
            r"\frac{\partial L}{\partial a_j} = \sum_{\text{examples}} \frac{\partial L}{\partial h_j}\,\min(0, z_j)",
            r"\mathrm{RReLU}(z) = \begin{cases} z & z \ge 0 \\ a\,z & z < 0 \end{cases},\quad "
            r"a \sim U(l, u) \text{ (training)},\quad a = \frac{l + u}{2} \text{ (evaluation)}",
        ),
        controls=(
            Slider("prelu_init", "PReLU initial slope", 0.0, 1.0, 0.25, step=0.05),
            LogSlider("lower", "RReLU lower bound l", LOWER_OPTIONS, 0.125),
            LogSlider("upper", "RReLU upper bound u", UPPER_OPTIONS, 1 / 3),
        ),
        presets=(("PReLU starting as ReLU (slope 0)", {"prelu_init": 0.0}),
                 ("PReLU starting linear (slope 1)", {"prelu_init": 1.0})),
        demo=slopes_demo, heavy=True, claims=(PRELU_STAY, PRELU_START, PRELU_ZERO),
        notice=(
            "- Started at 0.25, the learned slopes stay positive and move by less than 0.2 in this short run (in "
            "{prelu_stay.of}; the largest move of a layer's mean slope is {prelu_stay[move]:.3f} on average): the "
            "net does not push them to 0 here.\n"
            "- Where they end depends on where they start: from 0 every layer's mean slope ends below 0.15, from 1 "
            "above 0.85, in {prelu_start.of} (means of the extreme layers {prelu_start[from0]:.3f} and "
            "{prelu_start[from1]:.3f}).\n"
            "- Started at 0, that is as plain ReLU, {prelu_zero[neg]:.0%} of the units end with a slope at or below "
            "0 (at least 10 % in {prelu_zero.of}): a learned slope is not kept positive, and a unit whose slope is 0 "
            "is a ReLU unit that can die. He et al. started at 0.25 and left the slope unconstrained.\n"
            "- The RReLU points scatter in a fan between the lines of slope l and u; the evaluation line runs "
            "through its middle."),
        question=Question(
            "An RReLU network is switched to evaluation mode. Which slope does a negative input get?",
            ("A new random slope from U(l, u)", "The mean (l + u)/2", "Zero, as in ReLU"), answer=1,
            explanations=("That is training mode; in evaluation the output must be deterministic.",
                          "The fixed mean of the training distribution, like dropout's scaling at test time.",
                          "RReLU keeps a leak in evaluation too.")),
    ),
    Step(
        id="crelu", title="CReLU: keep both signs",
        narrative=(
            "ReLU throws away the negative half of every pre-activation. Shang et al. 2016 noticed that the "
            "first layers of trained CNNs learn filters in pairs of opposite sign, as if to get the lost half "
            "back, and proposed the **concatenated ReLU**: return both max(0, z) and max(0, −z). Nothing is "
            "lost, but each unit now hands two numbers to the next layer, so that layer's fan-in, and its "
            "weight count, doubles. A fair comparison therefore has two baselines: ReLU with the same units "
            "(fewer parameters) and ReLU with twice the units (more)."),
        equations=(
            r"\mathrm{CReLU}(z) = \big[\max(0, z),\ \max(0, -z)\big] \in \mathbb{R}^{2h}",
            r"P_{\text{ReLU}} = \sum_{l=1}^{L+1} (n_{l-1} + 1)\,n_l, \qquad "
            r"P_{\text{CReLU}} = (d + 1)\,h_1 + \sum_{l=2}^{L+1} (2 h_{l-1} + 1)\,h_l",
        ),
        controls=(
            Select("width", "Units per hidden layer", (8, 16, 32), 16),
            Slider("depth", "Hidden layers", 1, 3, 2, step=1),
        ),
        demo=crelu_demo, heavy=True, claims=(CRELU_BETWEEN,),
        notice=(
            "- CReLU's parameter count sits between the two ReLU baselines: only the layers after the first pay "
            "for the doubled width.\n"
            "- Its accuracy sits between them too, and the differences are small: with 16 units in 2 layers, CReLU "
            "beat ReLU with the same units in {crelu_between[beat_same]:.0%} of the seeds and lost to ReLU with "
            "twice the units in {crelu_between[lost_double]:.0%} (mean test accuracy {crelu_between[same]:.3f}, "
            "{crelu_between[crelu]:.3f} and {crelu_between[double]:.3f}; between the two, within 1.5 points, in "
            "{crelu_between.of}).\n"
            "- So compare accuracy per parameter, not per unit: with the same units CReLU has more weights to fit "
            "with."),
        question=Question(
            "A layer of 32 CReLU units feeds a layer of 10 units. How many weights (without biases) does the "
            "second layer have?",
            ("320", "640", "32"), answer=1,
            explanations=("That would be ReLU: 32 inputs × 10 units.",
                          "CReLU hands 2 × 32 = 64 values on: 64 × 10 = 640 weights.",
                          "Each of the 10 units has one weight per input, so far more than 32.")),
    ),
    Step(
        id="rerun", title="Which variant wins? A re-run",
        narrative=(
            "Xu et al. 2015 compared ReLU, two Leaky ReLUs, PReLU and RReLU in a Network-in-Network CNN on "
            "CIFAR-10 and CIFAR-100. On CIFAR-100 every leaky variant beat ReLU on test error; the steeper leak "
            "(a = 5.5) beat the tiny one (a = 100); RReLU was best on CIFAR-100 and tied with Leaky a = 5.5 on "
            "CIFAR-10. Their reading: the random slope of RReLU helps against overfitting.\n\n"
            "We cannot re-run CIFAR in a browser, but we can ask the same question of a small MLP on "
            "scikit-learn's digits, with ten seeds so that we see the noise the ranking has to beat. All "
            "runs below are one batched call to the engine."),
        equations=(r"\bar e = \frac{1}{S}\sum_{s=1}^{S} e_s,\qquad "
                   r"\mathrm{sd} = \sqrt{\frac{1}{S-1}\sum_{s=1}^{S}(e_s - \bar e)^2}",),
        controls=(
            Slider("seeds", "Seeds per variant", 1, len(SEEDS), len(SEEDS), step=1),
            Select("width", "Units per hidden layer", (32, 64, 128), 64),
        ),
        demo=rerun_demo, heavy=True, claims=(RERUN_FIT, RERUN_CLOSE),
        notice=(
            "- In the paper's table the test errors of the five variants span 1.47 percentage points on CIFAR-10 "
            "and 2.65 on CIFAR-100 (one published run each).\n"
            "- In our re-run, within one seed the seven variants' test errors span {rerun_close[spread]:.2f} "
            "points on average (under 2 in {rerun_close.of}); compare that with how far the seeds move one variant "
            "in the chart. RReLU, the paper's winner on CIFAR-100, beat ReLU in {rerun_close[rrelu_better]:.0%} of "
            "the seeds (RReLU's error minus ReLU's: {rerun_close[rrelu_minus_relu]:+.2f} points on average): a mix, "
            "not a ranking.\n"
            "- Set seeds to 1: you still get a ranking, but nothing to tell you whether it would survive "
            "another seed."),
        question=Question(
            "Our digits re-run shows variants within noise of each other. What does that tell us about Xu et al.?",
            ("Their result was wrong",
             "Little: on a small task that every model fits perfectly, a regularising effect has no room to show",
             "That ReLU is always best"), answer=1,
            explanations=("A different, much smaller experiment cannot refute theirs.",
                          "Their argument rests on RReLU fitting the training set less tightly than PReLU yet "
                          "testing better; on digits every variant reached zero training error, in "
                          "{rerun_fit.of}.",
                          "Nothing in either table says that.")),
    ),
    Step(
        id="boundaries", title="Smooth versus piecewise-linear boundaries",
        narrative=(
            "A ReLU network is a piecewise-linear function of its input: every unit splits the input space with "
            "a line (a hyperplane), and inside each region the network is linear. Its decision boundary is "
            "therefore made of straight segments, more of them as the network grows. A tanh network is smooth, "
            "and so is its boundary. Here both learn the two moons from 75 training points with 1 to 4 hidden "
            "layers of 10 units, trained by our engine from ten seeds, and, as in the lecture notebook, by "
            "scikit-learn's MLPClassifier. Accuracy is measured on 1,925 test points."),
        equations=(r"f(x) = W_3\,\mathrm{ReLU}(W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2) + b_3",
                   r"\text{linear wherever the on/off pattern of the units stays the same}"),
        controls=(
            Slider("layers", "Hidden layers", 1, 4, 2, step=1),
            Toggle("sklearn", "Also fit scikit-learn's MLPClassifier", True),
            Select("seed", "Seed drawn", SEEDS, 0, help="the surfaces show one run; the strip shows all ten seeds"),
        ),
        demo=boundary_demo, heavy=True, claims=(BOUND_CLOSE,),
        notice=(
            "- The ReLU boundary has corners; the tanh boundary bends smoothly.\n"
            "- The shapes differ, the scores hardly: with 2 hidden layers ReLU and tanh ended within 3 points of "
            "each other in {bound_close.of} (mean difference {bound_close[gap]:+.3f}, ReLU ahead in "
            "{bound_close[relu_better]:.0%} of the seeds). Change the seed: the surfaces change more than the "
            "ranking means anything.\n"
            "- The training times are single runs and depend on the optimiser (lbfgs runs until it converges) as "
            "much as on the activation. The lecture's remark that tanh is slower is about big networks, where the "
            "exponential costs more than a comparison (see step 1's cost column)."),
    ),
    Step(
        id="outputs", title="Output activations",
        narrative=(
            "Hidden layers want a non-linearity that keeps gradients flowing; the output layer wants one that "
            "turns the last linear layer's numbers (**logits**) into what the task predicts.\n\n"
            "- **Regression**: no activation (identity). The target can be any real number; squashing it would "
            "only get in the way.\n"
            "- **Binary classification**: one sigmoid unit gives P(class 1).\n"
            "- **Multilabel**: one sigmoid per label. Labels are independent, so the probabilities need not sum "
            "to 1.\n"
            "- **Multiclass**: softmax over k units. Exactly one class is true, so the k probabilities are "
            "positive and sum to 1. Adding the same constant to every logit changes nothing, and dividing by a "
            "temperature T > 1 flattens the distribution while T < 1 sharpens it.\n\n"
            "**Label smoothing** keeps softmax (or sigmoid) from chasing probabilities of exactly 0 and 1, which "
            "would need infinite logits: the target for the true class becomes 1 − ε and every other class gets "
            "ε/(k − 1). That is this course's convention (and seed 001's). PyTorch's "
            "`CrossEntropyLoss(label_smoothing=ε)` and Keras use another: they mix the one-hot target with the "
            "uniform distribution, so every class gets ε/k and the true class 1 − ε + ε/k. Both sum to 1; quote "
            "the convention with the ε."),
        equations=(
            r"\sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \mathrm{softmax}(z)_j = \frac{e^{z_j / T}}"
            r"{\sum_{i=1}^{k} e^{z_i / T}}, \qquad \sum_j \mathrm{softmax}(z)_j = 1",
            r"\mathrm{softmax}(z + c\mathbf{1})_j = \frac{e^{c/T} e^{z_j/T}}{e^{c/T}\sum_i e^{z_i/T}} = "
            r"\mathrm{softmax}(z)_j",
            r"y^{\text{smooth}}_j = \begin{cases} 1 - \varepsilon & j = \text{true class} "
            r"\\ \varepsilon / (k - 1) & \text{otherwise} \end{cases} \quad \text{(this course)}",
            r"y^{\text{smooth}}_j = \begin{cases} 1 - \varepsilon + \varepsilon / k & j = \text{true class} "
            r"\\ \varepsilon / k & \text{otherwise} \end{cases} \quad \text{(PyTorch, Keras)}",
        ),
        controls=(
            Slider("z1", "Logit z₁", -6.0, 6.0, 2.0, step=0.5),
            Slider("z2", "Logit z₂", -6.0, 6.0, 1.0, step=0.5),
            Slider("z3", "Logit z₃", -6.0, 6.0, -1.0, step=0.5),
            Slider("shift", "Add c to every logit", -10.0, 10.0, 0.0, step=1.0),
            LogSlider("temperature", "Softmax temperature T", (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0), 1.0),
            Slider("eps", "Label smoothing ε", 0.0, 0.45, 0.1, step=0.05),
            Select("task", "Task", TASKS, "multiclass"),
        ),
        presets=(("Shift +10", {"shift": 10.0}),
                 ("Hot: T = 5", {"temperature": 5.0}),
                 ("Cold: T = 0.25", {"temperature": 0.25})),
        demo=outputs_demo,
        notice=(
            "- The softmax bars always sum to 1; the sigmoid bars do not, and should not for multilabel tasks.\n"
            "- Moving the shift slider leaves softmax untouched (the change is at rounding level) but moves every "
            "sigmoid.\n"
            "- The task picker changes the output layer and the loss, never the hidden activation.\n"
            "- The two label-smoothing rows differ at the same ε: ε/(k−1) against ε/k for each wrong class."),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Five questions on the whole lesson. Each answer explains itself, right or wrong.",
        claims=(QUIZ_LEAK, QUIZ_LR),
        questions=(
            Question(
                "Your ReLU network's training loss stopped improving after a few steps with a large learning "
                "rate, and many hidden units output 0 for every input. What is the most direct fix?",
                ("Switch the output activation to softmax", "Use Leaky ReLU (or a smaller learning rate)",
                 "Add more ReLU layers"), answer=1,
                explanations=("The output activation does not change what happens in the hidden layers.",
                              "A leak gives every unit a non-zero gradient (in step 2 no Leaky ReLU unit died, in "
                              "{quiz_leak.of}), and a smaller learning rate avoids the big updates that killed them "
                              "(fewer dead ReLU units at lr 0.01 than at 0.3, in {quiz_lr.of}).",
                              "More ReLU layers add more units that can die; they do not revive the dead ones.")),
            Question(
                "A photo can show a cat, a dog and a bicycle at once. Which output layer fits?",
                ("Softmax over the three labels", "One sigmoid per label with binary cross-entropy",
                 "Identity with mean squared error"), answer=1,
                explanations=("Softmax forces the probabilities to sum to 1, as if only one label could be true.",
                              "Multilabel: each label is its own yes/no question, so each gets its own sigmoid.",
                              "That is for regression; the outputs would not be probabilities.")),
            Question(
                "You add 100 to every logit before a softmax. What happens to the predicted probabilities?",
                ("They all grow", "Nothing", "They become uniform"), answer=1,
                explanations=("They cannot all grow: they must still sum to 1.",
                              "e^100 multiplies the numerator and the denominator alike and cancels.",
                              "Only a very high temperature (dividing the logits) makes them uniform.")),
            Question(
                "In the slides' x / a convention, which Leaky ReLU leaks more for negative inputs?",
                ("a = 100", "a = 5.5", "They leak the same"), answer=1,
                explanations=("x / 100 is a slope of 0.01: barely a leak.",
                              "x / 5.5 is a slope of about 0.18, eighteen times the leak of a = 100.",
                              "Dividing by 5.5 and by 100 give different slopes.")),
            Question(
                "With label smoothing ε = 0.1 and k = 10 classes, what is the target for a wrong class?",
                ("0", "0.01", "0.1"), answer=1,
                explanations=("Without smoothing it would be 0.",
                              "In this course's convention ε / (k − 1) = 0.1 / 9 ≈ 0.011: the 0.1 taken from the "
                              "true class is shared by the nine others. PyTorch and Keras give every class ε / k = "
                              "0.01 (and the true class 0.91): about 0.01 either way.",
                              "0.1 is the total taken from the true class, not each other class's share.")),
        ),
    ),
)

LESSON = Lesson(
    id="relu_family",
    number=2,
    title="The ReLU family and output activations",
    summary="What ReLU fixes and what it breaks (dead units), the variants that repair it, a re-run of "
            "Xu et al. 2015, and how to choose the output activation.",
    intro=("ReLU made deep networks trainable, at a price: units that can switch off for good. This lesson tours "
           "the family of rectifiers that followed, measures what each one does, and ends at the output layer, "
           "where the choice depends on the task instead."),
    references=("Xu et al. 2015", "He et al. 2015", "Shang et al. 2016", "Clevert et al. 2015",
                "Hendrycks & Gimpel 2016"),
    steps=STEPS,
)


def experiments() -> list[Experiment]:
    """Every run behind a default view or a preset of this lesson (for the shipped cache; the claims'
    sweeps are added by `registry.experiments_of`)."""
    exps: list[Experiment] = []
    dying = LESSON.step("dying")
    for values in [dying.defaults()] + [{**dying.defaults(), **p} for _, p in dying.presets]:
        exps += dying_sweep(values["lr"], values["bias"], values["optimizer"])
    slopes = LESSON.step("slopes")
    for values in [slopes.defaults()] + [{**slopes.defaults(), **p} for _, p in slopes.presets]:
        exps += [prelu_experiment(values["prelu_init"], s) for s in SEEDS]
    exps += crelu_sweep(16, 2)
    exps += rerun_experiments(LESSON.step("rerun").control("seeds").default, 64)
    for layers in (1, 2, 3, 4):
        exps += boundary_sweep(layers) + boundary_experiments(layers, 0, surface=True)
    return exps
