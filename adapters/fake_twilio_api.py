"""A fake of Twilio's Messages REST API (2010-04-01) that the real `twilio` SDK talks to over HTTP.

Nothing in the test suite or the benchmarks may reach the real Twilio; this is what they reach
instead. It answers what Twilio's OpenAPI description says for create, fetch and list (checked by
tests/integration/test_fake_twilio_schema.py), enforces the rules the project depends on, and
plays Twilio's part afterwards by POSTing signed status callbacks:

- basic auth against the configured account SID and auth token (else 401, code 20003);
- To, a sender (From or MessagingServiceSid) and content (Body or ContentSid) are required
  (21604, 21603, 21602); To must be E.164, optionally `whatsapp:`-prefixed (21211); numbers
  marked with `opt_out()` answer 21610;
- WhatsApp free-form Body to a number whose window was marked closed (`close_window()`) is
  accepted and then fails with 63016 in its status callback, as Twilio reports it; with
  `reject_outside_window=True` it is refused at once (400, 63016) instead;
- numbers ending in a `failing_suffixes` key (by default 0000 → 30006) are accepted and then
  reported `undelivered` with that code;
- callbacks follow Twilio's order (no callback for the initial `queued`/`accepted`; then
  queued → sent → delivered → read for WhatsApp) and `replay_callbacks()` re-sends any of them
  in any order, as often as asked, to test R10;
- `add_media()` keeps an attachment a customer "sent" and returns its Media URL; fetching it needs the
  account's basic auth and answers, as Twilio does, with a redirect to a short-lived address of the
  file that needs no credentials (`/media-files/…`);
- `program()` queues scripted answers for the next creates: an error (HTTP status + Twilio error
  JSON), a hang longer than the client's timeout, or a connection dropped mid-answer — each
  optionally after the message was created, which is the ambiguous case the sender must resolve.

`BackgroundServer` runs any ASGI app on a free localhost port in a thread (tests and benchmarks);
`python -m adapters.fake_twilio_api --port N` serves the fake for manual demos.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Literal
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.clock import Clock, SystemClock
from adapters.twilio_callbacks import CallbackDispatcher

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"  # noqa: S105 - the fake's own, never a real token
DEMO_FAILURES: Mapping[str, int] = {"0000": 30006}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
FAILURE_STATUSES = frozenset({"failed", "undelivered"})
MAX_PAGE_SIZE = 1000


class FakeTwilioError(Exception):
    """An error answer, in Twilio's JSON shape."""

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "status": self.http_status,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}"}


@dataclass(frozen=True)
class ProgrammedAnswer:
    """What the fake answers to the next create instead of its normal behaviour."""

    kind: Literal["error", "hang", "drop"]
    http_status: int = 0
    code: int | None = None
    message: str = ""
    seconds: float = 0.0
    create_first: bool = False

    @classmethod
    def error(cls, http_status: int, code: int | None = None, message: str = "") -> ProgrammedAnswer:
        return cls("error", http_status=http_status, code=code, message=message or f"Error {code or http_status}")

    @classmethod
    def hang(cls, seconds: float, *, create_first: bool = True) -> ProgrammedAnswer:
        """Answer only after `seconds` (make it longer than the client's timeout)."""
        return cls("hang", seconds=seconds, create_first=create_first)

    @classmethod
    def drop(cls, *, create_first: bool = True) -> ProgrammedAnswer:
        """Start the answer, then close the connection."""
        return cls("drop", create_first=create_first)


@dataclass
class StoredMessage:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    content_sid: str | None
    content_variables: str | None
    status_callback: str | None
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def is_whatsapp(self) -> bool:
        return self.to.startswith("whatsapp:")

    def resource(self) -> dict[str, object]:
        """The JSON Twilio answers for this message (schema `api.v2010.account.message`)."""
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": self.body,
            "date_created": rfc2822(self.date_created), "date_updated": rfc2822(self.date_updated),
            "date_sent": rfc2822(self.date_sent) if self.date_sent else None, "direction": "outbound-api",
            "error_code": self.error_code, "error_message": self.error_message, "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid, "num_media": "0",
            "num_segments": "0" if self.status == "accepted" else "1", "price": None, "price_unit": "USD",
            "sid": self.sid, "status": self.status, "to": self.to, "uri": f"{path}.json",
            "subresource_uris": {"media": f"{path}/Media.json", "feedback": f"{path}/Feedback.json"},
        }


def rfc2822(instant: datetime) -> str:
    return format_datetime(instant.astimezone(UTC).replace(microsecond=0))


