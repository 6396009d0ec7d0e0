"""Lesson 6: regularization, live.

The regularisers themselves, each trained for real by the engine: the L2 penalty as weight decay (a
12-value lambda grid trained in one batched sweep, and its equality with scikit-learn's Ridge on a
linear model), the L1 penalty and the near-zero weights it leaves, dropout and inverted dropout
(masks, the 1/p scale, weight scaling vs Monte-Carlo dropout at test time), noise injection on the
inputs, label smoothing, bagging over bootstrap replicas, and early stopping seen as a limit on how
far the weights can grow. Captions state only what these runs show (tests/lessons/
test_regularization.py checks each claim).

References: Hoerl & Kennard 1970 (ridge); Tibshirani 1996 (lasso); Breiman 1996 (bagging);
Srivastava et al. 2014 (dropout); Gal & Ghahramani 2016 (MC dropout); Szegedy et al. 2016 (label
smoothing); Bishop 1995 (training with noise); Goodfellow, Bengio & Courville 2016, ch. 7.
"""
from __future__ import annotations

from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import torch

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run_many
from engine import data as D
from engine.model import Layout, Net
from lessons import charts
from lessons.theme import SPLIT_COLORS, color_scale
from lessons.walkthrough import (
    Chart,
    Columns,
    Lesson,
    LogSlider,
    Metric,
    Question,
    Select,
    Slider,
    Step,
    Table,
)

# The lecture's doubling grid (0, 0.01, 0.02, ..., 5.12, 10) suits Auto MPG's squared error in mpg^2;
# the moons' cross-entropy is at most ~0.7, so the same doubling grid starts 10x lower here.
LAMBDAS = (0.0,) + tuple(round(0.001 * 2 ** k, 6) for k in range(11))  # 12 values, 0 .. 1.024
NOISES = (0.2, 0.3, 0.4)  # noise of the moons data set itself
STEPS = 1000
GRID = 50
NEAR_ZERO = 0.01  # |w| below this counts as "near zero"
DROPS = (0.0, 0.1, 0.2, 0.3, 0.5)
SIGMAS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
SMOOTHS = (0.0, 0.05, 0.1, 0.2, 0.3)
REPLICAS = 10
PENALTY_COLORS = {"L2": "#0072B2", "L1": "#D55E00"}


def base_experiment(noise: float = 0.3, steps: int = STEPS, snapshots: bool = False) -> Experiment:
    """A wide ReLU net (64, 64) on 200 noisy moons (120 for training): enough capacity to overfit."""
    return Experiment(data=DataSpec("moons", n=200, noise=float(noise), seed=1),
                      model=ModelSpec(hidden=(64, 64), activation="relu"), optim=OptimSpec("adam", lr=0.01),
                      train=TrainSpec(steps=int(steps), record_every=20,
                                      snapshot_steps=(int(steps),) if snapshots else (), grid=GRID), seed=0)


def _weights(res) -> np.ndarray:
    """Every weight (not bias) of a trained net, flattened."""
    return np.concatenate([layer["W"].ravel() for layer in res.weights()])


def weight_norm(res) -> float:
    return float(np.sqrt(np.square(_weights(res).astype(np.float64)).sum()))


def predict(res, X: np.ndarray, *, training: bool = False, seed: int = 0) -> np.ndarray:
    """Class probabilities of a trained run on standardised inputs X (n, d).

    training=True keeps dropout on, with masks drawn from a generator seeded by `seed`: one sample
    of the stochastic network (Monte-Carlo dropout)."""
    spec = res.config.model
    split = D.load(res.config.data)
    lay = Layout(spec, split.n_features, split.n_outputs)
    net = Net(lay, 1, torch.device("cpu"), torch.full((1, 1, 1), spec.act_param),
              torch.full((1, 1, 1), spec.dropout))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = net.forward(torch.tensor(np.array(res.params))[None], torch.tensor(X, dtype=torch.float32)[None],
                        training=training, noise=lambda shape: torch.rand(shape, generator=g))[0]
    if split.n_outputs == 1:
        p1 = torch.sigmoid(z[:, 0])
        return torch.stack([1 - p1, p1], 1).numpy()
    return torch.softmax(z, 1).numpy()


def _lam_label(lam: float) -> str:
    return f"{lam:g}"


# ============================================================ step 1: L2 as weight decay


def penalty_experiments(kind: str = "l2", noise: float = 0.3) -> list[Experiment]:
    """One run per lambda of the grid, all of one shape: the engine trains them in one stacked pass."""
    b = base_experiment(noise, snapshots=True)
    return [b.replace(reg=RegSpec(**{kind: lam})) for lam in LAMBDAS]


def penalty_table(results) -> pd.DataFrame:
    rows = []
    for r in results:
        w = _weights(r)
        rows.append({"lambda": r.config.reg.l1 + r.config.reg.l2, "train loss": r.final["train_loss"],
                     "val loss": r.final["val_loss"], "train accuracy": r.final["train_metric"],
                     "val accuracy": r.final["val_metric"], "weight norm": weight_norm(r),
                     "near zero": float((np.abs(w) < NEAR_ZERO).mean())})
    return pd.DataFrame(rows)


