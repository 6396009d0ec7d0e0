"""Lesson 4: optimizers, live.

How gradient descent turns gradients into steps, and how the step rule changes what training does:
the learning rate (too small crawls, too large diverges), full-batch vs stochastic vs minibatch
updates, momentum and Nesterov, the adaptive methods (Adagrad, RMSProp, Adam) and AdamW's decoupled
weight decay, learning-rate schedules, and batch normalization. The optimizer race runs the engine's
own optimizers (equal to torch.optim, tested) on the Beale surface from (0.8, 1.6), with the rates of
the lecture notebook; the race and the valley are deterministic (no seed). Every comparison between
trained networks is a `Claim` measured over 10 seeds (init and data seed together) and quoted by the
notes through placeholders; tests/lessons/test_claims.py retrains each one with the cache off.

References: Duchi et al. 2011 (Adagrad); Tieleman & Hinton 2012 (RMSProp); Kingma & Ba 2015 (Adam);
Loshchilov & Hutter 2019 (AdamW); Smith 2017 (cyclical rates); Ioffe & Szegedy 2015 (batch norm);
Santurkar et al. 2018 (how batch norm helps); Goodfellow, Bengio & Courville 2016, ch. 8.
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
from lessons.charts import seed_chart, seed_curves
from lessons.claims import SEEDS, Claim
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


def seeded(exps, seed: int) -> list[Experiment]:
    """The same runs with seed `seed` for both the initial weights and the data (sample and split):
    a claim holds across both, not for one lucky draw. Seed 0 is the single run the demos show first."""
    s = int(seed)
    return [e.replace(seed=s, data=dict(seed=s)) for e in exps]


def _seed_chart(df: pd.DataFrame, x: str, y: str, y_title: str, angle: int = 0, **kw) -> alt.LayerChart:
    """lessons.charts.seed_chart with this lesson's x labels (upright) and legend choice."""
    return seed_chart(df, x, y, y_title=y_title, label_angle=angle, label_limit=90, legend=False, **kw)


def _seed_control():
    return Select("seed", "seed of the single run shown", SEEDS, 0,
                  help="Init and data seed of the one run drawn as curves; the evidence charts show all ten.")


def _final(r, key: str = "train_loss") -> float:
    return float("nan") if r.meta["diverged_at"] is not None else float(r.final[key])


def _of(k: int, n: int) -> str:
    return f"{k} of {n} seeds"


# ============================================================ step 1: the learning rate

LR_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
LR_STEPS = (100, 300, 1000)


def lr_experiments(steps: int = 300, seed: int = 0) -> list[Experiment]:
    """One tanh MLP (16, 16) on Auto MPG (MSE), plain full-batch gradient descent, one run per rate."""
    return seeded([Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=(16, 16), activation="tanh"),
                              optim=OptimSpec("sgd", lr=lr), train=TrainSpec(steps=int(steps), record_every=5))
                   for lr in LR_GRID], seed)


def lr_summary(results) -> pd.DataFrame:
    rows = []
    for r in results:
        div = r.meta["diverged_at"]
        rows.append({"seed": r.config.seed, "learning rate": r.config.optim.lr, "diverged at": div,
                     "final train loss": _final(r), "test R²": _final(r, "test_metric")})
    return pd.DataFrame(rows)


def _lr_losses(results) -> tuple[dict, dict]:
    return ({r.config.optim.lr: _final(r) for r in results},
            {r.config.optim.lr: r.meta["diverged_at"] for r in results})


def _lr_best(results) -> dict:
    loss, _ = _lr_losses(results)
    ok = {k: v for k, v in loss.items() if math.isfinite(v)}
    best = min(ok, key=ok.get)
    return {"best_rate": best, "at_003": float(math.isclose(best, 0.03))}


def _lr_crawl(results) -> dict:
    loss, _ = _lr_losses(results)
    return {"ratio": loss[0.0003] / min(v for v in loss.values() if math.isfinite(v))}


def _lr_too_big(results) -> dict:
    loss, div = _lr_losses(results)
    diverged = div[0.1] is not None
    return {"worse": float(diverged or loss[0.1] > loss[0.03]), "diverged": float(diverged)}


def _lr_diverge(results) -> dict:
    _, div = _lr_losses(results)
    return {"latest": float(max(div[0.3], div[1.0]))}  # a run that did not diverge: None -> TypeError, not held


_LR_RUNS = lambda s: lr_experiments(300, s)  # noqa: E731 - the default view, 300 updates
LR_BEST = Claim("lr_best", _LR_RUNS, _lr_best, lambda v: v["best_rate"] in (0.01, 0.03),
                what="the rate with the lowest final training loss is 0.01 or 0.03")
LR_CRAWL = Claim("lr_crawl", _LR_RUNS, _lr_crawl, lambda v: v["ratio"] > 5,
                 what="rate 0.0003 ends more than 5 times above the best rate's loss")
LR_TOO_BIG = Claim("lr_too_big", _LR_RUNS, _lr_too_big, lambda v: v["worse"] == 1.0,
                   what="rate 0.1 ends worse than 0.03 (higher loss or diverged)")
LR_DIVERGE = Claim("lr_diverge", _LR_RUNS, _lr_diverge, lambda v: v["latest"] <= 40,
                   what="rates 0.3 and 1 both diverge within 40 updates")
LR_CLAIMS = (LR_BEST, LR_CRAWL, LR_TOO_BIG, LR_DIVERGE)


def lr_sweep(steps: int = 300, progress=None) -> pd.DataFrame:
    """Every rate for every seed (one run_many): one row per (seed, rate)."""
    return lr_summary(run_many([e for s in SEEDS for e in lr_experiments(steps, s)], progress=progress))


