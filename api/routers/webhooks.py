"""Twilio webhooks: inbound messages and delivery status callbacks.

Nothing is recorded unless `X-Twilio-Signature` is valid for the URL Twilio called (rebuilt from
DESPACHO_PUBLIC_URL, so it works behind proxies) over every parameter received.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from adapters.twilio_signatures import is_valid_signature, webhook_url
from api.deps import InboundDep, OutboundDep, SettingsDep
from api.prometheus import TimedWebhookRoute
from api.security import twilio_signed
from application.inbound import InboundText
from application.outbound import OutboundService, StatusReport
from despacho.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"], route_class=TimedWebhookRoute)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
URLENCODED = "application/x-www-form-urlencoded"

# The busiest routes of the API. Each dependency FastAPI resolves is a measurable share of a webhook's cost,
# so these take only the settings and the service they call; the signature check is a plain call.


async def signed_params(request: Request, settings: Settings) -> dict[str, str]:
    """The form parameters, once Twilio's signature over them has been checked."""
    params = await _form(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = webhook_url(settings.public_url, path)
    token = settings.twilio_auth_token.get_secret_value()
    if not is_valid_signature(token, url, params, request.headers.get("x-twilio-signature")):
        raise HTTPException(status_code=403, detail="Firma de Twilio inválida")
    return params


async def _form(request: Request) -> dict[str, str]:
    """Twilio posts URL-encoded forms, parsed here in one call; anything else goes through Starlette's parser."""
    if request.headers.get("content-type", "").startswith(URLENCODED):
        return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    form = await request.form()
    return {key: str(value) for key, value in form.multi_items()}


@router.post("/messages", dependencies=[Depends(twilio_signed())])
async def inbound_message(request: Request, settings: SettingsDep, inbound: InboundDep) -> Response:
    """Twilio's inbound webhook for WhatsApp and SMS: the message is recorded once per MessageSid; the
    inbound follower then puts it on its chat."""
    params = await signed_params(request, settings)
    message = InboundText.from_params(params)
    if message is None:
        raise HTTPException(status_code=400, detail="Faltan MessageSid, From o To")
    recorded = await run_in_threadpool(inbound.receive, message)
    facts = {"sid": message.message_sid, "inbound_id": recorded.inbound_id, "customer": message.customer_address}
    log.info("inbound retried by Twilio" if recorded.duplicate else "inbound message", extra=facts)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", dependencies=[Depends(twilio_signed())])
async def message_status(request: Request, settings: SettingsDep, outbound: OutboundDep, mid: str = "") -> Response:
    """Twilio's status callback; idempotent and order-independent, unknown SIDs kept for reconciliation."""
    params = await signed_params(request, settings)
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not status:
        raise HTTPException(status_code=400, detail="Faltan MessageSid o MessageStatus")
    report = StatusReport(message_id=mid, sid=sid, status=status, error_code=params.get("ErrorCode", ""),
                          error_message=params.get("ErrorMessage", "")[:500], params=params)
    changed, facts = await run_in_threadpool(_apply_status, outbound, report)
    log.info("status callback", extra={**facts, "sid": sid, "message_id": mid, "status": status,
                                       "error_code": report.error_code, "changed": changed})
    return Response(status_code=204)


def _apply_status(outbound: OutboundService, report: StatusReport) -> tuple[bool, dict[str, object]]:
    """The callback applied and what the log line may say about its message, in one trip to the thread pool."""
    changed = outbound.apply_status(report)
    return changed, outbound.log_facts(report.message_id) if report.message_id else {}
