"""Server-sent events: pages subscribe to topics and refetch what changed."""

from __future__ import annotations

import asyncio
import contextlib
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
    # One pending read of the feed, kept across keepalives: a timeout cancelling the read itself would close the
    # feed's generator, and the stream would end after its first quiet interval.
    pending = asyncio.ensure_future(anext(updates))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
            if not done:
                yield b": keepalive\n\n"
                continue
            try:
                topic = pending.result()
            except StopAsyncIteration:  # the feed closed: the server is stopping, the page reconnects to the next
                return
            pending = asyncio.ensure_future(anext(updates))
            if not subscription.wants(topic):
                continue
            if subscription.needs_recheck(topic) and not await run_in_threadpool(subscription.still_allowed, topic):
                continue
            version += 1
            # Unnamed events: the page's client matches topics (and `queue:*` wildcards) itself.
            yield f"data: {json.dumps({'topic': topic, 'version': version})}\n\n".encode()
    finally:
        pending.cancel()  # which closes the feed's generator, unsubscribing
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
