"""Lesson 3: loss functions from maximum likelihood.

A loss is the negative log-likelihood of a noise model: Gaussian noise gives the squared error,
Bernoulli labels the logistic loss, categorical labels the softmax cross-entropy, Laplace noise the
absolute error; and maximising the likelihood of a sample is minimising the KL divergence from its
empirical distribution to the model (H(p, q) = H(p) + KL(p || q)). References: the course's lecture
texts 000 and 002 (seeds/), Goodfellow, Bengio & Courville (2016) ch. 5.5 and 6.2, Bishop (2006)
ch. 4.3.

Closed-form steps (1, 2, 3, 6, 7) use numpy only and answer at once. Steps 4 and 5 train a single
sigmoid unit and a softmax regression through `engine.run_many` and compare them with scikit-learn's
unpenalised LogisticRegression. Their comparative statements are claims (lessons.claims) measured on
ten data sets (sample and initialisation seed 0-9): the notes quote how often each held and the demos
draw every data set. Step 4 reads the unit's coefficients at an intermediate step back from its
decision-surface snapshot (logit P(y=1) is exactly linear in the standardised inputs, so a
least-squares plane through the grid recovers w and b); the final ones come from the run's parameters.
Steps 6 and 7 compare samples, not training runs: they draw ten samples in numpy and count there.
The step "saturation" trains a sigmoid unit from a confidently-wrong start (output bias -8) with cross-entropy and
with MSE (claim mse_sat); the step "logits" runs the PyTorch losses it shows (`inspect.getsource`) on logits and on
probabilities, and trains softmax regression with each over ten data sets in PyTorch.
"""
from __future__ import annotations

import inspect
import math
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, run_many
from engine.data import load
from engine.memo import Memo
from lessons.charts import cell_grid, equal_axes, seed_chart, seed_curves
from lessons.claims import Claim
from lessons.raster import colour_cells, image_grid, value_map
from lessons.theme import (
    CE_COLOR,
    CLASS_COLORS,
    CODE_COLORS,
    CONTEXT_GREY,
    DATA_INK,
    EXACT_COLOR,
    FLOAT32_COLOR,
    FLOAT64_COLOR,
    GUIDE_GREY,
    LIKELIHOOD_LINE_COLOR,
    MAE_COLOR,
    MODEL_Q_COLOR,
    MSE_COLOR,
    NOISE_BELL_GREY,
    OUTLIER_COLOR,
    START_COLOR,
    WORST_COLOR,
    ZERO_RULE_GREY,
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
)
from lessons.words import Words

W = Words("losses")  # lessons/text/<lang>/losses.md: every sentence a learner reads


def _seed_chart(df: pd.DataFrame, x: str, y: str, y_title: str, **kw) -> alt.LayerChart:
    """lessons.charts.seed_chart with this lesson's x labels (upright) and legend choice."""
    return seed_chart(df, x, y, y_title=y_title, label_angle=0, **kw)


# ---------------------------------------------------------------- shared data: a noisy line

LINE_TRUE = (0.7, 1.2)  # slope and intercept that generate the data
LINE_SIGMA = 0.8  # noise std of the generator
LINE_N = 15
LINE_SEED = 7
T1_RANGE, T2_RANGE = (-1.0, 2.5), (-2.0, 4.0)  # slider ranges = window of the maps


LINE_SAMPLES = tuple(range(10))  # step 7 draws ten samples of the line; sample 0 is the one of steps 1-3


