"""Data sets that ship with the code, deterministic train/val/test splits, and standardisation.

Toys (2-D): moons, circles, xor, spiral, gaussians (binary) and blobs3 (three classes), generated
from `DataSpec.seed`.
digits: scikit-learn's bundled `load_digits` (1797 8x8 images, 10 classes).
autompg: the Auto MPG table in `assets/data/auto_mpg.csv` (regression; see its README).
Curves (1-D regression): sine1d, y = sin(2 pi x), and bump1d, y = exp(-x^2 / (2 * 0.25^2)), at `n`
evenly spaced x on [-1, 1], plus Gaussian target noise of std `noise` (0: the exact curve). Their
split is not shuffled but interleaved: the held-out rows are spread evenly between the ends (which
always train), and alternate between validation and test in proportion to their fractions. With
n = 201 and fractions 0.5 / 0.25 / 0.25, training is the 101 points x = -1, -0.98, ..., 1 and
validation and test alternate on the 100 midpoints between them.

Augmentation (`DataSpec.augment`, digits only) adds transformed copies of the training rows after
the split: "shift1" appends each image moved by one pixel up, down, left and right (zero fill), so
the training set is five times larger; validation and test rows are never touched.

Inputs are standardised with statistics of the training rows only (weighted by the k-fold /
bootstrap sample weights), so validation and test rows never leak into the scaling. With
`DataSpec(standardise=False)` the inputs stay in their own units (mean 0, std 1 are used instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import CURVES_1D, DataSpec

ASSETS = Path(__file__).resolve().parent.parent / "assets"
AUTOMPG_FEATURES = ("cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year",
                    "origin_usa", "origin_europe", "origin_japan")


@dataclass(frozen=True)
class Split:
    """One data set cut into train / val / test. `X_*` are standardised, `raw_*` are not."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    w_train: np.ndarray  # per-row training weight: 1, 0 (held-out fold) or a bootstrap count
    w_val: np.ndarray  # per-row validation weight (k-fold: 1 on the held-out fold only)
    raw_train: np.ndarray
    raw_val: np.ndarray
    raw_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    task: str  # binary | multiclass | regression
    n_classes: int  # 2 for binary, 10 for digits, 0 for regression
    feature_names: tuple

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == "multiclass" else 1

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        return ((np.asarray(raw, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def extent(self, pad: float = 0.15) -> tuple:
        """(xmin, xmax, ymin, ymax) of all raw points, padded: the window of decision surfaces."""
        allx = np.concatenate([self.raw_train, self.raw_val, self.raw_test])
        lo, hi = allx.min(0), allx.max(0)
        span = hi - lo
        lo, hi = lo - pad * span, hi + pad * span
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


# ---------------------------------------------------------------- generators


def _toy(name: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    y = np.r_[np.zeros(half), np.ones(n - half)]
    if name == "moons":  # two interleaving half circles
        t = rng.uniform(0, np.pi, n)
        X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
        X = X + rng.normal(0, noise, X.shape)
    elif name == "circles":  # a disc inside a ring (radius 0.5 and 1)
        t = rng.uniform(0, 2 * np.pi, n)
        r = np.where(y == 0, 1.0, 0.5)
        X = np.c_[r * np.cos(t), r * np.sin(t)] + rng.normal(0, noise * 0.5, (n, 2))
    elif name == "xor":  # label is the sign of x*y
        X = rng.uniform(-1, 1, (n, 2))
        X[:, 1] = np.abs(X[:, 1]) * np.where(y == 1, np.sign(X[:, 0]), -np.sign(X[:, 0]))
        X = X + rng.normal(0, noise * 0.5, X.shape)
    elif name == "spiral":  # two interleaved arms, 1.5 turns each
        t = np.sqrt(rng.uniform(0.02, 1, n))
        ang = 3 * np.pi * t + np.pi * y
        X = np.c_[t * np.cos(ang), t * np.sin(ang)] + rng.normal(0, noise * 0.15, (n, 2))
    elif name == "gaussians":  # two blobs whose spread grows with noise
        centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
        X = centers[y.astype(int)] + rng.normal(0, 0.3 + 2.5 * noise, (n, 2))
    elif name == "blobs3":  # three blobs on a triangle: a 2-D, three-class set for softmax
        y = np.arange(n) % 3
        centers = np.array([[0.0, 1.2], [-1.1, -0.7], [1.1, -0.7]])
        X = centers[y] + rng.normal(0, 0.3 + 2.5 * noise, (n, 2))
    else:  # pragma: no cover - DataSpec validates names
        raise ValueError(name)
    order = rng.permutation(n)  # so the split does not depend on class order
    return X[order].astype(np.float64), y[order]


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float64), d.target.astype(np.int64)


@lru_cache(maxsize=1)
def _autompg() -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    df = pd.read_csv(ASSETS / "data" / "auto_mpg.csv")
    cols = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
    X = df[cols].to_numpy(np.float64)
    onehot = np.stack([(df["origin"] == o).to_numpy(np.float64) for o in ("USA", "Europe", "Japan")], 1)
    return np.c_[X, onehot], df["mpg"].to_numpy(np.float64)


BUMP_WIDTH = 0.25
CURVES = {"sine1d": lambda x: np.sin(2 * np.pi * x),  # two periods on [-1, 1]
          "bump1d": lambda x: np.exp(-x ** 2 / (2 * BUMP_WIDTH ** 2))}


def _curve(name: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n evenly spaced x on [-1, 1] (in order) and the curve's values, plus target noise of std `noise`."""
    x = np.linspace(-1.0, 1.0, n)
    y = CURVES[name](x)
    if noise > 0:
        y = y + rng.normal(0, noise, n)
    return x[:, None], y


def interleaved_order(n: int, n_val: int, n_test: int) -> np.ndarray:
    """The curves' split as one order [test, val, train] (what `load` cuts): the n_val + n_test held-out
    rows are spread evenly over the interior, the ends train; among the held-out rows, test rows are
    spread evenly too (Bresenham), so validation and test alternate when they are equally many."""
    h = n_val + n_test
    held = np.unique(np.round(np.linspace(1, n - 2, h)).astype(int)) if h else np.zeros(0, int)
    if len(held) != h:  # pragma: no cover - DataSpec keeps train_frac > 0; only tiny n with large h
        raise ValueError(f"cannot interleave {h} held-out rows among {n}")
    i = np.arange(h)
    is_test = (i + 1) * n_test // max(h, 1) > i * n_test // max(h, 1)
    train = np.setdiff1d(np.arange(n), held)
    return np.r_[held[is_test], held[~is_test], train]


SHIFTS1 = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (rows, columns): up, down, left, right


def shift_images(X: np.ndarray, dy: int, dx: int, side: int = 8) -> np.ndarray:
    """Flattened side x side images (n, side^2) moved by (dy, dx) pixels; what moves in is 0."""
    img = X.reshape(len(X), side, side)
    out = np.zeros_like(img)
    out[:, max(dy, 0):side + min(dy, 0), max(dx, 0):side + min(dx, 0)] = \
        img[:, max(-dy, 0):side + min(-dy, 0), max(-dx, 0):side + min(-dx, 0)]
    return out.reshape(len(X), -1)


def augment_rows(X: np.ndarray, how: str) -> np.ndarray:
    """The training images followed by one block of transformed copies per transformation (same order)."""
    if how == "none":
        return X
    return np.concatenate([X] + [shift_images(X, dy, dx) for dy, dx in SHIFTS1])


def raw_data(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, tuple]:
    """All rows of the data set (before splitting) and the feature names."""
    rng = np.random.default_rng(spec.seed)
    if spec.name == "digits":
        X, y = _digits()
        names = tuple(f"px{i}" for i in range(64))
    elif spec.name == "autompg":
        X, y = _autompg()
        names = AUTOMPG_FEATURES
    elif spec.name in CURVES_1D:
        X, y = _curve(spec.name, spec.n, spec.noise, rng)
        return X, y, ("x",)
    else:
        X, y = _toy(spec.name, spec.n, spec.noise, rng)
        return X, y, ("x1", "x2")
    if 0 < spec.n < len(X):
        keep = np.sort(rng.choice(len(X), spec.n, replace=False))
        X, y = X[keep], y[keep]
    return X, y, names


@lru_cache(maxsize=64)
def load(spec: DataSpec) -> Split:
    """The deterministic split of `spec` (cached: same spec, same arrays)."""
    X, y, names = raw_data(spec)
    n = len(X)
    n_test = int(round(n * spec.test_frac))
    n_val = int(round(n * spec.val_frac))
    if spec.name in CURVES_1D:  # an even grid stays even: held-out rows interleaved, not drawn
        order = interleaved_order(n, n_val, n_test)
    else:
        rng = np.random.default_rng([spec.seed, 1])  # a stream of its own, independent of generation
        order = rng.permutation(n)
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    if spec.kfold:  # pool train+val; the held-out fold is marked by weights, not by moving rows
        pool = np.sort(np.r_[train, val])
        folds = np.array_split(np.random.default_rng([spec.seed, 2]).permutation(len(pool)), spec.kfold)
        held = np.zeros(len(pool), bool)
        held[folds[spec.fold]] = True
        train = val = pool
        w_train, w_val = (~held).astype(np.float32), held.astype(np.float32)
    else:
        w_train, w_val = np.ones(len(train), np.float32), np.ones(len(val), np.float32)
    if spec.bootstrap >= 0:  # resample the training rows with replacement: weights are counts
        boot = np.random.default_rng([spec.seed, 3, spec.bootstrap])
        live = np.flatnonzero(w_train > 0)
        counts = np.bincount(boot.choice(live, len(live), replace=True), minlength=len(train))
        w_train = counts.astype(np.float32)
    Xtr = augment_rows(X[train], spec.augment)  # copies keep their original's label and weight
    copies = len(Xtr) // len(train)
    ytr, w_train = np.tile(y[train], copies), np.tile(w_train, copies)
    wt = w_train.astype(np.float64)[:, None]
    mean = (Xtr * wt).sum(0) / wt.sum()
    std = np.sqrt(((Xtr - mean) ** 2 * wt).sum(0) / wt.sum())
    std = np.where(std < 1e-8, 1.0, std)  # constant columns (blank digit pixels) stay as they are
    if not spec.standardise:  # raw inputs: the same split, no scaling
        mean, std = np.zeros_like(mean), np.ones_like(std)

    task = spec.task
    ydt = np.int64 if task == "multiclass" else np.float32
    z = lambda rows: ((rows - mean) / std).astype(np.float32)  # noqa: E731
    arrays = dict(
        X_train=z(Xtr), y_train=ytr.astype(ydt), X_val=z(X[val]), y_val=y[val].astype(ydt),
        X_test=z(X[test]), y_test=y[test].astype(ydt), w_train=w_train, w_val=w_val,
        raw_train=Xtr, raw_val=X[val], raw_test=X[test], mean=mean, std=std,
    )
    for a in arrays.values():
        a.setflags(write=False)
    n_classes = {"binary": 2, "multiclass": int(y.max()) + 1, "regression": 0}[task]
    return Split(**arrays, task=task, n_classes=n_classes, feature_names=names)
