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

from domain.throttling import BULK, REPLY, Bucket, Pace, WaitingLine, needed, take

KEY_PREFIX = "despacho:throttle"
# A message that last asked for a token this long ago no longer counts as waiting (its worker died, or the message
# was sent by a redelivered copy); the follow-ups ledger hands lost messages out again after 10 minutes.
WAITING_STALE_SECONDS = 600.0
LANES = (REPLY, BULK)

TAKE_SCRIPT = """
-- KEYS: every bucket, then the lane's waiting set of the sender, then the set of senders that ever waited, then
-- the sender's hash of when each waiting message first asked.
-- ARGV: tokens needed, message id, sender, seconds after which a waiter is stale, then each bucket's rate and
-- capacity. Same rules as domain/throttling.py `take`.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local needed = tonumber(ARGV[1])
local count = #KEYS - 3
local waiting = KEYS[count + 1]
local levels, short = {}, false
for i = 1, count do
  local rate, capacity = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  levels[i] = math.min(capacity, tokens + math.max(0, now - at) * rate)
  short = short or levels[i] < needed
end
if short then
  redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now - tonumber(ARGV[4]))
  redis.call('ZADD', waiting, 'NX', now, ARGV[2])
  redis.call('SADD', KEYS[count + 2], ARGV[3])
  redis.call('HSETNX', KEYS[count + 3], ARGV[2], tostring(now))
  local ahead = redis.call('ZRANK', waiting, ARGV[2])
  local wait = 0
  for i = 1, count do
    if levels[i] < needed then
      wait = math.max(wait, (needed - levels[i] + ahead) / tonumber(ARGV[3 + 2 * i]))
    end
  end
  return tostring(wait)
end
for i = 1, count do
  local rate, capacity = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  -- a bucket left alone until it is full again is the same as no bucket
  redis.call('EXPIRE', KEYS[i], math.ceil(capacity / rate) + 1)
end
redis.call('ZREM', waiting, ARGV[2])
redis.call('HDEL', KEYS[count + 3], ARGV[2])
return '0'
"""


class RedisTokenBuckets:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._take = self._redis.register_script(TAKE_SCRIPT)

    def take(self, message_id: str, sender: str, lane: str, buckets: Sequence[tuple[str, Pace]]) -> float:
        keys = [f"{KEY_PREFIX}:bucket:{name}" for name, _ in buckets] + [
            _waiting_key(sender, lane), _senders_key(), _since_key(sender)]
        args: list[str | float] = [needed(lane), message_id, sender, WAITING_STALE_SECONDS]
        for _, pace in buckets:
            args += [pace.rate, pace.capacity]
        return float(self._take(keys=keys, args=args))

    def hold(self, message_id: str, sender: str) -> None:
        seconds, micros = self._redis.time()
        with self._redis.pipeline() as pipe:
            # the score moves on each recheck (its place does not matter while bulk is stopped): held, never stale
            pipe.zadd(_waiting_key(sender, BULK), {message_id: seconds + micros / 1e6})
            pipe.sadd(_senders_key(), sender)
            pipe.hsetnx(_since_key(sender), message_id, str(seconds + micros / 1e6))
            pipe.execute()

    def release(self, message_id: str, sender: str) -> None:
        with self._redis.pipeline() as pipe:
            for lane in LANES:
                pipe.zrem(_waiting_key(sender, lane), message_id)
            pipe.hdel(_since_key(sender), message_id)
            pipe.execute()

    def waiting(self) -> dict[str, int]:
        return {sender: line.count for sender, line in self.waiting_lines().items()}

    def waiting_lines(self) -> dict[str, WaitingLine]:
        seconds, micros = self._redis.time()
        now = seconds + micros / 1e6
        senders = sorted(s.decode() for s in self._redis.smembers(_senders_key()))  # type: ignore[union-attr]
        with self._redis.pipeline() as pipe:  # one MULTI: the lanes and the first-asked times agree
            for sender in senders:
                for lane in LANES:
                    pipe.zremrangebyscore(_waiting_key(sender, lane), "-inf", now - WAITING_STALE_SECONDS)
                    pipe.zrange(_waiting_key(sender, lane), 0, -1, withscores=True)
                pipe.hgetall(_since_key(sender))
            replies = pipe.execute()
        per_sender = 2 * len(LANES) + 1
        lines, gone = {}, {}
        for n, sender in enumerate(senders):
            answer = replies[n * per_sender:(n + 1) * per_sender]
            asked = {member.decode(): score for lane in answer[1:-1:2] for member, score in lane}
            since = {field.decode(): float(value) for field, value in answer[-1].items()}
            gone[sender] = since.keys() - asked.keys()
            if asked:
                first = min(since.get(member, score) for member, score in asked.items())
                lines[sender] = WaitingLine(len(asked), max(0.0, now - first))
        self._forget(gone)
        return lines

    def _forget(self, gone: dict[str, set[str]]) -> None:
        """First-asked times of messages no longer waiting (stale ones the lanes dropped)."""
        with self._redis.pipeline() as pipe:
            for sender, message_ids in gone.items():
                if message_ids:
                    pipe.hdel(_since_key(sender), *message_ids)
            pipe.execute()


