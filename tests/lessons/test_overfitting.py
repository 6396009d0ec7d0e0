"""Lesson 5: every number its captions and notices state, checked against the runs and closed forms."""
import numpy as np
import pytest
from sklearn.model_selection import KFold

from engine import data as D
from engine import run_many
from lessons import overfitting as O
from lessons.walkthrough import Chart, Columns, Metric, Note, Table


def _charts(outs):
    for o in outs:
        if isinstance(o, Chart):
            yield o
        elif isinstance(o, Columns):
            for col in o.cols:
                yield from (x for x in col if isinstance(x, Chart))


@pytest.fixture(scope="module")
def capacity():
    return run_many(O.capacity_experiments())


def test_capacity_claims(capacity):
    tab = O.capacity_table(capacity).set_index("network")
    assert list(tab["parameters"]) == [41, 621, 6571]  # narrative
    gaps = tab["gap (val - train)"]
    assert gaps.is_monotonic_increasing  # the gap grows with capacity
    assert 1.5 < gaps["3-2-1"] < 2.5 and 11 < gaps["30-10-1"] < 13 and 19 < gaps["100-50-10-1"] < 21
    big = tab.loc["100-50-10-1"]
    assert big["train loss"] < 0.15 and big["at step"] == 140 and 8.9 < big["lowest val loss"] < 9.2
    assert big["val loss"] > 2 * big["lowest val loss"]  # "ends more than twice as high"
    assert tab["train loss"].idxmax() == "3-2-1"  # the small net underfits
    h = capacity[-1].history  # training loss keeps falling after the validation minimum
    assert h["train_loss"].iloc[-1] < h.loc[h["step"] == 140, "train_loss"].iloc[0]


def test_three_splits_and_selection():
    res = run_many(O.selection_experiments())
    s = D.load(res[0].config.data)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (236, 78, 78)
    df, best = O.select_model(res)
    assert O.SELECT_WIDTHS[best] == 32 and best == int(df["val"].idxmin())
    assert df["train"].idxmin() == len(O.SELECT_WIDTHS) - 1  # the widest fits training best
    # the three sets are disjoint rows of the table
    rows = [set(map(tuple, np.c_[getattr(s, f"raw_{n}"), getattr(s, f"y_{n}")])) for n in ("train", "val", "test")]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])


def test_early_stopping_restores_the_best_evaluation():
    full, es = run_many(O.stopping_experiments(10, True))
    step_best, val_best = O.best_step(full)
    assert step_best == 140 and 9.0 < val_best < 9.1
    assert es.meta["stopped_at"] == 360 == step_best + 11 * O.RECORD
    assert es.final["val_loss"] == pytest.approx(val_best, rel=1e-5)
    assert es.final["val_loss"] == pytest.approx(es.history["val_loss"].min(), rel=1e-5)
    assert 19.5 < full.final["val_loss"] < 21  # "rises to about 20"
    assert es.final["test_loss"] < full.final["test_loss"]
    _, keep = run_many(O.stopping_experiments(10, False))
    assert keep.final["val_loss"] > es.final["val_loss"]


def test_kfold_partitions_the_pool_like_sklearn():
    for k in (2, 5, 10):
        tab = O.fold_table(k)
        assign = O.fold_assignment(k)
        assert (assign >= 0).all() and len(assign) == 314
        assert (np.bincount(assign) == tab["held-out rows"].to_numpy()).all()
        assert (tab["held-out rows"] == tab["KFold held out"]).all() and (tab["train rows"] == tab["KFold train"]).all()
        sk = sorted(len(te) for _, te in KFold(n_splits=k).split(np.arange(314)))
        assert sorted(tab["held-out rows"]) == sk
    five = O.fold_table(5)
    assert set(five["held-out rows"]) == {62, 63}


def test_kfold_scores_and_notice():
    res = run_many(O.kfold_experiments(5))
    scores = np.array([r.final["val_loss"] for r in res])
    assert 8.4 < scores.min() < 8.6 and 11.5 < scores.max() < 11.8
    outs = O.LESSON.step("kfold").run({})
    note = [o.text for o in outs if isinstance(o, Note)][0]
    assert "**True**" in note and "**False**" not in note
    metrics = {m.label: m.value for m in outs if isinstance(m, Metric)}
    assert metrics["CV estimate"] == f"{scores.mean():.2f}"


