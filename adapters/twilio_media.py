"""Inbound attachments fetched from Twilio with the account's credentials (the `MediaSource` port).

A `MediaUrl` names `https://api.twilio.com/2010-04-01/Accounts/<AC>/Messages/<MM>/Media/<ME>`;
Twilio answers it (basic auth with the account SID and auth token) with a redirect to a short-lived
address of the file. Only addresses of this account on Twilio's API are fetched: a webhook is
signed, but a URL pointing anywhere else is not an attachment, and following it would lend the
account's credentials, or the server's network position, to whoever wrote it. httpx drops the
Authorization header when a redirect leaves the origin, so the file's host never sees it.
With `api_base_url` (tests, demos) Twilio's address is rewritten to the local fake.
"""

from __future__ import annotations

import httpx

from adapters.twilio_transport import TWILIO_API_URL
from application.media import FetchedMedia, MediaUnavailableError

API_VERSION = "2010-04-01"
TIMEOUT_SECONDS = 30.0
GONE_STATUSES = frozenset({403, 404, 410})
"""Answers that no retry will change: recorded as lost. A 401 is not among them: it says the configured
credentials are wrong, which an operator fixes, and the retried follow-up then finds the file."""


class TwilioMediaSource:
    def __init__(self, account_sid: str, auth_token: str, *, api_base_url: str | None = None,
                 timeout: float = TIMEOUT_SECONDS, transport: httpx.BaseTransport | None = None) -> None:
        self.account_sid = account_sid
        self.auth = (account_sid, auth_token)
        self.api_base_url = (api_base_url or TWILIO_API_URL).rstrip("/")
        self.timeout = timeout
        self.transport = transport

    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        own_prefix = f"{TWILIO_API_URL}/{API_VERSION}/Accounts/{self.account_sid}/Messages/"
        if not url.startswith(own_prefix) or "/Media/" not in url[len(own_prefix):]:
            raise MediaUnavailableError("El adjunto no es un archivo de Twilio de esta cuenta")
        address = self.api_base_url + url[len(TWILIO_API_URL):]
        with httpx.Client(auth=self.auth, timeout=self.timeout, follow_redirects=True, max_redirects=5,
                          transport=self.transport) as client, client.stream("GET", address) as response:
            if response.status_code in GONE_STATUSES:
                raise MediaUnavailableError("Twilio ya no tiene el adjunto")
            response.raise_for_status()  # 5xx, 429: the follow-up is tried again
            return FetchedMedia(_bounded(response, max_bytes), response.headers.get("content-type", ""))


def _bounded(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaUnavailableError(_too_big(max_bytes))
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise MediaUnavailableError(_too_big(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(max_bytes: int) -> str:
    return f"El adjunto pesa más de {max_bytes // (1024 * 1024)} MB"


class UnreachableMediaSource:
    """Embedded mode with the in-memory fake transport: there is no Twilio to fetch from."""

    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        raise MediaUnavailableError("Adjunto no disponible en el modo de demostración (sin Twilio)")
