"""Lesson 4: optimizers, live.

How gradient descent turns gradients into steps, and how the step rule changes what training does:
the learning rate (too small crawls, too large diverges), full-batch vs stochastic vs minibatch
updates, momentum and Nesterov, the adaptive methods (Adagrad, RMSProp, Adam) and AdamW's decoupled
weight decay, learning-rate schedules, and batch normalization. The optimizer race runs the engine's
own optimizers (equal to torch.optim, tested) on the Beale surface from (0.8, 1.6), with the rates of
the lecture notebook. Captions state only what these runs show (tests/lessons/test_optimizers.py
checks each claim).

References: Duchi et al. 2011 (Adagrad); Tieleman & Hinton 2012 (RMSProp); Kingma & Ba 2015 (Adam);
Loshchilov & Hutter 2019 (AdamW); Smith 2017 (cyclical rates); Ioffe & Szegedy 2015 (batch norm);
Goodfellow, Bengio & Courville 2016, ch. 8.
"""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from engine import SCHEDULES, DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run_many
from engine import data as D
from engine.optim import lr_table
from engine.surfaces import SURFACES, grid, trajectory
from lessons.theme import OPTIMIZER_COLORS, color_scale
from lessons.walkthrough import (
    Chart,
    Columns,
    Lesson,
    LogSlider,
    Metric,
    Note,
    Question,
    Select,
    Slider,
    Step,
    Table,
)

RACE = ("sgd", "sgd_decay", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "sgd_cyclic")
NET_OPTS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _opt_scale(names):
    return color_scale(OPTIMIZER_COLORS, list(names))


def _finite(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df[np.isfinite(df[col].to_numpy(dtype=float))]


# ============================================================ step 1: the learning rate

LR_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
LR_STEPS = (100, 300, 1000)


def lr_experiments(steps: int = 300) -> list[Experiment]:
    """One tanh MLP (16, 16) on Auto MPG (MSE), plain full-batch gradient descent, one run per rate."""
    return [Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=(16, 16), activation="tanh"),
                       optim=OptimSpec("sgd", lr=lr), train=TrainSpec(steps=int(steps), record_every=5))
            for lr in LR_GRID]


def lr_summary(results) -> pd.DataFrame:
    rows = []
    for r in results:
        div = r.meta["diverged_at"]
        rows.append({"learning rate": r.config.optim.lr, "diverged at": div,
                     "final train loss": float("nan") if div is not None else r.final["train_loss"],
                     "test R²": float("nan") if div is not None else r.final["test_metric"]})
    return pd.DataFrame(rows)


def _lr_demo(v, progress):
    res = run_many(lr_experiments(v["steps"]), progress=progress)
    chosen = float(v["lr"])
    long = []
    for r in res:
        h = _finite(r.history[["step", "train_loss"]].copy(), "train_loss")
        h["learning rate"] = str(r.config.optim.lr)
        h["chosen"] = "yes" if math.isclose(r.config.optim.lr, chosen) else "no"
        long.append(h)
    long = pd.concat(long, ignore_index=True)
    long = long[long["train_loss"] > 0]
    first = max(float(r.history["train_loss"].iloc[0]) for r in res)
    top = 10 ** math.ceil(math.log10(first * 3))  # diverging runs leave the plot instead of squashing it
    order = [str(x) for x in LR_GRID]
    curves = alt.Chart(long).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="update"),
        y=alt.Y("train_loss:Q", scale=alt.Scale(type="log", domain=[1, top], clamp=False),
                title="training loss (MSE, log)"),
        color=alt.Color("learning rate:O", sort=order, scale=alt.Scale(scheme="viridis"), title="rate"),
        strokeWidth=alt.StrokeWidth("chosen:N", scale=alt.Scale(domain=["no", "yes"], range=[1.3, 4.5]),
                                    legend=None),
        tooltip=["learning rate", "step", alt.Tooltip("train_loss:Q", format=".3g")],
    ).properties(height=300, title="Training loss per rate")
    tab = lr_summary(res)
    ok = tab[tab["diverged at"].isna()]
    bars = alt.Chart(ok).mark_line(point=True, color="#4D4D4D").encode(
        x=alt.X("learning rate:Q", scale=alt.Scale(type="log"), title="learning rate (log)"),
        y=alt.Y("final train loss:Q", scale=alt.Scale(type="log"), title="final training loss (log)"),
        tooltip=["learning rate", alt.Tooltip("final train loss:Q", format=".3g")])
    top = float(ok["final train loss"].max()) if len(ok) else 1.0
    dv = tab[tab["diverged at"].notna()].assign(y=top, label="diverged")
    marks = alt.Chart(dv).mark_point(shape="cross", size=160, color="#D55E00", filled=True).encode(
        x="learning rate:Q", y="y:Q", tooltip=["learning rate", "diverged at"])
    summary = (bars + marks).properties(height=260, title="Final loss per rate")
    outs = [Chart(curves, caption="The thick line is the rate chosen with the slider. Diverged runs shoot off the "
                                  "top of the plot and stop where the loss became infinite."),
            Chart(summary, caption="Too small a rate crawls, too large a rate bounces or blows up (red ×: "
                                   "diverged).")]
    for r in res:
        if r.meta["diverged_at"] is not None:
            outs.append(Note(f"Rate {r.config.optim.lr:g}: **diverged at step {r.meta['diverged_at']}** "
                             "(the loss became NaN or infinite, so training stopped).", kind="warning"))
    me = next(r for r in res if math.isclose(r.config.optim.lr, chosen))
    if me.meta["diverged_at"] is None:
        outs += [Metric("final loss", f"{me.final['train_loss']:.3g}", help=f"training MSE at rate {chosen:g}"),
                 Metric("test R²", f"{me.final['test_metric']:.2f}", help=f"at rate {chosen:g}")]
    else:
        outs.append(Metric(f"rate {chosen:g}", f"diverged at step {me.meta['diverged_at']}"))
    best = ok.loc[ok["final train loss"].idxmin()]
    outs.append(Metric("best rate", f"{best['learning rate']:g}",
                       help=f"lowest final training loss after {v['steps']} updates"))
    show = tab.copy()
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if pd.isna(x) else f"step {int(x)}")
    for c in ("final train loss", "test R²"):
        show[c] = show[c].map(lambda x: "—" if pd.isna(x) else f"{x:.3f}")
    outs.append(Table(show.set_index("learning rate"),
                      caption="All eight runs were trained together in one call to the engine."))
    return outs


