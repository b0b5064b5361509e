"""The suite's own service helpers: concurrent runs on one machine never share a Redis database."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
import redis

from tests.services import fresh_redis_database

pytestmark = pytest.mark.redis


def test_each_user_gets_an_empty_database_of_its_own_and_leaves_it_empty() -> None:
    with fresh_redis_database() as first, fresh_redis_database() as second:
        assert first != second
        for url in (first, second):
            assert redis.Redis.from_url(url).dbsize() == 0
        redis.Redis.from_url(first).set("left-behind", "1")
        assert redis.Redis.from_url(second).get("left-behind") is None
    assert redis.Redis.from_url(first).dbsize() == 0


def test_when_every_database_is_claimed_a_private_server_is_started() -> None:
    with ExitStack() as stack:
        urls = [stack.enter_context(fresh_redis_database()) for _ in range(16)]
        assert len(set(urls)) == 16
        redis.Redis.from_url(urls[-1]).set("mine", "1")
        assert redis.Redis.from_url(urls[-1]).get("mine") == b"1"