@lru_cache(maxsize=16)
def line_data(sample: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x in [-2, 4] and y = 0.7 x + 1.2 + N(0, 0.8^2), fixed by a seed (read-only arrays). Sample 0 is
    the data of steps 1 to 3; step 7 draws others to show that its comparison is not one sample's luck."""
    rng = np.random.default_rng(LINE_SEED + sample)
    x = np.sort(rng.uniform(-2, 4, LINE_N))
    y = LINE_TRUE[0] * x + LINE_TRUE[1] + rng.normal(0, LINE_SIGMA, LINE_N)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def design(x: np.ndarray) -> np.ndarray:
    return np.c_[x, np.ones_like(x)]


def least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(theta1, theta2) minimising the squared error (numpy's lstsq)."""
    return np.linalg.lstsq(design(x), y, rcond=None)[0]


def log_likelihood(theta1, theta2, sigma: float, x: np.ndarray, y: np.ndarray):
    """Gaussian log-likelihood sum_i log N(y_i; theta1 x_i + theta2, sigma^2); broadcasts over thetas."""
    t1 = np.asarray(theta1, dtype=np.float64)[..., None]
    t2 = np.asarray(theta2, dtype=np.float64)[..., None]
    sse = ((y - (t1 * x + t2)) ** 2).sum(-1)
    return -0.5 * len(x) * math.log(2 * math.pi * sigma ** 2) - sse / (2 * sigma ** 2)


def gaussian_pdf(r: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * (r / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _fmt_pow10(log10v: float) -> str:
    """10^x written as 1.23e-45 (never underflows: built from the logarithm)."""
    if not math.isfinite(log10v):
        return "0"
    e = math.floor(log10v)
    return f"{10 ** (log10v - e):.2f}e{e}" if abs(e) > 3 else f"{10 ** log10v:.4g}"


# ---------------------------------------------------------------- step 1: a line and its noise


def likelihood_map(sigma: float, n: int = 41) -> pd.DataFrame:
    """Log-likelihood on an n x n grid over the slider window (cell centres and edges)."""
    x, y = line_data()
    t1 = np.linspace(*T1_RANGE, n)
    t2 = np.linspace(*T2_RANGE, n)
    g1, g2 = np.meshgrid(t1, t2)
    ll = log_likelihood(g1, g2, sigma, x, y)
    d1, d2 = (t1[1] - t1[0]) / 2, (t2[1] - t2[0]) / 2
    return pd.DataFrame({"theta1": g1.ravel(), "theta2": g2.ravel(), "t1a": g1.ravel() - d1, "t1b": g1.ravel() + d1,
                         "t2a": g2.ravel() - d2, "t2b": g2.ravel() + d2, "loglik": ll.ravel()})


def line_view(theta1: float, theta2: float, sigma: float) -> dict:
    """Every number step 1 shows, for one line and noise level."""
    x, y = line_data()
    mu = theta1 * x + theta2
    r = y - mu
    sse = float((r ** 2).sum())
    with np.errstate(under="ignore", over="ignore"):
        dens = gaussian_pdf(r, sigma)
        product = float(np.prod(dens))  # what a naive loop computes: may underflow to 0
    ll = float(log_likelihood(theta1, theta2, sigma, x, y))
    return {"mu": mu, "residual": r, "density": dens, "sse": sse, "loglik": ll, "product": product,
            "log10_likelihood": ll / math.log(10), "best_sigma": math.sqrt(sse / len(x)),
            "lstsq": least_squares(x, y)}


def _demo_line(values: dict, progress) -> list:
    t1, t2, sigma = float(values["theta1"]), float(values["theta2"]), float(values["sigma"])
    x, y = line_data()
    v = line_view(t1, t2, sigma)
    n = len(x)
    # one bell per point, drawn sideways around the line's prediction (shape only, fixed width)
    u = np.linspace(-3, 3, 31)
    bells = pd.DataFrame({"i": np.repeat(np.arange(n), len(u)),
                          "bx": (x[:, None] - 0.32 * np.exp(-u ** 2 / 2)).ravel(),
                          "by": (v["mu"][:, None] + sigma * u).ravel()})
    pts = pd.DataFrame({"x": x, "y": y, "mu": v["mu"],
                        "logp": np.log(np.maximum(v["density"], 1e-300))})
    xs = np.array([-2.3, 4.3])
    line = pd.DataFrame({"x": xs, "y": t1 * xs + t2})
    base = alt.Chart(pts)
    yscale = alt.Scale(domain=[-3, 7], clamp=True)
    chart = alt.layer(
        alt.Chart(bells).mark_line(strokeWidth=1.5, opacity=0.55, color=NOISE_BELL_GREY, clip=True).encode(
            x=alt.X("bx:Q", title="x", scale=alt.Scale(domain=[-2.4, 4.4])), y=alt.Y("by:Q", scale=yscale),
            detail="i:N", order="by:Q"),
        base.mark_rule(strokeDash=[3, 3], color=DATA_INK).encode(x="x:Q", y="y:Q", y2="mu:Q"),
        alt.Chart(line).mark_line(color=LIKELIHOOD_LINE_COLOR, clip=True).encode(
            x="x:Q", y=alt.Y("y:Q", title="t (target)", scale=yscale)),
        base.mark_circle(size=110, stroke="black", strokeWidth=0.8, opacity=1).encode(
            x="x:Q", y="y:Q",
            color=alt.Color("logp:Q", title="log p(tᵢ | xᵢ)", scale=alt.Scale(scheme="viridis")),
            tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f"),
                     alt.Tooltip("logp:Q", format=".2f", title="log density")]),
    ).properties(height=320, title=W("line.data_title"))

    grid = likelihood_map(sigma)
    side = int(round(len(grid) ** 0.5))  # its n x n cells
    best = grid.loc[grid.loglik.idxmax()]
    ls = v["lstsq"]
    marks = pd.DataFrame({"theta1": [t1, ls[0]], "theta2": [t2, ls[1]],
                          "what": ["your line", "least squares (numpy)"]})
    mp = alt.layer(
        *value_map((*T1_RANGE, *T2_RANGE), grid.loglik.to_numpy().reshape(side, side), scheme="viridis",
                   title="log-likelihood",
                   x=alt.X("x:Q", title="θ₁ (slope)", scale=alt.Scale(domain=list(T1_RANGE), nice=False)),
                   y=alt.Y("y:Q", title="θ₂ (intercept)", scale=alt.Scale(domain=list(T2_RANGE), nice=False))),
        alt.Chart(marks).mark_point(size=260, filled=True, stroke="black", strokeWidth=1.5).encode(
            x="theta1:Q", y="theta2:Q",
            shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["your line", "least squares (numpy)"],
                                                                  range=["circle", "cross"])),
            fill=alt.Fill("what:N", legend=None, scale=alt.Scale(domain=["your line", "least squares (numpy)"],
                                                                 range=["white", MSE_COLOR]))),
    ).properties(**equal_axes((*T1_RANGE, *T2_RANGE), 300), title=W("line.map_title", sigma=sigma))
    prod_txt = f"{v['product']:.3g}" if v["product"] > 0 else W("line.underflow")
    ll_parts = (rf"\log p(\mathcal{{D}}\mid\theta) = -\tfrac{{{n}}}{{2}}\log(2\pi \cdot {sigma:g}^2) - "
                rf"\frac{{{v['sse']:.3f}}}{{2 \cdot {sigma:g}^2}} = {v['loglik']:.3f}")
    return [
        Metric(W("line.likelihood"), _fmt_pow10(v["log10_likelihood"]),
               help=W("line.likelihood_help", n=n, product=prod_txt)),
        Metric(W("loglik"), f"{v['loglik']:.3f}"),
        Metric(W("line.sse"), f"{v['sse']:.3f}"),
        Metric(W("line.best_sigma"), f"{v['best_sigma']:.3f}", help=W("line.best_sigma_help")),
        Latex(ll_parts),
        Markdown(W("line.only_sse")),
        Chart(chart, caption=W("line.bells_caption")),
        Chart(mp, caption=W("line.map_caption", t1=best.theta1, t2=best.theta2, ls1=ls[0], ls2=ls[1]), square=True),
    ]


LINE = Step(
    "line",
    controls=(
        Slider("theta1", "θ₁ (slope)", T1_RANGE[0], T1_RANGE[1], 0.3, step=0.05),
        Slider("theta2", "θ₂ (intercept)", T2_RANGE[0], T2_RANGE[1], 2.0, step=0.05),
        Slider("sigma", "σ (noise level)", 0.02, 3.0, 0.8, step=0.02),
    ),
    presets=(("Near the least-squares line", {"theta1": 0.75, "theta2": 0.6}),),
    demo=_demo_line,
)


# ---------------------------------------------------------------- step 2: why logarithms

FLOAT_TINY = {"float32": 149, "float64": 1074}  # smallest subnormal = 2^-k


def underflow_closed_form(p: float, fmt: str) -> int:
    """Smallest n with p^n <= 2^-(k+1), half the smallest subnormal 2^-k: below it, rounding to
    nearest (ties to even) gives 0. Uses p as the format stores it."""
    k = FLOAT_TINY[fmt]
    pf = float(np.float32(p)) if fmt == "float32" else float(p)
    return math.ceil((k + 1) / -math.log2(pf))


def running_product(p: float, fmt: str, n: int) -> np.ndarray:
    """p * p * ... multiplied one factor at a time in the given float format (numpy cumprod)."""
    dt = np.float32 if fmt == "float32" else np.float64
    with np.errstate(under="ignore"):
        return np.cumprod(np.full(n, p, dtype=dt))


def underflow_measured(p: float, fmt: str, n: int | None = None) -> tuple[int | None, float]:
    """(first n where the running product is exactly 0, or None; the product's last value)."""
    n = n or int(underflow_closed_form(p, fmt) * 1.25) + 10
    prod = running_product(p, fmt, n)
    zero = np.flatnonzero(prod == 0)
    return (int(zero[0]) + 1 if len(zero) else None), float(prod[-1])


def coin_curves(n: int, heads_frac: float = 0.3, points: int = 199) -> pd.DataFrame:
    """Likelihood of n coin flips (a fraction heads_frac heads) over theta, by direct float64 product
    and by the sum of logs."""
    k = int(round(heads_frac * n))
    obs = np.r_[np.ones(k, bool), np.zeros(n - k, bool)]
    theta = np.linspace(0.005, 0.995, points)
    f = np.where(obs[None, :], theta[:, None], 1 - theta[:, None])  # (points, n)
    with np.errstate(under="ignore"):
        prod = np.prod(f, axis=1)
    return pd.DataFrame({"theta": theta, "likelihood": prod, "loglik": np.log(f).sum(1)})


def _demo_underflow(values: dict, progress) -> list:
    p, n_coin = float(values["p"]), int(values["n"])
    rows, stats = [], {}
    nmax = int(underflow_closed_form(p, "float64") * 1.2) + 10
    idx = np.unique(np.r_[np.linspace(1, nmax, 400).astype(int), np.arange(1, min(nmax, 60))])
    exact = idx * math.log10(p)
    rows.append(pd.DataFrame({"n": idx, "log10": exact, "how": "sum of logs (exact)"}))
    for fmt in ("float32", "float64"):
        prod = running_product(p, fmt, nmax)
        meas = np.flatnonzero(prod == 0)
        stats[fmt] = (int(meas[0]) + 1 if len(meas) else None, underflow_closed_form(p, fmt), float(prod[-1]))
        keep = prod[idx - 1] > 0
        with np.errstate(divide="ignore"):
            rows.append(pd.DataFrame({"n": idx[keep], "log10": np.log10(prod[idx - 1][keep].astype(np.float64)),
                                      "how": f"{fmt} running product"}))
    df = pd.concat(rows, ignore_index=True)
    colours = {"sum of logs (exact)": EXACT_COLOR, "float32 running product": FLOAT32_COLOR,
               "float64 running product": FLOAT64_COLOR}
    ev = pd.DataFrame([{"n": s[0], "what": f"{fmt} hits 0"} for fmt, s in stats.items() if s[0]])
    # N on a log axis: float32's short life (N <= 150 of ~1,300) gets most of the width instead of a sliver
    n_axis = alt.X("n:Q", title="N (number of factors, log scale)",  # up to N drawn, not the next power of 10
                   scale=alt.Scale(type="log", domain=[1, nmax], nice=False))
    enc = dict(x=n_axis, y=alt.Y("log10:Q", title="log₁₀ of the product"),
               color=alt.Color("how:N", title=None, scale=color_scale(colours),
                               legend=alt.Legend(orient="bottom", direction="vertical")),
               strokeDash=alt.condition(alt.datum.how == "sum of logs (exact)", alt.value([5, 4]), alt.value([1, 0])))
    wide = df["how"] == "float32 running product"
    # float32 as a wide band drawn first, float64 and the exact sum over it: the two agree until float32
    # hits 0, and neither hides the other
    layers = [alt.Chart(df[wide]).mark_line(strokeWidth=7).encode(**enc),
              alt.Chart(df[~wide]).mark_line(strokeWidth=2).encode(**enc)]
    if len(ev):
        layers.append(alt.Chart(ev).mark_rule(color=GUIDE_GREY, strokeDash=[2, 2]).encode(
            x="n:Q", tooltip=["what:N", "n:Q"]))
    uchart = alt.layer(*layers).properties(height=300, title=W("logs.chart_title", p=p))

    outs = []
    for fmt in ("float32", "float64"):
        meas, closed, last = stats[fmt]
        k = FLOAT_TINY[fmt]
        outs.append(Metric(W("logs.zero_from", fmt=fmt), str(meas) if meas else W("logs.never"),
                           help=W("logs.zero_from_help", fmt=fmt)))
        outs.append(Metric(W("logs.closed", fmt=fmt), str(closed), help=W("logs.closed_help", k1=k + 1, k=k)))
    notes = []
    for fmt in ("float32", "float64"):
        meas, closed, last = stats[fmt]
        k = FLOAT_TINY[fmt]
        if meas == closed:
            notes.append(W("logs.note_same", fmt=fmt, closed=closed, k1=k + 1, k=k, tiny=2.0 ** -k))
        elif meas is None:
            m = round(last / 2.0 ** -k)
            # "10^{...}" cannot be a placeholder (a brace after ^ is LaTeX), so the powers come written
            notes.append(W("logs.note_stuck", fmt=fmt, last=last, m=m, k=k, p=p, mp=m * p, nmax=nmax,
                           true_power=f"10^{nmax * math.log10(p):.0f}",
                           error_power=f"10^{math.log10(last) - nmax * math.log10(p):.0f}"))
        else:
            notes.append(W("logs.note_early", fmt=fmt, meas=meas, closed=closed))
    coin = coin_curves(n_coin)
    k_heads = int(round(0.3 * n_coin))
    arg_log = float(coin.theta[coin.loglik.idxmax()])
    all_zero = bool((coin.likelihood == 0).all())
    arg_prod = None if all_zero else float(coin.theta[coin.likelihood.idxmax()])
    theta_x = alt.X("theta:Q", title="θ = P(heads)", axis=alt.Axis(values=[0, .2, .4, .6, .8, 1], format=".1f"))
    c1 = alt.Chart(coin).mark_line(color=FLOAT64_COLOR).encode(
        x=theta_x, y=alt.Y("likelihood:Q", title="likelihood", axis=alt.Axis(format=".2e"))
    ).properties(height=240, title=W("logs.product_title"))
    c2 = alt.Chart(coin).mark_line(color=EXACT_COLOR).encode(
        x=theta_x, y=alt.Y("loglik:Q", title="log-likelihood")
    ).properties(height=240, title=W("logs.logsum_title"))
    coin_note = W("logs.coin", flips=n_coin, heads=k_heads, arg=arg_log, frac=k_heads / n_coin)
    coin_note += " " + (W("logs.coin_lost") if all_zero else W("logs.coin_kept", arg=arg_prod))
    return outs + [Chart(uchart, caption=W("logs.caption")),
                   Markdown("\n\n".join(notes)),
                   Chart(c1), Chart(c2),
                   Note(coin_note, kind="warning" if all_zero else "info")]


LOGS = Step(
    "logs",
    controls=(
        Slider("p", "p, the probability of each example", 0.05, 0.95, 0.5, step=0.05),
        LogSlider("n", "coin flips in the second example", (10, 100, 1000, 5000), 5000),
    ),
    demo=_demo_underflow,
)


# ---------------------------------------------------------------- step 3: descending the loss

GD_START = (2.2, -1.5)


def mse_quadratic() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Hessian of the mean squared error, its eigenvalues ascending, closed-form minimiser)."""
    x, y = line_data()
    X = design(x)
    H = 2 * X.T @ X / len(x)
    theta = np.linalg.solve(X.T @ X, X.T @ y)  # the normal equations
    return H, np.linalg.eigvalsh(H), theta


def mse(theta1, theta2) -> np.ndarray:
    x, y = line_data()
    t1 = np.asarray(theta1, dtype=np.float64)[..., None]
    t2 = np.asarray(theta2, dtype=np.float64)[..., None]
    return ((t1 * x + t2 - y) ** 2).mean(-1)


def gd_path(lr: float, steps: int, start=GD_START, bound: float = 1e8) -> tuple[pd.DataFrame, int | None]:
    """Full-batch gradient descent on the MSE with the engine's SGD (equal to torch.optim.SGD).
    Stops when a parameter leaves |theta| < bound; returns (path, step it left or None)."""
    import torch

    from engine.optim import StackedOptimizer

    x, y = line_data()
    X = torch.tensor(design(x), dtype=torch.float64)
    yt = torch.tensor(np.asarray(y), dtype=torch.float64)
    p = torch.tensor([list(start)], dtype=torch.float64)  # (1 run, 2 params)
    opt = StackedOptimizer(OptimSpec("sgd", lr=float(lr)), p)
    lr_t = torch.tensor([[float(lr)]], dtype=torch.float64)
    rows, left = [], None
    for t in range(steps + 1):
        r = X @ p[0] - yt
        rows.append((t, float(p[0, 0]), float(p[0, 1]), float((r ** 2).mean())))
        if not (torch.isfinite(p).all() and p.abs().max() < bound):
            left = t
            break
        if t < steps:
            g = (2 / len(x)) * (X.T @ r)
            opt.step(p, g[None, :], lr_t)
    return pd.DataFrame(rows, columns=["step", "theta1", "theta2", "mse"]), left


def _demo_gd(values: dict, progress) -> list:
    ratio, steps = float(values["rate"]), int(values["steps"])
    H, eig, star = mse_quadratic()
    L = float(eig[-1])
    lr = ratio * 2 / L
    path, left = gd_path(lr, steps)
    end = path.iloc[-1]
    j_star = float(mse(star[0], star[1]))
    factors = np.abs(1 - lr * eig)
    n = 41
    t1 = np.linspace(*T1_RANGE, n)
    t2 = np.linspace(*T2_RANGE, n)
    g1, g2 = np.meshgrid(t1, t2)
    surf = cell_grid((*T1_RANGE, *T2_RANGE), g1.shape, edges=("a", "b", "c", "d"),
                     level=np.log10(mse(g1, g2) - j_star + 1e-3))
    far = np.flatnonzero((path.theta1.abs() > 50) | (path.theta2.abs() > 50))
    inside = path.iloc[: far[0] + 1] if len(far) else path  # up to the first point off the map (drawn clipped)
    pts = pd.DataFrame({"theta1": [star[0], GD_START[0]], "theta2": [star[1], GD_START[1]],
                        "what": ["closed form", "start"]})
    xs = alt.Scale(domain=list(T1_RANGE), nice=False)
    ys = alt.Scale(domain=list(T2_RANGE), nice=False)
    contour = alt.layer(
        surf.mark_rect(clip=True).encode(
            x=alt.X("a:Q", title="θ₁ (slope)", scale=xs), x2="b:Q", y=alt.Y("c:Q", title="θ₂ (intercept)", scale=ys),
            y2="d:Q", color=alt.Color("level:Q", title="log₁₀(MSE − min)",
                                      scale=alt.Scale(type="quantize", scheme="blues", nice=True, zero=False)),
            tooltip=alt.value(None)),
        alt.Chart(inside).mark_line(color=MSE_COLOR, strokeWidth=2, clip=True, point=alt.OverlayMarkDef(
            color=MSE_COLOR, size=30, clip=True)).encode(
            x=alt.X("theta1:Q", scale=xs), y=alt.Y("theta2:Q", scale=ys), order="step:Q",
            tooltip=["step:Q", alt.Tooltip("theta1:Q", format=".4f"), alt.Tooltip("theta2:Q", format=".4f"),
                     alt.Tooltip("mse:Q", format=".4g")]),
        alt.Chart(pts).mark_point(size=300, filled=True, stroke="black", strokeWidth=1.2).encode(
            x="theta1:Q", y="theta2:Q",
            shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["closed form", "start"],
                                                                  range=["cross", "square"])),
            fill=alt.Fill("what:N", legend=None, scale=alt.Scale(domain=["closed form", "start"],
                                                                 range=["white", START_COLOR]))),
    ).properties(**equal_axes((*T1_RANGE, *T2_RANGE), 300), title=W("descent.path_title", lr=lr))
    lossdf = path.assign(excess=np.maximum(path.mse - j_star, 1e-16))
    curve = alt.Chart(lossdf).mark_line(
        color=MSE_COLOR, point=alt.OverlayMarkDef(color=MSE_COLOR, size=25) if steps <= 60 else False).encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("excess:Q", title="MSE − minimum", scale=alt.Scale(type="log")),
        tooltip=["step:Q", alt.Tooltip("excess:Q", format=".3g")]
    ).properties(height=240, title=W("descent.excess_title"))

    def num(v):
        return f"{v:.5f}" if abs(v) < 1e4 else f"{v:.3e}"

    table = pd.DataFrame({
        "": [W("descent.row_gd", step=int(end.step)), W("descent.row_closed")],
        "θ₁": [num(end.theta1), num(star[0])], "θ₂": [num(end.theta2), num(star[1])],
        "MSE": [num(end.mse), num(j_star)]}).set_index("")
    dist = float(np.hypot(end.theta1 - star[0], end.theta2 - star[1]))
    dist0 = float(np.hypot(GD_START[0] - star[0], GD_START[1] - star[1]))
    if ratio > 1:
        msg = W("descent.diverging", lr=lr, ratio=ratio, two_over_l=2 / L, factor=factors.max(), d0=dist0, d=dist)
        if left is not None:
            msg += " " + W("descent.stopped", step=left)
        status = Note(msg, kind="error")
    else:
        msg = W("descent.converging", lr=lr, two_over_l=2 / L, f0=factors[0], f1=factors[1], steps=steps, d=dist)
        status = Note(msg, kind="success")
    return [
        Metric(W("descent.lr"), f"{lr:.4g}"),
        Metric("2 / hₘₐₓ", f"{2 / L:.4f}", help=W("descent.two_over_l_help", h=L)),
        Metric(W("descent.eigenvalues"), f"{eig[0]:.3f}, {eig[1]:.3f}"),
        status,
        Table(table, caption=W("descent.table_caption")),
        Chart(contour, caption=W("descent.path_caption"), square=True),
        Chart(curve),
    ]


DESCENT = Step(
    "descent",
    controls=(
        LogSlider("rate", "learning rate η, as a multiple of 2/hₘₐₓ",
                  (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.01, 1.1, 1.5, 3.0, 10.0, 100.0, 1000.0), 0.5),
        Slider("steps", "steps", 1, 300, 40, step=1),
    ),
    presets=(("Safe (0.5)", {"rate": 0.5, "steps": 40}), ("Zig-zag (0.9)", {"rate": 0.9, "steps": 60}),
             ("Too large (1.1)", {"rate": 1.1, "steps": 30})),
    demo=_demo_gd,
)


# ---------------------------------------------------------------- step 4: Bernoulli -> logistic loss

STEP4_SPREADS = (0.2, 0.3, 0.5)
STEP4_SHOWN = (0, 10, 30, 100, 400)
TRAIN_STEPS = 400
# The data sets every claim of steps 4 and 5 is measured on: seed s draws sample s of the blobs and
# initialises the model with seed s. The demos let the learner pick which one the map shows.
DATA_SEEDS = tuple(range(10))


def _tag(spread: float) -> str:
    """0.3 -> '03': a statistic's suffix (a placeholder name must be a word)."""
    return f"{spread:.1f}".replace(".", "")