# ============================================================ step 2: batch, stochastic, minibatch

BATCHES = (0, 1, 16, 64)  # 0 = the whole training set


def batch_name(bs: int) -> str:
    return {0: "full batch", 1: "stochastic"}.get(int(bs), f"minibatch {bs}")


def n_train(data: DataSpec) -> int:
    return len(D.load(data).X_train)


def updates_per_epoch(n: int, bs: int) -> int:
    """As the engine counts them: full minibatches only (a last partial batch is dropped)."""
    return max(1, n // min(bs or n, n))


def batch_experiments(epochs: int = 20, lr: float = 0.1) -> list[Experiment]:
    data = DataSpec("moons", n=400, noise=0.2)
    n = n_train(data)
    out = []
    for bs in BATCHES:
        per_epoch = updates_per_epoch(n, bs)
        out.append(Experiment(data=data, model=ModelSpec(hidden=(16, 16), activation="tanh"),
                              optim=OptimSpec("sgd", lr=float(lr)),
                              train=TrainSpec(epochs=int(epochs), batch_size=bs,
                                              record_every=max(1, per_epoch // 4))))
    return out


def batch_frame(results) -> pd.DataFrame:
    parts = []
    n = n_train(results[0].config.data)
    for r in results:
        bs = r.config.train.batch_size
        per_epoch = updates_per_epoch(n, bs)
        h = _finite(r.history[["step", "train_loss"]].copy(), "train_loss")
        h["epoch"] = h["step"] / per_epoch
        h["method"] = batch_name(bs)
        parts.append(h)
    return pd.concat(parts, ignore_index=True)


def _batch_demo(v, progress):
    res = run_many(batch_experiments(v["epochs"], v["lr"]), progress=progress)
    df = batch_frame(res)
    names = [batch_name(b) for b in BATCHES]
    col = alt.Color("method:N", sort=names, scale=alt.Scale(domain=names, range=["#4D4D4D", "#D55E00", "#009E73",
                                                                                  "#0072B2"]), title="",
                    legend=alt.Legend(orient="bottom", columns=2))
    base = alt.Chart(df).mark_line().encode(
        y=alt.Y("train_loss:Q", title="training loss (log)", scale=alt.Scale(type="log")), color=col,
        tooltip=["method", "step", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("train_loss:Q", format=".3f")])
    per_epoch = base.encode(x=alt.X("epoch:Q", title="epoch (passes over the data)")).properties(
        height=280, title="Per epoch")
    per_update = base.transform_filter("datum.step >= 1").encode(
        x=alt.X("step:Q", title="update (log)", scale=alt.Scale(type="log"))).properties(
        height=280, title="Per update")
    rows = []
    for r in res:
        rows.append({"method": batch_name(r.config.train.batch_size), "updates": r.meta["steps"],
                     "final train loss": round(r.final["train_loss"], 3),
                     "test accuracy": f"{r.final['test_metric']:.0%}",
                     "time (s)": "cached" if r.meta.get("cache_hit") else f"{r.meta['wall_time']:.2f}"})
    return [Columns([[Chart(per_epoch, caption="Same number of passes over the 240 training points.")],
                     [Chart(per_update, caption="Same curves against the number of weight updates.")]]),
            Table(pd.DataFrame(rows).set_index("method"),
                  caption="Time is the measured wall time of each run on this machine (or 'cached' when the "
                          "result came from the cache).")]


# ============================================================ step 3: the optimizer race

RACE_STEPS = (100, 200, 300, 500)
MULTS = (0.25, 0.5, 1.0, 2.0, 4.0)


RACE_PRESETS = (
    ("1 · Beale ×1", dict(surface="beale", mult=1.0, steps=300, x0=0.8, y0=1.6)),
    ("2 · Beale ×2", dict(surface="beale", mult=2.0, steps=300, x0=0.8, y0=1.6)),
    ("3 · Rosenbrock", dict(surface="rosenbrock", mult=0.25, steps=500, x0=-1.5, y0=2.0)),
    ("4 · saddle", dict(surface="saddle", mult=1.0, steps=100, x0=-1.5, y0=0.1)),
    ("5 · valley", dict(surface="quadratic", mult=1.0, steps=100, x0=-2.5, y0=1.0)),
)


def race_specs(mult: float = 1.0) -> dict:
    """The lecture notebook's optimizers and rates, each rate scaled by `mult`."""
    m = float(mult)
    return {
        "sgd": OptimSpec("sgd", lr=0.01 * m),
        "sgd_decay": OptimSpec("sgd", lr=0.02 * m, schedule="exponential", decay_rate=0.96, decay_steps=100),
        "momentum": OptimSpec("sgd", lr=0.005 * m, momentum=0.9),
        "nesterov": OptimSpec("sgd", lr=0.005 * m, momentum=0.9, nesterov=True),
        "adagrad": OptimSpec("adagrad", lr=0.4 * m, eps=1e-10),
        "rmsprop": OptimSpec("rmsprop", lr=0.1 * m),
        "adam": OptimSpec("adam", lr=0.2 * m),
        "sgd_cyclic": OptimSpec("sgd", lr=1e-4 * m, schedule="cyclic", max_lr_factor=1000.0, step_size=100),
    }


def race(surface: str = "beale", mult: float = 1.0, start=(0.8, 1.6), steps: int = 300,
         names=RACE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every optimizer's path on `surface`: (paths: optimizer, step, x, y, f, lr; summary per optimizer)."""
    specs = race_specs(mult)
    paths, rows = [], []
    for name in names:
        df, meta = trajectory(surface, specs[name], tuple(start), int(steps))
        df["optimizer"] = name
        paths.append(df)
        rows.append({"optimizer": name, "base rate": specs[name].lr, "final x": meta["final"][0],
                     "final y": meta["final"][1], "final f": meta["final_f"],
                     "distance to minimum": meta.get("distance_to_min", float("nan")),
                     "diverged at": meta["diverged_at"]})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(rows)


def contour(surface: str, n: int = 60) -> alt.Chart:
    """The surface as a heatmap over its plotting window, shaded by the rank of f (darker is higher)."""
    g = grid(surface, n)
    x0, x1, y0, y1 = SURFACES[surface].window
    dx, dy = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
    level = np.log10(1 + g["f"] - g["f"].min())
    g = g.assign(level=level.rank(pct=True), x2=g["x"] + dx, y2=g["y"] + dy)  # by rank: every band shows
    return alt.Chart(g).mark_rect(opacity=0.75).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title="x"), x2="x2:Q",
        y=alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title="y"), y2="y2:Q",
        color=alt.Color("level:Q", scale=alt.Scale(scheme="greys", reverse=False), legend=None), tooltip=[])


def race_chart(surface: str, paths: pd.DataFrame, names=RACE, height: int = 430) -> alt.LayerChart:
    s = SURFACES[surface]
    x0, x1, y0, y1 = s.window
    pad = 3 * max(x1 - x0, y1 - y0)
    shown = paths[np.isfinite(paths["x"]) & np.isfinite(paths["y"]) & (paths["x"].abs() < pad)
                  & (paths["y"].abs() < pad)]
    xs = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    ys = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    lines = alt.Chart(shown).mark_line(clip=True, strokeWidth=2.2).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order="step:Q",
        color=alt.Color("optimizer:N", scale=_opt_scale(names), title="optimizer",
                        legend=alt.Legend(orient="bottom", columns=4)),
        tooltip=["optimizer", "step", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"),
                 alt.Tooltip("f:Q", format=".3g"), alt.Tooltip("lr:Q", format=".3g")])
    layers = [contour(surface), lines]
    start = shown[shown["step"] == 0].head(1)
    dot = alt.Chart(start).mark_point(shape="circle", size=140, color="#000000", filled=True, clip=True)
    layers.append(dot.encode(x="x:Q", y="y:Q", tooltip=[alt.Tooltip("x:Q", title="start x"),
                                                        alt.Tooltip("y:Q", title="start y")]))
    if s.minimum is not None:
        mn = pd.DataFrame({"x": [s.minimum[0]], "y": [s.minimum[1]], "what": ["minimum"]})
        layers.append(alt.Chart(mn).mark_point(shape="diamond", size=260, color="#D55E00", filled=True).encode(
            x="x:Q", y="y:Q", tooltip=["what", "x", "y"]))
    return alt.layer(*layers).properties(height=height, title=f"{surface}: paths from the black dot")


def _race_demo(v, progress):
    surface = v["surface"]
    paths, tab = race(surface, v["mult"], (v["x0"], v["y0"]), v["steps"])
    outs = [Chart(race_chart(surface, paths),
                  caption="Background: f, shaded by rank (darker is higher). Red diamond: the minimum. Paths "
                          "leaving the window are cut at its edge.")]
    for _, r in tab.iterrows():
        if pd.notna(r["diverged at"]):
            outs.append(Note(f"{r['optimizer']}: **diverged at step {int(r['diverged at'])}** (the point ran "
                             "off to infinity); its path stops there.", kind="warning"))
    lrs = _finite(paths[["optimizer", "step", "lr"]], "lr")
    lr_ch = alt.Chart(lrs).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("lr:Q", scale=alt.Scale(type="log"), title="learning rate (log)"),
        color=alt.Color("optimizer:N", scale=_opt_scale(RACE), legend=None),
        tooltip=["optimizer", "step", alt.Tooltip("lr:Q", format=".3g")]).properties(
        height=240, title="Rate per step")
    show = tab.copy()
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if pd.isna(x) else f"step {int(x)}")
    for c in ("final x", "final y", "distance to minimum"):
        show[c] = [("—" if d != "—" or not np.isfinite(x) else f"{x:.3f}")
                   for x, d in zip(show[c], show["diverged at"])]
    show["final f"] = [("—" if d != "—" else f"{x:.2e}") for x, d in zip(tab["final f"], show["diverged at"])]
    show["base rate"] = show["base rate"].map(lambda x: f"{x:g}")
    outs.append(Table(show.set_index("optimizer"),
                      caption=f"After {v['steps']} steps. The minimum of {surface} is "
                              f"{SURFACES[surface].minimum or 'absent: a saddle has none'}."))
    outs.append(Chart(lr_ch, caption="sgd_decay decays its rate; sgd_cyclic cycles it between its base and 1000 "
                                     "times the base. Adaptive methods also rescale each coordinate, which this "
                                     "chart does not show."))
    return outs


