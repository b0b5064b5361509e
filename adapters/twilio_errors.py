"""What a failed call to Twilio means: retry it, look before retrying, or tell the agent why not.

`classify(http_status=..., code=...)` reads Twilio's answer (or the ErrorCode of a status
callback); `classify_exception(exc)` reads whatever the SDK or the network raised. Both return a
`TwilioFailure`: a category, whether a retry can help, whether the request may have reached
Twilio anyway (`ambiguous`: look the message up before sending again), and a Spanish reason the
agent sees (the meaning and recommended action of domain/delivery_errors.py).

Codes, categories and retryability come from twilio_error_codes.csv, a copy of the project's
reference list (the design material's twilio/error-codes.csv, compiled from Twilio's error pages
https://www.twilio.com/docs/api/errors/<code>). `SUPPLEMENTARY_CODES` adds the few codes the API
itself answers with that the list leaves out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from domain.delivery_errors import explain

CODES_FILE = Path(__file__).with_name("twilio_error_codes.csv")

OPT_OUT_CODES = frozenset({21610})


@dataclass(frozen=True)
class CodeInfo:
    category: str
    retryable: bool
    meaning: str


# (category, retryable, meaning) of codes Twilio's API answers that the reference list omits.
SUPPLEMENTARY_CODES = {
    10001: CodeInfo("account", False, "Account is not active"),
    20404: CodeInfo("not-found", False, "The requested resource was not found"),
    21602: CodeInfo("invalid-request", False, "Message body is required"),
    21603: CodeInfo("invalid-request", False, "A 'From' phone number is required"),
    21604: CodeInfo("invalid-request", False, "A 'To' phone number is required"),
    30002: CodeInfo("account", False, "Account suspended"),
}

TIMEOUT_REASON = "Twilio no respondió a tiempo; se verificará si el mensaje salió antes de reintentar."
DROPPED_REASON = "Se cortó la conexión con Twilio; se verificará si el mensaje salió antes de reintentar."
UNREACHABLE_REASON = "No se pudo conectar con Twilio; se reintentará el envío."
RATE_LIMITED_REASON = "Twilio pidió bajar el ritmo de envío; se reintentará el envío."


@dataclass(frozen=True)
class TwilioFailure:
    """One failed call (or failed delivery), classified."""

    category: str
    retryable: bool
    reason: str
    code: int | None = None
    http_status: int | None = None
    ambiguous: bool = False
    detail: str = ""

    @property
    def is_opt_out(self) -> bool:
        return self.code in OPT_OUT_CODES


@cache
def known_codes() -> dict[int, CodeInfo]:
    with CODES_FILE.open(newline="", encoding="utf-8") as lines:
        listed = {int(row["code"]): CodeInfo(row["category"], row["retryable"].strip() == "yes", row["meaning"])
                  for row in csv.DictReader(lines)}
    return {**SUPPLEMENTARY_CODES, **listed}


def classify(*, http_status: int | None = None, code: int | None = None, message: str = "") -> TwilioFailure:
    """Twilio's answer (HTTP status and/or error code) as a failure; also for callbacks' ErrorCode."""
    if code is not None and code < 1000:  # the SDK puts the HTTP status there when the body had no code
        code = None
    if code is not None and (info := known_codes().get(code)):
        return TwilioFailure(info.category, info.retryable, explain(str(code)).sentence, code, http_status,
                             ambiguous=_may_have_been_processed(http_status), detail=message or info.meaning)
    return _classify_status(http_status, code, message)


def _classify_status(http_status: int | None, code: int | None, message: str) -> TwilioFailure:
    shown = f" (código {code})" if code else ""
    if http_status == 429:
        return TwilioFailure("rate-limit", True, RATE_LIMITED_REASON, code, http_status, detail=message)
    if http_status is not None and http_status >= 500:
        reason = f"Twilio tuvo un error temporal (HTTP {http_status}); se reintentará el envío."
        return TwilioFailure("server", True, reason, code, http_status, ambiguous=True, detail=message)
    if http_status == 401:
        return TwilioFailure("account", False, explain("20003").sentence, code, http_status, detail=message)
    reason = f"Twilio rechazó el mensaje{shown}."
    return TwilioFailure("unknown", False, reason, code, http_status, detail=message)


def _may_have_been_processed(http_status: int | None) -> bool:
    return http_status is not None and http_status >= 500


def classify_exception(exc: BaseException) -> TwilioFailure:
    """What the SDK, requests or the socket raised, as a failure."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        return classify(http_status=exc.status, code=exc.code, message=_sdk_message(exc))
    detail = f"{type(exc).__name__}: {exc}"
    if _never_connected(exc):
        return TwilioFailure("network", True, UNREACHABLE_REASON, detail=detail)
    if isinstance(exc, requests.Timeout | TimeoutError):
        return TwilioFailure("timeout", True, TIMEOUT_REASON, ambiguous=True, detail=detail)
    return TwilioFailure("network", True, DROPPED_REASON, ambiguous=True, detail=detail)


def _never_connected(exc: BaseException) -> bool:
    """True when the request cannot have reached Twilio: refused, DNS failure, connect timeout."""
    if isinstance(exc, requests.ConnectTimeout | ConnectionRefusedError):
        return True
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    reason = cause.reason if isinstance(cause, MaxRetryError) else cause
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _sdk_message(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioServiceException):
        return str(exc.detail or exc.title or "")
    return str(exc.msg)
