"""lessons.claims itself: measuring over seeds, counting, spread, filling notes."""
import math

import numpy as np
import pandas as pd
import pytest

from engine import DataSpec, Experiment, ModelSpec, OptimSpec, TrainSpec
from lessons import charts
from lessons.claims import Claim, fill, measure, placeholders


def _exp(seed, lr):
    return Experiment(data=DataSpec("moons", n=100, seed=seed), model=ModelSpec(hidden=(4,)),
                      optim=OptimSpec("sgd", lr=lr), train=TrainSpec(steps=20, record_every=10), seed=seed)


CLAIM = Claim("faster", experiments=lambda s: [_exp(s, 0.01), _exp(s, 0.5)],
              statistic=lambda r: {"gain": r[0].final["train_loss"] - r[1].final["train_loss"]},
              holds=lambda v: v["gain"] > 0)


def test_measure_counts_seeds_and_matches_the_runs():
    ev = CLAIM.measure(cache=False)
    assert ev.n == 10 and list(ev.table["seed"]) == list(range(10))
    assert ev.held == int((ev.table["gain"] > 0).sum())
    assert ev.of == f"{ev.held} of 10 seeds"
    g = ev.table["gain"].to_numpy()
    assert ev["gain"] == pytest.approx(g.mean()) and ev.sd["gain"] == pytest.approx(g.std(ddof=1))
    assert ev.lo["gain"] == pytest.approx(g.min()) and ev.hi["gain"] == pytest.approx(g.max())
    assert ev.stands  # a 50x larger learning rate lowers the loss after 20 steps, every seed
    assert ev.held == 10


def test_fewer_seeds_scale_what_is_needed():
    ev = CLAIM.measure(cache=False, seeds=(0, 1, 2, 3, 4))
    assert ev.n == 5 and ev.needed == 4


def test_claims_need_ten_seeds_and_an_identifier():
    with pytest.raises(ValueError):
        Claim("x", CLAIM.experiments, CLAIM.statistic, CLAIM.holds, seeds=(0, 1, 2))
    with pytest.raises(ValueError):
        Claim("not an id", CLAIM.experiments, CLAIM.statistic, CLAIM.holds)


def test_a_statistic_that_fails_or_is_nan_does_not_hold():
    bad = Claim("bad", CLAIM.experiments, lambda r: {"gain": float("nan")}, lambda v: True)
    boom = Claim("boom", CLAIM.experiments, lambda r: {"gain": 1 / 0}, lambda v: True)
    ev = measure([bad, boom], cache=False, seeds=range(10))
    assert ev["bad"].held == 0 and ev["boom"].held == 0
    assert math.isnan(ev["bad"]["gain"])


def test_fill_quotes_evidence_and_leaves_latex_alone():
    ev = {"faster": CLAIM.measure(cache=False)}
    text = r"Lower in {faster.of} (mean {faster[gain]:.3f} ± {faster.sd[gain]:.3f}); $\frac{1}{2}$ {other}"
    out = fill(text, ev)
    assert "10 of 10 seeds" in out and r"$\frac{1}{2}$" in out and "{other}" in out
    assert f"{ev['faster']['gain']:.3f}" in out
    assert placeholders(text, ev) == {"faster"} and not placeholders(out, ev)
    with pytest.raises(KeyError):
        fill("{faster[nope]}", ev)


def test_seed_charts_carry_every_seed():
    ev = CLAIM.measure(cache=False)
    spec = charts.evidence_chart(ev, "gain").to_dict()
    rows = [r for d in spec["datasets"].values() for r in d if "seed" in r]
    assert sorted(r["seed"] for r in rows) == list(range(10))
    df = ev.table.assign(lr="0.5")
    spec = charts.seed_chart(df, "lr", "gain").to_dict()
    assert {"errorbar", "circle", "line"} <= {lay["mark"]["type"] if isinstance(lay["mark"], dict) else lay["mark"]
                                               for lay in spec["layer"]}
    curves = charts.seed_curves(df.assign(step=1), "step", "gain").to_dict()
    assert len(curves["layer"]) == 2 and np.isfinite(ev["gain"])


def test_seed_charts_rename_columns_vega_lite_would_read_as_paths():
    df = pd.DataFrame({"seed": range(4), "λ": ["0.1"] * 4, "share of |w| < 0.01": [0.1, 0.2, 0.3, 0.4]})
    spec = charts.seed_chart(df, "λ", "share of |w| < 0.01").to_dict()
    layer = spec["layer"][1]["encoding"]
    assert layer["y"]["field"] == "share of |w| < 0_01" and layer["y"]["title"] == "share of |w| < 0.01"
    rows = next(iter(spec["datasets"].values()))
    assert rows[0]["share of |w| < 0_01"] == 0.1
    curves = charts.seed_curves(df.assign(step=1), "step", "share of |w| < 0.01").to_dict()
    assert curves["layer"][0]["encoding"]["y"]["title"] == "share of |w| < 0.01"