def lr_table_over_seeds(sweep: pd.DataFrame) -> pd.DataFrame:
    n = sweep["seed"].nunique()
    rows = []
    for lr, g in sweep.groupby("learning rate"):
        div = g["diverged at"].dropna()
        ok = g["final train loss"].dropna()
        rows.append({"learning rate": lr, "diverged": _of(len(div), n),
                     "first divergence": "—" if div.empty else f"step {int(div.min())}",
                     "mean final loss": "—" if ok.empty else f"{ok.mean():.3g}",
                     "sd": "—" if len(ok) < 2 else f"{ok.std(ddof=1):.2g}",
                     "mean test R²": "—" if ok.empty else f"{g['test R²'].dropna().mean():.2f}"})
    return pd.DataFrame(rows).set_index("learning rate")


def _lr_demo(v, progress):
    sweep = lr_sweep(v["steps"], progress)
    seed, chosen = int(v["seed"]), float(v["lr"])
    res = run_many(lr_experiments(v["steps"], seed))  # cached: part of the sweep
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
    ).properties(height=250, title=f"Seed {seed}, one run per rate")
    ok = sweep.dropna(subset=["final train loss"])
    # log10 of the loss, on a linear axis: mean ± sd then spans decades, and never goes below zero on a log axis
    ev = _seed_chart(ok.assign(log_loss=np.log10(ok["final train loss"])), "learning rate", "log_loss",
                    x_title="learning rate", y_title="log₁₀ final training loss", height=250,
                    title=f"Final loss, {sweep['seed'].nunique()} seeds")
    outs = [Columns([[Chart(curves, caption="The thick line is the rate chosen with the slider. Diverged runs "
                                            "shoot off the top and stop where the loss became infinite.")],
                     [Chart(ev, caption="One faint dot per seed that did not diverge; line: mean, bar: ± 1 sd. "
                                        "Rates with no dots diverged in every seed (see the table).")]])]
    me = next(r for r in res if math.isclose(r.config.optim.lr, chosen))
    if me.meta["diverged_at"] is not None:
        outs.append(Note(f"Seed {seed}, rate {chosen:g}: **diverged at step {me.meta['diverged_at']}** (the loss "
                         "became NaN or infinite, so training stopped).", kind="warning"))
    for r in res:
        if r.meta["diverged_at"] is not None and not math.isclose(r.config.optim.lr, chosen):
            outs.append(Note(f"Seed {seed}, rate {r.config.optim.lr:g}: **diverged at step "
                             f"{r.meta['diverged_at']}**.", kind="warning"))
    mine = sweep[np.isclose(sweep["learning rate"], chosen)]
    ndiv = int(mine["diverged at"].notna().sum())
    if ndiv < len(mine):
        outs.append(Metric("mean final loss", f"{mine['final train loss'].mean():.3g}",
                           help=f"training MSE at rate {chosen:g} after {v['steps']} updates, over the seeds that "
                                "did not diverge"))
    outs.append(Metric("seeds diverged", f"{ndiv} / {len(mine)}", help=f"at rate {chosen:g}"))
    means = ok.groupby("learning rate")["final train loss"].mean()
    never = sweep.groupby("learning rate")["diverged at"].apply(lambda s: s.isna().all())
    best = means[never[means.index]].idxmin()
    outs.append(Metric("best rate", f"{best:g}",
                       help=f"lowest mean final training loss over seeds after {v['steps']} updates, among rates that "
                            "never diverged"))
    outs.append(Table(lr_table_over_seeds(sweep),
                      caption=f"{len(sweep)} runs (8 rates × {sweep['seed'].nunique()} seeds), trained together "
                              "in one call to the engine."))
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


