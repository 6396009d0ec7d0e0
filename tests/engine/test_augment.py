"""DataSpec.augment: shifted copies of the training digits, checked against scipy.ndimage.shift and
np.roll; validation and test rows untouched; keys of unaugmented experiments unchanged."""
import json

import numpy as np
import pytest
from scipy import ndimage

from engine import DataSpec, Experiment, ModelSpec, TrainSpec, run_many
from engine import data as D
from engine.cache import Cache

SPEC = DataSpec("digits", n=0, seed=4, train_frac=0.2, val_frac=0.2, test_frac=0.6)
AUG = DataSpec("digits", n=0, seed=4, train_frac=0.2, val_frac=0.2, test_frac=0.6, augment="shift1")


def test_shifted_copies_equal_ndimage_shift_and_roll_with_zero_fill():
    plain, aug = D.load(SPEC), D.load(AUG)
    n = len(plain.raw_train)
    assert aug.raw_train.shape == (5 * n, 64)
    imgs = plain.raw_train.reshape(n, 8, 8)
    np.testing.assert_array_equal(aug.raw_train[:n], plain.raw_train)
    for b, (dy, dx) in enumerate(D.SHIFTS1, start=1):
        block = aug.raw_train[b * n:(b + 1) * n].reshape(n, 8, 8)
        ref = np.stack([ndimage.shift(im, (dy, dx), order=0, mode="constant", cval=0.0) for im in imgs])
        np.testing.assert_array_equal(block, ref)
        rolled = np.roll(imgs, (dy, dx), axis=(1, 2))
        if dy:
            rolled[:, 0 if dy > 0 else -1, :] = 0
        if dx:
            rolled[:, :, 0 if dx > 0 else -1] = 0
        np.testing.assert_array_equal(block, rolled)
    np.testing.assert_array_equal(aug.y_train, np.tile(plain.y_train, 5))
    np.testing.assert_array_equal(aug.w_train, np.ones(5 * n, np.float32))


def test_validation_and_test_rows_untouched_and_scaling_from_augmented_train():
    plain, aug = D.load(SPEC), D.load(AUG)
    for part in ("raw_val", "raw_test", "y_val", "y_test", "w_val"):
        np.testing.assert_array_equal(getattr(aug, part), getattr(plain, part))
    std = aug.raw_train.std(0)
    np.testing.assert_allclose(aug.mean, aug.raw_train.mean(0))
    np.testing.assert_allclose(aug.std, np.where(std < 1e-8, 1.0, std))
    np.testing.assert_allclose(aug.X_val, aug.standardise(aug.raw_val), atol=1e-6)
    # deterministic: a fresh computation gives the same rows
    D.load.cache_clear()
    np.testing.assert_array_equal(D.load(AUG).raw_train, aug.raw_train)


def test_default_augment_leaves_keys_and_json_unchanged():
    assert Experiment().key() == "619c18757ebd05c39fd12a81"  # the key before the field existed
    assert Experiment(data=SPEC).key() == "29c1059340fe8e201706f32e"
    assert "augment" not in Experiment(data=SPEC).to_json()
    e = Experiment(data=AUG)
    assert '"augment":"shift1"' in e.to_json() and e.key() != Experiment(data=SPEC).key()
    for x in (Experiment(data=SPEC), e):
        assert Experiment.from_dict(json.loads(x.to_json())) == x


@pytest.mark.parametrize("kw", [dict(name="moons", augment="shift1"), dict(name="digits", augment="rot90")])
def test_bad_augment_rejected(kw):
    with pytest.raises(ValueError, match="data.augment"):
        DataSpec(**kw)


def test_augmented_run_trains_and_round_trips_the_cache(tmp_path):
    exps = [Experiment(data=d, model=ModelSpec(hidden=(8,), activation="relu"), train=TrainSpec(steps=20), seed=1)
            for d in (SPEC, AUG)]
    store = Cache(local_dir=tmp_path, shipped_dir=None)
    plain, aug = run_many(exps, cache=store)
    assert np.isfinite(aug.final["val_loss"]) and plain.final != aug.final
    again = store.get(exps[1])
    assert again is not None and again.final == aug.final
