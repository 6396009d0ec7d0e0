"""Lesson 6: regularization, live, and measured over seeds.

The regularisers themselves, each trained for real by the engine: the L2 penalty as weight decay (a
12-value lambda grid, trained with plain gradient descent so that the penalty really is weight decay,
and its equality with scikit-learn's Ridge on a linear model), the L1 penalty and the near-zero weights
it leaves, dropout and inverted dropout (masks, the 1/q scale, weight scaling vs Monte-Carlo dropout at
test time), noise injection on the inputs, data augmentation (shifted copies of the training digits),
label smoothing, bagging over bootstrap replicas, and early
stopping seen as a limit on how far the weights can grow.

Every comparison the notes make is a `Claim` (lessons/claims.py): a sweep over ten seeds (the data
seed and the init seed move together), trained as one batched `run_many`, a statistic per seed and a
predicate. The notes quote the claims through placeholders, the demos draw every seed, and
tests/lessons/test_claims.py retrains them with the cache off.

The toy problem is chosen so that the effects are measurable: 100 noisy moons to train on (few, so
that a wide net overfits) and 1,000 validation and 1,400 test points (many, so that one point moves
accuracy by 0.1 percentage points, not 2.5).

References: Hoerl & Kennard 1970 (ridge); Tibshirani 1996 (lasso); Breiman 1996 (bagging);
Srivastava et al. 2014 (dropout); Gal & Ghahramani 2016 (MC dropout); Szegedy et al. 2016 (label
smoothing); Müller, Kornblith & Hinton 2019 (when label smoothing helps); Bishop 1995 (training with
noise); Goodfellow, Bengio & Courville 2016, ch. 7.
"""
from __future__ import annotations

import hashlib
import inspect
from functools import lru_cache
from types import SimpleNamespace

import altair as alt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.special import expit
from torch import nn

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run_many
from engine import data as D
from engine.memo import Memo
from engine.optim import walk
from lessons import charts
from lessons.charts import evidence_chart, seed_chart
from lessons.claims import SEEDS, Claim, measure
from lessons.common import as_torch
from lessons.common import smoothed_targets as _smoothed
from lessons.theme import (
    AUGMENT_COLORS,
    CALIBRATION_COLORS,
    DROPOUT_MASK_COLORS,
    EARLY_STOP_COLORS,
    GEOMETRY_COLORS,
    MODE_COLORS,
    PENALTY_COLORS,
    REFERENCE_GREY,
    SPLIT_COLORS,
    TORCH_DECAY_COLORS,
    WEIGHT_NORM_COLOR,
    color_scale,
)
from lessons.walkthrough import Chart, Code, Columns, LogSlider, Metric, Select, Slider, Step, Table
from lessons.words import Words

W = Words("regularization")  # lessons/text/<language>/regularization.md: every sentence of this lesson

# The lecture's doubling grid (0, 0.01, 0.02, ..., 5.12, 10) suits Auto MPG's squared error in mpg^2;
# the moons' cross-entropy is at most ~0.7, so the same doubling grid starts 10x lower here.
LAMBDAS = (0.0,) + tuple(round(0.001 * 2 ** k, 6) for k in range(11))  # 12 values, 0 .. 1.024
N_POINTS, TRAIN_FRAC, VAL_FRAC = 2500, 0.04, 0.4  # 100 train, 1,000 validation, 1,400 test moons
NOISE = 0.3  # noise of the moons data set itself
HIDDEN = (32, 32)  # 2·32 + 32·32 + 32·1 = 1,120 weights for 100 training points
STEPS = 1000
RECORD = 50  # evaluate (on 2,400 held-out points) every 50 steps
SGD_LR, ADAM_LR = 0.5, 0.01
GRID = 50
NEAR_ZERO = 0.01  # |w| below this counts as "near zero"
DROPS = (0.0, 0.1, 0.2, 0.3, 0.5)
MC_PASSES = 50
MC_RATES = (0.2, 0.5)  # the rates whose test-time inference the MC claims compare (each costs 50 passes)
SIGMAS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
SMOOTHS = (0.0, 0.05, 0.1, 0.2, 0.3)
REPLICAS = 10
EARLY_RECORD, PATIENCE = 10, 10
SEED_CHOICES = tuple(SEEDS)
LN2 = float(np.log(2))


def moons(seed: int = 0, bootstrap: int = -1) -> DataSpec:
    return DataSpec("moons", n=N_POINTS, noise=NOISE, seed=int(seed), train_frac=TRAIN_FRAC, val_frac=VAL_FRAC,
                    test_frac=round(1 - TRAIN_FRAC - VAL_FRAC, 6), bootstrap=int(bootstrap))


def base_experiment(seed: int = 0, optim: str = "adam", steps: int = STEPS) -> Experiment:
    """A wide ReLU net (32, 32) on 100 noisy moons: enough capacity to overfit them. `seed` sets both
    the data (which 2,500 moons, which 100 train) and the initial weights."""
    lr = SGD_LR if optim == "sgd" else ADAM_LR
    return Experiment(data=moons(seed), model=ModelSpec(hidden=HIDDEN, activation="relu"),
                      optim=OptimSpec(optim, lr=lr), train=TrainSpec(steps=int(steps), record_every=RECORD),
                      seed=int(seed))


def _weights(res) -> np.ndarray:
    """Every weight (not bias) of a trained net, flattened."""
    return np.concatenate([layer["W"].ravel() for layer in res.weights()])


def weight_norm(res) -> float:
    return float(np.sqrt(np.square(_weights(res).astype(np.float64)).sum()))


def near_zero(res) -> float:
    return float((np.abs(_weights(res)) < NEAR_ZERO).mean())


def forward(res, X: np.ndarray, passes: int = 0, seed: int = 0) -> np.ndarray:
    """Class probabilities of a trained ReLU net on standardised inputs X (n, d).

    passes=0: the deterministic net (dropout off: with inverted dropout that *is* weight scaling),
    shape (1, n, classes). passes=T: T stochastic passes with dropout on, masks from a generator
    seeded by `seed` (Monte-Carlo dropout), shape (T, n, classes). The same arithmetic as the
    engine's forward pass, in numpy so that T passes are a handful of matrix products."""
    if res.config.model.activation != "relu" or res.config.model.batch_norm:
        raise ValueError("forward() handles ReLU nets without batch norm")  # a developer's error, not prose
    p = res.config.model.dropout
    rng = np.random.default_rng(seed)
    layers = res.weights()
    T, n = max(passes, 1), len(X)
    h = np.asarray(X, dtype=np.float32)  # (n, d) for the first layer, then (T * n, width): 2-D products
    for i, layer in enumerate(layers):
        z = h @ layer["W"].astype(np.float32) + layer["b"].astype(np.float32)
        if i == len(layers) - 1:
            break
        h = np.maximum(z, 0.0)
        if i == 0:
            h = np.tile(h, (T, 1))
        if passes > 0 and p > 0:
            h = h * ((rng.random(h.shape, dtype=np.float32) >= p) / np.float32(1 - p))
    z = z.astype(np.float64)
    z = z.reshape(T, n, -1) if len(layers) > 1 else np.broadcast_to(z, (T,) + z.shape)
    if z.shape[-1] == 1:  # both classes from the logit, so a confident mistake keeps its true cost
        return np.stack([expit(-z[..., 0]), expit(z[..., 0])], -1)
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def predict(res, X: np.ndarray) -> np.ndarray:
    """Class probabilities of the deterministic net (n, classes)."""
    return forward(res, X)[0]


def log_loss(prob: np.ndarray, y: np.ndarray) -> float:
    y = np.asarray(y, dtype=int)
    return float(-np.log(np.clip(prob[np.arange(len(y)), y], 1e-300, 1)).mean())


def accuracy(prob: np.ndarray, y: np.ndarray) -> float:
    return float((prob.argmax(1) == np.asarray(y, dtype=int)).mean())


def surface(results, split: D.Split, grid: int = GRID) -> np.ndarray:
    """Mean predicted P(class 1) of one or more trained nets on a grid over the data's window,
    computed from their weights (no snapshot runs needed). Each net standardises with the statistics
    of its own training rows (a bootstrap replica has its own)."""
    x0, x1, y0, y1 = split.extent()
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    raw = np.c_[gx.ravel(), gy.ravel()]
    probs = [predict(r, D.load(r.config.data).standardise(raw))[:, 1] for r in results]
    return np.mean(probs, 0).reshape(grid, grid)


def _shown_points(split: D.Split, n_test: int = 200):
    """The training points and the first `n_test` test points (the surfaces draw these, not all 1,400)."""
    return SimpleNamespace(raw_train=split.raw_train, y_train=split.y_train, raw_test=split.raw_test[:n_test],
                           y_test=split.y_test[:n_test])


def surface_chart(results, title: str, legend: bool = False, height: int = 240):
    """The averaged decision surface of `results`, one scale on both axes (draw it as `square`)."""
    split = D.load(results[0].config.data)
    return charts.decision_surface(surface(results, split), split.extent(), _shown_points(split), title=title,
                                   legend=legend, **charts.equal_axes(split.extent(), height))


def _narrow(chart, width: int = 230, flat_labels: bool = False):
    """A chart for one of two side-by-side columns: drawn at the column's width (Streamlit would shrink a
    wider one, fonts and all) with its legend below the plot; `flat_labels` for a few short x labels."""
    chart = chart.properties(width=width).configure_legend(orient="bottom", direction="horizontal", columns=2)
    return chart.configure_axisX(labelAngle=0) if flat_labels else chart


def _lam_label(lam: float) -> str:
    return f"{lam:g}"


def _seeds_of(ev) -> int:
    return len(ev.table)


# ============================================================ step 1: L2 as weight decay (plain gradient descent)


def penalty_experiments(kind: str = "l2", seed: int = 0, optim: str = "sgd") -> list[Experiment]:
    """One run per lambda of the grid, all of one shape: the engine trains them in one stacked pass."""
    b = base_experiment(seed, optim)
    return [b.replace(reg=RegSpec(**{kind: lam})) for lam in LAMBDAS]


def penalty_table(results) -> pd.DataFrame:
    rows = []
    for r in results:
        rows.append({"lambda": r.config.reg.l1 + r.config.reg.l2, "train loss": r.final["train_loss"],
                     "val loss": r.final["val_loss"], "train accuracy": r.final["train_metric"],
                     "val accuracy": r.final["val_metric"], "test accuracy": r.final["test_metric"],
                     "weight norm": weight_norm(r), "near zero": near_zero(r)})
    return pd.DataFrame(rows)