def _split_lines(tab: pd.DataFrame, cols: dict, title: str, ytitle: str, chosen: float, log_y=False):
    long = tab.melt("lambda", list(cols), "split", "value")
    long["split"] = long["split"].map(cols)
    long["λ"] = long["lambda"].map(_lam_label)
    order = [_lam_label(x) for x in LAMBDAS]
    col = alt.Color("split:N", scale=color_scale(SPLIT_COLORS, ["train", "val"]), title="")
    y = alt.Y("value:Q", title=ytitle, scale=alt.Scale(type="log") if log_y else alt.Scale(zero=False))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("λ:O", sort=order, title="λ (the lecture's doubling grid)"), y=y, color=col,
        tooltip=["λ", "split", alt.Tooltip("value:Q", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"λ": [_lam_label(chosen)]})).mark_rule(color="#999999", strokeDash=[4, 4]).encode(
        x=alt.X("λ:O", sort=order))
    return (rule + lines).properties(height=230, title=title)


@lru_cache(maxsize=1)
def ridge_check(lam: float = 0.1, steps: int = 3000) -> pd.DataFrame:
    """L2 on a linear model (Auto MPG, squared error) trained by the engine vs scikit-learn's Ridge.

    The engine minimises mean((y - Xw - b)^2) + lam * ||w||^2; Ridge minimises
    sum((y - Xw - b)^2) + alpha * ||w||^2, the same objective times n when alpha = n * lam."""
    from sklearn.linear_model import Ridge

    exp = Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=()), optim=OptimSpec("adam", lr=0.05),
                     reg=RegSpec(l2=lam), train=TrainSpec(steps=steps, record_every=50))
    (res,) = run_many([exp])
    s = D.load(exp.data)
    n = len(s.X_train)
    ridge = Ridge(alpha=n * lam).fit(s.X_train.astype(np.float64), s.y_train.astype(np.float64))
    w = res.weights()[0]
    return pd.DataFrame({"feature": list(s.feature_names) + ["bias"],
                         "engine (L2 in the loss)": np.r_[w["W"][:, 0], w["b"]].astype(float),
                         f"sklearn Ridge (alpha = {n}·λ)": np.r_[ridge.coef_, ridge.intercept_]})


def _surface_pair(res_by_lam: dict, chosen: float, label: str, fmt=_lam_label):
    split = D.load(next(iter(res_by_lam.values())).config.data)
    left, right = res_by_lam[min(res_by_lam)], res_by_lam[chosen]
    cols = []
    for r, lam, legend in ((left, min(res_by_lam), False), (right, chosen, True)):
        cols.append([Chart(charts.decision_surface(r.snapshots[-1], r.meta["extent"], split,
                                                   title=f"{label} = {fmt(lam)}", width=300, height=280,
                                                   legend=legend),
                           caption=f"train {r.final['train_metric']:.0%}, test {r.final['test_metric']:.0%}")])
    return Columns(cols)


def _l2_demo(v, progress):
    res = run_many(penalty_experiments("l2", v["noise"]), progress=progress)
    tab = penalty_table(res)
    lam = float(v["lam"])
    by = {r.config.reg.l2: r for r in res}
    best = tab.loc[tab["val loss"].idxmin()]
    loss = _split_lines(tab, {"train loss": "train", "val loss": "val"}, "Loss after training", "cross-entropy",
                        lam, log_y=True)
    norm = alt.Chart(tab.assign(λ=tab["lambda"].map(_lam_label))).mark_line(point=True, color="#4D4D4D").encode(
        x=alt.X("λ:O", sort=[_lam_label(x) for x in LAMBDAS], title="λ"),
        y=alt.Y("weight norm:Q", scale=alt.Scale(type="log"), title="‖W‖ (log)"),
        tooltip=["λ", alt.Tooltip("weight norm:Q", format=".3f")]).properties(height=260, title="Weight norm")
    ridge = ridge_check()
    diff = float(np.abs(ridge.iloc[:, 1] - ridge.iloc[:, 2]).max())
    return [
        Chart(loss, caption="12 networks, one per λ, trained together in one stacked pass. Dashed: the λ chosen "
                            "with the slider."),
        Chart(norm, caption="The norm of all weights after training, on a log scale."),
        Metric("best λ (val loss)", _lam_label(best["lambda"]), help="the λ with the lowest validation loss"),
        Metric("val loss at λ = 0", f"{tab.loc[0, 'val loss']:.2f}"),
        Metric(f"val loss at λ = {_lam_label(lam)}", f"{tab.set_index('lambda').loc[lam, 'val loss']:.2f}"),
        _surface_pair(by, lam, "λ"),
        Table(ridge.set_index("feature").round(4),
              caption=f"A linear model on Auto MPG with λ = 0.1: the engine's weights equal scikit-learn's Ridge "
                      f"with alpha = n_train·λ (largest difference {diff:.1e})."),
    ]


# ============================================================ step 2: L1