def _waiting_key(sender: str, lane: str) -> str:
    return f"{KEY_PREFIX}:waiting:{lane}:{sender}"


def _senders_key() -> str:
    return f"{KEY_PREFIX}:senders"


def _since_key(sender: str) -> str:
    return f"{KEY_PREFIX}:since:{sender}"


class InProcessTokenBuckets:
    """The same buckets for the threads of one process (embedded mode). `now` is any monotonic clock in seconds:
    the pace is no business rule an auditor replays, so it needs not follow the injected business clock."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._waiting: dict[tuple[str, str], dict[str, float]] = {}  # in the order they started waiting
        self._since: dict[str, float] = {}  # when each waiting message first asked (or was held)

    def take(self, message_id: str, sender: str, lane: str, buckets: Sequence[tuple[str, Pace]]) -> float:
        with self._lock:
            now = self._now()
            line = self._line(sender, lane, now)
            line.setdefault(message_id, now)
            wait, after = take([(self._buckets.get(name), pace) for name, pace in buckets], lane, now,
                               ahead=list(line).index(message_id))
            if wait > 0:
                self._since.setdefault(message_id, now)
                return wait
            self._buckets.update({name: bucket for (name, _), bucket in zip(buckets, after, strict=True)})
            line.pop(message_id)
            self._since.pop(message_id, None)
            return 0.0

    def hold(self, message_id: str, sender: str) -> None:
        with self._lock:
            now = self._now()
            self._line(sender, BULK, now)[message_id] = now
            self._since.setdefault(message_id, now)

    def release(self, message_id: str, sender: str) -> None:
        with self._lock:
            for lane in LANES:
                self._waiting.get((sender, lane), {}).pop(message_id, None)
            self._since.pop(message_id, None)

    def waiting(self) -> dict[str, int]:
        return {sender: line.count for sender, line in self.waiting_lines().items()}

    def waiting_lines(self) -> dict[str, WaitingLine]:
        with self._lock:
            now, asked = self._now(), dict[str, list[float]]()
            for sender, lane in list(self._waiting):
                line = self._line(sender, lane, now)
                asked.setdefault(sender, []).extend(self._since.get(message_id, at) for message_id, at in line.items())
            return {sender: WaitingLine(len(times), max(0.0, now - min(times))) for sender, times in asked.items()
                    if times}

    def _line(self, sender: str, lane: str, now: float) -> dict[str, float]:
        """The lane's waiters for this sender, without those that stopped asking long ago."""
        stale = now - WAITING_STALE_SECONDS
        line = {}
        for message_id, at in self._waiting.get((sender, lane), {}).items():
            if at > stale:
                line[message_id] = at
            else:
                self._since.pop(message_id, None)
        self._waiting[(sender, lane)] = line
        return line