def _l2_best(res) -> dict:
    t = penalty_table(res).set_index("lambda")
    best = float(t["val loss"].idxmin())
    return {"val0": t.loc[0.0, "val loss"], "best": t["val loss"].min(), "gain": t.loc[0.0, "val loss"] -
            t["val loss"].min(), "best_lam": best, "at4": float(best == 0.004), "train0": t.loc[0.0, "train accuracy"],
            "acc0": t.loc[0.0, "val accuracy"], "acc_best": t.loc[best, "val accuracy"]}


def _l2_norm(res) -> dict:
    t = penalty_table(res).set_index("lambda")
    up_to = [lam for lam in LAMBDAS if lam <= 0.064]
    n = t.loc[up_to, "weight norm"].to_numpy()
    return {"norm0": n[0], "norm064": n[-1], "falls": float((np.diff(n) < 0).all())}


def _l2_collapse(res) -> dict:
    t = penalty_table(res).set_index("lambda")
    big = [lam for lam in LAMBDAS if lam >= 0.128]
    return {"max_norm": t.loc[big, "weight norm"].max(), "off_ln2": (t.loc[big, "val loss"] - LN2).abs().max()}


L2_BEST = Claim("l2_best", lambda s: penalty_experiments("l2", s), _l2_best,
                lambda v: 0 < v["best_lam"] <= 0.016 and v["gain"] > 0.05,
                what="the lowest validation loss of the grid is at a middle λ, well below λ = 0's")
L2_NORM = Claim("l2_norm", lambda s: penalty_experiments("l2", s), _l2_norm, lambda v: v["falls"] == 1.0,
                what="the weight norm falls at every step of the grid up to λ = 0.064")
L2_COLLAPSE = Claim("l2_collapse", lambda s: penalty_experiments("l2", s), _l2_collapse,
                    lambda v: v["max_norm"] < 0.01 and v["off_ln2"] < 0.02,
                    what="from λ = 0.128 on every weight is ~0 and the validation loss is ~ln 2")
L2_CLAIMS = (L2_BEST, L2_NORM, L2_COLLAPSE)


def _split_seed_chart(df: pd.DataFrame, cols: dict, title: str, ytitle: str, log_y=False):
    long = df.melt(["seed", "lambda"], list(cols), "split", ytitle)  # the column's name is the axis title
    long["split"] = long["split"].map(cols)
    long["λ"] = long["lambda"].map(_lam_label)
    return seed_chart(long, "λ", ytitle, color="split", colors=SPLIT_COLORS, sort=[_lam_label(x) for x in LAMBDAS],
                      x_title="λ (doubling grid)", y_title=ytitle, title=title, log_y=log_y, height=330)


def _sweep_frame(claim: Claim, progress, kind="l2") -> pd.DataFrame:
    """Every seed's penalty table, one row per (seed, λ), from the claim's runs (shared cache)."""
    res = run_many(claim.runs(), progress=progress)
    k = len(LAMBDAS)
    return pd.concat([penalty_table(res[i * k:(i + 1) * k]).assign(seed=s, penalty=kind.upper())
                      for i, s in enumerate(claim.seeds)], ignore_index=True)


@lru_cache(maxsize=1)
def ridge_check(lam: float = 0.1, steps: int = 3000) -> pd.DataFrame:
    """L2 on a linear model (Auto MPG, squared error) trained by the engine vs scikit-learn's Ridge.

    The engine minimises mean((y - Xw - b)^2) + lam * ||w||^2; Ridge minimises
    sum((y - Xw - b)^2) + alpha * ||w||^2, the same objective times n when alpha = n * lam."""
    from sklearn.linear_model import Ridge

    (res,) = run_many([ridge_experiment(lam, steps)])
    s = D.load(res.config.data)
    n = len(s.X_train)
    ridge = Ridge(alpha=n * lam).fit(s.X_train.astype(np.float64), s.y_train.astype(np.float64))
    w = res.weights()[0]
    return pd.DataFrame({"feature": list(s.feature_names) + ["bias"],
                         "engine (L2 in the loss)": np.r_[w["W"][:, 0], w["b"]].astype(float),
                         f"sklearn Ridge (alpha = {n}·λ)": np.r_[ridge.coef_, ridge.intercept_]})


def ridge_experiment(lam: float = 0.1, steps: int = 3000) -> Experiment:
    return Experiment(data=DataSpec("autompg", n=0), model=ModelSpec(hidden=()), optim=OptimSpec("adam", lr=0.05),
                      reg=RegSpec(l2=lam), train=TrainSpec(steps=steps, record_every=50))


def _surface_pair(left, right, left_title: str, right_title: str, note: str):
    return Columns([[Chart(surface_chart([r], t, legend=lg),
                           caption=W("surface_caption", note=note, train=r.final["train_metric"],
                                     test=r.final["test_metric"]), square=True)]
                    for r, t, lg in ((left, left_title, True), (right, right_title, False))])  # one key: two
    # side by side did not fit Self-paced columns


def _l2_demo(v, progress):
    seed, lam = int(v["seed"]), float(v["lam"])
    df = _sweep_frame(L2_BEST, progress)
    loss = _split_seed_chart(df, {"train loss": "train", "val loss": "val"}, W("l2.loss_title"),
                             "cross-entropy")
    norm = seed_chart(df.assign(λ=df["lambda"].map(_lam_label)), "λ", "weight norm",
                      sort=[_lam_label(x) for x in LAMBDAS], x_title="λ", y_title="weight norm",
                      title=W("weight_norm_title"), height=330)
    one = df[df["seed"] == seed].set_index("lambda")
    res = run_many(penalty_experiments("l2", seed))
    by = dict(zip(LAMBDAS, res))
    ridge = ridge_check()
    diff = float(np.abs(ridge.iloc[:, 1] - ridge.iloc[:, 2]).max())
    one_run = W("seed_one_run", seed=seed)
    return [
        Columns([[Chart(_narrow(loss), caption=W("l2.loss_caption"))],
                 [Chart(_narrow(norm), caption=W("l2.norm_caption"))]]),
        Metric(W("l2.best_lam"), _lam_label(float(one["val loss"].idxmin())), help=W("l2.best_lam_help", seed=seed)),
        Metric(W("l2.val_loss_at", lam=_lam_label(0.0)), f"{one.loc[0.0, 'val loss']:.2f}", help=one_run),
        Metric(W("l2.val_loss_at", lam=_lam_label(lam)), f"{one.loc[lam, 'val loss']:.2f}", help=one_run),
        _surface_pair(by[0.0], by[lam], "λ = 0", f"λ = {_lam_label(lam)}", one_run),
        Table(ridge.set_index("feature").round(4), caption=W("l2.ridge_caption", diff=diff)),
    ]


L2_STEP = Step("l2", controls=(Select("seed", "seed shown (data and init)", SEED_CHOICES, 0),
                                LogSlider("lam", "λ shown on the right", LAMBDAS, 0.004)),
               runs=lambda v: penalty_experiments("l2", v["seed"]) + [ridge_experiment()],
               demo=_l2_demo, heavy=True, claims=L2_CLAIMS, worked_values=lambda: l2_shrink_worked())


WORKED_LAM = 0.004  # the grid's usual best λ


def l2_shrink_worked(lam: float = WORKED_LAM, eta: float = SGD_LR) -> dict:
    """One step of SGD with `weight_decay` and no data gradient: the penalty's step alone. torch's
    weight_decay=wd adds wd·w to the gradient, the gradient of (wd/2)‖w‖², so this lesson's λ‖W‖²
    is weight_decay = 2λ. The engine's SGD, equal to torch.optim.SGD(weight_decay=...) (tested)."""
    w0 = np.array([0.5, -2.0, 3.0])
    after = walk(OptimSpec("sgd", lr=eta), np.zeros_like, w0, 1, l2=2 * lam)[1]  # the data pulls nowhere
    factor = float(after[0] / w0[0])
    return {"lam": lam, "eta": eta, "wd": 2 * lam, "w1": after[0], "w2": after[1], "w3": after[2],
            "factor": factor, "left": factor ** STEPS, "steps": STEPS}


# ============================================================ step 2: L1


def _near(res) -> np.ndarray:
    return np.array([near_zero(r) for r in res])


def _l1_sparse(res) -> dict:
    k = len(LAMBDAS)
    l1, l2 = _near(res[:k]), _near(res[k:2 * k])
    idx = [i for i, lam in enumerate(LAMBDAS) if 0.001 <= lam <= 0.008]
    big = LAMBDAS.index(0.256)
    return {"l1_001": l1[1], "l2_001": l2[1], "min_gap": float((l1[idx] - l2[idx]).min()),
            "l1_256": l1[big], "l2_256": l2[big]}


def _l1_runs(s):
    return penalty_experiments("l1", s) + penalty_experiments("l2", s)


def _adam_runs(s):
    return [base_experiment(s, "sgd").replace(reg=RegSpec(l2=0.001)),
            base_experiment(s, "adam").replace(reg=RegSpec(l2=0.001))]


# The L1 step's sweeps are 240 runs; its L2 half is retrained in full by the L2 step's claims, so the CI
# retrain test (tests/lessons/test_claims.py) checks the two L1 claims on five of the ten seeds.
L1_TEST_SEEDS = SEEDS[:5]
L1_SPARSE = Claim("l1_sparse", _l1_runs, _l1_sparse, lambda v: v["min_gap"] > 0.2, test_seeds=L1_TEST_SEEDS,
                  what="L1 leaves more weights near 0 than L2 at every λ from 0.001 to 0.008")
L1_JITTER = Claim("l1_jitter", _l1_runs, _l1_sparse, lambda v: v["l1_256"] < 0.2 and v["l2_256"] > 0.99,
                  test_seeds=L1_TEST_SEEDS,
                  what="at λ = 0.256 plain gradient descent leaves few L1 weights near 0 (they jump across it)")
L2_ADAM = Claim("l2_adam", _adam_runs,
                lambda r: {"sgd": near_zero(r[0]), "adam": near_zero(r[1]), "gap": near_zero(r[1]) - near_zero(r[0])},
                lambda v: v["gap"] > 0.1,
                what="with L2 at λ = 0.001, Adam leaves far more weights near 0 than gradient descent")
L1_CLAIMS = (L1_SPARSE, L1_JITTER, L2_ADAM)


HIST_FLOOR = 1e-8  # the histogram's lowest edge: smaller weights are counted in one marked point below it
HIST_EDGES = np.logspace(np.log10(HIST_FLOOR), 1, 37)  # quarter-decade bins from 1e-8 to 10