def _l1_demo(v, progress):
    l2 = run_many(penalty_experiments("l2", v["noise"]), progress=progress)
    l1 = run_many(penalty_experiments("l1", v["noise"]), progress=progress)
    lam = float(v["lam"])
    t2, t1 = penalty_table(l2).assign(penalty="L2"), penalty_table(l1).assign(penalty="L1")
    both = pd.concat([t1, t2], ignore_index=True)
    both["λ"] = both["lambda"].map(_lam_label)
    order = [_lam_label(x) for x in LAMBDAS]
    col = alt.Color("penalty:N", scale=color_scale(PENALTY_COLORS, ["L1", "L2"]), title="")
    rule = alt.Chart(pd.DataFrame({"λ": [_lam_label(lam)]})).mark_rule(color="#999999", strokeDash=[4, 4]).encode(
        x=alt.X("λ:O", sort=order))
    frac = alt.Chart(both).mark_line(point=True).encode(
        x=alt.X("λ:O", sort=order, title="λ"), y=alt.Y("near zero:Q", title=f"share of |w| < {NEAR_ZERO}",
                                                       scale=alt.Scale(domain=[0, 1])),
        color=col, tooltip=["penalty", "λ", alt.Tooltip("near zero:Q", format=".1%")])
    w1 = np.abs(_weights(dict(zip(LAMBDAS, l1))[lam]))
    w2 = np.abs(_weights(dict(zip(LAMBDAS, l2))[lam]))
    edges = np.r_[0, np.logspace(-5, 1, 25)]
    hist = pd.concat([pd.DataFrame({"lo": np.maximum(edges[:-1], 1e-5), "hi": edges[1:],
                                    "share": np.histogram(np.clip(w, 0, 10), edges)[0] / len(w), "penalty": name})
                      for name, w in (("L1", w1), ("L2", w2))])
    bars = alt.Chart(hist).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("lo:Q", scale=alt.Scale(type="log"), title="|w| (log)"), y=alt.Y("share:Q", title="share of weights"),
        color=col, tooltip=["penalty", alt.Tooltip("lo:Q", format=".1e", title="from |w|"),
                            alt.Tooltip("share:Q", format=".1%")]).properties(
        height=230, title=f"Where the weights sit, λ = {_lam_label(lam)}")
    row1, row2 = t1.set_index("lambda").loc[lam], t2.set_index("lambda").loc[lam]
    return [
        Chart((rule + frac).properties(height=230, title="Near-zero weights against λ"),
              caption=f"The share of all 4,288 weights whose size is below {NEAR_ZERO}, for the L1 and the L2 sweep "
                      "(same net, same data, same λ)."),
        Chart(bars, caption="Distribution of |w| for the λ chosen with the slider."),
        Metric("L1: near zero", f"{row1['near zero']:.0%}", help=f"share of |w| < {NEAR_ZERO} at λ = {lam:g}"),
        Metric("L2: near zero", f"{row2['near zero']:.0%}", help=f"share of |w| < {NEAR_ZERO} at λ = {lam:g}"),
        Metric("L1 val accuracy", f"{row1['val accuracy']:.0%}"),
        Metric("L2 val accuracy", f"{row2['val accuracy']:.0%}"),
    ]


# ============================================================ step 3: dropout


def dropout_masks(keep: float, n: int = 20000, units: int = 16, seed: int = 0) -> dict:
    """Inverted dropout on a batch of positive activations: masks ~ Bernoulli(keep), scaled by 1/keep."""
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, units, generator=g, dtype=torch.float64) * 2  # activations, mean 1
    mask = (torch.rand(n, units, generator=g, dtype=torch.float64) < keep).double()
    return {"a": a, "mask": mask, "mean_a": float(a.mean()), "mean_plain": float((a * mask).mean()),
            "mean_inverted": float((a * mask / keep).mean()), "kept": float(mask.mean())}


def dropout_experiments() -> list[Experiment]:
    b = base_experiment()
    return [b.replace(model=dict(dropout=p)) for p in DROPS]


def mc_dropout(res, samples: int) -> dict:
    """Test accuracy and loss with weight scaling (dropout off: the inverted-dropout net as is) and with
    Monte-Carlo dropout (the average of `samples` stochastic passes)."""
    s = D.load(res.config.data)
    y = s.y_test.astype(int)
    det = predict(res, s.X_test)
    mc = np.mean([predict(res, s.X_test, training=True, seed=k) for k in range(samples)], 0)
    out = {}
    for name, p in (("weight scaling", det), (f"MC dropout ({samples} passes)", mc)):
        py = np.clip(p[np.arange(len(y)), y], 1e-7, 1)
        out[name] = {"test accuracy": float((p.argmax(1) == y).mean()), "test loss": float(-np.log(py).mean())}
    return out


def _dropout_demo(v, progress):
    p, samples = float(v["p"]), int(v["samples"])
    m = dropout_masks(1 - p)
    show = pd.DataFrame([(i, j, float(m["mask"][i, j])) for i in range(12) for j in range(16)],
                        columns=["example", "unit", "kept"])
    show["kept"] = np.where(show["kept"] > 0, f"kept (× {1 / (1 - p):.2f})", "dropped")
    mask_chart = alt.Chart(show).mark_rect(stroke="white").encode(
        x=alt.X("unit:O", title="hidden unit"), y=alt.Y("example:O", title="example in the batch"),
        color=alt.Color("kept:N", scale=alt.Scale(range=["#DDDDDD", "#0072B2"]), title=""),
        tooltip=["example", "unit", "kept"]).properties(height=280, title=f"One mask, drop probability {p:g}")
    res = run_many(dropout_experiments(), progress=progress)
    curves = []
    for r in res:
        h = r.history[["step", "train_loss", "val_loss"]].melt("step", var_name="split", value_name="loss")
        h["split"] = h["split"].str.replace("_loss", "")
        h["dropout"] = f"{r.config.model.dropout:g}"
        curves.append(h)
    curves = pd.concat(curves, ignore_index=True)
    lc = alt.Chart(curves).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="loss (log)"),
        color=alt.Color("dropout:O", scale=alt.Scale(scheme="viridis"), title="drop prob."),
        strokeDash=alt.StrokeDash("split:N", scale=alt.Scale(domain=["train", "val"], range=[[1, 0], [6, 3]]),
                                  title=""),
        tooltip=["dropout", "split", "step", alt.Tooltip("loss:Q", format=".3f")]).properties(
        height=260, title="Training (solid) and validation (dashed) loss")
    chosen = next(r for r in res if abs(r.config.model.dropout - p) < 1e-9)
    tab = pd.DataFrame(mc_dropout(chosen, samples)).T
    return [
        Chart(mask_chart, caption="Blue units pass (scaled by 1/keep), grey ones are zeroed; a fresh mask is drawn "
                                  "for every example at every step."),
        Metric("mean activation", f"{m['mean_a']:.3f}", help="over 20,000 examples × 16 units"),
        Metric("masked", f"{m['mean_plain']:.3f}", help="mask applied, no scaling"),
        Metric("masked, × 1/keep", f"{m['mean_inverted']:.3f}", help="inverted dropout"),
        Chart(lc, caption="The same wide net trained with five drop probabilities in one stacked pass."),
        Table(tab.round(3), caption=f"Test-time inference for the net trained with drop probability {p:g}."),
    ]


