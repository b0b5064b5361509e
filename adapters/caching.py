"""A small time-bounded memo for read-side lookups that change rarely (a campaign's senders)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
MAX_ENTRIES = 10_000


def ttl_cache(seconds: float) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        entries: dict[Hashable, tuple[float, Any]] = {}
        lock = threading.Lock()

        @functools.wraps(fn)
        def cached(*args: Hashable) -> Any:
            now = time.monotonic()
            with lock:
                hit = entries.get(args)
            if hit is not None and hit[0] > now:
                return hit[1]
            value = fn(*args)
            with lock:
                if len(entries) >= MAX_ENTRIES:
                    entries.clear()
                entries[args] = (now + seconds, value)
            return value

        return cached  # type: ignore[return-value]

    return decorate