def dead_units(res) -> list[np.ndarray]:
    """For each hidden layer, which units are 0 on every training point (dead ReLUs: no data gradient)."""
    h = D.load(res.config.data).X_train.astype(np.float32)
    out = []
    for layer in res.weights()[:-1]:
        h = np.maximum(h @ layer["W"] + layer["b"], 0)
        out.append(h.max(0) == 0)
    return out


def dead_linked(res) -> tuple[int, int]:
    """(weights below HIST_FLOOR, how many of them go into or out of a dead unit) of one net."""
    dead, layers = dead_units(res), res.weights()
    tiny = linked = 0
    for i, layer in enumerate(layers):
        small = np.abs(layer["W"]) < HIST_FLOOR
        mask = np.zeros_like(small)
        if i < len(layers) - 1:
            mask |= dead[i][None, :]
        if i > 0:
            mask |= dead[i - 1][:, None]
        tiny, linked = tiny + int(small.sum()), linked + int((small & mask).sum())
    return tiny, linked


def weight_histogram(nets: dict, title: str):
    """|w| on a log axis in quarter-decade bins from HIST_FLOOR; the weights below it (which L2 can shrink
    to 1e-30 and less) are one marked point at the left edge, not folded into the first bin."""
    rows, below = [], []
    for name, r in nets.items():
        w = np.abs(_weights(r)).astype(np.float64)
        counts = np.histogram(np.clip(w[w >= HIST_FLOOR], None, 10), HIST_EDGES)[0]
        rows.append(pd.DataFrame({"lo": HIST_EDGES[:-1], "hi": HIST_EDGES[1:], "share": counts / len(w),
                                  "penalty": name}))
        below.append({"lo": HIST_FLOOR / 3, "share": float((w < HIST_FLOOR).mean()), "penalty": name})
    hist, low = pd.concat(rows), pd.DataFrame(below)
    col = alt.Color("penalty:N", scale=color_scale(PENALTY_COLORS, ["L1", "L2"]), title="")
    x = alt.X("lo:Q", scale=alt.Scale(type="log", domain=[HIST_FLOOR / 6, 10]), title="|w| (log)",
              axis=alt.Axis(format=".0e", values=[1e-8, 1e-6, 1e-4, 1e-2, 1]))
    y = alt.Y("share:Q", title="share of weights")
    lines = alt.Chart(hist).mark_line(point=True, interpolate="step-after").encode(
        x=x, y=y, color=col, tooltip=["penalty", alt.Tooltip("lo:Q", format=".1e", title="from |w|"),
                                      alt.Tooltip("share:Q", format=".1%")])
    marks = alt.Chart(low).mark_point(shape="triangle-left", size=120, filled=True).encode(
        x=x, y=y, color=col, tooltip=["penalty", alt.Tooltip("share:Q", format=".1%", title=f"|w| < {HIST_FLOOR:g}")])
    floor = alt.Chart(pd.DataFrame({"lo": [HIST_FLOOR]})).mark_rule(strokeDash=[4, 3], color=REFERENCE_GREY).encode(x=x)
    return (floor + lines + marks).properties(height=300, title=title)


def _l1_demo(v, progress):
    seed, lam = int(v["seed"]), float(v["lam"])
    res = run_many(L1_SPARSE.runs(), progress=progress)
    k = len(LAMBDAS)
    rows = []
    for i, s in enumerate(L1_SPARSE.seeds):
        chunk = res[2 * k * i:2 * k * (i + 1)]
        for name, part in (("L1", chunk[:k]), ("L2", chunk[k:])):
            rows.append(penalty_table(part).assign(seed=s, penalty=name))
    df = pd.concat(rows, ignore_index=True)
    df["λ"] = df["lambda"].map(_lam_label)
    share = f"share of |w| < {NEAR_ZERO}"
    frac = seed_chart(df.rename(columns={"near zero": share}), "λ", share, color="penalty", colors=PENALTY_COLORS,
                      sort=[_lam_label(x) for x in LAMBDAS], x_title="λ",
                      title=W("l1.share_title", near=NEAR_ZERO), height=330)
    mine = res[2 * k * SEED_CHOICES.index(seed):2 * k * (SEED_CHOICES.index(seed) + 1)]
    bars = weight_histogram({"L1": mine[:k][LAMBDAS.index(lam)], "L2": mine[k:][LAMBDAS.index(lam)]},
                            W("l1.hist_title", lam=_lam_label(lam), seed=seed))
    tiny = {name: dead_linked(r) for name, r in (("L1", mine[:k][LAMBDAS.index(lam)]),
                                                  ("L2", mine[k:][LAMBDAS.index(lam)]))}
    one = df[(df["seed"] == seed) & (df["lambda"] == lam)].set_index("penalty")
    near_help = W("l1.near_zero_help", near=NEAR_ZERO, lam=lam, seed=seed)
    return [
        Columns([[Chart(_narrow(frac), caption=W("l1.share_caption", near=NEAR_ZERO))],
                 [Chart(_narrow(bars), caption=W("l1.hist_caption", floor=HIST_FLOOR, n1=tiny["L1"][0],
                                                 n2=tiny["L2"][0], dead2=tiny["L2"][1]))]]),
        *(Metric(W("l1.near_zero", penalty=k), f"{one.loc[k, 'near zero']:.0%}", help=near_help) for k in ("L1", "L2")),
        *(Metric(W("l1.val_acc", penalty=k), f"{one.loc[k, 'val accuracy']:.0%}", help=W("seed_one_run", seed=seed))
          for k in ("L1", "L2")),
    ]


L1_STEP = Step("l1", controls=(Select("seed", "seed shown (data and init)", SEED_CHOICES, 0),
                                LogSlider("lam", "λ for the histogram", LAMBDAS, 0.001)),
               runs=lambda v: _l1_runs(v["seed"]), demo=_l1_demo, heavy=True, claims=L1_CLAIMS)


# ============================================================ step 3: why L1 lands on an axis (diamond and circle)
# A 2-D problem small enough to draw and to solve exactly: mpg from two standardised, strongly correlated
# features of Auto MPG (weight and horsepower), squared error E(w) = mean((y - ȳ - Xw)²). Its contours are
# ellipses; the penalised minimisers are exact (ridge in closed form, the lasso by coordinate descent to
# convergence, both checked against scikit-learn in the tests).

GEO_FEATURES = ("weight", "horsepower")
GEO_LAMBDAS = (1.0, 2.0, 4.0, 8.0, 12.0)
GEO_LAM = 8.0


@lru_cache(maxsize=1)
def geometry_problem() -> SimpleNamespace:
    """The quadratic E(w) = E* + (w - w*)ᵀ A (w - w*) of the two-feature regression (A = XᵀX / n)."""
    s = D.load(ridge_experiment().data)
    cols = [list(s.feature_names).index(f) for f in GEO_FEATURES]
    X, y = s.X_train[:, cols].astype(np.float64), s.y_train.astype(np.float64)
    yc = y - y.mean()
    A, b = X.T @ X / len(y), X.T @ yc / len(y)
    w_ls = np.linalg.solve(A, b)
    return SimpleNamespace(X=X, y=y, A=A, b=b, w_ls=w_ls, e_min=float(np.mean((yc - X @ w_ls) ** 2)))


def geo_loss(w) -> float:
    g = geometry_problem()
    d = np.asarray(w, dtype=np.float64) - g.w_ls
    return float(g.e_min + d @ g.A @ d)


def geo_l2(lam: float) -> np.ndarray:
    """argmin E(w) + λ‖w‖²: (A + λI) w = b."""
    g = geometry_problem()
    return np.linalg.solve(g.A + lam * np.eye(2), g.b)


def geo_l1(lam: float, sweeps: int = 500) -> np.ndarray:
    """argmin E(w) + λ‖w‖₁ by exact coordinate minimisation (soft thresholding); 2-D converges fast."""
    g = geometry_problem()
    w = np.zeros(2)
    for _ in range(sweeps):
        for j in range(2):
            r = g.b[j] - g.A[j, 1 - j] * w[1 - j]
            w[j] = np.sign(r) * max(abs(r) - lam / 2, 0.0) / g.A[j, j]
    return w


def _ellipse(level: float, n: int = 120) -> np.ndarray:
    """Points of the contour E(w) = level: w* + sqrt(level - E*) A^(-1/2) u over the unit circle."""
    g = geometry_problem()
    vals, vecs = np.linalg.eigh(g.A)
    t = np.linspace(0, 2 * np.pi, n)
    u = np.stack([np.cos(t), np.sin(t)])
    return (g.w_ls[:, None] + np.sqrt(max(level - g.e_min, 0.0)) * (vecs @ (u / np.sqrt(vals)[:, None]))).T


def geometry_worked(lam: float = GEO_LAM) -> dict:
    """The numbers of the L1 solution's optimality check, computed from the problem."""
    g = geometry_problem()
    w1, w2 = geo_l1(lam), geo_l2(lam)
    pull = float(abs(2 * (g.A[1] @ w1 - g.b[1])))  # |∂E/∂w_2| at the L1 solution, where w_2 = 0
    w1 = w1 + 0.0  # an exact zero prints as 0.00, not -0.00
    return {"lam": lam, "ls1": g.w_ls[0], "ls2": g.w_ls[1], "corr": g.A[0, 1], "l1_1": w1[0], "l1_2": w1[1],
            "l2_1": w2[0], "l2_2": w2[1], "pull": pull, "half": lam / 2, "b1": g.b[0]}


