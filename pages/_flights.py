"""Trainings in flight, shared by every session of the server (plain Python, no Streamlit).

When a visitor opens a view nobody has trained yet, their session trains it and its result is
cached for everyone. A second visitor opening the same view meanwhile would wait on the cache's lock
with nothing to see; instead they follow the first one's progress here, then read the cached
result. `Flights.run(key, train, report)` does both: it trains (publishing each progress report
under `key`) or, when another session is already training `key`, relays that session's reports to
`report` until it is done, then calls `train` (a cache hit by then).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Hashable

Report = Callable[..., None]


class Flights:
    def __init__(self, poll: float = 0.25, patience: float = 900.0):
        self.poll, self.patience = poll, patience
        self._lock = threading.Lock()
        self._now: dict[Hashable, tuple[float, str]] = {}  # key -> the latest (fraction, text) reported

    def progress(self, key: Hashable):
        """The latest report of the training of `key`, None when nobody is training it."""
        with self._lock:
            return self._now.get(key)

    def run(self, key: Hashable, train: Callable[[Report], object], report: Report):
        deadline = time.monotonic() + self.patience
        while True:
            with self._lock:
                mine = key not in self._now
                if mine:
                    self._now[key] = (0.0, "")
            if mine:
                break
            now = self.progress(key)  # another session trains it: show where it is
            if now is not None:
                report(*now)
            if time.monotonic() > deadline:  # a training that never ends: stop waiting, train alongside
                return train(report)
            time.sleep(self.poll)

        def publish(fraction: float, text: str = "") -> None:
            with self._lock:
                self._now[key] = (float(fraction), text)
            report(fraction, text)

        try:
            return train(publish)
        finally:
            with self._lock:
                self._now.pop(key, None)
