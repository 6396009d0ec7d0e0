"""Lesson 2: the ReLU family and output activations.

What ReLU fixes (no saturation for x > 0), what it breaks (units that output 0 on every input and
never learn again), the variants that repair it (Leaky ReLU, PReLU, RReLU, CReLU, ELU and the smooth
GELU / SiLU / softplus), a re-run of the comparison of Xu et al. 2015 on scikit-learn's digits,
piecewise-linear versus smooth decision boundaries, and how to pick the output activation and loss.

References: Xu et al. 2015 (leaky and randomized ReLU, the CIFAR table), He et al. 2015 (PReLU),
Shang et al. 2016 (CReLU), Clevert et al. 2015 (ELU), Hendrycks & Gimpel 2016 (GELU).

Every number a caption states is computed from the runs it shows; tests/lessons/test_relu_family.py
recomputes them. `experiments()` lists the runs behind every default view and preset, for
`python -m engine.precompute lessons.relu_family:experiments`.
"""
from __future__ import annotations

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


def _dropna(df: pd.DataFrame) -> pd.DataFrame:
    return df.replace([np.inf, -np.inf], np.nan).dropna()


def _diverged_notes(results, label) -> list:
    return [Note(f"**{label(r)} diverged** at step {r.meta['diverged_at']}: the loss became NaN or infinite, so "
                 "training stopped there. Its curves end at that step and it has no final accuracy. Lower the "
                 "learning rate to get a run that finishes.", "error")
            for r in results if r.diverged]


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

DYING = Experiment(
    data=DataSpec("moons", n=300, noise=0.2, seed=0),
    model=ModelSpec(hidden=(32, 32, 32), activation="relu"),
    optim=OptimSpec("adam", lr=0.3),
    train=TrainSpec(steps=300, record_every=5),
    seed=0,
)
DYING_ACTS = ("relu", "leaky_relu", "elu", "prelu")


def dying_experiments(lr: float = 0.3, bias: float = 0.0, optimizer: str = "adam") -> list[Experiment]:
    params = {"relu": 0.01, "leaky_relu": 0.01, "elu": 1.0, "prelu": 0.01}
    return [DYING.replace(model=dict(activation=a, act_param=params[a], bias_init=float(bias)),
                          optim=dict(name=optimizer, lr=float(lr))) for a in DYING_ACTS]


def dead_at_end(res) -> list[float]:
    """Fraction of dead units per hidden layer at the last recorded step."""
    return [float(res.history[c].iloc[-1]) for c in res.layer_columns("dead")]


