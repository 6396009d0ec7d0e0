"""Lesson 3 (losses): every number a caption claims, against an independent reference, and every
demo's promised outputs (Altair specs inspected as dicts)."""
import math

import numpy as np
import pytest
from scipy import optimize, stats

from engine.cache import SHIPPED_DIR, Cache
from lessons import losses as L
from lessons.walkthrough import Chart, Columns, Metric, Note, Table


def flat(outs):
    """Outputs with Columns unpacked."""
    res = []
    for o in outs:
        if isinstance(o, Columns):
            for col in o.cols:
                res.extend(flat(col))
        else:
            res.append(o)
    return res


def charts(outs):
    return [o for o in flat(outs) if isinstance(o, Chart)]


def metrics(outs):
    return {m.label: m.value for m in flat(outs) if isinstance(m, Metric)}


def notes(outs):
    return [o for o in flat(outs) if isinstance(o, Note)]


def spec(chart):
    d = chart.chart.to_dict()
    assert "$schema" in d
    return d


def marks(d):
    """Mark types of a (possibly layered) spec."""
    if "layer" in d:
        return [m for sub in d["layer"] for m in marks(sub)]
    m = d.get("mark")
    return [m["type"] if isinstance(m, dict) else m]


# ---------------------------------------------------------------- step 1


@pytest.mark.parametrize("sigma", [0.02, 0.8, 3.0])
def test_likelihood_maximum_is_numpy_least_squares(sigma):
    x, y = L.line_data()
    ref = np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)[0]
    best = optimize.minimize(lambda t: -L.log_likelihood(t[0], t[1], sigma, x, y), x0=[0.0, 0.0],
                             method="BFGS", options={"gtol": 1e-10}).x
    assert np.allclose(best, ref, atol=1e-5)
    # the map's highest cell holds the least-squares point (within one grid cell)
    grid = L.likelihood_map(sigma)
    top = grid.loc[grid.loglik.idxmax()]
    assert top.t1a <= ref[0] <= top.t1b and top.t2a <= ref[1] <= top.t2b


def test_log_likelihood_matches_scipy_and_best_sigma():
    x, y = L.line_data()
    v = L.line_view(0.3, 2.0, 0.8)
    assert v["loglik"] == pytest.approx(stats.norm.logpdf(y, 0.3 * x + 2.0, 0.8).sum(), rel=1e-12)
    assert v["sse"] == pytest.approx(((y - 0.3 * x - 2.0) ** 2).sum())
    s_best = optimize.minimize_scalar(lambda s: -stats.norm.logpdf(y, 0.3 * x + 2.0, s).sum(),
                                      bounds=(0.05, 10), method="bounded", options={"xatol": 1e-9}).x
    assert v["best_sigma"] == pytest.approx(s_best, rel=1e-5)


def test_step1_demo_outputs_and_tiny_sigma():
    outs = L.LESSON.step("line").run()
    cs = charts(outs)
    assert len(cs) == 2
    assert "rect" in marks(spec(cs[1])) and "line" in marks(spec(cs[0]))
    ref = L.least_squares(*L.line_data())
    assert f"θ₁ = {ref[0]:.3f}, θ₂ = {ref[1]:.3f}" in cs[1].caption
    assert set(metrics(outs)) >= {"Log-likelihood", "Sum of squared errors", "Likelihood ∏ p(yᵢ|xᵢ)"}
    # sigma near 0: the float64 product underflows, the log stays finite, nothing raises
    v = L.line_view(0.3, 2.0, 0.02)
    assert v["product"] == 0.0 and math.isfinite(v["loglik"])
    outs = L.LESSON.step("line").run({"sigma": 0.02, "theta1": 2.5, "theta2": -2.0})
    mant, exp = metrics(outs)["Likelihood ∏ p(yᵢ|xᵢ)"].split("e")  # built from the log: no underflow
    log10 = L.line_view(2.5, -2.0, 0.02)["loglik"] / math.log(10)
    assert int(exp) == math.floor(log10) < -1000 and float(mant) == pytest.approx(10 ** (log10 % 1), abs=0.01)
    for c in charts(outs):
        spec(c)


# ---------------------------------------------------------------- step 2


def test_float_formats_are_what_the_lesson_says():
    for fmt, dt in (("float32", np.float32), ("float64", np.float64)):
        assert np.finfo(dt).smallest_subnormal == 2.0 ** -L.FLOAT_TINY[fmt]


