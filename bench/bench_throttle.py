"""The outbound pace across two worker processes on Redis: the bucket holds a WhatsApp sender at its 80 msg/s, and
the bulk path delivers at least 80% of that to the fake Twilio, beside the fake's raw accept rate.

Three kinds of rounds, interleaved so a slow moment of the shared machine falls on all of them:

1. Bucket: two processes, four threads each, take tokens for one sender from the Redis script as fast as it
   grants them (bulk lane, sleeping the wait it answers). Granted per second after the first second (a full
   bucket's burst), against the configured 80 msg/s: within ±5%.
2. Bulk path: two `despacho worker`-like processes (dramatiq on Redis, eight threads each, PostgreSQL event store)
   run `send_message` for business-initiated templates: load the message, check the customer's caps, take the
   tokens, record the attempt, `TwilioTransport.send` over HTTP to the fake Twilio, record the SID. Accepted per
   second by the fake after the first second, against the allowed 80: at least 80%.
3. Raw: the same two processes' worth of threads calling the SDK's `messages.create` on the fake with no pace
   at all: the fake's raw accept rate.
4. Unpaced: the bulk path of round 2 for a sender configured at 100,000 msg/s, so the bucket never holds it back:
   the ceiling of the send path itself on this machine. Round 2 can deliver no more than the lower of this and 80.

`--seconds` sets each round's length (a minute by default, as the target says; shorter for a quick run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from uuid import uuid4

from common import report_rounds
from rounds import load_average
from twilio.rest import Client

from adapters.fake_twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    StoredMessage,
    serve_fake_twilio,
)
from adapters.token_buckets import RedisTokenBuckets
from adapters.twilio_callbacks import CallbackDispatcher, Step
from adapters.twilio_transport import RedirectingHttpClient
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.messages import OutboundMessage
from domain.throttling import BULK, WHATSAPP_RATE, Pace
from tests.services import fresh_postgres_database, fresh_redis_database
from workers.broker import start_worker

SENDER = "whatsapp:+5716000001"
UNPACED_SENDER = "whatsapp:+5716000009"  # configured far above what the machine can send: the path's own ceiling
TEMPLATE = "HX" + "d" * 32
PROCESSES = 2
BUCKET_THREADS, WORKER_THREADS, RAW_THREADS = 4, 16, 4
SETTLE_SECONDS = 1.0  # a full bucket's burst is left out of every figure
CONTEXT = multiprocessing.get_context("spawn")


class Silent(CallbackDispatcher):
    """No status callbacks: only the creates count."""

    def schedule(self, url: str | None, steps: Sequence[Step]) -> None:
        return None


class CountingFake(FakeTwilio):
    """The fake Twilio, noting when it accepted each message."""

    def __init__(self) -> None:
        super().__init__(dispatcher=Silent(DEFAULT_AUTH_TOKEN))
        self.accepted: list[float] = []
        self._accepted_lock = threading.Lock()

    def create_message(self, form: Mapping[str, str]) -> StoredMessage:
        message = super().create_message(form)
        with self._accepted_lock:
            self.accepted.append(time.time())
        return message

    def rate_between(self, start: float, end: float) -> float:
        with self._accepted_lock:
            return sum(1 for at in self.accepted if start <= at < end) / (end - start)


def threads_until(deadline: float, count: int, work: Callable[[int], None]) -> None:
    def loop(n: int) -> None:
        while time.time() < deadline:
            work(n)
    pool = [threading.Thread(target=loop, args=(n,)) for n in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def take_tokens(redis_url: str, seconds: float, start: Starting, granted: Queue) -> None:
    """One process of the bucket round: its threads take tokens for the sender for the round."""
    buckets, times = RedisTokenBuckets(redis_url), []
    lock = threading.Lock()
    pace = [(f"sender:{SENDER}", Pace.of(WHATSAPP_RATE)), ("account:bench", Pace.of(2000))]
    end = start.wait() + SETTLE_SECONDS + seconds

    current = [str(uuid4()) for _ in range(BUCKET_THREADS)]  # each thread's message, asked for until granted

    def take(n: int) -> None:
        wait = buckets.take(current[n], SENDER, BULK, pace)
        if wait == 0:
            with lock:
                times.append(time.time())
            current[n] = str(uuid4())
        else:
            time.sleep(wait)
    threads_until(end, BUCKET_THREADS, take)
    granted.put(times)


def create_raw(fake_url: str, seconds: float, start: Starting) -> None:
    """One process of the raw round: the SDK creating messages on the fake, unpaced, for the round."""
    sdk = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=RedirectingHttpClient(fake_url))
    end = start.wait() + SETTLE_SECONDS + seconds
    threads_until(end, RAW_THREADS, lambda n: sdk.messages.create(
        to=f"whatsapp:+57301{uuid4().int % 10**7:07d}", from_=SENDER, content_sid=TEMPLATE))


def run_worker(environment: dict[str, str], ready: Event, stop: Event) -> None:
    """One worker process: Despacho built from the environment, a dramatiq worker on Redis."""
    os.environ.update(environment)
    despacho = build(Settings())
    worker = start_worker(despacho.broker, WORKER_THREADS)
    ready.set()
    stop.wait()
    worker.stop()
    despacho.close()


def requested_bulk(despacho: Despacho, count: int, sender: str) -> list[str]:
    now = despacho.clock.now()
    messages = [OutboundMessage.request(chat_id="", campaign_id="", kind="template", channel="whatsapp",
                                        to=f"whatsapp:+57300{uuid4().int % 10**7:07d}", sender=sender,
                                        content_sid=TEMPLATE, actor="bench", at=now) for _ in range(count)]
    for first in range(0, count, 200):
        despacho.store.save(*messages[first:first + 200])
    return [str(m.id) for m in messages]


class Starting:
    """The processes of a round start together once every one of them is up (importing takes seconds)."""

    def __init__(self) -> None:
        self._ready, self._start = CONTEXT.Queue(), CONTEXT.Queue()

    def wait(self) -> float:
        self._ready.put(True)
        start: float = self._start.get()
        time.sleep(max(0.0, start - time.time()))
        return start

    def go(self) -> float:
        for _ in range(PROCESSES):
            self._ready.get(timeout=120)
        start = time.time() + 0.2
        for _ in range(PROCESSES):
            self._start.put(start)
        return start


def in_processes(target: Callable[..., None], *args: object) -> list[BaseProcess]:
    processes = [CONTEXT.Process(target=target, args=args) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    return processes


def bucket_round(redis_url: str, seconds: float) -> float:
    granted, starting = CONTEXT.Queue(), Starting()
    processes = in_processes(take_tokens, redis_url, seconds, starting, granted)
    settled = starting.go() + SETTLE_SECONDS
    times = [at for _ in processes for at in granted.get()]
    for process in processes:
        process.join()
    return sum(1 for at in times if at >= settled) / seconds


def raw_round(fake: CountingFake, fake_url: str, seconds: float) -> float:
    starting = Starting()
    processes = in_processes(create_raw, fake_url, seconds, starting)
    settled = starting.go() + SETTLE_SECONDS
    for process in processes:
        process.join()
    return fake.rate_between(settled, settled + seconds)


def bulk_round(despacho: Despacho, fake: CountingFake, seconds: float, sender: str = SENDER) -> float:
    """Accepted per second by the fake from the first second after the first accept, for `seconds` or until the
    round's messages ran out (the unpaced sender may be faster than 80)."""
    message_ids = requested_bulk(despacho, int(WHATSAPP_RATE * (SETTLE_SECONDS + seconds + 1)) + 100, sender)
    time.sleep(2.0)  # a bucket left alone is full again, as at the start of every round
    before = len(fake.accepted)
    for message_id in message_ids:
        despacho.actors.send_message.send(message_id)
    deadline = time.time() + 60
    while len(fake.accepted) == before:
        if time.time() > deadline:
            raise RuntimeError("the workers sent nothing to the fake Twilio in a minute")
        time.sleep(0.005)
    settled = fake.accepted[before] + SETTLE_SECONDS
    while time.time() < settled + seconds and len(fake.accepted) - before < len(message_ids):
        time.sleep(0.05)
    end = min(settled + seconds, fake.accepted[-1] + 1e-6)
    delivered = fake.rate_between(settled, end) if end > settled else float("nan")
    deadline = time.time() + 60
    while len(fake.accepted) - before < len(message_ids) and time.time() < deadline:
        time.sleep(0.1)  # the rest goes out before the next round, which must not share the fake with it
    return delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each round (default a minute)")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    fake = CountingFake()
    with serve_fake_twilio(fake) as server, fresh_postgres_database() as database_url, \
            fresh_redis_database() as redis_url, tempfile.TemporaryDirectory() as var_dir:
        environment = {"DESPACHO_DATABASE_URL": database_url, "DESPACHO_REDIS_URL": redis_url,
                       "DESPACHO_TWILIO_TRANSPORT": "twilio", "DESPACHO_TWILIO_API_BASE_URL": server.url,
                       "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
                       "DESPACHO_DB_POOL_SIZE": str(WORKER_THREADS), "DESPACHO_LOG_LEVEL": "WARNING",
                       "DESPACHO_VAR_DIR": var_dir, "DESPACHO_SENDER_RATES": f'{{"{UNPACED_SENDER}": 100000}}'}
        os.environ.update(environment)
        despacho = build(Settings())
        stop = CONTEXT.Event()
        readies = [CONTEXT.Event() for _ in range(PROCESSES)]
        workers = [CONTEXT.Process(target=run_worker, args=(environment, ready, stop)) for ready in readies]
        for process in workers:
            process.start()
        for ready in readies:
            ready.wait(120)
        bucket, bulk, unpaced, raw = [], [], [], []
        try:
            for _ in range(options.rounds):
                raw.append(raw_round(fake, server.url, options.seconds))
                bucket.append(bucket_round(redis_url, options.seconds))
                bulk.append(bulk_round(despacho, fake, options.seconds))
                unpaced.append(bulk_round(despacho, fake, options.seconds, UNPACED_SENDER))
        finally:
            stop.set()
            for process in workers:
                process.join(30)
            despacho.close()
    print(f"{options.rounds} rounds of {options.seconds:g} s, {load_average()}")
    allowed = [WHATSAPP_RATE] * options.rounds
    report_rounds("bucket, 2 processes on Redis: granted", bucket, "msg/s", "configured", allowed)
    report_rounds("bulk path → fake Twilio: delivered", bulk, "msg/s", "allowed", allowed)
    report_rounds("bulk path → fake Twilio: delivered", bulk, "msg/s", "fake's raw accept", raw)
    report_rounds("bulk path → fake Twilio: delivered", bulk, "msg/s", "same path unpaced", unpaced)


if __name__ == "__main__":
    main()