def dying_demo(values: dict, progress=None) -> list:
    exps = dying_experiments(values["lr"], values["bias"], values["optimizer"])
    results = engine.run_many(exps, progress=progress)
    frames = []
    for r in results:
        df = r.long("dead")
        df["activation"] = r.config.model.activation
        frames.append(df)
    df = _dropna(pd.concat(frames, ignore_index=True))
    df["layer"] = "hidden layer " + df["layer"].astype(str)
    chart = alt.Chart(df).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("dead:Q", title="dead units", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("activation:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=color_scale(ACTIVATION_COLORS, DYING_ACTS)),
        tooltip=["activation", "layer", "step", alt.Tooltip("dead:Q", format=".0%")],
    ).properties(width=165, height=220).facet(column=alt.Column("layer:N", title=None))
    rows = []
    for r in results:
        dead = dead_at_end(r)
        rows.append({"activation": NAMES[r.config.model.activation],
                     **{f"dead, layer {i + 1}": pct(v) for i, v in enumerate(dead)},
                     "dead, all layers": pct(float(np.mean(dead))),
                     "train accuracy": "diverged" if r.diverged else f"{r.final['train_metric']:.3f}",
                     "test accuracy": "diverged" if r.diverged else f"{r.final['test_metric']:.3f}"})
    relu, leaky = results[0], results[1]
    relu_dead, leaky_dead = float(np.mean(dead_at_end(relu))), float(np.max(dead_at_end(leaky)))
    out = _diverged_notes(results, lambda r: NAMES[r.config.model.activation])
    setting = (f"Moons, 3 hidden layers of 32 units, {values['optimizer']} with learning rate {values['lr']:g}, "
               f"hidden biases start at {values['bias']:g}. A unit counts as dead when it outputs exactly 0 for "
               "every training input. ")
    if relu.diverged or leaky.diverged:
        out += [Metric("ReLU", f"diverged at step {relu.meta['diverged_at']}" if relu.diverged else pct(relu_dead)),
                Metric("Leaky ReLU", f"diverged at step {leaky.meta['diverged_at']}" if leaky.diverged
                       else pct(leaky_dead))]
        caption = setting + "Diverged runs stop at the step where the loss blew up; their dead fractions are from " \
                            "the last recorded step before that."
    else:
        out += [Metric("ReLU dead", pct(relu_dead), help="at the end, mean over the three hidden layers"),
                Metric("ReLU worst layer", pct(max(dead_at_end(relu)))),
                Metric("Leaky worst layer", pct(leaky_dead))]
        caption = setting + (f"At the end {pct(relu_dead)} of the ReLU units are dead "
                             f"(layers: {', '.join(pct(v) for v in dead_at_end(relu))}); the worst Leaky ReLU layer "
                             f"has {pct(leaky_dead)}.")
    out.append(Chart(chart, caption=caption))
    out.append(Table(pd.DataFrame(rows), caption="The same runs at the last step."))
    return out


# ================================================================ step 3: learned and random slopes

PRELU = Experiment(
    data=DataSpec("digits", n=0, seed=0),
    model=ModelSpec(hidden=(64, 64, 64), activation="prelu", prelu_init=0.25),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=10),
    seed=0,
)
LOWER_OPTIONS = (0.0, 0.05, 0.1, 0.125, 0.2, 0.3, 0.5)
UPPER_OPTIONS = (0.125, 0.2, 0.25, 1 / 3, 0.5, 0.75, 1.0)


def prelu_experiment(init: float = 0.25) -> Experiment:
    return PRELU.replace(model=dict(prelu_init=float(init)))


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
    out = []
    if lower > upper:
        lower, upper = upper, lower
        out.append(Note(f"The lower bound was above the upper one; showing U({lower:.3g}, {upper:.3g}) instead.",
                        "warning"))
    (res,) = engine.run_many([prelu_experiment(values["prelu_init"])], progress=progress)
    out += _diverged_notes([res], lambda r: "The PReLU network")
    sl = _dropna(res.long("prelu_slope"))
    sl["layer"] = "layer " + sl["layer"].astype(str)
    start = [float(res.history[c].iloc[0]) for c in res.layer_columns("prelu_slope")]
    end = [float(res.history[c].iloc[-1]) for c in res.layer_columns("prelu_slope")]
    prelu_chart = alt.Chart(sl).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("prelu_slope:Q", title="mean learned slope a", scale=alt.Scale(zero=False)),
        color=alt.Color("layer:N", title="hidden layer", scale=alt.Scale(scheme="greens")),
    ).properties(width=520, height=220, title="PReLU: learned slopes")
    x, y_tr, y_ev = rrelu_draws(lower, upper)
    neg = x < 0
    slopes = (y_tr[neg] / x[neg]).numpy()
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
                         ).properties(width=520, height=260, title="RReLU: one forward pass")
    out.append(Metric("a, layer 1", f"{end[0]:.3f}", help=f"PReLU's mean learned slope in layer 1 (from {start[0]:g})"))
    out.append(Metric(f"a, layer {len(end)}", f"{end[-1]:.3f}",
                      help=f"PReLU's mean learned slope in layer {len(end)} (from {start[-1]:g})"))
    out.append(Metric("RReLU train", f"{slopes.min():.2f}…{slopes.max():.2f}", help="range of the random slopes drawn"))
    out.append(Metric("RReLU eval", f"{mean_slope:.3f}", help="the fixed mean slope (l + u)/2"))
    test_acc = "diverged" if res.diverged else f"{res.final['test_metric']:.3f}"
    out += [
        Chart(prelu_chart, caption=(
            f"Digits, 3 PReLU layers of 64 units, slopes start at {values['prelu_init']:g}. Mean learned slope per "
            "layer: " + ", ".join(f"layer {i + 1} {s:.3f} → {e:.3f}" for i, (s, e) in enumerate(zip(start, end)))
            + f". Test accuracy {test_acc}.")),
        Chart(rr_chart, caption=(
            f"Each negative input gets its own slope from U({lower:.3g}, {upper:.3g}) while training: here from "
            f"{slopes.min():.3f} to {slopes.max():.3f} (mean {slopes.mean():.3f}). In evaluation every negative "
            f"input uses the mean slope (l + u)/2 = {mean_slope:.3f}, so the network is deterministic.")),
    ]
    return out


