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
    """Counts for this process only: right for one worker, not for several."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}

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
        self._failures.setdefault(key, deque()).append(now)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
