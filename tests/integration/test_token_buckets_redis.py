"""The Redis token buckets: one pace shared by every worker, the same rules as the in-process buckets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from adapters.token_buckets import InProcessTokenBuckets, RedisTokenBuckets
from domain.throttling import BULK, REPLY, Pace
from tests.services import fresh_redis_database

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    with fresh_redis_database() as url:
        yield url


def test_two_workers_sharing_a_bucket_get_its_rate_together(redis_url: str) -> None:
    rate, seconds = 40.0, 1.5
    granted: list[float] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        buckets = RedisTokenBuckets(redis_url)  # a connection of its own, as another process would have
        deadline, n = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            n += 1
            wait = buckets.take(f"{name}-{n}", "s", BULK, [("sender:s", Pace.of(rate))])
            if wait == 0:
                with lock:
                    granted.append(time.monotonic())
            else:
                time.sleep(wait)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    burst = Pace.of(rate).capacity - 1  # a fresh bucket is full; bulk leaves the reserve
    assert burst + rate * seconds * 0.8 <= len(granted) <= burst + rate * seconds + 1


def test_redis_and_memory_answer_the_same_sequence_alike(redis_url: str) -> None:
    """The same takes, done at once (well inside one token interval), get the same grants from both."""
    shared, local = RedisTokenBuckets(redis_url), InProcessTokenBuckets()
    paces = [("sender:s", Pace.of(0.01)), ("account:a", Pace.of(0.02))]
    lanes = [BULK, REPLY, BULK, REPLY, REPLY, BULK]
    from_redis = [shared.take(f"m{n}", "s", lane, paces) == 0 for n, lane in enumerate(lanes)]
    from_memory = [local.take(f"m{n}", "s", lane, paces) == 0 for n, lane in enumerate(lanes)]
    assert from_redis == from_memory == [True, True, False, False, False, False]
    # two bulk messages (m2, m5) wait ahead of it: its turn is four sender tokens away
    assert shared.take("m9", "s", BULK, paces) == pytest.approx(local.take("m9", "s", BULK, paces), rel=0.01)
    assert shared.take("m9", "s", BULK, paces) == pytest.approx((2 + 2) / 0.01, rel=0.01)


def test_waiting_messages_are_counted_per_sender_across_connections(redis_url: str) -> None:
    first, second = RedisTokenBuckets(redis_url), RedisTokenBuckets(redis_url)
    paces = [("sender:s", Pace.of(0.01))]
    first.take("m1", "whatsapp:+571", BULK, paces)
    for message_id in ("m2", "m3"):
        second.take(message_id, "whatsapp:+571", BULK, paces)
    second.take("m3", "whatsapp:+571", BULK, paces)
    first.hold("m4", "whatsapp:+572")
    assert first.waiting() == second.waiting() == {"whatsapp:+571": 2, "whatsapp:+572": 1}
    second.release("m2", "whatsapp:+571")
    assert first.waiting() == {"whatsapp:+571": 1, "whatsapp:+572": 1}


def test_every_connection_sees_a_sender_s_line_and_its_longest_wait(redis_url: str) -> None:
    first, second = RedisTokenBuckets(redis_url), RedisTokenBuckets(redis_url)
    paces = [("sender:s", Pace.of(0.01))]
    first.take("w1", "whatsapp:+573", BULK, paces)
    first.take("w2", "whatsapp:+573", BULK, paces)  # the bucket is empty now: w2 waits
    second.hold("w3", "whatsapp:+573")
    time.sleep(0.05)  # Redis's own clock measures the wait
    second.take("w2", "whatsapp:+573", BULK, paces)
    second.hold("w3", "whatsapp:+573")

    line, seen = first.waiting_lines()["whatsapp:+573"], second.waiting_lines()["whatsapp:+573"]
    assert line.count == seen.count == 2
    assert line.oldest_seconds >= 0.05 and seen.oldest_seconds >= line.oldest_seconds
    second.release("w2", "whatsapp:+573")
    second.release("w3", "whatsapp:+573")
    assert "whatsapp:+573" not in first.waiting_lines()
