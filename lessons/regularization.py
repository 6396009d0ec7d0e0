"""Lesson 6: regularization, live, and measured over seeds.

The regularisers themselves, each trained for real by the engine: the L2 penalty as weight decay (a
12-value lambda grid, trained with plain gradient descent so that the penalty really is weight decay,
and its equality with scikit-learn's Ridge on a linear model), the L1 penalty and the near-zero weights
it leaves, dropout and inverted dropout (masks, the 1/q scale, weight scaling vs Monte-Carlo dropout at
test time), noise injection on the inputs, label smoothing, bagging over bootstrap replicas, and early
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
from functools import lru_cache
from types import SimpleNamespace

import altair as alt
import numpy as np
import pandas as pd
from scipy.special import expit

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run_many
from engine import data as D
from lessons import charts
from lessons.charts import evidence_chart, seed_chart
from lessons.claims import SEEDS, Claim, measure
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
PENALTY_COLORS = {"L2": "#0072B2", "L1": "#D55E00"}
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
        raise ValueError("forward() handles the lesson's ReLU nets without batch norm")
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


def surface_chart(results, title: str, legend: bool = False, width: int = 220, height: int = 300):
    split = D.load(results[0].config.data)
    return charts.decision_surface(surface(results, split), split.extent(), _shown_points(split), title=title,
                                   width=width, height=height, legend=legend)


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
                           caption=f"{note}: train {r.final['train_metric']:.0%}, test {r.final['test_metric']:.1%}")]
                    for r, t, lg in ((left, left_title, True), (right, right_title, True))])


def _l2_demo(v, progress):
    seed, lam = int(v["seed"]), float(v["lam"])
    df = _sweep_frame(L2_BEST, progress)
    loss = _split_seed_chart(df, {"train loss": "train", "val loss": "val"}, "Loss, 10 seeds",
                             "cross-entropy")
    norm = seed_chart(df.assign(λ=df["lambda"].map(_lam_label)), "λ", "weight norm",
                      sort=[_lam_label(x) for x in LAMBDAS], x_title="λ", y_title="weight norm",
                      title="Weight norm, 10 seeds", height=330)
    one = df[df["seed"] == seed].set_index("lambda")
    res = run_many(penalty_experiments("l2", seed))
    by = dict(zip(LAMBDAS, res))
    ridge = ridge_check()
    diff = float(np.abs(ridge.iloc[:, 1] - ridge.iloc[:, 2]).max())
    return [
        Columns([[Chart(_narrow(loss),
                caption="Dots: one seed each (data and init), line: mean, bar: ± 1 sd. 12 λ × 10 "
                                      "seeds = 120 nets, trained with plain gradient descent in one stacked pass.")],
                 [Chart(_narrow(norm), caption="The norm of all 1,120 weights after 1000 steps.")]]),
        Metric("best λ", _lam_label(float(one["val loss"].idxmin())),
               help=f"the λ with the lowest validation loss for seed {seed} (one run per λ)"),
        Metric("val loss, λ = 0", f"{one.loc[0.0, 'val loss']:.2f}", help=f"seed {seed}, one run"),
        Metric(f"val loss, λ = {_lam_label(lam)}", f"{one.loc[lam, 'val loss']:.2f}", help=f"seed {seed}, one run"),
        _surface_pair(by[0.0], by[lam], "λ = 0", f"λ = {_lam_label(lam)}", f"seed {seed}, one run"),
        Table(ridge.set_index("feature").round(4),
              caption=f"A linear model on Auto MPG with λ = 0.1: the engine's weights equal scikit-learn's Ridge "
                      f"with alpha = n_train·λ (largest difference {diff:.1e})."),
    ]


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
                      title="|w| < 0.01, 10 seeds", height=330)
    mine = res[2 * k * SEED_CHOICES.index(seed):2 * k * (SEED_CHOICES.index(seed) + 1)]
    w1 = np.abs(_weights(dict(zip(LAMBDAS, mine[:k]))[lam]))
    w2 = np.abs(_weights(dict(zip(LAMBDAS, mine[k:]))[lam]))
    edges = np.r_[0, np.logspace(-5, 1, 25)]
    hist = pd.concat([pd.DataFrame({"lo": np.maximum(edges[:-1], 1e-5), "hi": edges[1:],
                                    "share": np.histogram(np.clip(w, 0, 10), edges)[0] / len(w), "penalty": name})
                      for name, w in (("L1", w1), ("L2", w2))])
    col = alt.Color("penalty:N", scale=color_scale(PENALTY_COLORS, ["L1", "L2"]), title="")
    bars = alt.Chart(hist).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("lo:Q", scale=alt.Scale(type="log"), title="|w| (log)"), y=alt.Y("share:Q", title="share of weights"),
        color=col, tooltip=["penalty", alt.Tooltip("lo:Q", format=".1e", title="from |w|"),
                            alt.Tooltip("share:Q", format=".1%")]).properties(
        height=300, title=f"|w| at λ = {_lam_label(lam)}, seed {seed}")
    one = df[(df["seed"] == seed) & (df["lambda"] == lam)].set_index("penalty")
    return [
        Columns([[Chart(_narrow(frac),
                caption=f"The share of all 1,120 weights below {NEAR_ZERO} in size, for the L1 and "
                                      "the L2 sweep (same nets, data and λ; plain gradient descent). Dots: one "
                                      "seed each; line: mean.")],
                 [Chart(_narrow(bars), caption="Distribution of |w| for the seed and λ chosen on the left.")]]),
        Metric("L1: near zero", f"{one.loc['L1', 'near zero']:.0%}",
               help=f"share of |w| < {NEAR_ZERO} at λ = {lam:g}, seed {seed}, one run"),
        Metric("L2: near zero", f"{one.loc['L2', 'near zero']:.0%}",
               help=f"share of |w| < {NEAR_ZERO} at λ = {lam:g}, seed {seed}, one run"),
        Metric("L1: val acc.", f"{one.loc['L1', 'val accuracy']:.0%}", help=f"seed {seed}, one run"),
        Metric("L2: val acc.", f"{one.loc['L2', 'val accuracy']:.0%}", help=f"seed {seed}, one run"),
    ]


# ============================================================ step 3: dropout


def dropout_masks(keep: float, n: int = 20000, units: int = 16, seed: int = 0) -> dict:
    """Inverted dropout on a batch of positive activations: masks ~ Bernoulli(keep), scaled by 1/keep."""
    rng = np.random.default_rng(seed)
    a = rng.random((n, units)) * 2  # activations, mean 1
    mask = (rng.random((n, units)) < keep).astype(float)
    return {"a": a, "mask": mask, "mean_a": float(a.mean()), "mean_plain": float((a * mask).mean()),
            "mean_inverted": float((a * mask / keep).mean()), "kept": float(mask.mean())}


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
    m = dropout_masks(1 - p)
    show = pd.DataFrame([(i, j, float(m["mask"][i, j])) for i in range(10) for j in range(16)],
                        columns=["example", "unit", "kept"])
    show["kept"] = np.where(show["kept"] > 0, f"kept (× {1 / (1 - p):.2f})", "dropped")
    mask_chart = alt.Chart(show).mark_rect(stroke="white").encode(
        x=alt.X("unit:O", title="hidden unit"), y=alt.Y("example:O", title="example"),
        color=alt.Color("kept:N", scale=alt.Scale(range=["#DDDDDD", "#0072B2"]), title="",
                        legend=alt.Legend(orient="bottom")),
        tooltip=["example", "unit", "kept"]).properties(height=260, title=f"One mask, p = {p:g}")
    ev = measure([DROP_VAL, MC_AVG], progress)
    res = run_many(DROP_VAL.runs())
    rows = [{"seed": r.config.seed, "p": f"{r.config.model.dropout:g}", "train": r.final["train_loss"],
             "val": r.final["val_loss"]} for r in res]
    df = pd.DataFrame(rows).melt(["seed", "p"], ["train", "val"], "split", "loss")
    lc = seed_chart(df, "p", "loss", color="split", colors=SPLIT_COLORS, x_title="drop probability p",
                    y_title="loss", title="Loss against p, 10 seeds", height=280)
    mc = ev["mc_avg"].table.assign(gap=lambda d: d["ws"] - d["avg"])
    mc_chart = evidence_chart(_Ev(mc, "gap"), "gap",
                              title=f"MC lower: {ev['mc_avg'].of}",
                              x_title="test-loss gap (> 0: MC dropout lower)", height=180)
    chosen = next(r for r in res if r.config.seed == seed and abs(r.config.model.dropout - p) < 1e-9)
    tab = pd.DataFrame(mc_dropout(chosen)).T
    return [
        Columns([[Chart(_narrow(mask_chart, 200),
                caption="Blue units pass (scaled by 1/q), grey ones are zeroed; a fresh mask "
                                            "is drawn for every example at every step.")],
                 [Chart(_narrow(lc, flat_labels=True),
                         caption="Dots: one seed each; line: mean; bar: ± 1 sd. 5 rates × 10 seeds, trained "
                                    "with Adam.")]]),
        Metric("mean activation", f"{m['mean_a']:.3f}", help="over 20,000 examples × 16 units"),
        Metric("masked", f"{m['mean_plain']:.3f}", help="mask applied, no scaling"),
        Metric("masked, × 1/q", f"{m['mean_inverted']:.3f}", help="inverted dropout"),
        Columns([[Chart(_narrow(mc_chart))],
                 [Table(tab.round(3), caption=f"Test-time inference, seed {seed}, p = {p:g}: one run, "
                                              f"{MC_PASSES} passes.")]]),
    ]


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
                     title="Validation loss, 10 seeds", height=260)
    norm = seed_chart(df, "σ", "weight norm", sort=order, x_title="input noise σ", y_title="weight norm",
                      title="Weight norm, 10 seeds", height=260)
    by = {r.config.reg.input_noise: r for r in res if r.config.seed == seed}
    return [
        Columns([[Chart(_narrow(val, flat_labels=True))], [Chart(_narrow(norm, flat_labels=True),
                caption="Dots: one seed each; line: mean; bar: ± 1 sd. 6 σ × 10 seeds.")]]),
        _surface_pair(by[0.0], by[sigma], "σ = 0", f"σ = {sigma:g}", f"seed {seed}, one run"),
    ]


# ============================================================ step 5: label smoothing


def smoothing_experiments(seed: int = 0) -> list[Experiment]:
    """All 1,797 digits: 20% to train on, 60% (1,078 digits) to test on; one run per ε."""
    return [Experiment(data=DataSpec("digits", n=0, seed=int(seed), train_frac=0.2, val_frac=0.2, test_frac=0.6),
                       model=ModelSpec(hidden=(32,), activation="relu"), optim=OptimSpec("adam", lr=0.01),
                       reg=RegSpec(label_smoothing=e), train=TrainSpec(steps=300, record_every=RECORD), seed=int(seed))
            for e in SMOOTHS]


def confidence(res) -> dict:
    """Mean predicted probability of the top class (test) and of the true class (train)."""
    s = D.load(res.config.data)
    pt, ptr = predict(res, s.X_test), predict(res, s.X_train)
    return {"test confidence": float(pt.max(1).mean()),
            "train P(true class)": float(ptr[np.arange(len(s.y_train)), s.y_train].mean()),
            "test accuracy": res.final["test_metric"], "test loss": res.final["test_loss"]}


def _smooth_stats(res) -> dict:
    c = [confidence(r) for r in res]
    eps = np.array(SMOOTHS)
    ptrue = np.array([x["train P(true class)"] for x in c])
    conf = np.array([x["test confidence"] for x in c])
    acc = np.array([x["test accuracy"] for x in c])
    loss = np.array([x["test loss"] for x in c])
    i1 = SMOOTHS.index(0.1)
    return {"fit": float(np.abs(ptrue - (1 - eps)).max()), "p0": ptrue[0], "conf0": conf[0], "conf3": conf[-1],
            "conf_falls": float((np.diff(conf) < 0).all()), "over0": conf[0] - acc[0], "under1": acc[i1] - conf[i1],
            "acc0": acc[0], "loss0": loss[0], "d05": loss[1] - loss[0], "d30": loss[-1] - loss[0],
            "lower05": float(loss[1] < loss[0])}


SMOOTH_FIT = Claim("smooth_fit", smoothing_experiments, _smooth_stats,
                   lambda v: v["fit"] < 0.015 and v["conf_falls"] == 1.0,
                   what="training P(true class) sits at 1 - ε, and test confidence falls with ε")
SMOOTH_CAL = Claim("smooth_cal", smoothing_experiments, _smooth_stats,
                   lambda v: v["over0"] > 0 and v["under1"] > 0,
                   what="without smoothing the net is over-confident on test digits, with ε = 0.1 under-confident")
SMOOTH_LOSS = Claim("smooth_loss", smoothing_experiments, _smooth_stats, lambda v: v["d30"] > 0,
                    what="ε = 0.3 raises the test loss over no smoothing")
SMOOTH_CLAIMS = (SMOOTH_FIT, SMOOTH_CAL, SMOOTH_LOSS)


def smoothed_targets(eps: float, k: int = 10) -> pd.DataFrame:
    """The target of a class-0 example: this lesson's ε/(k-1) and PyTorch/Keras's ε/k conventions."""
    return pd.DataFrame({"class": list(range(k)), "one-hot": [1.0] + [0.0] * (k - 1),
                         f"here: ε/(k-1), ε = {eps:g}": [1 - eps] + [eps / (k - 1)] * (k - 1),
                         f"PyTorch, Keras: ε/k, ε = {eps:g}": [1 - eps + eps / k] + [eps / k] * (k - 1)})


def _smoothing_demo(v, progress):
    eps = float(v["eps"])
    res = run_many(SMOOTH_FIT.runs(), progress=progress)
    rows = []
    for r in res:
        c = confidence(r)
        e = r.config.reg.label_smoothing
        rows += [{"seed": r.config.seed, "ε": f"{e:g}", "quantity": q, "score": c[q]}
                 for q in ("train P(true class)", "test confidence", "test accuracy")]
    df = pd.DataFrame(rows)
    colors = {"train P(true class)": "#0072B2", "test confidence": "#009E73", "test accuracy": "#D55E00"}
    conf = seed_chart(df, "ε", "score", color="quantity", colors=colors, sort=[f"{e:g}" for e in SMOOTHS],
                      x_title="label smoothing ε", y_title="score", title="Confidence, 10 seeds",
                      height=320)
    loss = pd.DataFrame([{"seed": r.config.seed, "ε": f"{r.config.reg.label_smoothing:g}",
                          "test loss": r.final["test_loss"]} for r in res])
    lc = seed_chart(loss, "ε", "test loss", sort=[f"{e:g}" for e in SMOOTHS], x_title="label smoothing ε",
                    y_title="test loss", title="Test loss, 10 seeds", height=260)
    return [
        Columns([[Chart(_narrow(conf, flat_labels=True),
                caption="359 training digits, 1,078 test digits, a ReLU net with 32 hidden units, 300 "
                                      "Adam steps. Dots: one seed each; line: mean.")],
                 [Chart(_narrow(lc, flat_labels=True),
                        caption="Cross-entropy against the true (hard) labels of the test digits.")]]),
        Table(smoothed_targets(eps).set_index("class").T.round(4),
              caption="The target of a digit of class 0 (columns: the ten classes), in both conventions."),
    ]


# ============================================================ step 6: bagging


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
    for stat, title in (("loss", "Test loss, 10 seeds"), ("acc", "Test accuracy, 10 seeds")):
        name = "test loss" if stat == "loss" else "test accuracy"
        long = pd.concat([pd.DataFrame({"seed": t["seed"], "model": m, name: t[f"{col}_{stat}"]})
                          for m, col in models])
        chart = seed_chart(long, "model", name, sort=order, x_title="", title=title, height=230)
        panels.append(_narrow(chart, flat_labels=True))
    return [
        Columns([[Chart(surface_chart([res[-1]], "One net, all rows", legend=True),
                        caption=f"seed {seed}, one run: test {out['single']:.1%}, loss {out['single loss']:.2f}")],
                 [Chart(surface_chart(res[:b], f"Average of {b} replicas", legend=True),
                        caption=f"seed {seed}: test {out['bagged']:.1%}, loss {out['bagged loss']:.2f}")]]),
        Columns([[Chart(panels[0], caption="Single net on all rows, the average replica, and the average of all "
                                           "ten replicas (bagged), on 1,400 test points.")],
                 [Chart(panels[1], caption="Dots: one seed each; line: mean; bar: ± 1 sd.")]]),
        Metric(f"bagged ({b}) loss", f"{out['bagged loss']:.2f}", help=f"test loss, seed {seed}"),
        Metric("single loss", f"{out['single loss']:.2f}", help=f"test loss, seed {seed}"),
        Metric("replica acc.", f"{min(out['replicas']) * 100:.0f}–{max(out['replicas']):.0%}",
               help=f"worst and best replica's test accuracy, seed {seed}"),
    ]


# ============================================================ step 7: early stopping


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
    t = ev["early_kept"].table
    panels = []
    for name, kept, last in (("validation loss", "val_kept", "val_end"), ("weight norm", "kept_norm", "n_end")):
        long = pd.concat([pd.DataFrame({"seed": t["seed"], "weights": w, name: t[col]})
                          for w, col in (("kept", kept), (f"step {STEPS}", last))])
        chart = seed_chart(long, "weights", name, sort=["kept", f"step {STEPS}"], x_title="",
                           title=f"{name.capitalize()}, 10 seeds", height=230)
        panels.append(_narrow(chart, flat_labels=True))
    return [
        Columns([[Chart(_narrow((norm + rule).properties(height=250, title=f"‖W‖, seed {seed}, one run")))],
                 [Chart(_narrow((val + rule).properties(height=250, title=f"Val loss, seed {seed}, one run")))]]),
        Columns([[Chart(panels[0], caption="The weights kept with patience 10 against the last ones. Dots: one "
                                           "seed each; line: mean; bar: ± 1 sd.")],
                 [Chart(panels[1])]]),
        Metric("stopped at", "—" if at is None else f"step {at}", help=f"seed {seed}, patience {patience}"),
        Metric("‖W‖ kept", f"{weight_norm(stop):.1f}", help=f"the weights of step {best}, the best evaluation"),
        Metric(f"‖W‖ at {STEPS}", f"{weight_norm(full):.1f}", help="the same run without early stopping"),
        Metric("val loss", f"{stop.final['val_loss']:.2f} / {full.final['val_loss']:.2f}",
               help=f"kept weights / after {STEPS} steps"),
    ]


# ============================================================ step 8: the quiz quotes the steps' measurements
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


# ============================================================ the lesson


def experiments() -> list[Experiment]:
    """Every engine run the default views need (shipped in assets/cache/); the claims' sweeps over
    seeds are added by lessons.registry.experiments_of."""
    out = [ridge_experiment()]
    for s in SEEDS:
        out += early_experiments(s, PATIENCE)
    return out


STEPS_ = (
    Step(
        id="l2", title="L2: weight decay",
        narrative=(
            "A network with far more weights than training points can fit the noise in those points. The "
            "oldest remedy is to charge the training objective for large weights. **L2 regularisation** adds "
            "$\\lambda$ times the sum of squared weights (biases are left alone) to the data loss $J$. Its "
            "gradient is $2\\lambda w$, so every plain gradient-descent update first shrinks each weight by "
            "the fixed factor $1 - 2\\eta\\lambda$ and then takes the usual step: that is why L2 is also "
            "called **weight decay**. That identity holds for plain gradient descent only, so this step trains "
            "with it. With Adam the penalty's gradient is divided by Adam's running scale like any other, and "
            "L2 in the loss is no longer weight decay: [Lesson 4's AdamW step](/optimizers?step=5) compares "
            "the two.\n\n"
            "*Convention.* This lesson and the engine's `RegSpec` write the penalty as "
            "$\\lambda\\lVert W\\rVert^2$ (gradient $2\\lambda w$); Lesson 4 and many texts write "
            "$\\tfrac{\\lambda}{2}\\lVert W\\rVert^2$ (gradient $\\lambda w$), so the same $\\lambda$ there is "
            "half the penalty it is here.\n\n"
            "How large should $\\lambda$ be? The lecture's recipe: try a doubling grid of 12 values, train "
            "once per value, and keep the one with the lowest validation loss. Here a wide ReLU net (two "
            "layers of 32, 1,120 weights) learns 100 noisy moons by gradient descent (η = 0.5, 1000 steps), "
            "once per $\\lambda$ and for ten seeds (each seed draws other moons and other initial weights), "
            "and is scored on 1,000 validation points; the engine trains the 120 networks together in one "
            "stacked pass. (Cross-entropy on two classes is at most about 0.7, so the grid starts 10x lower "
            "than the lecture's, which was for Auto MPG's squared error in mpg².)"),
        equations=(
            r"\tilde J(\theta) = J(\theta) + \lambda \lVert W \rVert_2^2 = J(\theta) + \lambda \sum_{l} \sum_{ij}"
            r" \big(w^{[l]}_{ij}\big)^2",
            r"\frac{\partial \tilde J}{\partial w} = \frac{\partial J}{\partial w} + 2\lambda w \quad\Rightarrow\quad "
            r"w \leftarrow (1 - 2\eta\lambda)\, w - \eta\, \frac{\partial J}{\partial w}\quad\text{(gradient descent)}",
        ),
        controls=(Select("seed", "seed shown (data and init)", SEED_CHOICES, 0),
                  LogSlider("lam", "λ shown on the right", LAMBDAS, 0.004)),
        demo=_l2_demo, heavy=True, claims=L2_CLAIMS,
        notice=(
            "- Without a penalty the net fits {l2_best[train0]:.0%} of its training points on average, yet its "
            "validation loss is {l2_best[val0]:.2f} (from {l2_best.lo[val0]:.2f} to {l2_best.hi[val0]:.2f} over "
            "the seeds). The best λ of the grid is a middle one (from 0.001 to 0.016) and beats λ = 0 by more "
            "than 0.05 in {l2_best.of}, bringing the validation loss down to {l2_best[best]:.2f} on average; "
            "λ = 0.004 is the best in {l2_best[at4]:.0%} of the seeds.\n"
            "- The weight norm falls at every step of the grid from λ = 0 ({l2_norm[norm0]:.1f} on average) to "
            "λ = 0.064 ({l2_norm[norm064]:.1f}) in {l2_norm.of}.\n"
            "- From λ = 0.128 on, the penalty wins outright: every weight is driven to about 0 (norm below 0.01) "
            "and the validation loss sits within 0.02 of ln 2 ≈ 0.69 (the net predicts the class shares "
            "everywhere), in {l2_collapse.of}.\n"
            "- On a linear model, L2 in the loss is ridge regression: the table matches scikit-learn's `Ridge` "
            "to 4 decimals once its `alpha` is set to $n_{\\text{train}}\\,\\lambda$ (Ridge sums the squared "
            "errors, the engine averages them)."),
        question=Question(
            "With λ = 0.01 and learning rate η = 0.1, plain gradient descent multiplies every weight by what "
            "before taking the data-loss step (with this lesson's penalty λ‖W‖²)?",
            ("0.99", "0.998", "0.9", "1.02"), 1,
            ("That would be 1 - ηλ·10; the factor is 1 - 2ηλ.",
             "Right: 1 - 2·0.1·0.01 = 0.998. The 2 comes from differentiating w² (with the λ/2 convention of "
             "Lesson 4 it would be 1 - ηλ = 0.999).",
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
            "Both sweeps below use the same nets, data, seeds, λ grid and plain gradient descent as the L2 "
            f"step. A weight counts as near zero when $|w| < {NEAR_ZERO}$: with gradient descent an L1 weight "
            "cannot rest exactly on 0, each step moves it by $\\eta\\lambda$ across it. The optimizer matters "
            "here: Adam rescales every weight's step to about η whatever its gradient, so even L2's faint pull "
            "on a small weight moves it quickly; the last claim below measures that."),
        equations=(
            r"\tilde J(\theta) = J(\theta) + \lambda \lVert W \rVert_1 = J(\theta) + \lambda \sum_{l}\sum_{ij} "
            r"\big|w^{[l]}_{ij}\big|",
            r"\frac{\partial \tilde J}{\partial w} = \frac{\partial J}{\partial w} + \lambda\,\operatorname{sign}(w)"
            r"\qquad\text{vs}\qquad \frac{\partial J}{\partial w} + 2\lambda w \;\;(L2)",
        ),
        controls=(Select("seed", "seed shown (data and init)", SEED_CHOICES, 0),
                  LogSlider("lam", "λ for the histogram", LAMBDAS, 0.001)),
        demo=_l1_demo, heavy=True, claims=L1_CLAIMS,
        notice=(
            "- At every λ from 0.001 to 0.008 L1 leaves more of the weights near zero than L2, by at least 20 "
            "points in {l1_sparse.of}. At λ = 0.001: {l1_sparse[l1_001]:.0%} near zero with "
            "L1 against {l1_sparse[l2_001]:.0%} with L2 (means over seeds).\n"
            "- The histogram shows the two shapes: L2 moves the whole distribution down, L1 piles most weights "
            "up near 0 and leaves a few large ones.\n"
            "- A large λ turns that round under gradient descent: at λ = 0.256 L2 has driven every weight below "
            "0.01, while L1's steps of ηλ = 0.128 across zero leave only {l1_jitter[l1_256]:.0%} there "
            "({l1_jitter.of}).\n"
            "- With Adam instead of gradient descent, L2 at λ = 0.001 leaves {l2_adam[adam]:.0%} of the weights "
            "near zero, against {l2_adam[sgd]:.0%} with gradient descent (more with Adam in {l2_adam.of}): "
            "sparsity figures measured with Adam are mostly Adam's doing."),
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
            "unsure the model is.\n\n"
            "The nets here are the wide ReLU nets of the L2 step, trained with Adam (lr 0.01, 1000 steps) at "
            "five drop probabilities for ten seeds, and scored on 1,000 validation and 1,400 test points."),
        equations=(
            r"m_j \sim \operatorname{Bernoulli}(q),\qquad \tilde a_j = \frac{m_j\, a_j}{q}"
            r"\qquad\Rightarrow\qquad \mathbb{E}[\tilde a_j] = \frac{q\, a_j}{q} = a_j",
            r"\text{MC dropout: } \hat p(y \mid x) = \frac{1}{T}\sum_{t=1}^{T} p\big(y \mid x;\ m^{(t)}\big)",
        ),
        controls=(Select("p", "drop probability p", (0.1, 0.2, 0.3, 0.5), 0.2),
                  Select("seed", "seed for the table", SEED_CHOICES, 0)),
        demo=_dropout_demo, heavy=True, claims=DROP_CLAIMS,
        notice=(
            "- Over 20,000 × 16 activations with keep probability 0.8 the masked mean is 0.80 of the original, "
            "and dividing by 0.8 brings it back to 1.00.\n"
            "- Without dropout the net fits {drop_train[train0]:.0%} of its training points; with p = 0.5, "
            "{drop_train[train5]:.0%} (fewer in {drop_train.of}).\n"
            "- Its validation loss drops from {drop_val[val0]:.2f} to {drop_val[val5]:.2f} on average with "
            "p = 0.5 (lower in {drop_val.of}, to {drop_val[ratio5]:.0%} of it on average); every p > 0 "
            "beats no dropout in {drop_val[every]:.0%} of the seeds.\n"
            "- Test accuracy moves much less: {drop_acc[acc0]:.1%} without dropout, {drop_acc[acc5]:.1%} with "
            "p = 0.5 (at least as high in {drop_acc.of}); with p = 0.2 it is higher in only "
            "{drop_acc[better2]:.0%} of the seeds.\n"
            "- At test time (nets trained with p = 0.2 and 0.5), the average of 50 stochastic passes has a lower "
            "test loss than weight scaling at both rates in {mc_avg.of} ({mc_avg[avg]:.2f} against "
            "{mc_avg[ws]:.2f}, mean over seeds and rates); their "
            "accuracies differ by at most {mc_avg.hi[acc_diff]:.1%}. A single stochastic pass is a coin toss "
            "against weight scaling: within 35% of its loss at both rates in {mc_one.of}, worse in "
            "{mc_one[one_worse]:.0%} of the (seed, p) cases, better in the rest."),
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
            "act much like an L2 penalty (Bishop 1995). Same nets, data and Adam as the dropout step, six noise "
            "levels, ten seeds."),
        equations=(r"\tilde x = x + \varepsilon,\qquad \varepsilon \sim \mathcal{N}(0, \sigma^2 I)"
                   r"\quad\text{(fresh at every step; standardised inputs)}",),
        controls=(Select("sigma", "noise σ shown on the right", SIGMAS[1:], 0.3),
                  Select("seed", "seed shown", SEED_CHOICES, 0)),
        demo=_noise_demo, heavy=True, claims=NOISE_CLAIMS,
        notice=(
            "- Every σ > 0 has a lower validation loss than no noise in {noise_val.of}: "
            "{noise_val[val3]:.2f} at σ = 0.3 against {noise_val[val0]:.2f} without noise (means).\n"
            "- As σ grows from 0 to 1 the weight norm falls at every step ({noise_norm[norm0]:.1f} to "
            "{noise_norm[norm1]:.1f} on average) and the training accuracy falls too "
            "({noise_norm[train0]:.0%} to {noise_norm[train1]:.0%}), in {noise_norm.of}: the net can no longer "
            "fit each point exactly.\n"
            "- The surfaces show it for one seed: without noise the boundary bends around single points, with "
            "noise it follows the two moons."),
    ),
    Step(
        id="smoothing", title="Label smoothing",
        narrative=(
            "Cross-entropy with one-hot targets keeps pushing the true class's probability towards 1, which "
            "needs ever larger logits: the net grows over-confident. **Label smoothing** moves a small share "
            "$\\varepsilon$ of the target's mass to the other classes. The best the net can do on a "
            "training point is then to predict exactly the smoothed target, so it has no reason to grow its "
            "logits without bound.\n\n"
            "*Conventions differ.* This lesson (like the course's notebook) gives the true class "
            "$1 - \\varepsilon$ and each of the $k - 1$ others $\\varepsilon/(k-1)$. PyTorch "
            "(`CrossEntropyLoss(label_smoothing=ε)`) and Keras spread $\\varepsilon$ over all $k$ classes: "
            "$\\varepsilon/k$ to each, so the true class gets $1 - \\varepsilon + \\varepsilon/k$. The same "
            "ε is thus slightly milder there. The net: 32 ReLU units on 8x8 digits, 359 of them to train on "
            "and 1,078 to test on, 300 Adam steps, ten seeds."),
        equations=(r"t_c = \begin{cases} 1 - \varepsilon & c = y \\ \varepsilon / (k - 1) & c \ne y \end{cases}"
                   r"\qquad\quad J = -\sum_{c=1}^{k} t_c \log p_c",),
        controls=(Select("eps", "ε for the target table", SMOOTHS[1:], 0.1),),
        demo=_smoothing_demo, heavy=True, claims=SMOOTH_CLAIMS,
        notice=(
            "- On the training digits the net's mean probability for the true class lands within 0.015 of "
            "$1 - \\varepsilon$ for every ε, and its mean confidence on test digits falls with ε, from "
            "{smooth_fit[conf0]:.2f} to {smooth_fit[conf3]:.2f}, in {smooth_fit.of}.\n"
            "- Without smoothing the net is over-confident: its mean confidence on test digits exceeds its "
            "accuracy ({smooth_cal[acc0]:.1%}) by {smooth_cal[over0]:.3f}; with ε = 0.1 it is under-confident, "
            "its confidence {smooth_cal[under1]:.3f} below its accuracy (both in {smooth_cal.of}).\n"
            "- So on this small net smoothing does not pay on the test loss, which scores against hard labels: "
            "ε = 0.05 lowers it in only {smooth_loss[lower05]:.0%} of the seeds (change "
            "{smooth_loss[d05]:+.3f} on average, from {smooth_loss.lo[d05]:+.3f} to {smooth_loss.hi[d05]:+.3f}), "
            "and ε = 0.3 raises it in {smooth_loss.of}. Label smoothing earns its keep on large nets that grow "
            "far more over-confident than this one (Szegedy et al. 2016; Müller et al. 2019)."),
        question=Question(
            "With ten classes and ε = 0.1, what is the smoothed target of a wrong class in this lesson's "
            "convention?",
            ("0.1", "0.1 / 9 ≈ 0.011", "0.9", "0"), 1,
            ("0.1 is the total mass moved away from the true class, shared by nine classes.",
             "Right: 0.1 / 9 ≈ 0.011 for each of the nine other classes. PyTorch and Keras would give "
             "0.1 / 10 = 0.01, spreading ε over all ten classes.",
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
            "pass, each as a per-run weighting of the same rows; the nets are the dropout step's, without "
            "dropout, for ten seeds."),
        equations=(r"\hat p(x) = \frac{1}{B}\sum_{b=1}^{B} p_b(x),\qquad "
                   r"P(\text{a row is missed by a replica}) = (1 - 1/n)^n \approx e^{-1} \approx 0.37",),
        controls=(Slider("b", "replicas averaged", 1, REPLICAS, REPLICAS),
                  Select("seed", "seed shown", SEED_CHOICES, 0)),
        demo=_bagging_demo, heavy=True, claims=BAG_CLAIMS,
        notice=(
            "- The average of ten replicas has a test loss of {bag_loss[bag_loss]:.2f}, against "
            "{bag_loss[single_loss]:.2f} for the single net on all 100 rows and {bag_loss[replica_loss]:.2f} "
            "for the average replica: below half the single net's in {bag_loss.of}. Averaging removes the "
            "confident mistakes.\n"
            "- On accuracy the gain is small: {bag_acc[bag_acc]:.1%} bagged, {bag_acc[replica_acc]:.1%} for "
            "the average replica (bagging ahead in {bag_acc.of}), {bag_acc[single_acc]:.1%} for the single net, "
            "which bagging beats in only {bag_acc[better]:.0%} of the seeds (each replica sees only about "
            "63 distinct rows of the 100).\n"
            "- The averaged surface is smoother, and pale (unsure) where the replicas disagree."),
    ),
    Step(
        id="early", title="Early stopping limits the weights",
        narrative=(
            "Lesson 5 uses early stopping to pick the moment to stop from the validation curve. It is also a "
            "regulariser: training starts from small weights, and the weights grow as training goes on, so "
            "stopping early keeps them small, much like a penalty would. With patience $P$ the run stops after "
            f"more than $P$ evaluations (every {EARLY_RECORD} steps here) without a better validation loss and "
            "keeps the best weights. The nets are the dropout step's without dropout, ten seeds."),
        equations=(r"t^{*} = \arg\min_{t} J_{\text{val}}(\theta_t),\qquad "
                   r"\lVert W_{t^*} \rVert \le \lVert W_{T} \rVert \text{ when the norm grows with } t",),
        controls=(Select("patience", "patience (evaluations)", (5, 10, 20, 50), 10),
                  Select("seed", "seed shown", SEED_CHOICES, 0)),
        demo=_early_demo, heavy=True, claims=EARLY_CLAIMS,
        notice=(
            "- Without a penalty the weight norm grows at every recorded step in {early_norm.of}, from "
            "{early_norm[n_first]:.1f} at step 0 to {early_norm[n_end]:.1f} after 1000 steps (means).\n"
            "- The validation loss is lowest early, at step {early_kept[best]:.0f} on average; with patience 10 "
            "the run stops near step {early_kept[stopped]:.0f} and keeps the best weights, whose norm is "
            "{early_kept[kept_norm]:.1f}.\n"
            "- Those weights have a validation loss of {early_kept[val_kept]:.2f}, against "
            "{early_kept[val_end]:.2f} after 1000 steps (lower, with a smaller norm, in {early_kept.of}), and "
            "a test accuracy of {early_acc[acc_kept]:.1%} against {early_acc[acc_end]:.1%} (at least as high "
            "in {early_acc.of})."),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Four questions on what the demos showed.",
        claims=QUIZ_CLAIMS,
        questions=(
            Question("In the L2 sweep, what happened for λ = 0.128 and larger?",
                     ("The best validation loss", "Every weight went to about 0 and the net predicted the class "
                                                  "shares everywhere",
                      "The training accuracy reached 100%", "Training diverged"), 1,
                     ("The best validation loss was at a middle λ of the grid: 0.004 in {quiz_collapse[at4]:.0%} of "
                      "the seeds.",
                      "Right: the penalty outweighed the at most ~0.7 of cross-entropy, so the weight norm fell "
                      "below 0.01 and the validation loss sat near ln 2, in {quiz_collapse.of}.",
                      "Only weakly penalised nets fit (almost) every training point.",
                      "Nothing diverged: a strong penalty makes training more stable, not less.")),
            Question("Your network overfits. Which change is NOT a regulariser?",
                     ("Dropout on the hidden layers", "Adding Gaussian noise to the training inputs",
                      "Doubling the width of every hidden layer", "Averaging models trained on bootstrap replicas"),
                     2,
                     ("Dropout with p = 0.5 lowered the validation loss of the wide net in {quiz_drop.of}.",
                      "Noise injection lowered the validation loss at every σ in {quiz_noise.of}.",
                      "Right: more capacity makes overfitting easier, not harder.",
                      "Bagging cut the test loss below half the single net's in {quiz_bag.of}.")),
            Question("Which regulariser tends to make many weights (almost) exactly zero?",
                     ("L2", "L1", "Label smoothing", "Early stopping"), 1,
                     ("L2's pull 2λw fades as w shrinks, so weights get small but rarely reach 0 under gradient "
                      "descent.",
                      "Right: its pull λ·sign(w) does not fade; at λ = 0.001 {quiz_l1[l1_001]:.0%} of the weights "
                      "sat below 0.01 against {quiz_l1[l2_001]:.0%} with L2 (ahead in {quiz_l1.of}).",
                      "Label smoothing changes the targets, not the weights directly.",
                      "Early stopping keeps weights small overall, but does not single out some to be 0.")),
            Question("What does MC dropout do at test time?",
                     ("Switches dropout off and scales the weights",
                      "Keeps dropout on and averages several stochastic forward passes",
                      "Retrains the network with new masks", "Drops test examples at random"), 1,
                     ("That is weight scaling (which inverted dropout does implicitly).",
                      "Right: in the demo the average of 50 passes had a lower test loss than weight scaling at "
                      "p = 0.2 and 0.5 in {quiz_mc.of}.",
                      "No training happens at test time.",
                      "Dropout masks act on hidden units, not on examples.")),
        ),
    ),
)

LESSON = Lesson(
    id="regularization", number=6, title="Regularization",
    summary="Keeping a big network from memorising its training data: L2 and L1 penalties, dropout, noise, "
            "label smoothing, bagging and early stopping, each trained live over ten seeds.",
    intro=("A network with many more weights than training points can fit them perfectly and still fail on "
           "new data. Regularisers make that harder: they penalise large weights, inject noise, soften the "
           "targets or average many models. Each step below trains the same kind of over-sized network with "
           "and without one regulariser, for ten seeds, scores it on a large held-out set, and says how often "
           "the effect held."),
    steps=STEPS_,
    references=("Srivastava et al. 2014", "Goodfellow, Bengio & Courville 2016"),
)
