"""Where the throttle keeps failed logins: the FailureStore interface, and this process's memory."""

from collections import deque
from typing import Protocol


class FailureStore(Protocol):
    """Timestamps of failed logins, per key, kept for one window."""

    async def oldest_in_window(self, key: str, now: float, window: float) -> tuple[int, float]:
        """How many failures `key` has within the window, and the time of the oldest."""

    async def add(self, key: str, now: float, window: float) -> None: ...

    async def clear(self, key: str) -> None: ...


class FailureStoreUnavailableError(Exception):
    """The shared store cannot be reached."""


class MemoryFailureStore:
    """Counts for this process only: right for one worker, not for several.

    Keys whose failures have all left the window are forgotten, at most once a window: a flood
    of failures for ever new usernames holds at most two windows' worth of keys.
    """

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        """How many keys the store holds."""
        return len(self._failures)

    async def oldest_in_window(self, key: str, now: float, window: float) -> tuple[int, float]:
        failures = self._failures.get(key)
        if not failures:
            return 0, now
        while failures and failures[0] <= now - window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0, now
        return len(failures), failures[0]

    async def add(self, key: str, now: float, window: float) -> None:
        if now >= self._next_sweep:
            self._forget_before(now - window)
            self._next_sweep = now + window
        self._failures.setdefault(key, deque()).append(now)

    def _forget_before(self, horizon: float) -> None:
        expired = [key for key, failures in self._failures.items() if failures[-1] <= horizon]
        for key in expired:
            del self._failures[key]

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
