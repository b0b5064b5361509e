"""The `Transport` port over Twilio: the real SDK for production, an in-memory fake for embedded mode.

`TwilioTransport` sends through the official `twilio` SDK (`client.messages.create`). The SDK has
no base-URL option, so `api_base_url` (tests, benchmarks, demos) swaps in `RedirectingHttpClient`,
a `TwilioHttpClient` that rewrites `https://api.twilio.com` to the local fake of Twilio's REST API
(adapters/fake_twilio_api.py). Every failure, from Twilio or from the network, is classified by
adapters/twilio_errors.py and raised as `SendFailedError` with a Spanish reason: network errors,
5xx, 429 and 20429 are retryable; invalid number (21211), opt-out (21610, `opted_out=True`),
outside the WhatsApp window (63016), bad credentials (20003)… are not. A timeout or a connection
dropped after the request left is retryable too, but may have created the message: whoever
retries must call `find_sent` first, never resend blindly (the reason says so).

How `find_sent` recognises a message (the decision)
---------------------------------------------------
Despacho's message id travels in the status-callback URL (`...?mid=<id>`), but Twilio never
returns `StatusCallback` in the Message resource, and its list endpoint filters only by `To`,
`From` and `DateSent` (which is empty until the message has left Twilio's queue). Matching on the
callback URL would therefore work against a fake and never against the real Twilio, so the lookup
uses only what the real API returns:

1. list the messages to the delivery's recipient (`To`), from its sender (`From`; for a Messaging
   Service sender `MG…` only `To`, and the service SID is compared on each result), newest first,
   at most `scan_limit` of them, without a `DateSent` filter so queued messages are seen;
2. keep those created since the first attempt at this delivery — known in this process, else
   `lookback` ago (Twilio's clock is compared with ours with `clock_skew` of slack);
3. keep those with the same content: the same `Body` for free-form text; for a template (Content
   SID) a body that is empty (not rendered yet) or contains every content-variable value;
4. drop SIDs this process knows belong to another message, and return the newest left.

Residual risk, accepted: after a process restart, two messages with identical text to the same
customer from the same sender within `lookback` can be confused; the status callback, which does
carry `mid`, is the authority that lets the application notice such a mix-up.

`FakeTransport` is the embedded-mode default (`DESPACHO_TWILIO_TRANSPORT=fake`): it talks to no
one, records each accepted delivery in memory (thread-safe) with an `SM…` SID, can be programmed
to fail, finds earlier sends by Despacho's message id, and exposes `sent` for the customer
simulator.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from adapters.clock import Clock, SystemClock
from adapters.twilio_errors import TwilioFailure, classify, classify_exception
from application.ports import Delivery, ReportedStatus, SendFailedError, Submitted

TWILIO_API_URL = "https://api.twilio.com"
MESSAGING_SERVICE_PREFIX = "MG"
DEFAULT_TIMEOUT = 15.0
DEFAULT_LOOKBACK = timedelta(hours=1)
DEFAULT_CLOCK_SKEW = timedelta(minutes=2)
DEFAULT_SCAN_LIMIT = 100
REMEMBERED = 10_000  # deliveries and SIDs kept in memory per process to sharpen `find_sent`

# What the SDK, requests, the socket or a truncated JSON answer can raise from one API call.
CALL_ERRORS: tuple[type[BaseException], ...] = (TwilioException, requests.RequestException, OSError, ValueError)

logger = logging.getLogger(__name__)


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type information
    """The SDK's own HTTP client, with `https://api.twilio.com` replaced by `base_url`.

    It also replaces the SDK's request logging, which writes query strings (customers' phone
    numbers) at INFO, with one DEBUG line of method and path.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout=timeout, logger=logging.getLogger(f"{__name__}.http"))
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        if self.base_url and url.startswith(TWILIO_API_URL):
            url = self.base_url + url[len(TWILIO_API_URL):]
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        self.logger.debug("twilio request %s %s", kwargs["method"], str(kwargs["url"]).split("?")[0])

    def log_response(self, status_code: int, response: object) -> None:
        self.logger.debug("twilio response %s", status_code)