# ================================================================ step 4: CReLU

CRELU = Experiment(
    data=DataSpec("digits", n=0, seed=0),
    model=ModelSpec(hidden=(16, 16), activation="relu"),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=10),
    seed=0,
)
CRELU_SEEDS = (0, 1, 2)


def n_params(hidden, activation: str, n_in: int = 64, n_out: int = 10) -> int:
    """Weights and biases of an MLP; CReLU hands 2h values to the next layer, so its fan-in doubles."""
    total, d = 0, n_in
    for h in hidden:
        total += (d + 1) * h + (h if activation == "prelu" else 0)
        d = 2 * h if activation == "crelu" else h
    return total + (d + 1) * n_out


def crelu_models(width: int = 16, depth: int = 2) -> list[tuple[str, str, tuple]]:
    """(label, activation, hidden) of the three nets we compare."""
    return [(f"ReLU, {width} units/layer", "relu", (width,) * depth),
            (f"CReLU, {width} units/layer", "crelu", (width,) * depth),
            (f"ReLU, {2 * width} units/layer", "relu", (2 * width,) * depth)]


def crelu_experiments(width: int = 16, depth: int = 2) -> list[Experiment]:
    return [CRELU.replace(model=dict(activation=act, hidden=hid), seed=s)
            for _, act, hid in crelu_models(width, depth) for s in CRELU_SEEDS]


def crelu_demo(values: dict, progress=None) -> list:
    width, depth = int(values["width"]), int(values["depth"])
    models = crelu_models(width, depth)
    results = engine.run_many(crelu_experiments(width, depth), progress=progress)
    k = len(CRELU_SEEDS)
    rows, curves = [], []
    for j, (label, act, hid) in enumerate(models):
        group = results[j * k:(j + 1) * k]
        ok = [r for r in group if not r.diverged]
        rows.append({"model": label, "outputs per layer": 2 * width if act == "crelu" else hid[0],
                     "parameters": group[0].meta["n_params"],
                     "train accuracy": float(np.mean([r.final["train_metric"] for r in ok])) if ok else np.nan,
                     "test accuracy": float(np.mean([r.final["test_metric"] for r in ok])) if ok else np.nan})
        for r in ok:
            h = r.history[["step", "val_metric"]].copy()
            h["model"], h["activation"], h["seed"] = label, act, r.config.seed
            curves.append(h)
    table = pd.DataFrame(rows)
    df = _dropna(pd.concat(curves, ignore_index=True)) if curves else pd.DataFrame(
        columns=["step", "val_metric", "model", "activation", "seed"])
    mean = df.groupby(["model", "activation", "step"], as_index=False)["val_metric"].mean()
    chart = alt.Chart(mean).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("val_metric:Q", title="validation accuracy", scale=alt.Scale(domain=[0.5, 1], clamp=True)),
        color=alt.Color("model:N", scale=alt.Scale(domain=[m[0] for m in models], range=[
            ACTIVATION_COLORS["relu"], ACTIVATION_COLORS["crelu"], "#003B5C"])),
        strokeDash=alt.StrokeDash("model:N", scale=alt.Scale(domain=[m[0] for m in models],
                                                              range=[[1, 0], [1, 0], [6, 3]]), legend=None),
    ).properties(height=300)
    p = table["parameters"].tolist()
    acc = table["test accuracy"].tolist()
    out = _diverged_notes(results, lambda r: f"{NAMES[r.config.model.activation]} (seed {r.config.seed})")
    out += [Metric("ReLU parameters", f"{p[0]:,}"), Metric("CReLU parameters", f"{p[1]:,}",
                                                           delta=f"+{p[1] - p[0]:,}", help="same units as ReLU"),
            Metric(f"ReLU with {2 * width} units", f"{p[2]:,}")]
    out.append(Table(table.round(3), caption=(
        f"Digits, {depth} hidden layer(s), mean of {k} seeds. CReLU with {width} units per layer passes "
        f"{2 * width} values on, so it has {p[1]:,} parameters against {p[0]:,} for ReLU with the same units and "
        f"{p[2]:,} for ReLU with twice the units. Test accuracy: {acc[0]:.3f}, {acc[1]:.3f} and {acc[2]:.3f}.")))
    out.append(Chart(chart, caption="Validation accuracy while training, mean over the seeds."))
    return out