def _geo_panel(kind: str, lam: float, title: str):
    g = geometry_problem()
    w = geo_l1(lam) if kind == "L1" else geo_l2(lam)
    size = float(np.abs(w).sum()) if kind == "L1" else float(np.linalg.norm(w))
    t = np.linspace(0, 2 * np.pi, 121)
    shape = (np.c_[size * np.cos(t), size * np.sin(t)] if kind == "L2" else
             np.array([[size, 0], [0, size], [-size, 0], [0, -size], [size, 0]]))
    region = pd.DataFrame({"w1": shape[:, 0], "w2": shape[:, 1], "i": range(len(shape)), "what": kind})
    e = geo_loss(w)
    levels = [e] + [g.e_min + (e - g.e_min) * f for f in (0.12, 0.45)]
    cont = pd.concat([pd.DataFrame({"w1": p[:, 0], "w2": p[:, 1], "i": range(len(p)), "level": j,
                                    "what": "loss contour"}) for j, p in enumerate(_ellipse(lv) for lv in levels)])
    pts = pd.DataFrame({"w1": [g.w_ls[0], w[0]], "w2": [g.w_ls[1], w[1]],
                        "what": ["least squares", kind]})
    lo, hi = -6.0, 2.0
    x = alt.X("w1:Q", title=f"w₁ ({GEO_FEATURES[0]})", scale=alt.Scale(domain=[lo, hi]))
    y = alt.Y("w2:Q", title=f"w₂ ({GEO_FEATURES[1]})", scale=alt.Scale(domain=[-4.0, 4.0]))
    col = alt.Color("what:N", scale=color_scale(GEOMETRY_COLORS, [kind, "loss contour", "least squares"]), title="")
    axes = alt.Chart(pd.DataFrame({"w1": [0.0], "w2": [0.0]}))
    layers = [
        axes.mark_rule(color=REFERENCE_GREY, strokeWidth=0.8).encode(x=x),
        axes.mark_rule(color=REFERENCE_GREY, strokeWidth=0.8).encode(y=y),
        alt.Chart(cont).mark_line(strokeWidth=1.2, clip=True).encode(x=x, y=y, detail="level:N", order="i:Q",
                                                                     color=col),
        alt.Chart(region).mark_line(strokeWidth=2.5).encode(x=x, y=y, order="i:Q", color=col),
        alt.Chart(pts).mark_point(filled=True, size=90).encode(
            x=x, y=y, color=col,
            tooltip=["what", alt.Tooltip("w1:Q", format=".3f"), alt.Tooltip("w2:Q", format=".3f")]),
    ]
    return alt.layer(*layers).properties(width=230, height=230, title=title)


def _geometry_demo(v, progress):
    lam = float(v["lam"])
    w1, w2 = geo_l1(lam), geo_l2(lam)
    fmt = "({:.2f}, {:.2f})"
    pair = alt.hconcat(_geo_panel("L1", lam, W("geometry.l1_title", lam=lam)),
                       _geo_panel("L2", lam, W("geometry.l2_title", lam=lam)),
                       spacing=30).resolve_scale(color="independent")  # fixed sizes keep the equal aspect
    return [
        Chart(pair.configure_legend(orient="bottom"),
              caption=W("geometry.pair_caption", w1=fmt.format(*w1 + 0.0), w2=fmt.format(*w2))),
        Metric(W("geometry.l1_zero"), W("geometry.yes") if w1[1] == 0 else W("geometry.no"),
               help=W("geometry.l1_zero_help", lam=lam)),
        Metric(W("geometry.ls"), fmt.format(*geometry_problem().w_ls), help=W("geometry.ls_help")),
    ]


GEOMETRY_STEP = Step("geometry", controls=(Select("lam", "λ", GEO_LAMBDAS, GEO_LAM),), demo=_geometry_demo,
                     worked_values=lambda: geometry_worked())


# ============================================================ weight decay in PyTorch: Adam(weight_decay) is not AdamW
# The lesson's 100 moons and net, written as plain torch code: the same `weight_decay` number handed to
# torch.optim.Adam (an L2 gradient wd·w added before Adam's division by √v) and to torch.optim.AdamW (the
# weights shrunk by lr·wd·w outside it), beside Adam without decay. Ten seeds, each its own data and init.

TORCH_WD, TORCH_LR, TORCH_STEPS = 0.01, 0.01, 300  # AdamW's default weight_decay; the lesson's Adam rate


def fit(make_optimizer, X, y, seed, steps=TORCH_STEPS):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = make_optimizer(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X).squeeze(1), y)
        loss.backward()
        opt.step()
    return model, loss.item()


def three_optimizers(X, y, seed, wd=TORCH_WD, lr=TORCH_LR):
    return {
        "Adam, no decay": fit(lambda params: torch.optim.Adam(params, lr=lr), X, y, seed),
        "Adam(weight_decay)": fit(lambda params: torch.optim.Adam(params, lr=lr, weight_decay=wd), X, y, seed),
        "AdamW(weight_decay)": fit(lambda params: torch.optim.AdamW(params, lr=lr, weight_decay=wd), X, y, seed),
    }