def batch_experiments(epochs: int = 20, lr: float = 0.1, seed: int = 0) -> list[Experiment]:
    data = DataSpec("moons", n=400, noise=0.2)
    n = n_train(data)
    out = []
    for bs in BATCHES:
        per_epoch = updates_per_epoch(n, bs)
        out.append(Experiment(data=data, model=ModelSpec(hidden=(16, 16), activation="tanh"),
                              optim=OptimSpec("sgd", lr=float(lr)),
                              train=TrainSpec(epochs=int(epochs), batch_size=bs,
                                              record_every=max(1, per_epoch // 4))))
    return seeded(out, seed)


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


def rises(result) -> float:
    """Fraction of recorded intervals in which the training loss went up: how noisy the curve is."""
    loss = result.history["train_loss"].to_numpy(dtype=float)
    return float((np.diff(loss) > 0).mean())


def _by_batch(results) -> dict:
    return {r.config.train.batch_size: r for r in results}


_BATCH_RUNS = lambda s: batch_experiments(20, 0.1, s)  # noqa: E731 - the default view
BATCH_SGD = Claim("batch_sgd", _BATCH_RUNS,
                  lambda res: {"ratio": _by_batch(res)[0].final["train_loss"] / _by_batch(res)[1].final["train_loss"]},
                  lambda v: v["ratio"] > 1,
                  what="after 20 epochs, stochastic descent's training loss is below full batch's")
BATCH_MINI = Claim("batch_mini", _BATCH_RUNS,
                   lambda res: {f"gap{b}": _by_batch(res)[0].final["train_loss"] - _by_batch(res)[b].final["train_loss"]
                                for b in (16, 64)},
                   lambda v: v["gap16"] > 0 and v["gap64"] > 0,
                   what="minibatches of 16 and of 64 both end below full batch after 20 epochs")
BATCH_NOISE = Claim("batch_noise", _BATCH_RUNS,
                    lambda res: {"sgd": rises(_by_batch(res)[1]), "full": rises(_by_batch(res)[0])},
                    lambda v: v["sgd"] > v["full"] + 0.1,
                    what="the stochastic curve goes up between records far more often than full batch's")
BATCH_CLAIMS = (BATCH_SGD, BATCH_MINI, BATCH_NOISE)


def _batch_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in batch_experiments(v["epochs"], v["lr"], s)], progress=progress)
    seed = int(v["seed"])
    res = [r for r in sweep if r.config.seed == seed]
    df = batch_frame(res)
    names = [batch_name(b) for b in BATCHES]
    colors = dict(zip(names, ["#4D4D4D", "#D55E00", "#009E73", "#0072B2"]))
    col = alt.Color("method:N", sort=names, scale=color_scale(colors, names), title="",
                    legend=alt.Legend(orient="bottom", columns=2))
    base = alt.Chart(df).mark_line().encode(
        y=alt.Y("train_loss:Q", title="training loss (log)", scale=alt.Scale(type="log")), color=col,
        tooltip=["method", "step", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("train_loss:Q", format=".3f")])
    if v["axis"] == "epochs":
        curves = base.encode(x=alt.X("epoch:Q", title="epoch (passes over the data)")).properties(
            height=260, title=f"Seed {seed} (one run each)")
        cap = "Same number of passes over the 240 training points."
    else:
        curves = base.transform_filter("datum.step >= 1").encode(
            x=alt.X("step:Q", title="update (log)", scale=alt.Scale(type="log"))).properties(
            height=260, title=f"Seed {seed} (one run each)")
        cap = "The same runs against the number of weight updates."
    short = {0: "full", 1: "1", 16: "16", 64: "64"}  # x labels that fit a half-width chart
    fin = pd.DataFrame([{"seed": r.config.seed, "batch size": short[r.config.train.batch_size],
                         "final train loss": _final(r)} for r in sweep])
    ev = _seed_chart(_finite(fin, "final train loss"), "batch size", "final train loss", color="batch size",
                     colors={short[b]: colors[batch_name(b)] for b in BATCHES}, sort=list(short.values()),
                     height=260, y_title="final training loss",
                    title=f"All {len(SEEDS)} seeds after {v['epochs']} epochs")
    rows = []
    for r in res:
        rows.append({"method": batch_name(r.config.train.batch_size), "updates": r.meta["steps"],
                     "final train loss": round(_final(r), 3),
                     "test accuracy": "—" if r.diverged else f"{r.final['test_metric']:.0%}",
                     "time (s)": "cached" if r.meta.get("cache_hit") else f"{r.meta['wall_time']:.2f}"})
    return [Columns([[Chart(curves, caption=cap)],
                     [Chart(ev, caption="One dot per seed; line: mean, bar: ± 1 sd.")]]),
            Table(pd.DataFrame(rows).set_index("method"),
                  caption=f"Seed {seed}. Time is the measured wall time of each run on this machine (or 'cached' "
                          "when the result came from the cache).")]


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


def contour(surface: str, n: int = 45) -> alt.Chart:
    """The surface as a heatmap over its plotting window, shaded by the rank of f (darker is higher).

    Only what the marks draw is sent, rounded (DESIGN.md's budget: a step sends at most 100 KB)."""
    g = grid(surface, n)
    x0, x1, y0, y1 = SURFACES[surface].window
    dx, dy = (x1 - x0) / (n - 1), (y1 - y0) / (n - 1)
    level = np.log10(1 + g["f"] - g["f"].min())
    g = pd.DataFrame({"x": g["x"], "y": g["y"], "level": level.rank(pct=True)}).round(3)  # by rank: every band
    return alt.Chart(g).transform_calculate(x2=f"datum.x + {dx!r}", y2=f"datum.y + {dy!r}").mark_rect(
        opacity=0.75).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title="x"), x2="x2:Q",
        y=alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title="y"), y2="y2:Q",
        color=alt.Color("level:Q", scale=alt.Scale(scheme="greys", reverse=False), legend=None), tooltip=[])


def race_chart(surface: str, paths: pd.DataFrame, names=RACE, height: int = 430) -> alt.LayerChart:
    s = SURFACES[surface]
    x0, x1, y0, y1 = s.window
    pad = 3 * max(x1 - x0, y1 - y0)
    shown = paths[np.isfinite(paths["x"]) & np.isfinite(paths["y"]) & (paths["x"].abs() < pad)
                  & (paths["y"].abs() < pad)]
    shown = shown[["optimizer", "step", "x", "y", "f"]].assign(  # 4 significant digits: all a path needs
        **{c: shown[c].map(lambda v: float(f"{v:.4g}")) for c in ("x", "y", "f")})
    xs = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    ys = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    lines = alt.Chart(shown).mark_line(clip=True, strokeWidth=2.2).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order="step:Q",
        color=alt.Color("optimizer:N", scale=_opt_scale(names), title="optimizer",
                        legend=alt.Legend(orient="bottom", columns=4)),
        tooltip=["optimizer", "step", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"),
                 alt.Tooltip("f:Q", format=".3g")])
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
    lrs = lrs[(lrs["step"] % 3 == 0) | (lrs["step"] == lrs["step"].max())]  # a rate curve needs few points
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


def decay_experiments(lam: float = 0.01, seed: int = 0) -> list[Experiment]:
    """Adam, Adam with (lam/2)·||w||² in the loss (its gradient is lam·w), AdamW with decay lam.

    The engine's RegSpec.l2 is the coefficient of ||w||² (Lesson 6's convention, gradient 2·l2·w), so
    this lesson's (lam/2)·||w||² is RegSpec(l2=lam/2). The penalty covers weight matrices only; AdamW,
    like torch.optim.AdamW given all parameters, decays the biases too."""
    base = Experiment(data=DataSpec("moons", n=400, noise=0.2), model=ModelSpec(hidden=(16, 16), activation="tanh"),
                      optim=OptimSpec("adam", lr=0.01), train=TrainSpec(steps=300, record_every=10))
    return seeded([base, base.replace(reg=RegSpec(l2=float(lam) / 2)),
                   base.replace(optim=OptimSpec("adamw", lr=0.01, weight_decay=float(lam)))], seed)


def weight_norm(result) -> pd.Series:
    """Norm of all weight matrices together, per recorded step."""
    cols = result.layer_columns("weight_norm")
    return np.sqrt((result.history[cols] ** 2).sum(axis=1))


def _norms(res) -> dict:
    return {name: float(weight_norm(r).iloc[-1]) for name, r in zip(WD_NAMES, res)}


_WD_RUNS = lambda s: decay_experiments(0.01, s)  # noqa: E731 - the default view, lambda = 0.01
WD_NORM = Claim("wd_norm", _WD_RUNS,
                lambda res: {"ratio": _norms(res)["adam + L2"] / _norms(res)["adamw"],
                             "l2": _norms(res)["adam + L2"], "adamw": _norms(res)["adamw"]},
                lambda v: v["ratio"] < 0.6,
                what="Adam + L2 ends with a weight norm below 0.6 of AdamW's at the same lambda")