def test_underflow_at_one_half_matches_the_formats():
    assert L.underflow_closed_form(0.5, "float32") == 150 == L.underflow_measured(0.5, "float32")[0]
    assert L.underflow_closed_form(0.5, "float64") == 1075 == L.underflow_measured(0.5, "float64")[0]
    # the step before the zero is exactly the smallest subnormal
    assert L.running_product(0.5, "float32", 149)[-1] == np.finfo(np.float32).smallest_subnormal
    assert L.running_product(0.5, "float64", 1074)[-1] == np.finfo(np.float64).smallest_subnormal


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
def test_underflow_measured_equals_closed_form_for_exact_probabilities(k):
    p = 2.0 ** -k  # exact in binary: the only rounding is the final one to zero
    for fmt in ("float32", "float64"):
        assert L.underflow_measured(p, fmt)[0] == L.underflow_closed_form(p, fmt)


def test_underflow_on_the_slider_grid():
    c = L.LESSON.step("logs").control("p")
    for p in np.round(np.arange(c.min, c.max + 1e-9, c.step), 2):
        for fmt in ("float32", "float64"):
            meas, last = L.underflow_measured(float(p), fmt)
            closed = L.underflow_closed_form(float(p), fmt)
            if p <= 0.5:  # reaches 0, within one multiplication of the closed form
                assert meas is not None and abs(meas - closed) <= 1
            else:  # sticks at a subnormal m * tiny with round(m p) = m, never 0
                dt = np.float32 if fmt == "float32" else np.float64
                tiny = float(np.finfo(dt).smallest_subnormal)
                m = round(last / tiny)
                assert meas is None and 1 <= m < 16 and last == m * tiny
                assert dt(last) * dt(p) == dt(last)  # multiplying no longer changes it


def test_step2_demo_claims():
    outs = L.LESSON.step("logs").run({"p": 0.5, "n": 10})
    m = metrics(outs)
    assert m["float32: product is 0 from n ="] == "150" and m["float32: closed form"] == "150"
    assert m["float64: product is 0 from n ="] == "1075" and m["float64: closed form"] == "1075"
    assert len(charts(outs)) == 3
    coin = L.coin_curves(10)
    assert coin.theta[coin.likelihood.idxmax()] == coin.theta[coin.loglik.idxmax()]
    assert "peaks at θ = 0.300 too" in notes(outs)[-1].text
    big = L.coin_curves(5000)
    assert (big.likelihood == 0).all() and abs(big.theta[big.loglik.idxmax()] - 0.3) < 0.005
    outs = L.LESSON.step("logs").run({"p": 0.95})
    assert metrics(outs)["float32: product is 0 from n ="] == "never"


# ---------------------------------------------------------------- step 3


def test_hessian_and_closed_form():
    x, y = L.line_data()
    H, eig, star = L.mse_quadratic()
    # Hessian by central differences of the lesson's own MSE function
    h, t0 = 1e-3, np.array([0.3, 0.4])
    f = lambda t: float(L.mse(t[0], t[1]))  # noqa: E731
    num = np.array([[(f(t0 + h * (ei + ej)) - f(t0 + h * (ei - ej)) - f(t0 - h * (ei - ej)) + f(t0 - h * (ei + ej)))
                     / (4 * h * h) for ej in np.eye(2)] for ei in np.eye(2)])
    assert np.allclose(num, H, rtol=1e-5)
    assert np.allclose(eig, np.linalg.eigvalsh(num), rtol=1e-5)
    assert np.allclose(star, np.linalg.lstsq(np.c_[x, np.ones_like(x)], y, rcond=None)[0], atol=1e-10)


def test_gradient_descent_converges_below_and_diverges_above_two_over_L():
    _, eig, star = L.mse_quadratic()
    two_over_L = 2 / eig[-1]
    d0 = np.hypot(*(np.array(L.GD_START) - star))
    for ratio in (0.1, 0.5, 0.9, 0.99):
        path, left = L.gd_path(ratio * two_over_L, 300)
        end = path.iloc[-1][["theta1", "theta2"]].to_numpy(float)
        assert left is None and np.hypot(*(end - star)) < d0
        if ratio in (0.5, 0.9):
            assert np.allclose(end, star, atol=1e-8)
    for ratio in (1.01, 1.1, 3.0):
        path, _ = L.gd_path(ratio * two_over_L, 300)
        end = path.iloc[-1][["theta1", "theta2"]].to_numpy(float)
        assert np.hypot(*(end - star)) > 10 * d0
    path, left = L.gd_path(1000 * two_over_L, 300)
    assert left is not None and left < 10


