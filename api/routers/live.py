"""Server-sent events: pages subscribe to topics and refetch what changed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from adapters.live import LiveFeed
from api.deps import DespachoDep
from api.security import allow
from application.staff import Identity

router = APIRouter(include_in_schema=False)
KEEPALIVE_SECONDS = 15


@router.get("/live")
async def live(despacho: DespachoDep,
               identity: Annotated[Identity, Depends(allow("admin", "supervisor", "agent", "auditor"))],
               topics: Annotated[str, Query(max_length=2000)] = "") -> StreamingResponse:
    wanted = {t for t in topics.split() if _may_follow(identity, t)}
    return StreamingResponse(_stream(despacho.live, wanted), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _may_follow(identity: Identity, topic: str) -> bool:
    """Agents follow only their own desk and chats; staff roles follow anything they can see."""
    if identity.role != "agent":
        return True
    return topic == f"desk:{identity.id}" or topic.startswith("chat:")


async def _stream(feed: LiveFeed, wanted: set[str]) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    subscription = feed.subscribe()
    version = 0
    while True:
        try:
            topic = await asyncio.wait_for(anext(subscription), timeout=KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keepalive\n\n"
            continue
        if wanted and topic not in wanted and topic.split(":")[0] + ":*" not in wanted:
            continue
        version += 1
        # Unnamed events: the page's client matches topics (and `queue:*` wildcards) itself.
        yield f"data: {json.dumps({'topic': topic, 'version': version})}\n\n".encode()