WD_LOSS = Claim("wd_loss", _WD_RUNS,
                lambda res: {"gap": res[1].final["train_loss"] - res[2].final["train_loss"]},
                lambda v: v["gap"] > 0,
                what="Adam + L2 ends with a higher training loss than AdamW")
WD_CLOSE = Claim("wd_close", _WD_RUNS,
                 lambda res: {"rel": abs(_norms(res)["adamw"] - _norms(res)["adam"]) / _norms(res)["adam"]},
                 lambda v: v["rel"] < 0.05,
                 what="AdamW's weight norm stays within 5% of plain Adam's")
WD_CLAIMS = (WD_NORM, WD_LOSS, WD_CLOSE)


def _decay_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in decay_experiments(v["lam"], s)], progress=progress)
    parts, fin = [], []
    for i, r in enumerate(sweep):
        name = WD_NAMES[i % 3]
        parts.append(pd.DataFrame({"seed": r.config.seed, "step": r.history["step"], "weight norm": weight_norm(r),
                                   "method": name}))
        fin.append({"seed": r.config.seed, "method": name, "final train loss": _final(r),
                    "final weight norm": float(weight_norm(r).iloc[-1])})
    df, fin = pd.concat(parts, ignore_index=True), pd.DataFrame(fin)
    wn = seed_curves(df, "step", "weight norm", color="method", colors=WD_COLORS, y_title="‖W‖ (all layers)",
                     height=240, title=f"Weight norm, {len(SEEDS)} seeds")
    tl = _seed_chart(_finite(fin, "final train loss"), "method", "final train loss", color="method",
                    colors=WD_COLORS, sort=list(WD_NAMES), height=240, y_title="final training loss",
                    title="Final training loss per seed")
    outs = [Columns([[Chart(wn, caption=f"λ = {v['lam']:g} for both kinds of decay; thin: one seed, thick: "
                                        "the mean.")],
                     [Chart(tl, caption="Adam at rate 0.01, 300 full-batch steps on moons; one dot per seed.")]])]
    for name in WD_NAMES:
        g = fin[fin["method"] == name]
        outs.append(Metric(name, f"‖W‖ = {g['final weight norm'].mean():.2f} ± {g['final weight norm'].std():.2f}",
                           help=f"final weight norm, mean ± sd over {len(g)} seeds; mean training loss "
                                f"{g['final train loss'].mean():.3f}"))
    return outs


# ============================================================ step 6: schedules

SCHED_LRS = (0.03, 0.1, 0.3, 1.0)
SCHED_STEPS = 400  # two full cyclical cycles (half-period 100): the cyclical rate ends back at its base
SCHED_COLORS = {"constant": "#4D4D4D", "exponential": "#999999", "inverse_time": "#E69F00", "step": "#D55E00",
                "cyclic": OPTIMIZER_COLORS["sgd_cyclic"], "cosine_restarts": "#56B4E9"}
DECAYING = ("exponential", "inverse_time", "step", "cosine_restarts")


def schedule_table(lr: float = 0.3, steps: int = SCHED_STEPS) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"step": np.arange(steps), "lr": lr_table(OptimSpec("sgd", lr=lr, schedule=s),
                                                                             steps), "schedule": s})
                      for s in SCHEDULES], ignore_index=True)


def schedule_experiments(lr: float = 0.3, seed: int = 0) -> list[Experiment]:
    return seeded([Experiment(data=DataSpec("moons", n=400, noise=0.2),
                              model=ModelSpec(hidden=(16, 16), activation="tanh"),
                              optim=OptimSpec("sgd", lr=float(lr), schedule=s),
                              train=TrainSpec(steps=SCHED_STEPS, record_every=10))
                   for s in SCHEDULES], seed)


def _sched_losses(res) -> dict:
    return {r.config.optim.schedule: _final(r) for r in res}


def _sched_decay(res) -> dict:
    loss = _sched_losses(res)
    return {"gap": min(loss[s] for s in DECAYING) - loss["constant"]}


def _sched_cyclic(res) -> dict:
    loss = _sched_losses(res)
    return {"gap": min(v for k, v in loss.items() if k != "cyclic") - loss["cyclic"],
            "cyclic": loss["cyclic"], "constant": loss["constant"]}


_SCHED_RUNS = lambda s: schedule_experiments(0.3, s)  # noqa: E731 - the default view, base rate 0.3
SCHED_DECAY = Claim("sched_decay", _SCHED_RUNS, _sched_decay, lambda v: v["gap"] > 0,
                    what="every decaying schedule ends with a higher training loss than the constant rate")
SCHED_CYCLIC = Claim("sched_cyclic", _SCHED_RUNS, _sched_cyclic, lambda v: v["gap"] > 0,
                     what="the cyclical schedule ends with the lowest training loss of the six")
SCHED_CLAIMS = (SCHED_DECAY, SCHED_CYCLIC)


