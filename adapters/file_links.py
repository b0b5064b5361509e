"""Signed, expiring addresses of the files agents send, for Twilio to fetch (its `MediaUrl`).

Twilio downloads a message's media from a public URL when it sends the message, without any
credentials of ours. The address therefore names the stored file inside a token signed with the
server's secret (itsdangerous) that carries its own expiry; nothing else can be fetched through it,
and it stops working once Twilio no longer needs it (a message waits at most four hours in Twilio's
queue before it fails with 30001).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from adapters.clock import Clock

LINK_PATH = "/media/outbound/"
LINK_LIFETIME = timedelta(hours=6)


@dataclass(frozen=True)
class LinkedFile:
    location: str
    content_type: str
    file_name: str


class FileLinkError(Exception):
    """A forged, altered or expired address."""


class SignedFileLinks:
    def __init__(self, secret: str, public_url: str, clock: Clock, *, lifetime: timedelta = LINK_LIFETIME) -> None:
        self._serializer = URLSafeSerializer(secret, salt="despacho-outbound-file")
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.lifetime = lifetime

    def url_for(self, file: LinkedFile) -> str:
        expires = int((self.clock.now() + self.lifetime).timestamp())
        token = self._serializer.dumps([file.location, file.content_type, file.file_name, expires])
        return f"{self.public_url}{LINK_PATH}{token}"

    def opened(self, token: str) -> LinkedFile:
        try:
            location, content_type, file_name, expires = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError) as error:
            raise FileLinkError("Enlace de archivo inválido") from error
        if self.clock.now().timestamp() > expires:
            raise FileLinkError("El enlace del archivo venció")
        return LinkedFile(str(location), str(content_type), str(file_name))
