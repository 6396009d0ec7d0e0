"""Lesson 4: optimizers, live.

How gradient descent turns gradients into steps, and how the step rule changes what training does:
the learning rate (too small crawls, too large diverges), full-batch vs stochastic vs minibatch
updates, momentum and Nesterov, the adaptive methods (Adagrad, RMSProp, Adam) and AdamW's decoupled
weight decay, learning-rate schedules, and batch normalization; two bugs of real PyTorch loops
(a forgotten `optimizer.zero_grad()`, a forgotten `model.eval()` with batch norm) run both ways, in plain
torch, with the source shown being the source that runs. The optimizer race runs the engine's
own optimizers (equal to torch.optim, tested) on the Beale surface from (0.8, 1.6), with the rates of
the lecture notebook; the race and the valley are deterministic (no seed). Every comparison between
trained networks is a `Claim` measured over 10 seeds (init and data seed together) and quoted by the
notes through placeholders; tests/lessons/test_claims.py retrains each one with the cache off.

Each step is declared once, after its demo (controls, the runs it draws, claims); its words (slide,
key equation, speaker notes, what to notice, questions, and every caption and note of the demos) live
in lessons/text/en/optimizers.md, keyed by step id.

References: Sutskever et al. 2013 (Nesterov's look-ahead form);
Duchi et al. 2011 (Adagrad); Tieleman & Hinton 2012 (RMSProp); Kingma & Ba 2015 (Adam);
Loshchilov & Hutter 2019 (AdamW); Smith 2017 (cyclical rates); Ioffe & Szegedy 2015 (batch norm);
Santurkar et al. 2018 (how batch norm helps); Goodfellow, Bengio & Courville 2016, ch. 8.
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

from engine import SCHEDULES, DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run_many
from engine import data as D
from engine.memo import Memo
from engine.optim import lr_table, walk
from engine.surfaces import SURFACES, grid, trajectory
from engine.threads import cpu_threads
from lessons.charts import equal_axes, seed_chart, seed_curves, thin_path
from lessons.claims import SEEDS, Claim
from lessons.common import diverged_at, diverged_runs, finite_rows
from lessons.raster import value_map
from lessons.theme import (
    BATCH_COLORS,
    BATCH_NORM_COLORS,
    BN_MODE_COLORS,
    INPUT_SCALE_COLORS,
    L2_PENALTY_COLOR,
    OPTIMIZER_COLORS,
    PATH_START_COLOR,
    SCHEDULE_COLORS,
    SURFACE_MINIMUM_FILL,
    ZERO_GRAD_COLORS,
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
)
from lessons.words import Words

W = Words("optimizers")  # lessons/text/<lang>/optimizers.md: every sentence of this lesson

RACE = ("sgd", "sgd_decay", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "sgd_cyclic")
NET_OPTS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def label(name: str) -> str:
    """An optimizer's or a schedule's name as charts and tables show it; configs keep the internal id."""
    return W(f"name_{name}")


def _opt_scale(names):
    """The course's optimizer colours, keyed by the names the charts show."""
    return color_scale({label(n): OPTIMIZER_COLORS[n] for n in names}, [label(n) for n in names])


def _opt_colors(names) -> dict:
    return {label(n): OPTIMIZER_COLORS[n] for n in names}


def seeded(exps, seed: int) -> list[Experiment]:
    """The same runs with seed `seed` for both the initial weights and the data (sample and split):
    a claim holds across both, not for one lucky draw. Seed 0 is the single run the demos show first."""
    s = int(seed)
    return [e.replace(seed=s, data=dict(seed=s)) for e in exps]


def _seed_chart(df: pd.DataFrame, x: str, y: str, y_title: str, angle: int = 0, **kw) -> alt.LayerChart:
    """lessons.charts.seed_chart with this lesson's x labels (upright) and legend choice."""
    return seed_chart(df, x, y, y_title=y_title, label_angle=angle, label_limit=140, legend=False, **kw)


def _seed_control():
    return Select("seed", "seed of the single run shown", SEEDS, 0,
                  help=W("seed_help"))


def _final(r, key: str = "train_loss") -> float:
    return float("nan") if r.meta["diverged_at"] is not None else float(r.final[key])


def _of(k: int, n: int) -> str:
    return W("of_seeds", k=k, n=n)


def _at_step(step) -> str:
    """A table cell: "step 12" for a run that diverged there, "—" for one that did not."""
    return "—" if step is None or pd.isna(step) else W("at_step", step=int(step))


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
                     "first divergence": _at_step(None if div.empty else div.min()),
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
        h = finite_rows(r.history[["step", "train_loss"]], "train_loss", positive=True).copy()
        h["learning rate"] = str(r.config.optim.lr)
        h["chosen"] = "yes" if math.isclose(r.config.optim.lr, chosen) else "no"
        long.append(h)
    long = pd.concat(long, ignore_index=True)
    first = max(float(r.history["train_loss"].iloc[0]) for r in res)
    top = 10 ** math.ceil(math.log10(first * 3))  # diverging runs leave the plot instead of squashing it
    order = [str(x) for x in LR_GRID]
    line = alt.Chart(long).mark_line(clip=True).encode(
        x=alt.X("step:Q", title="update"),
        y=alt.Y("train_loss:Q", scale=alt.Scale(type="log", domain=[1, top], clamp=False),
                title="training loss E (MSE, log)"),
        color=alt.Color("learning rate:O", sort=order, scale=alt.Scale(scheme="viridis"), title="rate η"),
        tooltip=["learning rate", "step", alt.Tooltip("train_loss:Q", format=".3g")])
    # the highlighted rate drawn again on top, thick and edged in black, so no other line hides it
    hi = long[long["chosen"] == "yes"]
    curves = line.mark_line(clip=True, strokeWidth=1.3, opacity=0.8)
    if len(hi):
        chosen_line = line.transform_filter("datum.chosen == 'yes'")
        curves = alt.layer(curves, chosen_line.mark_line(clip=True, strokeWidth=7).encode(
            color=alt.value(PATH_START_COLOR)), chosen_line.mark_line(clip=True, strokeWidth=4))
    curves = curves.properties(height=250, title=W("lr.curves_title", seed=seed))
    ok = sweep.dropna(subset=["final train loss"])
    # log10 of the loss, on a linear axis: mean ± sd then spans decades, and never goes below zero on a log axis
    ev = _seed_chart(ok.assign(log_loss=np.log10(ok["final train loss"])), "learning rate", "log_loss",
                     x_title="learning rate", y_title="log₁₀ final training loss", height=250,
                     title=W("final_loss_title", n=sweep["seed"].nunique()))
    outs = [Columns([[Chart(curves, caption=W("lr.curves_caption"))],
                     [Chart(ev, caption=W("lr.evidence_caption"))]])]
    me = next(r for r in res if math.isclose(r.config.optim.lr, chosen))
    others = [r for r in res if not math.isclose(r.config.optim.lr, chosen)]
    for r in [me] + others:  # the chosen rate's note first
        if r.meta["diverged_at"] is not None:
            outs.append(Note(W("lr.diverged", seed=seed, rate=r.config.optim.lr,
                               diverged=diverged_at(r.meta["diverged_at"])), kind="warning"))
    mine = sweep[np.isclose(sweep["learning rate"], chosen)]
    ndiv = int(mine["diverged at"].notna().sum())
    if ndiv < len(mine):
        outs.append(Metric(W("lr.mean_loss"), f"{mine['final train loss'].mean():.3g}",
                           help=W("lr.mean_loss_help", rate=chosen, steps=v["steps"])))
    outs.append(Metric(W("lr.seeds_diverged"), f"{ndiv} / {len(mine)}", help=W("lr.seeds_diverged_help", rate=chosen)))
    means = ok.groupby("learning rate")["final train loss"].mean()
    never = sweep.groupby("learning rate")["diverged at"].apply(lambda s: s.isna().all())
    best = means[never[means.index]].idxmin()
    outs.append(Metric(W("lr.best_rate"), f"{best:g}", help=W("lr.best_rate_help", steps=v["steps"])))
    outs.append(Table(lr_table_over_seeds(sweep),
                      caption=W("lr.table_caption", runs=len(sweep), rates=sweep["learning rate"].nunique(),
                                seeds=sweep["seed"].nunique())))
    return outs