def logistic_experiment(spread: float, seed: int = 0, surface: bool = True) -> Experiment:
    """One sigmoid unit (no hidden layer) on two Gaussian blobs, plain full-batch gradient descent.
    seed: the data sample and the initialisation. surface=False (the claims' sweeps): no decision
    surfaces and a history recorded only at the start and the end."""
    train = (TrainSpec(loss="bce", steps=TRAIN_STEPS, snapshot_steps=STEP4_SHOWN, grid=60, record_every=5)
             if surface else TrainSpec(loss="bce", steps=TRAIN_STEPS, record_every=TRAIN_STEPS))
    return Experiment(data=DataSpec("gaussians", n=300, noise=float(spread), seed=seed), model=ModelSpec(hidden=()),
                      optim=OptimSpec("sgd", lr=4.0), train=train, seed=seed)


def softmax_experiment(spread: float, seed: int = 0, surface: bool = True) -> Experiment:
    """Softmax regression (three outputs, no hidden layer) on blobs3, plain full-batch gradient descent."""
    train = (TrainSpec(loss="softmax_ce", steps=TRAIN_STEPS, snapshot_steps=(TRAIN_STEPS,), grid=60, record_every=5)
             if surface else TrainSpec(loss="softmax_ce", steps=TRAIN_STEPS, record_every=TRAIN_STEPS))
    return Experiment(data=DataSpec("blobs3", n=300, noise=float(spread), seed=seed), model=ModelSpec(hidden=()),
                      optim=OptimSpec("sgd", lr=4.0), train=train, seed=seed)


def snapshot_grid(res, split) -> np.ndarray:
    """Standardised coordinates (G*G, 2) of the snapshot grid, in the order of snapshot.ravel()."""
    x0, x1, y0, y1 = res.meta["extent"]
    G = res.snapshots.shape[-1]
    gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
    return split.standardise(np.c_[gx.ravel(), gy.ravel()]).astype(np.float64)