def _schedule_demo(v, progress):
    lr = float(v["lr"])
    tab = schedule_table(lr)
    tab = tab[(tab["step"] % 5 == 0) | (tab["step"] == SCHED_STEPS - 1)]  # corners fall on multiples of 100
    col = alt.Color("schedule:N", scale=color_scale(SCHED_COLORS, SCHEDULES), title="",
                    legend=alt.Legend(orient="bottom", columns=2))
    lc = alt.Chart(tab).mark_line().encode(x="step:Q", y=alt.Y("lr:Q", title="learning rate"), color=col,
                                           tooltip=["schedule", "step", alt.Tooltip("lr:Q", format=".4f")]
                                           ).properties(height=240, title=f"Rate per step (base {lr:g})")
    sweep = run_many([e for s in SEEDS for e in schedule_experiments(lr, s)], progress=progress)
    fin = pd.DataFrame([{"seed": r.config.seed, "schedule": r.config.optim.schedule, "final train loss": _final(r),
                         "diverged": r.diverged} for r in sweep])
    ev = _seed_chart(_finite(fin, "final train loss"), "schedule", "final train loss", color="schedule",
                    colors=SCHED_COLORS, sort=list(SCHEDULES), height=240, angle=-40, y_title="final training loss",
                    title=f"Final loss, {len(SEEDS)} seeds")
    outs = [Columns([[Chart(lc, caption="lr_table: the closed form the engine uses, equal to torch's schedulers.")],
                     [Chart(ev, caption=f"Plain SGD, full batch, {SCHED_STEPS} steps on moons; one dot per seed, "
                                        "line: mean, bar: ± 1 sd.")]])]
    rows = []
    for s in SCHEDULES:
        g = fin[fin["schedule"] == s]
        ok = g["final train loss"].dropna()
        rows.append({"schedule": s, "mean rate": float(lr_table(OptimSpec("sgd", lr=lr, schedule=s),
                                                               SCHED_STEPS).mean()),
                     "last rate": float(lr_table(OptimSpec("sgd", lr=lr, schedule=s), SCHED_STEPS)[-1]),
                     "mean final loss": float(ok.mean()) if len(ok) else float("nan"),
                     "diverged": _of(int(g["diverged"].sum()), len(g))})
        if g["diverged"].any():
            outs.append(Note(f"{s}: **diverged** in {_of(int(g['diverged'].sum()), len(g))}.", kind="warning"))
    outs.append(Table(pd.DataFrame(rows).set_index("schedule").round(4),
                      caption=f"Mean and last rate over the {SCHED_STEPS} steps; mean final loss over the seeds "
                              "that did not diverge."))
    return outs


# ============================================================ step 7: optimizers on a real network

NET_MULTS = (0.1, 0.3, 1.0, 3.0, 10.0)
ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw")


def net_specs(mult: float = 1.0) -> dict:
    m = float(mult)
    return {"sgd": OptimSpec("sgd", lr=0.05 * m), "momentum": OptimSpec("sgd", lr=0.05 * m, momentum=0.9),
            "nesterov": OptimSpec("sgd", lr=0.05 * m, momentum=0.9, nesterov=True),
            "adagrad": OptimSpec("adagrad", lr=0.05 * m, eps=1e-10), "rmsprop": OptimSpec("rmsprop", lr=0.003 * m),
            "adam": OptimSpec("adam", lr=0.003 * m), "adamw": OptimSpec("adamw", lr=0.003 * m, weight_decay=0.01)}