# ============================================================ step 4: momentum on a narrow valley

MOM_NAMES = ("sgd", "momentum", "nesterov")


def momentum_paths(lr: float = 0.07, beta: float = 0.9, steps: int = 100):
    specs = {"sgd": OptimSpec("sgd", lr=lr), "momentum": OptimSpec("sgd", lr=lr, momentum=beta),
             "nesterov": OptimSpec("sgd", lr=lr, momentum=beta, nesterov=True)}
    paths, rows = [], []
    for name, spec in specs.items():
        df, meta = trajectory("quadratic", spec, SURFACES["quadratic"].start, int(steps))
        df["optimizer"] = name
        paths.append(df)
        y = df["y"].to_numpy()
        rows.append({"optimizer": name, "distance to minimum": meta.get("distance_to_min"),
                     "final f": meta["final_f"], "sign flips of y": int((np.diff(np.sign(y)) != 0).sum()),
                     "diverged at": meta["diverged_at"]})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(rows)


def _momentum_demo(v, progress):
    paths, tab = momentum_paths(v["lr"], v["beta"], v["steps"])
    ch = race_chart("quadratic", paths, MOM_NAMES, height=330).properties(title="f = (x² + 25y²)/2 from (-2.5, 1)")
    f = _finite(paths[["optimizer", "step", "f"]], "f")
    f = f[f["f"] > 0]
    fc = alt.Chart(f).mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("f:Q", scale=alt.Scale(type="log"), title="f (log)"),
        color=alt.Color("optimizer:N", scale=_opt_scale(MOM_NAMES), legend=None),
        tooltip=["optimizer", "step", alt.Tooltip("f:Q", format=".3g")]).properties(height=200)
    outs = [Chart(ch, caption="Steep across (y), shallow along (x): condition number 25."),
            Chart(fc, caption="The function value along each path.")]
    for _, r in tab.iterrows():
        if pd.notna(r["diverged at"]):
            outs.append(Note(f"{r['optimizer']}: **diverged at step {int(r['diverged at'])}**.", kind="warning"))
    show = tab.copy()
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if pd.isna(x) else f"step {int(x)}")
    show["distance to minimum"] = show["distance to minimum"].map(lambda x: f"{x:.2e}" if np.isfinite(x) else "—")
    show["final f"] = show["final f"].map(lambda x: f"{x:.2e}" if np.isfinite(x) else "—")
    outs.append(Table(show.set_index("optimizer"), caption="'sign flips of y' counts how often the path crossed "
                                                            "the valley floor: the zig-zag."))
    return outs