# ============================================================ step 4: noise injection


def noise_experiments() -> list[Experiment]:
    b = base_experiment(snapshots=True)
    return [b.replace(reg=dict(input_noise=s)) for s in SIGMAS]


def _noise_demo(v, progress):
    res = run_many(noise_experiments(), progress=progress)
    sigma = float(v["sigma"])
    tab = pd.DataFrame([{"σ": r.config.reg.input_noise, "train loss": r.final["train_loss"],
                         "val loss": r.final["val_loss"], "train accuracy": r.final["train_metric"],
                         "val accuracy": r.final["val_metric"], "weight norm": weight_norm(r)} for r in res])
    by = {r.config.reg.input_noise: r for r in res}
    return [
        _surface_pair(by, sigma, "input noise σ", fmt=lambda s: f"{s:g}"),
        Table(tab.set_index("σ").round(3), caption="Six runs, one per noise level (σ in units of the standardised "
                                                   "inputs); σ > 0 runs share one stacked pass."),
    ]


# ============================================================ step 5: label smoothing


def smoothing_experiments() -> list[Experiment]:
    return [Experiment(data=DataSpec("digits", n=500, seed=0), model=ModelSpec(hidden=(32,), activation="relu"),
                       optim=OptimSpec("adam", lr=0.01), reg=RegSpec(label_smoothing=e),
                       train=TrainSpec(steps=300, record_every=10)) for e in SMOOTHS]


def confidence(res) -> dict:
    """Mean predicted probability of the top class (test) and of the true class (train)."""
    s = D.load(res.config.data)
    pt, ptr = predict(res, s.X_test), predict(res, s.X_train)
    return {"test confidence": float(pt.max(1).mean()),
            "train P(true class)": float(ptr[np.arange(len(s.y_train)), s.y_train].mean()),
            "test accuracy": res.final["test_metric"], "test loss": res.final["test_loss"]}


def smoothed_targets(eps: float, k: int = 10) -> pd.DataFrame:
    return pd.DataFrame({"class": list(range(k)), "one-hot": [1.0] + [0.0] * (k - 1),
                         f"smoothed, ε = {eps:g}": [1 - eps] + [eps / (k - 1)] * (k - 1)})


def _smoothing_demo(v, progress):
    res = run_many(smoothing_experiments(), progress=progress)
    eps = float(v["eps"])
    tab = pd.DataFrame([{"ε": r.config.reg.label_smoothing, **confidence(r)} for r in res])
    tab["1 - ε"] = 1 - tab["ε"]
    long = tab.melt("ε", ["test confidence", "train P(true class)", "1 - ε"], "quantity", "value")
    ch = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("ε:Q", title="label smoothing ε", axis=alt.Axis(values=list(SMOOTHS))),
        y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=""),
        color=alt.Color("quantity:N", scale=alt.Scale(domain=["train P(true class)", "test confidence", "1 - ε"],
                                                       range=["#0072B2", "#009E73", "#999999"]), title="",
                        legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("quantity:N", legend=None, scale=alt.Scale(
            domain=["train P(true class)", "test confidence", "1 - ε"], range=[[1, 0], [1, 0], [5, 4]])),
        tooltip=["quantity", "ε", alt.Tooltip("value:Q", format=".3f")]).properties(
        height=260, title="How sure the digits net is")
    return [
        Chart(ch, caption="500 digits (300 for training), a ReLU net with 32 hidden units, 300 Adam steps, one run "
                          "per ε."),
        Table(smoothed_targets(eps).set_index("class").T.round(4),
              caption="The target of a digit of class 0 (columns: the ten classes)."),
        Table(tab.set_index("ε").round(3)),
    ]


# ============================================================ step 6: bagging


def bagging_experiments() -> list[Experiment]:
    """REPLICAS bootstrap replicas of the training rows, plus the net trained on the rows as they are."""
    b = base_experiment(snapshots=True)
    return [b.replace(data=dict(bootstrap=i)) for i in range(REPLICAS)] + [b]


