"""Status callbacks as Twilio sends them, for the local fake of Twilio's API.

Twilio advances a message (queued → sent → delivered …) on its own schedule and POSTs each new
status, signed with the account's auth token, to the message's `StatusCallback`. The dispatcher
does the same from a background thread; `deliver_now` posts one callback synchronously so tests
can replay callbacks in any order, duplicates included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import httpx

from adapters.twilio_signatures import sign

log = logging.getLogger(__name__)
Step = Callable[[], dict[str, str]]


class CallbackDispatcher:
    def __init__(self, auth_token: str, *, step_delay: float = 0.05, timeout: float = 5.0) -> None:
        self.auth_token = auth_token
        self.step_delay = step_delay
        self.timeout = timeout
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=timeout)  # one connection pool: a new client per callback costs ~20 ms

    def schedule(self, url: str | None, steps: Sequence[Step]) -> None:
        """Apply each step after `step_delay` and post its callback (when there is a URL to post to)."""
        if not steps:
            return

        def run() -> None:
            for step in steps:
                if self._stop.wait(self.step_delay):
                    return
                params = step()
                if url:
                    self.deliver_now(url, params)

        threading.Thread(target=run, name="fake-twilio-callbacks", daemon=True).start()

    def deliver_now(self, url: str, params: dict[str, str]) -> int:
        """POST one signed callback; returns the receiver's HTTP status (0 when it could not be reached)."""
        try:
            response = self._client.post(url, data=params,
                                         headers={"X-Twilio-Signature": sign(self.auth_token, url, params)})
        except httpx.HTTPError as exc:
            log.warning("status callback not delivered: %s", type(exc).__name__)
            return 0
        return response.status_code

    def stop(self) -> None:
        self._stop.set()
        self._client.close()
