"""Rooms: a class follows the presenter's slide live, on their own laptops.

Not a page. The state of a room is small and lives in the server's memory (one `RoomStore` shared
by every session through `st.cache_resource`, see pages/_shared.py): which lesson and step the
presenter shows, the control values of that step, and a version number that grows on each change.
Followers poll it about once a second and re-render only when the version moved; nobody trains
anything for a follower that the presenter's view has not already cached. No accounts: the
presenter holds a secret token (in their session) that alone may change the room; a room is
forgotten after a few idle hours. This module is plain Python, so the store is tested without
Streamlit.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: a code read aloud or off a projector
CODE_LENGTH = 5
IDLE_HOURS = 4.0  # a room nobody has touched for this long is gone
FOLLOWER_SECONDS = 15.0  # a follower not seen for this long no longer counts as connected
MAX_ROOMS = 500  # a cap, so a script opening rooms cannot fill the server's memory (the longest idle goes)
UNUSED_SECONDS = 15 * 60  # a room whose presenter never showed a slide is gone after this
MAX_VALUES = 64  # control values a room carries (a step has a handful)
MAX_LAGS = 1000  # follow times a room keeps (recent ones)


def normalise(raw) -> Optional[str]:
    """A room code typed or pasted by a person (any case, spaces, dashes), or None when it cannot be one."""
    text = "".join(ch for ch in str(raw)[:32].upper() if ch not in " -_")
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


@dataclass
class Room:
    code: str
    token: str  # the presenter's secret; only it may change the room
    opened: float
    touched: float
    lesson: str = ""  # lesson id (its page's URL path); "" before the presenter shows a lesson
    step: int = 0  # index of the step shown
    values: dict = field(default_factory=dict)  # control name -> value of that step
    version: int = 0  # grows by one on every change followers should see
    followers: dict = field(default_factory=dict)  # follower id -> when last seen
    changed_at: float = 0.0  # when `version` last grew
    lags: list = field(default_factory=list)  # seconds from a change to a follower's run showing it (recent)

    def view(self) -> dict:
        """What a follower applies: plain data, copied (the room may change under the caller)."""
        return {"code": self.code, "lesson": self.lesson, "step": self.step, "values": dict(self.values),
                "version": self.version}


class RoomStore:
    """Every open room of this server, safe to use from many sessions' threads at once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._rooms: dict[str, Room] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        now = self.clock()
        for code in [c for c, r in self._rooms.items()
                     if r.touched < now - IDLE_HOURS * 3600 or (r.version == 0 and r.touched < now - UNUSED_SECONDS)]:
            del self._rooms[code]

    def open(self) -> Room:
        """A new room with a fresh code and presenter token."""
        with self._lock:
            self._expire()
            if len(self._rooms) >= MAX_ROOMS:  # make room: the one idle the longest goes
                del self._rooms[min(self._rooms, key=lambda c: self._rooms[c].touched)]
            while True:
                code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
                if code not in self._rooms:
                    break
            now = self.clock()
            room = Room(code=code, token=secrets.token_urlsafe(16), opened=now, touched=now)
            self._rooms[code] = room
            return room

    def get(self, code) -> Optional[Room]:
        """A consistent copy of the room with this code (other sessions change the room itself), or
        None (no such room, or it expired)."""
        code = normalise(code)
        if code is None:
            return None
        with self._lock:
            self._expire()
            room = self._rooms.get(code)
            if room is None:
                return None
            return replace(room, values=dict(room.values), followers=dict(room.followers), lags=list(room.lags))

    def publish(self, code: str, token: str, lesson: str, step: int, values: dict) -> bool:
        """The presenter shows `lesson` at `step` with `values`. False when `token` is not the room's
        (a follower cannot move the slide) or the room is gone; the version grows only on a change."""
        values = {str(k): v for k, v in list(values.items())[:MAX_VALUES]}
        with self._lock:
            room = self._rooms.get(code)
            if room is None or not secrets.compare_digest(room.token, str(token)):
                return False
            room.touched = self.clock()
            if (room.lesson, room.step, room.values) != (lesson, int(step), values):
                room.lesson, room.step, room.values = lesson, int(step), values
                room.version += 1
                room.changed_at = room.touched
            return True

    def applied(self, code: str, version: int) -> None:
        """A follower's run now shows `version`: keep how long that took (the presenter view shows it)."""
        with self._lock:
            room = self._rooms.get(code)
            if room is not None and version == room.version and room.changed_at:
                room.lags.append(self.clock() - room.changed_at)
                del room.lags[:-MAX_LAGS]

    def follow_times(self, code: str) -> tuple[float, float, int]:
        """Median and largest time from a change to a follower showing it, over the recent changes."""
        with self._lock:
            room = self._rooms.get(code)
            lags = sorted(room.lags) if room is not None else []
        if not lags:
            return float("nan"), float("nan"), 0
        return lags[len(lags) // 2], lags[-1], len(lags)

    def seen(self, code: str, follower: str) -> None:
        """A follower checked in (it counts as connected for FOLLOWER_SECONDS)."""
        with self._lock:
            room = self._rooms.get(code)
            if room is not None:
                now = self.clock()
                room.followers[follower] = now
                limit = now - FOLLOWER_SECONDS
                for f in [f for f, t in room.followers.items() if t < limit]:
                    del room.followers[f]

    def connected(self, code: str) -> int:
        with self._lock:
            room = self._rooms.get(code)
            if room is None:
                return 0
            limit = self.clock() - FOLLOWER_SECONDS
            return sum(1 for t in room.followers.values() if t >= limit)

    def close(self, code: str, token: str) -> bool:
        with self._lock:
            room = self._rooms.get(code)
            if room is None or not secrets.compare_digest(room.token, str(token)):
                return False
            del self._rooms[code]
            return True

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._rooms)


def new_follower_id() -> str:
    return secrets.token_hex(8)


__all__ = ["ALPHABET", "CODE_LENGTH", "IDLE_HOURS", "FOLLOWER_SECONDS", "Room", "RoomStore", "normalise",
           "new_follower_id"]