def send_failed_error(failure: TwilioFailure) -> SendFailedError:
    """A classified failure as the port's exception; `code` is Twilio's code, else `http_<status>` or the category."""
    if failure.code is not None:
        code = str(failure.code)
    elif failure.http_status is not None:
        code = f"http_{failure.http_status}"
    else:
        code = failure.category
    return SendFailedError(code, failure.reason, retryable=failure.retryable, opted_out=failure.is_opt_out)


def failure_for(code: int, http_status: int | None = 400) -> SendFailedError:
    """The `SendFailedError` Twilio's answer with this error code becomes (for fakes and tests)."""
    return send_failed_error(classify(http_status=http_status, code=code))


def uses_messaging_service(sender: str) -> bool:
    return sender.startswith(MESSAGING_SERVICE_PREFIX)


def create_params(delivery: Delivery) -> dict[str, Any]:
    """The keyword arguments of `client.messages.create` for one delivery."""
    params: dict[str, Any] = {"to": delivery.to}
    if uses_messaging_service(delivery.sender):
        params["messaging_service_sid"] = delivery.sender
    else:
        params["from_"] = delivery.sender
    if delivery.content_sid:
        params["content_sid"] = delivery.content_sid
        if delivery.content_variables:
            params["content_variables"] = json.dumps(delivery.content_variables, ensure_ascii=False)
    else:
        params["body"] = delivery.body
    if delivery.media_url:
        params["media_url"] = [delivery.media_url]
    if delivery.status_callback:
        params["status_callback"] = delivery.status_callback
    return params


class TwilioTransport:
    """Sends deliveries through Twilio's Messages API with the official SDK."""

    def __init__(self, account_sid: str, auth_token: str, *, api_base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, clock: Clock | None = None,
                 lookback: timedelta = DEFAULT_LOOKBACK, clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
                 scan_limit: int = DEFAULT_SCAN_LIMIT) -> None:
        self.http_client = RedirectingHttpClient(api_base_url, timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self.http_client)
        self._clock = clock or SystemClock()
        self._lookback, self._clock_skew, self._scan_limit = lookback, clock_skew, scan_limit
        self._lock = threading.Lock()
        self._first_attempts: OrderedDict[str, datetime] = OrderedDict()  # message id → first attempt
        self._owners: OrderedDict[str, str] = OrderedDict()  # SID → message id, for accepted sends

    def send(self, delivery: Delivery) -> Submitted:
        self._note_attempt(delivery.message_id)
        try:
            message = self._client.messages.create(**create_params(delivery))
        except CALL_ERRORS as error:
            failure = classify_exception(error)
            logger.warning("twilio send failed message=%s code=%s category=%s retryable=%s ambiguous=%s",
                           delivery.message_id, failure.code, failure.category, failure.retryable, failure.ambiguous)
            raise send_failed_error(failure) from error
        submitted = Submitted(sid=str(message.sid), status=str(message.status or "queued"))
        self._note_owner(submitted.sid, delivery.message_id)
        logger.info("twilio send accepted message=%s sid=%s status=%s", delivery.message_id, submitted.sid,
                    submitted.status)
        return submitted

    def current_status(self, sid: str) -> ReportedStatus | None:
        try:
            message = self._client.messages(sid).fetch()
        except CALL_ERRORS as error:
            logger.warning("twilio status fetch failed sid=%s: %s", sid, classify_exception(error).code)
            return None
        return ReportedStatus(str(message.status or ""), str(message.error_code or ""),
                              str(message.error_message or ""))

    def find_sent(self, delivery: Delivery) -> Submitted | None:
        """The message Twilio already accepted for this delivery (see the module docstring for how)."""
        filters: dict[str, str] = {"to": delivery.to}
        if not uses_messaging_service(delivery.sender):
            filters["from_"] = delivery.sender
        try:
            listed = self._client.messages.list(**filters, limit=self._scan_limit,
                                                page_size=min(self._scan_limit, 1000))
        except CALL_ERRORS as error:
            raise send_failed_error(classify_exception(error)) from error
        found = self._pick(delivery, listed)
        logger.info("twilio find_sent message=%s sid=%s", delivery.message_id, found.sid if found else None)
        return found

    # -- matching ------------------------------------------------------------------------------
    def _pick(self, delivery: Delivery, listed: Iterable[Any]) -> Submitted | None:
        since = self._since(delivery.message_id)
        with self._lock:
            owners = dict(self._owners)
        candidates = [m for m in listed if _same_sender(m, delivery.sender) and _same_content(m, delivery)
                      and isinstance(m.date_created, datetime) and m.date_created >= since
                      and owners.get(str(m.sid), delivery.message_id) == delivery.message_id]
        if not candidates:
            return None
        newest = max(candidates, key=lambda m: m.date_created)
        return Submitted(sid=str(newest.sid), status=str(newest.status or "queued"))

    def _since(self, message_id: str) -> datetime:
        with self._lock:
            first = self._first_attempts.get(message_id)
        return (first or self._clock.now() - self._lookback) - self._clock_skew

    def _note_attempt(self, message_id: str) -> None:
        with self._lock:
            if message_id not in self._first_attempts:
                self._first_attempts[message_id] = self._clock.now()
                _trim(self._first_attempts)

    def _note_owner(self, sid: str, message_id: str) -> None:
        with self._lock:
            self._owners[sid] = message_id
            _trim(self._owners)
            self._first_attempts.pop(message_id, None)


