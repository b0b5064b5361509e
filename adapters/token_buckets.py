"""Token buckets for the outbound pace: one Redis script shared by every worker process, or this process's memory.

Why not the `limits` library (used for sign-ins): it counts hits in fixed or moving windows and answers
"allowed or not" for one limit at a time. Pacing needs a token from the sender's bucket and the account's in
one atomic step, the time until the next token (so a worker waits exactly that long) and a reserve only
business-initiated messages must leave. Redis runs a Lua script atomically, so a short script registered
with redis-py (`register_script`, EVALSHA) does all three. It reads Redis's own clock, so workers on hosts
whose clocks differ still share one pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import redis

from domain.throttling import Bucket, Pace, needed, take

KEY_PREFIX = "despacho:throttle"
# A message that last asked for a token this long ago no longer counts as waiting (its worker died, or the message
# was sent by a redelivered copy); the follow-ups ledger hands lost messages out again after 10 minutes.
WAITING_STALE_SECONDS = 600.0

TAKE_SCRIPT = """
-- KEYS: every bucket, then the sender's waiting set, then the set of senders that ever waited.
-- ARGV: tokens needed, message id, sender, then each bucket's rate and capacity.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local needed = tonumber(ARGV[1])
local count = #KEYS - 2
local wait, levels = 0, {}
for i = 1, count do
  local rate, capacity = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  levels[i] = math.min(capacity, tokens + math.max(0, now - at) * rate)
  wait = math.max(wait, (needed - levels[i]) / rate)
end
if wait > 0 then
  redis.call('ZADD', KEYS[count + 1], now, ARGV[2])
  redis.call('SADD', KEYS[count + 2], ARGV[3])
  return tostring(wait)
end
for i = 1, count do
  local rate, capacity = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  -- a bucket left alone until it is full again is the same as no bucket
  redis.call('EXPIRE', KEYS[i], math.ceil(capacity / rate) + 1)
end
redis.call('ZREM', KEYS[count + 1], ARGV[2])
return '0'
"""


class RedisTokenBuckets:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._take = self._redis.register_script(TAKE_SCRIPT)

    def take(self, message_id: str, sender: str, lane: str, buckets: Sequence[tuple[str, Pace]]) -> float:
        keys = [f"{KEY_PREFIX}:bucket:{name}" for name, _ in buckets] + [_waiting_key(sender), _senders_key()]
        args: list[str | float] = [needed(lane), message_id, sender]
        for _, pace in buckets:
            args += [pace.rate, pace.capacity]
        return float(self._take(keys=keys, args=args))

    def hold(self, message_id: str, sender: str) -> None:
        seconds, micros = self._redis.time()
        with self._redis.pipeline() as pipe:
            pipe.zadd(_waiting_key(sender), {message_id: seconds + micros / 1e6})
            pipe.sadd(_senders_key(), sender)
            pipe.execute()

    def release(self, message_id: str, sender: str) -> None:
        self._redis.zrem(_waiting_key(sender), message_id)

    def waiting(self) -> dict[str, int]:
        seconds, micros = self._redis.time()
        stale = seconds + micros / 1e6 - WAITING_STALE_SECONDS
        senders = sorted(s.decode() for s in self._redis.smembers(_senders_key()))  # type: ignore[union-attr]
        with self._redis.pipeline() as pipe:
            for sender in senders:
                pipe.zremrangebyscore(_waiting_key(sender), "-inf", stale)
                pipe.zcard(_waiting_key(sender))
            counts = pipe.execute()[1::2]
        return {sender: int(count) for sender, count in zip(senders, counts, strict=True) if count}


def _waiting_key(sender: str) -> str:
    return f"{KEY_PREFIX}:waiting:{sender}"


def _senders_key() -> str:
    return f"{KEY_PREFIX}:senders"


class InProcessTokenBuckets:
    """The same buckets for the threads of one process (embedded mode). `now` is any monotonic clock in seconds:
    the pace is no business rule an auditor replays, so it needs not follow the injected business clock."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._waiting: dict[str, dict[str, float]] = {}

    def take(self, message_id: str, sender: str, lane: str, buckets: Sequence[tuple[str, Pace]]) -> float:
        with self._lock:
            now = self._now()
            wait, after = take([(self._buckets.get(name), pace) for name, pace in buckets], lane, now)
            if wait > 0:
                self._waiting.setdefault(sender, {})[message_id] = now
                return wait
            self._buckets.update({name: bucket for (name, _), bucket in zip(buckets, after, strict=True)})
            self._waiting.get(sender, {}).pop(message_id, None)
            return 0.0

    def hold(self, message_id: str, sender: str) -> None:
        with self._lock:
            self._waiting.setdefault(sender, {})[message_id] = self._now()

    def release(self, message_id: str, sender: str) -> None:
        with self._lock:
            self._waiting.get(sender, {}).pop(message_id, None)

    def waiting(self) -> dict[str, int]:
        with self._lock:
            stale = self._now() - WAITING_STALE_SECONDS
            self._waiting = {sender: live for sender, ids in self._waiting.items()
                             if (live := {mid: at for mid, at in ids.items() if at > stale})}
            return {sender: len(ids) for sender, ids in self._waiting.items()}