# ============================================================ step 5: Adam + L2 vs AdamW

DECAYS = (0.001, 0.003, 0.01, 0.03, 0.1)
WD_NAMES = ("adam", "adam + L2", "adamw")
WD_COLORS = {"adam": OPTIMIZER_COLORS["adam"], "adam + L2": "#332288", "adamw": OPTIMIZER_COLORS["adamw"]}


def decay_experiments(lam: float = 0.01) -> list[Experiment]:
    """Adam, Adam with (lam/2)·||w||² in the loss (its gradient is lam·w), AdamW with decay lam."""
    base = Experiment(data=DataSpec("moons", n=400, noise=0.2), model=ModelSpec(hidden=(16, 16), activation="tanh"),
                      optim=OptimSpec("adam", lr=0.01), train=TrainSpec(steps=300, record_every=5))
    return [base, base.replace(reg=RegSpec(l2=float(lam) / 2)),
            base.replace(optim=OptimSpec("adamw", lr=0.01, weight_decay=float(lam)))]


def weight_norm(result) -> pd.Series:
    """Norm of all weight matrices together, per recorded step."""
    cols = result.layer_columns("weight_norm")
    return np.sqrt((result.history[cols] ** 2).sum(axis=1))


def _decay_demo(v, progress):
    res = run_many(decay_experiments(v["lam"]), progress=progress)
    parts = []
    for name, r in zip(WD_NAMES, res):
        parts.append(pd.DataFrame({"step": r.history["step"], "weight norm": weight_norm(r),
                                   "train loss": r.history["train_loss"], "method": name}))
    df = pd.concat(parts, ignore_index=True)
    col = alt.Color("method:N", scale=color_scale(WD_COLORS, WD_NAMES), title="",
                    legend=alt.Legend(orient="bottom"))
    wn = alt.Chart(df).mark_line().encode(x="step:Q", y=alt.Y("weight norm:Q", title="‖W‖ (all layers)"), color=col,
                                          tooltip=["method", "step", alt.Tooltip("weight norm:Q", format=".2f")]
                                          ).properties(height=260, title="Weight norm")
    tl = alt.Chart(df).mark_line().encode(x="step:Q", y=alt.Y("train loss:Q", scale=alt.Scale(type="log"),
                                                              title="training loss (log)"), color=col,
                                          tooltip=["method", "step", alt.Tooltip("train loss:Q", format=".3f")]
                                          ).properties(height=260, title="Training loss")
    outs = [Columns([[Chart(wn, caption=f"λ = {v['lam']:g} for both kinds of decay.")],
                     [Chart(tl, caption="Adam at rate 0.01, 300 full-batch steps on moons.")]])]
    for name, r in zip(WD_NAMES, res):
        outs.append(Metric(name, f"‖W‖ = {float(weight_norm(r).iloc[-1]):.2f}",
                           help=f"final weight norm; train loss {r.final['train_loss']:.3f}, "
                                f"test accuracy {r.final['test_metric']:.0%}"))
    return outs


# ============================================================ step 6: schedules

SCHED_LRS = (0.03, 0.1, 0.3, 1.0)
SCHED_COLORS = {"constant": "#4D4D4D", "exponential": "#999999", "inverse_time": "#E69F00", "step": "#D55E00",
                "cyclic": OPTIMIZER_COLORS["sgd_cyclic"], "cosine_restarts": "#56B4E9"}


def schedule_table(lr: float = 0.3, steps: int = 300) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"step": np.arange(steps), "lr": lr_table(OptimSpec("sgd", lr=lr, schedule=s),
                                                                             steps), "schedule": s})
                      for s in SCHEDULES], ignore_index=True)


def schedule_experiments(lr: float = 0.3) -> list[Experiment]:
    return [Experiment(data=DataSpec("moons", n=400, noise=0.2), model=ModelSpec(hidden=(16, 16), activation="tanh"),
                       optim=OptimSpec("sgd", lr=float(lr), schedule=s), train=TrainSpec(steps=300, record_every=5))
            for s in SCHEDULES]


def _schedule_demo(v, progress):
    lr = float(v["lr"])
    tab = schedule_table(lr)
    col = alt.Color("schedule:N", scale=color_scale(SCHED_COLORS, SCHEDULES), title="",
                    legend=alt.Legend(orient="bottom", columns=3))
    lc = alt.Chart(tab).mark_line().encode(x="step:Q", y=alt.Y("lr:Q", title="learning rate"), color=col,
                                           tooltip=["schedule", "step", alt.Tooltip("lr:Q", format=".4f")]
                                           ).properties(height=280, title=f"Rate per step (base {lr:g})")
    res = run_many(schedule_experiments(lr), progress=progress)
    parts = []
    for r in res:
        h = _finite(r.history[["step", "train_loss"]].copy(), "train_loss")
        h["schedule"] = r.config.optim.schedule
        parts.append(h)
    df = pd.concat(parts, ignore_index=True)
    tc = alt.Chart(df).mark_line().encode(x="step:Q", y=alt.Y("train_loss:Q", scale=alt.Scale(type="log"),
                                                              title="training loss (log)"), color=col,
                                          tooltip=["schedule", "step", alt.Tooltip("train_loss:Q", format=".3f")]
                                          ).properties(height=280, title="Training on moons with each schedule")
    rows = [{"schedule": r.config.optim.schedule, "mean rate": float(lr_table(r.config.optim, 300).mean()),
             "final train loss": float("nan") if r.diverged else r.final["train_loss"],
             "diverged at": r.meta["diverged_at"]} for r in res]
    outs = [Chart(lc, caption="lr_table: the closed form the engine uses, equal to torch's schedulers."),
            Chart(tc, caption="Plain SGD, full batch, 300 steps, one call to the engine.")]
    for r in res:
        if r.diverged:
            outs.append(Note(f"{r.config.optim.schedule}: **diverged at step {r.meta['diverged_at']}**.",
                             kind="warning"))
    show = pd.DataFrame(rows).set_index("schedule")
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if pd.isna(x) else f"step {int(x)}")
    outs.append(Table(show.round(4), caption="Mean rate over the 300 steps and the loss at the end."))
    return outs