def _trim(remembered: OrderedDict[str, Any]) -> None:
    while len(remembered) > REMEMBERED:
        remembered.popitem(last=False)


def _same_sender(message: Any, sender: str) -> bool:
    if uses_messaging_service(sender):
        return bool(message.messaging_service_sid == sender)
    return bool(message.from_ == sender)


def _same_content(message: Any, delivery: Delivery) -> bool:
    body = str(message.body or "")
    if delivery.content_sid:
        return not body or all(value in body for value in delivery.content_variables.values())
    return body == delivery.body


# -- embedded mode -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SentMessage:
    """One delivery the fake transport accepted."""

    sid: str
    delivery: Delivery
    status: str
    at: datetime


@dataclass(frozen=True)
class _Scripted:
    error: SendFailedError
    after_accepting: bool


class FakeTransport:
    """In-memory `Transport` for embedded mode and tests: nothing leaves the process."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._sent: list[SentMessage] = []
        self._scripted: deque[_Scripted] = deque()

    def fail_next(self, *errors: SendFailedError, after_accepting: bool = False) -> None:
        """Make the next sends raise these errors, in order; `after_accepting` records the message first,
        as when Twilio accepted it but the answer was lost."""
        with self._lock:
            self._scripted.extend(_Scripted(error, after_accepting) for error in errors)

    def send(self, delivery: Delivery) -> Submitted:
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
            if scripted is None or scripted.after_accepting:
                sid = f"SM{uuid.uuid4().hex}"
                self._sent.append(SentMessage(sid, delivery, "queued", self._clock.now()))
            if scripted is not None:
                raise scripted.error
        return Submitted(sid=sid, status="queued")

    def current_status(self, sid: str) -> ReportedStatus | None:
        with self._lock:
            found = next((m for m in self._sent if m.sid == sid), None)
        return ReportedStatus(found.status) if found else None

    def find_sent(self, delivery: Delivery) -> Submitted | None:
        with self._lock:
            found = next((m for m in reversed(self._sent) if m.delivery.message_id == delivery.message_id), None)
        return Submitted(sid=found.sid, status=found.status) if found else None

    @property
    def sent(self) -> list[SentMessage]:
        """Every accepted delivery, oldest first (a copy)."""
        with self._lock:
            return list(self._sent)

    def sent_to(self, to: str) -> list[SentMessage]:
        """What one customer address received, oldest first (for the customer simulator)."""
        return [message for message in self.sent if message.delivery.to == to]

    def progress(self, sid: str, status: str) -> None:
        """Twilio moved a message on without a callback reaching us (tests of reconciliation)."""
        with self._lock:
            self._sent = [replace(m, status=status) if m.sid == sid else m for m in self._sent]

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
            self._scripted.clear()
