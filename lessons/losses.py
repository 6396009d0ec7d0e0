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
"""
from __future__ import annotations

import math
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec, run_many
from engine.data import load
from lessons.charts import seed_chart, seed_curves
from lessons.claims import Claim
from lessons.theme import CLASS_COLORS, color_scale
from lessons.walkthrough import (
    Chart,
    Columns,
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
)


def _seed_chart(df: pd.DataFrame, x: str, y: str, y_title: str, **kw) -> alt.LayerChart:
    """lessons.charts.seed_chart with this lesson's x labels (upright) and legend choice."""
    return seed_chart(df, x, y, y_title=y_title, label_angle=0, **kw)


# ---------------------------------------------------------------- shared data: a noisy line

LINE_TRUE = (0.7, 1.2)  # slope and intercept that generate the data
LINE_SIGMA = 0.8  # noise std of the generator
LINE_N = 15
LINE_SEED = 7
T1_RANGE, T2_RANGE = (-1.0, 2.5), (-2.0, 4.0)  # slider ranges = window of the maps
LINE_COLOR, FIT_MSE, FIT_MAE = "#0072B2", "#D55E00", "#009E73"


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
        alt.Chart(bells).mark_line(strokeWidth=1.5, opacity=0.55, color="#888888", clip=True).encode(
            x=alt.X("bx:Q", title="x", scale=alt.Scale(domain=[-2.4, 4.4])), y=alt.Y("by:Q", scale=yscale),
            detail="i:N", order="by:Q"),
        base.mark_rule(strokeDash=[3, 3], color="#444444").encode(x="x:Q", y="y:Q", y2="mu:Q"),
        alt.Chart(line).mark_line(color=LINE_COLOR, clip=True).encode(x="x:Q", y=alt.Y("y:Q", title="y", scale=yscale)),
        base.mark_circle(size=110, stroke="black", strokeWidth=0.8, opacity=1).encode(
            x="x:Q", y="y:Q",
            color=alt.Color("logp:Q", title="log p(yᵢ | xᵢ)", scale=alt.Scale(scheme="viridis")),
            tooltip=[alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".2f"),
                     alt.Tooltip("logp:Q", format=".2f", title="log density")]),
    ).properties(height=320, title="Data, line, and a Gaussian around each prediction")

    grid = likelihood_map(sigma)
    best = grid.loc[grid.loglik.idxmax()]
    ls = v["lstsq"]
    marks = pd.DataFrame({"theta1": [t1, ls[0]], "theta2": [t2, ls[1]],
                          "what": ["your line", "least squares (numpy)"]})
    mp = alt.layer(
        alt.Chart(grid).mark_rect().encode(
            x=alt.X("t1a:Q", title="θ₁ (slope)", scale=alt.Scale(domain=list(T1_RANGE), nice=False)), x2="t1b:Q",
            y=alt.Y("t2a:Q", title="θ₂ (intercept)", scale=alt.Scale(domain=list(T2_RANGE), nice=False)), y2="t2b:Q",
            color=alt.Color("loglik:Q", title="log-likelihood", scale=alt.Scale(scheme="viridis")),
            tooltip=[alt.Tooltip("theta1:Q", format=".2f"), alt.Tooltip("theta2:Q", format=".2f"),
                     alt.Tooltip("loglik:Q", format=".1f")]),
        alt.Chart(marks).mark_point(size=260, filled=True, stroke="black", strokeWidth=1.5).encode(
            x="theta1:Q", y="theta2:Q",
            shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["your line", "least squares (numpy)"],
                                                                  range=["circle", "cross"])),
            fill=alt.Fill("what:N", legend=None, scale=alt.Scale(domain=["your line", "least squares (numpy)"],
                                                                 range=["white", "#D55E00"]))),
    ).properties(height=340, title=f"Log-likelihood over (θ₁, θ₂), σ = {sigma:g}")
    prod_txt = f"{v['product']:.3g}" if v["product"] > 0 else "0.0 (underflow!)"
    ll_parts = (rf"\log\mathcal{{L}} = -\tfrac{{{n}}}{{2}}\log(2\pi \cdot {sigma:g}^2) - "
                rf"\frac{{{v['sse']:.3f}}}{{2 \cdot {sigma:g}^2}} = {v['loglik']:.3f}")
    return [
        Metric("Likelihood ∏ p(yᵢ|xᵢ)", _fmt_pow10(v["log10_likelihood"]),
               help=f"The float64 product of the {n} densities is {prod_txt}; this value comes from the log."),
        Metric("Log-likelihood", f"{v['loglik']:.3f}"),
        Metric("Sum of squared errors", f"{v['sse']:.3f}"),
        Metric("Best σ for this line", f"{v['best_sigma']:.3f}", help="√(SSE / n) maximises the likelihood in σ"),
        Latex(ll_parts),
        Markdown("Only the sum of squared errors depends on the line."),
        Chart(chart, caption="Each grey bell is N(θ₁xᵢ + θ₂, σ²) drawn sideways at xᵢ; dashed lines are the "
                             "residuals."),
        Chart(mp, caption=(
            f"The map's highest cell is at θ₁ = {best.theta1:.2f}, θ₂ = {best.theta2:.2f}; numpy's least squares "
            f"gives θ₁ = {ls[0]:.3f}, θ₂ = {ls[1]:.3f}. Changing σ rescales the map but never moves its peak.")),
    ]


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
    colours = {"sum of logs (exact)": "#000000", "float32 running product": "#D55E00",
               "float64 running product": "#0072B2"}
    ev = pd.DataFrame([{"n": s[0], "what": f"{fmt} hits 0"} for fmt, s in stats.items() if s[0]])
    layers = [alt.Chart(df).mark_line().encode(
        x=alt.X("n:Q", title="n (number of factors)"), y=alt.Y("log10:Q", title="log₁₀ of the product"),
        color=alt.Color("how:N", title=None, scale=color_scale(colours), legend=alt.Legend(orient="right")),
        strokeDash=alt.condition(alt.datum.how == "sum of logs (exact)", alt.value([5, 4]), alt.value([1, 0])))]
    if len(ev):
        layers.append(alt.Chart(ev).mark_rule(color="#777777", strokeDash=[2, 2]).encode(
            x="n:Q", tooltip=["what:N", "n:Q"]))
    uchart = alt.layer(*layers).properties(height=300, title=f"Multiplying n probabilities, each p = {p:g}")

    outs = []
    for fmt in ("float32", "float64"):
        meas, closed, last = stats[fmt]
        k = FLOAT_TINY[fmt]
        outs.append(Metric(f"{fmt}: product is 0 from n =", str(meas) if meas else "never",
                           help=f"Multiplying one factor at a time with numpy ({fmt})."))
        outs.append(Metric(f"{fmt}: closed form", str(closed),
                           help=f"Smallest n with pⁿ ≤ 2^-{k + 1}, half of the smallest subnormal 2^-{k}."))
    notes = []
    for fmt in ("float32", "float64"):
        meas, closed, last = stats[fmt]
        k = FLOAT_TINY[fmt]
        if meas == closed:
            notes.append(f"**{fmt}**: both give n = {closed}: pⁿ falls below 2^-{k + 1}, half the smallest "
                         f"positive {fmt} (2^-{k} ≈ {2.0 ** -k:.3g}), and rounds to 0.")
        elif meas is None:
            m = round(last / 2.0 ** -k)
            notes.append(f"**{fmt}**: the running product never reaches 0. It sticks at {last:.3g} = {m} × 2^-{k}, "
                         f"a subnormal so coarse that multiplying it by p = {p:g} rounds back to the same value "
                         f"({m} × {p:g} = {m * p:.2f} rounds to {m}). The true pⁿ keeps shrinking: at n = {nmax} it "
                         f"is 10^{nmax * math.log10(p):.0f}, so the float is wrong by a factor of about "
                         f"10^{math.log10(last) - nmax * math.log10(p):.0f}.")
        else:
            notes.append(f"**{fmt}**: the running product hits 0 at n = {meas}, the closed form says {closed}: "
                         "the last few multiplications happen among subnormal numbers, which keep only a few "
                         "bits, so each rounding error is large.")
    coin = coin_curves(n_coin)
    k_heads = int(round(0.3 * n_coin))
    arg_log = float(coin.theta[coin.loglik.idxmax()])
    all_zero = bool((coin.likelihood == 0).all())
    arg_prod = None if all_zero else float(coin.theta[coin.likelihood.idxmax()])
    c1 = alt.Chart(coin).mark_line(color="#0072B2").encode(
        x=alt.X("theta:Q", title="θ = P(heads)"), y=alt.Y("likelihood:Q", title="likelihood",
                                                         axis=alt.Axis(format=".2e"))
    ).properties(height=240, title="Product of the probabilities (float64)")
    c2 = alt.Chart(coin).mark_line(color="#000000").encode(
        x=alt.X("theta:Q", title="θ = P(heads)"), y=alt.Y("loglik:Q", title="log-likelihood")
    ).properties(height=240, title="Sum of the log-probabilities")
    coin_note = (f"{n_coin} flips, {k_heads} heads. The log-likelihood peaks at θ = {arg_log:.3f} "
                 f"(the heads fraction, {k_heads / n_coin:.3f}, to the grid's resolution). ")
    coin_note += ("The float64 product is 0 at every θ: its maximiser is lost." if all_zero else
                  f"The product peaks at θ = {arg_prod:.3f} too: the logarithm is increasing, so it keeps the "
                  "maximiser.")
    return outs + [Chart(uchart, caption="Dashed: n·log₁₀ p from the sum of logs, which never underflows. Grey "
                                          "rules: where a running product becomes exactly 0."),
                   Markdown("\n\n".join(notes)),
                   Chart(c1), Chart(c2),
                   Note(coin_note, kind="warning" if all_zero else "info")]


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
    d1, d2 = (t1[1] - t1[0]) / 2, (t2[1] - t2[0]) / 2
    surf = pd.DataFrame({"a": g1.ravel() - d1, "b": g1.ravel() + d1, "c": g2.ravel() - d2, "d": g2.ravel() + d2,
                         "level": np.log10(mse(g1, g2).ravel() - j_star + 1e-3)})
    far = np.flatnonzero((path.theta1.abs() > 50) | (path.theta2.abs() > 50))
    inside = path.iloc[: far[0] + 1] if len(far) else path  # up to the first point off the map (drawn clipped)
    pts = pd.DataFrame({"theta1": [star[0], GD_START[0]], "theta2": [star[1], GD_START[1]],
                        "what": ["closed form", "start"]})
    xs = alt.Scale(domain=list(T1_RANGE), nice=False)
    ys = alt.Scale(domain=list(T2_RANGE), nice=False)
    contour = alt.layer(
        alt.Chart(surf).mark_rect().encode(
            x=alt.X("a:Q", title="θ₁ (slope)", scale=xs), x2="b:Q", y=alt.Y("c:Q", title="θ₂ (intercept)", scale=ys),
            y2="d:Q", color=alt.Color("level:Q", title="log₁₀(MSE − min)",
                                      scale=alt.Scale(type="quantize", scheme="blues", nice=True, zero=False)),
            tooltip=alt.value(None)),
        alt.Chart(inside).mark_line(color="#D55E00", strokeWidth=2, clip=True, point=alt.OverlayMarkDef(
            color="#D55E00", size=30, clip=True)).encode(
            x=alt.X("theta1:Q", scale=xs), y=alt.Y("theta2:Q", scale=ys), order="step:Q",
            tooltip=["step:Q", alt.Tooltip("theta1:Q", format=".4f"), alt.Tooltip("theta2:Q", format=".4f"),
                     alt.Tooltip("mse:Q", format=".4g")]),
        alt.Chart(pts).mark_point(size=300, filled=True, stroke="black", strokeWidth=1.2).encode(
            x="theta1:Q", y="theta2:Q",
            shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["closed form", "start"],
                                                                  range=["cross", "square"])),
            fill=alt.Fill("what:N", legend=None, scale=alt.Scale(domain=["closed form", "start"],
                                                                 range=["#FFFFFF", "#E69F00"]))),
    ).properties(height=360, title=f"Gradient descent on the MSE, η = {lr:.4g}")
    lossdf = path.assign(excess=np.maximum(path.mse - j_star, 1e-16))
    curve = alt.Chart(lossdf).mark_line(
        color="#D55E00", point=alt.OverlayMarkDef(color="#D55E00", size=25) if steps <= 60 else False).encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("excess:Q", title="MSE − minimum", scale=alt.Scale(type="log")),
        tooltip=["step:Q", alt.Tooltip("excess:Q", format=".3g")]
    ).properties(height=240, title="Excess loss per step")

    def num(v):
        return f"{v:.5f}" if abs(v) < 1e4 else f"{v:.3e}"

    table = pd.DataFrame({
        "": [f"gradient descent, step {int(end.step)}", "closed form (XᵀX)⁻¹Xᵀy"],
        "θ₁": [num(end.theta1), num(star[0])], "θ₂": [num(end.theta2), num(star[1])],
        "MSE": [num(end.mse), num(j_star)]}).set_index("")
    dist = float(np.hypot(end.theta1 - star[0], end.theta2 - star[1]))
    dist0 = float(np.hypot(GD_START[0] - star[0], GD_START[1] - star[1]))
    if ratio > 1:
        msg = (f"**Diverging.** η = {lr:.4g} is {ratio:g} × 2/L (2/L = {2 / L:.4f}). Along the steepest direction "
               f"of the bowl every step multiplies the error by |1 − ηL| = {factors.max():.3g} > 1, so each step "
               f"overshoots further: the distance to the minimum grew from {dist0:.2f} to {dist:.3g}.")
        if left is not None:
            msg += f" The run was stopped at step {left}, when a parameter passed 10⁸."
        status = Note(msg, kind="error")
    else:
        msg = (f"**Converging.** η = {lr:.4g} is below 2/L = {2 / L:.4f}: each step shrinks the error along the "
               f"two axes of the bowl by |1 − ηλ| = {factors[0]:.3f} and {factors[1]:.3f}. After {steps} steps the "
               f"gradient-descent point is {dist:.2e} from the closed-form solution.")
        status = Note(msg, kind="success")
    return [
        Metric("Learning rate η", f"{lr:.4g}"), Metric("2 / L", f"{2 / L:.4f}",
                                                      help=f"L = {L:.3f}, the largest eigenvalue of the Hessian"),
        Metric("Hessian eigenvalues", f"{eig[0]:.3f}, {eig[1]:.3f}"),
        status,
        Table(table, caption="The gradient-descent endpoint beside the closed-form solution."),
        Chart(contour, caption="Shaded bands: levels of the MSE (log scale). Orange: the path from the square."),
        Chart(curve),
    ]


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
    G = res.snapshots.shape[-1]
    gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
    dx, dy = (x1 - x0) / (G - 1) / 2, (y1 - y0) / (G - 1) / 2
    surf = pd.DataFrame({"a": gx.ravel() - dx, "b": gx.ravel() + dx, "c": gy.ravel() - dy, "d": gy.ravel() + dy,
                         "p": res.snapshots[v["k"]].ravel().astype(float)})
    pts = pd.DataFrame({"x1": split.raw_train[:, 0], "x2": split.raw_train[:, 1],
                        "label": np.where(v["t"] > 0, "class 1", "class 0")})
    xs, ys = alt.Scale(domain=[x0, x1], nice=False), alt.Scale(domain=[y0, y1], nice=False)
    lab = alt.Color("label:N", title="label", scale=color_scale(CLASS_COLORS, ["class 0", "class 1"]))
    regions = alt.layer(
        alt.Chart(surf).mark_rect(opacity=0.85).encode(
            x=alt.X("a:Q", title="x₁", scale=xs), x2="b:Q", y=alt.Y("c:Q", title="x₂", scale=ys), y2="d:Q",
            color=alt.Color("p:Q", title="P(y = 1)", scale=alt.Scale(scheme="blueorange", domain=[0, 1])),
            tooltip=alt.value(None)),
        alt.Chart(pts).mark_circle(size=35, stroke="black", strokeWidth=0.6, opacity=1).encode(
            x="x1:Q", y="x2:Q", fill=alt.Fill("label:N", title="label", scale=color_scale(
                CLASS_COLORS, ["class 0", "class 1"]), legend=None), tooltip=["label:N"]),
    ).resolve_scale(color="independent").properties(
        height=280, title=f"Data set {seed}, step {shown}")
    zz = np.linspace(-10, 10, 201)
    curves = pd.DataFrame({"z": np.r_[zz, zz], "loss": np.r_[np.logaddexp(0, -zz), np.logaddexp(0, zz)],
                           "label": ["class 1"] * len(zz) + ["class 0"] * len(zz)})
    dots = pd.DataFrame({"z": np.clip(v["z"], -10, 10), "loss": v["per_point"], "label": pts.label})
    loss_chart = alt.layer(
        alt.Chart(curves).mark_line().encode(x=alt.X("z:Q", title="logit z = w·x + b"),
                                             y=alt.Y("loss:Q", title="−log p(label | x)"), color=lab),
        alt.Chart(dots).mark_circle(size=30, opacity=0.6).encode(x="z:Q", y="loss:Q", color=lab),
    ).properties(height=280, title="Loss of each training point")
    n = len(v["t"])
    ll = -v["per_point"].sum()
    coef_tab = pd.DataFrame({"w₁": [v["coef"][0], v["sk"][0]], "w₂": [v["coef"][1], v["sk"][1]],
                             "b": [v["coef"][2], v["sk"][2]], "mean logistic loss": [v["loss_engine"], v["loss_sk"]]},
                            index=[f"engine, step {shown}", "scikit-learn (C = ∞)"]).round(4)
    gap = np.abs(v["coef"] - v["sk"]).max()
    df = _spread_evidence(ev)
    order = [str(s) for s in STEP4_SPREADS]
    norm_c = _seed_chart(df, "spread", "norm", "‖w‖ after 400 steps", x_title="spread of the blobs",
                         title="Weight norm, 10 data sets", sort=order, height=190, width=230)
    loss_c = _seed_chart(df, "spread", "loss", "mean logistic loss", x_title="spread of the blobs",
                         title="Training loss, 10 data sets", sort=order, height=190, width=230)
    return [
        Metric("Likelihood of the labels", _fmt_pow10(ll / math.log(10)), help=f"∏ over {n} training points"),
        Metric("Log-likelihood", f"{ll:.2f}"),
        Metric("Mean logistic loss", f"{v['loss_engine']:.4f}", help="the engine's recorded training loss"),
        Columns([[Chart(regions, caption="Shading: the unit's P(y = 1) (blue: class 0, orange: class 1); dots: "
                                         "training data.")],
                 [Chart(loss_chart, caption="Each dot is one training point on its label's loss curve.")]]),
        Table(coef_tab, caption=(
            f"Coefficients on the standardised inputs. The engine's are read off its snapshot (logit P is a "
            f"plane); after {shown} steps the largest difference from scikit-learn's is {gap:.4f}.")),
        Chart(alt.hconcat(norm_c, loss_c), caption=(
            f"Each faint dot is one data set (sample and initialisation); the line joins the means, bars: ± 1 sd. "
            f"Weights shrink and the loss rises with the spread in {ev.held} of {ev.n} data sets.")),
    ]


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
    G = res.snapshots.shape[-1]
    gx, gy = np.meshgrid(np.linspace(x0, x1, G), np.linspace(y0, y1, G))
    dx, dy = (x1 - x0) / (G - 1) / 2, (y1 - y0) / (G - 1) / 2
    names = [f"class {c}" for c in range(3)]
    surf = pd.DataFrame({"a": gx.ravel() - dx, "b": gx.ravel() + dx, "c": gy.ravel() - dy, "d": gy.ravel() + dy,
                         "cls": np.array(names)[res.snapshots[-1].ravel().astype(int)]})
    dots = pd.DataFrame({"x1": split.raw_train[:, 0], "x2": split.raw_train[:, 1], "cls": np.array(names)[y],
                         "point": pts.point, "loss": pts.loss.round(3)})
    xs, ys = alt.Scale(domain=[x0, x1], nice=False), alt.Scale(domain=[y0, y1], nice=False)
    col = alt.Color("cls:N", title="class", scale=color_scale(CLASS_COLORS, names))
    worst = dots.loc[pts.loss.nlargest(5).index]
    regions = alt.layer(
        alt.Chart(surf).mark_rect(opacity=0.3).encode(
            x=alt.X("a:Q", title="x₁", scale=xs), x2="b:Q", y=alt.Y("c:Q", title="x₂", scale=ys), y2="d:Q",
            color=col, tooltip=alt.value(None)),
        alt.Chart(dots).mark_circle(size=35, stroke="black", strokeWidth=0.5, opacity=1).encode(
            x="x1:Q", y="x2:Q", color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            tooltip=["point:Q", "cls:N", "loss:Q"]),
        alt.Chart(worst).mark_point(shape="diamond", size=220, stroke="#CC0000", strokeWidth=2, filled=False).encode(
            x="x1:Q", y="x2:Q", tooltip=["point:Q", "cls:N", "loss:Q"]),
        alt.Chart(dots.iloc[[i]]).mark_point(size=450, stroke="black", strokeWidth=3, filled=False).encode(
            x="x1:Q", y="x2:Q"),
    ).properties(height=300, title=f"Data set {seed}, one run")
    # every training point of every data set at this spread: loss against signed distance to the boundary
    others = sweep[sweep.seed != seed]
    m = np.linspace(float(sweep.distance.min()), float(sweep.distance.max()), 2)
    band = pd.DataFrame({"lo": [math.log(2)], "hi": [math.log(3)]})
    scatter = alt.layer(
        alt.Chart(band).mark_rect(color="#999999", opacity=0.25).encode(
            y=alt.Y("lo:Q"), y2="hi:Q", tooltip=alt.value("exactly on a boundary: ln 2 to ln 3")),
        alt.Chart(others[["distance", "loss"]].round(3)).mark_circle(size=10, color="#999999", opacity=0.35).encode(
            x="distance:Q", y="loss:Q", tooltip=alt.value(None)),
        alt.Chart(pts.assign(cls=np.array(names)[pts.cls])[["distance", "loss", "cls", "point"]].round(3))
        .mark_circle(size=30, stroke="black", strokeWidth=0.4, opacity=0.9).encode(
            x=alt.X("distance:Q", title="signed distance to the edge of its class's region (x₁, x₂ units)",
                    scale=alt.Scale(domain=[float(m[0]), float(m[1])], nice=False)),
            y=alt.Y("loss:Q", title="loss"),
            color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            tooltip=["point:Q", "cls:N", "loss:Q", "distance:Q"]),
        alt.Chart(pts.iloc[[i]]).mark_point(size=300, stroke="black", strokeWidth=2.5, filled=False).encode(
            x="distance:Q", y="loss:Q"),
        alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#555555", strokeDash=[4, 4]).encode(x="x:Q"),
    ).properties(height=260, title=f"Loss against position, 10 data sets (coloured: data set {seed})")
    p = pts.loc[i, ["p0", "p1", "p2"]].to_numpy(float)
    bars = pd.DataFrame({"cls": names, "p": p, "correct": [c == y[i] for c in range(3)]})
    bar = alt.layer(
        alt.Chart(bars).mark_bar().encode(
            x=alt.X("cls:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("p:Q", title="model probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("cls:N", scale=color_scale(CLASS_COLORS, names), legend=None),
            stroke=alt.condition("datum.correct", alt.value("black"), alt.value(None)), strokeWidth=alt.value(3)),
        alt.Chart(bars).mark_text(dy=-10, fontSize=15).encode(x="cls:N", y="p:Q", text=alt.Text("p:Q", format=".3f")),
    ).properties(height=300, title=f"Point {i + 1} (class {y[i]})")
    loss_i = float(pts.loss[i])
    top = sweep.groupby("seed").apply(lambda d: bool(d.nlargest(TOP_POINTS, "loss").wrong.all()),
                                      include_groups=False)
    near = sweep.groupby("seed").apply(lambda d: d.loc[d.margin.abs().nsmallest(BOUNDARY_POINTS).index].loss.mean(),
                                       include_groups=False)
    return [
        Metric("Engine: mean cross-entropy", f"{v['loss_engine']:.5f}", help="after full-batch gradient descent"),
        Metric("scikit-learn minimum", f"{v['loss_sk']:.5f}", help="LogisticRegression(C=∞), multinomial"),
        Metric("Same class on the map", f"{v['agree']:.1%}", help="engine vs scikit-learn, on the 60 × 60 grid"),
        Metric(f"Loss of point {i + 1}", f"{loss_i:.4f}", help="−log p(correct class) under the engine's model"),
        Columns([[Chart(regions, caption="Shading: the class the engine's model predicts. Red diamonds: the five "
                                         "largest losses. Ring: the chosen point.")],
                 [Chart(bar, caption=f"Softmax probabilities of point {i + 1}; its loss is −log {p[y[i]]:.3f} = "
                                     f"{loss_i:.4f}. The mean of this over all {len(y)} points is the loss, "
                                     f"{v['loss_engine']:.4f}.")]]),
        Chart(scatter, caption=(
            f"Each dot is a training point (grey: the other nine data sets). Left of 0 a point lies in another "
            f"class's region. Grey band: ln 2 to ln 3, what a point exactly on a boundary costs. At spread "
            f"{spread:g} the ten largest losses are all misclassified points in {int(top.sum())} of {len(top)} "
            f"data sets; the {BOUNDARY_POINTS} points nearest a boundary cost {near.mean():.2f} on average.")),
    ]


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
    dcol = {"p (the die)": "#000000", "q (the model)": "#E69F00"}
    bar = alt.Chart(bars).mark_bar().encode(
        x=alt.X("face:N", title="face", axis=alt.Axis(labelAngle=0)), xOffset="dist:N",
        y=alt.Y("prob:Q", title="probability"),
        color=alt.Color("dist:N", title=None, scale=color_scale(dcol), legend=alt.Legend(orient="right")),
        tooltip=["dist:N", "face:N", alt.Tooltip("prob:Q", format=".3f")]).properties(height=240, title="p and q")
    al = np.linspace(0, 1, 101)
    kls = pd.DataFrame({"alpha": al, "kl": [kl(DIE, mixed(a)) for a in al]})
    klc = alt.layer(
        alt.Chart(kls).mark_line(color="#E69F00").encode(x=alt.X("alpha:Q", title="α (0: q = p, 1: q uniform)"),
                                                         y=alt.Y("kl:Q", title="KL(p ‖ q) in nats")),
        alt.Chart(pd.DataFrame({"alpha": [alpha], "kl": [kl(DIE, q)]})).mark_point(
            size=200, filled=True, color="black").encode(x="alpha:Q", y="kl:Q"),
    ).properties(height=240, title="KL(p ‖ q) as q moves away from p")
    h, hpq, d, d_rev = entropy(DIE), cross_entropy(DIE, q), kl(DIE, q), kl(q, DIE)
    sample = die_sample(n)
    p_hat = np.bincount(sample, minlength=6) / n
    fit = fit_categorical(sample, 6)
    long = pd.concat([fit[["step"]].assign(value=fit.nll, what="mean NLL = H(p̂, q)"),
                      fit[["step"]].assign(value=fit.kl, what="KL(p̂ ‖ q)"),
                      fit[["step"]].assign(value=fit.entropy, what="H(p̂)")])
    fcol = {"mean NLL = H(p̂, q)": "#D55E00", "KL(p̂ ‖ q)": "#E69F00", "H(p̂)": "#777777"}
    fitc = alt.Chart(long).mark_line().encode(
        x=alt.X("step:Q", title="gradient step"), y=alt.Y("value:Q", title="nats"),
        color=alt.Color("what:N", title=None, scale=color_scale(fcol), legend=alt.Legend(orient="right")),
    ).properties(height=240, title=f"Fitting q to {n} rolls by maximum likelihood")
    end = fit.iloc[-1]
    ks = sample_kl()
    wide = ks.pivot(index="seed", columns="n", values="kl")
    means = wide.mean()
    closer = int((wide[max(DIE_SIZES)] < wide[min(DIE_SIZES)]).sum())
    steady = int((np.diff(wide.to_numpy(), axis=1) < 0).all(axis=1).sum())
    kchart = _seed_chart(ks.assign(log_kl=np.log10(np.maximum(ks.kl, 1e-12))), "n", "log_kl", "log₁₀ KL(p̂ ‖ p)",
                         x_title="rolls N", sort=list(DIE_SIZES), title="p̂ against the die, 10 sequences of rolls",
                         height=250)
    return [
        Metric("H(p)", f"{h:.4f}"), Metric("KL(p ‖ q)", f"{d:.4f}"),
        Metric("H(p) + KL(p ‖ q)", f"{h + d:.4f}"), Metric("H(p, q)", f"{hpq:.4f}"),
        Metric("KL(q ‖ p)", f"{d_rev:.4f}", help="the other direction: KL is not symmetric"),
        Columns([[Chart(bar)], [Chart(klc, caption="KL is zero at α = 0 (q = p) and positive everywhere else.")]]),
        Chart(fitc, caption=(
            f"Mean negative log-likelihood and KL fall together; their gap is the constant H(p̂) = "
            f"{end.entropy:.4f}. After {int(end.step)} steps KL(p̂ ‖ q) = {end.kl:.2e} and still falling: the "
            f"maximum-likelihood fit is the sample's frequencies (counts / N), where KL(p̂ ‖ q) = 0. This sample "
            f"(one sequence of rolls) is still KL(p̂ ‖ p) = {kl(p_hat, DIE):.4f} from the true die.")),
        Chart(kchart, caption=(
            f"Each faint dot is one sequence of rolls cut after N rolls; line: the mean of log₁₀ KL, bars: ± 1 sd. "
            f"The mean KL falls from {means[min(DIE_SIZES)]:.3f} at {min(DIE_SIZES)} rolls to "
            f"{means[max(DIE_SIZES)]:.1e} at {max(DIE_SIZES):,} (theory for large N: (6 − 1)/(2N) = "
            f"{2.5 / max(DIE_SIZES):.1e}). {max(DIE_SIZES):,} rolls end closer to the die than {min(DIE_SIZES)} in "
            f"{closer} of {len(wide)} sequences; closer at every longer length in {steady} of {len(wide)}.")),
    ]


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
    panels = (("mse", "Gaussian noise → MSE fit", FIT_MSE), ("mae", "Laplace noise → MAE fit", FIT_MAE))
    for key, title, colour in panels:
        clean, dirty = v["fits"][key]
        lines = pd.DataFrame({"x": np.r_[xs, xs], "y": np.r_[design(xs) @ clean, design(xs) @ dirty],
                              "fit": ["without outliers"] * 2 + ["with outliers"] * 2})
        ch = alt.layer(
            alt.Chart(lines).mark_line(color=colour).encode(
                x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"),
                strokeDash=alt.StrokeDash("fit:N", title=None, scale=alt.Scale(
                    domain=["without outliers", "with outliers"], range=[[5, 4], [1, 0]]),
                    legend=alt.Legend(orient="bottom"))),
            alt.Chart(pts).mark_point(filled=True, size=60).encode(
                x="x:Q", y="y:Q", shape=alt.Shape("kind:N", title=None, scale=alt.Scale(
                    domain=["data", "outlier"], range=["circle", "triangle-up"])),
                color=alt.Color("kind:N", legend=None, scale=alt.Scale(domain=["data", "outlier"],
                                                                        range=["#444444", "#CC79A7"]))),
        ).properties(height=250, title=f"{title} (sample {sample})")
        cap = (f"θ₁ = {dirty[0]:.3f}, θ₂ = {dirty[1]:.3f} (without outliers {clean[0]:.3f}, {clean[1]:.3f}). "
               f"The line moved by {v['moved'][key]:.3f} on average over x in [−2, 4].")
        charts.append([Chart(ch, caption=cap)])
    r = np.linspace(-4, 4, 161)
    nll = pd.DataFrame({"r": np.r_[r, r], "loss": np.r_[r ** 2 / 2, np.abs(r)],
                        "noise": ["Gaussian: r²/2"] * len(r) + ["Laplace: |r|"] * len(r)})
    nll_chart = alt.Chart(nll).mark_line().encode(
        x=alt.X("r:Q", title="residual r"), y=alt.Y("loss:Q", title="−log p + const"),
        color=alt.Color("noise:N", title=None, scale=color_scale(
            {"Gaussian: r²/2": FIT_MSE, "Laplace: |r|": FIT_MAE}), legend=alt.Legend(orient="right")),
    ).properties(height=220, title="What one residual costs under each noise model")
    mm, ma = v["moved"]["mse"], v["moved"]["mae"]
    tally = robust_tally(count, offset)
    over = (f"Over all {tally['n']} samples of the line the MAE line moved less in {tally['less']} of {tally['n']} "
            f"(mean movement {tally['mse']:.3f} for MSE, {tally['mae']:.3f} for MAE).")
    if count == 0:
        verdict = Note("No outliers: both fits are the plain data's fits. Add some with the slider.", kind="info")
    elif tally["less"] == tally["n"]:
        verdict = Note(f"With {count} outlier(s) {offset:g} above the line, sample {sample}'s MSE line moved "
                       f"{mm:.3f} on average, its MAE line {ma:.3f}. {over}", kind="success")
    else:
        verdict = Note(f"Sample {sample}: the MSE line moved {mm:.3f}, the MAE line {ma:.3f}. {over} At an offset "
                       f"of {offset:g} ({offset / LINE_SIGMA:.1f} σ, σ = {LINE_SIGMA}) the added points are not far "
                       f"from the data, and with only {LINE_N} data points the MAE line, which always passes through "
                       "two points, can switch to a pair that includes added ones. Push the offset up.",
                       kind="warning")
    sweep = movement_sweep(count)
    mcol = {"MSE fit": FIT_MSE, "MAE fit": FIT_MAE}
    mchart = seed_curves(sweep, "offset", "moved", color="fit", colors=mcol, x_title="how far above the line",
                         y_title="movement of the line", height=260,
                         title=f"How far each fit moves, {count} outlier(s), 10 samples")
    mchart.layer.append(alt.Chart(pd.DataFrame({"offset": [offset]})).mark_rule(
        color="#777777", strokeDash=[3, 3]).encode(x="offset:Q"))
    start = always_from(count) if count else None
    mcap = ("Thin lines: each of the 10 samples of the line; thick: their mean. The MSE line moves in proportion "
            "to the offset; the MAE line's movement stops growing.")
    if start is not None:
        mcap += f" From an offset of {start:g} on, the MAE line moves less in every sample."
    return [Columns(charts), verdict, Chart(mchart, caption=mcap),
            Chart(nll_chart, caption=(
                "A squared residual grows fast, so a far point pulls hard on the MSE fit; the absolute residual "
                "grows linearly, so every point pulls with the same strength and the MAE fit follows the median."))]


# ---------------------------------------------------------------- the lesson

STEPS = (
    Step(
        id="line", title="A line and its noise",
        narrative=(
            "Suppose the data come from a straight line plus random noise. If the noise is Gaussian with "
            "spread σ, each observed $y_i$ is a draw from a bell curve centred on the line's prediction. The "
            "**likelihood** of a candidate line is the probability density of all the observations together: "
            "the product of each point's density. Good lines put every point near the top of its bell.\n\n"
            "Move the line and the noise level and watch the likelihood, its logarithm and the sum of squared "
            "errors change together."),
        equations=(
            r"y_i = \theta_1 x_i + \theta_2 + \varepsilon_i, \qquad \varepsilon_i \sim \mathcal{N}(0, \sigma^2)",
            r"\mathcal{L}(\theta) = \prod_{i=1}^{n} \frac{1}{\sigma\sqrt{2\pi}}\,"
            r"e^{-(y_i - \theta_1 x_i - \theta_2)^2 / 2\sigma^2}",
            r"\log \mathcal{L}(\theta) = -\frac{n}{2}\log(2\pi\sigma^2) - \frac{1}{2\sigma^2}"
            r"\sum_{i=1}^{n} (y_i - \theta_1 x_i - \theta_2)^2",
        ),
        controls=(
            Slider("theta1", "θ₁ (slope)", T1_RANGE[0], T1_RANGE[1], 0.3, step=0.05),
            Slider("theta2", "θ₂ (intercept)", T2_RANGE[0], T2_RANGE[1], 2.0, step=0.05),
            Slider("sigma", "σ (noise level)", 0.02, 3.0, 0.8, step=0.02),
        ),
        presets=(("Near the least-squares line", {"theta1": 0.75, "theta2": 0.6}),),
        demo=_demo_line,
        notice=(
            "- σ only scales and shifts the log-likelihood; the line that maximises it is the same for every σ, "
            "and it is the least-squares line (the cross on the map).\n"
            "- With a small σ the product of densities underflows to 0 in float64, while the log-likelihood is an "
            "ordinary number.\n"
            "- For a fixed line, the best σ is the root-mean-square residual."),
        question=Question(
            "You double σ. What happens to the line of maximum likelihood?",
            ("It stays where it is", "It gets flatter", "It moves towards the outliers"), answer=0,
            explanations=(
                "σ multiplies the squared-error term by 1/(2σ²) and adds a constant; neither moves the maximiser.",
                "The slope that maximises the likelihood minimises the squared error, which does not involve σ.",
                "σ weighs every residual by the same factor, so no point gains influence.")),
    ),
    Step(
        id="logs", title="Why logarithms",
        narrative=(
            "A likelihood multiplies one probability per example, and probabilities are below one: the product "
            "shrinks exponentially with the number of examples. Floating-point numbers cannot follow it "
            "forever. Below the smallest normal number the format keeps fewer and fewer bits (subnormals), and "
            "below half the smallest subnormal the product rounds to exactly 0. After that every θ has "
            "likelihood 0 and nothing can be compared.\n\n"
            "The logarithm turns the product into a sum, which only grows linearly in size; and because "
            "log is increasing, the θ that maximises the sum is the θ that maximises the product."),
        equations=(
            r"\arg\max_\theta \prod_{i=1}^{n} p(x_i;\theta) = \arg\max_\theta \sum_{i=1}^{n} \log p(x_i;\theta)",
            r"p^n \text{ rounds to } 0 \iff p^n \le 2^{-150}\ (\text{float32}),\quad "
            r"p^n \le 2^{-1075}\ (\text{float64})",
        ),
        controls=(
            Slider("p", "p, the probability of each example", 0.05, 0.95, 0.5, step=0.05),
            LogSlider("n", "coin flips in the second example", (10, 100, 1000, 5000), 5000),
        ),
        demo=_demo_underflow,
        notice=(
            "- With p = 0.5 the product is 2⁻ⁿ, exact in binary until it passes 2⁻¹⁵⁰ (float32, n = 150) or "
            "2⁻¹⁰⁷⁵ (float64, n = 1075).\n"
            "- For p above 0.5 the running product never becomes 0: it gets stuck on a tiny subnormal that "
            "multiplying by p no longer changes, a number wrong by dozens or hundreds of orders of magnitude.\n"
            "- The sum of logs is a straight line that never underflows."),
        question=Question(
            "Why may we maximise the log-likelihood instead of the likelihood?",
            ("log is increasing, so it keeps the order of any two values", "log makes the function convex",
             "log removes the noise from the data"), answer=0,
            explanations=(
                "If L(a) > L(b) then log L(a) > log L(b): the maximiser cannot move.",
                "Convexity is not what is needed (and not guaranteed); preserving the order is.",
                "Taking logs changes how the numbers are stored, not the data.")),
    ),
    Step(
        id="descent", title="Descending the loss",
        narrative=(
            "The negative log-likelihood of the line is, up to constants, the mean squared error: a bowl over "
            "(θ₁, θ₂). Linear regression has a closed-form minimum (the normal equations), but a network does "
            "not, so we practise the general method here: gradient descent, step by step downhill.\n\n"
            "The bowl is a quadratic with Hessian H. Along each of its axes one step multiplies the error by "
            "|1 − ηλ|, λ the curvature on that axis. All factors are below one exactly when η < 2/L, L the "
            "largest eigenvalue of H. Above that, the steepest direction overshoots further every step."),
        equations=(
            r"J(\theta) = \frac{1}{n}\sum_{i=1}^{n}(\theta_1 x_i + \theta_2 - y_i)^2 = "
            r"\frac{1}{n}\lVert X\theta - y \rVert^2, \qquad \theta^\star = (X^\top X)^{-1} X^\top y",
            r"\theta_{t+1} = \theta_t - \eta \nabla J(\theta_t), \qquad \nabla J = \frac{2}{n} X^\top (X\theta - y),"
            r"\qquad H = \frac{2}{n} X^\top X",
            r"\text{converges} \iff \eta < \frac{2}{L}, \quad L = \lambda_{\max}(H)",
        ),
        controls=(
            LogSlider("rate", "learning rate, as a multiple of 2/L",
                      (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.01, 1.1, 1.5, 3.0, 10.0, 100.0, 1000.0), 0.5),
            Slider("steps", "steps", 1, 300, 40, step=1),
        ),
        presets=(("Safe (0.5)", {"rate": 0.5, "steps": 40}), ("Zig-zag (0.9)", {"rate": 0.9, "steps": 60}),
                 ("Too large (1.1)", {"rate": 1.1, "steps": 30})),
        demo=_demo_gd,
        notice=(
            "- Below 2/L the path ends on the closed-form solution; the table shows the two side by side.\n"
            "- Close to 2/L the path zig-zags across the narrow direction of the bowl: that factor |1 − ηL| is "
            "near 1 in size but negative.\n"
            "- A tiny rate is safe but slow along the flat direction; just above 2/L the same method explodes."),
        question=Question(
            "Gradient descent on a quadratic whose largest Hessian eigenvalue is L = 8. Which learning rate "
            "diverges?",
            ("0.3", "0.2", "0.01"), answer=0,
            explanations=(
                "2/L = 0.25 and 0.3 > 0.25: along the steepest axis each step multiplies the error by |1 − 2.4| = 1.4.",
                "0.2 < 0.25: it converges, with some zig-zag (|1 − 1.6| = 0.6).",
                "0.01 converges, only slowly.")),
    ),
    Step(
        id="bernoulli", title="Bernoulli gives the logistic loss",
        narrative=(
            "For a yes/no label the natural noise model is a coin: the model gives P(y = 1 | x) through a "
            "sigmoid, and the observed label is a Bernoulli draw with that probability. Write the probability "
            "of the observed label in one expression, take minus the log, and average: the result is the "
            "logistic loss (binary cross-entropy).\n\n"
            "Here the engine trains a single sigmoid unit on two overlapping Gaussian blobs with plain "
            "full-batch gradient descent, and scikit-learn solves the same unpenalised problem with its own "
            "solver. Pick a training step to see how far the unit has come, and a data set: every comparison "
            "below is measured on ten of them (a fresh sample of the blobs and a fresh initialisation each)."),
        equations=(
            r"g(x) = \sigma(w^\top x + b) = \frac{1}{1 + e^{-(w^\top x + b)}}, \qquad "
            r"P(t \mid x) = g(x)^{t}\,(1 - g(x))^{1-t}",
            r"E(w, b) = -\frac{1}{N}\sum_{n=1}^{N}\big[t_n \log g(x_n) + (1 - t_n)\log(1 - g(x_n))\big]",
        ),
        controls=(
            Select("spread", "spread of the blobs", STEP4_SPREADS, 0.3),
            Select("shown", "training step shown", STEP4_SHOWN, TRAIN_STEPS),
            Select("seed", "data set shown (sample and initialisation)", DATA_SEEDS, 0),
        ),
        demo=_demo_logistic, heavy=True, claims=(BERN_SK, BERN_SPREAD),
        notice=(
            "- The loss of a point depends only on its logit and label: confident and right costs almost "
            "nothing, confident and wrong costs about |z|.\n"
            "- After 400 steps the unit's mean loss is within {bern_sk.hi[loss_gap]:.0e} of scikit-learn's "
            "minimum and, at spreads 0.3 and 0.5, its coefficients within {bern_sk.hi[coef_gap]:.0e} of "
            "scikit-learn's (in {bern_sk.held} of {bern_sk.n} data sets): both maximise the same Bernoulli "
            "likelihood. On the tightest blobs (0.2) the classes barely overlap, the likelihood is almost flat "
            "along the weights, and 400 steps leave the weights up to {bern_sk.hi[coef_gap_tight]:.2f} away from "
            "scikit-learn's while the loss already agrees.\n"
            "- Wider blobs overlap more, so the optimum is less confident: in {bern_spread.held} of "
            "{bern_spread.n} data sets the weight norm falls (mean {bern_spread[norm_02]:.1f} → "
            "{bern_spread[norm_03]:.1f} → {bern_spread[norm_05]:.1f}) and the loss rises "
            "({bern_spread[loss_02]:.2f} → {bern_spread[loss_03]:.2f} → {bern_spread[loss_05]:.2f}) as the "
            "spread goes 0.2 → 0.3 → 0.5."),
        question=Question(
            "A point has label 1 and the unit gives it P(y = 1) = 0.01. What is its logistic loss?",
            ("about 4.6", "about 0.01", "about 0.99"), answer=0,
            explanations=("−log 0.01 = 4.6: being confidently wrong is expensive.",
                          "That would be −log 0.99, the loss of the opposite label.",
                          "The loss is a log-probability, not a probability.")),
    ),
    Step(
        id="categorical", title="Categorical gives softmax cross-entropy",
        narrative=(
            "With more than two classes the model outputs one score per class, and softmax turns the scores into "
            "probabilities that are positive and sum to one. The label is a draw from this categorical "
            "distribution, so the likelihood of one example is simply the probability of its correct class, "
            "and the loss is minus its log.\n\n"
            "The engine trains softmax regression (three outputs, no hidden layer) on three blobs with plain "
            "gradient descent; scikit-learn's multinomial logistic regression gives the exact optimum to "
            "compare. Pick a point to see its probabilities and its loss. Which points cost the most? The last "
            "chart places every training point of ten data sets by how far it lies from the edge of its own "
            "class's region."),
        equations=(
            r"P(y = c \mid x) = \operatorname{softmax}(a)_c = \frac{e^{a_c}}{\sum_{k=1}^{C} e^{a_k}},"
            r" \qquad a = Wx + b",
            r"E = -\frac{1}{N}\sum_{n=1}^{N}\sum_{c=1}^{C} y_{nc}\log\operatorname{softmax}(a_n)_c = "
            r"-\frac{1}{N}\sum_{n=1}^{N}\log P(y_n \mid x_n)",
        ),
        controls=(
            Select("spread", "spread of the blobs", STEP4_SPREADS, 0.3),
            Select("seed", "data set shown (sample and initialisation)", DATA_SEEDS, 0),
            Slider("point", "training point", 1, 180, 1, step=1),
        ),
        demo=_demo_softmax, heavy=True, claims=(SOFT_SK, SOFT_WORST),
        notice=(
            "- Only the correct class's probability enters the loss; the others matter through the "
            "normalisation.\n"
            "- The engine's mean cross-entropy is within {soft_sk.hi[loss_gap]:.0e} of scikit-learn's minimum and "
            "the two models predict the same class on at least {soft_sk.lo[agree]:.1%} of the map, at every "
            "spread (in {soft_sk.held} of {soft_sk.n} data sets).\n"
            "- A point exactly on a boundary costs between ln 2 ≈ 0.69 and ln 3 ≈ 1.10: its class ties with "
            "another for the largest probability. The points nearest a boundary cost {soft_worst[near]:.2f} on "
            "average. The largest losses are elsewhere: misclassified points deep inside another class's region. "
            "At spread 0.3 the ten largest losses were all misclassified points in {soft_worst.held} of "
            "{soft_worst.n} data sets; the worst cost {soft_worst[top]:.1f} on average (up to "
            "{soft_worst.hi[top]:.1f}) and lay {soft_worst[depth]:.1f} units, {soft_worst[depth_sd]:.1f} blob "
            "standard deviations, inside the other class's region."),
        question=Question(
            "With two classes, softmax cross-entropy is the same as...",
            ("the logistic loss with a = a₁ − a₀", "the squared error", "the absolute error"), answer=0,
            explanations=(
                "softmax(a)₁ = 1 / (1 + e^{−(a₁ − a₀)}) is a sigmoid of the score difference.",
                "Squared error comes from Gaussian noise, not from a categorical label.",
                "Absolute error comes from Laplace noise.")),
    ),
    Step(
        id="kl", title="Cross-entropy and KL",
        narrative=(
            "The cross-entropy H(p, q) is the average of −log q under p. It splits into the entropy of p, which "
            "no model can remove, plus the Kullback–Leibler divergence from p to q, which is never negative and "
            "is zero only when q = p.\n\n"
            "Maximum likelihood is this picture with p the **empirical** distribution of a sample: the mean "
            "negative log-likelihood of the data under the model is H(p̂, q). Since H(p̂) does not depend on the "
            "model, maximising likelihood is minimising KL(p̂ ‖ q). Below, a loaded die p and a model q that "
            "mixes p with the uniform die; then a model fitted to rolls by maximum likelihood."),
        equations=(
            r"H(p, q) = -\sum_x p(x)\log q(x) = H(p) + D_{KL}(p \,\|\, q)",
            r"D_{KL}(p \,\|\, q) = \sum_x p(x)\log\frac{p(x)}{q(x)} \ge 0, \quad = 0 \iff p = q",
            r"\arg\max_\theta \frac{1}{N}\sum_{i=1}^{N}\log q_\theta(x_i) = "
            r"\arg\min_\theta D_{KL}(\hat p_{\text{data}} \,\|\, q_\theta)",
        ),
        controls=(
            Slider("alpha", "α: how far q is from p", 0.0, 1.0, 0.5, step=0.05),
            LogSlider("n", "rolls in the sample", (20, 100, 1000, 10000), 100),
        ),
        demo=_demo_kl,
        notice=(
            "- H(p) + KL(p ‖ q) and H(p, q) agree to every decimal shown.\n"
            "- KL(p ‖ q) and KL(q ‖ p) differ: KL is not a distance.\n"
            "- The fitted model reaches the sample frequencies (KL to p̂ goes to 0), not the true die. More rolls "
            "bring p̂ closer to p on average, like (6 − 1)/(2N) for large N; the last chart shows ten sequences of "
            "rolls and counts how often each one got closer."),
        question=Question(
            "Training minimises the cross-entropy H(p̂, q) on the data. Why can it not go below H(p̂)?",
            ("Because KL(p̂ ‖ q) ≥ 0", "Because the learning rate is too small", "Because q must be uniform"),
            answer=0,
            explanations=("H(p̂, q) = H(p̂) + KL(p̂ ‖ q) and the KL term is never negative.",
                          "No optimiser can beat the bound: it holds for every q.",
                          "q can be any distribution; the bound holds for all of them.")),
    ),
    Step(
        id="noise", title="Choose the noise, get the loss",
        narrative=(
            "Every loss in this lesson is the negative log-likelihood of a noise model, so choosing a loss is "
            "choosing what you believe about the errors:\n\n"
            "| noise model for the target | output | loss |\n| --- | --- | --- |\n"
            "| Gaussian | linear | mean squared error |\n| Laplace | linear | mean absolute error |\n"
            "| Bernoulli | sigmoid | logistic loss (binary cross-entropy) |\n"
            "| categorical | softmax | softmax cross-entropy |\n\n"
            "Gaussian tails are thin: a point far from the line is nearly impossible, so the fit bends towards "
            "it. Laplace tails are heavier, and the absolute error is more forgiving. Add outliers and compare, on "
            "ten samples of the line."),
        equations=(
            r"p(y \mid x) = \frac{1}{2b} e^{-|y - g(x)|/b} \;\Rightarrow\; -\log p = \frac{|y - g(x)|}{b} + "
            r"\log 2b",
        ),
        controls=(
            Slider("outliers", "outliers added", 0, 8, 3, step=1),
            Slider("offset", "how far above the line", 0.0, 20.0, 8.0, step=0.5),
            Select("sample", "sample of the line shown", LINE_SAMPLES, 0),
        ),
        demo=_demo_robust,
        notice=(
            "- The MSE line tilts and lifts towards the outliers. Once they sit well outside the noise (an offset "
            "of 6.5 or more, about 8σ), the MAE line moves less in every one of the ten samples of the line; "
            "closer in, the two are mixed (the note under the fits counts them).\n"
            "- The MAE fit is a median-like fit: it passes through data points (an optimum of a linear "
            "programme sits on a vertex).\n"
            "- Neither loss is \"right\": each is right for its noise model."),
        question=Question(
            "Your targets contain rare, very large measurement errors. Which noise model suits them better?",
            ("Laplace (absolute error)", "Gaussian (squared error)", "Bernoulli (logistic loss)"), answer=0,
            explanations=("Heavier tails make large errors plausible, so they pull the fit less.",
                          "Gaussian tails make big errors nearly impossible, so the fit chases them.",
                          "Bernoulli is for binary labels, not real-valued targets.")),
    ),
    Step(
        id="check", title="Check yourself",
        narrative="Four questions on the whole lesson. Each answer explains itself.",
        questions=(
            Question(
                "Maximising a Gaussian likelihood with fixed σ over a line's parameters is the same as...",
                ("minimising the sum of squared errors", "minimising the sum of absolute errors",
                 "maximising the sum of squared errors", "minimising σ"), answer=0,
                explanations=(
                    "log L = const − SSE / (2σ²): the larger log L, the smaller the SSE.",
                    "That is the Laplace noise model.",
                    "The sign is the other way: large residuals make the data less likely.",
                    "σ is fixed here; and the line that maximises L does not depend on σ.")),
            Question(
                "A product of 2000 probabilities, each 0.5, in float64 is...",
                ("exactly 0", "2⁻²⁰⁰⁰, stored exactly", "the smallest normal float64"), answer=0,
                explanations=(
                    "2⁻²⁰⁰⁰ is below 2⁻¹⁰⁷⁵, half the smallest subnormal: it rounds to 0 at n = 1075.",
                    "float64 cannot represent anything between 0 and 2⁻¹⁰⁷⁴.",
                    "The smallest normal float64 is 2⁻¹⁰²²; the product passes it at n = 1022 and keeps falling.")),
            Question(
                "Gradient descent on the MSE with η slightly above 2/L...",
                ("diverges along the steepest direction", "converges, only more slowly",
                 "converges faster than any smaller rate", "stops at a saddle point"), answer=0,
                explanations=(
                    "That direction's error is multiplied by |1 − ηL| > 1 at every step.",
                    "Slowness is the problem of tiny rates; above 2/L the error grows.",
                    "The fastest rates are below 2/L (2/(λ_min + λ_max) is optimal for a quadratic).",
                    "The MSE of a line is a convex bowl with no saddle point.")),
            Question(
                "Which statement about KL(p ‖ q) is true?",
                ("It is zero exactly when p = q", "It equals KL(q ‖ p)", "It can be negative when q fits p well",
                 "It equals H(p, q)"), answer=0,
                explanations=(
                    "KL is non-negative and vanishes only for identical distributions.",
                    "KL is not symmetric: step 6 shows both directions with different values.",
                    "By Gibbs' inequality KL is never negative.",
                    "H(p, q) = H(p) + KL(p ‖ q); they are equal only if H(p) = 0.")),
        ),
    ),
)

LESSON = Lesson(
    id="losses",
    number=3,
    title="Loss functions from maximum likelihood",
    summary="Where squared error and cross-entropy come from: a loss is the negative log-likelihood of a "
            "noise model, and maximum likelihood minimises KL to the data.",
    intro=("Why do we train regression with squared error and classifiers with cross-entropy? Because each "
           "is the negative log-likelihood of a model of the noise. This lesson derives them one by one and "
           "checks every claim with numbers."),
    references=("Goodfellow et al. 2016",),
    steps=STEPS,
)


def experiments() -> list[Experiment]:
    """Every engine run the default views and every choice of the Select controls need: the one run a
    map shows per (spread, data set). The claims' sweeps (no surfaces) are added by the registry; the
    softmax step's chart of all ten data sets reads those."""
    return ([logistic_experiment(sp, s) for sp in STEP4_SPREADS for s in DATA_SEEDS]
            + [softmax_experiment(sp, s) for sp in STEP4_SPREADS for s in DATA_SEEDS])