# ================================================================ step 5: the re-run

XU_TABLE = pd.DataFrame([
    ("ReLU", 0.00318, 0.1245, 0.1356, 0.429),
    ("Leaky ReLU, a = 100", 0.0031, 0.1266, 0.11552, 0.4205),
    ("Leaky ReLU, a = 5.5", 0.00362, 0.1120, 0.08536, 0.4042),
    ("PReLU", 0.00178, 0.1179, 0.0633, 0.4163),
    ("RReLU", 0.00550, 0.1119, 0.1141, 0.4025),
], columns=["activation", "CIFAR-10 train", "CIFAR-10 test", "CIFAR-100 train", "CIFAR-100 test"])

RERUN = Experiment(
    data=DataSpec("digits", n=0, seed=0),
    model=ModelSpec(hidden=(64, 64), activation="relu"),
    optim=OptimSpec("adam", lr=0.003),
    train=TrainSpec(steps=300, batch_size=64, record_every=25),
    seed=0,
)
# (label, activation, act_param): the Xu et al. rows in the slides' x/a convention, plus ELU and GELU
VARIANTS = (("ReLU", "relu", 0.01), ("Leaky ReLU, a = 100", "leaky_relu", 1 / 100),
            ("Leaky ReLU, a = 5.5", "leaky_relu", 1 / 5.5), ("PReLU", "prelu", 0.01),
            ("RReLU", "rrelu", 0.01), ("ELU", "elu", 1.0), ("GELU", "gelu", 0.01))


