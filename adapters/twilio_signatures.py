"""Twilio's `X-Twilio-Signature`: checking it on webhooks, and making it for the fakes.

Twilio signs the URL it called (the one configured in Twilio, never the one a proxy forwards to)
plus every form parameter it sent, with HMAC-SHA1 keyed by the account's auth token. Behind a
proxy the application sees another host and scheme, so the URL is rebuilt from
DESPACHO_PUBLIC_URL and the route's path and query. Twilio adds parameters without notice, so the
check covers all received parameters, never a fixed list. A `#…` fragment (Twilio's connection
overrides such as `#rc=3`) is not part of what Twilio signs.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def webhook_url(public_url: str, path: str) -> str:
    """The URL Twilio signed: the public base URL, then the route path and its query."""
    base = _without_fragment(public_url).rstrip("/")
    route = _without_fragment(path)
    if route and not route.startswith(("/", "?")):
        route = f"/{route}"
    return f"{base}{route}"


def is_valid_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """True only when `signature` is Twilio's for this URL and exactly these parameters."""
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(_without_fragment(url), dict(params), signature))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send for a form POST of `params` to `url`."""
    return str(RequestValidator(auth_token).compute_signature(_without_fragment(url), dict(params)))


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]