def bagging(results, b: int) -> dict:
    """Average the first b replicas' probabilities (each standardises with its own resample's stats)."""
    reps, single = results[:b], results[-1]
    s = D.load(single.config.data)
    y = s.y_test.astype(int)
    probs = [predict(r, D.load(r.config.data).standardise(s.raw_test))[:, 1] for r in reps]
    avg = np.mean(probs, 0)
    return {"bagged": float(((avg > 0.5) == y).mean()),
            "replicas": [float(((p > 0.5) == y).mean()) for p in probs],
            "single": single.final["test_metric"],
            "surface": np.mean([r.snapshots[-1] for r in reps], 0)}


def _bagging_demo(v, progress):
    res = run_many(bagging_experiments(), progress=progress)
    b = int(v["b"])
    out = bagging(res, b)
    split = D.load(res[-1].config.data)
    ext = res[-1].meta["extent"]
    return [
        Columns([[Chart(charts.decision_surface(res[-1].snapshots[-1], ext, split, title="One net, all rows",
                                                width=300, height=280, legend=False),
                        caption=f"test {out['single']:.0%}")],
                 [Chart(charts.decision_surface(out["surface"], ext, split, title=f"Average of {b} replicas",
                                                width=300, height=280),
                        caption=f"test {out['bagged']:.0%}")]]),
        Metric("bagged test accuracy", f"{out['bagged']:.1%}"),
        Metric("mean replica", f"{np.mean(out['replicas']):.1%}"),
        Metric("worst / best replica", f"{min(out['replicas']):.1%} / {max(out['replicas']):.1%}"),
    ]


# ============================================================ step 7: early stopping


def early_experiments(patience: int = 10) -> list[Experiment]:
    b = base_experiment(steps=2000).replace(train=dict(record_every=10))
    return [b, b.replace(train=dict(patience=int(patience)))]


def total_norm(res) -> pd.Series:
    cols = res.layer_columns("weight_norm")
    return np.sqrt(np.square(res.history[cols]).sum(axis=1))


def _early_demo(v, progress):
    full, stop = run_many(early_experiments(v["patience"]), progress=progress)
    h = full.history.assign(norm=total_norm(full))
    at = stop.meta.get("stopped_at")
    best = int(stop.history.loc[stop.history["val_loss"].idxmin(), "step"])
    base = alt.Chart(h).encode(x=alt.X("step:Q", title="step"))
    norm = base.mark_line(color="#4D4D4D").encode(y=alt.Y("norm:Q", title="‖W‖"),
                                                  tooltip=["step", alt.Tooltip("norm:Q", format=".2f")])
    val = base.mark_line(color=SPLIT_COLORS["val"]).encode(
        y=alt.Y("val_loss:Q", title="validation loss"), tooltip=["step", alt.Tooltip("val_loss:Q", format=".3f")])
    marks = pd.DataFrame({"step": [best] + ([at] if at is not None else []),
                          "event": ["best step (kept)"] + (["stopped"] if at is not None else [])})
    rule = alt.Chart(marks).mark_rule(strokeDash=[5, 4]).encode(
        x="step:Q", color=alt.Color("event:N", scale=alt.Scale(domain=["best step (kept)", "stopped"],
                                                               range=["#D55E00", "#777777"]), title="",
                                    legend=alt.Legend(orient="bottom")), tooltip=["event", "step"])
    return [
        Columns([[Chart((norm + rule).properties(height=240, title="Weight norm during training"))],
                 [Chart((val + rule).properties(height=240, title="Validation loss"))]]),
        Metric("stopped at", "—" if at is None else f"step {at}"),
        Metric("‖W‖ kept", f"{weight_norm(stop):.1f}", help=f"the weights of step {best}, the best evaluation"),
        Metric("‖W‖ at 2000", f"{weight_norm(full):.1f}", help="the same run without early stopping"),
        Metric("val loss", f"{stop.final['val_loss']:.2f} / {full.final['val_loss']:.2f}",
               help="kept weights / after 2000 steps"),
    ]


# ============================================================ the lesson


def experiments() -> list[Experiment]:
    """Every engine run the default views need (shipped in assets/cache/)."""
    out = penalty_experiments("l2", 0.3) + penalty_experiments("l1", 0.3)
    out += dropout_experiments() + noise_experiments() + smoothing_experiments() + bagging_experiments()
    out += early_experiments(10)
    out.append(Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=()), optim=OptimSpec("adam", lr=0.05),
                          reg=RegSpec(l2=0.1), train=TrainSpec(steps=3000, record_every=50)))
    return out