def lr_worked() -> dict:
    """Worked numbers of step 1: the engine's plain gradient descent on the valley f = (w1^2 + 25 w2^2)/2,
    whose curvature along w2 is h = 25: one step multiplies w2 by 1 - eta*h."""
    out = {"h": 25.0}
    for key, lr in (("a", 0.01), ("b", 0.05), ("c", 0.09)):
        df, _ = trajectory("quadratic", OptimSpec("sgd", lr=lr), SURFACES["quadratic"].start, 3)
        out[f"eta_{key}"], out[f"f_{key}"] = lr, df["y"].iloc[1] / df["y"].iloc[0]
        out[f"w3_{key}"] = df["y"].iloc[3]
    out["bound"] = 2 / out["h"]
    return out


LEARNING_RATE = Step(
    "lr",
    controls=(LogSlider("lr", "highlight the rate", LR_GRID, 0.03),
              Select("steps", "updates", LR_STEPS, 300),
              _seed_control()),
    runs=lambda v: [e for s in SEEDS for e in lr_experiments(v["steps"], s)],
    demo=_lr_demo, heavy=True, claims=LR_CLAIMS, worked_values=lr_worked,
)


# ============================================================ step 2: input normalisation

NORM_LRS = tuple(float(f"{10.0 ** (k / 2):.3g}") for k in range(-16, 1))  # 1e-8 ... 1, half a decade apart
NORM_MODELS = ("leaky_relu", "linear")  # a leaky-ReLU net (16, 16) and a linear model (the closed-form reference)
NORM_STEPS = (100, 300, 1000)
INPUTS = ("raw", "standardised")  # legend entries


def norm_data(standardise: bool, seed: int = 0) -> DataSpec:
    return DataSpec("autompg", n=0, seed=int(seed), standardise=bool(standardise))


