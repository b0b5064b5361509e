"""The timer sweep over 100,000 open chats of which 1,000 are due (target ≤ 1 s on PostgreSQL), beside one
indexed scan of the same open chats, in interleaved rounds.

The 100,000 open chats are written to the read table directly (the sweep only reads it to find
candidates); the due ones are real chats, waiting in the queue for an hour, so each round's sweep
loads them, raises their alerts and saves them. Each round queues its own due chats.
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid
from datetime import timedelta

from common import available_backends, backend, median
from rounds import load_average
from sqlalchemy import func, insert, select

from domain.chats import Chat
from projections.queries import CHATS

OPEN_CHATS = 100_000
phones = itertools.count(1)


def seed_open_chats(despacho, campaign_id: str, count: int) -> None:
    now = despacho.clock.now()
    rows = [{"id": str(uuid.uuid4()), "campaign_id": campaign_id, "status": "assigned", "channel": "whatsapp",
             "customer_address": f"whatsapp:+57300{n:07d}", "sender_address": "whatsapp:+5716000001",
             "profile_name": "", "customer_name": "", "opened_at": now, "queued_at": now, "assigned_at": now,
             "last_customer_message_at": now - timedelta(minutes=n % 20), "unanswered_since": None,
             "outside_hours": False, "bot_pending": 0, "queue_alerted": False,
             "confirmation_failure_recorded": False, "confirmation_alert_open": False} for n in range(count)]
    with despacho.read_engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(CHATS.chats), rows[start:start + 10_000])


def queue_due_chats(despacho, campaign_id: str, count: int, at) -> None:
    """Chats waiting in the queue since `at`: due for the queue alert an hour later."""
    chats = []
    for _ in range(count):
        n = next(phones)
        chat = Chat.open("whatsapp", f"whatsapp:+57310{n:07d}", "whatsapp:+5716000001", profile_name="",
                         flow_name="default", actor="bench", at=at)
        chat.receive_customer_message(f"SM{n:032x}", "hola", [], actor="bench", at=at)
        chat.enqueue(campaign_id, outside_hours=False, actor="bench", at=at)
        chats.append(chat)
    for start in range(0, len(chats), 500):
        despacho.store.save(*chats[start:start + 500])
    despacho.runner.catch_up()


def indexed_scan(despacho) -> float:
    chats = CHATS.chats
    started = time.perf_counter()
    with despacho.read_engine.connect() as connection:
        connection.execute(select(func.count()).select_from(chats).where(
            chats.c.status.in_(("bot", "waiting_queue", "assigned")))).scalar_one()
    return time.perf_counter() - started


def sweep(despacho, at, due: int) -> float:
    started = time.perf_counter()
    result = despacho.timers.run(at)
    took = time.perf_counter() - started
    if result.alerts != due:
        raise RuntimeError(f"expected {due} queue alerts, got {result.alerts}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name in available_backends():
        with backend(name) as despacho:
            campaign_id = str(despacho.campaigns.register("bench", "Bench", "Bench", {}, actor="bench"))
            seed_open_chats(despacho, campaign_id, OPEN_CHATS)
            start = despacho.clock.now()
            sweeps, scans = [], []
            for r in range(args.rounds):
                queued_at = start + timedelta(hours=2 * r)
                queue_due_chats(despacho, campaign_id, args.due, queued_at)
                scans.append(indexed_scan(despacho))
                sweeps.append(sweep(despacho, queued_at + timedelta(hours=1), args.due))
            ratios = [s / b for s, b in zip(sweeps, scans, strict=True)]
            print(f"[{name}] timer sweep, {args.due:,} due among {OPEN_CHATS + args.due:,} open chats: median "
                  f"{median(sweeps):.3f} s, spread {min(sweeps):.3f}–{max(sweeps):.3f} s over {args.rounds} rounds "
                  f"(target ≤ 1 s; {median(sweeps) / args.due * 1000:.2f} ms per due chat)\n"
                  f"    baseline one indexed scan of the open chats: median {median(scans) * 1000:.1f} ms;  "
                  f"ratio sweep/scan median {median(ratios):.1f}, spread {min(ratios):.1f}–{max(ratios):.1f};  "
                  f"{load_average()}")


if __name__ == "__main__":
    main()
