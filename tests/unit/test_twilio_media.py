"""Fetching a customer's attachment from Twilio: only the account's own media, credentials never sent past
Twilio's redirect, size capped while streaming, and Twilio's answers sorted into lost for good or retry later."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.twilio_media import TwilioMediaSource
from application.follow_ups import KEEP_ATTACHMENTS, FollowUpPolicy
from application.media import MediaUnavailableError
from domain.messages import InboundMessage

ACCOUNT = "AC" + "1" * 32
MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1"
CDN_URL = "https://media.cdn.example/ME1?Expires=1"


def source(handler: httpx.MockTransport) -> TwilioMediaSource:
    return TwilioMediaSource(ACCOUNT, "token", transport=handler)


def redirecting(seen: list[httpx.Request], content: bytes = b"jpeg", status: int = 200,
                headers: dict[str, str] | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.twilio.com":
            return httpx.Response(307, headers={"location": CDN_URL})
        return httpx.Response(status, content=content, headers={"content-type": "image/jpeg", **(headers or {})})
    return httpx.MockTransport(answer)


def test_the_file_is_fetched_with_the_accounts_credentials_which_stay_behind_at_the_redirect() -> None:
    seen: list[httpx.Request] = []
    fetched = source(redirecting(seen)).fetch(MEDIA_URL, max_bytes=100)

    assert (fetched.content, fetched.content_type) == (b"jpeg", "image/jpeg")
    assert [request.url.host for request in seen] == ["api.twilio.com", "media.cdn.example"]
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert "authorization" not in seen[1].headers


@pytest.mark.parametrize("url", [
    "https://evil.example/2010-04-01/Accounts/" + ACCOUNT + "/Messages/MM1/Media/ME1",
    "https://api.twilio.com/2010-04-01/Accounts/AC" + "2" * 32 + "/Messages/MM1/Media/ME1",
    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
    "http://169.254.169.254/latest/meta-data/",
])
def test_an_address_that_is_not_this_accounts_media_is_never_requested(url: str) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(MediaUnavailableError):
        source(redirecting(seen)).fetch(url, max_bytes=100)
    assert seen == []


def test_a_file_over_the_limit_is_refused_whether_or_not_its_size_is_announced() -> None:
    with pytest.raises(MediaUnavailableError, match="pesa más"):
        source(redirecting([], content=b"x" * 101)).fetch(MEDIA_URL, max_bytes=100)
    with pytest.raises(MediaUnavailableError, match="pesa más"):
        source(redirecting([], headers={"content-length": str(10**9)})).fetch(MEDIA_URL, max_bytes=100)


@pytest.mark.parametrize("status", [403, 404, 410])
def test_what_twilio_will_never_give_is_lost_for_good(status: int) -> None:
    with pytest.raises(MediaUnavailableError, match="Twilio ya no tiene"):
        source(redirecting([], status=status)).fetch(MEDIA_URL, max_bytes=100)


@pytest.mark.parametrize("status", [401, 429, 500, 503])
def test_what_may_work_later_is_raised_for_the_follow_up_to_retry(status: int) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        source(redirecting([], status=status)).fetch(MEDIA_URL, max_bytes=100)


def test_only_a_message_with_attachments_asks_for_them_to_be_kept() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    policy = FollowUpPolicy()
    with_media = InboundMessage.receive("SM1", {"NumMedia": "1", "MediaUrl0": MEDIA_URL}, actor="twilio", at=at)
    without = InboundMessage.receive("SM2", {"NumMedia": "0"}, actor="twilio", at=at)

    [follow_up] = policy.after(with_media.collect_events()[0])
    assert (follow_up.job, follow_up.args) == (KEEP_ATTACHMENTS, (str(with_media.id),))
    assert policy.after(without.collect_events()[0]) == []