def new_message_sid() -> str:
    return f"SM{uuid.uuid4().hex}"


class FakeTwilio:
    """Twilio's state and rules, shared by the HTTP app and the in-process fake transport."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN, *,
                 dispatcher: CallbackDispatcher | None = None, failing_suffixes: Mapping[str, int] = DEMO_FAILURES,
                 reject_outside_window: bool = False, clock: Clock | None = None) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.dispatcher = dispatcher or CallbackDispatcher(auth_token)
        self.failing_suffixes = dict(failing_suffixes)
        self.reject_outside_window = reject_outside_window
        self.clock = clock or SystemClock()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._messages: dict[str, StoredMessage] = {}
        self._answers: deque[ProgrammedAnswer] = deque()
        self._opted_out: set[str] = set()
        self._closed_windows: set[str] = set()
        self._media: dict[str, tuple[bytes, str]] = {}

    # -- what tests switch on ------------------------------------------------------------------
    def opt_out(self, to: str) -> None:
        with self._lock:
            self._opted_out.add(to)

    def close_window(self, to: str) -> None:
        with self._lock:
            self._closed_windows.add(to)

    def open_window(self, to: str) -> None:
        with self._lock:
            self._closed_windows.discard(to)

    def add_media(self, content: bytes, content_type: str, *, message_sid: str = "") -> str:
        """Keep an attachment of an inbound message; returns the `MediaUrl` a webhook would carry."""
        media_sid = "ME" + uuid.uuid4().hex
        with self._lock:
            self._media[media_sid] = (content, content_type)
        message = message_sid or new_message_sid()
        return f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message}/Media/{media_sid}"

    def media(self, media_sid: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._media.get(media_sid)

    def program(self, *answers: ProgrammedAnswer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def answers_left(self) -> int:
        """How many programmed answers no create has met yet."""
        with self._lock:
            return len(self._answers)

    def next_answer(self) -> ProgrammedAnswer | None:
        with self._lock:
            return self._answers.popleft() if self._answers else None

    def check_credentials(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    # -- the API ---------------------------------------------------------------------------------
    def create_message(self, form: Mapping[str, str]) -> StoredMessage:
        """Accept a message as Twilio does, or raise the FakeTwilioError Twilio would answer."""
        self._check_create(form)
        now = self.clock.now()
        service = form.get("MessagingServiceSid") or None
        message = StoredMessage(
            sid=new_message_sid(), account_sid=self.account_sid, to=form["To"], from_=form.get("From") or None,
            messaging_service_sid=service, body=form.get("Body", ""), content_sid=form.get("ContentSid") or None,
            content_variables=form.get("ContentVariables") or None, status_callback=form.get("StatusCallback") or None,
            status="accepted" if service and not form.get("From") else "queued", date_created=now, date_updated=now,
            form=dict(form))
        with self._lock:
            self._messages[message.sid] = message
        self.dispatcher.schedule(message.status_callback, [self._step(message.sid, status, code)
                                                           for status, code in self._plan(message)])
        return replace(message)

    def fetch_message(self, sid: str) -> StoredMessage:
        with self._lock:
            message = self._messages.get(sid)
            if message is None:
                raise FakeTwilioError(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
            return replace(message)

    def list_messages(self, filters: Mapping[str, str]) -> list[StoredMessage]:
        """Messages matching Twilio's list filters (To, From, DateSent, DateSent<, DateSent>), newest first."""
        with self._lock:
            listed = [replace(m) for m in reversed(self._messages.values()) if _matches(m, filters)]
        return sorted(listed, key=lambda m: m.date_created, reverse=True)

    def replay_callbacks(self, sid: str, statuses: Sequence[str]) -> list[int]:
        """POST callbacks for `statuses` in exactly this order (duplicates welcome); receiver's answers."""
        message = self.fetch_message(sid)
        if not message.status_callback:
            return []
        return [self.dispatcher.deliver_now(message.status_callback, self._callback_params(
            message, status, message.error_code if status in FAILURE_STATUSES else None)) for status in statuses]

    # -- rules -----------------------------------------------------------------------------------
    def _check_create(self, form: Mapping[str, str]) -> None:
        to = form.get("To", "")
        if not to:
            raise FakeTwilioError(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            raise FakeTwilioError(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("ContentSid") and not form.get("MediaUrl"):
            raise FakeTwilioError(400, 21602, "Message body is required.")
        if not E164.match(to.removeprefix("whatsapp:")):
            raise FakeTwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        with self._lock:
            opted_out, window_closed = to in self._opted_out, to in self._closed_windows
        if opted_out:
            raise FakeTwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
        if self.reject_outside_window and window_closed and _is_free_form_whatsapp(form):
            raise FakeTwilioError(400, 63016, "Failed to send freeform message because you are outside "
                                              "the allowed window. Please use a Template.")

    def _plan(self, message: StoredMessage) -> list[tuple[str, int | None]]:
        """The statuses Twilio would report for this message, in its order."""
        first = [("queued", None)] if message.status == "accepted" else []
        with self._lock:
            window_closed = message.to in self._closed_windows
        if window_closed and _is_free_form_whatsapp(message.form):
            return [*first, ("failed", 63016)]
        code = next((c for suffix, c in self.failing_suffixes.items() if message.to.endswith(suffix)), None)
        if code is not None:
            return [*first, ("sent", None), ("undelivered", code)]
        return [*first, ("sent", None), ("delivered", None), *([("read", None)] if message.is_whatsapp else [])]

    def _step(self, sid: str, status: str, code: int | None) -> Callable[[], dict[str, str]]:
        def advance() -> dict[str, str]:
            now = self.clock.now()
            with self._lock:
                message = self._messages[sid]
                message.status, message.date_updated = status, now
                if status == "sent":
                    message.date_sent = now
                if code is not None:
                    message.error_code, message.error_message = code, f"Error {code}"
                snapshot = replace(message)
            return self._callback_params(snapshot, status, code)
        return advance

    def _callback_params(self, message: StoredMessage, status: str, code: int | None) -> dict[str, str]:
        params = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "MessageSid": message.sid,
                  "SmsSid": message.sid, "MessageStatus": status, "SmsStatus": status, "To": message.to}
        if message.from_:
            params["From"] = message.from_
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if code is not None:
            params["ErrorCode"] = str(code)
        if message.is_whatsapp:
            params["ChannelPrefix"] = "whatsapp"
            if status in {"delivered", "read"}:
                params["EventType"] = status.upper()
        return params


def _is_free_form_whatsapp(form: Mapping[str, str]) -> bool:
    return form.get("To", "").startswith("whatsapp:") and bool(form.get("Body")) and not form.get("ContentSid")


def _matches(message: StoredMessage, filters: Mapping[str, str]) -> bool:
    if filters.get("To") and message.to != filters["To"]:
        return False
    if filters.get("From") and message.from_ != filters["From"]:
        return False
    bounds = {key: filters[key] for key in ("DateSent", "DateSent<", "DateSent>") if filters.get(key)}
    if not bounds:
        return True
    if message.date_sent is None:
        return False
    return all(_within(message.date_sent, key, value) for key, value in bounds.items())


def _within(sent: datetime, key: str, value: str) -> bool:
    """Twilio's `DateSent`, `DateSent<` (on or before) and `DateSent>` (on or after), by day or instant."""
    if "T" in value:
        return _compare(key, sent, datetime.fromisoformat(value.replace("Z", "+00:00")))
    return _compare(key, sent.astimezone(UTC).date(), date.fromisoformat(value))


def _compare(key: str, actual: date, bound: date) -> bool:
    if key == "DateSent<":
        return actual <= bound
    if key == "DateSent>":
        return actual >= bound
    return actual == bound


# -- HTTP ------------------------------------------------------------------------------------------
def create_app(twilio: FakeTwilio) -> Starlette:
    """The ASGI app: Twilio's Messages endpoints over `twilio`."""

    async def messages(request: Request) -> Response:
        if (denied := _deny(request, twilio)) is not None:
            return denied
        if request.method == "POST":
            form = await request.form()
            return await _create(twilio, {key: str(value) for key, value in form.multi_items()})
        return _page(twilio, request)

    async def message(request: Request) -> Response:
        if (denied := _deny(request, twilio)) is not None:
            return denied
        try:
            return JSONResponse(twilio.fetch_message(request.path_params["sid"]).resource())
        except FakeTwilioError as error:
            return _error(error)

    async def media(request: Request) -> Response:
        if (denied := _deny(request, twilio)) is not None:
            return denied
        if twilio.media(request.path_params["media_sid"]) is None:
            return _error(FakeTwilioError(404, 20404, "The requested resource was not found"))
        return Response(status_code=307, headers={"location": f"/media-files/{request.path_params['media_sid']}"})

    async def media_file(request: Request) -> Response:
        found = twilio.media(request.path_params["media_sid"])
        if found is None:
            return Response(status_code=404)
        return Response(found[0], media_type=found[1])

    prefix = f"/{API_VERSION}/Accounts/{{account_sid}}"
    return Starlette(routes=[Route(f"{prefix}/Messages.json", messages, methods=["GET", "POST"]),
                             Route(f"{prefix}/Messages/{{sid}}.json", message, methods=["GET"]),
                             Route(f"{prefix}/Messages/{{sid}}/Media/{{media_sid}}", media, methods=["GET"]),
                             Route("/media-files/{media_sid}", media_file, methods=["GET"])])


async def _create(twilio: FakeTwilio, form: dict[str, str]) -> Response:
    answer = twilio.next_answer()
    if answer is not None and answer.kind == "error":
        return _error(FakeTwilioError(answer.http_status, answer.code or answer.http_status, answer.message))
    try:
        created = twilio.create_message(form) if answer is None or answer.create_first else None
    except FakeTwilioError as error:
        return _error(error)
    if answer is not None and answer.kind == "drop":
        return DroppedConnection()
    if answer is not None:
        await _pause(answer.seconds, twilio.released)
    if created is None:
        return _error(FakeTwilioError(504, 20504, "Gateway timeout"))
    return JSONResponse(created.resource(), status_code=201)


def _page(twilio: FakeTwilio, request: Request) -> Response:
    query = request.query_params
    filters = {key: query[key] for key in ("To", "From", "DateSent", "DateSent<", "DateSent>") if key in query}
    size = max(1, min(int(query.get("PageSize", "50")), MAX_PAGE_SIZE))
    page = max(0, int(query.get("Page", "0")))
    listed = twilio.list_messages(filters)
    chunk = listed[page * size:(page + 1) * size]
    path = request.url.path

    def uri(number: int) -> str:
        token = {"PageToken": f"PA{number * size}"} if number else {}
        return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number, **token})}"

    has_next = (page + 1) * size < len(listed)
    return JSONResponse({
        "messages": [m.resource() for m in chunk], "page": page, "page_size": size, "start": page * size,
        "end": page * size + max(len(chunk) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if has_next else None,
        "previous_page_uri": uri(page - 1) if page else None,
    })


def _deny(request: Request, twilio: FakeTwilio) -> Response | None:
    username, password = _basic_auth(request.headers.get("authorization", ""))
    if request.path_params.get("account_sid") == twilio.account_sid and twilio.check_credentials(username, password):
        return None
    response = _error(FakeTwilioError(401, 20003, "Authenticate"))
    response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _basic_auth(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return username, password


def _error(error: FakeTwilioError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status)


async def _pause(seconds: float, released: threading.Event) -> None:
    """Sleep, but end early when the server stops, so shutdown never waits on a scripted hang."""
    deadline = time.monotonic() + seconds
    while not released.is_set() and (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(remaining, 0.05))


class DroppedConnection(Response):
    """Starts a 201 answer and stops halfway; uvicorn then closes the socket (an ambiguous failure)."""

    def __init__(self) -> None:
        super().__init__(status_code=201)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"sid": "SM', "more_body": True})


# -- running it ------------------------------------------------------------------------------------
class BackgroundServer:
    """Serves an ASGI app on a free 127.0.0.1 port in a daemon thread; a context manager."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0,
                 on_stop: Callable[[], None] | None = None) -> None:
        self._app, self._host, self._port, self._on_stop = app, host, port, on_stop
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> BackgroundServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, self._port))
        self.url = f"http://{self._host}:{listener.getsockname()[1]}"
        config = uvicorn.Config(self._app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name=f"asgi{self.url}", daemon=True)
        self._thread.start()
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while self._server is not None and not self._server.started:
            if self._thread is None or not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server for {self.url} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._on_stop is not None:
            self._on_stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def serve_fake_twilio(twilio: FakeTwilio) -> BackgroundServer:
    """`with serve_fake_twilio(fake) as server:` — the SDK's base_url is `server.url`."""
    return BackgroundServer(create_app(twilio), on_stop=twilio.released.set)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Twilio Messages API for demos (never the real Twilio)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--step-delay", type=float, default=1.0, help="seconds between status callbacks")
    args = parser.parse_args(argv)
    twilio = FakeTwilio(args.account_sid, args.auth_token,
                        dispatcher=CallbackDispatcher(args.auth_token, step_delay=args.step_delay))
    print(f"Fake Twilio on http://{args.host}:{args.port} — account {args.account_sid}, token {args.auth_token}")
    uvicorn.run(create_app(twilio), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
