"""The customers' phones: the fake Twilio the deployment sends to, served by the loadtest itself, keeping what
reached each address and when (a monotonic clock, the one the simulated people measure with)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from adapters.fake_twilio_api import BackgroundServer, FakeTwilio, StoredMessage, create_app
from adapters.twilio_callbacks import CallbackDispatcher

STATUS_CALLBACK_STEP_SECONDS = 0.2


@dataclass(frozen=True)
class Arrival:
    at: float
    body: str
    content_sid: str | None


def message_id(status_callback: str | None) -> str:
    """Despacho's outbound message id, which it puts on every status callback URL (`?mid=`)."""
    return parse_qs(urlsplit(status_callback or "").query).get("mid", [""])[0]


class Phones(FakeTwilio):
    """The fake Twilio, also recording each arrival by address and by Despacho's message id."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__(account_sid, auth_token, failing_suffixes={},
                         dispatcher=CallbackDispatcher(auth_token, step_delay=STATUS_CALLBACK_STEP_SECONDS))
        self._arrivals_lock = threading.Lock()
        self._by_address: dict[str, list[Arrival]] = defaultdict(list)
        self._by_message_id: dict[str, list[float]] = defaultdict(list)

    def create_message(self, form: Mapping[str, str]) -> StoredMessage:
        message = super().create_message(form)
        arrival = Arrival(time.monotonic(), message.body, message.content_sid)
        with self._arrivals_lock:
            self._by_address[message.to].append(arrival)
            if mid := message_id(message.status_callback):
                self._by_message_id[mid].append(arrival.at)
        return message

    def inbox(self, address: str) -> list[Arrival]:
        with self._arrivals_lock:
            return list(self._by_address.get(address, ()))

    def arrivals(self) -> dict[str, list[float]]:
        """Each message id Despacho sent under, with the instant of every time it reached Twilio."""
        with self._arrivals_lock:
            return {mid: list(times) for mid, times in self._by_message_id.items()}


@contextmanager
def serve_phones(phones: Phones, port: int) -> Iterator[str]:
    """Serve the fake on 127.0.0.1:`port` (where the deployment's DESPACHO_TWILIO_API_BASE_URL points)."""
    with BackgroundServer(create_app(phones), port=port, on_stop=phones.released.set) as server:
        yield server.url
