"""The attachments actor: copies an inbound message's attachments from Twilio into Despacho's storage."""

from __future__ import annotations

import logging

import dramatiq

from application.media import InboundMediaService

log = logging.getLogger(__name__)


def declare_media_actors(broker: dramatiq.Broker, media: InboundMediaService) -> dramatiq.Actor:  # type: ignore[type-arg]
    def keep_attachments(inbound_id: str) -> None:
        """Fetch and keep what is not kept yet; a retry after a network failure goes on from there."""
        log.info("inbound message %s: %s attachments settled", inbound_id, media.keep_attachments(inbound_id))

    return dramatiq.Actor(keep_attachments, broker=broker, actor_name="keep_attachments", queue_name="default",
                          priority=5, options={"max_retries": 8, "min_backoff": 2_000, "max_backoff": 600_000,
                                               "time_limit": 120_000})
