"""Failed sign-in counts with the `limits` library: moving windows in Redis (shared by every API process)
or in this process's memory (embedded mode).

`limits` keeps its own time (the system clock): these counts protect accounts against guessing, they
are no business rule an auditor replays, so they need not follow the injected clock.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

KEY_PREFIX = "despacho:login-failures"


class MovingWindowLoginLimits:
    def __init__(self, storage_uri: str, *, per_account: str, per_address: str) -> None:
        options = {"key_prefix": KEY_PREFIX} if storage_uri.startswith("redis") else {}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._account: RateLimitItem = parse(per_account)
        self._address: RateLimitItem = parse(per_address)

    def seconds_blocked(self, login: str, client_address: str) -> float | None:
        exhausted = [stats.reset_time for item, key in self._counts(login, client_address)
                     if not self._limiter.test(item, *key)
                     for stats in [self._limiter.get_window_stats(item, *key)]]
        return max(max(exhausted) - time.time(), 1.0) if exhausted else None

    def count_failure(self, login: str, client_address: str) -> None:
        for item, key in self._counts(login, client_address):
            self._limiter.hit(item, *key)

    def forget_account(self, login: str) -> None:
        self._limiter.clear(self._account, "account", _account(login))

    def _counts(self, login: str, client_address: str) -> list[tuple[RateLimitItem, tuple[str, str]]]:
        return [(self._account, ("account", _account(login))), (self._address, ("address", client_address))]


def _account(login: str) -> str:
    return login.strip().lower()[:80]