def _torch_decay_table(seed: int) -> pd.DataFrame:
    """One row per optimizer: the weight norm and final training loss for one seed's 100 training moons."""
    s = D.load(moons(seed))
    X, y = torch.tensor(s.X_train, dtype=torch.float32), torch.tensor(s.y_train, dtype=torch.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 100-row batch: one thread is fastest, and several contend on a shared CPU
    try:
        trained = three_optimizers(X, y, seed)
    finally:
        torch.set_num_threads(threads)
    rows = []
    for name, (model, loss) in trained.items():
        w = torch.cat([m.weight.detach().flatten() for m in model if isinstance(m, nn.Linear)])
        rows.append({"optimizer": name, "norm": float(w.norm()), "loss": float(loss)})
    return pd.DataFrame(rows)


def torch_decay_memo(seed: int) -> Memo:
    return Memo(_torch_decay_table, (int(seed),), deps=(fit, three_optimizers))


@lru_cache(maxsize=16)
def torch_decay(seed: int) -> dict:
    """{optimizer: (weight norm, final training loss)} for one seed's 100 training moons (torch, CPU),
    kept on disk (engine.memo): the shipped copy holds the claim's seeds."""
    t = torch_decay_memo(seed).get()
    return {r.optimizer: (float(r.norm), float(r.loss)) for r in t.itertuples()}


def _decay_stats(res) -> dict:
    t = torch_decay(int(res[0].config.seed))
    none, adam, adamw = (t[k][0] for k in TORCH_DECAY_COLORS)
    return {"none": none, "adam": adam, "adamw": adamw, "ratio": adam / adamw, "close": abs(adamw - none) / none,
            "loss_none": t["Adam, no decay"][1], "loss_adam": t["Adam(weight_decay)"][1],
            "loss_adamw": t["AdamW(weight_decay)"][1]}


def _decay_runs(s):
    """The seed's engine run (Adam, no penalty) only carries its data split: the statistic trains in torch."""
    return [base_experiment(s)]


DECAY_RATIO = Claim("decay_ratio", _decay_runs, _decay_stats, lambda v: v["ratio"] < 0.5,
                    what="with the same weight_decay, Adam's weights end below half the norm of AdamW's")
DECAY_CLOSE = Claim("decay_close", _decay_runs, _decay_stats, lambda v: v["close"] < 0.1,
                    what="AdamW at weight_decay 0.01 ends within 10% of Adam without decay")
DECAY_CLAIMS = (DECAY_RATIO, DECAY_CLOSE)


def _decay_demo(v, progress):
    ev = measure(list(DECAY_CLAIMS), progress)
    t = ev["decay_ratio"].table
    names = list(TORCH_DECAY_COLORS)
    long = pd.concat([pd.DataFrame({"seed": t["seed"], "optimizer": n, "weight norm": t[c]})
                      for n, c in zip(names, ("none", "adam", "adamw"))])
    chart = seed_chart(long, "optimizer", "weight norm", color="optimizer", colors=TORCH_DECAY_COLORS, sort=names,
                       x_title="", title=W("weight_norm_title"), height=300, legend=False, label_angle=-25,
                       label_limit=220)
    code = inspect.getsource(fit) + "\n\n" + inspect.getsource(three_optimizers)
    return [
        Chart(chart, caption=W("decay.caption", steps=TORCH_STEPS, wd=TORCH_WD, lr=TORCH_LR)),
        Code(code),
        *(Metric(n, W("decay.norm_value", mean=t[c].mean(), sd=t[c].std(ddof=1)),
                 help=W("decay.norm_help", loss=t[f"loss_{c}"].mean()))
          for n, c in zip(names, ("none", "adam", "adamw"))),
    ]


DECAY_STEP = Step("decay", demo=_decay_demo, claims=DECAY_CLAIMS, runs=lambda v: _decay_runs(0),
                  worked_values=lambda: decay_worked())


def decay_worked(wd: float = TORCH_WD, lr: float = TORCH_LR) -> dict:
    """First steps of Adam(weight_decay) and AdamW on one weight w = 2 that the loss does not touch: the
    engine's Adam with wd·w added to the gradient and its AdamW, equal to torch.optim's (tested)."""
    out = {"wd": wd, "lr": lr, "w0": 2.0, "keep": 1 - lr * wd}
    pairs = (("adam", OptimSpec("adam", lr=lr), wd), ("adamw", OptimSpec("adamw", lr=lr, weight_decay=wd), 0.0))
    for name, spec, l2 in pairs:
        w = walk(spec, np.zeros_like, [2.0], 100, l2=l2)[:, 0]  # no data gradient
        out[f"{name}_1"], out[f"{name}_100"] = float(w[1]), float(w[100])
    return out


# ============================================================ step 3: dropout


def dropout_masks(p: float, n: int = 20000, units: int = 16, seed: int = 0) -> dict:
    """Inverted dropout as PyTorch does it: `torch.nn.Dropout(p)` in training mode on a batch of positive
    activations (mean 1) zeroes each with probability p and multiplies the kept ones by 1/(1 - p)."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand((n, units), generator=gen, dtype=torch.float64) * 2  # activations, mean 1
    drop = nn.Dropout(p)  # p: the DROP probability (Keras's `rate` too); the keep probability is 1 - p
    torch.manual_seed(seed + 1)  # nn.Dropout draws from torch's global generator: not the activations' stream
    out = drop.train()(a)
    mask = (out != 0).double()
    return {"a": a.numpy(), "mask": mask.numpy(), "mean_a": float(a.mean()), "mean_plain": float((a * mask).mean()),
            "mean_inverted": float(out.mean()), "kept": float(mask.mean()),
            "same_in_eval": bool(torch.equal(drop.eval()(a), a))}


def dropout_worked(p: float = 0.2, n: int = 100_000, seed: int = 0) -> dict:
    """`nn.Dropout(p)` on a vector of ones: every output is 0 or 1/(1 - p), and the mean stays about 1."""
    torch.manual_seed(seed)
    drop = nn.Dropout(p)
    out = drop.train()(torch.ones(n, dtype=torch.float64))
    first = out[:8].tolist()
    return {"p": p, "keep": 1 - p, "scale": float(out.max()), "values": sorted({round(x, 6) for x in out.tolist()}),
            "first": ", ".join(f"{x:g}" for x in first), "kept": float((out != 0).double().mean()),
            "mean": float(out.mean()), "n": n, "eval_same": bool(torch.equal(drop.eval()(out), out))}


def dropout_experiments(seed: int = 0) -> list[Experiment]:
    b = base_experiment(seed)
    return [b.replace(model=dict(dropout=p)) for p in DROPS]


_MC_MEMO: dict = {}


def mc_dropout(res, samples: int = MC_PASSES, seed: int = 0) -> dict:
    """Test loss and accuracy with weight scaling (dropout off: the inverted-dropout net as it is), with
    one stochastic pass, and with Monte-Carlo dropout (the average of `samples` stochastic passes).
    Memoised on the run's weights, so a claim, its sibling claims and the demo share one computation."""
    key = (_fingerprint(res), samples, seed)
    if key not in _MC_MEMO:
        if len(_MC_MEMO) > 512:
            _MC_MEMO.clear()
        _MC_MEMO[key] = _mc_dropout(res, samples, seed)
    return _MC_MEMO[key]


def _mc_dropout(res, samples: int, seed: int) -> dict:
    s = D.load(res.config.data)
    y = s.y_test.astype(int)
    det = forward(res, s.X_test)[0]
    st = forward(res, s.X_test, samples, seed)
    out = {}
    for name, p in (("weight scaling", det), ("one stochastic pass", st[0]), (f"MC dropout ({samples} passes)",
                                                                              st.mean(0))):
        out[name] = {"test loss": log_loss(p, y), "test accuracy": accuracy(p, y)}
    return out


def _drop_stats(res) -> dict:
    f = {r.config.model.dropout: r.final for r in res}
    out = {"val0": f[0.0]["val_loss"], "val5": f[0.5]["val_loss"], "ratio5": f[0.5]["val_loss"] / f[0.0]["val_loss"],
           "every": float(all(f[p]["val_loss"] < f[0.0]["val_loss"] for p in DROPS[1:])),
           "train0": f[0.0]["train_metric"], "train5": f[0.5]["train_metric"],
           "acc0": f[0.0]["test_metric"], "acc2": f[0.2]["test_metric"], "acc5": f[0.5]["test_metric"],
           "gain5": f[0.5]["test_metric"] - f[0.0]["test_metric"],
           "better2": float(f[0.2]["test_metric"] > f[0.0]["test_metric"])}
    return out


def _mc_stats(res) -> dict:
    rows = []
    for r in res:
        if r.config.model.dropout in MC_RATES:
            m = mc_dropout(r)
            ws, one, avg = (m[k]["test loss"] for k in ("weight scaling", "one stochastic pass",
                                                         f"MC dropout ({MC_PASSES} passes)"))
            rows.append((ws, one, avg, abs(m["weight scaling"]["test accuracy"]
                                           - m[f"MC dropout ({MC_PASSES} passes)"]["test accuracy"])))
    a = np.array(rows)
    return {"ws": a[:, 0].mean(), "one": a[:, 1].mean(), "avg": a[:, 2].mean(),
            "avg_lower": float((a[:, 2] < a[:, 0]).all()), "one_worse": float((a[:, 1] > a[:, 0]).mean()),
            "one_off": float(np.abs(a[:, 1] / a[:, 0] - 1).max()), "acc_diff": float(a[:, 3].max()),
            "ws5": a[-1, 0], "avg5": a[-1, 2]}


DROP_VAL = Claim("drop_val", dropout_experiments, _drop_stats, lambda v: v["val5"] < v["val0"],
                 what="dropout p = 0.5 lowers the validation loss of the wide net")
DROP_TRAIN = Claim("drop_train", dropout_experiments, _drop_stats, lambda v: v["train5"] < v["train0"],
                   what="dropout p = 0.5 lowers the training accuracy")
DROP_ACC = Claim("drop_acc", dropout_experiments, _drop_stats, lambda v: v["gain5"] >= 0,
                 what="dropout p = 0.5 gives at least the test accuracy of no dropout")
def _mc_runs(s):
    return [e for e in dropout_experiments(s) if e.model.dropout in MC_RATES]


MC_AVG = Claim("mc_avg", _mc_runs, _mc_stats, lambda v: v["avg_lower"] == 1.0,
               what="the average of 50 stochastic passes has a lower test loss than weight scaling at p = 0.2 and 0.5")
MC_ONE = Claim("mc_one", _mc_runs, _mc_stats, lambda v: v["one_off"] < 0.35,
               what="one stochastic pass: test loss within 35% of weight scaling's at p = 0.2 and 0.5 (either side)")
DROP_CLAIMS = (DROP_VAL, DROP_TRAIN, DROP_ACC, MC_AVG, MC_ONE)


def _dropout_demo(v, progress):
    p, seed = float(v["p"]), int(v["seed"])
    m = dropout_masks(p)
    show = pd.DataFrame([(i, j, float(m["mask"][i, j])) for i in range(10) for j in range(16)],
                        columns=["example", "unit", "kept"])
    show["kept"] = np.where(show["kept"] > 0, f"kept (× {1 / (1 - p):.2f})", "dropped")
    mask_chart = alt.Chart(show).mark_rect(stroke="white").encode(
        x=alt.X("unit:O", title="hidden unit"), y=alt.Y("example:O", title="example"),
        color=alt.Color("kept:N", scale=alt.Scale(range=DROPOUT_MASK_COLORS), title="",
                        legend=alt.Legend(orient="bottom")),
        tooltip=["example", "unit", "kept"]).properties(height=260, title=W("dropout.mask_title", p=p))
    ev = measure([DROP_VAL, MC_AVG], progress)
    res = run_many(DROP_VAL.runs())
    rows = [{"seed": r.config.seed, "p": f"{r.config.model.dropout:g}", "train": r.final["train_loss"],
             "val": r.final["val_loss"]} for r in res]
    df = pd.DataFrame(rows).melt(["seed", "p"], ["train", "val"], "split", "loss")
    lc = seed_chart(df, "p", "loss", color="split", colors=SPLIT_COLORS, x_title="drop probability p",
                    y_title="loss", title=W("dropout.loss_title"), height=280)
    mc = ev["mc_avg"].table.assign(gap=lambda d: d["ws"] - d["avg"])
    mc_chart = evidence_chart(_Ev(mc, "gap"), "gap", title=W("dropout.mc_title", of=ev["mc_avg"].of),
                              x_title=W("dropout.mc_axis"), height=180)
    chosen = next(r for r in res if r.config.seed == seed and abs(r.config.model.dropout - p) < 1e-9)
    tab = pd.DataFrame(mc_dropout(chosen)).T
    return [
        Columns([[Chart(_narrow(mask_chart, 200), caption=W("dropout.mask_caption"))],
                 [Chart(_narrow(lc, flat_labels=True), caption=W("dropout.loss_caption"))]]),
        Metric(W("dropout.mean_activation"), f"{m['mean_a']:.3f}", help=W("dropout.mean_activation_help")),
        Metric(W("dropout.masked"), f"{m['mean_plain']:.3f}", help=W("dropout.masked_help")),
        Metric(W("dropout.inverted"), f"{m['mean_inverted']:.3f}", help=W("dropout.inverted_help")),
        Columns([[Chart(_narrow(mc_chart))],
                 [Table(tab.round(3), caption=W("dropout.table_caption", seed=seed, p=p, passes=MC_PASSES))]]),
    ]


DROPOUT_STEP = Step("dropout", controls=(Select("p", "drop probability p", (0.1, 0.2, 0.3, 0.5), 0.2),
                                          Select("seed", "seed for the table", SEED_CHOICES, 0)),
                    runs=lambda v: dropout_experiments(v["seed"]), demo=_dropout_demo, heavy=True,
                    claims=DROP_CLAIMS, worked_values=lambda: dropout_worked())


# ============================================================ dropout in PyTorch: train() and eval()
# The trained engine nets (p = 0.5, the dropout sweep's) loaded into a real torch module with nn.Dropout, and
# called twice on the same test points: once left in training mode (the mistake), once after model.eval().

EVAL_P = 0.5


def torch_dropout_net(res) -> nn.Sequential:
    """A trained engine net as a torch module: Linear, ReLU, Dropout(p) per hidden layer, then the output."""
    return as_torch(res, dropout=res.config.model.dropout)


def predict_without_eval(model, X):
    model.train()  # the mode after training: dropout on
    with torch.no_grad():
        return torch.sigmoid(model(X)), torch.sigmoid(model(X))


def predict_with_eval(model, X):
    model.eval()  # dropout off, every unit present
    with torch.no_grad():
        return torch.sigmoid(model(X)), torch.sigmoid(model(X))


def eval_mistake(res, seed: int = 0) -> dict:
    """Both ways of predicting on the 1,400 test points: how far two calls disagree, and the accuracies."""
    s = D.load(res.config.data)
    X, y = torch.tensor(s.X_test, dtype=torch.float32), torch.tensor(s.y_test.astype(int))
    model = torch_dropout_net(res)
    torch.manual_seed(seed)
    out = {}
    for mode, fn in (("train", predict_without_eval), ("eval", predict_with_eval)):
        a, b = (t.squeeze(1) for t in fn(model, X))
        out[f"{mode}_flips"] = float(((a > 0.5) != (b > 0.5)).double().mean())
        out[f"{mode}_dp"] = float((a - b).abs().max())
        out[f"{mode}_acc"] = float(((a > 0.5).long() == y).double().mean())
        out[f"{mode}_a"], out[f"{mode}_b"] = a.numpy(), b.numpy()
    out["engine_acc"] = res.final["test_metric"]
    return out


def _eval_runs(s):
    return [e for e in dropout_experiments(s) if e.model.dropout == EVAL_P]


def _eval_stats(res) -> dict:
    m = eval_mistake(res[0], seed=0)
    return {"flips": m["train_flips"], "dp": m["train_dp"], "eval_flips": m["eval_flips"], "eval_dp": m["eval_dp"],
            "acc_train": m["train_acc"], "acc_eval": m["eval_acc"], "engine_gap": abs(m["eval_acc"] - m["engine_acc"])}


EVAL_FLIPS = Claim("eval_flips", _eval_runs, _eval_stats,
                   lambda v: v["flips"] > 0.005 and v["dp"] > 0.2 and v["eval_dp"] == 0 and v["engine_gap"] < 1e-6,
                   what="left in train() mode the module's two calls disagree; after eval() they agree exactly")
EVAL_ACC = Claim("eval_acc", _eval_runs, _eval_stats, lambda v: v["acc_eval"] > v["acc_train"],
                 what="the forgotten eval() costs test accuracy (one stochastic pass vs the full net)")
EVAL_CLAIMS = (EVAL_FLIPS, EVAL_ACC)


def _eval_demo(v, progress):
    seed = int(v["seed"])
    ev = measure(list(EVAL_CLAIMS), progress)
    res = run_many(_eval_runs(seed))[0]
    m = eval_mistake(res, seed=0)
    shown = 40
    rows = pd.concat([pd.DataFrame({"test point": np.arange(shown), "first call": m[f"{k}_a"][:shown],
                                    "second call": m[f"{k}_b"][:shown], "mode": label})
                      for k, label in (("train", "train() mode"), ("eval", "eval() mode"))])
    col = alt.Color("mode:N", scale=color_scale(MODE_COLORS), title="", legend=alt.Legend(orient="bottom"))
    diag = alt.Chart(pd.DataFrame({"first call": [0.0, 1.0], "second call": [0.0, 1.0]})).mark_line(
        color=REFERENCE_GREY, strokeDash=[4, 3]).encode(x="first call:Q", y="second call:Q")
    dots = alt.Chart(rows).mark_circle(size=45, opacity=0.75).encode(
        x=alt.X("first call:Q", title="P(class 1), first call", scale=alt.Scale(domain=[0, 1], nice=False)),
        y=alt.Y("second call:Q", title="P(class 1), second call", scale=alt.Scale(domain=[0, 1], nice=False)),
        color=col,
        tooltip=["mode", "test point", alt.Tooltip("first call:Q", format=".3f"),
                 alt.Tooltip("second call:Q", format=".3f")])
    chart = (diag + dots).properties(width=260, height=260, title=W("eval.chart_title", seed=seed, n=shown))
    t = ev["eval_flips"].table
    long = pd.concat([pd.DataFrame({"seed": t["seed"], "mode": label, "test accuracy": t[col_]})
                      for label, col_ in (("train() mode", "acc_train"), ("eval() mode", "acc_eval"))])
    acc = seed_chart(long, "mode", "test accuracy", color="mode", colors=MODE_COLORS, sort=list(MODE_COLORS),
                     x_title="", title=W("eval.acc_title"), height=230, legend=False)
    code = inspect.getsource(predict_without_eval) + "\n\n" + inspect.getsource(predict_with_eval)
    return [
        Columns([[Chart(chart, caption=W("eval.chart_caption", seed=seed), square=True)],
                 [Chart(_narrow(acc, 230, flat_labels=True), caption=W("eval.acc_caption"))]]),
        Code(code),
        Metric(W("eval.flips"), f"{m['train_flips']:.1%}", help=W("eval.flips_help", seed=seed)),
        Metric(W("eval.eval_flips"), f"{m['eval_flips']:.1%}", help=W("eval.flips_help", seed=seed)),
        Metric(W("eval.acc"), f"{m['train_acc']:.1%} / {m['eval_acc']:.1%}", help=W("eval.acc_help", seed=seed)),
    ]


EVAL_STEP = Step("eval", controls=(Select("seed", "seed shown", SEED_CHOICES, 0),),
                 runs=lambda v: _eval_runs(v["seed"]), demo=_eval_demo, claims=EVAL_CLAIMS)


class _Ev:
    """A per-seed frame shaped like `Evidence` for `evidence_chart` (a derived column, its mean)."""

    def __init__(self, table: pd.DataFrame, stat: str):
        self.table, self._stat = table, stat
        self.of = f"{int(table['held'].sum())} of {len(table)} seeds"

    def __getitem__(self, name):
        return float(self.table[name].mean())


# ============================================================ step 4: noise injection


def noise_experiments(seed: int = 0) -> list[Experiment]:
    b = base_experiment(seed)
    return [b.replace(reg=dict(input_noise=s)) for s in SIGMAS]


def _noise_stats(res) -> dict:
    val = np.array([r.final["val_loss"] for r in res])
    norms = np.array([weight_norm(r) for r in res])
    return {"val0": val[0], "val_max": val[1:].max(), "val3": val[SIGMAS.index(0.3)], "norm0": norms[0],
            "norm1": norms[-1], "falls": float((np.diff(norms) < 0).all()),
            "train0": res[0].final["train_metric"], "train1": res[-1].final["train_metric"]}


NOISE_VAL = Claim("noise_val", noise_experiments, _noise_stats, lambda v: v["val_max"] < v["val0"],
                  what="every σ > 0 gives a lower validation loss than no noise")
NOISE_NORM = Claim("noise_norm", noise_experiments, _noise_stats,
                   lambda v: v["falls"] == 1.0 and v["train1"] < v["train0"],
                   what="the weight norm falls at every step of σ, and σ = 1 fits fewer training points")
NOISE_CLAIMS = (NOISE_VAL, NOISE_NORM)


def _noise_demo(v, progress):
    sigma, seed = float(v["sigma"]), int(v["seed"])
    res = run_many(NOISE_VAL.runs(), progress=progress)
    df = pd.DataFrame([{"seed": r.config.seed, "σ": f"{r.config.reg.input_noise:g}", "val loss": r.final["val_loss"],
                        "weight norm": weight_norm(r)} for r in res])
    order = [f"{s:g}" for s in SIGMAS]
    val = seed_chart(df, "σ", "val loss", sort=order, x_title="input noise σ", y_title="val loss",
                     title=W("val_loss_title"), height=260)
    norm = seed_chart(df, "σ", "weight norm", sort=order, x_title="input noise σ", y_title="weight norm",
                      title=W("weight_norm_title"), height=260)
    by = {r.config.reg.input_noise: r for r in res if r.config.seed == seed}
    return [
        Columns([[Chart(_narrow(val, flat_labels=True))],
                 [Chart(_narrow(norm, flat_labels=True), caption=W("noise.caption"))]]),
        _surface_pair(by[0.0], by[sigma], "σ = 0", f"σ = {sigma:g}", W("seed_one_run", seed=seed)),
    ]


NOISE_STEP = Step("noise", controls=(Select("sigma", "noise σ shown on the right", SIGMAS[1:], 0.3),
                                      Select("seed", "seed shown", SEED_CHOICES, 0)),
                  runs=lambda v: noise_experiments(v["seed"]), demo=_noise_demo, heavy=True, claims=NOISE_CLAIMS)


# ============================================================ step 5: data augmentation (shifted digits)
# Few training digits (so that more of them matters) and many test digits (so that one digit is 0.08
# percentage points). The four training sets: as they are, with input noise, with every digit's four
# 1-pixel shifts (DataSpec.augment="shift1", five times the rows), and with both.

AUG_TRAIN_FRAC, AUG_VAL_FRAC = 0.1, 0.2  # 180 training, 359 validation and 1,258 test digits
AUG_HIDDEN, AUG_STEPS, AUG_SIGMA = (64,), 500, 0.6
AUG_KINDS = ("none", "noise", "shifts", "shifts + noise")
AUG_SHOWN = 4  # training digits drawn with their shifted copies
AUG_VERSIONS = ("original", "up", "down", "left", "right")  # the order of D.SHIFTS1 after the original


def augment_experiments(seed: int = 0) -> list[Experiment]:
    """One run per training set of AUG_KINDS, on the same split of the digits: 64 ReLU units, Adam, full batch."""
    d = DataSpec("digits", n=0, seed=int(seed), train_frac=AUG_TRAIN_FRAC, val_frac=AUG_VAL_FRAC,
                 test_frac=round(1 - AUG_TRAIN_FRAC - AUG_VAL_FRAC, 6))
    b = Experiment(data=d, model=ModelSpec(hidden=AUG_HIDDEN, activation="relu"), optim=OptimSpec("adam", lr=0.01),
                   train=TrainSpec(steps=AUG_STEPS, record_every=RECORD), seed=int(seed))
    shift = b.replace(data=dict(augment="shift1"))
    return [b, b.replace(reg=dict(input_noise=AUG_SIGMA)), shift, shift.replace(reg=dict(input_noise=AUG_SIGMA))]


def _aug_stats(res) -> dict:
    acc = dict(zip(AUG_KINDS, (r.final["test_metric"] for r in res)))
    loss = dict(zip(AUG_KINDS, (r.final["test_loss"] for r in res)))
    return {"none": acc["none"], "noise": acc["noise"], "shift": acc["shifts"], "both": acc["shifts + noise"],
            "shift_gain": acc["shifts"] - acc["none"], "noise_gain": acc["noise"] - acc["none"],
            "both_over": acc["shifts + noise"] - max(acc["shifts"], acc["noise"]),
            "shift_wins": float(acc["shifts"] > acc["noise"]), "loss_none": loss["none"],
            "loss_shift": loss["shifts"], "loss_both": loss["shifts + noise"],
            "train_min": min(r.final["train_metric"] for r in res)}


AUG_SHIFT = Claim("aug_shift", augment_experiments, _aug_stats, lambda v: v["shift_gain"] > 0,
                  what="shifted copies raise the test accuracy over no augmentation")
AUG_NOISE = Claim("aug_noise", augment_experiments, _aug_stats, lambda v: v["noise_gain"] > 0,
                  what="input noise raises the test accuracy over no augmentation")
AUG_BOTH = Claim("aug_both", augment_experiments, _aug_stats, lambda v: v["both_over"] > 0,
                 what="shifts and noise together beat either alone on test accuracy")
AUG_CLAIMS = (AUG_SHIFT, AUG_NOISE, AUG_BOTH)


def shifted_digits(seed: int = 0, k: int = AUG_SHOWN) -> pd.DataFrame:
    """The first k training digits of a seed's split and their four shifted copies, one row per pixel:
    read from the augmented training set the engine trains on (the original rows, then one block per shift)."""
    s = D.load(augment_experiments(seed)[2].data)
    n = len(s.raw_train) // len(AUG_VERSIONS)
    rows = []
    for v, version in enumerate(AUG_VERSIONS):
        for i in range(k):
            img = s.raw_train[v * n + i].reshape(8, 8)
            rows += [{"version": version, "digit": i, "label": int(s.y_train[v * n + i]), "row": r, "col": c,
                      "ink": float(img[r, c])} for r in range(8) for c in range(8)]
    return pd.DataFrame(rows)


def digits_chart(df: pd.DataFrame, title: str):
    """The digits as small greyscale images, one column per version; only inked pixels are sent (blank is white)."""
    ink = df.loc[df["ink"] > 0, ["version", "digit", "row", "col", "ink"]]
    pix = list(range(8))
    cell = alt.Chart(ink).mark_rect().encode(
        x=alt.X("col:O", axis=None, scale=alt.Scale(domain=pix)),
        y=alt.Y("row:O", axis=None, scale=alt.Scale(domain=pix)),
        color=alt.Color("ink:Q", scale=alt.Scale(scheme="greys", domain=[0, 16]), legend=None),
        tooltip=[]).properties(width=40, height=40)
    return cell.facet(column=alt.Column("version:N", sort=list(AUG_VERSIONS), title=None,
                                        header=alt.Header(labelOrient="bottom")),
                      row=alt.Row("digit:O", title=None, header=alt.Header(labels=False)),
                      spacing=4, title=title).configure_view(stroke=REFERENCE_GREY)


def _augment_demo(v, progress):
    seed = int(v["seed"])
    res = run_many(AUG_SHIFT.runs(), progress=progress)
    df = pd.DataFrame([{"seed": r.config.seed, "training set": AUG_KINDS[i % len(AUG_KINDS)],
                        "test accuracy": r.final["test_metric"]} for i, r in enumerate(res)])
    acc = seed_chart(df, "training set", "test accuracy", color="training set", colors=AUGMENT_COLORS,
                     sort=list(AUG_KINDS), x_title="", title=W("augmentation.acc_title"), height=280, legend=False)
    mine = dict(zip(AUG_KINDS, run_many(augment_experiments(seed))))
    n_plain = len(D.load(mine["none"].config.data).X_train)
    n_aug = len(D.load(mine["shifts"].config.data).X_train)
    one_run = W("seed_one_run", seed=seed)
    return [
        Columns([[Chart(digits_chart(shifted_digits(seed), W("augmentation.digits_title", seed=seed)),
                        caption=W("augmentation.digits_caption"))],
                 [Chart(_narrow(acc, 210, flat_labels=True),
                        caption=W("augmentation.acc_caption", n=n_plain, sigma=AUG_SIGMA, steps=AUG_STEPS))]]),
        Metric(W("augmentation.train_size"), f"{n_plain} → {n_aug}", help=W("augmentation.train_size_help")),
        *(Metric(W("augmentation.acc", kind=k), f"{mine[k].final['test_metric']:.1%}", help=one_run)
          for k in ("none", "shifts", "shifts + noise")),
    ]


AUGMENT_STEP = Step("augmentation", controls=(Select("seed", "seed shown", SEED_CHOICES, 0),),
                    runs=lambda v: augment_experiments(v["seed"]), demo=_augment_demo, heavy=True,
                    claims=AUG_CLAIMS)


# ============================================================ step 6: label smoothing


def smoothing_experiments(seed: int = 0) -> list[Experiment]:
    """All 1,797 digits: 20% to train on, 60% (1,078 digits) to test on; one run per ε."""
    return [Experiment(data=DataSpec("digits", n=0, seed=int(seed), train_frac=0.2, val_frac=0.2, test_frac=0.6),
                       model=ModelSpec(hidden=(32,), activation="relu"), optim=OptimSpec("adam", lr=0.01),
                       reg=RegSpec(label_smoothing=e), train=TrainSpec(steps=300, record_every=RECORD), seed=int(seed))
            for e in SMOOTHS]


ECE_BINS = 10


def expected_calibration_error(prob: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: bin the test points by confidence (the top class's probability) into `bins` equal widths; in each
    bin, |mean confidence - accuracy|, weighted by the bin's share of points (Guo et al. 2017)."""
    conf, right = prob.max(1), (prob.argmax(1) == np.asarray(y, dtype=int))
    which = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)  # (0.9, 1.0] is the last bin
    return float(sum((which == b).mean() * abs(conf[which == b].mean() - right[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def confidence(res) -> dict:
    """Mean predicted probability of the top class (test) and of the true class (train), and the test ECE."""
    s = D.load(res.config.data)
    pt, ptr = predict(res, s.X_test), predict(res, s.X_train)
    return {"test confidence": float(pt.max(1).mean()),
            "train P(true class)": float(ptr[np.arange(len(s.y_train)), s.y_train].mean()),
            "test accuracy": res.final["test_metric"], "test loss": res.final["test_loss"],
            "test ECE": expected_calibration_error(pt, s.y_test)}


def _smooth_stats(res) -> dict:
    c = [confidence(r) for r in res]
    eps = np.array(SMOOTHS)
    ptrue = np.array([x["train P(true class)"] for x in c])
    conf = np.array([x["test confidence"] for x in c])
    acc = np.array([x["test accuracy"] for x in c])
    loss = np.array([x["test loss"] for x in c])
    ece = np.array([x["test ECE"] for x in c])
    i1 = SMOOTHS.index(0.1)
    return {"fit": float(np.abs(ptrue - (1 - eps)).max()), "p0": ptrue[0], "conf0": conf[0], "conf3": conf[-1],
            "conf_falls": float((np.diff(conf) < 0).all()), "over0": conf[0] - acc[0], "under1": acc[i1] - conf[i1],
            "acc0": acc[0], "loss0": loss[0], "d05": loss[1] - loss[0], "d30": loss[-1] - loss[0],
            "lower05": float(loss[1] < loss[0]), "ece0": ece[0], "ece1": ece[i1], "ece3": ece[-1],
            "ece_rises": float((np.diff(ece) > 0).all()), "acc1": acc[i1], "dacc1": acc[i1] - acc[0],
            "absdacc1": abs(acc[i1] - acc[0]), "dconf1": conf[0] - conf[i1],
            "acc_up1": float(acc[i1] > acc[0])}


SMOOTH_FIT = Claim("smooth_fit", smoothing_experiments, _smooth_stats,
                   lambda v: v["fit"] < 0.015 and v["conf_falls"] == 1.0,
                   what="training P(true class) sits at 1 - ε, and test confidence falls with ε")
SMOOTH_CAL = Claim("smooth_cal", smoothing_experiments, _smooth_stats,
                   lambda v: v["over0"] > 0 and v["under1"] > 0,
                   what="without smoothing the net is over-confident on test digits, with ε = 0.1 under-confident")
SMOOTH_LOSS = Claim("smooth_loss", smoothing_experiments, _smooth_stats, lambda v: v["d30"] > 0,
                    what="ε = 0.3 raises the test loss over no smoothing")
SMOOTH_ECE = Claim("smooth_ece", smoothing_experiments, _smooth_stats,
                   lambda v: v["ece_rises"] == 1.0 and v["ece1"] > 3 * v["ece0"],
                   what="on this nearly calibrated net the ECE rises at every ε, ε = 0.1 more than triples it")
SMOOTH_ACC = Claim("smooth_acc", smoothing_experiments, _smooth_stats,
                   lambda v: v["absdacc1"] < 0.03 and v["dconf1"] > 0.15,
                   what="ε = 0.1 moves test accuracy by under 3 points while it lowers confidence by over 0.15")
SMOOTH_CLAIMS = (SMOOTH_FIT, SMOOTH_CAL, SMOOTH_ECE, SMOOTH_ACC, SMOOTH_LOSS)


def smoothed_targets(eps: float, k: int = 10) -> pd.DataFrame:
    """The target of a class-0 example as a table: one-hot, this lesson's ε/(k-1) and PyTorch/Keras's ε/k
    conventions (the numbers from lessons.common.smoothed_targets)."""
    return pd.DataFrame({"class": list(range(k)), "one-hot": _smoothed(k, 0.0),
                         f"here: ε/(k-1), ε = {eps:g}": _smoothed(k, eps),
                         f"PyTorch, Keras: ε/k, ε = {eps:g}": _smoothed(k, eps, convention="eps/k")})


def _smoothing_demo(v, progress):
    eps = float(v["eps"])
    res = run_many(SMOOTH_FIT.runs(), progress=progress)
    rows = []
    for r in res:
        c = confidence(r)
        e = r.config.reg.label_smoothing
        rows += [{"seed": r.config.seed, "ε": f"{e:g}", "quantity": q, "score": c[q]}
                 for q in CALIBRATION_COLORS]
    df = pd.DataFrame(rows)
    conf = seed_chart(df, "ε", "score", color="quantity", colors=CALIBRATION_COLORS, sort=[f"{e:g}" for e in SMOOTHS],
                      x_title="label smoothing ε", y_title="score", title=W("smoothing.conf_title"), height=320)
    loss = pd.DataFrame([{"seed": r.config.seed, "ε": f"{r.config.reg.label_smoothing:g}",
                          "test loss": r.final["test_loss"]} for r in res])
    lc = seed_chart(loss, "ε", "test loss", sort=[f"{e:g}" for e in SMOOTHS], x_title="label smoothing ε",
                    y_title="test loss", title=W("test_loss_title"), height=260)
    return [
        Columns([[Chart(_narrow(conf, flat_labels=True), caption=W("smoothing.conf_caption"))],
                 [Chart(_narrow(lc, flat_labels=True), caption=W("smoothing.loss_caption"))]]),
        Table(smoothed_targets(eps).set_index("class").T.round(4), caption=W("smoothing.table_caption")),
    ]


SMOOTHING_STEP = Step("smoothing", controls=(Select("eps", "ε for the target table", SMOOTHS[1:], 0.1),),
                      demo=_smoothing_demo, heavy=True, claims=SMOOTH_CLAIMS)  # draws only its claims' sweep


# ============================================================ step 7: bagging


def bagging_experiments(seed: int = 0) -> list[Experiment]:
    """REPLICAS bootstrap replicas of the training rows, plus the net trained on the rows as they are."""
    b = base_experiment(seed)
    return [b.replace(data=dict(bootstrap=i)) for i in range(REPLICAS)] + [b]


_BAG_MEMO: dict = {}


def _fingerprint(res) -> tuple:
    return res.config.key(), hashlib.sha256(np.ascontiguousarray(res.params).tobytes()).hexdigest()


def bagging(results, b: int = REPLICAS) -> dict:
    """Average the first b replicas' probabilities (each standardises with its own resample's stats).
    Memoised on the runs' weights: the step's claims and its demo read the same numbers."""
    key = (tuple(_fingerprint(r) for r in results), b)
    if key not in _BAG_MEMO:
        if len(_BAG_MEMO) > 256:
            _BAG_MEMO.clear()
        _BAG_MEMO[key] = _bagging(results, b)
    return _BAG_MEMO[key]


def _bagging(results, b: int) -> dict:
    reps, single = results[:b], results[-1]
    s = D.load(single.config.data)
    y = s.y_test.astype(int)
    probs = [predict(r, D.load(r.config.data).standardise(s.raw_test)) for r in reps]
    avg = np.mean(probs, 0)
    return {"bagged": accuracy(avg, y), "bagged loss": log_loss(avg, y),
            "replicas": [accuracy(p, y) for p in probs], "replica losses": [log_loss(p, y) for p in probs],
            "single": single.final["test_metric"], "single loss": single.final["test_loss"]}


def _bag_stats(res) -> dict:
    o = bagging(res)
    return {"bag_loss": o["bagged loss"], "single_loss": o["single loss"],
            "replica_loss": float(np.mean(o["replica losses"])), "bag_acc": o["bagged"], "single_acc": o["single"],
            "replica_acc": float(np.mean(o["replicas"])), "acc_gain": o["bagged"] - o["single"],
            "better": float(o["bagged"] > o["single"]), "over_replica": o["bagged"] - float(np.mean(o["replicas"]))}


BAG_LOSS = Claim("bag_loss", bagging_experiments, _bag_stats, lambda v: v["bag_loss"] < v["single_loss"] / 2,
                 what="the bagged test loss is below half the single net's")
BAG_ACC = Claim("bag_acc", bagging_experiments, _bag_stats, lambda v: v["over_replica"] > 0,
                what="the bagged net is more accurate than the average replica")
BAG_CLAIMS = (BAG_LOSS, BAG_ACC)


def _bagging_demo(v, progress):
    b, seed = int(v["b"]), int(v["seed"])
    ev = measure(list(BAG_CLAIMS), progress)
    res = run_many(bagging_experiments(seed))
    out = bagging(res, b)
    t = ev["bag_acc"].table
    models = (("single", "single"), ("replica", "replica"), ("bagged", "bag"))
    order = [m for m, _ in models]
    panels = []
    for stat, title in (("loss", W("test_loss_title")), ("acc", W("bagging.acc_title"))):
        name = "test loss" if stat == "loss" else "test accuracy"
        long = pd.concat([pd.DataFrame({"seed": t["seed"], "model": m, name: t[f"{col}_{stat}"]})
                          for m, col in models])
        chart = seed_chart(long, "model", name, sort=order, x_title="", title=title, height=230)
        panels.append(_narrow(chart, flat_labels=True))
    return [
        Columns([[Chart(surface_chart([res[-1]], W("bagging.single_title"), legend=True),
                        caption=W("bagging.single_caption", seed=seed, acc=out["single"], loss=out["single loss"]),
                        square=True)],
                 [Chart(surface_chart(res[:b], W("bagging.bagged_title", b=b), legend=False),
                        caption=W("bagging.bagged_caption", seed=seed, acc=out["bagged"],
                                  loss=out["bagged loss"]), square=True)]]),
        Columns([[Chart(panels[0], caption=W("bagging.panels_caption"))], [Chart(panels[1], caption=W("dots"))]]),
        Metric(W("bagging.bagged_loss", b=b), f"{out['bagged loss']:.2f}", help=W("bagging.loss_help", seed=seed)),
        Metric(W("bagging.single_loss"), f"{out['single loss']:.2f}", help=W("bagging.loss_help", seed=seed)),
        Metric(W("bagging.replica_acc"), f"{min(out['replicas']) * 100:.0f}–{max(out['replicas']):.0%}",
               help=W("bagging.replica_acc_help", seed=seed)),
    ]


BAGGING_STEP = Step("bagging", controls=(Slider("b", "replicas averaged", 1, REPLICAS, REPLICAS),
                                          Select("seed", "seed shown", SEED_CHOICES, 0)),
                    runs=lambda v: bagging_experiments(v["seed"]), demo=_bagging_demo, heavy=True,
                    claims=BAG_CLAIMS)


# ============================================================ step 8: early stopping


def early_experiments(seed: int = 0, patience: int = PATIENCE) -> list[Experiment]:
    b = base_experiment(seed).replace(train=dict(record_every=EARLY_RECORD))
    return [b, b.replace(train=dict(patience=int(patience)))]


def total_norm(res) -> pd.Series:
    cols = res.layer_columns("weight_norm")
    return np.sqrt(np.square(res.history[cols]).sum(axis=1))


def _early_stats(res) -> dict:
    full, stop = res
    n = total_norm(full).to_numpy()
    best = int(stop.history.loc[stop.history["val_loss"].idxmin(), "step"])
    return {"grows": float((np.diff(n) > 0).all()), "n_first": n[0], "n_end": n[-1], "best": best,
            "stopped": float(stop.meta.get("stopped_at") or STEPS), "kept_norm": weight_norm(stop),
            "val_kept": stop.final["val_loss"], "val_end": full.final["val_loss"],
            "acc_kept": stop.final["test_metric"], "acc_end": full.final["test_metric"],
            "acc_gain": stop.final["test_metric"] - full.final["test_metric"]}


EARLY_NORM = Claim("early_norm", early_experiments, _early_stats, lambda v: v["grows"] == 1.0,
                   what="without a penalty the weight norm grows at every recorded step")
EARLY_KEPT = Claim("early_kept", early_experiments, _early_stats,
                   lambda v: v["val_kept"] < v["val_end"] and v["kept_norm"] < v["n_end"],
                   what="the kept weights are smaller and have a lower validation loss than the last ones")
EARLY_ACC = Claim("early_acc", early_experiments, _early_stats, lambda v: v["acc_gain"] >= 0,
                  what="the kept weights are at least as accurate on the test points")
EARLY_CLAIMS = (EARLY_NORM, EARLY_KEPT, EARLY_ACC)


def _early_demo(v, progress):
    seed, patience = int(v["seed"]), int(v["patience"])
    ev = measure(list(EARLY_CLAIMS), progress)
    full, stop = run_many(early_experiments(seed, patience), progress=progress)
    h = full.history.assign(norm=total_norm(full))
    at = stop.meta.get("stopped_at")
    best = int(stop.history.loc[stop.history["val_loss"].idxmin(), "step"])
    base = alt.Chart(h).encode(x=alt.X("step:Q", title="step"))
    norm = base.mark_line(color=WEIGHT_NORM_COLOR).encode(y=alt.Y("norm:Q", title="‖W‖"),
                                                  tooltip=["step", alt.Tooltip("norm:Q", format=".2f")])
    val = base.mark_line(color=SPLIT_COLORS["val"]).encode(
        y=alt.Y("val_loss:Q", title="validation loss"), tooltip=["step", alt.Tooltip("val_loss:Q", format=".3f")])
    marks = pd.DataFrame({"step": [best] + ([at] if at is not None else []),
                          "event": ["best step (kept)"] + (["stopped"] if at is not None else [])})
    rule = alt.Chart(marks).mark_rule(strokeDash=[5, 4]).encode(
        x="step:Q", color=alt.Color("event:N", scale=color_scale(EARLY_STOP_COLORS), title="",
                                    legend=alt.Legend(orient="bottom")), tooltip=["event", "step"])
    t = ev["early_kept"].table
    panels = []
    for name, kept, last, title in (("validation loss", "val_kept", "val_end", W("val_loss_title")),
                                    ("weight norm", "kept_norm", "n_end", W("weight_norm_title"))):
        long = pd.concat([pd.DataFrame({"seed": t["seed"], "weights": w, name: t[col]})
                          for w, col in (("kept", kept), (f"step {STEPS}", last))])
        chart = seed_chart(long, "weights", name, sort=["kept", f"step {STEPS}"], x_title="", title=title, height=230)
        panels.append(_narrow(chart, flat_labels=True))
    return [
        Columns([[Chart(_narrow((norm + rule).properties(height=250, title=W("early.norm_title", seed=seed))))],
                 [Chart(_narrow((val + rule).properties(height=250, title=W("early.val_title", seed=seed))))]]),
        Columns([[Chart(panels[0], caption=W("early.kept_caption"))], [Chart(panels[1])]]),
        Metric(W("early.stopped_at"), "—" if at is None else W("early.stopped_step", step=at),
               help=W("early.stopped_help", seed=seed, patience=patience)),
        Metric(W("early.kept_norm"), f"{weight_norm(stop):.1f}", help=W("early.kept_norm_help", step=best)),
        Metric(W("early.end_norm", steps=STEPS), f"{weight_norm(full):.1f}", help=W("early.end_norm_help")),
        Metric(W("early.val_loss"), f"{stop.final['val_loss']:.2f} / {full.final['val_loss']:.2f}",
               help=W("early.val_loss_help", steps=STEPS)),
    ]


EARLY_STEP = Step("early", controls=(Select("patience", "patience (evaluations)", (5, 10, 20, 50), PATIENCE),
                                      Select("seed", "seed shown", SEED_CHOICES, 0)),
                  runs=lambda v: early_experiments(v["seed"], v["patience"]), demo=_early_demo, heavy=True,
                  claims=EARLY_CLAIMS)


# ============================================================ step 9: the quiz quotes the steps' measurements
# The quiz step quotes the same measurements as the steps above through claims of its own (claim ids are
# unique per lesson); their runs are the same experiments, so the page reads them from the cache. The
# generic retrain test checks them on two seeds only: the full sweeps are retrained in their own steps.

QUIZ_SEEDS = (0, 1)
QUIZ_COLLAPSE = Claim("quiz_collapse", lambda s: penalty_experiments("l2", s),
                      lambda res: {**_l2_best(res), **_l2_collapse(res)},
                      L2_COLLAPSE.holds, test_seeds=QUIZ_SEEDS, what=L2_COLLAPSE.what)
QUIZ_DROP = Claim("quiz_drop", dropout_experiments, _drop_stats, DROP_VAL.holds, test_seeds=QUIZ_SEEDS,
                  what=DROP_VAL.what)
QUIZ_NOISE = Claim("quiz_noise", noise_experiments, _noise_stats, NOISE_VAL.holds, test_seeds=QUIZ_SEEDS,
                   what=NOISE_VAL.what)
QUIZ_BAG = Claim("quiz_bag", bagging_experiments, _bag_stats, BAG_LOSS.holds, test_seeds=QUIZ_SEEDS,
                 what=BAG_LOSS.what)
QUIZ_L1 = Claim("quiz_l1", _l1_runs, _l1_sparse, L1_SPARSE.holds, test_seeds=QUIZ_SEEDS, what=L1_SPARSE.what)
QUIZ_MC = Claim("quiz_mc", _mc_runs, _mc_stats, MC_AVG.holds, test_seeds=QUIZ_SEEDS,
                what=MC_AVG.what)
QUIZ_CLAIMS = (QUIZ_COLLAPSE, QUIZ_DROP, QUIZ_NOISE, QUIZ_BAG, QUIZ_L1, QUIZ_MC)


CHECK_STEP = Step("check", claims=QUIZ_CLAIMS)


# ============================================================ the lesson

LESSON = W.lesson(id="regularization", number=6,
                  steps=(L2_STEP, L1_STEP, GEOMETRY_STEP, DECAY_STEP, DROPOUT_STEP, EVAL_STEP, NOISE_STEP, AUGMENT_STEP,
                         SMOOTHING_STEP, BAGGING_STEP,
                         EARLY_STEP, CHECK_STEP),
                  references=("Srivastava et al. 2014", "Goodfellow, Bengio & Courville 2016"))


def memos() -> list:
    """The plain-torch tables this lesson shows (every seed of the weight-decay claims), for the shipped
    cache (lessons.registry.all_memos)."""
    return [torch_decay_memo(s) for s in sorted({*DECAY_RATIO.seeds, *DECAY_CLOSE.seeds})]