# ============================================================ step 7: optimizers on a real network

NET_MULTS = (0.1, 0.3, 1.0, 3.0, 10.0)


def net_specs(mult: float = 1.0) -> dict:
    m = float(mult)
    return {"sgd": OptimSpec("sgd", lr=0.05 * m), "momentum": OptimSpec("sgd", lr=0.05 * m, momentum=0.9),
            "nesterov": OptimSpec("sgd", lr=0.05 * m, momentum=0.9, nesterov=True),
            "adagrad": OptimSpec("adagrad", lr=0.05 * m, eps=1e-10), "rmsprop": OptimSpec("rmsprop", lr=0.003 * m),
            "adam": OptimSpec("adam", lr=0.003 * m), "adamw": OptimSpec("adamw", lr=0.003 * m, weight_decay=0.01)}


def net_experiments(data: str = "digits", mult: float = 1.0, steps: int = 200) -> list[Experiment]:
    if data == "digits":
        ds, model = DataSpec("digits", n=0), ModelSpec(hidden=(32,), activation="relu")
    else:
        ds, model = DataSpec("moons", n=400, noise=0.2), ModelSpec(hidden=(16, 16), activation="tanh")
    return [Experiment(data=ds, model=model, optim=spec,
                       train=TrainSpec(steps=int(steps), batch_size=64, record_every=max(1, int(steps) // 50)))
            for spec in net_specs(mult).values()]


def _nets_demo(v, progress):
    res = run_many(net_experiments(v["data"], v["mult"], v["steps"]), progress=progress)
    parts, rows = [], []
    for name, r in zip(NET_OPTS, res):
        h = r.history[["step", "train_loss", "val_metric"]].copy()
        h["optimizer"] = name
        parts.append(h)
        div = r.meta["diverged_at"]
        rows.append({"optimizer": name, "rate": r.config.optim.lr,
                     "final train loss": float("nan") if div is not None else r.final["train_loss"],
                     "test accuracy": float("nan") if div is not None else r.final["test_metric"],
                     "diverged at": div})
    df = pd.concat(parts, ignore_index=True)
    col = alt.Color("optimizer:N", scale=_opt_scale(NET_OPTS), title="", legend=alt.Legend(orient="bottom",
                                                                                           columns=4))
    loss = alt.Chart(_finite(df, "train_loss")).mark_line().encode(
        x="step:Q", y=alt.Y("train_loss:Q", scale=alt.Scale(type="log"), title="training loss (log)"), color=col,
        tooltip=["optimizer", "step", alt.Tooltip("train_loss:Q", format=".3f")]).properties(height=280)
    acc = alt.Chart(_finite(df, "val_metric")).mark_line().encode(
        x="step:Q", y=alt.Y("val_metric:Q", scale=alt.Scale(domain=[0, 1]), title="val. accuracy"), color=col,
        tooltip=["optimizer", "step", alt.Tooltip("val_metric:Q", format=".3f")]).properties(height=240)
    outs = [Chart(loss, caption="Minibatches of 64; the loss is measured on the whole training set."),
            Chart(acc, caption="Accuracy on the validation set.")]
    for row in rows:
        if row["diverged at"] is not None:
            outs.append(Note(f"{row['optimizer']}: **diverged at step {row['diverged at']}**.", kind="warning"))
    show = pd.DataFrame(rows).set_index("optimizer")
    show["test accuracy"] = show["test accuracy"].map(lambda x: "—" if pd.isna(x) else f"{x:.1%}")
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if x is None or pd.isna(x) else f"step {int(x)}")
    outs.append(Table(show.round(4), caption="Rates are the defaults below times the multiplier."))
    return outs


# ============================================================ step 8: batch normalization

BN_LRS = (0.03, 0.1, 0.3, 1.0)


def bn_experiments(activation: str = "sigmoid", depth: int = 6, lr: float = 0.1) -> list[Experiment]:
    return [Experiment(data=DataSpec("moons", n=400, noise=0.2),
                       model=ModelSpec(hidden=(16,) * int(depth), activation=activation, batch_norm=bn),
                       optim=OptimSpec("sgd", lr=float(lr)), train=TrainSpec(steps=300, record_every=5))
            for bn in (False, True)]


def _bn_demo(v, progress):
    res = run_many(bn_experiments(v["activation"], v["depth"], v["lr"]), progress=progress)
    parts = []
    for r in res:
        h = r.history[["step", "train_loss", "val_metric"]].copy()
        h["net"] = "with batch norm" if r.config.model.batch_norm else "without"
        parts.append(h)
    df = pd.concat(parts, ignore_index=True)
    col = alt.Color("net:N", scale=alt.Scale(domain=["without", "with batch norm"], range=["#D55E00", "#0072B2"]),
                    title="", legend=alt.Legend(orient="bottom"))
    loss = alt.Chart(_finite(df, "train_loss")).mark_line().encode(
        x="step:Q", y=alt.Y("train_loss:Q", title="training loss"), color=col,
        tooltip=["net", "step", alt.Tooltip("train_loss:Q", format=".3f")]).properties(height=260)
    acc = alt.Chart(_finite(df, "val_metric")).mark_line().encode(
        x="step:Q", y=alt.Y("val_metric:Q", scale=alt.Scale(domain=[0, 1]), title="validation accuracy"), color=col,
        tooltip=["net", "step", alt.Tooltip("val_metric:Q", format=".3f")]).properties(height=260)
    outs = [Columns([[Chart(loss, caption=f"{v['depth']} {v['activation']} layers of 16, SGD at {v['lr']:g}.")],
                     [Chart(acc, caption="Same runs, accuracy on the validation set.")]])]
    for r in res:
        name = "with batch norm" if r.config.model.batch_norm else "without batch norm"
        if r.diverged:
            outs.append(Note(f"The net {name} **diverged at step {r.meta['diverged_at']}**.", kind="warning"))
            outs.append(Metric(name, "—", help="test accuracy"))
        else:
            outs.append(Metric(name, f"{r.final['test_metric']:.0%}",
                               help=f"test accuracy; final training loss {r.final['train_loss']:.3f}"))
    return outs


# ============================================================ the lesson


def experiments() -> list[Experiment]:
    """Every engine run the default views need (shipped in assets/cache/)."""
    out = lr_experiments(300)
    out += batch_experiments(20, 0.1)
    out += decay_experiments(0.01)
    out += schedule_experiments(0.3)
    out += net_experiments("digits", 1.0, 200)
    out += bn_experiments("sigmoid", 6, 0.1)
    return out


STEPS = (
    Step(
        id="lr", title="The learning rate",
        narrative=(
            "Gradient descent moves every weight a little against its gradient. The **learning rate** $\\eta$ "
            "sets how far. Too small, and training crawls: each step is safe but tiny. Too large, and a step "
            "jumps past the valley floor to a point higher up the other side; the next step overshoots again, "
            "by more, and the loss explodes.\n\n"
            "Below, one small network (two tanh layers of 16 units) learns to predict fuel consumption on "
            "Auto MPG with mean squared error, once for each rate on a log grid. All eight runs are trained "
            "together in a single pass of the engine."),
        equations=(r"w_{t+1} = w_t - \eta\,\nabla_w L(w_t)",
                   r"\text{on a quadratic } L = \tfrac{\lambda}{2}w^2:\quad w_{t+1} = (1 - \eta\lambda)\,w_t"
                   r"\;\Rightarrow\;\text{converges iff } 0 < \eta < 2/\lambda"),
        controls=(LogSlider("lr", "highlight the rate", LR_GRID, 0.03),
                  Select("steps", "updates", LR_STEPS, 300)),
        demo=_lr_demo, heavy=True,
        notice=("- After 300 updates the rate 0.03 ends with the lowest training loss on the grid.\n"
                "- The smallest rate, 0.0003, ends more than 10 times higher: it crawls.\n"
                "- 0.1 is already too large: it ends worse than 0.03.\n"
                "- The two largest rates, 0.3 and 1, **diverge** within the first 30 updates: the loss becomes "
                "infinite and the run stops."),
        question=Question(
            "On the quadratic L = λw²/2, which learning rates make gradient descent converge?",
            ("Any η > 0", "0 < η < 2/λ", "0 < η < 1/λ only", "Only η = 1/λ"), 1,
            ("A large η makes |1 - ηλ| > 1, and the weight grows every step.",
             "Right: the weight is multiplied by (1 - ηλ) each step, which shrinks it iff |1 - ηλ| < 1.",
             "Between 1/λ and 2/λ the factor is negative but smaller than 1 in size: it oscillates and still "
             "converges.",
             "η = 1/λ jumps to the minimum in one step, but it is not the only rate that converges.")),
    ),
    Step(
        id="batch", title="Batch, stochastic and minibatch gradient descent",
        narrative=(
            "The loss is an average over the training set, so its gradient is too. **Batch** gradient descent "
            "computes the exact gradient on all $n$ points before each step. **Stochastic** gradient descent "
            "(SGD) uses one random point per step: a noisy estimate, but $n$ steps per pass over the data. "
            "**Minibatch** gradient descent sits in between, with $B$ points per step, and is what everyone "
            "uses: it keeps most of the noise's speed and lets the hardware work on a whole batch at once."),
        equations=(r"\nabla L(w) = \frac1n\sum_{i=1}^{n}\nabla \ell_i(w) \quad\text{(batch)}",
                   r"g_t = \frac1B\sum_{i\in\mathcal{B}_t}\nabla \ell_i(w_t),\quad "
                   r"\mathbb{E}[g_t] = \nabla L(w_t),\quad \text{updates per epoch} = \lfloor n/B\rfloor"),
        controls=(Slider("epochs", "epochs (passes over the data)", 2, 40, 20),
                  LogSlider("lr", "learning rate", (0.01, 0.03, 0.1, 0.3), 0.1)),
        demo=_batch_demo, heavy=True,
        notice=("- Per epoch, the stochastic run (240 updates per pass) drives the training loss far lower than "
                "full-batch descent (1 update per pass) in the same 20 epochs.\n"
                "- Per update, full-batch descent is the better step: its curve is smooth, the stochastic one is "
                "noisy.\n"
                "- Minibatches of 16 and 64 land in between: lower than full batch after 20 epochs, with 15 and "
                "3 updates per epoch instead of 240.\n"
                "- The time column is measured, not promised: many tiny updates cost more per epoch than a few "
                "large ones on most machines."),
        question=Question(
            "With 240 training points and minibatches of 16, how many updates does one epoch make?",
            ("1", "16", "15", "240"), 2,
            ("That is full-batch descent: one update per pass.",
             "16 is the batch size, not the number of batches.",
             "Right: 240 / 16 = 15 minibatches, one update each.",
             "That is stochastic descent with batches of one point.")),
    ),
    Step(
        id="race", title="The optimizer race on the Beale surface",
        narrative=(
            "A 2-D function makes optimizers visible. The Beale surface has its minimum at $(3, 0.5)$, flat "
            "plateaus, and steep walls; each optimizer starts at $(0.8, 1.6)$ with the rate the lecture "
            "notebook used. Use the multiplier to scale every rate at once, move the start, or switch to "
            "another surface. The same engine code that trains the networks moves these points."),
        equations=(SURFACES["beale"].latex,
                   r"\text{momentum: } v_t = \mu v_{t-1} + g_t,\; w_{t+1} = w_t - \eta v_t",
                   r"\text{Nesterov: } w_{t+1} = w_t - \eta\,(g_t + \mu v_t)",
                   r"\text{Adagrad: } G_t = G_{t-1} + g_t^2,\; w_{t+1} = w_t - \frac{\eta}{\sqrt{G_t}+\epsilon}\,g_t",
                   r"\text{RMSProp: } G_t = \alpha G_{t-1} + (1-\alpha) g_t^2 \text{ in place of the sum}",
                   r"\text{Adam: } m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\; v_t = \beta_2 v_{t-1} + (1-\beta_2) "
                   r"g_t^2",
                   r"w_{t+1} = w_t - \eta\,\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}"),
        controls=(Select("surface", "surface", tuple(SURFACES), "beale"),
                  LogSlider("mult", "learning-rate multiplier", MULTS, 1.0),
                  Select("steps", "steps", RACE_STEPS, 300),
                  Slider("x0", "start x", -4.5, 4.5, 0.8, 0.1),
                  Slider("y0", "start y", -4.5, 4.5, 1.6, 0.1)),
        presets=RACE_PRESETS,
        demo=_race_demo,
        notice=("- With the notebook's rates (multiplier 1) and 300 steps, Adam ends within 0.05 of $(3, 0.5)$ "
                "(0.006 away), while plain SGD is still 0.2 away.\n"
                "- sgd_cyclic creeps at first, then **diverges at step 111**, when its rising rate gets close "
                "to 0.1: a rate that is fine on a plateau is too large on a steep wall.\n"
                "- At multiplier 2, sgd_decay, momentum and Nesterov all diverge within 11 steps, while Adam, "
                "RMSProp and Adagrad keep going: dividing by $\\sqrt{v}$ caps the step size however steep the "
                "wall."),
        question=Question(
            "Why does Adam survive a doubled rate on Beale's steep walls when SGD with momentum does not?",
            ("Adam uses a smaller rate", "Adam's step is roughly η per coordinate, whatever the gradient's size",
             "Adam has no momentum", "Adam computes the exact Hessian"), 1,
            ("Adam's base rate here (0.2 × multiplier) is forty times larger than momentum's.",
             "Right: m/√v is about ±1 when gradients are consistent, so a huge gradient does not make a huge "
             "step.",
             "Adam keeps a moving average m of the gradients: that is momentum.",
             "Adam uses only first derivatives and their squares.")),
    ),
    Step(
        id="momentum", title="Momentum and Nesterov in a narrow valley",
        narrative=(
            "On an ill-conditioned function the gradient points mostly across the valley, not along it. Plain "
            "gradient descent bounces from wall to wall and creeps along the floor. **Momentum** keeps a running "
            "sum of past gradients: the across-valley components alternate in sign and cancel, the along-valley "
            "components agree and add up. **Nesterov** momentum evaluates the correction at the look-ahead "
            "point, so it reacts to a change of slope one step sooner."),
        equations=(r"f(x, y) = \tfrac12(x^2 + 25y^2):\quad \text{SGD multiplies } x \text{ by } (1-\eta)"
                   r"\text{ and } y \text{ by } (1 - 25\eta) \text{ each step}",
                   r"v_t = \mu v_{t-1} + \nabla f(w_t),\qquad w_{t+1} = w_t - \eta v_t"),
        controls=(LogSlider("lr", "learning rate", (0.005, 0.01, 0.02, 0.04, 0.05, 0.07, 0.09), 0.05),
                  Select("beta", "momentum μ", (0.5, 0.8, 0.9, 0.95, 0.99), 0.8),
                  Select("steps", "steps", (30, 50, 100, 200), 100)),
        demo=_momentum_demo,
        notice=("- At rate 0.05, SGD's y-coordinate is multiplied by 1 - 25·0.05 = -0.25 each step: it flips "
                "sign on every one of the 100 steps (a zig-zag that dies out quickly), while x shrinks only by "
                "0.95 per step: after 100 steps SGD is still more than 0.01 from the minimum.\n"
                "- Momentum and Nesterov with μ = 0.8 both end within 0.0001 of it.\n"
                "- Momentum is not free: at rate 0.07 Nesterov with μ = 0.8 diverges while heavy-ball momentum "
                "still converges, and above 2/25 = 0.08 plain SGD diverges too (try 0.09)."),
    ),
    Step(
        id="adamw", title="Adaptive rates and AdamW's decoupled weight decay",
        narrative=(
            "Adagrad divides each weight's step by the root of its summed squared gradients, so rarely "
            "updated weights keep large steps, but the sum only grows and the steps shrink for ever. RMSProp "
            "replaces the sum by a moving average; Adam adds momentum and corrects both averages' start-up "
            "bias.\n\n"
            "Weight decay shrinks weights towards zero. With plain SGD, adding $\\tfrac{\\lambda}{2}\\|w\\|^2$ "
            "to the loss and shrinking $w$ by $\\eta\\lambda w$ per step are the same thing. With Adam they are "
            "not: the penalty's gradient $\\lambda w$ goes through Adam's division by $\\sqrt{v}$. **AdamW** "
            "applies the decay to the weights directly, outside the adaptive step. Here the three are trained "
            "side by side with the same $\\lambda$."),
        equations=(r"\text{Adam + L2: } g_t = \nabla L(w_t) + \lambda w_t,\quad "
                   r"w_{t+1} = w_t - \eta\,\hat m_t / (\sqrt{\hat v_t}+\epsilon)",
                   r"\text{AdamW: } w_{t+1} = w_t - \eta\,\hat m_t / (\sqrt{\hat v_t}+\epsilon) - \eta\lambda w_t"),
        controls=(LogSlider("lam", "decay λ", DECAYS, 0.01),),
        demo=_decay_demo, heavy=True,
        notice=("- At λ = 0.01, Adam with the L2 penalty ends with a much smaller weight norm than AdamW, and a "
                "higher training loss.\n"
                "- AdamW's decay removes only ηλ = 0.0001 of each weight per step, so its weights stay within 5% "
                "of plain Adam's here.\n"
                "- The same λ is a very different regulariser in the two: the L2 gradient is divided by "
                "$\\sqrt{v}$, which is small for weights with small gradients, so those are pulled to zero "
                "hard."),
    ),
    Step(
        id="schedules", title="Learning-rate schedules",
        narrative=(
            "A schedule changes the rate during training: large early to move fast, small late to settle. "
            "Exponential and inverse-time decay shrink it smoothly, step decay halves it every 100 steps, "
            "cosine annealing with warm restarts lowers it along a cosine and jumps back up, and the cyclical "
            "policy climbs and falls between the base rate and six times the base."),
        equations=(r"\text{exponential: } \eta_t = \eta_0\, r^{t/T}\qquad \text{inverse time: } "
                   r"\eta_t = \frac{\eta_0}{1 + r\,t/T}\qquad "
                   r"\text{step: } \eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}",
                   r"\text{cosine: } \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})"
                   r"\big(1 + \cos(\pi\,t_{\text{cur}}/T_i)\big)"),
        controls=(LogSlider("lr", "base learning rate", SCHED_LRS, 0.3),),
        demo=_schedule_demo, heavy=True,
        notice=("- Every decaying schedule stays at or below the base rate, so in a short run they all end with "
                "a higher training loss than the constant rate.\n"
                "- The cyclical schedule spends much of its time above the base rate and ends with the lowest "
                "training loss of the six at base 0.3.\n"
                "- A schedule is one more hyperparameter: decay pays off in long runs whose constant rate is too "
                "large to settle, which 300 steps on moons does not reach."),
    ),
    Step(
        id="networks", title="Optimizers training a real network",
        narrative=(
            "Back to a real network: one hidden layer of 32 ReLU units on the 8×8 digits (10 classes), "
            "minibatches of 64, the same initial weights for every optimizer. Each optimizer uses a typical "
            "rate for its kind; the multiplier scales them all."),
        controls=(Select("data", "data set", ("digits", "moons"), "digits"),
                  LogSlider("mult", "learning-rate multiplier", NET_MULTS, 1.0),
                  Select("steps", "updates", (100, 200, 500), 200)),
        demo=_nets_demo, heavy=True,
        notice=("- In 200 updates on digits, SGD with momentum ends with a far lower training loss than plain "
                "SGD at the same rate.\n"
                "- Every other optimizer in the race also beats plain SGD's training loss here.\n"
                "- Multiply every rate by 10: momentum and Nesterov end with training losses above 10, while "
                "every adaptive method ends below 0.01."),
    ),
    Step(
        id="batchnorm", title="Batch normalization",
        narrative=(
            "We standardise the inputs so that every feature has mean 0 and variance 1. Inside a deep net, "
            "each layer's inputs are the previous layer's outputs, and their distribution shifts whenever "
            "earlier weights change (*internal covariate shift*). **Batch normalization** standardises every "
            "unit's pre-activation over the minibatch, then lets the network rescale and shift it with two "
            "learned parameters. Sigmoid units stay in their steep middle, and the gradient reaches the early "
            "layers."),
        equations=(r"\mu_B = \frac1m\sum_{i=1}^{m} z_i,\quad \sigma_B^2 = \frac1m\sum_{i=1}^{m}(z_i - \mu_B)^2",
                   r"\hat z_i = \frac{z_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\qquad "
                   r"\mathrm{BN}(z_i) = \gamma\,\hat z_i + \beta"),
        controls=(Select("activation", "activation", ("sigmoid", "tanh"), "sigmoid"),
                  Slider("depth", "hidden layers (16 units each)", 2, 8, 6),
                  LogSlider("lr", "learning rate (SGD)", BN_LRS, 0.1)),
        demo=_bn_demo, heavy=True,
        notice=("- Six sigmoid layers without batch norm do not learn at all in 300 steps: the training loss "
                "stays at ln 2 ≈ 0.693, the loss of guessing 50/50, and the test accuracy stays near chance.\n"
                "- The same net with batch norm reaches over 90% test accuracy in the same 300 steps."),
        question=Question(
            "At test time, which mean and variance does a batch-norm layer use?",
            ("The current test batch's", "Running averages collected during training",
             "Always 0 and 1", "The first training batch's"), 1,
            ("A prediction would then depend on which other points share its batch.",
             "Right: training keeps moving averages of μ and σ², and evaluation uses them.",
             "The layer standardises with statistics of the data, then γ and β rescale.",
             "One batch's statistics would be a noisy estimate.")),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Three questions on what the demos showed.",
        questions=(
            Question("The training loss jumps to infinity within a few steps. What do you change first?",
                     ("Lower the learning rate", "Train for more steps", "Add more layers",
                      "Use a larger batch only"), 0,
                     ("Right: steps that overshoot further each time are the signature of a rate above the "
                      "stable range (step 1).",
                      "More steps of a diverging run only diverge more.",
                      "Depth makes the problem harder, not easier.",
                      "A larger batch reduces noise but does not shrink a step that is too large.")),
            Question("Why does momentum help in a long, narrow valley?",
                     ("It makes the rate smaller", "Across-valley gradients cancel, along-valley ones add up",
                      "It uses second derivatives", "It normalises each coordinate by its gradient size"), 1,
                     ("The rate is unchanged; the velocity remembers past gradients.",
                      "Right: the zig-zag components alternate in sign and average out (step 4).",
                      "Momentum uses only gradients.",
                      "That is what RMSProp and Adam do, not momentum.")),
            Question("What does AdamW change compared with Adam plus an L2 penalty?",
                     ("It removes the momentum term", "It applies weight decay outside the adaptive step",
                      "It uses a learning-rate schedule", "It penalises |w| instead of w²"), 1,
                     ("AdamW keeps Adam's m and v.",
                      "Right: AdamW subtracts ηλw directly, so the decay is not divided by √v (step 5).",
                      "Schedules are a separate choice, for any optimizer.",
                      "That would be L1 regularisation.")),
            Question("Which statement about minibatch gradient descent is true?",
                     ("Its gradient is exact", "Its gradient is an unbiased but noisy estimate of the full one",
                      "It makes one update per epoch", "It cannot use momentum"), 1,
                     ("Only full-batch descent computes the exact gradient of the training loss.",
                      "Right: averaged over random batches it equals the full gradient (step 2).",
                      "It makes n/B updates per epoch.",
                      "Momentum and Adam are used with minibatches all the time.")),
        ),
    ),
)

LESSON = Lesson(
    id="optimizers", number=4, title="Optimizers",
    summary="From gradients to steps: the learning rate, batch vs stochastic descent, momentum, Adam and "
            "AdamW, schedules and batch norm, with an optimizer race on the Beale surface.",
    intro=("Backpropagation gives the gradient; the optimizer decides what step to take with it. This lesson "
           "races the common optimizers on a 2-D surface and on real networks, and shows what the learning "
           "rate, the batch size, schedules and batch normalization change."),
    steps=STEPS,
    references=("Duchi et al. 2011", "Tieleman & Hinton 2012", "Kingma & Ba 2015", "Loshchilov & Hutter 2019",
                "Smith 2017", "Ioffe & Szegedy 2015", "Goodfellow, Bengio & Courville 2016"),
)