STEPS_ = (
    Step(
        id="l2", title="L2: weight decay",
        narrative=(
            "A network with far more weights than training points can fit the noise in those points. The "
            "oldest remedy is to charge the training objective for large weights. **L2 regularisation** adds "
            "$\\lambda$ times the sum of squared weights (biases are left alone) to the data loss $J$. Its "
            "gradient is $2\\lambda w$, so every gradient-descent update first shrinks each weight by a fixed "
            "fraction and then takes the usual step: that is why L2 is also called **weight decay**.\n\n"
            "How large should $\\lambda$ be? The lecture's recipe: try a doubling grid of 12 values, train "
            "once per value, and keep the one with the lowest validation loss. Here a wide ReLU net (two "
            "layers of 64, 4,288 weights) learns 120 noisy moons with Adam for 1000 steps, once per "
            "$\\lambda$; the engine trains the 12 networks together in one stacked pass. (Cross-entropy on "
            "two classes is at most about 0.7, so the grid starts 10x lower than the lecture's, which was "
            "for Auto MPG's squared error in mpg².)"),
        equations=(
            r"\tilde J(\theta) = J(\theta) + \lambda \lVert W \rVert_2^2 = J(\theta) + \lambda \sum_{l} \sum_{ij}"
            r" \big(w^{[l]}_{ij}\big)^2",
            r"\frac{\partial \tilde J}{\partial w} = \frac{\partial J}{\partial w} + 2\lambda w \quad\Rightarrow\quad "
            r"w \leftarrow (1 - 2\eta\lambda)\, w - \eta\, \frac{\partial J}{\partial w}",
            r"\lambda \in \{0,\ 0.001,\ 0.002,\ 0.004,\ \dots,\ 0.512,\ 1.024\}",
        ),
        controls=(Select("noise", "noise of the moons", NOISES, 0.3),
                  LogSlider("lam", "λ shown on the right", LAMBDAS, 0.004)),
        demo=_l2_demo, heavy=True,
        notice=(
            "- Without a penalty the net fits every training point (100%) but its validation loss is about 1.6: it is "
            "confidently wrong on the points it has not seen.\n"
            "- The weight norm falls at every step of the grid from 38.5 at $\\lambda = 0$ to 1.8 at "
            "$\\lambda = 0.064$; from $\\lambda = 0.128$ on the penalty wins outright, every weight is driven "
            "to about 0 (norm below 0.01), and the net predicts 1/2 everywhere (validation loss ln 2 ≈ 0.69).\n"
            "- The validation loss is lowest at $\\lambda = 0.004$ (0.24): a middle value, as the recipe "
            "expects. The surface for it is smoother than the unpenalised one.\n"
            "- On a linear model, L2 in the loss is ridge regression: the table matches scikit-learn's `Ridge` "
            "to 4 decimals once its `alpha` is set to $n_{\\text{train}}\\,\\lambda$ (Ridge sums the squared "
            "errors, the engine averages them)."),
        question=Question(
            "With λ = 0.01 and learning rate η = 0.1, plain gradient descent multiplies every weight by what "
            "before taking the data-loss step?",
            ("0.99", "0.998", "0.9", "1.02"), 1,
            ("That would be 1 - ηλ·10; the factor is 1 - 2ηλ.",
             "Right: 1 - 2·0.1·0.01 = 0.998. The 2 comes from differentiating w².",
             "That is 1 - η: the learning rate alone does not shrink weights.",
             "The penalty shrinks weights; a factor above 1 would grow them.")),
    ),
    Step(
        id="l1", title="L1: many weights near zero",
        narrative=(
            "**L1 regularisation** charges the sum of absolute weights instead. Its gradient does not shrink "
            "with the weight: every non-zero weight is pulled towards 0 by the same $\\lambda$, large or "
            "small. Small weights are therefore pushed all the way to (about) zero, while L2's pull "
            "$2\\lambda w$ fades as $w$ gets small. L1 tends to give **sparse** networks, L2 merely small "
            "ones.\n\n"
            "Both sweeps below use the same net, data and λ grid as the L2 step. A weight counts as near zero "
            f"when $|w| < {NEAR_ZERO}$ (Adam's steps make an L1 weight jitter around 0 rather than sit exactly "
            "on it)."),
        equations=(
            r"\tilde J(\theta) = J(\theta) + \lambda \lVert W \rVert_1 = J(\theta) + \lambda \sum_{l}\sum_{ij} "
            r"\big|w^{[l]}_{ij}\big|",
            r"\frac{\partial \tilde J}{\partial w} = \frac{\partial J}{\partial w} + \lambda\,\operatorname{sign}(w)"
            r"\qquad\text{vs}\qquad \frac{\partial J}{\partial w} + 2\lambda w \;\;(L2)",
        ),
        controls=(Select("noise", "noise of the moons", NOISES, 0.3),
                  LogSlider("lam", "λ for the histogram", LAMBDAS, 0.004)),
        demo=_l1_demo, heavy=True,
        notice=(
            "- At every λ from 0.001 to 0.064, L1 leaves at least 98% of the weights below 0.01; L2 at the "
            "same λ leaves between 59% and 91%.\n"
            "- At λ = 0.001 the gap is widest: 98% near zero with L1, 59% with L2, and yet L1's net still "
            "fits 97% of the training points with the few weights it keeps.\n"
            "- The histogram shows the two shapes: L2 moves the whole distribution down, L1 piles most weights "
            "up near 0 and leaves a few large ones."),
        question=Question(
            "Why does L1 push small weights all the way to zero while L2 does not?",
            ("L1's pull on a weight is λ·sign(w), the same size however small w is; L2's pull 2λw vanishes "
             "as w shrinks", "L1 uses a larger λ", "L2 only acts on biases", "L1 removes units from the network"),
            0,
            ("Right: a constant pull beats a small data gradient; a pull proportional to w fades out.",
             "Both sweeps use the same λ grid; the difference is the shape of the penalty.",
             "Neither penalty touches biases here; both act on weights.",
             "L1 acts on individual weights; units stay, although some may end up with near-zero weights.")),
    ),
    Step(
        id="dropout", title="Dropout and inverted dropout",
        narrative=(
            "**Dropout** switches off each hidden unit at random during training, with probability $p$ "
            "(keeping it with probability $q = 1 - p$), with a fresh mask for every example at every step. "
            "No unit can rely on a particular partner being there, and every step trains a different thinned "
            "network that shares weights with all the others: an ensemble in one model.\n\n"
            "At test time every unit is present, so the activations would be on average $1/q$ times larger "
            "than in training. The classic fix scales the weights by $q$ at test time (**weight scaling**). "
            "**Inverted dropout**, which the engine uses, divides the kept activations by $q$ during training "
            "instead, so nothing changes at test time: with keep probability 0.8 each kept activation is "
            "multiplied by 1.25. The other option is to keep dropout on at test time and average several "
            "stochastic passes: **Monte-Carlo (MC) dropout**, more costly, and its spread also says how "
            "unsure the model is."),
        equations=(
            r"m_j \sim \operatorname{Bernoulli}(q),\qquad \tilde a_j = \frac{m_j\, a_j}{q}"
            r"\qquad\Rightarrow\qquad \mathbb{E}[\tilde a_j] = \frac{q\, a_j}{q} = a_j",
            r"\text{MC dropout: } \hat p(y \mid x) = \frac{1}{T}\sum_{t=1}^{T} p\big(y \mid x;\ m^{(t)}\big)",
        ),
        controls=(Select("p", "drop probability p", (0.1, 0.2, 0.3, 0.5), 0.2),
                  Select("samples", "MC dropout passes T", (1, 5, 10, 50), 50)),
        demo=_dropout_demo, heavy=True,
        notice=(
            "- Over 20,000 × 16 activations with keep probability 0.8 the masked mean is 0.80 of the original, "
            "and dividing by 0.8 brings it back to 1.00.\n"
            "- Training accuracy falls as the drop probability rises (100% without dropout, 96% at p = 0.5), "
            "while the validation loss at every p > 0 is at most about half the 1.6 of the net without "
            "dropout.\n"
            "- A single stochastic pass has a higher test loss than weight scaling at every p; the average of "
            "50 passes has a lower one at every p (0.25 against 0.27 at p = 0.5)."),
        question=Question(
            "With inverted dropout and keep probability 0.8, what must be done to the weights at test time?",
            ("Multiply them by 0.8", "Divide them by 0.8", "Nothing", "Drop 20% of them"), 2,
            ("That is the classic, non-inverted recipe; inverted dropout already scaled during training.",
             "That would make test activations 1.25x too large.",
             "Right: the 1/0.8 scaling in training keeps the expected activation equal to the test-time one.",
             "Dropout is switched off at test time (unless you want MC dropout, which averages many passes).")),
    ),
    Step(
        id="noise", title="Noise injection and augmentation",
        narrative=(
            "Another way to stop a net from memorising points: never show it the same point twice. **Data "
            "augmentation** creates new training examples by transformations that keep the label (shifts, "
            "flips, crops of an image). The simplest version for any data is **noise injection**: add fresh "
            "Gaussian noise to every training input at every step. The net then has to give the same answer in "
            "a small cloud around each point, which smooths its function; for a linear model it is known to "
            "act much like an L2 penalty (Bishop 1995)."),
        equations=(r"\tilde x = x + \varepsilon,\qquad \varepsilon \sim \mathcal{N}(0, \sigma^2 I)"
                   r"\quad\text{(fresh at every step; standardised inputs)}",),
        controls=(Select("sigma", "noise σ shown on the right", SIGMAS[1:], 0.3),),
        demo=_noise_demo, heavy=True,
        notice=(
            "- As σ grows from 0 to 1 the weight norm falls at every step (38.5 to 16.1) and the training "
            "accuracy falls too (100% to 87%): the net can no longer fit each point exactly.\n"
            "- Every σ > 0 has a validation loss below 0.4, against about 1.6 without noise.\n"
            "- The surfaces show it: without noise the boundary bends around single points, with noise it "
            "follows the two moons."),
    ),
    Step(
        id="smoothing", title="Label smoothing",
        narrative=(
            "Cross-entropy with one-hot targets keeps pushing the true class's probability towards 1, which "
            "needs ever larger logits: the net grows over-confident. **Label smoothing** moves a small share "
            "$\\varepsilon$ of the target's mass to the other $k - 1$ classes. The best the net can do on a "
            "training point is then to predict exactly $1 - \\varepsilon$ for the true class, so it has no "
            "reason to grow its logits without bound."),
        equations=(r"t_c = \begin{cases} 1 - \varepsilon & c = y \\ \varepsilon / (k - 1) & c \ne y \end{cases}"
                   r"\qquad\quad J = -\sum_{c=1}^{k} t_c \log p_c",),
        controls=(Select("eps", "ε for the target table", SMOOTHS[1:], 0.1),),
        demo=_smoothing_demo, heavy=True,
        notice=(
            "- On the training digits the net's mean probability for the true class lands within 0.01 of "
            "$1 - \\varepsilon$ for every ε (0.999 without smoothing).\n"
            "- Its mean confidence on test digits falls with ε, from 0.97 to 0.59.\n"
            "- Test loss is lower with any ε > 0 than without (0.49 at ε = 0.05 against 0.76): an "
            "over-confident mistake costs a lot of cross-entropy."),
        question=Question(
            "With ten classes and ε = 0.1, what is the smoothed target of a wrong class?",
            ("0.1", "0.01", "0.9", "0"), 1,
            ("0.1 is the total mass moved away from the true class, shared by nine classes.",
             "Right: 0.1 / 9 ≈ 0.011 for each of the nine other classes.",
             "0.9 is the target of the true class.",
             "That is the one-hot target, before smoothing.")),
    ),
    Step(
        id="bagging", title="Bagging",
        narrative=(
            "**Bagging** (bootstrap aggregating) trains several models on bootstrap replicas of the training "
            "set (as many rows as the original, drawn with replacement, so each replica misses about a third "
            "of the rows and repeats others) and averages their predictions. Each model overfits in its own "
            "way; the average cancels part of those errors. The engine trains the ten replicas in one stacked "
            "pass, each as a per-run weighting of the same rows."),
        equations=(r"\hat p(x) = \frac{1}{B}\sum_{b=1}^{B} p_b(x),\qquad "
                   r"P(\text{a row is missed by a replica}) = (1 - 1/n)^n \approx e^{-1} \approx 0.37",),
        controls=(Slider("b", "replicas averaged", 1, REPLICAS, REPLICAS),),
        demo=_bagging_demo, heavy=True,
        notice=(
            "- Each replica, like the single net on all 120 rows, fits its training rows perfectly.\n"
            "- The average of the ten replicas classifies 87.5% of the test points correctly, against 82.5% "
            "for the single net and 85.8% for the average replica.\n"
            "- The averaged surface is smoother, and pale (unsure) where the replicas disagree."),
    ),
    Step(
        id="early", title="Early stopping limits the weights",
        narrative=(
            "Lesson 5 uses early stopping to pick the moment to stop from the validation curve. It is also a "
            "regulariser: training starts from small weights, and the weights grow as training goes on, so "
            "stopping early keeps them small, much like a penalty would. With patience $P$ the run stops after "
            "more than $P$ evaluations (every 10 steps here) without a better validation loss and keeps the best "
            "weights."),
        equations=(r"t^{*} = \arg\min_{t} J_{\text{val}}(\theta_t),\qquad "
                   r"\lVert W_{t^*} \rVert \le \lVert W_{T} \rVert \text{ when the norm grows with } t",),
        controls=(Select("patience", "patience (evaluations)", (5, 10, 20, 50), 10),),
        demo=_early_demo, heavy=True,
        notice=(
            "- Without a penalty the weight norm grows at every recorded step, from 16.3 to 44.8 over 2000 "
            "steps.\n"
            "- The validation loss is lowest at step 60; with patience 10 the run stops at step 170, once more "
            "than 10 evaluations in a row have not beaten it, and keeps the weights of step 60, whose norm is "
            "17.9.\n"
            "- Those weights have a validation loss of 0.22, against 1.89 after 2000 steps."),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Four questions on what the demos showed.",
        questions=(
            Question("In the L2 sweep, what happened for λ = 0.128 and larger?",
                     ("The best validation loss", "Every weight went to about 0 and the net predicted 1/2 everywhere",
                      "The training accuracy reached 100%", "Training diverged"), 1,
                     ("The best validation loss was at λ = 0.004.",
                      "Right: the penalty outweighed the at most ~0.7 of cross-entropy, so the weight norm fell "
                      "below 0.01 and the validation loss sat at ln 2.",
                      "Only the unpenalised net fitted every training point.",
                      "Nothing diverged: a strong penalty makes training more stable, not less.")),
            Question("Your network overfits. Which change is NOT a regulariser?",
                     ("Dropout on the hidden layers", "Adding Gaussian noise to the training inputs",
                      "Doubling the width of every hidden layer", "Averaging models trained on bootstrap replicas"),
                     2,
                     ("Dropout reduced the validation loss of the wide net at every rate tried.",
                      "Noise injection lowered the validation loss and the weight norm.",
                      "Right: more capacity makes overfitting easier, not harder.",
                      "Bagging beat the single net on the test points.")),
            Question("Which regulariser tends to make many weights (almost) exactly zero?",
                     ("L2", "L1", "Label smoothing", "Early stopping"), 1,
                     ("L2's pull 2λw fades as w shrinks, so weights get small but rarely reach 0.",
                      "Right: its pull λ·sign(w) does not fade; at λ = 0.001 98% of the weights sat below 0.01.",
                      "Label smoothing changes the targets, not the weights directly.",
                      "Early stopping keeps weights small overall, but does not single out some to be 0.")),
            Question("What does MC dropout do at test time?",
                     ("Switches dropout off and scales the weights",
                      "Keeps dropout on and averages several stochastic forward passes",
                      "Retrains the network with new masks", "Drops test examples at random"), 1,
                     ("That is weight scaling (which inverted dropout does implicitly).",
                      "Right: the average of 50 passes had a lower test loss than weight scaling in the demo.",
                      "No training happens at test time.",
                      "Dropout masks act on hidden units, not on examples.")),
        ),
    ),
)

LESSON = Lesson(
    id="regularization", number=6, title="Regularization",
    summary="Keeping a big network from memorising its training data: L2 and L1 penalties, dropout, noise, "
            "label smoothing, bagging and early stopping, each trained live.",
    intro=("A network with many more weights than training points can fit them perfectly and still fail on "
           "new data. Regularisers make that harder: they penalise large weights, inject noise, soften the "
           "targets or average many models. Each step below trains the same kind of over-sized network with "
           "and without one regulariser and measures what changes."),
    steps=STEPS_,
    references=("Srivastava et al. 2014", "Goodfellow, Bengio & Courville 2016"),
)
