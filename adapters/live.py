"""Live-update fan-out: projectors publish changed topics, SSE streams deliver them to pages.

Embedded mode keeps subscribers in memory; production publishes through Redis so every API
process hears what any projector process changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

log = logging.getLogger(__name__)
CHANNEL = "despacho:live"


class LiveFeed(Protocol):
    def publish(self, topics: Iterable[str]) -> None: ...

    def subscribe(self) -> AsyncIterator[str]: ...


class InMemoryLiveFeed:
    def __init__(self) -> None:
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._lock = threading.Lock()

    def publish(self, topics: Iterable[str]) -> None:
        topics = list(topics)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            for topic in topics:
                loop.call_soon_threadsafe(_put_dropping_oldest, queue, topic)

    async def subscribe(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _put_dropping_oldest(queue: asyncio.Queue[str], topic: str) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(topic)


class RedisLiveFeed:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._client: object | None = None

    def publish(self, topics: Iterable[str]) -> None:
        import redis

        topics = list(topics)
        if not topics:
            return
        if self._client is None:
            self._client = redis.Redis.from_url(self.redis_url)
        try:
            self._client.publish(CHANNEL, json.dumps(topics))  # type: ignore[attr-defined]
        except redis.RedisError:
            log.warning("live update not published: redis unavailable")

    async def subscribe(self) -> AsyncIterator[str]:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub()
        await pubsub.subscribe(CHANNEL)
        try:
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    for topic in json.loads(message["data"]):
                        yield topic
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