def test_engine_sgd_path_is_plain_gradient_descent():
    x, y = L.line_data()
    X = np.c_[x, np.ones_like(x)]
    lr, th = 0.1, np.array(L.GD_START, dtype=float)
    path, _ = L.gd_path(lr, 20)
    for _ in range(20):
        th = th - lr * (2 / len(x)) * X.T @ (X @ th - y)
    assert np.allclose(path.iloc[-1][["theta1", "theta2"]].to_numpy(float), th, atol=1e-12)


@pytest.mark.parametrize("rate", [0.01, 0.5, 0.99, 1.01, 1000.0])
def test_step3_demo_messages(rate):
    outs = L.LESSON.step("descent").run({"rate": rate, "steps": 300})
    n = notes(outs)
    assert len(n) == 1
    if rate < 1:
        assert n[0].kind == "success" and "Converging" in n[0].text
    else:
        assert n[0].kind == "error" and "Diverging" in n[0].text
    tables = [o for o in flat(outs) if isinstance(o, Table)]
    assert len(tables) == 1 and "closed form (XᵀX)⁻¹Xᵀy" in tables[0].df.index
    for c in charts(outs):
        d = spec(c)
        assert d  # serialises, even with a path that left the window
    if rate == 0.5:
        _, _, star = L.mse_quadratic()
        assert tables[0].df.loc["closed form (XᵀX)⁻¹Xᵀy", "θ₁"] == f"{star[0]:.5f}"
        assert tables[0].df.iloc[0]["θ₁"] == f"{star[0]:.5f}"


# ---------------------------------------------------------------- step 4


@pytest.mark.parametrize("spread", L.STEP4_SPREADS)
def test_logistic_unit_matches_scikit_learn(spread):
    v = L.logistic_view(spread)
    # scikit-learn's unpenalised fit, in the same standardised feature space
    assert np.allclose(v["coef"], v["sk"], atol=2e-3 * max(1.0, np.abs(v["sk"]).max()))
    assert v["loss_engine"] == pytest.approx(v["loss_sk"], abs=2e-4)
    # the coefficients read off the snapshot agree with the weight norm the engine recorded
    assert np.hypot(*v["coef"][:2]) == pytest.approx(v["res"].history.weight_norm_1.iloc[-1], rel=2e-3)
    # and the mean of the per-point losses is the recorded training loss
    assert v["per_point"].mean() == pytest.approx(v["loss_engine"], abs=5e-4)


def test_step4_demo_outputs():
    outs = L.LESSON.step("bernoulli").run()
    cs = charts(outs)
    assert len(cs) == 2
    assert "rect" in marks(spec(cs[0])) and "circle" in marks(spec(cs[0]))
    tab = [o for o in flat(outs) if isinstance(o, Table)][0].df
    assert list(tab.index) == ["engine, step 400", "scikit-learn (C = ∞)"]
    early = L.logistic_view(0.3, 10)
    assert np.abs(early["coef"] - early["sk"]).max() > 0.1  # after 10 steps it is not there yet


# ---------------------------------------------------------------- step 5


@pytest.mark.parametrize("spread", L.STEP4_SPREADS)
def test_softmax_regression_reaches_scikit_learn(spread):
    v = L.softmax_view(spread)
    assert v["loss_engine"] == pytest.approx(v["loss_sk"], abs=5e-4)
    assert v["agree"] > 0.99
    assert np.allclose(v["P"].sum(1), 1)


def test_step5_demo_outputs():
    outs = L.LESSON.step("categorical").run({"point": 180})
    cs = charts(outs)
    assert len(cs) == 2 and "bar" in marks(spec(cs[1]))
    v = L.softmax_view(0.3)
    y = v["split"].y_train
    assert metrics(outs)["Loss of point 180"] == f"{-np.log(v['P'][179, y[179]]):.4f}"
    assert f"{v['loss_sk']:.4f}" in cs[1].caption


# ---------------------------------------------------------------- step 6


