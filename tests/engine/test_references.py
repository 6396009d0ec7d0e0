"""Training reaches the closed-form / scikit-learn solutions of the same objectives."""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, RegSpec, TrainSpec, run
from engine import data as D

AUTO = DataSpec("autompg", n=0, seed=1)


def _linear(reg=RegSpec(), steps=4000, lr=0.05, data=AUTO, loss="auto"):
    return Experiment(data=data, model=ModelSpec(hidden=(), init="zeros"), optim=OptimSpec("adam", lr=lr),
                      reg=reg, train=TrainSpec(steps=steps, record_every=1000, loss=loss))


def test_linear_regression_by_gradient_descent_reaches_least_squares():
    exp = _linear()
    res = run(exp, cache=False)
    s = D.load(AUTO)
    A = np.c_[s.X_train, np.ones(len(s.X_train))]
    coef, *_ = np.linalg.lstsq(A, s.y_train, rcond=None)
    mse_ls = np.mean((A @ coef - s.y_train) ** 2)
    assert res.final["train_loss"] == pytest.approx(mse_ls, rel=2e-3)
    r2 = 1 - mse_ls / np.var(s.y_train)
    assert res.final["train_metric"] == pytest.approx(r2, abs=2e-3)


def test_l2_penalty_reaches_sklearn_ridge():
    lam = 0.05
    s = D.load(AUTO)
    n = len(s.X_train)
    # ours: mean (y - Xw - b)^2 + lam |w|^2  ==  (1/n) [ |y - Xw - b|^2 + n lam |w|^2 ]
    ridge = Ridge(alpha=n * lam).fit(s.X_train, s.y_train)
    res = run(_linear(reg=RegSpec(l2=lam), steps=5000), cache=False)
    mse = np.mean((ridge.predict(s.X_train) - s.y_train) ** 2)
    obj_ridge = mse + lam * np.sum(ridge.coef_ ** 2)
    w_norm = res.history["weight_norm_1"].iloc[-1]
    assert w_norm == pytest.approx(np.linalg.norm(ridge.coef_), rel=1e-2)
    assert res.final["train_loss"] + lam * w_norm ** 2 == pytest.approx(obj_ridge, rel=1e-3)


def test_single_sigmoid_unit_reaches_unpenalised_logistic_regression():
    data = DataSpec("gaussians", n=400, noise=0.3, seed=3)
    res = run(_linear(data=data, steps=3000, lr=0.05), cache=False)
    s = D.load(data)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(s.X_train, s.y_train)
    p = lr.predict_proba(s.X_train)[:, 1]
    y = s.y_train
    nll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert res.final["train_loss"] == pytest.approx(nll, rel=1e-3)
    assert res.history["weight_norm_1"].iloc[-1] == pytest.approx(np.linalg.norm(lr.coef_), rel=1e-2)
    assert res.final["train_metric"] == pytest.approx(lr.score(s.X_train, y), abs=1e-6)
