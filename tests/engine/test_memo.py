"""engine.memo: plain-torch tables on disk. Round trip, keys, shipped-then-local lookup, damage."""
import numpy as np
import pandas as pd
import pytest

import engine.memo as memo
from engine.memo import Memo
from engine.precompute import precompute

CALLS = []


def table(n: int) -> pd.DataFrame:
    CALLS.append(n)
    return pd.DataFrame({"seed": np.arange(n), "how": [f"run {i}" for i in range(n)],
                         "loss": np.linspace(0.1, 1.0, n), "held": np.arange(n) % 2 == 0})


def helper():
    return 1


def other_helper():
    return 2


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    shipped, local = tmp_path / "shipped", tmp_path / "local"
    monkeypatch.setattr(memo, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(local))
    monkeypatch.delenv("ENGINE_SHIPPED_CACHE", raising=False)
    CALLS.clear()
    return shipped, local


def test_a_table_round_trips_exactly_and_is_computed_once(dirs):
    m = Memo(table, (5,))
    first = m.get()
    again = m.get()
    pd.testing.assert_frame_equal(again, table(5))  # ints, text, floats and booleans as they were
    assert CALLS == [5, 5]  # computed by get() once, then by the comparison above
    assert (dirs[1] / memo.MEMO_DIR / m.filename()).is_file()
    pd.testing.assert_frame_equal(first, again)


def test_the_key_follows_arguments_and_the_source_of_named_helpers():
    a = Memo(table, (5,), deps=(helper,))
    assert a.key() == Memo(table, (5,), deps=(helper,)).key()
    assert a.key() != Memo(table, (6,), deps=(helper,)).key()
    assert a.key() != Memo(table, (5,), deps=(other_helper,)).key()
    assert a.key() != Memo(table, (5,)).key()


def test_shipped_first_then_local_and_shipped_off(dirs, monkeypatch):
    shipped, local = dirs
    m = Memo(table, (3,))
    precompute([m], folder=shipped, progress=None)
    assert CALLS == [3]
    m.get()
    assert CALLS == [3] and not (local / memo.MEMO_DIR).exists()  # read from the shipped folder
    monkeypatch.setenv("ENGINE_SHIPPED_CACHE", "off")
    m.get()
    assert CALLS == [3, 3] and (local / memo.MEMO_DIR / m.filename()).is_file()


@pytest.mark.parametrize("damage", [b"", b"not an npz", None])
def test_a_damaged_or_foreign_entry_is_recomputed_not_trusted(dirs, damage):
    m = Memo(table, (4,))
    path = dirs[1] / memo.MEMO_DIR / m.filename()
    if damage is None:  # a valid file, but for another key
        memo.write(path, Memo(table, (9,)).key(), table(9))
        CALLS.clear()
    else:
        path.parent.mkdir(parents=True)
        path.write_bytes(damage)
    pd.testing.assert_frame_equal(m.get(), pd.DataFrame(table(4)))
    assert CALLS == [4, 4]
    assert memo.read(path, m.key()) is not None  # replaced by the good table


def test_entries_are_never_pickles(dirs):
    m = Memo(table, (3,))
    m.get()
    with np.load(dirs[1] / memo.MEMO_DIR / m.filename(), allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_precompute_prunes_memos_only_when_it_lists_some(dirs):
    shipped = dirs[0]
    keep, drop = Memo(table, (2,)), Memo(table, (3,))
    stats = precompute([keep, drop], folder=shipped, progress=None)
    assert stats["memos"] == 2 and stats["computed"] == 2
    precompute([], folder=shipped, prune=True, progress=None)  # experiments only: memos left alone
    assert (shipped / memo.MEMO_DIR / drop.filename()).is_file()
    stats = precompute([keep], folder=shipped, prune=True, progress=None)
    assert stats["computed"] == 0 and stats["removed_files"] == 1
    assert not (shipped / memo.MEMO_DIR / drop.filename()).exists()