def test_cross_entropy_identity_and_kl_nonnegative():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6) * 0.5)
        assert L.cross_entropy(p, q) == pytest.approx(L.entropy(p) + L.kl(p, q), abs=1e-12)
        assert L.kl(p, q) == pytest.approx(stats.entropy(p, q), abs=1e-12)
        assert L.entropy(p) == pytest.approx(stats.entropy(p), abs=1e-12)
        assert L.kl(p, q) > 0
        assert L.kl(p, p) == pytest.approx(0, abs=1e-15)
    kls = [L.kl(L.DIE, L.mixed(a)) for a in np.linspace(0, 1, 21)]
    assert kls[0] == 0 and all(k > 0 for k in kls[1:])


def test_maximum_likelihood_drives_kl_to_the_sample_down():
    sample = L.die_sample(100)
    fit = L.fit_categorical(sample, 6)
    assert fit.kl.is_monotonic_decreasing and fit.kl.iloc[-1] < 1e-3 * fit.kl.iloc[0]
    assert np.allclose(fit.nll - fit.kl, fit.entropy, atol=1e-12)
    assert L.fit_categorical(sample, 6, steps=1000).kl.iloc[-1] < 1e-9
    p_hat = np.bincount(sample, minlength=6) / len(sample)  # the closed-form maximum-likelihood fit
    assert L.kl(p_hat, p_hat) == 0
    nll = lambda q: -np.log(q[sample]).mean()  # noqa: E731
    rng = np.random.default_rng(1)
    assert all(nll(p_hat) < nll(rng.dirichlet(np.ones(6))) for _ in range(100))


def test_step6_demo_outputs():
    outs = L.LESSON.step("kl").run()
    m = metrics(outs)
    assert m["H(p) + KL(p ‖ q)"] == m["H(p, q)"]
    assert len(charts(outs)) == 3
    outs = L.LESSON.step("kl").run({"alpha": 0.0, "n": 20})
    assert metrics(outs)["KL(p ‖ q)"] == "0.0000"


# ---------------------------------------------------------------- step 7


def test_least_absolute_deviation_matches_scikit_learn():
    from sklearn.linear_model import QuantileRegressor

    x, y, _ = L.outlier_data(3, 8.0)
    ours = L.least_absolute(x, y)
    qr = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x[:, None], y)
    sad = lambda t: np.abs(y - t[0] * x - t[1]).sum()  # noqa: E731 - the optimum may not be unique
    assert sad(ours) == pytest.approx(sad([qr.coef_[0], qr.intercept_]), rel=1e-9)


def test_mae_moves_less_than_mse_with_outliers():
    for count in range(1, 9):
        for offset in np.arange(4.0, 20.5, 0.5):  # outliers at least 5 noise sigmas away
            moved = L.robust_view(count, float(offset))["moved"]
            assert moved["mae"] < moved["mse"]
    outs = L.LESSON.step("noise").run()
    n = notes(outs)[0]
    moved = L.robust_view(3, 8.0)["moved"]
    assert n.kind == "success" and f"MSE line moved {moved['mse']:.3f}" in n.text
    assert f"the MAE line {moved['mae']:.3f}" in n.text
    assert len(charts(outs)) == 4


# ---------------------------------------------------------------- the lesson as a whole


def test_lesson_shape_and_quiz():
    les = L.LESSON
    assert les.id == "losses" and les.number == 3 and len(les.steps) == 8
    for s in les.steps[:7]:
        assert s.narrative and s.equations and s.demo and s.notice and s.checks()
    quiz = les.steps[7].checks()
    assert len(quiz) >= 3
    for s in les.steps:
        for q in s.checks():
            assert len(q.explanations) == len(q.options) and all(q.explanations)
            assert 0 <= q.answer < len(q.options)


def test_shipped_cache_holds_the_trained_views():
    shipped = Cache(local_dir=SHIPPED_DIR, shipped_dir=None)
    for e in L.experiments():
        assert shipped.get(e) is not None, f"run python -m engine.precompute lessons.losses:experiments ({e.key()})"
    assert L.logistic_experiment(0.3) in L.experiments() and L.softmax_experiment(0.3) in L.experiments()


def test_control_extremes_do_not_raise():
    for s in L.LESSON.steps:
        for c in s.controls:
            values = c.options if c.options else (c.min, c.max)
            for v in values:
                outs = s.run({c.name: v})
                for ch in charts(outs):
                    spec(ch)