def norm_experiments(model: str = "leaky_relu", steps: int = 300, seed: int = 0) -> list[Experiment]:
    """Plain full-batch gradient descent on Auto MPG (MSE), raw inputs then standardised ones, one run per
    rate of NORM_LRS each: the same network, the same split, the same initial weights."""
    spec = ModelSpec(hidden=()) if model == "linear" else ModelSpec(hidden=(16, 16), activation="leaky_relu")
    return seeded([Experiment(data=norm_data(std), model=spec, optim=OptimSpec("sgd", lr=lr),
                              train=TrainSpec(steps=int(steps), record_every=max(1, int(steps) // 30)))
                   for std in (False, True) for lr in NORM_LRS], seed)


def design(spec: DataSpec) -> np.ndarray:
    """The training inputs as the first layer sees them (float64), with a column of ones for the bias."""
    s = D.load(spec)
    X = (np.asarray(s.raw_train, dtype=np.float64) - s.mean) / s.std  # raw spec: mean 0, std 1
    return np.c_[X, np.ones(len(X))]


def conditioning(spec: DataSpec) -> dict:
    """The Hessian of a linear model's MSE, H = (2/n) X^T X (X with the bias column): its largest
    eigenvalue, its smallest non-zero one, their ratio (the condition number) and the largest stable
    rate of gradient descent on it, 2 / lambda_max.

    The three one-hot origin columns sum to the bias column (raw) or to zero (standardised), so H has
    one exact zero eigenvalue; gradient descent never moves along that direction, so the condition
    number that governs it is over the non-zero eigenvalues. From singular values (not eigenvalues of
    X^T X), so the raw inputs' tiny eigenvalues are not lost to rounding."""
    X = design(spec)
    sv = np.linalg.svd(X, compute_uv=False)
    live = sv[sv > sv[0] * max(X.shape) * np.finfo(np.float64).eps]
    lam = 2 * live ** 2 / len(X)
    return {"lam_max": float(lam[0]), "lam_min": float(lam[-1]), "kappa": float(lam[0] / lam[-1]),
            "bound": float(2 / lam[0])}


def stable(r) -> bool:
    """A run is stable when it did not diverge and ended below the loss it started from."""
    return r.meta["diverged_at"] is None and float(r.final["train_loss"]) < float(r.history["train_loss"].iloc[0])


def norm_summary(results) -> pd.DataFrame:
    return pd.DataFrame([{"seed": r.config.seed, "inputs": INPUTS[r.config.data.standardise],
                          "learning rate": r.config.optim.lr, "stable": stable(r),
                          "final train loss": _final(r) if stable(r) else float("nan")} for r in results])


def largest_stable(df: pd.DataFrame) -> float:
    """The largest rate of the grid up to which every rate was stable (one seed's rows of one input)."""
    ok = df.sort_values("learning rate")
    bad = ok[~ok["stable"]]
    below = ok if bad.empty else ok[ok["learning rate"] < bad["learning rate"].min()]
    return float(below["learning rate"].max()) if len(below) else float("nan")


def stable_over_seeds(sweep: pd.DataFrame, inputs: str, need: int = 8) -> float:
    """The largest rate that was stable in at least `need` of the seeds (nan when none was)."""
    g = sweep[sweep["inputs"] == inputs].groupby("learning rate")["stable"].sum()
    ok = g[g >= need]
    return float(ok.index.max()) if len(ok) else float("nan")


def best_rate(sweep: pd.DataFrame, inputs: str, need: int = 8) -> float:
    """The rate with the lowest mean final loss among those stable in at least `need` seeds."""
    g = sweep[sweep["inputs"] == inputs].groupby("learning rate")
    ok = g["stable"].sum() >= need
    means = g["final train loss"].mean()[ok]
    return float(means.idxmin()) if len(means) else float("nan")


def _norm_rates(res) -> dict:
    df = norm_summary(res)
    raw, std = (largest_stable(df[df["inputs"] == k]) for k in INPUTS)
    return {"raw": raw, "std": std, "decades": math.log10(std / raw)}


def _norm_loss(res) -> dict:
    df = norm_summary(res)
    raw, std = (df[df["inputs"] == k]["final train loss"].min() for k in INPUTS)
    return {"raw": raw, "std": std, "ratio": raw / std}


def _norm_kappa(res) -> dict:
    raw, std = (conditioning(r.config.data) for r in (res[0], res[-1]))
    return {"raw": raw["kappa"], "std": std["kappa"], "decades": math.log10(raw["kappa"] / std["kappa"]),
            "lam_raw": raw["lam_max"], "lam_std": std["lam_max"]}


def _norm_bound(res) -> dict:
    """Linear model: the measured largest stable rate against 2 / lambda_max, for both inputs."""
    df = norm_summary(res)
    out = {}
    for k, r in zip(INPUTS, (res[0], res[-1])):
        bound, meas = conditioning(r.config.data)["bound"], largest_stable(df[df["inputs"] == k])
        out[f"{k}_over"] = bound / meas  # in [1, sqrt(10)) when the grid's last stable rate is the one below the bound
    return out


_NORM_RUNS = lambda s: norm_experiments("leaky_relu", 300, s)  # noqa: E731 - the default view
NORM_RATE = Claim("norm_rate", _NORM_RUNS, _norm_rates, lambda v: v["decades"] >= 4,
                  what="standardised inputs stay stable at rates at least 10,000 times larger than raw ones")
NORM_LOSS = Claim("norm_loss", _NORM_RUNS, _norm_loss, lambda v: v["ratio"] > 2,
                  what="the best standardised run ends below half the best raw run's training loss")
NORM_KAPPA = Claim("norm_kappa", _NORM_RUNS, _norm_kappa, lambda v: v["decades"] > 6,
                   what="raw inputs make the linear model's Hessian over a million times worse conditioned")
NORM_BOUND = Claim("norm_bound", lambda s: norm_experiments("linear", 300, s), _norm_bound,
                   lambda v: all(1 <= v[f"{k}_over"] < math.sqrt(10) for k in INPUTS),
                   what="for the linear model the largest stable rate is the grid's last rate below 2 / lambda_max")
NORM_CLAIMS = (NORM_RATE, NORM_LOSS, NORM_KAPPA, NORM_BOUND)


def _norm_demo(v, progress):
    runs = [e for s in SEEDS for e in norm_experiments(v["model"], v["steps"], s)]
    res = run_many(runs, progress=progress)
    sweep = norm_summary(res)
    cond = {k: conditioning(norm_data(k == "standardised", 0)) for k in INPUTS}  # seed 0's split
    top = {k: stable_over_seeds(sweep, k) for k in INPUTS}
    best = {k: best_rate(sweep, k) for k in INPUTS}
    # final loss against the rate: every seed's stable run, mean and spread, and the largest stable rates
    ok = sweep.dropna(subset=["final train loss"])
    ok = ok.assign(log_rate=np.log10(ok["learning rate"]), log_loss=np.log10(ok["final train loss"]))
    ev = seed_chart(ok, "log_rate", "log_loss", color="inputs", colors=INPUT_SCALE_COLORS, x_type="Q",
                    x_title="log₁₀ learning rate", y_title="log₁₀ final training loss", height=250, legend=False,
                    title=W("normalise.rates_title", n=len(SEEDS)))
    marks = pd.DataFrame([{"inputs": k, "log_rate": math.log10(top[k])} for k in INPUTS if math.isfinite(top[k])])
    if len(marks):
        ev = ev + alt.Chart(marks).mark_rule(strokeDash=[5, 4], strokeWidth=2).encode(
            x="log_rate:Q", color=alt.Color("inputs:N", scale=color_scale(INPUT_SCALE_COLORS, list(INPUTS)),
                                            legend=None),
            tooltip=["inputs", alt.Tooltip("log_rate:Q", format=".1f", title="log₁₀ largest stable rate")])
    # training curves over seeds, each input at its best rate
    parts = []
    for r in res:
        k = INPUTS[r.config.data.standardise]
        if math.isfinite(best[k]) and math.isclose(r.config.optim.lr, best[k]) and stable(r):
            h = finite_rows(r.history[["step", "train_loss"]], "train_loss", positive=True).copy()
            h["seed"], h["inputs"] = r.config.seed, k
            parts.append(h)
    outs = []
    cols = [[Chart(ev, caption=W("normalise.rates_caption"))]]
    if parts:
        curves = seed_curves(pd.concat(parts, ignore_index=True), "step", "train_loss", color="inputs",
                             colors=INPUT_SCALE_COLORS, x_title="update", y_title="training loss (MSE, log)",
                             log_y=True,
                             height=250, title=W("normalise.curves_title", n=len(SEEDS)))
        cols.append([Chart(curves, caption=W("normalise.curves_caption", raw=best["raw"],
                                             std=best["standardised"]))])
    outs.append(Columns(cols))
    for k in INPUTS:
        name = W(f"normalise.{k}")
        outs.append(Metric(W("normalise.kappa", inputs=name), f"{cond[k]['kappa']:.2g}",
                           help=W("normalise.kappa_help", lam_max=cond[k]["lam_max"], lam_min=cond[k]["lam_min"])))
    for k in INPUTS:
        name = W(f"normalise.{k}")
        if math.isfinite(top[k]):
            outs.append(Metric(W("normalise.top", inputs=name), f"{top[k]:.3g}",
                               help=W("normalise.top_help", bound=cond[k]["bound"])))
        else:
            outs.append(Note(W("normalise.none_stable", inputs=name), kind="warning"))
    rows = []
    for k in INPUTS:
        g = sweep[sweep["inputs"] == k]
        at_best = g[np.isclose(g["learning rate"], best[k])]["final train loss"] if math.isfinite(best[k]) else []
        rows.append({"inputs": W(f"normalise.{k}"), "h_max": f"{cond[k]['lam_max']:.3g}",
                     "2/h_max": f"{cond[k]['bound']:.3g}", "largest stable rate": f"{top[k]:.3g}",
                     "best rate": f"{best[k]:.3g}",
                     "mean final loss there": "—" if not len(at_best) else f"{np.nanmean(at_best):.3g}"})
    outs.append(Table(pd.DataFrame(rows).set_index("inputs"),
                      caption=W("normalise.table_caption", runs=len(res), rates=len(NORM_LRS), steps=v["steps"])))
    return outs


NORMALISE = Step(
    "normalise",
    controls=(Select("model", "model", NORM_MODELS, "leaky_relu", help=W("normalise.model_help")),
              Select("steps", "updates", NORM_STEPS, 300)),
    runs=lambda v: [e for s in SEEDS for e in norm_experiments(v["model"], v["steps"], s)],
    presets=(("Linear model", {"model": "linear"}),),
    demo=_norm_demo, heavy=True, claims=NORM_CLAIMS,
)


# ============================================================ step 3: batch, stochastic, minibatch

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
        h = finite_rows(r.history[["step", "train_loss"]], "train_loss").copy()
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
    col = alt.Color("method:N", sort=names, scale=color_scale(BATCH_COLORS, names), title="",
                    legend=alt.Legend(orient="bottom", columns=2))
    base = alt.Chart(df).mark_line().encode(
        y=alt.Y("train_loss:Q", title="training loss (log)", scale=alt.Scale(type="log")), color=col,
        tooltip=["method", "step", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("train_loss:Q", format=".3f")])
    if v["axis"] == "epochs":
        curves = base.encode(x=alt.X("epoch:Q", title="epoch (passes over the data)")).properties(
            height=260, title=W("batch.curves_title", seed=seed))
        cap = W("batch.caption_epochs")
    else:
        curves = base.transform_filter("datum.step >= 1").encode(
            x=alt.X("step:Q", title="update (log)", scale=alt.Scale(type="log"))).properties(
            height=260, title=W("batch.curves_title", seed=seed))
        cap = W("batch.caption_updates")
    short = {0: "full", 1: "1", 16: "16", 64: "64"}  # x labels that fit a half-width chart
    fin = pd.DataFrame([{"seed": r.config.seed, "batch size": short[r.config.train.batch_size],
                         "final train loss": _final(r)} for r in sweep])
    ev = _seed_chart(finite_rows(fin, "final train loss"), "batch size", "final train loss", color="batch size",
                     colors={short[b]: BATCH_COLORS[batch_name(b)] for b in BATCHES}, sort=list(short.values()),
                     height=260, y_title="final training loss",
                     title=W("batch.evidence_title", n=len(SEEDS), epochs=v["epochs"]))
    rows = []
    for r in res:
        rows.append({"method": batch_name(r.config.train.batch_size), "updates": r.meta["steps"],
                     "final train loss": round(_final(r), 3),
                     "test accuracy": "—" if r.diverged else f"{r.final['test_metric']:.0%}",
                     "time (s)": W("batch.cached") if r.meta.get("cache_hit") else f"{r.meta['wall_time']:.2f}"})
    return [Columns([[Chart(curves, caption=cap)],
                     [Chart(ev, caption=W("seeds_evidence"))]]),
            Table(pd.DataFrame(rows).set_index("method"), caption=W("batch.table_caption", seed=seed))]


BATCH_SIZE = Step(
    "batch",
    controls=(Slider("epochs", "epochs (passes over the data)", 2, 40, 20),
              LogSlider("lr", "learning rate", (0.01, 0.03, 0.1, 0.3), 0.1),
              Select("axis", "curves against", ("epochs", "updates"), "epochs"),
              _seed_control()),
    runs=lambda v: [e for s in SEEDS for e in batch_experiments(v["epochs"], v["lr"], s)],
    demo=_batch_demo, heavy=True, claims=BATCH_CLAIMS,
)


# ============================================================ step 4: the optimizer race

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
    """Every optimizer's path on `surface`: (paths: optimizer, step, x, y, f, lr; summary per optimizer).

    Computed once per setting (memoised): the iteration scrubber only filters what is drawn."""
    paths, tab = _race(str(surface), float(mult), (float(start[0]), float(start[1])), int(steps), tuple(names))
    return paths.copy(), tab.copy()


@lru_cache(maxsize=32)
def _race(surface: str, mult: float, start: tuple, steps: int, names: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
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

    Drawn as one picture of the grid (lessons/raster.py), not a rectangle per cell (issue #12: the
    browser draws a picture in a fraction of the time, and it sends fewer bytes)."""
    g = grid(surface, n)
    x0, x1, y0, y1 = SURFACES[surface].window
    level = np.log10(1 + g["f"] - g["f"].min()).rank(pct=True)  # by rank: every band
    (image,) = value_map((x0, x1, y0, y1), level.to_numpy().reshape(n, n), scheme="greys", opacity=0.75,
                         x=alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title="w₁"),
                         y=alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title="w₂"))
    return image


def race_chart(surface: str, paths: pd.DataFrame, names=RACE, height: int = 430,
               upto: int | None = None, max_width: int = 760) -> alt.LayerChart:
    """The paths on the surface, one scale on both axes (draw it as `square`), `height` px tall or less
    so that it is at most `max_width` px wide. `upto`: draw each path only up to that iteration and mark
    where each optimizer is then (the notebook's iteration slider); None draws the whole paths."""
    s = SURFACES[surface]
    x0, x1, y0, y1 = s.window
    pad = 3 * max(x1 - x0, y1 - y0)
    if upto is not None:
        paths = paths[paths["step"] <= int(upto)]
    shown = paths[np.isfinite(paths["x"]) & np.isfinite(paths["y"]) & (paths["x"].abs() < pad)
                  & (paths["y"].abs() < pad)]
    shown = shown[["optimizer", "step", "x", "y", "f"]].assign(
        optimizer=shown["optimizer"].map(label))  # the names a reader knows, not the configs' ids
    # a point closer than a thousandth of the window to the last one drawn is not seen (issue #12)
    shown = thin_path(shown, "x", "y", by="optimizer", tol=((x1 - x0) / 1000, (y1 - y0) / 1000))
    xs = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    ys = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    lines = alt.Chart(shown).mark_line(clip=True, strokeWidth=2.2).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order="step:Q",
        color=alt.Color("optimizer:N", scale=_opt_scale(names), title="optimizer",
                        legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=["optimizer", "step", alt.Tooltip("x:Q", format=".3f", title="w₁"),
                 alt.Tooltip("y:Q", format=".3f", title="w₂"), alt.Tooltip("f:Q", format=".3g")])
    layers = [contour(surface), lines]
    start = shown[shown["step"] == 0].head(1)
    dot = alt.Chart(start).mark_point(shape="circle", size=140, color=PATH_START_COLOR, filled=True, clip=True)
    layers.append(dot.encode(x="x:Q", y="y:Q", tooltip=[alt.Tooltip("x:Q", title="start w₁"),
                                                        alt.Tooltip("y:Q", title="start w₂")]))
    if s.minimum is not None:
        mn = pd.DataFrame({"x": [s.minimum[0]], "y": [s.minimum[1]], "what": ["minimum"]})
        # a white star edged in black: no optimizer's colour (it was Nesterov's vermillion)
        layers.append(alt.Chart(mn).mark_point(shape="diamond", size=300, fill=SURFACE_MINIMUM_FILL, filled=True,
                                               stroke=PATH_START_COLOR, strokeWidth=2, opacity=1).encode(
            x="x:Q", y="y:Q", tooltip=["what", alt.Tooltip("x:Q", title="w₁"), alt.Tooltip("y:Q", title="w₂")]))
    if upto is not None:  # each optimizer's current point: the last one drawn
        now = shown.sort_values("step").groupby("optimizer", sort=False).tail(1)
        layers.append(alt.Chart(now).mark_point(shape="circle", size=110, filled=True, opacity=1, clip=True,
                                                stroke=PATH_START_COLOR, strokeWidth=1).encode(
            x="x:Q", y="y:Q", color=alt.Color("optimizer:N", scale=_opt_scale(names), legend=None),
            tooltip=["optimizer", "step", alt.Tooltip("x:Q", format=".3f", title="w₁"),
                     alt.Tooltip("y:Q", format=".3f", title="w₂"), alt.Tooltip("f:Q", format=".3g")]))
    size = equal_axes((x0, x1, y0, y1), height)
    if size["width"] > max_width:  # a long valley: as wide as the room, less tall
        size = equal_axes((x0, x1, y0, y1), height * max_width // size["width"])
    if upto is not None:
        return alt.layer(*layers).properties(**size, title=W(
            "race.chart_title_at", surface=surface, iteration=int(upto)))
    return alt.layer(*layers).properties(**size, title=W("race.chart_title", surface=surface))


def _path_notes(tab: pd.DataFrame) -> list:
    """A warning for each path (race or valley) that diverged: its point ran off to infinity and the path stops."""
    return [Note(W("path_diverged", optimizer=label(r["optimizer"]), diverged=diverged_at(r["diverged at"])),
                 kind="warning")
            for _, r in tab.iterrows() if pd.notna(r["diverged at"])]


def race_iteration(v) -> int | None:
    """The scrubber's iteration, clamped to the run's length; None at the last one (the whole paths)."""
    it = min(int(v.get("iteration", RACE_STEPS[-1])), int(v["steps"]))
    return None if it >= int(v["steps"]) else it


def _race_demo(v, progress):
    surface = v["surface"]
    paths, tab = race(surface, v["mult"], (v["x0"], v["y0"]), v["steps"])  # once per setting: scrubbing only filters
    upto = race_iteration(v)
    cap = W("race.chart_caption") if upto is None else W("race.chart_caption_at", iteration=upto, steps=v["steps"])
    x0, x1, y0, y1 = SURFACES[surface].window
    square = x1 - x0 == y1 - y0  # a square window beside its legend; a long valley as wide as the slide
    outs = [Chart(race_chart(surface, paths, height=240 if square else 430, upto=upto), caption=cap, square=True)]
    outs += _path_notes(tab)
    lrs = finite_rows(paths[["optimizer", "step", "lr"]], "lr")
    lrs = lrs.assign(optimizer=lrs["optimizer"].map(label))
    lrs = lrs[(lrs["step"] % 3 == 0) | (lrs["step"] == lrs["step"].max())]  # a rate curve needs few points
    lr_ch = alt.Chart(lrs).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("lr:Q", scale=alt.Scale(type="log"), title="learning rate (log)"),
        color=alt.Color("optimizer:N", scale=_opt_scale(RACE), legend=None),
        tooltip=["optimizer", "step", alt.Tooltip("lr:Q", format=".3g")]).properties(
        height=240, title=W("race.rate_title"))
    if upto is not None:  # where the scrubber is
        lr_ch = lr_ch + alt.Chart(pd.DataFrame({"step": [upto]})).mark_rule(
            color=PATH_START_COLOR, strokeDash=[4, 4]).encode(x="step:Q")
    show = tab.copy()
    show["diverged at"] = show["diverged at"].map(_at_step)
    show["optimizer"] = show["optimizer"].map(label)
    show = show.rename(columns={"final x": "final w₁", "final y": "final w₂"})
    for c in ("final w₁", "final w₂", "distance to minimum"):
        show[c] = [("—" if d != "—" or not np.isfinite(x) else f"{x:.3f}")
                   for x, d in zip(show[c], show["diverged at"])]
    show["final f"] = [("—" if d != "—" else f"{x:.2e}") for x, d in zip(tab["final f"], show["diverged at"])]
    show["base rate"] = show["base rate"].map(lambda x: f"{x:g}")
    outs.append(Table(show.set_index("optimizer"),
                      caption=W("race.table_caption", steps=v["steps"], surface=surface,
                                minimum=SURFACES[surface].minimum or W("race.no_minimum"))))
    outs.append(Chart(lr_ch, caption=W("race.rate_caption")))
    return outs


OPTIMIZER_RACE = Step(
    "race",
    controls=(Select("surface", "surface", tuple(SURFACES), "beale"),
              LogSlider("mult", "learning-rate multiplier", MULTS, 1.0),
              Select("steps", "steps", RACE_STEPS, 300),
              Slider("x0", "start w₁", -4.5, 4.5, 0.8, 0.1),
              Slider("y0", "start w₂", -4.5, 4.5, 1.6, 0.1),
              Slider("iteration", "iteration", 0, RACE_STEPS[-1], RACE_STEPS[-1], 1,
                     help=W("race.iteration_help"))),
    presets=RACE_PRESETS,
    demo=_race_demo,  # deterministic paths on a 2-D surface: no engine runs to declare
)


# ============================================================ step 5: momentum on a narrow valley

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
                     "final f": meta["final_f"], "sign flips of w₂": int((np.diff(np.sign(y)) != 0).sum()),
                     "diverged at": meta["diverged_at"]})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(rows)


def nesterov_lookahead(grad, w0, lr: float, beta: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nesterov momentum as the notes write it (Sutskever et al. 2013): the gradient is taken at the
    look-ahead point w + beta*v, v_{t+1} = beta*v_t - lr*grad(w_t + beta*v_t), w_{t+1} = w_t + v_{t+1}.
    Returns the points w_t and the look-ahead points w_t + beta*v_t, t = 0..steps. PyTorch's
    SGD(nesterov=True) keeps the look-ahead point as its parameter (tests/lessons/test_optimizers.py)."""
    w = np.asarray(w0, dtype=np.float64).copy()
    v = np.zeros_like(w)
    ws, looks = [w.copy()], [w.copy()]
    for _ in range(int(steps)):
        v = beta * v - lr * grad(w + beta * v)
        w = w + v
        ws.append(w.copy())
        looks.append(w + beta * v)
    return np.array(ws), np.array(looks)


def valley_grad(w) -> np.ndarray:
    """The gradient of the valley f = (w1^2 + 25 w2^2) / 2."""
    return np.array([w[0], 25.0 * w[1]])


def momentum_worked() -> dict:
    """Worked numbers of the momentum step: the step sizes of SGD with momentum under a constant
    gradient (towards eta / (1 - beta)), and Nesterov's look-ahead form against PyTorch's on the
    valley. The engine's SGD, equal to torch.optim.SGD step by step (tested)."""
    eta, beta = 0.01, 0.9
    w = walk(OptimSpec("sgd", lr=eta, momentum=beta), lambda w: np.array([1.0]), [0.0], 100)[:, 0]
    steps = -np.diff(w)
    lr, mu, start = 0.05, 0.8, SURFACES["quadratic"].start
    ws, looks = nesterov_lookahead(valley_grad, start, lr, mu, 3)
    pt = walk(OptimSpec("sgd", lr=lr, momentum=mu, nesterov=True), valley_grad, start, 3)
    return {"eta": eta, "beta": beta, "s1": steps[0], "s2": steps[1], "s3": steps[2], "s100": steps[99],
            "limit": eta / (1 - beta), "times": 1 / (1 - beta), "lr": lr, "mu": mu,
            "w1": ws[3][0], "w2": ws[3][1], "l1": looks[3][0], "l2": looks[3][1], "p1": pt[3][0], "p2": pt[3][1]}


def _f_chart(paths, names):
    """f along each optimizer's path, on a log scale (points where f is not finite and positive left out)."""
    f = finite_rows(paths[["optimizer", "step", "f"]], "f", positive=True)
    f = f.assign(optimizer=f["optimizer"].map(label))
    return alt.Chart(f).mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("f:Q", scale=alt.Scale(type="log"), title="f (log)"),
        color=alt.Color("optimizer:N", scale=_opt_scale(names), legend=None),
        tooltip=["optimizer", "step", alt.Tooltip("f:Q", format=".3g")])


def _momentum_demo(v, progress):
    paths, tab = momentum_paths(v["lr"], v["beta"], v["steps"])
    ch = race_chart("quadratic", paths, MOM_NAMES, height=330, max_width=320).properties(
        title=W("momentum.chart_title"))
    fc = _f_chart(paths, MOM_NAMES).properties(height=200, title=W("adaptive.f_title"))
    outs = [Chart(ch, caption=W("momentum.chart_caption"), square=True), Chart(fc, caption=W("momentum.f_caption"))]
    outs += _path_notes(tab)
    show = tab.copy()
    show["optimizer"] = show["optimizer"].map(label)
    show["diverged at"] = show["diverged at"].map(_at_step)
    show["distance to minimum"] = show["distance to minimum"].map(lambda x: f"{x:.2e}" if np.isfinite(x) else "—")
    show["final f"] = show["final f"].map(lambda x: f"{x:.2e}" if np.isfinite(x) else "—")
    outs.append(Table(show.set_index("optimizer"), caption=W("momentum.table_caption")))
    return outs


MOMENTUM = Step(
    "momentum",
    controls=(LogSlider("lr", "learning rate", (0.005, 0.01, 0.02, 0.04, 0.05, 0.07, 0.09), 0.05),
              Select("beta", "momentum β", (0.5, 0.8, 0.9, 0.95, 0.99), 0.8),
              Select("steps", "steps", (30, 50, 100, 200), 100)),
    demo=_momentum_demo,  # deterministic paths on the quadratic valley: no engine runs to declare
    worked_values=momentum_worked,
)


# ============================================================ a real loop without optimizer.zero_grad()

ZG_LRS = (0.01, 0.03, 0.1, 0.3)
ZG_STEPS = 200
ZG_VERSIONS = ("with zero_grad()", "without zero_grad()")  # chart and table labels


def sgd_loop(model, X, t, lr, steps,
             zero_grad=True):
    params = model.parameters()
    opt = torch.optim.SGD(params, lr=lr)
    bce = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(steps):
        # without zero_grad, .grad adds up
        if zero_grad:
            opt.zero_grad()
        loss = bce(model(X).squeeze(1), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def small_net(seed: int) -> torch.nn.Module:
    """A 2-16-1 tanh net in plain PyTorch, its initial weights drawn from `seed`."""
    torch.manual_seed(int(seed))
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))


def moons_tensors(seed: int, split: str = "train"):
    d = D.load(DataSpec("moons", n=400, noise=0.2, seed=int(seed)))
    return (torch.tensor(getattr(d, f"X_{split}"), dtype=torch.float32),
            torch.tensor(getattr(d, f"y_{split}"), dtype=torch.float32))


def _zero_grad_table(lr: float, steps: int) -> pd.DataFrame:
    rows = []
    with cpu_threads():  # many tiny ops: one thread when the machine is busy, as the engine's passes
        for seed in SEEDS:
            X, t = moons_tensors(seed)
            for version, zg in zip(ZG_VERSIONS, (True, False)):
                losses = sgd_loop(small_net(seed), X, t, lr=lr, steps=steps, zero_grad=zg)
                rows += [{"seed": seed, "version": version, "step": i + 1, "loss": x} for i, x in enumerate(losses)]
    return pd.DataFrame(rows)


def zero_grad_memo(lr: float = 0.1, steps: int = ZG_STEPS) -> Memo:
    return Memo(_zero_grad_table, (float(lr), int(steps)), deps=(sgd_loop, small_net, moons_tensors))


@lru_cache(maxsize=8)
def _zero_grad_runs(lr: float, steps: int) -> pd.DataFrame:
    return zero_grad_memo(lr, steps).get()


def zero_grad_runs(lr: float = 0.1, steps: int = ZG_STEPS) -> pd.DataFrame:
    """sgd_loop with and without zero_grad, the same net and data per seed, every seed: one row per
    (seed, version, step). Plain PyTorch (a second or two on two cores), kept on disk (engine.memo):
    the shipped copy covers every learning rate on the slider."""
    return _zero_grad_runs(float(lr), int(steps)).copy()


def zero_grad_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per seed: each version's final loss and how often its loss went up from one step to the next."""
    out = []
    for (seed, version), g in df.groupby(["seed", "version"]):
        loss = g.sort_values("step")["loss"].to_numpy()
        out.append({"seed": seed, "version": version, "final loss": float(loss[-1]),
                    "rises": float((np.diff(loss) > 0).mean()) if np.isfinite(loss).all() else float("nan")})
    return pd.DataFrame(out)


def _zero_grad_demo(v, progress):
    lr = float(v["lr"])
    df = zero_grad_runs(lr)
    summ = zero_grad_summary(df)
    wide = summ.pivot(index="seed", columns="version", values="final loss")
    lower = int((wide[ZG_VERSIONS[1]] < wide[ZG_VERSIONS[0]]).sum())  # a non-finite loss never counts as lower
    few = df[(df["step"] % 5 == 0) | (df["step"] == 1)]
    curves = seed_curves(finite_rows(few, "loss", positive=True), "step", "loss", color="version",
                         colors=ZERO_GRAD_COLORS, x_title="update", y_title="training loss (log)", log_y=True,
                         height=260, title=W("zero_grad.curves_title", n=len(SEEDS), lr=lr))
    code = Code(inspect.getsource(sgd_loop))
    rises = summ.groupby("version")["rises"].mean()
    fin = summ.groupby("version")["final loss"].mean()
    outs = [Columns([[code], [Chart(curves, caption=W("zero_grad.curves_caption", steps=ZG_STEPS))]]),
            Metric(W("zero_grad.lower"), _of(lower, len(wide)), help=W("zero_grad.lower_help", lr=lr))]
    for version in ZG_VERSIONS:
        outs.append(Metric(version, W("zero_grad.rose", rises=rises[version]),
                           help=W("zero_grad.rose_help", rises=rises[version], n=len(wide), loss=fin[version])))
    return outs


ZERO_GRAD = Step(
    "zero_grad",
    controls=(LogSlider("lr", "learning rate", ZG_LRS, 0.1),),
    demo=_zero_grad_demo,  # plain PyTorch (the code shown is the code that runs), every seed; memoised
)


# ============================================================ adaptive rates on the valley

ADAPT_NAMES = ("sgd", "adagrad", "rmsprop", "adam")
ADAPT_LRS = (0.01, 0.03, 0.1, 0.3)


def adaptive_paths(lr: float = 0.1, steps: int = 100):
    """Plain SGD at 0.05 (the momentum step's rate) and the adaptive methods at `lr` on the valley."""
    specs = {"sgd": OptimSpec("sgd", lr=0.05), "adagrad": OptimSpec("adagrad", lr=float(lr), eps=1e-10),
             "rmsprop": OptimSpec("rmsprop", lr=float(lr)), "adam": OptimSpec("adam", lr=float(lr))}
    paths, rows = [], []
    for name, spec in specs.items():
        df, meta = trajectory("quadratic", spec, SURFACES["quadratic"].start, int(steps))
        df["optimizer"] = name
        paths.append(df)
        first = df.iloc[1][["x", "y"]].to_numpy() - df.iloc[0][["x", "y"]].to_numpy()
        rows.append({"optimizer": name, "rate": spec.lr, "first step Δw₁": first[0], "first step Δw₂": first[1],
                     "distance to minimum": meta.get("distance_to_min"), "diverged at": meta["diverged_at"]})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(rows)


ADAPT_FIRST = (OptimSpec("adam", lr=0.1), OptimSpec("adagrad", lr=0.1, eps=1e-10),  # torch's defaults
               OptimSpec("rmsprop", lr=0.1), OptimSpec("sgd", lr=0.1))


def adaptive_worked() -> dict:
    """First steps of the four optimizers from the valley's start, where g = (-2.5, 25): Adam's and
    Adagrad's are lr * sign(g) in each coordinate, RMSProp's lr * sign(g) / sqrt(1 - alpha). The
    engine's optimizers, equal to torch.optim's with their default constants (tested)."""
    start, lr = SURFACES["quadratic"].start, ADAPT_FIRST[0].lr
    g = valley_grad(start)
    out = {"g1": g[0], "g2": g[1], "lr": lr}
    for spec in ADAPT_FIRST:
        w = walk(spec, valley_grad, start, 1)
        out[f"{spec.name}1"], out[f"{spec.name}2"] = w[1] - w[0]
    return out


def _adaptive_demo(v, progress):
    paths, tab = adaptive_paths(v["lr"], v["steps"])
    ch = race_chart("quadratic", paths, ADAPT_NAMES, height=300, max_width=320).properties(
        title=W("adaptive.chart_title"))
    fc = _f_chart(paths, ADAPT_NAMES).properties(height=300, title=W("adaptive.f_title"))
    outs = [Columns([[Chart(ch, caption=W("adaptive.chart_caption"), square=True)],
                     [Chart(fc, caption=W("adaptive.f_caption"))]])]
    outs += _path_notes(tab)
    show = tab.copy()
    show["optimizer"] = show["optimizer"].map(label)
    show["diverged at"] = show["diverged at"].map(_at_step)
    for c in ("first step Δw₁", "first step Δw₂"):
        show[c] = show[c].map(lambda x: f"{x:+.3f}")
    show["distance to minimum"] = show["distance to minimum"].map(lambda x: f"{x:.2e}" if np.isfinite(x) else "—")
    outs.append(Table(show.set_index("optimizer"), caption=W("adaptive.table_caption")))
    return outs


ADAPTIVE_RATES = Step(
    "adaptive",
    controls=(LogSlider("lr", "rate of the adaptive methods", ADAPT_LRS, 0.1),
              Select("steps", "steps", (30, 100, 200), 100)),
    demo=_adaptive_demo,  # deterministic paths on the valley: no engine runs to declare
    worked_values=adaptive_worked,
)


# ============================================================ step 6: Adam + L2 vs AdamW

DECAYS = (0.001, 0.003, 0.01, 0.03, 0.1)
WD_NAMES = ("adam", "adam + L2", "adamw")
WD_COLORS = {"adam": OPTIMIZER_COLORS["adam"], "adam + L2": L2_PENALTY_COLOR, "adamw": OPTIMIZER_COLORS["adamw"]}


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
                     height=240, title=W("adamw.norm_title", n=len(SEEDS)))
    tl = _seed_chart(finite_rows(fin, "final train loss"), "method", "final train loss", color="method",
                     colors=WD_COLORS, sort=list(WD_NAMES), height=240, y_title="final training loss",
                     title=W("adamw.loss_title"))
    outs = [Columns([[Chart(wn, caption=W("adamw.norm_caption", lam=v["lam"]))],
                     [Chart(tl, caption=W("adamw.loss_caption"))]])]
    for name in WD_NAMES:
        g = fin[fin["method"] == name]
        outs.append(Metric(name, W("adamw.norm_value", mean=g["final weight norm"].mean(),
                                   sd=g["final weight norm"].std()),
                           help=W("adamw.norm_help", n=len(g), loss=g["final train loss"].mean())))
    return outs


ADAMW = Step(
    "adamw",
    controls=(LogSlider("lam", "decay λ", DECAYS, 0.01),),
    runs=lambda v: [e for s in SEEDS for e in decay_experiments(v["lam"], s)],
    demo=_decay_demo, heavy=True, claims=WD_CLAIMS,
)


# ============================================================ step 7: schedules

SCHED_LRS = (0.03, 0.1, 0.3, 1.0)
SCHED_STEPS = 400  # two full cyclical cycles (half-period 100): the cyclical rate ends back at its base
DECAYING = ("exponential", "inverse_time", "step", "cosine_restarts")
SCHED_BATCHES = ("full batch", "minibatches of 8")


def schedule_table(lr: float = 0.3, steps: int = SCHED_STEPS) -> pd.DataFrame:
    """Every schedule's rate per step (the engine's closed form, equal to torch's schedulers); `schedule`
    holds the internal id."""
    return pd.concat([pd.DataFrame({"step": np.arange(steps), "lr": lr_table(OptimSpec("sgd", lr=lr, schedule=s),
                                                                             steps), "schedule": s})
                      for s in SCHEDULES], ignore_index=True)


def schedule_experiments(lr: float = 0.3, seed: int = 0, batch: str = SCHED_BATCHES[0]) -> list[Experiment]:
    """Plain SGD under every schedule on moons, full batch or minibatches of 8 (gradient noise that a
    constant rate never averages out)."""
    bs = 0 if batch == SCHED_BATCHES[0] else 8
    return seeded([Experiment(data=DataSpec("moons", n=400, noise=0.2),
                              model=ModelSpec(hidden=(16, 16), activation="tanh"),
                              optim=OptimSpec("sgd", lr=float(lr), schedule=s),
                              train=TrainSpec(steps=SCHED_STEPS, batch_size=bs, record_every=10 if bs == 0 else 20))
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


def _sched_noise(res) -> dict:
    loss = _sched_losses(res)
    return {"inv_gap": loss["constant"] - loss["inverse_time"],
            "best_gap": loss["constant"] - min(loss[s] for s in DECAYING),
            "constant": loss["constant"], "inverse_time": loss["inverse_time"]}


SCHED_NOISE = Claim("sched_noise", lambda s: schedule_experiments(1.0, s, SCHED_BATCHES[1]), _sched_noise,
                    lambda v: v["inv_gap"] > 0,
                    what="with minibatches of 8 at base rate 1, inverse-time decay ends below the constant rate")
SCHED_CLAIMS = (SCHED_DECAY, SCHED_CYCLIC, SCHED_NOISE)


def _schedule_demo(v, progress):
    lr = float(v["lr"])
    tab = schedule_table(lr)
    tab = tab[(tab["step"] % 5 == 0) | (tab["step"] == SCHED_STEPS - 1)]  # corners fall on multiples of 100
    tab = tab.assign(schedule=tab["schedule"].map(label))
    col = alt.Color("schedule:N", scale=color_scale({label(k): c for k, c in SCHEDULE_COLORS.items()},
                                                    [label(k) for k in SCHEDULES]), title="",
                    legend=alt.Legend(orient="bottom", columns=2))
    lc = alt.Chart(tab).mark_line().encode(x="step:Q", y=alt.Y("lr:Q", title="learning rate"), color=col,
                                           tooltip=["schedule", "step", alt.Tooltip("lr:Q", format=".4f")]
                                           ).properties(height=240, title=W("schedules.rate_title", lr=lr))
    sweep = run_many([e for s in SEEDS for e in schedule_experiments(lr, s, v["batch"])], progress=progress)
    fin = pd.DataFrame([{"seed": r.config.seed, "schedule": r.config.optim.schedule, "final train loss": _final(r),
                         "diverged": r.diverged} for r in sweep])
    fin["schedule"] = fin["schedule"].map(label)
    ev = _seed_chart(finite_rows(fin, "final train loss"), "schedule", "final train loss", color="schedule",
                     colors={label(k): c for k, c in SCHEDULE_COLORS.items()}, sort=[label(k) for k in SCHEDULES],
                     height=240, angle=-40,
                     y_title="final training loss", title=W("final_loss_title", n=len(SEEDS)))
    outs = [Columns([[Chart(lc, caption=W("schedules.rate_caption"))],
                     [Chart(ev, caption=W("schedules.evidence_caption", steps=SCHED_STEPS, batch=v["batch"]))]])]
    rows = []
    for s in SCHEDULES:
        g = fin[fin["schedule"] == label(s)]
        ok = g["final train loss"].dropna()
        rows.append({"schedule": label(s), "mean rate": float(lr_table(OptimSpec("sgd", lr=lr, schedule=s),
                                                               SCHED_STEPS).mean()),
                     "last rate": float(lr_table(OptimSpec("sgd", lr=lr, schedule=s), SCHED_STEPS)[-1]),
                     "mean final loss": float(ok.mean()) if len(ok) else float("nan"),
                     "diverged": _of(int(g["diverged"].sum()), len(g))})
        if g["diverged"].any():
            outs.append(Note(W("named_diverged", name=label(s), runs=diverged_runs(int(g["diverged"].sum()), len(g))),
                             kind="warning"))
    outs.append(Table(pd.DataFrame(rows).set_index("schedule").round(4),
                      caption=W("schedules.table_caption", steps=SCHED_STEPS)))
    return outs


LR_SCHEDULES = Step(
    "schedules",
    controls=(LogSlider("lr", "base learning rate", SCHED_LRS, 0.3),
              Select("batch", "points per update", SCHED_BATCHES, SCHED_BATCHES[0])),
    presets=(("Minibatch noise", {"lr": 1.0, "batch": SCHED_BATCHES[1]}),),
    runs=lambda v: [e for s in SEEDS for e in schedule_experiments(v["lr"], s, v["batch"])],
    demo=_schedule_demo, heavy=True, claims=SCHED_CLAIMS,
)


# ============================================================ step 8: optimizers on a real network

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
NETS_ADAM = Claim("nets_adam", _NET_RUNS,
                  lambda res: {"ratio": _net_losses(res)["adam"] / _net_losses(res)["momentum"],
                               "adam": _net_losses(res)["adam"], "momentum": _net_losses(res)["momentum"]},
                  lambda v: v["ratio"] > 2,
                  what="on digits, Adam (the Beale race's winner) ends with over twice momentum's training loss")
NETS_CLAIMS = (NETS_MOMENTUM, NETS_ALL, NETS_HOT, NETS_ADAM)


def _nets_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in net_experiments(v["data"], v["mult"], v["steps"], s)],
                     progress=progress)
    seed = int(v["seed"])
    parts, rows, fin = [], [], []
    for i, r in enumerate(sweep):
        name = NET_OPTS[i % len(NET_OPTS)]
        fin.append({"seed": r.config.seed, "optimizer": label(name), "final train loss": _final(r),
                    "diverged": r.diverged})
        if r.config.seed != seed:
            continue
        h = r.history[["step", "train_loss", "val_metric"]].copy()
        h["optimizer"] = label(name)
        parts.append(h)
        div = r.meta["diverged_at"]
        rows.append({"optimizer": label(name), "rate": r.config.optim.lr, "final train loss": _final(r),
                     "test accuracy": _final(r, "test_metric"), "diverged at": div})
    df, fin = pd.concat(parts, ignore_index=True), pd.DataFrame(fin)
    col = alt.Color("optimizer:N", scale=_opt_scale(NET_OPTS), title="", legend=alt.Legend(orient="bottom",
                                                                                           columns=3))
    loss = alt.Chart(finite_rows(df, "train_loss")).mark_line().encode(
        x="step:Q", y=alt.Y("train_loss:Q", scale=alt.Scale(type="log"), title="training loss (log)"), color=col,
        tooltip=["optimizer", "step", alt.Tooltip("train_loss:Q", format=".3f")]).properties(
        height=310, title=W("networks.curves_title", seed=seed))
    ok = fin[np.isfinite(fin["final train loss"]) & (fin["final train loss"] > 0)]
    ev = _seed_chart(ok.assign(log_loss=np.log10(ok["final train loss"])), "optimizer", "log_loss",
                     color="optimizer", colors=_opt_colors(NET_OPTS), sort=[label(n) for n in NET_OPTS],
                     height=310, angle=-40,
                     y_title="log₁₀ final training loss", title=W("final_loss_title", n=len(SEEDS)))
    outs = [Columns([[Chart(loss, caption=W("networks.curves_caption"))],
                     [Chart(ev, caption=W("seeds_evidence"))]])]
    for name in NET_OPTS:
        g = fin[fin["optimizer"] == label(name)]
        if g["diverged"].any():
            outs.append(Note(W("named_diverged", name=label(name),
                               runs=diverged_runs(int(g["diverged"].sum()), len(g))),
                             kind="warning"))
    show = pd.DataFrame(rows).set_index("optimizer")
    show["test accuracy"] = show["test accuracy"].map(lambda x: "—" if pd.isna(x) else f"{x:.1%}")
    show["diverged at"] = show["diverged at"].map(_at_step)
    means = fin.groupby("optimizer", sort=False)["final train loss"].mean()
    show["mean final loss (10 seeds)"] = [means[k] for k in show.index]
    outs.append(Table(show.round(4), caption=W("networks.table_caption", seed=seed)))
    return outs


NETWORKS = Step(
    "networks",
    controls=(Select("data", "data set", ("digits", "moons"), "digits"),
              LogSlider("mult", "learning-rate multiplier", NET_MULTS, 1.0),
              Select("steps", "updates", (100, 200, 500), 200),
              _seed_control()),
    runs=lambda v: [e for s in SEEDS for e in net_experiments(v["data"], v["mult"], v["steps"], s)],
    demo=_nets_demo, heavy=True, claims=NETS_CLAIMS,
)


# ============================================================ step 9: batch normalization

BN_LRS = (0.03, 0.1, 0.3, 1.0)
BN_MODES = ("model.eval()", "train mode")  # chart labels of the eval() demo
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


def predict(model, X, eval_mode=True,
            bs=100):
    if eval_mode:
        model.eval()  # running statistics
    else:
        model.train()  # each batch's own
    with torch.no_grad():
        out = [model(X[i:i + bs])
               for i in range(0, len(X), bs)]
    return torch.cat(out).squeeze(1)


def bn_net(seed: int) -> torch.nn.Module:
    """A 2-16-16-1 tanh net with batch norm after each hidden layer, in plain PyTorch."""
    torch.manual_seed(int(seed))
    nn = torch.nn
    return nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.Tanh(),
                         nn.Linear(16, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 1))