def net_experiments(data: str = "digits", mult: float = 1.0, steps: int = 200, seed: int = 0) -> list[Experiment]:
    if data == "digits":
        ds, model = DataSpec("digits", n=0), ModelSpec(hidden=(32,), activation="relu")
    else:
        ds, model = DataSpec("moons", n=400, noise=0.2), ModelSpec(hidden=(16, 16), activation="tanh")
    # record_every: 10 records per run keeps the 70-run sweep's evaluations cheap
    return seeded([Experiment(data=ds, model=model, optim=spec,
                              train=TrainSpec(steps=int(steps), batch_size=64, record_every=max(1, int(steps) // 10)))
                   for spec in net_specs(mult).values()], seed)


def _net_losses(res) -> dict:
    return {name: _final(r) for name, r in zip(NET_OPTS, res)}


def _nets_momentum(res) -> dict:
    loss = _net_losses(res)
    return {"ratio": loss["sgd"] / loss["momentum"]}


def _nets_all(res) -> dict:
    loss = _net_losses(res)
    return {"gap": loss["sgd"] - max(loss[k] for k in NET_OPTS if k != "sgd")}


def _nets_hot(res) -> dict:
    # a diverged run counts as a huge loss: above 10 for momentum, never below 0.01 for an adaptive one
    loss = {name: float(r.final["train_loss"]) if r.meta["diverged_at"] is None else 1e30
            for name, r in zip(NET_OPTS, res)}
    return {"sgd_mom": min(loss["momentum"], loss["nesterov"]), "adaptive": max(loss[k] for k in ADAPTIVE)}


_NET_RUNS = lambda s: net_experiments("digits", 1.0, 200, s)  # noqa: E731 - the default view
NETS_MOMENTUM = Claim("nets_momentum", _NET_RUNS, _nets_momentum, lambda v: v["ratio"] > 5,
                      what="momentum's final training loss is below a fifth of plain SGD's at the same rate")
NETS_ALL = Claim("nets_all", _NET_RUNS, _nets_all, lambda v: v["gap"] > 0,
                 what="every other optimizer ends below plain SGD's training loss")
NETS_HOT = Claim("nets_hot", lambda s: net_experiments("digits", 10.0, 200, s), _nets_hot,
                 lambda v: v["sgd_mom"] > 10 and v["adaptive"] < 0.01,
                 what="at 10 times the rates, momentum and Nesterov end above 10, every adaptive method below 0.01")
NETS_CLAIMS = (NETS_MOMENTUM, NETS_ALL, NETS_HOT)


def _nets_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in net_experiments(v["data"], v["mult"], v["steps"], s)],
                     progress=progress)
    seed = int(v["seed"])
    parts, rows, fin = [], [], []
    for i, r in enumerate(sweep):
        name = NET_OPTS[i % len(NET_OPTS)]
        fin.append({"seed": r.config.seed, "optimizer": name, "final train loss": _final(r),
                    "diverged": r.diverged})
        if r.config.seed != seed:
            continue
        h = r.history[["step", "train_loss", "val_metric"]].copy()
        h["optimizer"] = name
        parts.append(h)
        div = r.meta["diverged_at"]
        rows.append({"optimizer": name, "rate": r.config.optim.lr, "final train loss": _final(r),
                     "test accuracy": _final(r, "test_metric"), "diverged at": div})
    df, fin = pd.concat(parts, ignore_index=True), pd.DataFrame(fin)
    col = alt.Color("optimizer:N", scale=_opt_scale(NET_OPTS), title="", legend=alt.Legend(orient="bottom",
                                                                                           columns=4))
    loss = alt.Chart(_finite(df, "train_loss")).mark_line().encode(
        x="step:Q", y=alt.Y("train_loss:Q", scale=alt.Scale(type="log"), title="training loss (log)"), color=col,
        tooltip=["optimizer", "step", alt.Tooltip("train_loss:Q", format=".3f")]).properties(
        height=240, title=f"Seed {seed}, one run each")
    ok = fin[np.isfinite(fin["final train loss"]) & (fin["final train loss"] > 0)]
    ev = _seed_chart(ok.assign(log_loss=np.log10(ok["final train loss"])), "optimizer", "log_loss",
                    color="optimizer", colors=OPTIMIZER_COLORS, sort=list(NET_OPTS), height=240, angle=-40,
                    y_title="log₁₀ final training loss", title=f"Final loss, {len(SEEDS)} seeds")
    outs = [Columns([[Chart(loss, caption="Minibatches of 64; the loss is measured on the whole training set.")],
                     [Chart(ev, caption="One dot per seed; line: mean, bar: ± 1 sd.")]])]
    for name in NET_OPTS:
        g = fin[fin["optimizer"] == name]
        if g["diverged"].any():
            outs.append(Note(f"{name}: **diverged** in {_of(int(g['diverged'].sum()), len(g))}.", kind="warning"))
    show = pd.DataFrame(rows).set_index("optimizer")
    show["test accuracy"] = show["test accuracy"].map(lambda x: "—" if pd.isna(x) else f"{x:.1%}")
    show["diverged at"] = show["diverged at"].map(lambda x: "—" if x is None or pd.isna(x) else f"step {int(x)}")
    means = fin.groupby("optimizer", sort=False)["final train loss"].mean()
    show["mean final loss (10 seeds)"] = [means[k] for k in show.index]
    outs.append(Table(show.round(4), caption=f"Seed {seed}'s run, and the mean over seeds. Rates are the defaults "
                                             "times the multiplier."))
    return outs


# ============================================================ step 8: batch normalization

BN_LRS = (0.03, 0.1, 0.3, 1.0)
# 240 training points as before, but 1,600 test points: one point moves the accuracy by 0.06 points
BN_DATA = DataSpec("moons", n=2000, noise=0.2, train_frac=0.12, val_frac=0.08, test_frac=0.8)


def bn_experiments(activation: str = "sigmoid", depth: int = 6, lr: float = 0.1, seed: int = 0) -> list[Experiment]:
    return seeded([Experiment(data=BN_DATA,
                              model=ModelSpec(hidden=(16,) * int(depth), activation=activation, batch_norm=bn),
                              optim=OptimSpec("sgd", lr=float(lr)), train=TrainSpec(steps=300, record_every=10))
                   for bn in (False, True)], seed)


_BN_RUNS = lambda s: bn_experiments("sigmoid", 6, 0.1, s)  # noqa: E731 - the default view
BN_STUCK = Claim("bn_stuck", _BN_RUNS,
                 lambda res: {"loss": res[0].final["train_loss"], "acc": res[0].final["test_metric"]},
                 lambda v: abs(v["loss"] - math.log(2)) < 0.01 and v["acc"] < 0.6,
                 what="six sigmoid layers without batch norm stay at ln 2 and near chance")
BN_RESCUE = Claim("bn_rescue", _BN_RUNS,
                  lambda res: {"acc": res[1].final["test_metric"],
                               "gain": res[1].final["test_metric"] - res[0].final["test_metric"]},
                  lambda v: v["acc"] > 0.9,
                  what="the same net with batch norm reaches over 90% test accuracy")
BN_CLAIMS = (BN_STUCK, BN_RESCUE)


def _bn_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in bn_experiments(v["activation"], v["depth"], v["lr"], s)],
                     progress=progress)
    parts, fin = [], []
    for r in sweep:
        net = "with batch norm" if r.config.model.batch_norm else "without"
        h = r.history[["step", "train_loss"]].copy()
        h["seed"], h["net"] = r.config.seed, net
        parts.append(h)
        fin.append({"seed": r.config.seed, "net": net, "test accuracy": _final(r, "test_metric"),
                    "diverged": r.diverged})
    df, fin = pd.concat(parts, ignore_index=True), pd.DataFrame(fin)
    colors = {"without": "#D55E00", "with batch norm": "#0072B2"}
    loss = seed_curves(_finite(df, "train_loss"), "step", "train_loss", color="net", colors=colors,
                       y_title="training loss", height=240, title=f"Training loss, {len(SEEDS)} seeds")
    acc = _seed_chart(_finite(fin, "test accuracy"), "net", "test accuracy", color="net", colors=colors,
                     sort=list(colors), height=240, y_title="test accuracy",
                     title="Test accuracy per seed")
    outs = [Columns([[Chart(loss, caption=f"{v['depth']} {v['activation']} layers of 16, SGD at {v['lr']:g}; "
                                          "thin: one seed, thick: the mean.")],
                     [Chart(acc, caption="Accuracy on 1,600 test points; one dot per seed, line: mean, "
                                         "bar: ± 1 sd.")]])]
    for net in colors:
        g = fin[fin["net"] == net]
        name = "with batch norm" if net != "without" else "without batch norm"
        ndiv = int(g["diverged"].sum())
        if ndiv:
            outs.append(Note(f"The net {name} **diverged** in {_of(ndiv, len(g))}.", kind="warning"))
        ok = g["test accuracy"].dropna()
        outs.append(Metric(name, "—" if ok.empty else f"{ok.mean():.0%}",
                           help=f"mean test accuracy over the {len(ok)} seeds that did not diverge"
                                + ("" if ok.empty else f" (lowest {ok.min():.0%}, highest {ok.max():.0%})")))
    return outs


# ============================================================ the lesson


