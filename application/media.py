"""Customers' attachments: each one is copied from Twilio into Despacho's own storage, once.

Twilio keeps an inbound attachment behind the account's credentials; the browser must never see
that address or those credentials. A follow-up of the recorded message (`FETCH_MEDIA`) fetches
every attachment with the account's credentials, checks its type and size, stores it, and records
`MediaKept`; one that Twilio no longer has, or that is not an attachment an agent may open, is
recorded `MediaLost` with the reason, so the timeline says why instead of showing a broken link.
A network failure or a Twilio 5xx is raised, and the follow-up is retried; what was kept stays kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import Clock
from application.store import EventStore
from domain.common import SYSTEM
from domain.messages import InboundMessage

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024
"""WhatsApp's own limit for a document (images 5 MB, audio and video 16 MB)."""
ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/ogg", "audio/mpeg", "audio/mp4",
                 "audio/aac", "audio/amr", "video/mp4", "video/3gpp", "application/pdf", "text/plain",
                 "text/vcard", "text/x-vcard")
MEDIA_PREFIX = "media/inbound"


@dataclass(frozen=True)
class FetchedMedia:
    content: bytes
    content_type: str


class MediaUnavailableError(Exception):
    """Twilio will never give this attachment (gone, not Twilio's, too big): record it lost with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StoredMedia(Protocol):
    @property
    def location(self) -> str: ...

    @property
    def sha256(self) -> str: ...


class MediaStore(Protocol):
    """Where kept attachments live (adapters.file_storage), beside transcripts and uploads."""

    def put(self, key: str, content: bytes, content_type: str) -> StoredMedia: ...

    def get(self, location: str) -> bytes: ...


class MediaSource(Protocol):
    def fetch(self, url: str, *, max_bytes: int) -> FetchedMedia:
        """The attachment's bytes and type; MediaUnavailableError when it cannot ever be had, any other
        exception when trying again later may work."""
        ...


class InboundMediaService:
    def __init__(self, store: EventStore, clock: Clock, source: MediaSource, files: MediaStore, *,
                 max_bytes: int = MAX_MEDIA_BYTES) -> None:
        self.store = store
        self.clock = clock
        self.source = source
        self.files = files
        self.max_bytes = max_bytes

    def keep_attachments(self, inbound_id: str) -> int:
        """Keep every attachment of the message not settled yet; returns how many were settled now."""
        try:
            message: InboundMessage = self.store.repository.get(UUID(inbound_id))
        except AggregateNotFoundError:
            log.warning("attachments of an unknown inbound message %s: nothing to fetch", inbound_id)
            return 0
        settled = 0
        for index in message.unsettled_media:
            self._keep_one(message, index)
            self.store.save(message)  # each attachment's outcome on its own: a retry starts after it
            settled += 1
        return settled

    def _keep_one(self, message: InboundMessage, index: int) -> None:
        item = message.media[index]
        try:
            fetched = self.source.fetch(item["url"], max_bytes=self.max_bytes)
            content_type = _allowed(fetched.content_type or item["content_type"])
        except MediaUnavailableError as error:
            message.lose_media(index, error.reason, actor=SYSTEM, at=self.clock.now())
            return
        stored = self.files.put(f"{MEDIA_PREFIX}/{message.id}/{index}", fetched.content, content_type)
        message.keep_media(index, location=stored.location, content_type=content_type, size=len(fetched.content),
                           sha256=stored.sha256, actor=SYSTEM, at=self.clock.now())


def _allowed(content_type: str) -> str:
    bare = content_type.split(";", 1)[0].strip().lower()
    if bare not in ALLOWED_TYPES:
        raise MediaUnavailableError(f"Tipo de archivo no admitido ({bare or 'desconocido'})")
    return bare