def bn_trained(seed: int, steps: int = 300) -> tuple:
    """bn_net trained with Adam on BN_DATA's 240 training points (full batch), with its test set
    sorted by class, as a file written class by class would be: (model, X_test, t_test)."""
    d = D.load(dataclasses.replace(BN_DATA, seed=int(seed)))
    X, t = torch.tensor(d.X_train), torch.tensor(d.y_train)
    model = bn_net(seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for _ in range(int(steps)):
        opt.zero_grad()
        loss_fn(model(X).squeeze(1), t).backward()
        opt.step()
    order = np.argsort(d.y_test, kind="stable")
    return model, torch.tensor(d.X_test[order]), torch.tensor(d.y_test[order])


def _bn_modes_table() -> pd.DataFrame:
    rows = []
    with cpu_threads():
        for seed in SEEDS:
            model, X, t = bn_trained(seed)
            before = model[1].running_mean.clone()
            for mode, ev in zip(BN_MODES, (True, False)):
                acc = float(((predict(model, X, eval_mode=ev) > 0).float() == t).float().mean())
                rows.append({"seed": seed, "mode": mode, "test accuracy": acc,
                             "running mean moved": float((model[1].running_mean - before).abs().max())})
    return pd.DataFrame(rows)


BN_MODES_MEMO = Memo(_bn_modes_table, deps=(bn_trained, bn_net, predict))


@lru_cache(maxsize=1)
def _bn_modes() -> pd.DataFrame:
    return BN_MODES_MEMO.get()


def bn_modes() -> pd.DataFrame:
    """For every seed: test accuracy of the trained batch-norm net predicted with model.eval() and left in
    train mode (batches of 100 of the class-sorted test set), and how far the first batch-norm layer's
    running mean moved during those predictions. Plain PyTorch, kept on disk (engine.memo)."""
    return _bn_modes().copy()


def _bn_demo(v, progress):
    sweep = run_many([e for s in SEEDS for e in bn_experiments(v["activation"], v["depth"], v["lr"], s)],
                     progress=progress)
    parts, fin = [], []
    for r in sweep:
        net = "with batch norm" if r.config.model.batch_norm else "without"  # legend entries
        h = r.history[["step", "train_loss"]].copy()
        h["seed"], h["net"] = r.config.seed, net
        parts.append(h)
        fin.append({"seed": r.config.seed, "net": net, "test accuracy": _final(r, "test_metric"),
                    "diverged": r.diverged})
    df, fin = pd.concat(parts, ignore_index=True), pd.DataFrame(fin)
    colors = BATCH_NORM_COLORS
    loss = seed_curves(finite_rows(df, "train_loss"), "step", "train_loss", color="net", colors=colors,
                       y_title="training loss", height=240, title=W("batchnorm.loss_title", n=len(SEEDS)))
    acc = _seed_chart(finite_rows(fin, "test accuracy"), "net", "test accuracy", color="net", colors=colors,
                      sort=list(colors), height=240, y_title="test accuracy", title=W("batchnorm.accuracy_title"))
    outs = [Columns([[Chart(loss, caption=W("batchnorm.loss_caption", depth=v["depth"], activation=v["activation"],
                                            lr=v["lr"]))],
                     [Chart(acc, caption=W("batchnorm.accuracy_caption"))]])]
    for net in colors:
        g = fin[fin["net"] == net]
        name = W("batchnorm.without") if net == "without" else W("batchnorm.with")
        ndiv = int(g["diverged"].sum())
        if ndiv:
            outs.append(Note(W("named_diverged", name=name, runs=diverged_runs(ndiv, len(g))), kind="warning"))
        ok = g["test accuracy"].dropna()
        outs.append(Metric(name, "—" if ok.empty else f"{ok.mean():.0%}",
                           help=W("batchnorm.accuracy_help", n=len(ok)) if ok.empty else
                           W("batchnorm.accuracy_range_help", n=len(ok), lo=ok.min(), hi=ok.max())))
    modes = bn_modes()
    acc = _seed_chart(modes, "mode", "test accuracy", color="mode", colors=BN_MODE_COLORS, sort=list(BN_MODES),
                      height=240, y_title="test accuracy", title=W("batchnorm.eval_title", n=len(SEEDS)))
    wide = modes.pivot(index="seed", columns="mode", values="test accuracy")
    drop = wide[BN_MODES[0]] - wide[BN_MODES[1]]
    outs.append(Columns([[Code(inspect.getsource(predict))],
                         [Chart(acc, caption=W("batchnorm.eval_caption"))]]))
    outs.append(Metric(W("batchnorm.eval_drop"), W("batchnorm.eval_points", points=100 * drop.mean()),
                       help=W("batchnorm.eval_drop_help", k=int((drop > 0.2).sum()), n=len(drop),
                              lo=drop.min())))
    return outs


BATCH_NORM = Step(
    "batchnorm",
    controls=(Select("activation", "activation", ("sigmoid", "tanh"), "sigmoid"),
              Slider("depth", "hidden layers (16 units each)", 2, 8, 6),
              LogSlider("lr", "learning rate (SGD)", BN_LRS, 0.1)),
    runs=lambda v: [e for s in SEEDS for e in bn_experiments(v["activation"], v["depth"], v["lr"], s)],
    demo=_bn_demo, heavy=True, claims=BN_CLAIMS,
)


# ============================================================ the lesson

CHECK = Step("check")  # the quiz: its questions are in the Markdown

LESSON = W.lesson(
    id="optimizers", number=4,
    steps=(LEARNING_RATE, NORMALISE, BATCH_SIZE, MOMENTUM, ZERO_GRAD, ADAPTIVE_RATES, OPTIMIZER_RACE, ADAMW,
           LR_SCHEDULES, NETWORKS, BATCH_NORM, CHECK),
    references=("Duchi et al. 2011", "Tieleman & Hinton 2012", "Kingma & Ba 2015", "Loshchilov & Hutter 2019",
                "Smith 2017", "Ioffe & Szegedy 2015", "Santurkar et al. 2018", "Goodfellow, Bengio & Courville 2016"),
)


def memos() -> list:
    """The plain-torch tables this lesson shows, every slider value of the zero_grad step included, for
    the shipped cache (lessons.registry.all_memos)."""
    return [zero_grad_memo(lr) for lr in ZG_LRS] + [BN_MODES_MEMO]