def experiments() -> list[Experiment]:
    """Every engine run the default views need (shipped in assets/cache/): each heavy step's default
    settings over all ten seeds (the claims' sweeps add the same runs again; the cache stores them once)."""
    out = []
    for s in SEEDS:
        out += lr_experiments(300, s)
        out += batch_experiments(20, 0.1, s)
        out += decay_experiments(0.01, s)
        out += schedule_experiments(0.3, s)
        out += net_experiments("digits", 1.0, 200, s)
        out += bn_experiments("sigmoid", 6, 0.1, s)
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
            "together in a single pass of the engine, and the whole grid is repeated for ten seeds (initial weights "
            "and the train/test split), so you can see which statements hold for every draw."),
        equations=(r"w_{t+1} = w_t - \eta\,\nabla_w L(w_t)",
                   r"\text{on a quadratic } L = \tfrac{\lambda}{2}w^2:\quad w_{t+1} = (1 - \eta\lambda)\,w_t"
                   r"\;\Rightarrow\;\text{converges iff } 0 < \eta < 2/\lambda"),
        controls=(LogSlider("lr", "highlight the rate", LR_GRID, 0.03),
                  Select("steps", "updates", LR_STEPS, 300),
                  _seed_control()),
        demo=_lr_demo, heavy=True, claims=LR_CLAIMS,
        notice=("- After 300 updates, the lowest training loss on the grid comes at rate 0.01 or 0.03 in "
                "{lr_best.of} (at 0.03 itself in {lr_best[at_003]:.0%} of them).\n"
                "- The smallest rate, 0.0003, crawls: it ends {lr_crawl[ratio]:.0f} times above the best rate's "
                "loss on average (never less than {lr_crawl.lo[ratio]:.0f} times; more than 5 times in "
                "{lr_crawl.of}).\n"
                "- 0.1 is already too large: it ends worse than 0.03 in {lr_too_big.of}, and it diverges "
                "outright in {lr_too_big[diverged]:.0%} of them.\n"
                "- The two largest rates, 0.3 and 1, **diverge** in {lr_diverge.of}, all by update "
                "{lr_diverge.hi[latest]:.0f}: the loss becomes infinite and the run stops."),
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
                  LogSlider("lr", "learning rate", (0.01, 0.03, 0.1, 0.3), 0.1),
                  Select("axis", "curves against", ("epochs", "updates"), "epochs"),
                  _seed_control()),
        demo=_batch_demo, heavy=True, claims=BATCH_CLAIMS,
        notice=("- Per epoch, stochastic descent (240 updates per pass) ends below full-batch descent (1 update "
                "per pass) after 20 epochs in {batch_sgd.of}; full batch's final loss is "
                "{batch_sgd[ratio]:.1f} times stochastic's on average (at least {batch_sgd.lo[ratio]:.2f}).\n"
                "- Per update, full-batch descent is smooth and the stochastic curve is noisy: between two records "
                "its loss went up {batch_noise[sgd]:.0%} of the time on average, full batch's "
                "{batch_noise[full]:.0%} (far noisier in {batch_noise.of}).\n"
                "- Minibatches of 16 and 64 also end below full batch after 20 epochs, in {batch_mini.of}, with "
                "15 and 3 updates per epoch instead of 240.\n"
                "- The time column is measured for the run shown, not promised: on this engine many tiny updates "
                "usually cost more per epoch than a few large ones."),
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
            "another surface. The same engine code that trains the networks moves these points. Nothing here is "
            "random: each path is the same every time, so the race needs no seeds.\n\n"
            "*Conventions.* The rates come from the lecture notebook, which used TensorFlow/Keras. This app uses "
            "PyTorch's optimizer definitions and defaults throughout, and they differ: RMSProp averages the "
            "squared gradients with $\\alpha = 0.99$ here (Keras: $\\rho = 0.9$), Adam and RMSProp add "
            "$\\epsilon = 10^{-8}$ (Keras: $10^{-7}$), and Adagrad starts its sum at 0 with "
            "$\\epsilon = 10^{-10}$ (Keras starts it at 0.1). The paths can therefore differ from the "
            "notebook's figures."),
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
        notice=("- With the notebook's rates (multiplier 1) and 300 steps, Adam ends 0.006 from $(3, 0.5)$, "
                "while plain SGD is still 0.2 away (the race is deterministic: these are exact).\n"
                "- sgd_cyclic creeps at first while its rate climbs from 0.0001 to a peak of 0.1 at step 100. "
                "Near the minimum the surface curves steeply (largest curvature about 49, so by step 1's bound "
                "any rate above 2/49 ≈ 0.041 is unstable there): the loss starts climbing at step 103, grows "
                "fourfold at step 104, and the point **leaves the plane at step 111**, while the rate is already "
                "falling (0.089). A rate that is fine on a plateau is too large near a steep minimum.\n"
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
            "point, so it reacts to a change of slope one step sooner. Like the race, these paths are deterministic."),
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
            "side by side with the same $\\lambda$, for ten seeds each.\n\n"
            "*Conventions.* This lesson writes the penalty as $\\tfrac{\\lambda}{2}\\|w\\|^2$ (gradient "
            "$\\lambda w$), so that it lines up with AdamW's $\\eta\\lambda w$. Lesson 6 and the engine's "
            "`RegSpec` write $\\lambda\\|w\\|^2$ (gradient $2\\lambda w$), so the same $\\lambda$ there is twice "
            "this penalty, and this demo hands the engine $\\lambda/2$; texts use both. The penalty covers the "
            "weight matrices only, while AdamW here decays every parameter, biases included (as "
            "`torch.optim.AdamW` does when it is given all parameters)."),
        equations=(r"\text{Adam + L2: } g_t = \nabla L(w_t) + \lambda w_t,\quad "
                   r"w_{t+1} = w_t - \eta\,\hat m_t / (\sqrt{\hat v_t}+\epsilon)",
                   r"\text{AdamW: } w_{t+1} = w_t - \eta\,\hat m_t / (\sqrt{\hat v_t}+\epsilon) - \eta\lambda w_t"),
        controls=(LogSlider("lam", "decay λ", DECAYS, 0.01),),
        demo=_decay_demo, heavy=True, claims=WD_CLAIMS,
        notice=("- At λ = 0.01, Adam with the L2 penalty ends with a much smaller weight norm than AdamW: "
                "{wd_norm[l2]:.1f} against {wd_norm[adamw]:.1f} on average, below 0.6 of AdamW's in "
                "{wd_norm.of} (ratio {wd_norm[ratio]:.2f} ± {wd_norm.sd[ratio]:.2f}).\n"
                "- It also ends with the higher training loss, in {wd_loss.of} (by {wd_loss[gap]:.3f} on "
                "average).\n"
                "- AdamW's decay removes only ηλ = 0.0001 of each weight per step, so its weight norm stays within "
                "5% of plain Adam's in {wd_close.of} (mean difference {wd_close[rel]:.1%}).\n"
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
            "policy climbs and falls between the base rate and six times the base, once up and once down every "
            "200 steps. Each schedule trains the same net for 400 steps (two full cycles), for ten seeds."),
        equations=(r"\text{exponential: } \eta_t = \eta_0\, r^{t/T}\qquad \text{inverse time: } "
                   r"\eta_t = \frac{\eta_0}{1 + r\,t/T}\qquad "
                   r"\text{step: } \eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}",
                   r"\text{cosine: } \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})"
                   r"\big(1 + \cos(\pi\,t_{\text{cur}}/T_i)\big)"),
        controls=(LogSlider("lr", "base learning rate", SCHED_LRS, 0.3),),
        demo=_schedule_demo, heavy=True, claims=SCHED_CLAIMS,
        notice=("- Every decaying schedule stays at or below the base rate, so in a short run they all end with "
                "a higher training loss than the constant rate: even the best of the four ends above constant in "
                "{sched_decay.of} (by {sched_decay[gap]:.3f} on average).\n"
                "- The cyclical schedule spends much of its time above the base rate and, stopped after two full "
                "cycles with its rate back at the base, ends with the lowest training loss of the six in "
                "{sched_cyclic.of} (mean {sched_cyclic[cyclic]:.3f}, constant rate {sched_cyclic[constant]:.3f}).\n"
                "- Where you stop matters: stopped at the top of a cycle, the run ends at six times the base rate, "
                "still bouncing. Smith (2017) stops at the end of a cycle.\n"
                "- A schedule is one more hyperparameter: decay pays off in long runs whose constant rate is too "
                "large to settle, which 400 steps on moons does not reach."),
    ),
    Step(
        id="networks", title="Optimizers training a real network",
        narrative=(
            "Back to a real network: one hidden layer of 32 ReLU units on the 8×8 digits (10 classes), "
            "minibatches of 64, the same initial weights for every optimizer. Each optimizer uses a typical "
            "rate for its kind; the multiplier scales them all. Every setting is trained for ten seeds (initial "
            "weights, split and minibatch order); the curves show one of them."),
        controls=(Select("data", "data set", ("digits", "moons"), "digits"),
                  LogSlider("mult", "learning-rate multiplier", NET_MULTS, 1.0),
                  Select("steps", "updates", (100, 200, 500), 200),
                  _seed_control()),
        demo=_nets_demo, heavy=True, claims=NETS_CLAIMS,
        notice=("- In 200 updates on digits, SGD with momentum ends with a far lower training loss than plain "
                "SGD at the same rate: {nets_momentum[ratio]:.0f} times lower on average, more than 5 times lower "
                "in {nets_momentum.of}.\n"
                "- Every other optimizer in the race also ends below plain SGD's training loss, in "
                "{nets_all.of}.\n"
                "- Multiply every rate by 10: momentum and Nesterov end with training losses above 10 while every "
                "adaptive method ends below 0.01, in {nets_hot.of}."),
    ),
    Step(
        id="batchnorm", title="Batch normalization",
        narrative=(
            "We standardise the inputs so that every feature has mean 0 and variance 1. Inside a deep net, "
            "each layer's inputs are the previous layer's outputs, and their distribution shifts whenever "
            "earlier weights change. **Batch normalization** standardises every unit's pre-activation over the "
            "minibatch, then lets the network rescale and shift it with two learned parameters. Sigmoid units "
            "stay in their steep middle, and the gradient reaches the early layers.\n\n"
            "*Why it helps is debated.* Ioffe & Szegedy (2015) explained it by reducing that shift, which they "
            "called *internal covariate shift*. Santurkar et al. (2018, \"How does batch normalization help "
            "optimization?\") contest this: batch norm still helps when noise is added after it to bring the "
            "shift back, and they trace the gain to a smoother loss surface (gradients that change less from "
            "step to step), which tolerates larger steps. The demo below shows the effect, not the cause. Each "
            "setting runs for ten seeds, with 240 training points and 1,600 test points."),
        equations=(r"\mu_B = \frac1m\sum_{i=1}^{m} z_i,\quad \sigma_B^2 = \frac1m\sum_{i=1}^{m}(z_i - \mu_B)^2",
                   r"\hat z_i = \frac{z_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\qquad "
                   r"\mathrm{BN}(z_i) = \gamma\,\hat z_i + \beta"),
        controls=(Select("activation", "activation", ("sigmoid", "tanh"), "sigmoid"),
                  Slider("depth", "hidden layers (16 units each)", 2, 8, 6),
                  LogSlider("lr", "learning rate (SGD)", BN_LRS, 0.1)),
        demo=_bn_demo, heavy=True, claims=BN_CLAIMS,
        notice=("- Six sigmoid layers without batch norm do not learn in 300 steps: the training loss stays within "
                "0.01 of ln 2 ≈ 0.693, the loss of guessing 50/50, and the test accuracy near chance (mean "
                "{bn_stuck[acc]:.0%}), in {bn_stuck.of}.\n"
                "- The same net with batch norm reaches over 90% test accuracy in the same 300 steps in "
                "{bn_rescue.of} (mean {bn_rescue[acc]:.0%}, lowest {bn_rescue.lo[acc]:.0%})."),
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
                "Smith 2017", "Ioffe & Szegedy 2015", "Santurkar et al. 2018", "Goodfellow, Bengio & Courville 2016"),
)
