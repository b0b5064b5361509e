"""Server-sent events: pages subscribe to topics and refetch what changed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from adapters.live import LiveFeed
from api.deps import LiveDep, ReadDb
from api.security import allow
from application.live_topics import LiveSubscription, TopicScope
from application.staff import Identity
from projections.live_directory import SqlTopicDirectory

router = APIRouter(include_in_schema=False)
KEEPALIVE_SECONDS = 15


@router.get("/live")
async def live(feed: LiveDep, read_db: ReadDb,
               identity: Annotated[Identity, Depends(allow("admin", "supervisor", "agent", "auditor"))],
               topics: Annotated[str, Query(max_length=2000)] = "") -> StreamingResponse:
    scope = TopicScope(identity, SqlTopicDirectory(read_db))
    subscription = await run_in_threadpool(LiveSubscription, scope, topics.split())
    return StreamingResponse(_stream(feed, subscription), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(feed: LiveFeed, subscription: LiveSubscription) -> AsyncIterator[bytes]:
    yield b"retry: 3000\n\n"
    updates = feed.subscribe()
    version = 0
    while True:
        try:
            topic = await asyncio.wait_for(anext(updates), timeout=KEEPALIVE_SECONDS)
        except TimeoutError:
            yield b": keepalive\n\n"
            continue
        if not subscription.wants(topic):
            continue
        if subscription.needs_recheck(topic) and not await run_in_threadpool(subscription.still_allowed, topic):
            continue
        version += 1
        # Unnamed events: the page's client matches topics (and `queue:*` wildcards) itself.
        yield f"data: {json.dumps({'topic': topic, 'version': version})}\n\n".encode()