def coefficients_from_snapshot(prob: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """(w1, w2, b) of a sigmoid unit from its P(y=1) on grid points Z: logit(P) = w·z + b exactly, so a
    plane fitted by weighted least squares recovers them (weights p(1-p) damp the float16 rounding
    of probabilities near 0 and 1). This is how the demo reads the unit at an intermediate step."""
    p = prob.ravel().astype(np.float64)
    m = (p > 1e-3) & (p < 1 - 1e-3)
    w = p[m] * (1 - p[m])
    A = np.c_[Z[m], np.ones(m.sum())]
    return np.linalg.lstsq(A * w[:, None], np.log(p[m] / (1 - p[m])) * w, rcond=None)[0]


def linear_layer(res) -> tuple[np.ndarray, np.ndarray]:
    """(W (inputs, outputs), b) of a run's final model without hidden layers, in float64."""
    layer = res.weights()[-1]
    return np.asarray(layer["W"], np.float64), np.asarray(layer["b"], np.float64).ravel()


def unit_coefficients(res) -> np.ndarray:
    """(w1, w2, b) of a trained sigmoid unit, from its final parameters."""
    W, b = linear_layer(res)
    return np.r_[W.ravel(), b]


@lru_cache(maxsize=64)
def sklearn_fit(spec: DataSpec):
    """scikit-learn's unpenalised logistic regression (multinomial for three classes) on spec's
    standardised training points: the exact maximum-likelihood solution to compare with."""
    from sklearn.linear_model import LogisticRegression

    split = load(spec)
    return LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(split.X_train, split.y_train)


def bernoulli_nll(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """-log p(t | z) for a sigmoid unit with logit z, computed stably."""
    return np.logaddexp(0, z) - t * z


def sklearn_logistic_loss(spec: DataSpec) -> tuple[np.ndarray, float]:
    """scikit-learn's (w1, w2, b) and its mean logistic loss on the training points."""
    clf = sklearn_fit(spec)
    split = load(spec)
    z = clf.decision_function(split.X_train.astype(np.float64))
    return np.r_[clf.coef_[0], clf.intercept_[0]], float(bernoulli_nll(z, split.y_train.astype(np.float64)).mean())


def _bern_runs(seed: int) -> list[Experiment]:
    return [logistic_experiment(s, seed, surface=False) for s in STEP4_SPREADS]


def _bern_spread_stat(results) -> dict:
    out = {}
    for spread, r in zip(STEP4_SPREADS, results):
        out[f"norm_{_tag(spread)}"] = float(np.hypot(*unit_coefficients(r)[:2]))
        out[f"loss_{_tag(spread)}"] = float(r.final["train_loss"])
    return out


def _bern_spread_holds(v: dict) -> bool:
    n, l_ = [v[f"norm_{_tag(s)}"] for s in STEP4_SPREADS], [v[f"loss_{_tag(s)}"] for s in STEP4_SPREADS]
    return all(a > b for a, b in zip(n, n[1:])) and all(a < b for a, b in zip(l_, l_[1:]))


def _bern_sk_stat(results) -> dict:
    gaps = {}
    for spread, r in zip(STEP4_SPREADS, results):
        sk, loss_sk = sklearn_logistic_loss(r.config.data)
        gaps[spread] = (float(np.abs(unit_coefficients(r) - sk).max()), abs(float(r.final["train_loss"]) - loss_sk))
    return {"loss_gap": max(g[1] for g in gaps.values()),
            "coef_gap": max(gaps[s][0] for s in STEP4_SPREADS if s != min(STEP4_SPREADS)),
            "coef_gap_tight": gaps[min(STEP4_SPREADS)][0]}


BERN_SPREAD = Claim(
    "bern_spread", experiments=_bern_runs, statistic=_bern_spread_stat, holds=_bern_spread_holds,
    what="wider blobs: smaller weights and a higher loss at the optimum (spreads 0.2 < 0.3 < 0.5)")
BERN_SK = Claim(
    "bern_sk", experiments=_bern_runs, statistic=_bern_sk_stat,
    holds=lambda v: v["loss_gap"] < 2e-3 and v["coef_gap"] < 5e-3,
    what="the engine's unit after 400 steps against scikit-learn's exact optimum")


def logistic_view(spread: float, shown: int = TRAIN_STEPS, seed: int = 0, progress=None, cache=True) -> dict:
    """The engine's sigmoid unit after `shown` steps beside scikit-learn's unpenalised solution."""
    exp = logistic_experiment(spread, seed)
    res = run_many([exp], progress=progress, cache=cache)[0]
    split = load(exp.data)
    Z = snapshot_grid(res, split)
    k = list(res.meta["snapshot_steps"]).index(shown)
    coef = coefficients_from_snapshot(res.snapshots[k], Z)
    sk, loss_sk = sklearn_logistic_loss(exp.data)
    X, t = split.X_train.astype(np.float64), split.y_train.astype(np.float64)
    z = X @ coef[:2] + coef[2]
    hist = res.history
    return {"res": res, "split": split, "coef": coef, "sk": sk, "z": z, "per_point": bernoulli_nll(z, t),
            "loss_sk": loss_sk, "loss_engine": float(hist.loc[hist.step == shown, "train_loss"].iloc[0]), "t": t,
            "k": k}


def _spread_evidence(ev) -> pd.DataFrame:
    """bern_spread's table, one row per (seed, spread): the weight norm and the loss."""
    rows = [{"seed": int(r["seed"]), "spread": str(s), "norm": r[f"norm_{_tag(s)}"], "loss": r[f"loss_{_tag(s)}"]}
            for r in ev.table.to_dict("records") for s in STEP4_SPREADS if f"norm_{_tag(s)}" in r]
    return pd.DataFrame(rows)


def _demo_logistic(values: dict, progress) -> list:
    spread, shown, seed = float(values["spread"]), int(values["shown"]), int(values["seed"])
    ev = BERN_SPREAD.measure(progress)
    v = logistic_view(spread, shown, seed, progress)
    res, split = v["res"], v["split"]
    x0, x1, y0, y1 = res.meta["extent"]
    pts = pd.DataFrame({"x1": split.raw_train[:, 0], "x2": split.raw_train[:, 1],
                        "label": np.where(v["t"] > 0, "class 1", "class 0")})
    xs, ys = alt.Scale(domain=[x0, x1], nice=False), alt.Scale(domain=[y0, y1], nice=False)
    lab = alt.Color("label:N", title="label", scale=color_scale(CLASS_COLORS, ["class 0", "class 1"]))
    regions = alt.layer(
        *value_map((x0, x1, y0, y1), res.snapshots[v["k"]], scheme="blueorange", domain=(0, 1), title="P(y = 1)",
                   opacity=0.85, x=alt.X("x:Q", title="x₁", scale=xs), y=alt.Y("y:Q", title="x₂", scale=ys)),
        alt.Chart(pts).mark_circle(size=35, stroke="black", strokeWidth=0.6, opacity=1).encode(
            x="x1:Q", y="x2:Q", fill=alt.Fill("label:N", title="label", scale=color_scale(
                CLASS_COLORS, ["class 0", "class 1"]), legend=None), tooltip=["label:N"]),
    ).resolve_scale(color="independent").properties(**equal_axes((x0, x1, y0, y1), 220),
                                                    title=W("bernoulli.map_title", seed=seed, shown=shown))
    zz = np.linspace(-10, 10, 201)
    curves = pd.DataFrame({"z": np.r_[zz, zz], "loss": np.r_[np.logaddexp(0, -zz), np.logaddexp(0, zz)],
                           "label": ["class 1"] * len(zz) + ["class 0"] * len(zz)})
    dots = pd.DataFrame({"z": np.clip(v["z"], -10, 10), "loss": v["per_point"], "label": pts.label})
    loss_chart = alt.layer(
        alt.Chart(curves).mark_line().encode(x=alt.X("z:Q", title="logit z = w·x + b"),
                                             y=alt.Y("loss:Q", title="−log p(label | x)"), color=lab),
        alt.Chart(dots).mark_circle(size=30, opacity=0.6).encode(x="z:Q", y="loss:Q", color=lab),
    ).properties(height=280, title=W("bernoulli.loss_title"))
    n = len(v["t"])
    ll = -v["per_point"].sum()
    coef_tab = pd.DataFrame({"w₁": [v["coef"][0], v["sk"][0]], "w₂": [v["coef"][1], v["sk"][1]],
                             "b": [v["coef"][2], v["sk"][2]], "mean logistic loss": [v["loss_engine"], v["loss_sk"]]},
                            index=[W("bernoulli.row_engine", shown=shown), W("bernoulli.row_sklearn")]).round(4)
    gap = np.abs(v["coef"] - v["sk"]).max()
    df = _spread_evidence(ev)
    order = [str(s) for s in STEP4_SPREADS]
    norm_c = _seed_chart(df, "spread", "norm", "‖w‖ after 400 steps", x_title="spread of the blobs",
                         title=W("bernoulli.norm_title", n=len(DATA_SEEDS)), sort=order, height=190, width=230)
    loss_c = _seed_chart(df, "spread", "loss", "mean logistic loss", x_title="spread of the blobs",
                         title=W("bernoulli.loss_evidence_title", n=len(DATA_SEEDS)), sort=order, height=190,
                         width=230)
    return [
        Metric(W("bernoulli.likelihood"), _fmt_pow10(ll / math.log(10)), help=W("bernoulli.likelihood_help", n=n)),
        Metric(W("loglik"), f"{ll:.2f}"),
        Metric(W("bernoulli.mean_loss"), f"{v['loss_engine']:.4f}", help=W("bernoulli.mean_loss_help")),
        Columns([[Chart(regions, caption=W("bernoulli.map_caption"), square=True)],
                 [Chart(loss_chart, caption=W("bernoulli.loss_caption"))]]),
        Table(coef_tab, caption=W("bernoulli.table_caption", shown=shown, gap=gap)),
        Chart(alt.hconcat(norm_c, loss_c), caption=W("bernoulli.evidence_caption", held=ev.held, n=ev.n)),
    ]


def _every_choice(experiment):
    """`runs` for a step whose Select controls pick the spread and the data set of the one run its map
    draws: the runs of every choice, so that no choice a learner makes trains on the cloud."""
    return lambda v: [experiment(sp, s) for sp in STEP4_SPREADS for s in DATA_SEEDS]


BERNOULLI = Step(
    "bernoulli",
    controls=(
        Select("spread", "spread of the blobs", STEP4_SPREADS, 0.3),
        Select("shown", "training step shown", STEP4_SHOWN, TRAIN_STEPS),
        Select("seed", "data set shown (sample and initialisation)", DATA_SEEDS, 0),
    ),
    runs=_every_choice(logistic_experiment),
    demo=_demo_logistic, heavy=True, claims=(BERN_SK, BERN_SPREAD),
)


# ---------------------------------------------------------------- step: why cross-entropy, not MSE, for a sigmoid

SAT_STARTS = (0.0, -4.0, -8.0)  # the output bias at the start: -8 gives every point y = σ(-8) ≈ 0.0003
SAT_STEPS = 300
SAT_LR = 1.0
SAT_LOSSES = {"bce": "cross-entropy", "mse": "MSE"}  # engine loss -> chart label
SAT_CHECK = 100  # the claim compares accuracies after this many steps
SAT_Z = -8.0  # the logit of the worked numbers: the confidently-wrong start


def saturation_experiment(loss: str, start: float, seed: int = 0) -> Experiment:
    """One sigmoid unit on two blobs (spread 0.3) trained by full-batch gradient descent on `loss`
    ("bce" or "mse": the engine's (σ(z) − t)²), its output bias starting at `start`."""
    return Experiment(data=DataSpec("gaussians", n=300, noise=0.3, seed=seed),
                      model=ModelSpec(hidden=(), out_bias_init=float(start)), optim=OptimSpec("sgd", lr=SAT_LR),
                      train=TrainSpec(loss=loss, steps=SAT_STEPS, record_every=5), seed=seed)


def sigmoid_grads(z: np.ndarray, t: float = 1.0) -> dict:
    """dℓ/dz of one point with logit z and label t, by autograd through the engine's own losses
    (engine.losses.per_sample): cross-entropy ("bce") and the squared error of σ(z) ("mse")."""
    from engine.losses import per_sample

    out = {}
    for loss in SAT_LOSSES:
        zt = torch.tensor(np.asarray(z, np.float64), requires_grad=True)
        per_sample(loss, zt[None, :, None], torch.full_like(zt, t)[None, :], 0.0, 2).sum().backward()
        out[loss] = zt.grad.numpy().copy()
    return out


def saturation_worked() -> dict:
    """The worked numbers of the step: one point with t = 1 at the confidently-wrong start z = −8."""
    g = sigmoid_grads(np.array([SAT_Z]))
    y = 1 / (1 + math.exp(-SAT_Z))
    return {"z": SAT_Z, "y": y, "ce": float(g["bce"][0]), "mse": float(g["mse"][0]),
            "ratio": float(g["bce"][0] / g["mse"][0]), "slope": y * (1 - y)}


def _sat_stat(results) -> dict:
    def acc_at(r, step):
        h = r.history
        return float(h.train_metric[h.step == step].iloc[0])

    def reach(r, level=0.8):
        h = r.history
        ok = h.step[h.train_metric >= level]
        return float(ok.iloc[0]) if len(ok) else float(SAT_STEPS + 1)

    ce, mse, ce0, mse0 = results
    return {"ce_acc": acc_at(ce, SAT_CHECK), "mse_acc": acc_at(mse, SAT_CHECK), "ce_reach": reach(ce),
            "mse_reach": reach(mse), "mse_end": float(mse.final["train_metric"]),
            "zero_gap": abs(float(ce0.final["train_metric"]) - float(mse0.final["train_metric"]))}


MSE_SAT = Claim(
    "mse_sat", experiments=lambda s: [saturation_experiment("bce", -8.0, s), saturation_experiment("mse", -8.0, s),
                                      saturation_experiment("bce", 0.0, s), saturation_experiment("mse", 0.0, s)],
    statistic=_sat_stat,
    holds=lambda v: v["ce_acc"] >= 0.85 and v["mse_acc"] <= 0.6 and v["zero_gap"] < 0.03,
    what="from a confidently-wrong start (output bias -8) cross-entropy learns within 100 steps and MSE does not; "
         "from a neutral start the two end equal")


def _demo_saturation(values: dict, progress) -> list:
    start = float(values["start"])
    zz = np.linspace(-12, 6, 181)
    g = sigmoid_grads(zz)
    gdf = pd.concat([pd.DataFrame({"z": zz, "grad": np.abs(g[k]), "loss": lab}) for k, lab in SAT_LOSSES.items()])
    cols = {"cross-entropy": CE_COLOR, "MSE": MSE_COLOR}
    grad_chart = alt.layer(
        alt.Chart(gdf).mark_line(strokeWidth=2.5).encode(
            x=alt.X("z:Q", title="logit z (label t = 1)"),
            y=alt.Y("grad:Q", title="|∂ℓ/∂z|", scale=alt.Scale(type="log", domain=[1e-6, 2])),
            color=alt.Color("loss:N", title=None, scale=color_scale(cols), legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("z:Q", format=".1f"), "loss:N", alt.Tooltip("grad:Q", format=".2e")]),
        alt.Chart(pd.DataFrame({"z": [start]})).mark_rule(color=GUIDE_GREY, strokeDash=[4, 3]).encode(x="z:Q"),
    ).properties(height=280, title=W("saturation.grad_title"))
    res = run_many([saturation_experiment(k, start, s) for k in SAT_LOSSES for s in DATA_SEEDS], progress=progress)
    rows = []
    for i, r in enumerate(res):
        k = list(SAT_LOSSES)[i // len(DATA_SEEDS)]
        h = r.history
        rows.append(pd.DataFrame({"seed": DATA_SEEDS[i % len(DATA_SEEDS)], "step": h.step,
                                  "accuracy": h.train_metric, "loss": SAT_LOSSES[k]}))
    curves = pd.concat(rows, ignore_index=True)
    acc_chart = seed_curves(curves, "step", "accuracy", color="loss", colors=cols, x_title="gradient step",
                            y_title="training accuracy", height=280,
                            title=W("saturation.acc_title", start=start, n=len(DATA_SEEDS)))
    at = curves[curves.step == SAT_CHECK].groupby("loss").accuracy.mean()
    return [
        Metric(W("saturation.acc_at", loss="cross-entropy", step=SAT_CHECK), f"{at['cross-entropy']:.2f}"),
        Metric(W("saturation.acc_at", loss="MSE", step=SAT_CHECK), f"{at['MSE']:.2f}"),
        Columns([[Chart(grad_chart, caption=W("saturation.grad_caption"))],
                 [Chart(acc_chart, caption=W("saturation.acc_caption", n=len(DATA_SEEDS), step=SAT_CHECK))]]),
    ]


SATURATION = Step(
    "saturation",
    controls=(Select("start", "output bias at the start", SAT_STARTS, -8.0),),
    runs=lambda v: [saturation_experiment(k, st, s) for st in SAT_STARTS for k in SAT_LOSSES for s in DATA_SEEDS],
    demo=_demo_saturation, heavy=True, claims=(MSE_SAT,), worked_values=saturation_worked,
)


# ---------------------------------------------------------------- step 5: categorical -> softmax CE


def softmax_points(res) -> pd.DataFrame:
    """Per training point of a softmax-regression run: class, loss −log p(y | x), the score margin
    a_y − max_{k≠y} a_k (negative: misclassified), and the signed distance in the (x₁, x₂) plane to
    the line where the true class ties with its strongest rival (negative: inside the rival's region)."""
    split = load(res.config.data)
    W, b = linear_layer(res)
    A = split.X_train.astype(np.float64) @ W + b
    y = split.y_train.astype(int)
    idx = np.arange(len(y))
    top = A.max(1, keepdims=True)
    logp = A - top - np.log(np.exp(A - top).sum(1, keepdims=True))
    rivals = A.copy()
    rivals[idx, y] = -np.inf
    rival = rivals.argmax(1)
    margin = A[idx, y] - A[idx, rival]
    grad = (W[:, y] - W[:, rival]).T / split.std  # gradient of a_y − a_rival with respect to raw (x₁, x₂)
    P = np.exp(logp)
    return pd.DataFrame({"point": idx + 1, "cls": y, "loss": -logp[idx, y], "margin": margin,
                         "distance": margin / np.linalg.norm(grad, axis=1), "wrong": margin < 0,
                         "p0": P[:, 0], "p1": P[:, 1], "p2": P[:, 2]})


def blob_sd(spread: float) -> float:
    """The standard deviation of each blob in the (x₁, x₂) plane (engine.data: 0.3 + 2.5 × spread)."""
    return 0.3 + 2.5 * float(spread)


BOUNDARY_POINTS = 10  # "near the boundary": the 10 training points of a data set with the smallest |margin|
TOP_POINTS = 10  # "the largest losses": the 10 largest of a data set


def _worst_stat(results) -> dict:
    pts = softmax_points(results[0])
    top = pts.nlargest(TOP_POINTS, "loss")
    near = pts.loc[pts.margin.abs().nsmallest(BOUNDARY_POINTS).index]
    worst = top.iloc[0]
    return {"top": float(worst.loss), "depth": float(-worst.distance), "wrong10": float(top.wrong.mean()),
            "depth_sd": float(-worst.distance / blob_sd(results[0].config.data.noise)),
            "near": float(near.loss.mean()), "near_lo": float(near.loss.min()), "near_hi": float(near.loss.max()),
            "wrong_frac": float(pts.wrong.mean())}


SOFT_WORST = Claim(
    "soft_worst", experiments=lambda s: [softmax_experiment(0.3, s, surface=False)], statistic=_worst_stat,
    holds=lambda v: (v["wrong10"] == 1.0 and v["top"] > 2 * math.log(3) and v["depth"] > 0
                     and math.log(2) - 0.25 < v["near"] < math.log(3) + 0.25),
    what="the ten largest losses are misclassified points; the points nearest a boundary cost about ln 2 to ln 3")


def _grid_agreement(res, clf) -> float:
    """Fraction of a 60 x 60 grid over the data window where the engine's model and scikit-learn's
    predict the same class (from the engine's parameters, not a snapshot)."""
    split = load(res.config.data)
    x0, x1, y0, y1 = split.extent()
    gx, gy = np.meshgrid(np.linspace(x0, x1, 60), np.linspace(y0, y1, 60))
    Z = split.standardise(np.c_[gx.ravel(), gy.ravel()]).astype(np.float64)
    W, b = linear_layer(res)
    return float(((Z @ W + b).argmax(1) == clf.predict(Z)).mean())


def sklearn_softmax_loss(spec: DataSpec) -> tuple[np.ndarray, float]:
    """scikit-learn's probabilities on the training points and its mean cross-entropy (its minimum)."""
    split = load(spec)
    P = sklearn_fit(spec).predict_proba(split.X_train.astype(np.float64))
    y = split.y_train
    return P, float(-np.log(P[np.arange(len(y)), y]).mean())


def _soft_sk_stat(results) -> dict:
    gaps, agree = [], []
    for r in results:
        _, loss_sk = sklearn_softmax_loss(r.config.data)
        gaps.append(abs(float(r.final["train_loss"]) - loss_sk))
        agree.append(_grid_agreement(r, sklearn_fit(r.config.data)))
    return {"loss_gap": max(gaps), "agree": min(agree)}


SOFT_SK = Claim(
    "soft_sk", experiments=lambda s: [softmax_experiment(sp, s, surface=False) for sp in STEP4_SPREADS],
    statistic=_soft_sk_stat, holds=lambda v: v["loss_gap"] < 5e-4 and v["agree"] > 0.99,
    what="the engine's softmax regression after 400 steps against scikit-learn's exact optimum, every spread")


def softmax_view(spread: float, seed: int = 0, progress=None, cache=True) -> dict:
    exp = softmax_experiment(spread, seed)
    res = run_many([exp], progress=progress, cache=cache)[0]
    split = load(exp.data)
    P_sk, loss_sk = sklearn_softmax_loss(exp.data)
    Z = snapshot_grid(res, split)
    agree = float((sklearn_fit(exp.data).predict(Z) == res.snapshots[-1].ravel().astype(int)).mean())
    return {"res": res, "split": split, "P_sk": P_sk, "loss_sk": loss_sk, "points": softmax_points(res),
            "loss_engine": float(res.final["train_loss"]), "agree": agree}


def softmax_sweep(spread: float, progress=None, cache=True) -> pd.DataFrame:
    """softmax_points of every data set at this spread (the claim's runs), with a seed column."""
    res = run_many([softmax_experiment(spread, s, surface=False) for s in DATA_SEEDS], progress=progress,
                   cache=cache)
    return pd.concat([softmax_points(r).assign(seed=s) for s, r in zip(DATA_SEEDS, res)], ignore_index=True)


def _demo_softmax(values: dict, progress) -> list:
    spread, point, seed = float(values["spread"]), int(values["point"]), int(values["seed"])
    v = softmax_view(spread, seed, progress)
    sweep = softmax_sweep(spread, progress)
    res, split, pts = v["res"], v["split"], v["points"]
    y = split.y_train
    i = min(max(point, 1), len(y)) - 1
    x0, x1, y0, y1 = res.meta["extent"]
    names = [f"class {c}" for c in range(3)]
    surf = image_grid((x0, x1, y0, y1), colour_cells(np.array(names)[res.snapshots[-1].astype(int)],
                                                     names=dict(CLASS_COLORS)), opacity=0.3)
    dots = pd.DataFrame({"x1": split.raw_train[:, 0], "x2": split.raw_train[:, 1], "cls": np.array(names)[y],
                         "point": pts.point, "loss": pts.loss.round(3)})
    xs, ys = alt.Scale(domain=[x0, x1], nice=False), alt.Scale(domain=[y0, y1], nice=False)
    worst = dots.loc[pts.loss.nlargest(5).index]
    regions = alt.layer(
        surf.encode(x=alt.X("x:Q", title="x₁", scale=xs), x2="x2:Q", y=alt.Y("y:Q", title="x₂", scale=ys), y2="y2:Q"),
        alt.Chart(dots).mark_circle(size=35, stroke="black", strokeWidth=0.5, opacity=1).encode(
            x="x1:Q", y="x2:Q", color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            tooltip=["point:Q", "cls:N", "loss:Q"]),
        alt.Chart(worst).mark_point(shape="diamond", size=220, stroke=WORST_COLOR, strokeWidth=2, filled=False).encode(
            x="x1:Q", y="x2:Q", tooltip=["point:Q", "cls:N", "loss:Q"]),
        alt.Chart(dots.iloc[[i]]).mark_point(size=450, stroke="black", strokeWidth=3, filled=False).encode(
            x="x1:Q", y="x2:Q"),
    ).properties(**equal_axes((x0, x1, y0, y1), 195), title=W("categorical.map_title", seed=seed))
    # every training point of every data set at this spread: loss against signed distance to the boundary
    others = sweep[sweep.seed != seed]
    m = np.linspace(float(sweep.distance.min()), float(sweep.distance.max()), 2)
    band = pd.DataFrame({"lo": [math.log(2)], "hi": [math.log(3)]})
    scatter = alt.layer(
        alt.Chart(band).mark_rect(color=CONTEXT_GREY, opacity=0.25).encode(
            y=alt.Y("lo:Q"), y2="hi:Q", tooltip=alt.value(W("categorical.band_tooltip"))),
        # no tooltip, so no rounding: charts.lean sends these 1,620 points as float32
        alt.Chart(others[["distance", "loss"]]).mark_circle(size=10, color=CONTEXT_GREY, opacity=0.35).encode(
            x="distance:Q", y="loss:Q", tooltip=alt.value(None)),
        alt.Chart(pts.assign(cls=np.array(names)[pts.cls])[["distance", "loss", "cls", "point"]].round(3))
        .mark_circle(size=30, stroke="black", strokeWidth=0.4, opacity=0.9).encode(
            x=alt.X("distance:Q", title=W("categorical.distance_axis"),
                    scale=alt.Scale(domain=[float(m[0]), float(m[1])], nice=False)),
            y=alt.Y("loss:Q", title="loss"),
            color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            tooltip=["point:Q", "cls:N", "loss:Q", "distance:Q"]),
        alt.Chart(pts.iloc[[i]]).mark_point(size=300, stroke="black", strokeWidth=2.5, filled=False).encode(
            x="distance:Q", y="loss:Q"),
        alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=ZERO_RULE_GREY, strokeDash=[4, 4]).encode(x="x:Q"),
    ).properties(height=260, title=W("categorical.scatter_title", n=len(DATA_SEEDS), seed=seed))
    p = pts.loc[i, ["p0", "p1", "p2"]].to_numpy(float)
    bars = pd.DataFrame({"cls": names, "p": p, "correct": [c == y[i] for c in range(3)]})
    bar = alt.layer(
        alt.Chart(bars).mark_bar().encode(
            x=alt.X("cls:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("p:Q", title="model probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            stroke=alt.condition("datum.correct", alt.value("black"), alt.value(None)), strokeWidth=alt.value(3)),
        alt.Chart(bars).mark_text(dy=-10, fontSize=15).encode(x="cls:N", y="p:Q", text=alt.Text("p:Q", format=".3f")),
    ).properties(height=300, title=W("categorical.bar_title", point=i + 1, cls=int(y[i])))
    loss_i = float(pts.loss[i])
    top = sweep.groupby("seed").apply(lambda d: bool(d.nlargest(TOP_POINTS, "loss").wrong.all()),
                                      include_groups=False)
    near = sweep.groupby("seed").apply(lambda d: d.loc[d.margin.abs().nsmallest(BOUNDARY_POINTS).index].loss.mean(),
                                       include_groups=False)
    return [
        Metric(W("categorical.engine_loss"), f"{v['loss_engine']:.5f}", help=W("categorical.engine_loss_help")),
        Metric(W("categorical.sklearn_loss"), f"{v['loss_sk']:.5f}", help=W("categorical.sklearn_loss_help")),
        Metric(W("categorical.agree"), f"{v['agree']:.1%}", help=W("categorical.agree_help")),
        Metric(W("categorical.point_loss", point=i + 1), f"{loss_i:.4f}", help=W("categorical.point_loss_help")),
        Columns([[Chart(regions, caption=W("categorical.map_caption"), square=True)],
                 [Chart(bar, caption=W("categorical.bar_caption", point=i + 1, p=p[y[i]], loss=loss_i, n=len(y),
                                       mean=v["loss_engine"]))]]),
        Chart(scatter, caption=W("categorical.scatter_caption", spread=spread, top=int(top.sum()), n=len(top),
                                 near_n=BOUNDARY_POINTS, near=near.mean())),
    ]


def softmax_worked() -> dict:
    """Softmax of (2, 1, −1), its cross-entropy for class 0 and the gradient p − t, by PyTorch."""
    p = torch.softmax(torch.tensor(CE_LOGITS, dtype=torch.float64), 0).numpy()
    loss, g = loss_and_grad(ce_from_logits, [list(CE_LOGITS)], torch.tensor([0]))
    return {"p0": p[0], "p1": p[1], "p2": p[2], "ce": loss, "g0": g[0, 0], "g1": g[0, 1], "g2": g[0, 2]}


CATEGORICAL = Step(
    "categorical",
    controls=(
        Select("spread", "spread of the blobs", STEP4_SPREADS, 0.3),
        Select("seed", "data set shown (sample and initialisation)", DATA_SEEDS, 0),
        Slider("point", "training point", 1, 180, 1, step=1),
    ),
    runs=_every_choice(softmax_experiment),  # the chart of all ten data sets reads the claim soft_sk's runs
    demo=_demo_softmax, heavy=True, claims=(SOFT_SK, SOFT_WORST), worked_values=softmax_worked,
)


# ---------------------------------------------------------------- step: PyTorch's losses take logits


def ce_from_logits(logits, target):
    return nn.CrossEntropyLoss()(logits, target)  # applies log_softmax itself


def ce_softmax_first(logits, target):  # the bug: softmax twice
    return nn.CrossEntropyLoss()(torch.softmax(logits, dim=1), target)


def bce_from_logits(logits, target):
    return nn.BCEWithLogitsLoss()(logits, target)  # softplus(z) - t z, exact


def bce_sigmoid_first(logits, target):  # the bug: log(1 - sigmoid(z)) is clamped at -100
    return nn.BCELoss()(torch.sigmoid(logits), target)


PAIRS = {"ce": (ce_from_logits, ce_softmax_first), "bce": (bce_from_logits, bce_sigmoid_first)}
HOW = ("from logits", "probabilities first")  # chart labels, in the order of each pair
CE_LOGITS = (2.0, 1.0, -1.0)  # the worked example's scores; the true class is the first
CODE_SPREAD, CODE_STEPS, CODE_LR = 0.3, 100, 1.0


def code_source() -> str:
    """The four loss functions exactly as the demo calls them."""
    return "\n\n".join(inspect.getsource(f).rstrip() for pair in PAIRS.values() for f in pair)


def loss_and_grad(fn, logits, target) -> tuple[float, np.ndarray]:
    """fn's loss and its gradient with respect to the logits (float32, as in a network)."""
    z = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
    loss = fn(z, target)
    loss.backward()
    return float(loss.detach()), z.grad.numpy().copy()


def logits_worked() -> dict:
    """What the bug costs on the worked example, and the floor it puts under the loss (K = 3 classes)."""
    right, g_right = loss_and_grad(ce_from_logits, [list(CE_LOGITS)], torch.tensor([0]))
    wrong, g_wrong = loss_and_grad(ce_softmax_first, [list(CE_LOGITS)], torch.tensor([0]))
    floor, _ = loss_and_grad(ce_softmax_first, [[50.0, -50.0, -50.0]], torch.tensor([0]))
    return {"right": right, "wrong": wrong, "g_right": g_right[0, 0], "g_wrong": g_wrong[0, 0], "floor": floor,
            "top": math.exp(-floor)}


@lru_cache(maxsize=2)
def softmax_first_training(seeds=DATA_SEEDS) -> pd.DataFrame:
    """_softmax_first_table, kept on disk (engine.memo): the shipped copy holds the lesson's seeds."""
    return softmax_first_memo(seeds).get()


def softmax_first_memo(seeds=DATA_SEEDS) -> Memo:
    return Memo(_softmax_first_table, (tuple(int(s) for s in seeds),), deps=(ce_from_logits, ce_softmax_first))


def _softmax_first_table(seeds) -> pd.DataFrame:
    """Softmax regression (nn.Linear(2, 3), PyTorch's default init with torch.manual_seed(seed)) on blobs3,
    seed = data sample and init, plain full-batch SGD on each of the two CE functions; the TRUE
    cross-entropy (from logits) of every run at every step. The ten runs are stacked (one matrix
    product for all); the loss of the stack times the number of runs is the sum of the runs' losses,
    so every run gets its own gradient."""
    splits = [load(DataSpec("blobs3", n=300, noise=CODE_SPREAD, seed=s)) for s in seeds]
    X = torch.tensor(np.stack([sp.X_train for sp in splits]), dtype=torch.float32)  # (runs, B, 2)
    y = torch.tensor(np.stack([sp.y_train for sp in splits]), dtype=torch.long)  # (runs, B)
    rows = []
    with torch.random.fork_rng():
        for how, fn in zip(HOW, (ce_from_logits, ce_softmax_first)):
            layers = []
            for s in seeds:
                torch.manual_seed(s)
                layers.append(nn.Linear(2, 3))
            Wt = torch.stack([m.weight.detach().T for m in layers]).requires_grad_()  # (runs, 2, 3)
            b = torch.stack([m.bias.detach() for m in layers])[:, None, :].requires_grad_()  # (runs, 1, 3)
            opt = torch.optim.SGD([Wt, b], lr=CODE_LR)
            for t in range(CODE_STEPS + 1):
                z = torch.baddbmm(b, X, Wt)  # (runs, B, 3)
                with torch.no_grad():
                    true = F.cross_entropy(z.transpose(1, 2), y, reduction="none").mean(1)
                rows += [(s, t, how, float(v)) for s, v in zip(seeds, true)]
                if t < CODE_STEPS:
                    opt.zero_grad()
                    (fn(z.reshape(-1, 3), y.reshape(-1)) * len(seeds)).backward()
                    opt.step()
    return pd.DataFrame(rows, columns=["seed", "step", "how", "ce"])


def bce_curves(zmax: float = 60.0, points: int = 121) -> pd.DataFrame:
    """Both BCE functions' loss and gradient for one point with label t = 0, over its logit z."""
    rows = []
    for z in np.linspace(0, zmax, points):
        for how, fn in zip(HOW, PAIRS["bce"]):
            loss, g = loss_and_grad(fn, [float(z)], torch.tensor([0.0]))
            rows.append((z, how, loss, float(g[0])))
    return pd.DataFrame(rows, columns=["z", "how", "loss", "grad"])


def _demo_logits(values: dict, progress) -> list:
    zb = float(values["z"])
    t0 = torch.tensor([0])
    tab = []
    for how, fn in zip(HOW, PAIRS["ce"]):
        loss, g = loss_and_grad(fn, [list(CE_LOGITS)], t0)
        tab.append((f"{fn.__name__}((2, 1, −1), 0)", f"{loss:.4f}", ", ".join(f"{v:+.3f}" for v in g[0])))
    for how, fn in zip(HOW, PAIRS["bce"]):
        loss, g = loss_and_grad(fn, [zb], torch.tensor([0.0]))
        tab.append((f"{fn.__name__}({zb:g}, 0)", f"{loss:.4f}", f"{g[0]:+.3f}"))
    table = pd.DataFrame(tab, columns=["call", "loss", "∂loss/∂z"]).set_index("call")
    tr = softmax_first_training()
    end = tr[tr.step == CODE_STEPS].pivot(index="seed", columns="how", values="ce")
    worse = int((end[HOW[1]] > end[HOW[0]]).sum())
    cols = {HOW[0]: CODE_COLORS["from logits"], HOW[1]: CODE_COLORS["probabilities first"]}
    train_chart = seed_curves(tr[tr.step % 2 == 0], "step", "ce", color="how", colors=cols, x_title="gradient step",
                              y_title="true cross-entropy", height=260,
                              title=W("logits.train_title", n=len(DATA_SEEDS)))
    bc = bce_curves()
    bce_chart = alt.layer(
        alt.Chart(bc).mark_line(strokeWidth=2.5).encode(
            x=alt.X("z:Q", title="logit z of a point with t = 0"), y=alt.Y("loss:Q", title="loss"),
            color=alt.Color("how:N", title=None, scale=color_scale(cols), legend=alt.Legend(orient="bottom")),
            strokeDash=alt.StrokeDash("how:N", legend=None, scale=alt.Scale(domain=list(HOW), range=[[1, 0], [6, 3]])),
            tooltip=[alt.Tooltip("z:Q", format=".1f"), "how:N", alt.Tooltip("loss:Q", format=".3f"),
                     alt.Tooltip("grad:Q", format=".3f", title="∂loss/∂z")]),
        alt.Chart(pd.DataFrame({"z": [zb]})).mark_rule(color=GUIDE_GREY, strokeDash=[4, 3]).encode(x="z:Q"),
    ).properties(height=260, title=W("logits.bce_title"))
    return [
        Code(code_source()),
        Columns([[Chart(train_chart, caption=W("logits.train_caption", worse=worse, n=len(end), steps=CODE_STEPS,
                                               right=end[HOW[0]].mean(), wrong=end[HOW[1]].mean()))],
                 [Chart(bce_chart, caption=W("logits.bce_caption"))]]),
        Table(table, caption=W("logits.table_caption")),
    ]


LOGITS = Step(
    "logits",
    controls=(Slider("z", "logit z of the BCE example (label t = 0)", 0, 60, 30, step=1),),
    demo=_demo_logits, worked_values=logits_worked,
)


# ---------------------------------------------------------------- step 6: cross-entropy and KL

DIE = np.array([0.04, 0.08, 0.12, 0.16, 0.24, 0.36])  # a loaded six-sided die


def entropy(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum())


def cross_entropy(p: np.ndarray, q: np.ndarray) -> float:
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    nz = p > 0
    with np.errstate(divide="ignore"):
        return float(-(p[nz] * np.log(q[nz])).sum())


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats, from its own definition (not as H(p, q) - H(p))."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    nz = p > 0
    with np.errstate(divide="ignore"):
        return float((p[nz] * (np.log(p[nz]) - np.log(q[nz]))).sum())


def mixed(alpha: float) -> np.ndarray:
    """q = (1 - alpha) p + alpha uniform: alpha = 0 is the die itself."""
    return (1 - alpha) * DIE + alpha / len(DIE)


def fit_categorical(sample: np.ndarray, k: int, steps: int = 60, lr: float = 1.5) -> pd.DataFrame:
    """Maximum likelihood for a categorical model q = softmax(a) by gradient descent on the mean
    negative log-likelihood (gradient q - p_hat), from the uniform model."""
    p_hat = np.bincount(sample, minlength=k) / len(sample)
    a = np.zeros(k)
    rows = []
    for t in range(steps + 1):
        q = np.exp(a - a.max())
        q /= q.sum()
        rows.append((t, cross_entropy(p_hat, q), kl(p_hat, q), entropy(p_hat)))
        a -= lr * (q - p_hat)
    return pd.DataFrame(rows, columns=["step", "nll", "kl", "entropy"])


def die_sample(n: int, seed: int = 3) -> np.ndarray:
    """n rolls of the loaded die. With one seed, a larger n extends the same sequence of rolls."""
    return np.random.default_rng(seed).choice(len(DIE), size=n, p=DIE)


DIE_SIZES = (20, 100, 1000, 10000)
DIE_SEEDS = tuple(range(10))  # ten independent sequences of rolls


def sample_kl(sizes=DIE_SIZES, seeds=DIE_SEEDS) -> pd.DataFrame:
    """KL(p̂ ‖ p) from the sample frequencies of the first n rolls to the true die, for every sequence
    of rolls (seed) and length n. This direction is finite even when a face never came up."""
    rows = []
    for s in seeds:
        rolls = die_sample(max(sizes), seed=s)
        for n in sizes:
            p_hat = np.bincount(rolls[:n], minlength=len(DIE)) / n
            rows.append({"seed": s, "n": n, "kl": kl(p_hat, DIE)})
    return pd.DataFrame(rows)


def _demo_kl(values: dict, progress) -> list:
    alpha, n = float(values["alpha"]), int(values["n"])
    q = mixed(alpha)
    faces = [str(i + 1) for i in range(len(DIE))]
    bars = pd.DataFrame({"face": faces * 2, "prob": np.r_[DIE, q],
                         "dist": ["p (the die)"] * 6 + ["q (the model)"] * 6})
    dcol = {"p (the die)": EXACT_COLOR, "q (the model)": MODEL_Q_COLOR}
    bar = alt.Chart(bars).mark_bar().encode(
        x=alt.X("face:N", title="face", axis=alt.Axis(labelAngle=0)), xOffset="dist:N",
        y=alt.Y("prob:Q", title="probability"),
        color=alt.Color("dist:N", title=None, scale=color_scale(dcol), legend=alt.Legend(orient="right")),
        tooltip=["dist:N", "face:N", alt.Tooltip("prob:Q", format=".3f")]).properties(height=240,
                                                                                 title=W("kl.bars_title"))
    al = np.linspace(0, 1, 101)
    kls = pd.DataFrame({"alpha": al, "kl": [kl(DIE, mixed(a)) for a in al]})
    klc = alt.layer(
        alt.Chart(kls).mark_line(color=MODEL_Q_COLOR).encode(x=alt.X("alpha:Q", title="α (0: q = p, 1: q uniform)"),
                                                         y=alt.Y("kl:Q", title="KL(p ‖ q) in nats")),
        alt.Chart(pd.DataFrame({"alpha": [alpha], "kl": [kl(DIE, q)]})).mark_point(
            size=200, filled=True, color="black").encode(x="alpha:Q", y="kl:Q"),
    ).properties(height=240, title=W("kl.kl_title"))
    h, hpq, d, d_rev = entropy(DIE), cross_entropy(DIE, q), kl(DIE, q), kl(q, DIE)
    sample = die_sample(n)
    p_hat = np.bincount(sample, minlength=6) / n
    fit = fit_categorical(sample, 6)
    long = pd.concat([fit[["step"]].assign(value=fit.nll, what="mean NLL = H(p̂, q)"),
                      fit[["step"]].assign(value=fit.kl, what="KL(p̂ ‖ q)"),
                      fit[["step"]].assign(value=fit.entropy, what="H(p̂)")])
    fcol = {"mean NLL = H(p̂, q)": MSE_COLOR, "KL(p̂ ‖ q)": MODEL_Q_COLOR, "H(p̂)": GUIDE_GREY}
    fitc = alt.Chart(long).mark_line().encode(
        x=alt.X("step:Q", title="gradient step"), y=alt.Y("value:Q", title="nats"),
        color=alt.Color("what:N", title=None, scale=color_scale(fcol), legend=alt.Legend(orient="right")),
    ).properties(height=240, title=W("kl.fit_title", n=n))
    end = fit.iloc[-1]
    ks = sample_kl()
    wide = ks.pivot(index="seed", columns="n", values="kl")
    means = wide.mean()
    closer = int((wide[max(DIE_SIZES)] < wide[min(DIE_SIZES)]).sum())
    steady = int((np.diff(wide.to_numpy(), axis=1) < 0).all(axis=1).sum())
    kchart = _seed_chart(ks.assign(log_kl=np.log10(np.maximum(ks.kl, 1e-12))), "n", "log_kl", "log₁₀ KL(p̂ ‖ p)",
                         x_title="rolls N", sort=list(DIE_SIZES), title=W("kl.sample_title", n=len(DIE_SEEDS)),
                         height=250)
    return [
        Metric("H(p)", f"{h:.4f}"), Metric("KL(p ‖ q)", f"{d:.4f}"),
        Metric("H(p) + KL(p ‖ q)", f"{h + d:.4f}"), Metric("H(p, q)", f"{hpq:.4f}"),
        Metric("KL(q ‖ p)", f"{d_rev:.4f}", help=W("kl.reverse_help")),
        Columns([[Chart(bar)], [Chart(klc, caption=W("kl.kl_caption"))]]),
        Chart(fitc, caption=W("kl.fit_caption", h=end.entropy, steps=int(end.step), kl=end.kl,
                              kl_true=kl(p_hat, DIE))),
        Chart(kchart, caption=W("kl.sample_caption", lo_mean=means[min(DIE_SIZES)], lo=min(DIE_SIZES),
                                hi_mean=means[max(DIE_SIZES)], hi=max(DIE_SIZES), theory=2.5 / max(DIE_SIZES),
                                closer=closer, steady=steady, n=len(wide))),
    ]


KL = Step(
    "kl",
    controls=(
        Slider("alpha", "α: how far q is from p", 0.0, 1.0, 0.5, step=0.05),
        LogSlider("n", "rolls in the sample", (20, 100, 1000, 10000), 100),
    ),
    demo=_demo_kl,
)


# ---------------------------------------------------------------- step 7: choose the noise, get the loss


def outlier_data(count: int, offset: float, sample: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sample of the line plus `count` points lifted by `offset` above the true line; (x, y, is_outlier)."""
    x, y = line_data(sample)
    xo = np.linspace(-1.5, 3.5, 8)[:count]
    yo = LINE_TRUE[0] * xo + LINE_TRUE[1] + offset
    return np.r_[x, xo], np.r_[y, yo], np.r_[np.zeros(len(x), bool), np.ones(count, bool)]


def least_absolute(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(theta1, theta2) minimising sum |y - theta1 x - theta2|, exactly. This is a linear programme, and
    an optimum of a linear programme sits on a vertex: here a line through two of the data points. So
    we try every pair (fast for a few dozen points) and keep the best; `least_absolute_lp` solves the
    same problem with scipy's HiGHS and the tests check they agree."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    i, j = np.triu_indices(len(x), 1)
    ok = x[i] != x[j]
    i, j = i[ok], j[ok]
    slope = (y[j] - y[i]) / (x[j] - x[i])
    icpt = y[i] - slope * x[i]
    sad = np.abs(y[None, :] - slope[:, None] * x[None, :] - icpt[:, None]).sum(1)
    k = int(np.argmin(sad))
    return np.array([slope[k], icpt[k]])


def least_absolute_lp(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The same fit as a linear programme (scipy HiGHS): variables theta (free) and u, v >= 0 with
    X theta + u - v = y; minimise sum(u + v)."""
    from scipy.optimize import linprog

    n = len(x)
    X = design(x)
    c = np.r_[0, 0, np.ones(2 * n)]
    A = np.c_[X, np.eye(n), -np.eye(n)]
    bounds = [(None, None)] * 2 + [(0, None)] * (2 * n)
    sol = linprog(c, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    return sol.x[:2]


@lru_cache(maxsize=16)
def clean_fits(sample: int = 0) -> dict:
    """The MSE and MAE lines of one sample without outliers."""
    x, y = line_data(sample)
    return {"mse": least_squares(x, y), "mae": least_absolute(x, y)}


def robust_view(count: int, offset: float, sample: int = 0) -> dict:
    xa, ya, out = outlier_data(count, offset, sample)
    clean = clean_fits(sample)
    fits = {"mse": (clean["mse"], least_squares(xa, ya)), "mae": (clean["mae"], least_absolute(xa, ya))}
    grid = np.linspace(-2, 4, 61)
    moved = {k: float(np.abs(design(grid) @ (b - a)).mean()) for k, (a, b) in fits.items()}
    return {"x": xa, "y": ya, "out": out, "fits": fits, "moved": moved}


MOVE_OFFSETS = tuple(range(0, 21))


@lru_cache(maxsize=16)
def movement_sweep(count: int, offsets=MOVE_OFFSETS, samples=LINE_SAMPLES) -> pd.DataFrame:
    """Mean movement of the MSE and MAE lines against the outliers' offset, for every sample of the line."""
    rows = []
    for s in samples:
        for o in offsets:
            moved = robust_view(count, float(o), s)["moved"]
            rows += [(s, o, "MSE fit", moved["mse"]), (s, o, "MAE fit", moved["mae"])]
    return pd.DataFrame(rows, columns=["seed", "offset", "fit", "moved"])


def robust_tally(count: int, offset: float, samples=LINE_SAMPLES) -> dict:
    """At one setting, over every sample: how often the MAE line moved less, and the mean movements."""
    moved = [robust_view(count, offset, s)["moved"] for s in samples]
    mse, mae = np.array([m["mse"] for m in moved]), np.array([m["mae"] for m in moved])
    return {"less": int((mae < mse).sum()), "n": len(samples), "mse": float(mse.mean()), "mae": float(mae.mean())}


def always_from(count: int) -> float | None:
    """The smallest offset on the sweep's grid from which on the MAE line moves less in every sample."""
    wide = movement_sweep(count).pivot_table(index=["seed", "offset"], columns="fit", values="moved")
    ok = (wide["MAE fit"] < wide["MSE fit"]).groupby(level="offset").all()
    bad = [o for o, v in ok.items() if not v]
    start = max(bad) + 1 if bad else min(ok.index)
    return float(start) if start <= max(ok.index) else None


def _demo_robust(values: dict, progress) -> list:
    count, offset, sample = int(values["outliers"]), float(values["offset"]), int(values["sample"])
    v = robust_view(count, offset, sample)
    pts = pd.DataFrame({"x": v["x"], "y": v["y"], "kind": np.where(v["out"], "outlier", "data")})
    xs = np.array([-2.2, 4.2])
    charts = []
    for key, colour in (("mse", MSE_COLOR), ("mae", MAE_COLOR)):
        clean, dirty = v["fits"][key]
        lines = pd.DataFrame({"x": np.r_[xs, xs], "y": np.r_[design(xs) @ clean, design(xs) @ dirty],
                              "fit": ["without outliers"] * 2 + ["with outliers"] * 2})
        ch = alt.layer(
            alt.Chart(lines).mark_line(color=colour).encode(
                x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="t (target)"),
                strokeDash=alt.StrokeDash("fit:N", title=None, scale=alt.Scale(
                    domain=["without outliers", "with outliers"], range=[[5, 4], [1, 0]]),
                    legend=alt.Legend(orient="bottom"))),
            alt.Chart(pts).mark_point(filled=True, size=60).encode(
                x="x:Q", y="y:Q", shape=alt.Shape("kind:N", title=None, scale=alt.Scale(
                    domain=["data", "outlier"], range=["circle", "triangle-up"])),
                color=alt.Color("kind:N", legend=None, scale=alt.Scale(domain=["data", "outlier"],
                                                                        range=[DATA_INK, OUTLIER_COLOR]))),
        ).properties(height=250, title=W(f"noise.{key}_title", sample=sample))
        cap = W("noise.fit_caption", t1=dirty[0], t2=dirty[1], c1=clean[0], c2=clean[1], moved=v["moved"][key])
        charts.append([Chart(ch, caption=cap)])
    r = np.linspace(-4, 4, 161)
    nll = pd.DataFrame({"r": np.r_[r, r], "loss": np.r_[r ** 2 / 2, np.abs(r)],
                        "noise": ["Gaussian: r²/2"] * len(r) + ["Laplace: |r|"] * len(r)})
    nll_chart = alt.Chart(nll).mark_line().encode(
        x=alt.X("r:Q", title="residual r"), y=alt.Y("loss:Q", title="−log p + const"),
        color=alt.Color("noise:N", title=None, scale=color_scale(
            {"Gaussian: r²/2": MSE_COLOR, "Laplace: |r|": MAE_COLOR}), legend=alt.Legend(orient="right")),
    ).properties(height=220, title=W("noise.nll_title"))
    mm, ma = v["moved"]["mse"], v["moved"]["mae"]
    tally = robust_tally(count, offset)
    over = W("noise.over", n=tally["n"], less=tally["less"], mse=tally["mse"], mae=tally["mae"])
    if count == 0:
        verdict = Note(W("noise.none"), kind="info")
    elif tally["less"] == tally["n"]:
        verdict = Note(W("noise.all_less", count=count, offset=offset, sample=sample, mm=mm, ma=ma, over=over),
                       kind="success")
    else:
        verdict = Note(W("noise.mixed", sample=sample, mm=mm, ma=ma, over=over, offset=offset,
                         sigmas=offset / LINE_SIGMA, sigma=LINE_SIGMA, n_data=LINE_N), kind="warning")
    sweep = movement_sweep(count)
    mcol = {"MSE fit": MSE_COLOR, "MAE fit": MAE_COLOR}
    mchart = seed_curves(sweep, "offset", "moved", color="fit", colors=mcol, x_title="how far above the line",
                         y_title="movement of the line", height=260,
                         title=W("noise.sweep_title", count=count, n=len(LINE_SAMPLES)))
    mchart.layer.append(alt.Chart(pd.DataFrame({"offset": [offset]})).mark_rule(
        color=GUIDE_GREY, strokeDash=[3, 3]).encode(x="offset:Q"))
    start = always_from(count) if count else None
    mcap = W("noise.sweep_caption", n=len(LINE_SAMPLES))
    if start is not None:
        mcap += " " + W("noise.sweep_from", start=start)
    return [Columns(charts), verdict, Chart(mchart, caption=mcap), Chart(nll_chart, caption=W("noise.nll_caption"))]


NOISE = Step(
    "noise",
    controls=(
        Slider("outliers", "outliers added", 0, 8, 3, step=1),
        Slider("offset", "how far above the line", 0.0, 20.0, 8.0, step=0.5),
        Select("sample", "sample of the line shown", LINE_SAMPLES, 0),
    ),
    demo=_demo_robust,
)


# ---------------------------------------------------------------- step 8: check yourself (questions only)

CHECK = Step("check")


LESSON = W.lesson(id="losses", number=3,
                  steps=(LINE, LOGS, DESCENT, BERNOULLI, SATURATION, CATEGORICAL, LOGITS, KL, NOISE, CHECK),
                  references=("Goodfellow et al. 2016",))


def memos() -> list:
    """The plain-torch tables this lesson shows, for the shipped cache (lessons.registry.all_memos)."""
    return [softmax_first_memo()]