def rerun_experiments(seeds: int = 5, width: int = 64) -> list[Experiment]:
    """Variants x seeds; each seed draws a new train/val/test split and a new initialisation."""
    return [RERUN.replace(model=dict(activation=act, act_param=p, hidden=(int(width),) * 2), seed=s,
                          data=dict(seed=s)) for _, act, p in VARIANTS for s in range(int(seeds))]


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
    text = (f"Lowest mean test error: {best['activation']} ({best['test error']:.2%}); highest: "
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
    plot = _dropna(summary[["activation", "family", "test error", "test min", "test max", "train error"]])
    enc_y = alt.Y("activation:N", sort=order, title=None)
    colour = alt.Color("family:N", title=None, legend=alt.Legend(orient="bottom"), scale=color_scale(ACTIVATION_COLORS,
                                                                         list(dict.fromkeys(v[1] for v in VARIANTS))))
    rule = alt.Chart(plot).mark_rule(strokeWidth=3).encode(x=alt.X("test min:Q", title="test error",
                                                                   axis=alt.Axis(format=".1%")),
                                                           x2="test max:Q", y=enc_y, color=colour)
    dots = alt.Chart(plot).mark_point(size=140, filled=True).encode(
        x="test error:Q", y=enc_y, color=colour,
        tooltip=["activation", alt.Tooltip("test error:Q", format=".2%"), alt.Tooltip("train error:Q", format=".2%")])
    chart = (rule + dots).properties(height=280)
    ours = summary[["activation", "train error", "test error", "test error sd"]].copy()
    for c in ("train error", "test error", "test error sd"):
        ours[c] = ours[c].map(lambda v: f"{v:.2%}")
    out = _diverged_notes(results, lambda r: f"{NAMES[r.config.model.activation]} (seed {r.config.seed})")
    out += [
        Table(XU_TABLE.set_index("activation").map(lambda v: f"{v:.2%}"), caption=(
            "Xu et al. 2015, Network in Network on CIFAR-10 and CIFAR-100: error rates (their tables 3 and 4). "
            "Leaky a is in the x/a convention; RReLU tests with x / ((l+u)/2) = x / 5.5.")),
        Table(ours.set_index("activation"), caption=(
            f"Our re-run: digits, MLP with 2 hidden layers of {width} units, Adam, 300 steps, {seeds} seed(s) (each "
            "a new split and initialisation); mean error and its standard deviation over seeds.")),
    ]
    out.append(Chart(chart, caption=f"Test error per variant: the dot is the mean over {seeds} seed(s), the bar "
                                    "runs from the best to the worst seed."))
    out.append(Note(rerun_verdict(summary, seeds), "info"))
    return out


# ================================================================ step 6: boundaries

BOUNDARY = Experiment(
    data=DataSpec("moons", n=100, noise=0.25, train_frac=0.75, val_frac=0.0, test_frac=0.25, seed=3),
    model=ModelSpec(hidden=(10, 10), activation="relu"),
    optim=OptimSpec("adam", lr=0.01),
    reg=RegSpec(l2=0.003),  # a little weight decay, as scikit-learn's alpha: keeps the surfaces from turning into steps
    train=TrainSpec(steps=1000, record_every=50, snapshot_steps=(1000,), grid=48),
    seed=0,
)


def boundary_experiments(layers: int = 2) -> list[Experiment]:
    return [BOUNDARY.replace(model=dict(activation=a, hidden=(10,) * int(layers))) for a in ("relu", "tanh")]


def _grid(extent, n):
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return gx, gy


@lru_cache(maxsize=16)
def sklearn_boundary(activation: str, layers: int, grid: int = 48):
    """scikit-learn's MLPClassifier as the lecture used it (lbfgs, 10 units per layer), on our split.
    Returns (P(class 1) on the grid, test accuracy, fit seconds, training accuracy)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    split = D.load(BOUNDARY.data)
    clf = MLPClassifier(solver="lbfgs", activation=activation, random_state=0, hidden_layer_sizes=[10] * layers,
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


def boundary_demo(values: dict, progress=None) -> list:
    layers = int(values["layers"])
    results = engine.run_many(boundary_experiments(layers), progress=progress)
    split = D.load(BOUNDARY.data)
    out = _diverged_notes(results, lambda r: NAMES[r.config.model.activation])
    panels, rows = [], []
    for r in results:
        act = r.config.model.activation
        acc = r.final["test_metric"]
        rows.append({"model": f"ours (Adam, 1000 steps, L2 0.003), {NAMES[act]}", "test accuracy": round(acc, 3),
                     "train accuracy": round(r.final["train_metric"], 3),
                     "training time (s)": round(r.meta["wall_time"], 3)})
        if r.snapshots is not None and not r.diverged:
            panels.append(lesson_charts.decision_surface(
                r.snapshots[-1], r.meta["extent"], split, f"ours {NAMES[act]} · acc {acc:.2f} · "
                f"{r.meta['wall_time']:.2f} s", width=250, height=220, legend=not panels))
    charts = [alt.hconcat(*panels)] if panels else []
    if values["sklearn"]:
        sk = []
        for act in ("relu", "tanh"):
            p, acc, secs, train_acc = sklearn_boundary(act, layers)
            rows.append({"model": f"scikit-learn MLPClassifier (lbfgs), {NAMES[act]}", "test accuracy": round(acc, 3),
                         "train accuracy": round(train_acc, 3), "training time (s)": round(secs, 3)})
            sk.append(lesson_charts.decision_surface(p, split.extent(), split, f"sklearn {NAMES[act]} · acc {acc:.2f} "
                                                     f"· {secs:.2f} s", width=250, height=220, legend=False))
        charts.append(alt.hconcat(*sk))
    table = pd.DataFrame(rows)
    if charts:
        out.append(Chart(alt.vconcat(*charts), caption=(
            f"Moons (100 points, noise 0.25, 75 train / 25 test), {layers} hidden layer(s) of 10 units. The "
            "background is the predicted probability of class 1 (blue near 0, orange near 1, pale where "
            "unsure); circles are training points, triangles test points; acc is test "
            "accuracy. Times are "
            "wall-clock seconds of the training run as it was measured (ours: the engine's stacked pass, possibly "
            "precomputed; scikit-learn: fitted in this session).")))
    ours = [r for r in results if not r.diverged]
    if len(ours) == 2:
        relu, tanh = ours
        out.append(Metric("ReLU test accuracy", f"{relu.final['test_metric']:.2f}"))
        out.append(Metric("tanh test accuracy", f"{tanh.final['test_metric']:.2f}"))
    out.append(Table(table, caption="Accuracy and training time; 25 test points, so one point is 0.04 of accuracy."))
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


def smoothed_targets(k: int, eps: float, true: int = 0) -> np.ndarray:
    """Label smoothing as in the course: 1 - eps for the true class, eps / (k - 1) for each other one."""
    t = np.full(k, eps / (k - 1))
    t[true] = 1 - eps
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
    smooth = pd.DataFrame({"target": ["one-hot (true class 1)", f"smoothed, ε = {eps:g}"],
                           **{c_: [1.0 if i == 0 else 0.0, round(float(v), 4)]
                              for i, (c_, v) in enumerate(zip(classes, smoothed_targets(k, eps)))}})
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
        Table(smooth.set_index("target"), caption=f"Label smoothing with k = {k}: the true class gets 1 − ε = "
                                                  f"{1 - eps:g}, each other class ε/(k−1) = {eps / (k - 1):.4g}; the "
                                                  "row still sums to 1."),
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
            "- The cost column is measured on this machine. Memory traffic dominates such simple kernels on a "
            "CPU, so most members cost within a small factor of ReLU; RReLU in training pays for its random "
            "numbers, and CReLU writes two outputs per input."),
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
            "unit never fires again. A negative bias at initialisation does the same on purpose. Below, four "
            "networks that differ only in their hidden activation are trained with the same aggressive settings; "
            "the chart follows the fraction of dead units in each layer."),
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
            Select("optimizer", "Optimizer", ("adam", "sgd"), "adam"),
        ),
        presets=(
            ("Gentle: lr 0.01", {"lr": 0.01, "bias": 0.0, "optimizer": "adam"}),
            ("Bias −1, lr 0.03", {"lr": 0.03, "bias": -1.0, "optimizer": "adam"}),
            ("SGD, lr 1", {"lr": 1.0, "bias": 0.0, "optimizer": "sgd"}),
            ("SGD, lr 3", {"lr": 3.0, "bias": 0.0, "optimizer": "sgd"}),
        ),
        demo=dying_demo, heavy=True,
        notice=(
            "- With a large learning rate about half of the ReLU units end up dead; how many differs from layer "
            "to layer.\n"
            "- Leaky ReLU, ELU and PReLU never output exactly 0 for negative inputs, so by this test none of their "
            "units can die.\n"
            "- Moons is easy: the ReLU net may still fit it with the units it has left. Dead units are wasted "
            "capacity, which hurts when the task needs it.\n"
            "- Look closely at layer 1 in the default run: the ReLU curve dips now and then. That is Adam's "
            "momentum carrying a dead unit's weights back, not a gradient.\n"
            "- The gentle preset kills fewer units, but not none: with 2-D inputs some deeper units sit on the "
            "flat side for every input from the very first step."),
        question=Question(
            "Why does a dead unit in the first hidden layer never come back to life?",
            ("Because its weights are exactly zero",
             "Because its gradient is zero on every training example, so no update ever changes it",
             "Because the optimizer freezes it on purpose"), answer=1,
            explanations=("Its weights are usually not zero; they just put every input on the negative side.",
                          "Zero slope on every input means zero gradient for its weights and bias; its inputs (the "
                          "data) never change, so it stays where it is.",
                          "No optimizer does that; the gradient alone is zero.")),
    ),
    Step(
        id="slopes", title="Learned and random slopes",
        narrative=(
            "**PReLU** (He et al. 2015) makes the leak a parameter: each unit has its own slope a, trained by "
            "backpropagation like any weight, starting from 0.25. The engine records the mean slope of each "
            "layer while a digits classifier trains.\n\n"
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
        demo=slopes_demo, heavy=True,
        notice=(
            "- The learned PReLU slopes stay positive and move only a little in a short training run: the net "
            "does not push them to 0 (plain ReLU) here.\n"
            "- Start the slopes at 0 or 1 and compare: where they end depends on where they start.\n"
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
        demo=crelu_demo, heavy=True,
        notice=(
            "- CReLU's parameter count sits between the two ReLU baselines: only the layers after the first pay "
            "for the doubled width.\n"
            "- Compare accuracy per parameter, not per unit: with the same units CReLU has more weights to fit "
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
            "scikit-learn's digits, with several seeds so that we see the noise the ranking has to beat. All "
            "runs below are one batched call to the engine."),
        equations=(r"\bar e = \frac{1}{S}\sum_{s=1}^{S} e_s,\qquad "
                   r"\mathrm{sd} = \sqrt{\frac{1}{S-1}\sum_{s=1}^{S}(e_s - \bar e)^2}",),
        controls=(
            Slider("seeds", "Seeds per variant", 1, 8, 5, step=1),
            Select("width", "Units per hidden layer", (32, 64, 128), 64),
        ),
        demo=rerun_demo, heavy=True,
        notice=(
            "- In the paper's table the test errors of the five variants span 1.47 percentage points on CIFAR-10 "
            "and 2.65 on CIFAR-100.\n"
            "- In our re-run, compare the gap between variants with the spread between seeds of one variant.\n"
            "- Set seeds to 1: you still get a ranking, but nothing to tell you whether it would survive "
            "another seed."),
        question=Question(
            "Our digits re-run shows variants within noise of each other. What does that tell us about Xu et al.?",
            ("Their result was wrong",
             "Little: on a small task that every model fits perfectly, a regularising effect has no room to show",
             "That ReLU is always best"), answer=1,
            explanations=("A different, much smaller experiment cannot refute theirs.",
                          "Their argument rests on RReLU fitting the training set less tightly than PReLU yet "
                          "testing better; on digits every variant reaches zero training error.",
                          "Nothing in either table says that.")),
    ),
    Step(
        id="boundaries", title="Smooth versus piecewise-linear boundaries",
        narrative=(
            "A ReLU network is a piecewise-linear function of its input: every unit splits the input space with "
            "a line (a hyperplane), and inside each region the network is linear. Its decision boundary is "
            "therefore made of straight segments, more of them as the network grows. A tanh network is smooth, "
            "and so is its boundary. Here both learn the two moons with 1 to 4 hidden layers of 10 units, "
            "trained by our engine, and, as in the lecture notebook, by scikit-learn's MLPClassifier."),
        equations=(r"f(x) = W_3\,\mathrm{ReLU}(W_2\,\mathrm{ReLU}(W_1 x + b_1) + b_2) + b_3",
                   r"\text{linear wherever the on/off pattern of the units stays the same}"),
        controls=(
            Slider("layers", "Hidden layers", 1, 4, 2, step=1),
            Toggle("sklearn", "Also fit scikit-learn's MLPClassifier", True),
        ),
        demo=boundary_demo, heavy=True,
        notice=(
            "- The ReLU boundary has corners; the tanh boundary bends smoothly.\n"
            "- Test accuracy moves in steps of 0.04: there are only 25 test points, so a gap of one or two "
            "points between ReLU and tanh is weak evidence either way.\n"
            "- The training times are small and depend on the optimiser (lbfgs runs until it converges) as much "
            "as on the activation. The lecture's remark that tanh is slower is about big networks, where the "
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
            "ε/(k − 1)."),
        equations=(
            r"\sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \mathrm{softmax}(z)_j = \frac{e^{z_j / T}}"
            r"{\sum_{i=1}^{k} e^{z_i / T}}, \qquad \sum_j \mathrm{softmax}(z)_j = 1",
            r"\mathrm{softmax}(z + c\mathbf{1})_j = \frac{e^{c/T} e^{z_j/T}}{e^{c/T}\sum_i e^{z_i/T}} = "
            r"\mathrm{softmax}(z)_j",
            r"y^{\text{smooth}}_j = \begin{cases} 1 - \varepsilon & j = \text{true class} "
            r"\\ \varepsilon / (k - 1) & \text{otherwise} \end{cases}",
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
            "- The task picker changes the output layer and the loss, never the hidden activation."),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Four questions on the whole lesson. Each answer explains itself, right or wrong.",
        questions=(
            Question(
                "Your ReLU network's training loss stopped improving after a few steps with a large learning "
                "rate, and many hidden units output 0 for every input. What is the most direct fix?",
                ("Switch the output activation to softmax", "Use Leaky ReLU (or a smaller learning rate)",
                 "Add more ReLU layers"), answer=1,
                explanations=("The output activation does not change what happens in the hidden layers.",
                              "A leak gives every unit a non-zero gradient, and a smaller learning rate avoids the "
                              "big updates that killed them.",
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
                              "ε / (k − 1) = 0.1 / 9 ≈ 0.011: the 0.1 taken from the true class is shared by the "
                              "nine others.",
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
    intro=("ReLU made deep networks trainable, at a price: units that switch off for good. This lesson tours "
           "the family of rectifiers that followed, measures what each one does, and ends at the output layer, "
           "where the choice depends on the task instead."),
    references=("Xu et al. 2015", "He et al. 2015", "Shang et al. 2016", "Clevert et al. 2015",
                "Hendrycks & Gimpel 2016"),
    steps=STEPS,
)


def experiments() -> list[Experiment]:
    """Every run behind a default view or a preset of this lesson (for the shipped cache)."""
    exps: list[Experiment] = []
    dying = LESSON.step("dying")
    for values in [dying.defaults()] + [{**dying.defaults(), **p} for _, p in dying.presets]:
        exps += dying_experiments(values["lr"], values["bias"], values["optimizer"])
    slopes = LESSON.step("slopes")
    for values in [slopes.defaults()] + [{**slopes.defaults(), **p} for _, p in slopes.presets]:
        exps.append(prelu_experiment(values["prelu_init"]))
    exps += crelu_experiments(16, 2)
    exps += rerun_experiments(LESSON.step("rerun").control("seeds").default, 64)
    for layers in (1, 2, 3, 4):
        exps += boundary_experiments(layers)
    return exps