def test_bias_variance_claims():
    c = O.bias_variance_curve().set_index("degree")
    assert 0.18 < c.loc[1, "bias²"] < 0.22
    assert (c.loc[5:, "bias²"] < 1e-3).all()
    assert c["variance"].is_monotonic_increasing
    assert c.loc[12, "variance"] > 10 * c.loc[3, "variance"]
    assert int(c["expected test error"].idxmin()) == 3
    assert int(O.bias_variance_curve(n=60)["expected test error"].idxmin()) == 5
    # the decomposition: average squared error of the fits against fresh noisy targets
    bv = O.bias_variance(4, 0.3, 25)
    rng = np.random.default_rng(1)
    f = O.truth(bv["x"])
    y = f + rng.normal(0, 0.3, bv["fits"].shape)
    assert ((y - bv["fits"]) ** 2).mean() == pytest.approx(bv["test_error"], rel=0.05)
    # more data mainly cuts variance
    assert O.bias_variance(8, 0.3, 60)["variance"] < O.bias_variance(8, 0.3, 15)["variance"] / 4


def test_features_claims():
    e = O.rbf_errors().set_index("features")
    assert (e.loc[20:, "train"] < 1e-6).all() and (e.loc[:19, "train"] > 1e-3).all()
    assert int(e["test"].idxmin()) == 8
    assert e.loc[20, "test"] > 100 * e["test"].min()
    # least squares checked against the normal equations where they are well posed
    xtr, ytr, _, _ = O.rbf_data()
    P = O.rbf_features(xtr, 5)
    np.testing.assert_allclose(O.rbf_fit(xtr, ytr, 5), np.linalg.solve(P.T @ P, P.T @ ytr), rtol=1e-6)


def test_collinear_claims():
    s0 = O.collinear_coefficients(0.0)[:, 0].std()
    b = O.collinear_coefficients(0.99)
    ratio = b[:, 0].std() / s0
    assert 6.5 < ratio < 7.5 and ratio == pytest.approx(1 / np.sqrt(1 - 0.99 ** 2), rel=0.05)
    assert np.corrcoef(b.T)[0, 1] < -0.98
    sums = [O.collinear_coefficients(r).sum(1).std() for r in O.CORRS]
    assert all(0.14 < s < 0.23 for s in sums)


def test_bottleneck_claims():
    res = run_many(O.bottleneck_experiments())
    acc = {w: r.final["test_metric"] for w, r in zip(O.BOTTLENECKS, res)}
    assert acc[1] < acc[2] < acc[4]
    assert 0.74 < acc[2] < 0.78 and 0.96 < acc[32] < 0.98
    two = res[O.BOTTLENECKS.index(2)]
    assert two.final["train_metric"] > 0.99
    codes = O.bottleneck_codes(two)
    assert codes.shape == (len(D.load(two.config.data).y_test), 3)
    assert codes[["unit 1", "unit 2"]].abs().max().max() <= 1


@pytest.mark.parametrize("step", [s.id for s in O.LESSON.steps if s.demo is not None])
def test_every_default_view_draws(step):
    outs = O.LESSON.step(step).run({})
    charts = list(_charts(outs))
    assert charts, step
    for c in charts:
        spec = c.chart.to_dict()
        assert spec.get("data") or spec.get("datasets")
    assert not [o for o in outs if isinstance(o, Note) and o.kind == "error"]


def test_lesson_shape():
    L = O.LESSON
    assert (L.id, L.number, L.title) == ("overfitting", 5, "Overfitting and validation")
    assert len({s.id for s in L.steps}) == len(L.steps)
    for s in L.steps:
        for q in s.checks():
            assert len(q.options) == len(q.explanations) and 0 <= q.answer < len(q.options)
        for _, values in s.presets:
            for k, v in values.items():
                assert s.control(k).parse(v) == (v, None)
    assert len(L.steps[-1].questions) >= 3
    keys = {e.key() for e in O.experiments()}
    from engine.cache import SHIPPED_DIR
    shipped = {p.name.split(".")[0] for p in SHIPPED_DIR.glob("*.json")}
    assert keys <= shipped, "run: python -m engine.precompute lessons.overfitting:experiments"


def test_tables_carry_their_numbers():
    outs = O.LESSON.step("capacity").run({})
    tab = [o for o in outs if isinstance(o, Table)][0].df
    assert list(tab["network"]) == list(O.CAPACITIES)
