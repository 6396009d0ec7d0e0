"""Experiments are values: frozen dataclasses that describe one training run completely.

The canonical JSON of an `Experiment` (sorted keys, no whitespace) is stable across processes and,
hashed together with the engine's result-format version, is the cache key. Every field is checked
at construction: a bad value raises `ValueError` naming the field and the allowed range.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field

# bump when results change meaning; old cache entries are then recomputed.
# 2: initial weights drawn in one batched call per group (engine/rng.py) instead of a generator per run
RESULT_FORMAT_VERSION = 2
# Fields added after results were shipped, with the default that means "as before": at that default they
# are left out of an experiment's identity (to_dict, the cache key), so every earlier key stays valid.
LATER_FIELDS = {("data", "standardise"): True, ("data", "augment"): "none", ("model", "out_bias_init"): 0.0}

DATASETS = ("moons", "circles", "xor", "spiral", "gaussians", "blobs3", "digits", "autompg", "sine1d", "bump1d")
TOY_DATASETS = DATASETS[:6]  # 2-D; all binary except blobs3 (three classes)
CURVES_1D = ("sine1d", "bump1d")  # 1-D regression on an even grid of [-1, 1] (engine/data.py)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "rrelu", "crelu", "elu", "relu6",
               "gelu", "silu", "softplus", "identity")
INITS = ("auto", "torch_default", "zeros", "normal", "xavier_uniform", "xavier_normal",
         "he_uniform", "he_normal")
LOSSES = ("auto", "mse", "mae", "bce", "softmax_ce")
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw", "adamax")
SCHEDULES = ("constant", "exponential", "inverse_time", "step", "cyclic", "cosine_restarts")
AUGMENTS = ("none", "shift1")  # shift1: each training image plus its four 1-pixel shifts (digits only)


def _need(ok: bool, field_name: str, allowed: str, value) -> None:
    if not ok:
        raise ValueError(f"{field_name}={value!r} is invalid: must be {allowed}")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class DataSpec:
    name: str = "moons"  # one of DATASETS; 2-D toys are binary (blobs3: 3 classes), digits 10; autompg and the
    #                      1-D curves (sine1d, bump1d) are regression
    n: int = 300  # points generated for toy sets and curves; digits/autompg: 0 = all rows, else a seeded subsample
    noise: float = 0.2  # toy sets: input noise (moons/circles/xor/spiral) or blob spread (gaussians); curves: the
    #                     std of Gaussian noise added to the targets (0 = the exact curve)
    train_frac: float = 0.6  # the three fractions must sum to 1
    val_frac: float = 0.2
    test_frac: float = 0.2
    seed: int = 0  # drives generation and the split, so it is part of the cache key
    kfold: int = 0  # > 1: train+val are pooled and cut into kfold folds; `fold` is the validation one
    fold: int = 0
    bootstrap: int = -1  # >= 0: training rows resampled with replacement (seeded by this replica id)
    standardise: bool = True  # False: inputs as they are (raw units), for showing what scaling buys
    augment: str = "none"  # one of AUGMENTS, training rows only; left out of the JSON when "none" (old keys hold)

    def __post_init__(self):
        _need(self.name in DATASETS, "data.name", f"one of {DATASETS}", self.name)
        _need(isinstance(self.n, int) and (self.n == 0 or 20 <= self.n <= 20000), "data.n",
              "0 (all rows) or an integer in [20, 20000]", self.n)
        _need(_finite(self.noise) and 0 <= self.noise <= 5, "data.noise", "a number in [0, 5]", self.noise)
        for f in ("train_frac", "val_frac", "test_frac"):
            v = getattr(self, f)
            _need(_finite(v) and 0 <= v < 1, f"data.{f}", "a number in [0, 1)", v)
        total = self.train_frac + self.val_frac + self.test_frac
        _need(abs(total - 1) < 1e-6 and self.train_frac > 0, "data.train_frac+val_frac+test_frac",
              "fractions summing to 1 with train_frac > 0", round(total, 6))
        _need(isinstance(self.seed, int) and 0 <= self.seed < 2**31, "data.seed", "an integer in [0, 2^31)", self.seed)
        _need(isinstance(self.kfold, int) and (self.kfold == 0 or 2 <= self.kfold <= 20), "data.kfold",
              "0 (off) or an integer in [2, 20]", self.kfold)
        _need(isinstance(self.fold, int) and 0 <= self.fold < max(self.kfold, 1), "data.fold",
              f"an integer in [0, {max(self.kfold, 1) - 1}]", self.fold)
        _need(isinstance(self.bootstrap, int) and self.bootstrap >= -1, "data.bootstrap",
              "-1 (off) or a replica id >= 0", self.bootstrap)
        _need(isinstance(self.standardise, bool), "data.standardise", "True or False", self.standardise)
        _need(self.augment in AUGMENTS and (self.augment == "none" or self.name == "digits"), "data.augment",
              f"one of {AUGMENTS} (anything but none needs digits)", self.augment)

    @property
    def task(self) -> str:
        if self.name in CURVES_1D:
            return "regression"
        return {"digits": "multiclass", "blobs3": "multiclass", "autompg": "regression"}.get(self.name, "binary")


@dataclass(frozen=True)
class ModelSpec:
    hidden: tuple = (16, 16)  # hidden layer widths; () is a linear / logistic model
    activation: str = "tanh"  # one of ACTIVATIONS, used by every hidden layer
    act_param: float = 0.01  # leaky_relu negative slope; elu alpha (use 1.0); ignored otherwise
    rrelu_lower: float = 1 / 8  # rrelu slope ~ U(lower, upper) in training, (lower+upper)/2 in eval
    rrelu_upper: float = 1 / 3
    prelu_init: float = 0.25  # initial learned slope of every prelu unit (He et al. 2015)
    init: str = "auto"  # one of INITS; auto = He for the ReLU family, Xavier otherwise
    init_std: float = 0.01  # std of init="normal" (the lectures' "small random")
    bias_init: float = 0.0  # constant for hidden biases; negative values help kill ReLU units
    out_bias_init: float = 0.0  # constant for the output biases: a large one starts the model confidently wrong
    batch_norm: bool = False  # batch norm before each hidden activation
    dropout: float = 0.0  # inverted dropout probability on hidden activations (training only)

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        _need(len(self.hidden) <= 12 and all(isinstance(w, int) and 1 <= w <= 1024 for w in self.hidden),
              "model.hidden", "up to 12 integer widths in [1, 1024]", self.hidden)
        _need(self.activation in ACTIVATIONS, "model.activation", f"one of {ACTIVATIONS}", self.activation)
        _need(_finite(self.act_param) and 0 <= self.act_param <= 10, "model.act_param", "a number in [0, 10]",
              self.act_param)
        lo, hi = self.rrelu_lower, self.rrelu_upper
        _need(_finite(lo) and _finite(hi) and 0 <= lo <= hi <= 1,
              "model.rrelu_lower/rrelu_upper", "0 <= lower <= upper <= 1", (self.rrelu_lower, self.rrelu_upper))
        _need(_finite(self.prelu_init) and 0 <= self.prelu_init <= 1, "model.prelu_init", "a number in [0, 1]",
              self.prelu_init)
        _need(self.init in INITS, "model.init", f"one of {INITS}", self.init)
        _need(_finite(self.init_std) and 0 < self.init_std <= 100, "model.init_std", "a number in (0, 100]",
              self.init_std)
        _need(_finite(self.bias_init) and abs(self.bias_init) <= 100, "model.bias_init", "a number in [-100, 100]",
              self.bias_init)
        _need(_finite(self.out_bias_init) and abs(self.out_bias_init) <= 100, "model.out_bias_init",
              "a number in [-100, 100]", self.out_bias_init)
        _need(isinstance(self.batch_norm, bool), "model.batch_norm", "True or False", self.batch_norm)
        _need(_finite(self.dropout) and 0 <= self.dropout < 1, "model.dropout", "a number in [0, 1)", self.dropout)


@dataclass(frozen=True)
class OptimSpec:
    name: str = "adam"  # one of OPTIMIZERS (SGD takes momentum and nesterov)
    lr: float = 0.01
    momentum: float = 0.0  # sgd (and rmsprop) momentum
    nesterov: bool = False  # sgd only, needs momentum > 0
    beta1: float = 0.9  # adam/adamw/adamax
    beta2: float = 0.999
    alpha: float = 0.99  # rmsprop smoothing constant
    eps: float = 1e-8  # torch defaults: 1e-8, but adagrad's is 1e-10 (set it explicitly to match)
    weight_decay: float = 0.0  # adamw's decoupled decay; L2 in the loss lives in RegSpec
    schedule: str = "constant"  # one of SCHEDULES
    decay_rate: float = 0.5  # exponential: lr * rate^(t/decay_steps); inverse_time: lr / (1 + rate*t/decay_steps)
    decay_steps: int = 100
    step_size: int = 100  # step: lr * gamma^floor(t/step_size); cyclic: half-period in steps
    gamma: float = 0.5
    max_lr_factor: float = 6.0  # cyclic: lr oscillates between lr and lr * max_lr_factor (triangular)
    t0: int = 100  # cosine_restarts: first period; each next one is t_mult times longer
    t_mult: int = 2
    min_lr_factor: float = 0.0  # cosine_restarts: eta_min = lr * min_lr_factor

    def __post_init__(self):
        _need(self.name in OPTIMIZERS, "optim.name", f"one of {OPTIMIZERS}", self.name)
        _need(_finite(self.lr) and 0 < self.lr <= 1e3, "optim.lr", "a number in (0, 1000]", self.lr)
        _need(_finite(self.momentum) and 0 <= self.momentum < 1, "optim.momentum", "a number in [0, 1)", self.momentum)
        _need(isinstance(self.nesterov, bool) and (not self.nesterov or self.momentum > 0), "optim.nesterov",
              "False, or True with momentum > 0", self.nesterov)
        for f in ("beta1", "beta2", "alpha"):
            v = getattr(self, f)
            _need(_finite(v) and 0 <= v < 1, f"optim.{f}", "a number in [0, 1)", v)
        _need(_finite(self.eps) and 0 < self.eps <= 1, "optim.eps", "a number in (0, 1]", self.eps)
        _need(_finite(self.weight_decay) and 0 <= self.weight_decay <= 10, "optim.weight_decay", "a number in [0, 10]",
              self.weight_decay)
        _need(self.schedule in SCHEDULES, "optim.schedule", f"one of {SCHEDULES}", self.schedule)
        _need(_finite(self.decay_rate) and 0 < self.decay_rate <= 100, "optim.decay_rate", "a number in (0, 100]",
              self.decay_rate)
        _need(_finite(self.gamma) and 0 < self.gamma <= 1, "optim.gamma", "a number in (0, 1]", self.gamma)
        for f in ("decay_steps", "step_size", "t0", "t_mult"):
            v = getattr(self, f)
            _need(isinstance(v, int) and 1 <= v <= 10**6, f"optim.{f}", "an integer in [1, 1e6]", v)
        _need(_finite(self.max_lr_factor) and 1 <= self.max_lr_factor <= 1e3, "optim.max_lr_factor",
              "a number in [1, 1000]", self.max_lr_factor)
        _need(_finite(self.min_lr_factor) and 0 <= self.min_lr_factor <= 1, "optim.min_lr_factor",
              "a number in [0, 1]", self.min_lr_factor)


@dataclass(frozen=True)
class RegSpec:
    l1: float = 0.0  # lambda * sum|w| over weights (not biases), added to the mean data loss
    l2: float = 0.0  # lambda * sum w^2 over weights (not biases)
    input_noise: float = 0.0  # std of Gaussian noise added to standardised training inputs each step
    label_smoothing: float = 0.0  # targets become (1 - eps) / (eps / (k - 1)); binary: 1-eps / eps

    def __post_init__(self):
        for f in ("l1", "l2"):
            v = getattr(self, f)
            _need(_finite(v) and 0 <= v <= 100, f"reg.{f}", "a number in [0, 100]", v)
        _need(_finite(self.input_noise) and 0 <= self.input_noise <= 10, "reg.input_noise", "a number in [0, 10]",
              self.input_noise)
        _need(_finite(self.label_smoothing) and 0 <= self.label_smoothing < 0.5, "reg.label_smoothing",
              "a number in [0, 0.5)", self.label_smoothing)


@dataclass(frozen=True)
class TrainSpec:
    loss: str = "auto"  # one of LOSSES; auto = bce (binary), softmax_ce (multiclass), mse (regression)
    steps: int = 500  # optimizer updates (ignored when epochs > 0)
    epochs: int = 0  # > 0: steps = epochs * floor(n_train / batch_size) (the last partial batch is dropped)
    batch_size: int = 0  # 0 = full batch; else minibatches drawn by reshuffling every epoch
    patience: int = 0  # early stopping: > 0 stops after this many evaluations without a better val loss
    restore_best: bool = True  # with early stopping, end with the weights of the best evaluation
    record_every: int = 5  # evaluate and log the history every k steps (and at the first and last)
    snapshot_steps: tuple = ()  # 2-D data: decision-surface snapshots after these update counts
    grid: int = 60  # snapshot resolution (grid x grid)

    def __post_init__(self):
        object.__setattr__(self, "snapshot_steps", tuple(sorted(set(self.snapshot_steps))))
        _need(self.loss in LOSSES, "train.loss", f"one of {LOSSES}", self.loss)
        _need(isinstance(self.steps, int) and 1 <= self.steps <= 200_000, "train.steps", "an integer in [1, 200000]",
              self.steps)
        _need(isinstance(self.epochs, int) and 0 <= self.epochs <= 10_000, "train.epochs", "an integer in [0, 10000]",
              self.epochs)
        _need(isinstance(self.batch_size, int) and 0 <= self.batch_size <= 100_000, "train.batch_size",
              "0 (full batch) or a positive integer", self.batch_size)
        _need(isinstance(self.patience, int) and 0 <= self.patience <= 10_000, "train.patience",
              "an integer in [0, 10000]", self.patience)
        _need(isinstance(self.record_every, int) and 1 <= self.record_every <= 100_000, "train.record_every",
              "an integer >= 1", self.record_every)
        _need(all(isinstance(s, int) and 0 <= s <= 200_000 for s in self.snapshot_steps), "train.snapshot_steps",
              "update counts in [0, 200000]", self.snapshot_steps)
        _need(isinstance(self.grid, int) and 8 <= self.grid <= 300, "train.grid", "an integer in [8, 300]", self.grid)


@dataclass(frozen=True)
class Experiment:
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    reg: RegSpec = field(default_factory=RegSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    seed: int = 0  # initialisation, dropout masks, minibatch order, noise (data has its own seed)

    def __post_init__(self):
        for f, cls in (("data", DataSpec), ("model", ModelSpec), ("optim", OptimSpec), ("reg", RegSpec),
                       ("train", TrainSpec)):
            _need(isinstance(getattr(self, f), cls), f, f"a {cls.__name__}", type(getattr(self, f)).__name__)
        _need(isinstance(self.seed, int) and 0 <= self.seed < 2**31, "seed", "an integer in [0, 2^31)", self.seed)
        task = self.data.task
        ok = {"binary": ("auto", "bce", "mse"), "multiclass": ("auto", "softmax_ce", "mse"),
              "regression": ("auto", "mse", "mae")}[task]
        _need(self.train.loss in ok, "train.loss", f"one of {ok} for {task} data", self.train.loss)
        if self.data.name not in TOY_DATASETS:
            _need(not self.train.snapshot_steps, "train.snapshot_steps", "empty unless the data is 2-D",
                  self.train.snapshot_steps)

    # -- identity -------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for (part, name), default in LATER_FIELDS.items():
            if d[part][name] == default:
                del d[part][name]
        return d

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, floats by repr; the same in every process."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def key(self) -> str:
        blob = f"v{RESULT_FORMAT_VERSION}:{self.to_json()}".encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    @classmethod
    def from_dict(cls, d: dict) -> "Experiment":
        return cls(data=DataSpec(**d["data"]), model=ModelSpec(**{**d["model"], "hidden": tuple(d["model"]["hidden"])}),
                   optim=OptimSpec(**d["optim"]), reg=RegSpec(**d["reg"]),
                   train=TrainSpec(**{**d["train"], "snapshot_steps": tuple(d["train"]["snapshot_steps"])}),
                   seed=d["seed"])

    @property
    def loss(self) -> str:
        if self.train.loss != "auto":
            return self.train.loss
        return {"binary": "bce", "multiclass": "softmax_ce", "regression": "mse"}[self.data.task]

    def replace(self, **parts) -> "Experiment":
        """exp.replace(model=dict(activation="relu"), seed=3): nested fields by dict."""
        kw = {}
        for k, v in parts.items():
            cur = getattr(self, k)
            kw[k] = dataclasses.replace(cur, **v) if isinstance(v, dict) and dataclasses.is_dataclass(cur) else v
        return dataclasses.replace(self, **kw)
