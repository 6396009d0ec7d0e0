"""A second session opening a view another session is training follows its progress (issue #12)."""
import threading
import time

import pytest

from pages._flights import Flights


def _trainer(cache: dict, calls: list, started: threading.Event, release: threading.Event):
    """A cached training: the first call trains (reporting 0.5 and waiting for `release`), later calls hit."""
    def train(report):
        calls.append(threading.current_thread().name)
        if "result" in cache:
            return cache["result"]
        report(0.5, "half way")
        started.set()
        assert release.wait(10)
        cache["result"] = 42
        return 42
    return train


def test_a_second_session_sees_the_first_ones_progress_then_its_result():
    flights, cache, calls = Flights(poll=0.01), {}, []
    started, release = threading.Event(), threading.Event()
    train = _trainer(cache, calls, started, release)
    seen_a, seen_b, out = [], [], {}
    a = threading.Thread(target=lambda: out.setdefault("a", flights.run("view", train, lambda *r: seen_a.append(r))),
                         name="a")
    a.start()
    assert started.wait(10)
    b = threading.Thread(target=lambda: out.setdefault("b", flights.run("view", train, lambda *r: seen_b.append(r))),
                         name="b")
    b.start()
    time.sleep(0.1)
    assert flights.progress("view") == (0.5, "half way")
    assert calls == ["a"]  # b waits: it does not train the same view again
    release.set()
    a.join(10), b.join(10)
    assert out == {"a": 42, "b": 42}
    assert (0.5, "half way") in seen_b  # b showed a's progress while it waited
    assert calls == ["a", "b"]  # b's own call came after a's result was cached (a cache hit)
    assert flights.progress("view") is None


def test_other_views_train_at_once_and_a_failure_frees_the_view():
    flights = Flights(poll=0.01)
    assert flights.run("x", lambda report: 1, lambda *r: None) == 1
    with pytest.raises(ValueError):
        flights.run("y", lambda report: (_ for _ in ()).throw(ValueError("diverged")), lambda *r: None)
    assert flights.progress("y") is None  # the next visitor trains it again rather than waiting forever
    assert flights.run("y", lambda report: 2, lambda *r: None) == 2


def test_a_training_that_never_ends_stops_being_waited_for():
    flights = Flights(poll=0.01, patience=0.05)
    flights._now["stuck"] = (0.1, "")  # a session that started and vanished without clearing its flight
    assert flights.run("stuck", lambda report: 3, lambda *r: None) == 3
