"""Where the throttle keeps failed logins: the FailureStore interface, and this process's memory."""

from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Added:
    """What `FailureStore.add` saw: the key's failures within the window, the new one included."""

    count: int
    oldest: float
    member: str
    """Names the failure just added, for `FailureStore.remove`."""


class FailureStore(Protocol):
    """Timestamps of failed logins, per key, kept for one window.

    `add` is atomic: of two concurrent calls for one key, each sees the other's failure or is
    seen by it, so a count can never be read by two attempts at once.
    """

    async def add(self, key: str, now: float, window: float) -> Added: ...

    async def remove(self, key: str, member: str) -> None:
        """Take back one failure that `add` counted: the attempt turned out not to be one."""

    async def clear(self, key: str) -> None: ...

    async def clear_prefix(self, prefix: str) -> None:
        """Forget every key that starts with `prefix`."""

    async def ping(self) -> None:
        """Raise `FailureStoreUnavailableError` unless the store answers (readiness)."""


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

    async def add(self, key: str, now: float, window: float) -> Added:
        # No await in here: on the event loop, this whole method is one atomic step.
        if now >= self._next_sweep:
            self._forget_before(now - window)
            self._next_sweep = now + window
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - window:
            failures.popleft()
        failures.append(now)
        return Added(count=len(failures), oldest=failures[0], member=repr(now))

    async def remove(self, key: str, member: str) -> None:
        failures = self._failures.get(key)
        if failures is not None and float(member) in failures:
            failures.remove(float(member))  # failures at one instant are interchangeable
            if not failures:
                del self._failures[key]

    def _forget_before(self, horizon: float) -> None:
        expired = [
            key
            for key, failures in self._failures.items()
            if not failures or failures[-1] <= horizon
        ]
        for key in expired:
            del self._failures[key]

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    async def clear_prefix(self, prefix: str) -> None:
        for key in [key for key in self._failures if key.startswith(prefix)]:
            del self._failures[key]

    async def ping(self) -> None:
        """This process's memory always answers."""
